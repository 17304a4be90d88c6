#include "crm/interaction/api/interaction_service.h"

#include "crm/auth/authenticated_call.h"
#include "crm/auth/grpc_auth.h"
#include "crm/common/status_macros.h"
#include "crm/runtime/status.h"
#include "grpcpp/grpcpp.h"

namespace crm::interaction {

#define CRM_INTERACTION_RPC(Method, Request, Response)                                         \
  grpc::ServerUnaryReactor* InteractionServiceImpl::Method(                                   \
      grpc::CallbackServerContext* ctx, const v1::Request* req, v1::Response* resp) {          \
    return auth::ServeAuthenticated(                                                         \
        pool_, *verifier_, ctx, [this, req, resp](const auth::Principal& who) -> absl::Status { \
          ASSIGN_OR_RETURN(*resp, logic_->Method(who, *req));                                 \
          return absl::OkStatus();                                                            \
        });                                                                                   \
  }
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

}  // namespace crm::interaction
