// The ticket service's use cases over the command pipeline: every write RPC of
// crm.ticket.v1.TicketService as one command, the reads and KPIs scoped by the
// caller's access, the SLA configuration, and two background duties:
// recomputing open tickets' deadlines when a customer's class or the SLA
// configuration changes, and firing SLA warnings, breaches and escalations when
// their time comes. The gRPC adapter (api/) serves these methods as they are;
// tests call them through command::Await, with a fake clock under the pipeline.
//
//   ASSIGN_OR_RETURN(auto app, TicketApp::Create({.pipeline = &pipeline}));
//   app->OpenTicket(who, request, &response, [](absl::Status s) { ... });
//   app->RecomputeQueued();   // after consumed class changes
//   app->CheckSla();          // on a clock tick
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/auth/principal.h"
#include "crm/command/pipeline.h"
#include "crm/common/thread_pool.h"
#include "crm/directory/customer_directory.h"
#include "crm/ticket/v1/ticket_events.pb.h"
#include "crm/ticket/v1/ticket_service.pb.h"

namespace crm::ticket {

using TicketAggregate = command::Aggregate<v1::Ticket, v1::TicketEvent>;
using SlaConfigAggregate = command::Aggregate<v1::SlaConfig, v1::TicketEvent>;

// The ticket aggregate's parts: streams "ticket-<id>", folded by the domain's
// Apply, rows of projection/ (row, indexes, open tickets, SLA due dates, KPI
// facts). The SLA configuration is an aggregate of its own: the stream
// "sla-config", its current row.
const TicketAggregate& Tickets();
const SlaConfigAggregate& SlaConfigs();

// Rebuilds the rows of both from the log (--rebuild_projections), and the
// projections they write.
std::unique_ptr<eventstore::ProjectionSetProjector> NewRebuildProjector();
std::vector<std::string> RebuildTargets();

struct TicketAppOptions {
  command::Pipeline* pipeline = nullptr;  // required
  // Asked about customers not consumed yet; may be null (then they are NOT_FOUND).
  directory::CustomerLookup* customers = nullptr;
  // Runs KPIs and SetSlaConfig (which recomputes every open ticket); null: on
  // the caller's thread.
  ThreadPool* slow_queries = nullptr;
};

// Access: a ticket is visible to its assignee and to whoever may see its customer
// (libs/auth); every command needs the same. SetSlaConfig needs executive or
// admin. GetKpis counts what the caller's scope covers: all (executive, admin,
// service), the caller's region (regional manager), tickets assigned to the
// caller (sales rep, service agent); PERMISSION_DENIED for a caller with none.
//
// Thread safety: calls may run concurrently; RecomputeQueued and CheckSla each on
// one thread at a time (the service runs them on one background thread).
class TicketApp {
 public:
  // Loads the current SLA configuration (the built-in default when none was set).
  static absl::StatusOr<std::unique_ptr<TicketApp>> Create(TicketAppOptions options);
  ~TicketApp();

  void OpenTicket(const auth::Principal& who, const v1::OpenTicketRequest& req,
                  v1::OpenTicketResponse* resp, command::Done done);
  void AssignTicket(const auth::Principal& who, const v1::AssignTicketRequest& req,
                    v1::WriteResponse* resp, command::Done done);
  void StartInvestigation(const auth::Principal& who, const v1::StartInvestigationRequest& req,
                          v1::WriteResponse* resp, command::Done done);
  void RecordFindings(const auth::Principal& who, const v1::RecordFindingsRequest& req,
                      v1::WriteResponse* resp, command::Done done);
  void ProposeResolution(const auth::Principal& who, const v1::ProposeResolutionRequest& req,
                         v1::WriteResponse* resp, command::Done done);
  void AnswerResolution(const auth::Principal& who, const v1::AnswerResolutionRequest& req,
                        v1::WriteResponse* resp, command::Done done);
  void ResolveTicket(const auth::Principal& who, const v1::ResolveTicketRequest& req,
                     v1::WriteResponse* resp, command::Done done);
  void RecordFeedback(const auth::Principal& who, const v1::RecordFeedbackRequest& req,
                      v1::WriteResponse* resp, command::Done done);
  void CloseTicket(const auth::Principal& who, const v1::CloseTicketRequest& req,
                   v1::WriteResponse* resp, command::Done done);
  void ReopenTicket(const auth::Principal& who, const v1::ReopenTicketRequest& req,
                    v1::WriteResponse* resp, command::Done done);
  void AddComment(const auth::Principal& who, const v1::AddCommentRequest& req,
                  v1::WriteResponse* resp, command::Done done);
  void SetWaitingOnCustomer(const auth::Principal& who,
                            const v1::SetWaitingOnCustomerRequest& req, v1::WriteResponse* resp,
                            command::Done done);
  // Runs on the slow-query pool: the new configuration is in force, and every
  // open ticket's deadlines recomputed, when it answers.
  void SetSlaConfig(const auth::Principal& who, const v1::SetSlaConfigRequest& req,
                    v1::SetSlaConfigResponse* resp, command::Done done);

  absl::Status GetTicket(const auth::Principal& who, const v1::GetTicketRequest& req,
                         v1::GetTicketResponse* resp);
  absl::Status ListTickets(const auth::Principal& who, const v1::ListTicketsRequest& req,
                           v1::ListTicketsResponse* resp);
  // Reads every KPI fact of the range: runs on the slow-query pool.
  void GetKpis(const auth::Principal& who, const v1::GetKpisRequest& req,
               v1::GetKpisResponse* resp, command::Done done);
  absl::Status GetSlaConfig(const auth::Principal& who, const v1::GetSlaConfigRequest& req,
                            v1::GetSlaConfigResponse* resp);

  // Recomputes the deadlines of open tickets queued by the consumer (class
  // changes) or by SetSlaConfig. Returns how many tickets changed. Idempotent: a
  // crash half-way is finished by the next call.
  absl::StatusOr<int> RecomputeQueued();
  // Emits SlaWarning, SlaBreached and TicketEscalated, once each, for open tickets
  // whose warning time or deadline has passed. Returns the number of events.
  absl::StatusOr<int> CheckSla();

 private:
  class Impl;
  explicit TicketApp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crm::ticket
