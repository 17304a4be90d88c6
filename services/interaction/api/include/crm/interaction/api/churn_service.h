// The gRPC adapter of crm.interaction.v1.ChurnService: each RPC is served by the
// ChurnApp method of its name on gRPC's own thread (libs/command Serve:
// authentication, then the app; GetChurnReport runs on the slow-query pool).
//
//   ChurnServiceImpl service(churn, *verifier);
//   runtime.AddService(&service);
#pragma once

#include "crm/auth/jwt.h"
#include "crm/command/serve.h"
#include "crm/interaction/app/churn_app.h"
#include "crm/interaction/v1/churn_service.grpc.pb.h"

namespace crm::interaction {

// The RPCs of ChurnService, each with its request and response.
#define CRM_CHURN_RPCS(X)                                                                     \
  X(RecordRetentionMeasure, v1::RecordRetentionMeasureRequest,                               \
    v1::RecordRetentionMeasureResponse)                                                      \
  X(PostponeChurn, v1::PostponeChurnRequest, v1::WriteResponse)                               \
  X(RetainChurnCase, v1::RetainChurnCaseRequest, v1::WriteResponse)                           \
  X(ConfirmChurn, v1::ConfirmChurnRequest, v1::WriteResponse)                                 \
  X(GetChurnCase, v1::GetChurnCaseRequest, v1::GetChurnCaseResponse)                          \
  X(GetChurnCaseHistory, v1::GetChurnCaseHistoryRequest, v1::GetChurnCaseHistoryResponse)     \
  X(ListChurnCases, v1::ListChurnCasesRequest, v1::ListChurnCasesResponse)                    \
  X(GetChurnReport, v1::GetChurnReportRequest, v1::GetChurnReportResponse)

// Thread safety: gRPC calls it concurrently; the app and verifier must outlive it.
class ChurnServiceImpl final : public v1::ChurnService::CallbackService {
 public:
  ChurnServiceImpl(ChurnApp& app, const auth::TokenVerifier& verifier)
      : app_(app), verifier_(verifier) {}

  CRM_CHURN_RPCS(CRM_DECLARE_RPC)

 private:
  ChurnApp& app_;
  const auth::TokenVerifier& verifier_;
};

}  // namespace crm::interaction
