#include "crm/interaction/domain/churn_report.h"

#include <optional>

#include "crm/common/proto_time.h"
#include "crm/domain/validation.h"
#include "crm/interaction/domain/churn_case.h"

namespace crm::interaction {

ChurnReportBuilder::ChurnReportBuilder(absl::Time as_of, ReportPeriod period,
                                       classification::v1::Scheme scheme)
    : as_of_(as_of), period_(period), scheme_(scheme) {}

bool ChurnReportBuilder::InPeriod(const google::protobuf::Timestamp& t) const {
  return period_.Contains(FromProtoTimestamp(t));
}

void ChurnReportBuilder::Add(const v1::ChurnCase& c) {
  if (c.version() == 0) return;
  std::string class_name;
  for (const v1::SchemeClass& sc : c.classes()) {
    if (sc.scheme() == scheme_) class_name = sc.class_name();
  }
  Counts* groups[] = {&total_, &by_class_[class_name], &by_owner_[c.owner()],
                      &by_region_[c.region()]};
  if (c.has_opened_at() && InPeriod(c.opened_at())) {
    for (Counts* g : groups) ++g->opened;
  }
  const bool closed_in_period = c.has_closed_at() && InPeriod(c.closed_at());
  if (closed_in_period && c.status() == v1::CHURN_CASE_STATUS_RETAINED) {
    for (Counts* g : groups) ++g->retained;
  } else if (closed_in_period && c.status() == v1::CHURN_CASE_STATUS_LOST) {
    for (Counts* g : groups) ++g->lost;
    ++by_reason_[c.loss_reason()].lost;
    if (c.has_win_back() && FromProtoTimestamp(c.win_back().at()) <= as_of_) ++won_back_;
  }
  if (IsOpenCase(c)) {
    ++open_now_;
    const std::optional<absl::CivilDay> review = domain::ParseDate(c.review_date());
    if (review && *review < domain::UtcDayOf(as_of_)) ++overdue_now_;
  }
}

namespace {

template <typename C>
void Fill(const std::string& key, const C& counts, v1::ChurnGroup* g) {
  g->set_key(key);
  g->set_opened(counts.opened);
  g->set_retained(counts.retained);
  g->set_lost(counts.lost);
  g->set_retention_rate_percent(
      domain::RatioPercent(counts.retained, static_cast<int64_t>(counts.retained) + counts.lost));
}

}  // namespace

v1::ChurnReport ChurnReportBuilder::Finish() const {
  v1::ChurnReport r;
  *r.mutable_as_of() = ToProtoTimestamp(as_of_);
  r.set_period_from(absl::FormatCivilTime(period_.from));
  r.set_period_to(absl::FormatCivilTime(period_.to));
  Fill("", total_, r.mutable_total());
  r.set_open_now(open_now_);
  r.set_overdue_now(overdue_now_);
  for (const auto& [reason, counts] : by_reason_) {
    Fill(LossReasonName(static_cast<v1::ChurnLossReason>(reason)), counts, r.add_by_reason());
  }
  auto groups = [](const std::map<std::string, Counts>& map, auto* out) {
    for (const auto& [key, counts] : map) {
      if (!counts.Empty()) Fill(key, counts, out->Add());
    }
  };
  groups(by_class_, r.mutable_by_class());
  groups(by_owner_, r.mutable_by_owner());
  groups(by_region_, r.mutable_by_region());
  r.set_won_back(won_back_);
  return r;
}

}  // namespace crm::interaction
