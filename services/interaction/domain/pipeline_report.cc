#include "crm/interaction/domain/pipeline_report.h"

#include <cmath>
#include <limits>
#include <optional>

#include "crm/common/proto_time.h"
#include "crm/domain/validation.h"
#include "crm/interaction/domain/opportunity.h"

namespace crm::interaction {
namespace {

double Round2(double x) { return std::round(x * 100.0) / 100.0; }

// a + b for sums of amounts (each ≤ 10^14): at most INT64_MAX, never overflowing.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out)) return std::numeric_limits<int64_t>::max();
  return out;
}

}  // namespace

int64_t Weighted(int64_t amount_minor, int32_t probability) {
  return domain::PercentOf(amount_minor, probability);
}

void PipelineReportBuilder::Group::Add(const std::string& currency, int64_t amount,
                                       int64_t weighted) {
  ++count;
  Sum& s = by_currency[currency];
  ++s.count;
  s.amount = SaturatingAdd(s.amount, amount);
  s.weighted = SaturatingAdd(s.weighted, weighted);
}

PipelineReportBuilder::PipelineReportBuilder(absl::Time as_of, ReportPeriod period)
    : as_of_(as_of), period_(period) {}

void PipelineReportBuilder::Add(const v1::Opportunity& o) {
  const v1::Money& expected = o.details().expected_amount();
  const std::string& currency = expected.currency_code();
  if (IsOpenStage(o.stage())) {
    const int64_t weighted = Weighted(expected.amount_minor(), o.probability());
    open_.Add(currency, expected.amount_minor(), weighted);
    by_stage_[o.stage()].Add(currency, expected.amount_minor(), weighted);
    by_owner_[o.owner()].Add(currency, expected.amount_minor(), weighted);
    by_region_[o.region()].Add(currency, expected.amount_minor(), weighted);
    const std::optional<absl::CivilDay> close = domain::ParseDate(o.details().expected_close_date());
    if (close && period_.Contains(*close)) {
      Forecast& f = forecast_[currency];
      ++f.open_count;
      f.open_weighted = SaturatingAdd(f.open_weighted, weighted);
    }
    return;
  }
  if (!o.has_closed_at()) return;
  if (!period_.Contains(FromProtoTimestamp(o.closed_at()))) return;
  if (o.stage() == v1::OPPORTUNITY_STAGE_WON) {
    ++won_;
    Forecast& f = forecast_[o.final_amount().currency_code()];
    ++f.won_count;
    f.won = SaturatingAdd(f.won, o.final_amount().amount_minor());
    cycle_days_sum_ +=
        absl::ToDoubleHours(FromProtoTimestamp(o.closed_at()) - FromProtoTimestamp(o.created_at())) /
        24.0;
  } else if (o.stage() == v1::OPPORTUNITY_STAGE_LOST) {
    ++lost_;
    lost_reasons_[o.lost_reason()].Add(currency, expected.amount_minor(), 0);
  }
}

namespace {

template <typename Sums>
void FillAmounts(const Sums& by_currency,
                 google::protobuf::RepeatedPtrField<v1::CurrencyFigures>* out) {
  for (const auto& [currency, sum] : by_currency) {
    v1::CurrencyFigures* f = out->Add();
    f->set_currency_code(currency);
    f->set_count(sum.count);
    f->set_amount_minor(sum.amount);
    f->set_weighted_minor(sum.weighted);
  }
}

}  // namespace

v1::PipelineReport PipelineReportBuilder::Finish() const {
  v1::PipelineReport r;
  *r.mutable_as_of() = ToProtoTimestamp(as_of_);
  r.set_period_from(absl::FormatCivilTime(period_.from));
  r.set_period_to(absl::FormatCivilTime(period_.to));
  r.set_open_count(open_.count);
  FillAmounts(open_.by_currency, r.mutable_open_amounts());
  auto groups = [](const auto& map, auto key_of, auto* out) {
    for (const auto& [key, group] : map) {
      v1::PipelineGroup* g = out->Add();
      g->set_key(key_of(key));
      g->set_count(group.count);
      FillAmounts(group.by_currency, g->mutable_amounts());
    }
  };
  groups(by_stage_, [](int s) { return StageName(static_cast<v1::OpportunityStage>(s)); },
         r.mutable_by_stage());
  groups(by_owner_, [](const std::string& k) { return k; }, r.mutable_by_owner());
  groups(by_region_, [](const std::string& k) { return k; }, r.mutable_by_region());
  for (const auto& [currency, f] : forecast_) {
    v1::ForecastFigures* out = r.add_forecast();
    out->set_currency_code(currency);
    out->set_open_weighted_minor(f.open_weighted);
    out->set_open_count(f.open_count);
    out->set_won_minor(f.won);
    out->set_won_count(f.won_count);
    out->set_total_minor(SaturatingAdd(f.open_weighted, f.won));
  }
  r.set_won_count(won_);
  r.set_lost_count(lost_);
  if (won_ + lost_ > 0) r.set_win_rate_percent(domain::RatioPercent(won_, won_ + lost_));
  if (won_ > 0) r.set_average_sales_cycle_days(Round2(cycle_days_sum_ / won_));
  for (const auto& [reason, group] : lost_reasons_) {
    v1::LostReasonFigures* l = r.add_lost_reasons();
    l->set_reason(static_cast<v1::LostReason>(reason));
    l->set_count(group.count);
    FillAmounts(group.by_currency, l->mutable_amounts());
  }
  return r;
}

}  // namespace crm::interaction
