// The ticket aggregate (DOMAIN.md §4): service requests and complaints as pure
// functions. Each ticket is one stream (`ticket-<id>`) whose state is a v1::Ticket
// folded by Apply. `Decide*` turns a command and the current state into the
// events to append. No I/O, no clock reads, no randomness: actor, time and the
// SLA engine come in DecideContext, the customer's owner and region in
// CustomerRef, the new ticket id as an argument.
//
//   DecideContext ctx{.actor = who.subject, .now = clock.Now(), .sla = engine.get(),
//                     .tier = engine->TierFor(classes)};
//   ASSIGN_OR_RETURN(Events events, DecideOpen(request, NewId(), customer, ctx));
//   v1::Ticket state;
//   for (const auto& e : events)
//     Apply(state, e, {.version = state.version() + 1, .occurred_at = ctx.now,
//                      .actor = ctx.actor});
//
// Errors of Decide* (nothing is decided then):
// - NOT_FOUND "ticket not found" when `state` is at version 0 (all but DecideOpen),
//   checked first;
// - INVALID_ARGUMENT whose message starts with the field path at fault and ": "
//   ("subject: required", "score: must be 1..5", "findings.evidence_refs[1]: longer
//   than 512");
// - FAILED_PRECONDITION when the status does not allow the command; the message
//   names the status ("status: ticket is RESOLVED; ProposeResolution needs
//   INVESTIGATING or RESOLUTION_PROPOSED").
// Request fields are checked before the status, so a request that is both
// malformed and refused reports INVALID_ARGUMENT.
//
// Transitions (anything else is FAILED_PRECONDITION):
//   Open                      -> OPENED (TicketOpened with sla and promised_by)
//   Assign         OPENED, REOPENED -> ASSIGNED; ASSIGNED, INVESTIGATING,
//                  RESOLUTION_PROPOSED, RESOLUTION_AGREED: reassignment, status kept
//                  (same assignee and team again: FAILED_PRECONDITION "assignee:
//                  already assigned to ...")
//   StartInvestigation ASSIGNED, REOPENED (with an assignee) -> INVESTIGATING
//   RecordFindings INVESTIGATING (status kept)
//   ProposeResolution INVESTIGATING, RESOLUTION_PROPOSED -> RESOLUTION_PROPOSED
//   AnswerResolution RESOLUTION_PROPOSED -> RESOLUTION_AGREED (agreed) or
//                  INVESTIGATING (not agreed; comment then required)
//   Resolve        RESOLUTION_AGREED -> RESOLVED (on_time: resolved_at <=
//                  sla.resolution.due_at)
//   RecordFeedback RESOLVED -> FEEDBACK_RECEIVED (satisfied), or, not satisfied,
//                  FeedbackRecorded + TicketReopened -> REOPENED
//   Close          RESOLVED, FEEDBACK_RECEIVED -> CLOSED
//   Reopen         RESOLVED, FEEDBACK_RECEIVED, CLOSED -> REOPENED (reason required)
//   AddComment     any status, also CLOSED
//   SetWaiting     waiting=true: OPENED..RESOLUTION_AGREED, REOPENED and not already
//                  waiting -> WaitingOnCustomer; waiting=false: while waiting ->
//                  CustomerResponded (status kept in both)
// While waiting on the customer, every transition except comments, findings,
// assignment and the resume itself is refused ("waiting_on_customer: ...").
//
// First response: the first StartInvestigation, customer-visible comment or
// ProposeResolution after opening sets first_response_at in its event (and
// sla.first_response.met_at when folded).
//
// SLA: the events that change what deadlines depend on carry the recomputed
// v1::Sla (ctx.sla->Compute): TicketOpened (clocks start at ctx.now),
// WaitingOnCustomer / CustomerResponded (pauses), TicketReopened (clocks restart
// at ctx.now: resolution timer fresh, first response kept met), SlaRecomputed.
// Apply copies them, so replay never consults the configuration.
//
// Thread safety: all functions are pure and reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/domain/aggregate.h"
#include "crm/ticket/domain/sla_engine.h"
#include "crm/ticket/v1/ticket.pb.h"
#include "crm/ticket/v1/ticket_events.pb.h"
#include "crm/ticket/v1/ticket_service.pb.h"

namespace crm::ticket {

// Longest subject; longest free text (description, resolution, summary, comment,
// findings details); longest short name (assignee, team, reason, evidence ref).
inline constexpr size_t kMaxSubject = 200;
inline constexpr size_t kMaxText = 10000;
inline constexpr size_t kMaxName = 256;
inline constexpr int kMaxEvidenceRefs = 50;
inline constexpr int kMaxComments = 1000;

struct DecideContext {
  std::string actor;
  absl::Time now;
  // The current SLA configuration; required by the commands that recompute the
  // SLA (Open, SetWaiting, Reopen, RecordFeedback, RecomputeSla, SlaCheck).
  const sla::SlaEngine* sla = nullptr;
  // The customer's current SLA tier (engine.TierFor(classes)).
  std::string tier;
};

// The customer an aggregate is created for, as the service resolved it.
using ::crm::domain::CustomerRef;

// Who appended an event, when, and the stream version it got.
using ::crm::domain::EventMeta;

using Events = std::vector<v1::TicketEvent>;

// TicketOpened. type and channel required (known values); priority defaults to
// NORMAL; subject 1..kMaxSubject after trimming; description ≤ kMaxText.
// INVALID_ARGUMENT "ticket_id: required" / "customer_id: required" for empty ids.
absl::StatusOr<Events> DecideOpen(const v1::OpenTicketRequest& request,
                                  std::string_view ticket_id, const CustomerRef& customer,
                                  const DecideContext& ctx);
// TicketAssigned{from, to, team, note}. assignee 1..kMaxName, team ≤ 128, note ≤ kMaxText.
absl::StatusOr<Events> DecideAssign(const v1::Ticket& state, const v1::AssignTicketRequest& request,
                                    const DecideContext& ctx);
absl::StatusOr<Events> DecideStartInvestigation(const v1::Ticket& state,
                                                const v1::StartInvestigationRequest& request,
                                                const DecideContext& ctx);
// FindingsRecorded; findings.details required (≤ kMaxText), cause and
// responsibility ≤ kMaxText, ≤ kMaxEvidenceRefs refs of 1..512; recorded_by =
// ctx.actor, recorded_at = ctx.now (client values ignored).
absl::StatusOr<Events> DecideRecordFindings(const v1::Ticket& state,
                                            const v1::RecordFindingsRequest& request,
                                            const DecideContext& ctx);
absl::StatusOr<Events> DecideProposeResolution(const v1::Ticket& state,
                                               const v1::ProposeResolutionRequest& request,
                                               const DecideContext& ctx);
absl::StatusOr<Events> DecideAnswerResolution(const v1::Ticket& state,
                                              const v1::AnswerResolutionRequest& request,
                                              const DecideContext& ctx);
absl::StatusOr<Events> DecideResolve(const v1::Ticket& state, const v1::ResolveTicketRequest& request,
                                     const DecideContext& ctx);
// score 1..5 always; comment ≤ kMaxText, required when not satisfied.
absl::StatusOr<Events> DecideRecordFeedback(const v1::Ticket& state,
                                            const v1::RecordFeedbackRequest& request,
                                            const DecideContext& ctx);
absl::StatusOr<Events> DecideClose(const v1::Ticket& state, const v1::CloseTicketRequest& request,
                                   const DecideContext& ctx);
absl::StatusOr<Events> DecideReopen(const v1::Ticket& state, const v1::ReopenTicketRequest& request,
                                    const DecideContext& ctx);
// CommentAdded with comment_id "c<n>" (n = number of comments + 1), author
// ctx.actor; text 1..kMaxText; at most kMaxComments per ticket.
absl::StatusOr<Events> DecideAddComment(const v1::Ticket& state, const v1::AddCommentRequest& request,
                                        const DecideContext& ctx);
absl::StatusOr<Events> DecideSetWaiting(const v1::Ticket& state,
                                        const v1::SetWaitingOnCustomerRequest& request,
                                        const DecideContext& ctx);

// --- Decided by the service itself ------------------------------------------------

// SlaRecomputed{reason, sla, previous} when the deadlines computed now with
// ctx.sla and ctx.tier differ from the ticket's (another tier, policy or
// configuration); EMPTY (OK) when they are equal or the ticket is RESOLVED or
// later (FEEDBACK_RECEIVED, CLOSED). reason required.
absl::StatusOr<Events> DecideRecomputeSla(const v1::Ticket& state, std::string_view reason,
                                          const DecideContext& ctx);
// What DueActions(state.sla, ctx.now) finds, as events: SlaWarning per kWarn;
// SlaBreached followed by TicketEscalated (to ctx.sla->EscalationFor(sla,
// assignee)) per kBreach. EMPTY when nothing is due.
absl::StatusOr<Events> DecideSlaCheck(const v1::Ticket& state, const DecideContext& ctx);

// --- Folding -------------------------------------------------------------------

// Folds one event into `state`, sets version = meta.version and updated_at =
// meta.occurred_at. TicketOpened sets ids, type, channel, priority, subject,
// description, owner, region, sla, promised_by, opened_by = meta.actor, opened_at.
// Never fails: events are facts. Unknown kinds only move the version.
void Apply(v1::Ticket& state, const v1::TicketEvent& event, const EventMeta& meta);

// "crm.ticket.v1.<Message>" of the set kind, e.g. "crm.ticket.v1.TicketOpened";
// "" when no kind is set.
std::string EventType(const v1::TicketEvent& event);

// "COMPLAINT", "RESOLVED", ... (enum names without prefix).
std::string TypeName(v1::TicketType type);
std::string StatusName(v1::TicketStatus status);

// True before RESOLVED: OPENED, ASSIGNED, INVESTIGATING, RESOLUTION_PROPOSED,
// RESOLUTION_AGREED, REOPENED.
bool IsOpen(v1::TicketStatus status);

// The ticket's pauses since its clocks started, as SLA intervals.
std::vector<sla::Interval> PausesOf(const v1::Ticket& state);

}  // namespace crm::ticket
