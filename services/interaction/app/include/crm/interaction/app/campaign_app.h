// The marketing-campaign use cases of crm-interaction
// (crm.interaction.v1.CampaignService, DOMAIN.md §6): every write RPC one
// command over the shared pipeline on the campaign aggregate
// (domain/campaign.h), the reads scoped by the caller's access, and the
// campaign report. StartCampaign (it walks the directory to resolve the target
// list) and GetCampaignReport run on the slow-query pool.
//
//   CampaignApp campaigns({.pipeline = &pipeline, .customers = lookup, .slow_queries = &pool});
//   campaigns.PlanCampaign(who, request, &response, [](absl::Status s) { ... });
//
// Access (campaign_service.proto):
// - Planning: a sales_rep or service_agent plans campaigns it owns; a manager
//   (regional_manager, executive, admin, service) may name any owner. The
//   campaign's region is the planner's. Explicit customers of the selection
//   must be visible to the caller.
// - Managing (update, start, costs, outcome notes, close): the campaign's owner,
//   an executive, admin or service, or a regional_manager of the campaign's
//   region. Anyone else: PERMISSION_DENIED.
// - Per-customer records (invitations, responses, attendance): whoever manages
//   the campaign, or may see each customer (libs/auth with the directory).
// - Reading (get, history, targets, report, lists): whoever manages the
//   campaign sees all of it. Anyone else sees a campaign that reaches it: one
//   with a target it owned (or, for a regional_manager, of its region) when the
//   list was frozen (the reach index; grants and later transfers do not add
//   campaigns); then only the targets it may see now, without budget and costs
//   (GetCampaign's counts cover those targets; the report is `partial`; lists
//   leave counts out, and so does the history's CampaignStarted). Otherwise
//   PERMISSION_DENIED.
// Starting resolves the targets as the starter sees them: directory customers
// matching every set filter of the selection (or named in it) that the starter
// may see, at most kMaxCampaignTargets.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/auth/principal.h"
#include "crm/command/pipeline.h"
#include "crm/common/thread_pool.h"
#include "crm/directory/customer_directory.h"
#include "crm/interaction/domain/campaign.h"
#include "crm/interaction/v1/campaign_service.pb.h"

namespace crm::interaction {

using CampaignAggregate = command::Aggregate<v1::Campaign, v1::InteractionEvent>;

// The campaign aggregate's parts: streams "campaign-<id>", folded by
// ApplyCampaign, rows of projection/campaign_projection.h; the Kafka key is the
// event's customer_id when set, else the campaign id.
const CampaignAggregate& Campaigns();

struct CampaignAppOptions {
  command::Pipeline* pipeline = nullptr;  // required
  // Asked about customers not in the directory yet (explicit customers of a
  // selection, per-customer records); may be null.
  directory::CustomerLookup* customers = nullptr;
  // Runs StartCampaign and GetCampaignReport; null: on the caller's thread.
  ThreadPool* slow_queries = nullptr;
};

// Thread safety: calls may run concurrently.
class CampaignApp {
 public:
  explicit CampaignApp(CampaignAppOptions options);
  ~CampaignApp();

  void PlanCampaign(const auth::Principal& who, const v1::PlanCampaignRequest& req,
                    v1::PlanCampaignResponse* resp, command::Done done);
  void UpdateCampaign(const auth::Principal& who, const v1::UpdateCampaignRequest& req,
                      v1::WriteResponse* resp, command::Done done);
  // Walks the directory: runs on the slow-query pool.
  void StartCampaign(const auth::Principal& who, const v1::StartCampaignRequest& req,
                     v1::WriteResponse* resp, command::Done done);
  void RecordCampaignCost(const auth::Principal& who, const v1::RecordCampaignCostRequest& req,
                          v1::RecordCampaignCostResponse* resp, command::Done done);
  void RecordCampaignInvitations(const auth::Principal& who,
                                 const v1::RecordCampaignInvitationsRequest& req,
                                 v1::WriteResponse* resp, command::Done done);
  void RecordCampaignResponse(const auth::Principal& who,
                              const v1::RecordCampaignResponseRequest& req, v1::WriteResponse* resp,
                              command::Done done);
  void RecordCampaignAttendance(const auth::Principal& who,
                                const v1::RecordCampaignAttendanceRequest& req,
                                v1::WriteResponse* resp, command::Done done);
  void RecordCampaignOutcome(const auth::Principal& who,
                             const v1::RecordCampaignOutcomeRequest& req, v1::WriteResponse* resp,
                             command::Done done);
  void CloseCampaign(const auth::Principal& who, const v1::CloseCampaignRequest& req,
                     v1::WriteResponse* resp, command::Done done);

  absl::Status GetCampaign(const auth::Principal& who, const v1::GetCampaignRequest& req,
                           v1::GetCampaignResponse* resp);
  absl::Status GetCampaignHistory(const auth::Principal& who,
                                  const v1::GetCampaignHistoryRequest& req,
                                  v1::GetCampaignHistoryResponse* resp);
  absl::Status ListCampaigns(const auth::Principal& who, const v1::ListCampaignsRequest& req,
                             v1::ListCampaignsResponse* resp);
  absl::Status ListCampaignTargets(const auth::Principal& who,
                                   const v1::ListCampaignTargetsRequest& req,
                                   v1::ListCampaignTargetsResponse* resp);
  // Reads the campaign's stream and its sourced opportunities: runs on the
  // slow-query pool.
  void GetCampaignReport(const auth::Principal& who, const v1::GetCampaignReportRequest& req,
                         v1::GetCampaignReportResponse* resp, command::Done done);

 private:
  struct Parts;
  absl::Status CampaignReport(const auth::Principal& who, const v1::GetCampaignReportRequest& req,
                              v1::GetCampaignReportResponse* resp);

  const CampaignAppOptions o_;
  std::unique_ptr<Parts> parts_;
};

}  // namespace crm::interaction
