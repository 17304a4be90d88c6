// The gRPC adapter of crm.interaction.v1.SalesService: each RPC is served by the
// SalesApp method of its name on gRPC's own thread (libs/command Serve:
// authentication, then the app; GetPipelineReport runs on the slow-query pool).
//
//   SalesServiceImpl service(sales, *verifier);
//   runtime.AddService(&service);
#pragma once

#include "crm/auth/jwt.h"
#include "crm/command/serve.h"
#include "crm/interaction/app/sales_app.h"
#include "crm/interaction/v1/sales_service.grpc.pb.h"

namespace crm::interaction {

// The RPCs of SalesService, each with its request and response.
#define CRM_SALES_RPCS(X)                                                                      \
  X(CreateOpportunity, v1::CreateOpportunityRequest, v1::CreateOpportunityResponse)            \
  X(UpdateOpportunity, v1::UpdateOpportunityRequest, v1::WriteResponse)                        \
  X(AssignOpportunity, v1::AssignOpportunityRequest, v1::WriteResponse)                        \
  X(MoveOpportunityStage, v1::MoveOpportunityStageRequest, v1::WriteResponse)                  \
  X(SetOpportunityProbability, v1::SetOpportunityProbabilityRequest, v1::WriteResponse)        \
  X(WinOpportunity, v1::WinOpportunityRequest, v1::WriteResponse)                              \
  X(LoseOpportunity, v1::LoseOpportunityRequest, v1::WriteResponse)                            \
  X(ReopenOpportunity, v1::ReopenOpportunityRequest, v1::WriteResponse)                        \
  X(AddPlanStep, v1::AddPlanStepRequest, v1::AddPlanStepResponse)                              \
  X(CompletePlanStep, v1::CompletePlanStepRequest, v1::WriteResponse)                          \
  X(GetOpportunity, v1::GetOpportunityRequest, v1::GetOpportunityResponse)                     \
  X(GetOpportunityHistory, v1::GetOpportunityHistoryRequest, v1::GetOpportunityHistoryResponse) \
  X(ListOpportunities, v1::ListOpportunitiesRequest, v1::ListOpportunitiesResponse)            \
  X(ListOverduePlanSteps, v1::ListOverduePlanStepsRequest, v1::ListOverduePlanStepsResponse)   \
  X(GetPipelineReport, v1::GetPipelineReportRequest, v1::GetPipelineReportResponse)

// Thread safety: gRPC calls it concurrently; the app and verifier must outlive it.
class SalesServiceImpl final : public v1::SalesService::CallbackService {
 public:
  SalesServiceImpl(SalesApp& app, const auth::TokenVerifier& verifier)
      : app_(app), verifier_(verifier) {}

  CRM_SALES_RPCS(CRM_DECLARE_RPC)

 private:
  SalesApp& app_;
  const auth::TokenVerifier& verifier_;
};

}  // namespace crm::interaction
