// The gRPC adapter of crm.classification.v1.ClassificationService: each RPC is
// served by the ClassificationApp method of its name on gRPC's own thread
// (libs/command Serve: authentication, then the app).
//
//   ClassificationServiceImpl service(*app, *verifier);
//   runtime.AddService(&service);
#pragma once

#include "crm/auth/jwt.h"
#include "crm/classification/app/classification_app.h"
#include "crm/classification/v1/classification_service.grpc.pb.h"
#include "crm/command/serve.h"

namespace crm::classification {

// The RPCs of ClassificationService, each with its request and response.
#define CRM_CLASSIFICATION_RPCS(X)                                                          \
  X(GetClassification, v1::GetClassificationRequest, v1::GetClassificationResponse)         \
  X(GetClassificationHistory, v1::GetClassificationHistoryRequest,                          \
    v1::GetClassificationHistoryResponse)                                                   \
  X(GetRuleSet, v1::GetRuleSetRequest, v1::GetRuleSetResponse)                              \
  X(PublishRuleSet, v1::PublishRuleSetRequest, v1::PublishRuleSetResponse)                  \
  X(SimulateRuleSet, v1::SimulateRuleSetRequest, v1::SimulateRuleSetResponse)               \
  X(GetReport, v1::GetReportRequest, v1::GetReportResponse)                                 \
  X(ListChurnRisks, v1::ListChurnRisksRequest, v1::ListChurnRisksResponse)

// Thread safety: gRPC calls it concurrently; the app and verifier must outlive it.
class ClassificationServiceImpl final : public v1::ClassificationService::CallbackService {
 public:
  ClassificationServiceImpl(ClassificationApp& app, const auth::TokenVerifier& verifier)
      : app_(app), verifier_(verifier) {}

  CRM_CLASSIFICATION_RPCS(CRM_DECLARE_RPC)

 private:
  ClassificationApp& app_;
  const auth::TokenVerifier& verifier_;
};

}  // namespace crm::classification
