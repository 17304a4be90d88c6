// The gRPC adapter of crm.ticket.v1.TicketService: authenticates the caller, runs
// TicketLogic on a worker pool (it waits on synced disk writes), and maps errors
// to gRPC codes.
//
//   TicketServiceImpl service(logic.get(), verifier.get());
//   runtime.AddService(&service);
#pragma once

#include "crm/auth/jwt.h"
#include "crm/common/thread_pool.h"
#include "crm/ticket/api/ticket_logic.h"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"

namespace crm::ticket {

// The RPCs of TicketService with their request and response types, for the
// adapter's declarations and definitions.
#define CRM_TICKET_RPCS(X)                                              \
  X(OpenTicket, OpenTicketRequest, OpenTicketResponse)                  \
  X(AssignTicket, AssignTicketRequest, WriteResponse)                   \
  X(StartInvestigation, StartInvestigationRequest, WriteResponse)       \
  X(RecordFindings, RecordFindingsRequest, WriteResponse)               \
  X(ProposeResolution, ProposeResolutionRequest, WriteResponse)         \
  X(AnswerResolution, AnswerResolutionRequest, WriteResponse)           \
  X(ResolveTicket, ResolveTicketRequest, WriteResponse)                 \
  X(RecordFeedback, RecordFeedbackRequest, WriteResponse)               \
  X(CloseTicket, CloseTicketRequest, WriteResponse)                     \
  X(ReopenTicket, ReopenTicketRequest, WriteResponse)                   \
  X(AddComment, AddCommentRequest, WriteResponse)                       \
  X(SetWaitingOnCustomer, SetWaitingOnCustomerRequest, WriteResponse)   \
  X(GetTicket, GetTicketRequest, GetTicketResponse)                     \
  X(ListTickets, ListTicketsRequest, ListTicketsResponse)               \
  X(GetKpis, GetKpisRequest, GetKpisResponse)                           \
  X(GetSlaConfig, GetSlaConfigRequest, GetSlaConfigResponse)            \
  X(SetSlaConfig, SetSlaConfigRequest, SetSlaConfigResponse)

// Thread safety: gRPC calls it concurrently; `logic` and `verifier` must outlive it.
class TicketServiceImpl final : public v1::TicketService::CallbackService {
 public:
  TicketServiceImpl(TicketLogic* logic, const auth::TokenVerifier* verifier,
                    size_t worker_threads = 64)
      : logic_(logic), verifier_(verifier), pool_(worker_threads) {}

#define CRM_TICKET_DECLARE(Method, Request, Response)                         \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx,         \
                                   const v1::Request* req, v1::Response* resp) override;
  CRM_TICKET_RPCS(CRM_TICKET_DECLARE)
#undef CRM_TICKET_DECLARE

 private:
  TicketLogic* logic_;
  const auth::TokenVerifier* verifier_;
  ThreadPool pool_;
};

}  // namespace crm::ticket
