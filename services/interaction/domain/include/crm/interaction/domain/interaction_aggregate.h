// The interaction aggregate (DOMAIN.md §2): visits, follow-ups, revisits, care
// activities and satisfaction surveys as pure functions. Each interaction is one
// stream (`interaction-<id>`) whose state is a v1::Interaction folded by Apply.
// `Decide*` turns a command (the service's request message, or for revisits the
// service's own decision) and the current state into the events to append. No
// I/O, no clock reads, no randomness: actor and time come in DecideContext, the
// customer's owner and region in CustomerRef, new ids as arguments.
//
//   DecideContext ctx{.actor = caller.subject, .now = clock.Now()};
//   CustomerRef customer{.customer_id = c.customer_id(), .owner = c.owner(),
//                         .region = c.region()};
//   ASSIGN_OR_RETURN(Events events, DecidePlanVisit(request, NewId(), customer, ctx));
//   // append `events` to the new stream; then, to answer with the new state:
//   v1::Interaction state;
//   for (const auto& event : events)
//     Apply(state, event, {.version = state.version() + 1, .occurred_at = ctx.now,
//                          .actor = ctx.actor});
//
// Errors of Decide* (nothing is decided then):
// - NOT_FOUND "interaction not found" when `state` is at version 0 (all but the
//   creating commands); checked first, even before the request;
// - INVALID_ARGUMENT whose message starts with the field path at fault and ": "
//   ("plan.purpose: required", "survey.score: must be 1..5",
//   "record.findings[1].department: required");
// - FAILED_PRECONDITION when the interaction is of another type
//   ("type: interaction i-1 is a FOLLOW_UP, not a VISIT") or its state does not
//   allow the move; the message names the current state
//   ("visit.status: visit was cancelled", "care.status: care is PLANNED, not yet DONE").
// Request fields are checked before the state is consulted, so a request that is
// both malformed and refused reports INVALID_ARGUMENT.
//
// Times: "in the future" allows kClockSkew (5 minutes) of difference between the
// caller's clock and ctx.now. A visit or care activity may be planned up to
// kPlanGrace (1 day) in the past, so that one held today can still be planned and
// recorded; a visit may be rescheduled at most kClockSkew into the past. Times
// the caller leaves unset (visited_at,
// performed_at, done_at, surveyed_at) default to ctx.now and are stored in the
// event, so replaying never depends on when it runs.
//
// Every event has `interaction_id` and `customer_id` set; creating events carry
// the customer's owner and region (for scoping). Client-sent values the service
// owns are ignored: a care's status, outcome and evaluation in PlanCare.
// Short names (purpose, visitors, materials, care title, finding departments,
// performed_by) are stored trimmed of surrounding white space; other free text
// as given.
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
#include "crm/interaction/domain/cadence.h"
#include "crm/interaction/v1/interaction.pb.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/interaction/v1/interaction_service.pb.h"

namespace crm::interaction {

// Tolerance for "not in the future": client and server clocks differ a little.
inline constexpr absl::Duration kClockSkew = absl::Minutes(5);
// How far in the past a visit or care activity may still be planned.
inline constexpr absl::Duration kPlanGrace = absl::Hours(24);
// Most items of a repeated text field (visitors, materials, problems, findings).
inline constexpr int kMaxListItems = 100;

// What a decision may use besides state and command.
struct DecideContext {
  // The caller's subject: the default performed_by of a follow-up.
  std::string actor;
  // The time of the decision (never read from a clock here).
  absl::Time now;
};

// The customer an aggregate is created for, as the service resolved it.
using ::crm::domain::CustomerRef;

// Who appended an event, when, and the stream version it got.
using ::crm::domain::EventMeta;

using Events = std::vector<v1::InteractionEvent>;

// Keeps the newest `bound` entries of a list an aggregate keeps in its row (an
// opportunity's stage and owner history, a churn case's warnings; the log keeps
// all), dropping the oldest.
template <typename T>
void KeepNewest(google::protobuf::RepeatedPtrField<T>* items, int bound) {
  if (items->size() > bound) items->DeleteSubrange(0, items->size() - bound);
}

// --- Creating commands (the stream is empty; the service chooses the id) -----
// Each returns exactly one event. INVALID_ARGUMENT "interaction_id: required" or
// "customer_id: required" when the service passed an empty id; the request's
// own customer_id is not consulted (the service resolved `customer` from it).

// VisitPlanned. plan.purpose (≤ 2000), plan.scheduled_at (not more than
// kPlanGrace in the past: "plan.scheduled_at: in the past") and at least one
// visitor (each 1..256 characters, no repeats) are required; agenda ≤ 2000,
// materials 1..2000 each, at most kMaxListItems visitors and materials.
absl::StatusOr<Events> DecidePlanVisit(const v1::PlanVisitRequest& request,
                                       std::string_view interaction_id,
                                       const CustomerRef& customer, const DecideContext& ctx);
// FollowUpLogged. follow_up.channel and follow_up.content are required;
// performed_by defaults to ctx.actor, performed_at to ctx.now (not in the future).
absl::StatusOr<Events> DecideLogFollowUp(const v1::LogFollowUpRequest& request,
                                         std::string_view interaction_id,
                                         const CustomerRef& customer, const DecideContext& ctx);
// CarePlanned (status PLANNED). care.kind, care.title (1..200) and
// care.planned_for (not more than kPlanGrace in the past) are required;
// care.contact_id is required for a birthday wish.
absl::StatusOr<Events> DecidePlanCare(const v1::PlanCareRequest& request,
                                      std::string_view interaction_id, const CustomerRef& customer,
                                      const DecideContext& ctx);
// SatisfactionRecorded. survey.score 1..5, comment ≤ 2000, surveyed_at defaults
// to ctx.now (not in the future).
absl::StatusOr<Events> DecideRecordSatisfaction(const v1::RecordSatisfactionRequest& request,
                                                std::string_view interaction_id,
                                                const CustomerRef& customer,
                                                const DecideContext& ctx);

// --- Commands on an existing interaction ---------------------------------------
// `state` is the interaction folded from its stream; the request's
// interaction_id is not consulted (the service loaded `state` by it).

// VisitRescheduled{from, to, reason}. A PLANNED visit only; scheduled_at
// required, not in the past (beyond kClockSkew), different from the current
// time (FAILED_PRECONDITION "scheduled_at: already scheduled at ...").
absl::StatusOr<Events> DecideRescheduleVisit(const v1::Interaction& state,
                                             const v1::RescheduleVisitRequest& request,
                                             const DecideContext& ctx);
// VisitCancelled. A PLANNED visit only; reason required.
absl::StatusOr<Events> DecideCancelVisit(const v1::Interaction& state,
                                         const v1::CancelVisitRequest& request,
                                         const DecideContext& ctx);
// VisitRecorded. A PLANNED visit only (a cancelled one: "visit.status: visit was
// cancelled"); record.summary required, cooperation_intent a known value,
// visited_at defaults to ctx.now and must not be in the future.
absl::StatusOr<Events> DecideRecordVisit(const v1::Interaction& state,
                                         const v1::RecordVisitRequest& request,
                                         const DecideContext& ctx);
// RevisitCompleted. A PLANNED revisit only (not COMPLETED or REPLANNED);
// record.satisfaction 1..5; each finding needs department (≤ 200) and
// description; performed_at defaults to ctx.now, not in the future. Scheduling
// the next revisit is the service's job (DecideScheduleRevisit on a new stream,
// due NextDue(performed_at, ...)).
absl::StatusOr<Events> DecideRecordRevisit(const v1::Interaction& state,
                                           const v1::RecordRevisitRequest& request,
                                           const DecideContext& ctx);
// CareDone. A PLANNED care activity only; done_at defaults to ctx.now, not in
// the future; outcome ≤ 2000.
absl::StatusOr<Events> DecideCompleteCare(const v1::Interaction& state,
                                          const v1::CompleteCareRequest& request,
                                          const DecideContext& ctx);
// CareEvaluated. A DONE care activity only; evaluation_score 1..5, evaluation
// ≤ 2000.
absl::StatusOr<Events> DecideEvaluateCare(const v1::Interaction& state,
                                          const v1::EvaluateCareRequest& request,
                                          const DecideContext& ctx);

// --- Revisits (decided by the service from the customer's class, no RPC) -----

// RevisitScheduled on a new stream: due at `due_at` (may already be past: the
// revisit is then overdue at once) on `cadence`. INVALID_ARGUMENT for an empty
// interaction or customer id, cadence.days outside kMinCadenceDays..
// kMaxCadenceDays, or a due_at a Timestamp cannot hold.
absl::StatusOr<Events> DecideScheduleRevisit(std::string_view interaction_id,
                                             const CustomerRef& customer, absl::Time due_at,
                                             const Cadence& cadence, const DecideContext& ctx);
// RevisitReplanned: the customer's class changed, and `replaced_by` (a revisit
// the service schedules on the new cadence) replaces `open_revisit`.
// INVALID_ARGUMENT "replaced_by: required" (or equal to the revisit's own id);
// FAILED_PRECONDITION unless the revisit is PLANNED.
absl::StatusOr<Events> DecideReplanRevisit(const v1::Interaction& open_revisit,
                                           std::string_view replaced_by, std::string_view new_class,
                                           const DecideContext& ctx);
// RevisitOverdue{due_at, detected_at = ctx.now}, at most once per revisit: an
// EMPTY result (OK) when the revisit is not yet due (ctx.now <= due_at), is not
// PLANNED, or was already reported. NOT_FOUND on version 0; FAILED_PRECONDITION
// for an interaction that is not a revisit.
absl::StatusOr<Events> DecideReportOverdue(const v1::Interaction& revisit,
                                           const DecideContext& ctx);

// --- Folding -------------------------------------------------------------------

// Folds one event into `state` and sets version = meta.version and updated_at =
// meta.occurred_at; a creating event also sets interaction_id, customer_id,
// type, owner, region, created_by = meta.actor and created_at. occurs_at (the
// place on the timeline) follows the type: visit scheduled_at, then visited_at
// once recorded; follow-up performed_at; revisit due_at, then performed_at;
// care planned_for, then done_at; survey surveyed_at. Never fails: events are
// facts. An event for another type than the state's (or with no or an unknown
// kind) only moves the version.
void Apply(v1::Interaction& state, const v1::InteractionEvent& event, const EventMeta& meta);

// "crm.interaction.v1.<Message>" of the set `kind`, e.g.
// "crm.interaction.v1.VisitPlanned"; "" when no kind is set.
std::string EventType(const v1::InteractionEvent& event);

// "VISIT", "FOLLOW_UP", ... (the enum name without its prefix; the number for
// an undefined value).
std::string TypeName(v1::InteractionType type);

}  // namespace crm::interaction
