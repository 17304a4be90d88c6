// The gRPC adapter of crm.ticket.v1.TicketService: each RPC is served by the
// TicketApp method of its name on gRPC's own thread (libs/command Serve:
// authentication, then the app; a write finishes when the group commit that
// holds it is durable).
//
//   TicketServiceImpl service(*app, *verifier);
//   runtime.AddService(&service);
#pragma once

#include "crm/auth/jwt.h"
#include "crm/command/serve.h"
#include "crm/ticket/app/ticket_app.h"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"

namespace crm::ticket {

// The RPCs of TicketService, each with its request and response.
#define CRM_TICKET_RPCS(X)                                                    \
  X(OpenTicket, v1::OpenTicketRequest, v1::OpenTicketResponse)                \
  X(AssignTicket, v1::AssignTicketRequest, v1::WriteResponse)                 \
  X(StartInvestigation, v1::StartInvestigationRequest, v1::WriteResponse)     \
  X(RecordFindings, v1::RecordFindingsRequest, v1::WriteResponse)             \
  X(ProposeResolution, v1::ProposeResolutionRequest, v1::WriteResponse)       \
  X(AnswerResolution, v1::AnswerResolutionRequest, v1::WriteResponse)         \
  X(ResolveTicket, v1::ResolveTicketRequest, v1::WriteResponse)               \
  X(RecordFeedback, v1::RecordFeedbackRequest, v1::WriteResponse)             \
  X(CloseTicket, v1::CloseTicketRequest, v1::WriteResponse)                   \
  X(ReopenTicket, v1::ReopenTicketRequest, v1::WriteResponse)                 \
  X(AddComment, v1::AddCommentRequest, v1::WriteResponse)                     \
  X(SetWaitingOnCustomer, v1::SetWaitingOnCustomerRequest, v1::WriteResponse) \
  X(GetTicket, v1::GetTicketRequest, v1::GetTicketResponse)                   \
  X(ListTickets, v1::ListTicketsRequest, v1::ListTicketsResponse)             \
  X(GetKpis, v1::GetKpisRequest, v1::GetKpisResponse)                         \
  X(GetSlaConfig, v1::GetSlaConfigRequest, v1::GetSlaConfigResponse)          \
  X(SetSlaConfig, v1::SetSlaConfigRequest, v1::SetSlaConfigResponse)

// Thread safety: gRPC calls it concurrently; the app and verifier must outlive it.
class TicketServiceImpl final : public v1::TicketService::CallbackService {
 public:
  TicketServiceImpl(TicketApp& app, const auth::TokenVerifier& verifier)
      : app_(app), verifier_(verifier) {}

  CRM_TICKET_RPCS(CRM_DECLARE_RPC)

 private:
  TicketApp& app_;
  const auth::TokenVerifier& verifier_;
};

}  // namespace crm::ticket
