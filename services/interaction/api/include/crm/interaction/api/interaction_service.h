// The gRPC adapter of crm.interaction.v1.InteractionService: each RPC is served
// by the InteractionApp method of its name on gRPC's own thread (libs/command
// Serve: authentication, then the app; a write finishes when the group commit
// that holds it is durable).
//
//   InteractionServiceImpl service(app, *verifier);
//   runtime.AddService(&service);
#pragma once

#include "crm/auth/jwt.h"
#include "crm/command/serve.h"
#include "crm/interaction/app/interaction_app.h"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"

namespace crm::interaction {

// The RPCs of InteractionService, each with its request and response.
#define CRM_INTERACTION_RPCS(X)                                                          \
  X(PlanVisit, v1::PlanVisitRequest, v1::CreateResponse)                                 \
  X(RescheduleVisit, v1::RescheduleVisitRequest, v1::WriteResponse)                      \
  X(CancelVisit, v1::CancelVisitRequest, v1::WriteResponse)                              \
  X(RecordVisit, v1::RecordVisitRequest, v1::WriteResponse)                              \
  X(LogFollowUp, v1::LogFollowUpRequest, v1::CreateResponse)                             \
  X(RecordRevisit, v1::RecordRevisitRequest, v1::WriteResponse)                          \
  X(PlanCare, v1::PlanCareRequest, v1::CreateResponse)                                   \
  X(CompleteCare, v1::CompleteCareRequest, v1::WriteResponse)                            \
  X(EvaluateCare, v1::EvaluateCareRequest, v1::WriteResponse)                            \
  X(RecordSatisfaction, v1::RecordSatisfactionRequest, v1::CreateResponse)               \
  X(GetInteraction, v1::GetInteractionRequest, v1::GetInteractionResponse)               \
  X(ListInteractions, v1::ListInteractionsRequest, v1::ListInteractionsResponse)         \
  X(ListDueRevisits, v1::ListDueRevisitsRequest, v1::ListDueRevisitsResponse)            \
  X(GetTimeline, v1::GetTimelineRequest, v1::GetTimelineResponse)                        \
  X(ListUpcomingBirthdays, v1::ListUpcomingBirthdaysRequest, v1::ListUpcomingBirthdaysResponse)

// Thread safety: gRPC calls it concurrently; the app and verifier must outlive it.
class InteractionServiceImpl final : public v1::InteractionService::CallbackService {
 public:
  InteractionServiceImpl(InteractionApp& app, const auth::TokenVerifier& verifier)
      : app_(app), verifier_(verifier) {}

  CRM_INTERACTION_RPCS(CRM_DECLARE_RPC)

 private:
  InteractionApp& app_;
  const auth::TokenVerifier& verifier_;
};

}  // namespace crm::interaction
