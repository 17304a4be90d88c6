#include "crm/interaction/domain/campaign_report.h"

#include <limits>

#include "crm/common/proto_time.h"
#include "crm/domain/validation.h"
#include "crm/interaction/domain/opportunity.h"

namespace crm::interaction {
namespace {

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out)) return std::numeric_limits<int64_t>::max();
  return out;
}

}  // namespace

std::optional<double> RoiPercent(int64_t won_minor, int64_t cost_minor) {
  if (cost_minor <= 0) return std::nullopt;
  // Both sums are ≥ 0 (saturating), so won − cost does not overflow.
  return domain::RatioPercent(won_minor - cost_minor, cost_minor);
}

CampaignReportBuilder::CampaignReportBuilder(const v1::Campaign& campaign, absl::Time as_of,
                                             bool partial) {
  report_.set_campaign_id(campaign.campaign_id());
  report_.set_name(campaign.details().name());
  report_.set_status(campaign.status());
  *report_.mutable_as_of() = ToProtoTimestamp(as_of);
  report_.set_partial(partial);
  if (partial) return;
  if (campaign.details().has_budget()) *report_.mutable_budget() = campaign.details().budget();
  for (const v1::CampaignCost& c : campaign.costs()) {
    Money& m = money_[c.amount().currency_code()];
    m.cost = SaturatingAdd(m.cost, c.amount().amount_minor());
  }
}

void CampaignReportBuilder::AddTarget(const v1::CampaignTarget& t) {
  report_.set_targets(report_.targets() + 1);
  if (t.has_invited_at()) report_.set_invited(report_.invited() + 1);
  if (t.response() != v1::CAMPAIGN_RESPONSE_UNSPECIFIED) {
    report_.set_responded(report_.responded() + 1);
  }
  if (t.response() == v1::CAMPAIGN_RESPONSE_ACCEPTED) report_.set_accepted(report_.accepted() + 1);
  if (t.attended()) report_.set_attended(report_.attended() + 1);
}

void CampaignReportBuilder::AddOpportunity(const v1::Opportunity& o) {
  report_.set_opportunities_sourced(report_.opportunities_sourced() + 1);
  if (IsOpenStage(o.stage())) {
    report_.set_opportunities_open(report_.opportunities_open() + 1);
  } else if (o.stage() == v1::OPPORTUNITY_STAGE_WON) {
    report_.set_opportunities_won(report_.opportunities_won() + 1);
    Money& m = money_[o.final_amount().currency_code()];
    m.won = SaturatingAdd(m.won, o.final_amount().amount_minor());
  }
}

v1::CampaignReport CampaignReportBuilder::Finish() const {
  v1::CampaignReport r = report_;
  for (const auto& [currency, m] : money_) {
    v1::CampaignMoney* out = r.add_money();
    out->set_currency_code(currency);
    out->set_cost_minor(m.cost);
    out->set_won_minor(m.won);
    if (!r.partial()) {
      if (std::optional<double> roi = RoiPercent(m.won, m.cost)) out->set_roi_percent(*roi);
    }
  }
  return r;
}

}  // namespace crm::interaction
