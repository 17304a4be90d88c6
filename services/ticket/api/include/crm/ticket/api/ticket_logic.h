// The ticket service's behaviour over absl::Status: access checks, load → decide
// → append, queries, KPIs, the SLA configuration, and two background duties:
// recomputing open tickets' deadlines when a customer's class or the SLA
// configuration changes, and firing SLA warnings, breaches and escalations when
// their time comes. The gRPC adapter (ticket_service.h) only moves calls onto
// threads and maps errors; tests drive this class directly with a fake clock.
//
//   ASSIGN_OR_RETURN(auto logic, TicketLogic::Create({.store = store.get(), .clock = &clock}));
//   ASSIGN_OR_RETURN(v1::OpenTicketResponse r, logic->OpenTicket(principal, request));
//   logic->RecomputeQueued();   // after consumed class changes
//   logic->CheckSla();          // on a clock tick
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "crm/auth/principal.h"
#include "crm/common/clock.h"
#include "crm/directory/customer_directory.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/ticket/v1/ticket_service.pb.h"

namespace crm::ticket {

struct TicketLogicOptions {
  eventstore::EventStore* store = nullptr;  // required
  const Clock* clock = &SystemClock();
  // Asked about customers not consumed yet; may be null (then they are NOT_FOUND).
  directory::CustomerLookup* customers = nullptr;
  messaging::OutboxRelay* relay = nullptr;
};

// Access: a ticket is visible to its assignee and to whoever may see its customer
// (libs/auth); every command needs the same. SetSlaConfig needs executive or
// admin. GetKpis counts what the caller's scope covers: all (executive, admin,
// service), the caller's region (regional manager), tickets assigned to the
// caller (sales rep, service agent); PERMISSION_DENIED for a caller with none.
//
// Thread safety: calls may run concurrently; RecomputeQueued and CheckSla each on
// one thread at a time (the service runs them on one background thread).
class TicketLogic {
 public:
  // Loads the current SLA configuration (the built-in default when none was set).
  static absl::StatusOr<std::unique_ptr<TicketLogic>> Create(TicketLogicOptions options);
  ~TicketLogic();

  absl::StatusOr<v1::OpenTicketResponse> OpenTicket(const auth::Principal& who,
                                                    const v1::OpenTicketRequest& req);
  absl::StatusOr<v1::WriteResponse> AssignTicket(const auth::Principal& who,
                                                 const v1::AssignTicketRequest& req);
  absl::StatusOr<v1::WriteResponse> StartInvestigation(const auth::Principal& who,
                                                       const v1::StartInvestigationRequest& req);
  absl::StatusOr<v1::WriteResponse> RecordFindings(const auth::Principal& who,
                                                   const v1::RecordFindingsRequest& req);
  absl::StatusOr<v1::WriteResponse> ProposeResolution(const auth::Principal& who,
                                                      const v1::ProposeResolutionRequest& req);
  absl::StatusOr<v1::WriteResponse> AnswerResolution(const auth::Principal& who,
                                                     const v1::AnswerResolutionRequest& req);
  absl::StatusOr<v1::WriteResponse> ResolveTicket(const auth::Principal& who,
                                                  const v1::ResolveTicketRequest& req);
  absl::StatusOr<v1::WriteResponse> RecordFeedback(const auth::Principal& who,
                                                   const v1::RecordFeedbackRequest& req);
  absl::StatusOr<v1::WriteResponse> CloseTicket(const auth::Principal& who,
                                                const v1::CloseTicketRequest& req);
  absl::StatusOr<v1::WriteResponse> ReopenTicket(const auth::Principal& who,
                                                 const v1::ReopenTicketRequest& req);
  absl::StatusOr<v1::WriteResponse> AddComment(const auth::Principal& who,
                                               const v1::AddCommentRequest& req);
  absl::StatusOr<v1::WriteResponse> SetWaitingOnCustomer(
      const auth::Principal& who, const v1::SetWaitingOnCustomerRequest& req);

  absl::StatusOr<v1::GetTicketResponse> GetTicket(const auth::Principal& who,
                                                  const v1::GetTicketRequest& req);
  absl::StatusOr<v1::ListTicketsResponse> ListTickets(const auth::Principal& who,
                                                      const v1::ListTicketsRequest& req);
  absl::StatusOr<v1::GetKpisResponse> GetKpis(const auth::Principal& who,
                                              const v1::GetKpisRequest& req);
  absl::StatusOr<v1::GetSlaConfigResponse> GetSlaConfig(const auth::Principal& who,
                                                        const v1::GetSlaConfigRequest& req);
  absl::StatusOr<v1::SetSlaConfigResponse> SetSlaConfig(const auth::Principal& who,
                                                        const v1::SetSlaConfigRequest& req);

  // Recomputes the deadlines of open tickets queued by the consumer (class
  // changes) or by SetSlaConfig. Returns how many tickets changed. Idempotent: a
  // crash half-way is finished by the next call.
  absl::StatusOr<int> RecomputeQueued();
  // Emits SlaWarning, SlaBreached and TicketEscalated, once each, for open tickets
  // whose warning time or deadline has passed. Returns the number of events.
  absl::StatusOr<int> CheckSla();

 private:
  class Impl;
  explicit TicketLogic(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crm::ticket
