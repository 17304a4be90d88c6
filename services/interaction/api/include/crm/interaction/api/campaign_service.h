// The gRPC adapter of crm.interaction.v1.CampaignService: each RPC is served by
// the CampaignApp method of its name on gRPC's own thread (libs/command Serve:
// authentication, then the app; StartCampaign and GetCampaignReport run on the
// slow-query pool).
//
//   CampaignServiceImpl service(campaigns, *verifier);
//   runtime.AddService(&service);
#pragma once

#include "crm/auth/jwt.h"
#include "crm/command/serve.h"
#include "crm/interaction/app/campaign_app.h"
#include "crm/interaction/v1/campaign_service.grpc.pb.h"

namespace crm::interaction {

// The RPCs of CampaignService, each with its request and response.
#define CRM_CAMPAIGN_RPCS(X)                                                              \
  X(PlanCampaign, v1::PlanCampaignRequest, v1::PlanCampaignResponse)                      \
  X(UpdateCampaign, v1::UpdateCampaignRequest, v1::WriteResponse)                         \
  X(StartCampaign, v1::StartCampaignRequest, v1::WriteResponse)                           \
  X(RecordCampaignCost, v1::RecordCampaignCostRequest, v1::RecordCampaignCostResponse)    \
  X(RecordCampaignInvitations, v1::RecordCampaignInvitationsRequest, v1::WriteResponse)   \
  X(RecordCampaignResponse, v1::RecordCampaignResponseRequest, v1::WriteResponse)         \
  X(RecordCampaignAttendance, v1::RecordCampaignAttendanceRequest, v1::WriteResponse)     \
  X(RecordCampaignOutcome, v1::RecordCampaignOutcomeRequest, v1::WriteResponse)           \
  X(CloseCampaign, v1::CloseCampaignRequest, v1::WriteResponse)                           \
  X(GetCampaign, v1::GetCampaignRequest, v1::GetCampaignResponse)                         \
  X(GetCampaignHistory, v1::GetCampaignHistoryRequest, v1::GetCampaignHistoryResponse)    \
  X(ListCampaigns, v1::ListCampaignsRequest, v1::ListCampaignsResponse)                   \
  X(ListCampaignTargets, v1::ListCampaignTargetsRequest, v1::ListCampaignTargetsResponse) \
  X(GetCampaignReport, v1::GetCampaignReportRequest, v1::GetCampaignReportResponse)

// Thread safety: gRPC calls it concurrently; the app and verifier must outlive it.
class CampaignServiceImpl final : public v1::CampaignService::CallbackService {
 public:
  CampaignServiceImpl(CampaignApp& app, const auth::TokenVerifier& verifier)
      : app_(app), verifier_(verifier) {}

  CRM_CAMPAIGN_RPCS(CRM_DECLARE_RPC)

 private:
  CampaignApp& app_;
  const auth::TokenVerifier& verifier_;
};

}  // namespace crm::interaction
