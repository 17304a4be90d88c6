// The campaign report (DOMAIN.md §6: what a campaign reached, cost and brought)
// as a pure function of the campaign, its target records and the opportunities
// sourced from it, each as it was at the report's time. Amounts are kept per
// currency and never added across currencies.
//
//   CampaignReportBuilder report(campaign_as_of, as_of, /*partial=*/!manages);
//   for (const v1::CampaignTarget& t : counted_targets) report.AddTarget(t);
//   for (const v1::Opportunity& o : counted_sourced) report.AddOpportunity(o);
//   v1::CampaignReport out = report.Finish();
//
// - targets / invited / responded / accepted / attended: the targets added, those
//   with invited_at, with a response, with response ACCEPTED, that attended.
// - opportunities_sourced / _won / _open: the opportunities added; WON; open
//   (QUALIFICATION..NEGOTIATION).
// - money, by currency code: cost_minor the sum of the campaign's cost entries,
//   won_minor the final amounts of the WON opportunities; roi_percent =
//   (won − cost) / cost × 100 rounded half away from zero to 2 decimals, when
//   cost_minor > 0. Sums saturate at INT64_MAX.
// - partial (the caller does not manage the campaign): no budget, no costs, no
//   ROI; the targets and opportunities added are only those the caller may see.
// Thread safety: a builder is used by one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "crm/interaction/v1/campaign.pb.h"
#include "crm/interaction/v1/campaign_service.pb.h"
#include "crm/interaction/v1/opportunity.pb.h"

namespace crm::interaction {

// (won − cost) / cost × 100 in percent, rounded half away from zero to 2
// decimals (domain::RatioPercent); std::nullopt when cost_minor ≤ 0. won_minor ≥ 0.
std::optional<double> RoiPercent(int64_t won_minor, int64_t cost_minor);

class CampaignReportBuilder {
 public:
  CampaignReportBuilder(const v1::Campaign& campaign, absl::Time as_of, bool partial);

  void AddTarget(const v1::CampaignTarget& target);
  void AddOpportunity(const v1::Opportunity& opportunity);
  v1::CampaignReport Finish() const;

 private:
  struct Money {
    int64_t cost = 0;
    int64_t won = 0;
  };

  v1::CampaignReport report_;
  std::map<std::string, Money> money_;
};

}  // namespace crm::interaction
