// The gRPC adapter of crm.interaction.v1.InteractionService: authenticates the
// caller, runs InteractionLogic on a worker pool (it waits on synced disk writes),
// and maps errors to gRPC codes. (The customer lookup over gRPC that the logic uses
// for customers not yet consumed is libs/directory's MakeCustomerLookup.)
//
//   InteractionServiceImpl service(&logic, verifier.get());
//   runtime.AddService(&service);
#pragma once

#include <memory>
#include <string>

#include "crm/auth/jwt.h"
#include "crm/common/thread_pool.h"
#include "crm/interaction/api/interaction_logic.h"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"

namespace crm::interaction {

// Thread safety: gRPC calls it concurrently; `logic` and `verifier` must outlive it.
class InteractionServiceImpl final : public v1::InteractionService::CallbackService {
 public:
  InteractionServiceImpl(InteractionLogic* logic, const auth::TokenVerifier* verifier,
                         size_t worker_threads = 64)
      : logic_(logic), verifier_(verifier), pool_(worker_threads) {}

#define CRM_INTERACTION_RPC(Method, Request, Response)                              \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx,               \
                                   const v1::Request* req, v1::Response* resp) override;
  CRM_INTERACTION_RPC(PlanVisit, PlanVisitRequest, CreateResponse)
  CRM_INTERACTION_RPC(RescheduleVisit, RescheduleVisitRequest, WriteResponse)
  CRM_INTERACTION_RPC(CancelVisit, CancelVisitRequest, WriteResponse)
  CRM_INTERACTION_RPC(RecordVisit, RecordVisitRequest, WriteResponse)
  CRM_INTERACTION_RPC(LogFollowUp, LogFollowUpRequest, CreateResponse)
  CRM_INTERACTION_RPC(RecordRevisit, RecordRevisitRequest, WriteResponse)
  CRM_INTERACTION_RPC(PlanCare, PlanCareRequest, CreateResponse)
  CRM_INTERACTION_RPC(CompleteCare, CompleteCareRequest, WriteResponse)
  CRM_INTERACTION_RPC(EvaluateCare, EvaluateCareRequest, WriteResponse)
  CRM_INTERACTION_RPC(RecordSatisfaction, RecordSatisfactionRequest, CreateResponse)
  CRM_INTERACTION_RPC(GetInteraction, GetInteractionRequest, GetInteractionResponse)
  CRM_INTERACTION_RPC(ListInteractions, ListInteractionsRequest, ListInteractionsResponse)
  CRM_INTERACTION_RPC(ListDueRevisits, ListDueRevisitsRequest, ListDueRevisitsResponse)
  CRM_INTERACTION_RPC(GetTimeline, GetTimelineRequest, GetTimelineResponse)
  CRM_INTERACTION_RPC(ListUpcomingBirthdays, ListUpcomingBirthdaysRequest,
                      ListUpcomingBirthdaysResponse)
#undef CRM_INTERACTION_RPC

 private:
  InteractionLogic* logic_;
  const auth::TokenVerifier* verifier_;
  ThreadPool pool_;
};

}  // namespace crm::interaction
