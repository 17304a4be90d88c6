// The gRPC adapter of crm.classification.v1.ClassificationService: authenticates
// the caller, runs ClassificationLogic on a worker pool and maps errors to gRPC
// codes. Also the consumer handler the service runs: the shared customer
// directory (access checks) and the classification inputs, in one batch.
//
//   ClassificationServiceImpl service(logic.get(), verifier.get());
//   runtime.AddService(&service);
#pragma once

#include "crm/auth/jwt.h"
#include "crm/classification/api/classification_logic.h"
#include "crm/classification/inputs/inputs_handler.h"
#include "crm/classification/v1/classification_service.grpc.pb.h"
#include "crm/common/thread_pool.h"
#include "crm/directory/customer_directory.h"

namespace crm::classification {

#define CRM_CLASSIFICATION_RPCS(X)                                                   \
  X(GetClassification, GetClassificationRequest, GetClassificationResponse)          \
  X(GetClassificationHistory, GetClassificationHistoryRequest,                       \
    GetClassificationHistoryResponse)                                                \
  X(GetRuleSet, GetRuleSetRequest, GetRuleSetResponse)                               \
  X(PublishRuleSet, PublishRuleSetRequest, PublishRuleSetResponse)                   \
  X(SimulateRuleSet, SimulateRuleSetRequest, SimulateRuleSetResponse)                \
  X(GetReport, GetReportRequest, GetReportResponse)                                  \
  X(ListChurnRisks, ListChurnRisksRequest, ListChurnRisksResponse)

// Thread safety: gRPC calls it concurrently; `logic` and `verifier` must outlive it.
class ClassificationServiceImpl final : public v1::ClassificationService::CallbackService {
 public:
  ClassificationServiceImpl(ClassificationLogic* logic, const auth::TokenVerifier* verifier,
                            size_t worker_threads = 16)
      : logic_(logic), verifier_(verifier), pool_(worker_threads) {}

#define CRM_CLASSIFICATION_DECLARE(Method, Request, Response)                  \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx,          \
                                   const v1::Request* req, v1::Response* resp) override;
  CRM_CLASSIFICATION_RPCS(CRM_CLASSIFICATION_DECLARE)
#undef CRM_CLASSIFICATION_DECLARE

 private:
  ClassificationLogic* logic_;
  const auth::TokenVerifier* verifier_;
  ThreadPool pool_;
};

// The directory (owner, region, grants: for access checks) and the inputs, both
// from the same consumed events and committed together.
class ClassificationConsumer final : public messaging::EventHandler {
 public:
  absl::Status Handle(const messaging::ConsumedEvent& event, const messaging::BatchView& view,
                      std::vector<eventstore::ProjectionWrite>& out) override {
    if (absl::Status s = directory_.Handle(event, view, out); !s.ok()) return s;
    return inputs_.Handle(event, view, out);
  }

 private:
  directory::DirectoryHandler directory_;
  InputsHandler inputs_;
};

}  // namespace crm::classification
