#include "crm/ticket/domain/ticket_aggregate.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "crm/common/field_errors.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/common/text.h"
#include "crm/domain/validation.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/message_differencer.h"

namespace crm::ticket {
namespace {

using ::crm::domain::Presence;
using ::crm::domain::ShortName;
using ::crm::domain::ValidateEnum;
using ::crm::domain::ValidateRequiredText;
using ::crm::domain::ValidateText;
using ::google::protobuf::Timestamp;

// Longest team name (DecideAssign) and evidence reference (DecideRecordFindings).
constexpr size_t kMaxTeam = 128;
constexpr size_t kMaxEvidenceRef = 512;

// ---------------------------------------------------------------------------
// Names


std::string TargetName(v1::SlaTarget target) {
  return ShortName(v1::SlaTarget_Name(target), "SLA_TARGET_", target);
}

// "A", "A or B", "A, B or C".
std::string Alternatives(std::initializer_list<v1::TicketStatus> statuses) {
  std::string out;
  size_t i = 0;
  for (const v1::TicketStatus status : statuses) {
    if (i > 0) out += (i + 1 == statuses.size()) ? " or " : ", ";
    out += StatusName(status);
    ++i;
  }
  return out;
}

// ---------------------------------------------------------------------------
// State checks

constexpr std::initializer_list<v1::TicketStatus> kOpenStatuses = {
    v1::TICKET_STATUS_OPENED,
    v1::TICKET_STATUS_ASSIGNED,
    v1::TICKET_STATUS_INVESTIGATING,
    v1::TICKET_STATUS_RESOLUTION_PROPOSED,
    v1::TICKET_STATUS_RESOLUTION_AGREED,
    v1::TICKET_STATUS_REOPENED,
};

absl::Status RequireTicket(const v1::Ticket& state) {
  if (state.version() == 0) return absl::NotFoundError("ticket not found");
  return absl::OkStatus();
}

// "status: ticket is RESOLVED; ProposeResolution needs INVESTIGATING or
// RESOLUTION_PROPOSED".
absl::Status RequireStatus(const v1::Ticket& state, std::string_view command,
                           std::initializer_list<v1::TicketStatus> allowed) {
  if (std::find(allowed.begin(), allowed.end(), state.status()) != allowed.end()) {
    return absl::OkStatus();
  }
  return RefusedField("status", "ticket is " + StatusName(state.status()) + "; " +
                                    std::string(command) + " needs " + Alternatives(allowed));
}

// Refuses `command` while the ticket waits on the customer.
absl::Status RequireNotWaiting(const v1::Ticket& state, std::string_view command) {
  if (!state.waiting_on_customer()) return absl::OkStatus();
  return RefusedField("waiting_on_customer", "ticket is waiting on the customer; resume it before " +
                                                 std::string(command));
}

absl::Status RequireEngine(const DecideContext& ctx) {
  if (ctx.sla == nullptr) return absl::InternalError("sla engine required");
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Events and SLA

v1::TicketEvent NewEvent(std::string_view ticket_id, std::string_view customer_id) {
  v1::TicketEvent event;
  event.set_ticket_id(std::string(ticket_id));
  event.set_customer_id(std::string(customer_id));
  return event;
}
v1::TicketEvent NewEvent(const v1::Ticket& state) {
  return NewEvent(state.ticket_id(), state.customer_id());
}

// ctx.now when this command gives the ticket its first response, else nullopt.
std::optional<Timestamp> FirstResponseAt(const v1::Ticket& state, const DecideContext& ctx) {
  if (state.sla().first_response().has_met_at()) return std::nullopt;
  return ToProtoTimestamp(ctx.now);
}

// The ticket's SLA computed by ctx.sla for (type, priority) of `state`.
absl::StatusOr<v1::Sla> ComputeSla(const v1::Ticket& state, const DecideContext& ctx,
                                   std::string tier, absl::Time clock_started_at,
                                   std::vector<sla::Interval> pauses, const v1::Sla* previous) {
  RETURN_IF_ERROR(RequireEngine(ctx));
  sla::SlaInputs inputs;
  inputs.type = state.type();
  inputs.priority = state.priority();
  inputs.tier = std::move(tier);
  inputs.clock_started_at = clock_started_at;
  inputs.pauses = std::move(pauses);
  inputs.previous = previous;
  return ctx.sla->Compute(inputs);
}

absl::Time ClockStart(const v1::Ticket& state) {
  return FromProtoTimestamp(state.sla().clock_started_at());
}

// TicketReopened: clocks restart at ctx.now; the resolution timer starts afresh
// (its met_at and flags dropped), the first response stays met. The engine
// carries nothing over from a `previous` of another clock start, so the copy is
// restamped with the new start.
absl::StatusOr<v1::TicketEvent> ReopenedEvent(const v1::Ticket& state, std::string reason,
                                              const DecideContext& ctx) {
  v1::Sla previous = state.sla();
  previous.clear_resolution();
  *previous.mutable_clock_started_at() = ToProtoTimestamp(ctx.now);
  ASSIGN_OR_RETURN(v1::Sla sla, ComputeSla(state, ctx, state.sla().tier(), ctx.now, {}, &previous));
  v1::TicketEvent event = NewEvent(state);
  v1::TicketReopened& reopened = *event.mutable_reopened();
  reopened.set_reason(std::move(reason));
  reopened.set_from_status(state.status());
  if (sla.resolution().has_due_at()) *reopened.mutable_promised_by() = sla.resolution().due_at();
  *reopened.mutable_sla() = std::move(sla);
  return event;
}

v1::SlaTimer* TimerOf(v1::Sla& sla, v1::SlaTarget target) {
  switch (target) {
    case v1::SLA_TARGET_FIRST_RESPONSE:
      return sla.mutable_first_response();
    case v1::SLA_TARGET_RESOLUTION:
      return sla.mutable_resolution();
    default:
      return nullptr;
  }
}

void MarkFirstResponse(v1::Ticket& state, bool has, const Timestamp& at) {
  if (has) *state.mutable_sla()->mutable_first_response()->mutable_met_at() = at;
}

}  // namespace

// ---------------------------------------------------------------------------
// Commands

absl::StatusOr<Events> DecideOpen(const v1::OpenTicketRequest& request,
                                  std::string_view ticket_id, const CustomerRef& customer,
                                  const DecideContext& ctx) {
  if (ticket_id.empty()) return InvalidField("ticket_id", "required");
  if (customer.customer_id.empty()) return InvalidField("customer_id", "required");
  RETURN_IF_ERROR(ValidateEnum("type", request.type(), v1::TicketType_IsValid, Presence::kRequired));
  RETURN_IF_ERROR(ValidateEnum("channel", request.channel(), v1::TicketChannel_IsValid, Presence::kRequired));
  RETURN_IF_ERROR(ValidateEnum("priority", request.priority(), v1::Priority_IsValid, Presence::kOptional));
  RETURN_IF_ERROR(ValidateRequiredText("subject", request.subject(), kMaxSubject));
  RETURN_IF_ERROR(ValidateText("description", request.description(), kMaxText));

  const v1::Priority priority = request.priority() == v1::PRIORITY_UNSPECIFIED
                                    ? v1::PRIORITY_NORMAL
                                    : request.priority();
  v1::Ticket ticket;  // what the SLA depends on
  ticket.set_type(request.type());
  ticket.set_priority(priority);
  ASSIGN_OR_RETURN(v1::Sla sla, ComputeSla(ticket, ctx, ctx.tier, ctx.now, {}, nullptr));

  v1::TicketEvent event = NewEvent(ticket_id, customer.customer_id);
  v1::TicketOpened& opened = *event.mutable_opened();
  opened.set_type(request.type());
  opened.set_channel(request.channel());
  opened.set_priority(priority);
  opened.set_subject(Trimmed(request.subject()));
  opened.set_description(request.description());
  opened.set_owner(customer.owner);
  opened.set_region(customer.region);
  if (sla.resolution().has_due_at()) *opened.mutable_promised_by() = sla.resolution().due_at();
  *opened.mutable_sla() = std::move(sla);
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideAssign(const v1::Ticket& state, const v1::AssignTicketRequest& request,
                                    const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireTicket(state));
  RETURN_IF_ERROR(ValidateRequiredText("assignee", request.assignee(), kMaxName));
  RETURN_IF_ERROR(ValidateText("team", TrimSpace(request.team()), kMaxTeam));
  RETURN_IF_ERROR(ValidateText("note", request.note(), kMaxText));
  RETURN_IF_ERROR(RequireStatus(state, "Assign", kOpenStatuses));
  const std::string assignee = Trimmed(request.assignee());
  const std::string team = Trimmed(request.team());
  const bool reassignment = state.status() != v1::TICKET_STATUS_OPENED &&
                            state.status() != v1::TICKET_STATUS_REOPENED;
  if (reassignment && assignee == state.assignee() && team == state.team()) {
    return RefusedField("assignee", "already assigned to " + assignee +
                                        (team.empty() ? "" : " (team " + team + ")"));
  }
  v1::TicketEvent event = NewEvent(state);
  v1::TicketAssigned& assigned = *event.mutable_assigned();
  assigned.set_from_assignee(state.assignee());
  assigned.set_to_assignee(assignee);
  assigned.set_team(team);
  assigned.set_note(request.note());
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideStartInvestigation(const v1::Ticket& state,
                                                const v1::StartInvestigationRequest& request,
                                                const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireTicket(state));
  RETURN_IF_ERROR(RequireStatus(state, "StartInvestigation",
                                {v1::TICKET_STATUS_ASSIGNED, v1::TICKET_STATUS_REOPENED}));
  if (state.assignee().empty()) {
    return RefusedField("assignee", "ticket has no assignee; Assign it before StartInvestigation");
  }
  RETURN_IF_ERROR(RequireNotWaiting(state, "StartInvestigation"));
  v1::TicketEvent event = NewEvent(state);
  v1::InvestigationStarted& started = *event.mutable_investigation_started();
  if (auto at = FirstResponseAt(state, ctx)) *started.mutable_first_response_at() = *at;
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideRecordFindings(const v1::Ticket& state,
                                            const v1::RecordFindingsRequest& request,
                                            const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireTicket(state));
  const v1::Findings& f = request.findings();
  RETURN_IF_ERROR(ValidateRequiredText("findings.details", f.details(), kMaxText));
  if (f.evidence_refs_size() > kMaxEvidenceRefs) {
    return InvalidField("findings.evidence_refs",
                        "more than " + std::to_string(kMaxEvidenceRefs) + " items");
  }
  for (int i = 0; i < f.evidence_refs_size(); ++i) {
    RETURN_IF_ERROR(ValidateRequiredText(Indexed("findings.evidence_refs", i), f.evidence_refs(i),
                                         kMaxEvidenceRef));
  }
  RETURN_IF_ERROR(ValidateText("findings.cause", f.cause(), kMaxText));
  RETURN_IF_ERROR(ValidateText("findings.responsibility", f.responsibility(), kMaxText));
  RETURN_IF_ERROR(RequireStatus(state, "RecordFindings", {v1::TICKET_STATUS_INVESTIGATING}));

  v1::TicketEvent event = NewEvent(state);
  v1::Findings& stored = *event.mutable_findings_recorded()->mutable_findings();
  stored.set_details(f.details());
  for (const std::string& ref : f.evidence_refs()) stored.add_evidence_refs(Trimmed(ref));
  stored.set_cause(f.cause());
  stored.set_responsibility(f.responsibility());
  stored.set_recorded_by(ctx.actor);
  *stored.mutable_recorded_at() = ToProtoTimestamp(ctx.now);
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideProposeResolution(const v1::Ticket& state,
                                               const v1::ProposeResolutionRequest& request,
                                               const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireTicket(state));
  RETURN_IF_ERROR(ValidateRequiredText("resolution", request.resolution(), kMaxText));
  RETURN_IF_ERROR(
      RequireStatus(state, "ProposeResolution",
                    {v1::TICKET_STATUS_INVESTIGATING, v1::TICKET_STATUS_RESOLUTION_PROPOSED}));
  RETURN_IF_ERROR(RequireNotWaiting(state, "ProposeResolution"));
  v1::TicketEvent event = NewEvent(state);
  v1::ResolutionProposed& proposed = *event.mutable_resolution_proposed();
  proposed.set_resolution(request.resolution());
  if (auto at = FirstResponseAt(state, ctx)) *proposed.mutable_first_response_at() = *at;
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideAnswerResolution(const v1::Ticket& state,
                                              const v1::AnswerResolutionRequest& request,
                                              const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireTicket(state));
  if (request.agreed()) {
    RETURN_IF_ERROR(ValidateText("comment", request.comment(), kMaxText));
  } else {
    RETURN_IF_ERROR(ValidateRequiredText("comment", request.comment(), kMaxText));
  }
  RETURN_IF_ERROR(
      RequireStatus(state, "AnswerResolution", {v1::TICKET_STATUS_RESOLUTION_PROPOSED}));
  RETURN_IF_ERROR(RequireNotWaiting(state, "AnswerResolution"));
  v1::TicketEvent event = NewEvent(state);
  v1::ResolutionAnswered& answered = *event.mutable_resolution_answered();
  answered.set_agreed(request.agreed());
  answered.set_comment(request.comment());
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideResolve(const v1::Ticket& state, const v1::ResolveTicketRequest& request,
                                     const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireTicket(state));
  RETURN_IF_ERROR(ValidateText("summary", request.summary(), kMaxText));
  RETURN_IF_ERROR(RequireStatus(state, "Resolve", {v1::TICKET_STATUS_RESOLUTION_AGREED}));
  RETURN_IF_ERROR(RequireNotWaiting(state, "Resolve"));
  v1::TicketEvent event = NewEvent(state);
  v1::TicketResolved& resolved = *event.mutable_resolved();
  resolved.set_summary(IsBlank(request.summary()) ? state.proposed_resolution()
                                                  : request.summary());
  *resolved.mutable_resolved_at() = ToProtoTimestamp(ctx.now);
  const v1::SlaTimer& resolution = state.sla().resolution();
  resolved.set_on_time(!resolution.has_due_at() ||
                       ctx.now <= FromProtoTimestamp(resolution.due_at()));
  resolved.set_assignee(state.assignee());
  resolved.set_team(state.team());
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideRecordFeedback(const v1::Ticket& state,
                                            const v1::RecordFeedbackRequest& request,
                                            const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireTicket(state));
  if (request.score() < 1 || request.score() > 5) return InvalidField("score", "must be 1..5");
  if (request.satisfied()) {
    RETURN_IF_ERROR(ValidateText("comment", request.comment(), kMaxText));
  } else {
    RETURN_IF_ERROR(ValidateRequiredText("comment", request.comment(), kMaxText));
  }
  RETURN_IF_ERROR(RequireStatus(state, "RecordFeedback", {v1::TICKET_STATUS_RESOLVED}));
  RETURN_IF_ERROR(RequireNotWaiting(state, "RecordFeedback"));

  v1::TicketEvent event = NewEvent(state);
  v1::FeedbackRecorded& recorded = *event.mutable_feedback_recorded();
  v1::Feedback& feedback = *recorded.mutable_feedback();
  feedback.set_satisfied(request.satisfied());
  feedback.set_score(request.score());
  feedback.set_comment(request.comment());
  *feedback.mutable_recorded_at() = ToProtoTimestamp(ctx.now);
  recorded.set_assignee(state.assignee());
  recorded.set_team(state.team());
  if (request.satisfied()) return Events{std::move(event)};

  ASSIGN_OR_RETURN(
      v1::TicketEvent reopened,
      ReopenedEvent(state, "customer not satisfied: " + Trimmed(request.comment()), ctx));
  return Events{std::move(event), std::move(reopened)};
}

absl::StatusOr<Events> DecideClose(const v1::Ticket& state, const v1::CloseTicketRequest& request,
                                   const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireTicket(state));
  RETURN_IF_ERROR(ValidateText("reason", TrimSpace(request.reason()), kMaxName));
  RETURN_IF_ERROR(RequireStatus(state, "Close",
                                {v1::TICKET_STATUS_RESOLVED, v1::TICKET_STATUS_FEEDBACK_RECEIVED}));
  RETURN_IF_ERROR(RequireNotWaiting(state, "Close"));
  v1::TicketEvent event = NewEvent(state);
  event.mutable_closed()->set_reason(Trimmed(request.reason()));
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideReopen(const v1::Ticket& state, const v1::ReopenTicketRequest& request,
                                    const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireTicket(state));
  RETURN_IF_ERROR(ValidateRequiredText("reason", request.reason(), kMaxName));
  RETURN_IF_ERROR(RequireStatus(state, "Reopen",
                                {v1::TICKET_STATUS_RESOLVED, v1::TICKET_STATUS_FEEDBACK_RECEIVED,
                                 v1::TICKET_STATUS_CLOSED}));
  RETURN_IF_ERROR(RequireNotWaiting(state, "Reopen"));
  ASSIGN_OR_RETURN(v1::TicketEvent event, ReopenedEvent(state, Trimmed(request.reason()), ctx));
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideAddComment(const v1::Ticket& state, const v1::AddCommentRequest& request,
                                        const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireTicket(state));
  RETURN_IF_ERROR(ValidateRequiredText("text", request.text(), kMaxText));
  if (state.comments_size() >= kMaxComments) {
    return RefusedField("comments", "ticket already has " + std::to_string(kMaxComments) +
                                        " comments, the most allowed");
  }
  v1::TicketEvent event = NewEvent(state);
  v1::CommentAdded& added = *event.mutable_comment_added();
  v1::Comment& comment = *added.mutable_comment();
  comment.set_comment_id("c" + std::to_string(state.comments_size() + 1));
  comment.set_author(ctx.actor);
  comment.set_text(request.text());
  comment.set_customer_visible(request.customer_visible());
  *comment.mutable_created_at() = ToProtoTimestamp(ctx.now);
  if (request.customer_visible()) {
    if (auto at = FirstResponseAt(state, ctx)) *added.mutable_first_response_at() = *at;
  }
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideSetWaiting(const v1::Ticket& state,
                                        const v1::SetWaitingOnCustomerRequest& request,
                                        const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireTicket(state));
  RETURN_IF_ERROR(ValidateText("reason", TrimSpace(request.reason()), kMaxName));
  if (request.waiting()) {
    RETURN_IF_ERROR(RequireStatus(state, "SetWaiting", kOpenStatuses));
    if (state.waiting_on_customer()) {
      return RefusedField("waiting_on_customer", "already waiting on the customer");
    }
  } else if (!state.waiting_on_customer()) {
    return RefusedField("waiting_on_customer", "not waiting on the customer");
  }
  // The pauses since the clocks started, with the new one opened or the open
  // one closed at ctx.now; tier and clock start stay the ticket's.
  std::vector<sla::Interval> pauses = PausesOf(state);
  v1::TicketEvent event = NewEvent(state);
  if (request.waiting()) {
    pauses.push_back({ctx.now, absl::InfiniteFuture()});
    ASSIGN_OR_RETURN(v1::Sla sla, ComputeSla(state, ctx, state.sla().tier(), ClockStart(state),
                                             std::move(pauses), &state.sla()));
    v1::WaitingOnCustomer& waiting = *event.mutable_waiting_on_customer();
    waiting.set_reason(Trimmed(request.reason()));
    *waiting.mutable_sla() = std::move(sla);
  } else {
    for (sla::Interval& pause : pauses) {
      if (pause.to == absl::InfiniteFuture()) pause.to = std::max(ctx.now, pause.from);
    }
    ASSIGN_OR_RETURN(v1::Sla sla, ComputeSla(state, ctx, state.sla().tier(), ClockStart(state),
                                             std::move(pauses), &state.sla()));
    v1::CustomerResponded& responded = *event.mutable_customer_responded();
    responded.set_note(Trimmed(request.reason()));
    *responded.mutable_sla() = std::move(sla);
  }
  return Events{std::move(event)};
}

// ---------------------------------------------------------------------------
// Decided by the service

absl::StatusOr<Events> DecideRecomputeSla(const v1::Ticket& state, std::string_view reason,
                                          const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireTicket(state));
  RETURN_IF_ERROR(ValidateRequiredText("reason", reason, kMaxName));
  if (!IsOpen(state.status())) return Events{};
  ASSIGN_OR_RETURN(v1::Sla sla, ComputeSla(state, ctx, ctx.tier, ClockStart(state),
                                           PausesOf(state), &state.sla()));
  if (google::protobuf::util::MessageDifferencer::Equals(sla, state.sla())) return Events{};
  v1::TicketEvent event = NewEvent(state);
  v1::SlaRecomputed& recomputed = *event.mutable_sla_recomputed();
  recomputed.set_reason(Trimmed(reason));
  *recomputed.mutable_sla() = std::move(sla);
  *recomputed.mutable_previous() = state.sla();
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideSlaCheck(const v1::Ticket& state, const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireTicket(state));
  if (!IsOpen(state.status())) return Events{};
  const std::vector<sla::DueAction> actions = sla::DueActions(state.sla(), ctx.now);
  Events events;
  const Timestamp now = ToProtoTimestamp(ctx.now);
  for (const sla::DueAction& action : actions) {
    if (action.kind == sla::DueAction::Kind::kWarn) {
      v1::TicketEvent event = NewEvent(state);
      v1::SlaWarning& warning = *event.mutable_sla_warning();
      warning.set_target(action.target);
      *warning.mutable_due_at() = ToProtoTimestamp(action.due_at);
      *warning.mutable_detected_at() = now;
      events.push_back(std::move(event));
      continue;
    }
    RETURN_IF_ERROR(RequireEngine(ctx));
    v1::TicketEvent breach = NewEvent(state);
    v1::SlaBreached& breached = *breach.mutable_sla_breached();
    breached.set_target(action.target);
    *breached.mutable_due_at() = ToProtoTimestamp(action.due_at);
    *breached.mutable_detected_at() = now;
    breached.set_assignee(state.assignee());
    breached.set_team(state.team());
    events.push_back(std::move(breach));

    const auto [to, to_queue] = ctx.sla->EscalationFor(state.sla(), state.assignee());
    v1::TicketEvent escalate = NewEvent(state);
    v1::Escalation& escalation = *escalate.mutable_escalated()->mutable_escalation();
    escalation.set_target(action.target);
    escalation.set_to(to);
    escalation.set_to_queue(to_queue);
    escalation.set_reason(TargetName(action.target) + " target breached");
    *escalation.mutable_escalated_at() = now;
    events.push_back(std::move(escalate));
  }
  return events;
}

// ---------------------------------------------------------------------------
// Folding

void Apply(v1::Ticket& state, const v1::TicketEvent& event, const EventMeta& meta) {
  const Timestamp occurred_at = ToProtoTimestamp(meta.occurred_at);
  switch (event.kind_case()) {
    case v1::TicketEvent::kOpened: {
      if (state.status() != v1::TICKET_STATUS_UNSPECIFIED) break;  // one per stream
      const v1::TicketOpened& e = event.opened();
      state.set_ticket_id(event.ticket_id());
      state.set_customer_id(event.customer_id());
      state.set_type(e.type());
      state.set_channel(e.channel());
      state.set_priority(e.priority());
      state.set_status(v1::TICKET_STATUS_OPENED);
      state.set_subject(e.subject());
      state.set_description(e.description());
      state.set_owner(e.owner());
      state.set_region(e.region());
      *state.mutable_sla() = e.sla();
      *state.mutable_promised_by() = e.promised_by();
      state.set_opened_by(meta.actor);
      *state.mutable_opened_at() = occurred_at;
      break;
    }
    case v1::TicketEvent::kAssigned: {
      const v1::TicketAssigned& e = event.assigned();
      state.set_assignee(e.to_assignee());
      state.set_team(e.team());
      if (state.status() == v1::TICKET_STATUS_OPENED ||
          state.status() == v1::TICKET_STATUS_REOPENED) {
        state.set_status(v1::TICKET_STATUS_ASSIGNED);
      }
      break;
    }
    case v1::TicketEvent::kInvestigationStarted: {
      const v1::InvestigationStarted& e = event.investigation_started();
      state.set_status(v1::TICKET_STATUS_INVESTIGATING);
      MarkFirstResponse(state, e.has_first_response_at(), e.first_response_at());
      break;
    }
    case v1::TicketEvent::kFindingsRecorded:
      *state.add_findings() = event.findings_recorded().findings();
      break;
    case v1::TicketEvent::kResolutionProposed: {
      const v1::ResolutionProposed& e = event.resolution_proposed();
      state.set_status(v1::TICKET_STATUS_RESOLUTION_PROPOSED);
      state.set_proposed_resolution(e.resolution());
      MarkFirstResponse(state, e.has_first_response_at(), e.first_response_at());
      break;
    }
    case v1::TicketEvent::kResolutionAnswered:
      state.set_status(event.resolution_answered().agreed() ? v1::TICKET_STATUS_RESOLUTION_AGREED
                                                            : v1::TICKET_STATUS_INVESTIGATING);
      break;
    case v1::TicketEvent::kResolved: {
      const v1::TicketResolved& e = event.resolved();
      state.set_status(v1::TICKET_STATUS_RESOLVED);
      state.set_resolution_summary(e.summary());
      *state.mutable_resolved_at() = e.resolved_at();
      state.set_resolved_on_time(e.on_time());
      *state.mutable_sla()->mutable_resolution()->mutable_met_at() = e.resolved_at();
      break;
    }
    case v1::TicketEvent::kFeedbackRecorded: {
      const v1::Feedback& feedback = event.feedback_recorded().feedback();
      *state.mutable_feedback() = feedback;
      // Not satisfied: the TicketReopened that follows moves the status.
      if (feedback.satisfied()) state.set_status(v1::TICKET_STATUS_FEEDBACK_RECEIVED);
      break;
    }
    case v1::TicketEvent::kClosed:
      state.set_status(v1::TICKET_STATUS_CLOSED);
      *state.mutable_closed_at() = occurred_at;
      break;
    case v1::TicketEvent::kReopened: {
      const v1::TicketReopened& e = event.reopened();
      state.set_status(v1::TICKET_STATUS_REOPENED);
      state.set_reopen_count(state.reopen_count() + 1);
      *state.mutable_sla() = e.sla();
      *state.mutable_promised_by() = e.promised_by();
      state.clear_resolved_at();
      state.clear_resolved_on_time();
      state.clear_closed_at();
      state.set_waiting_on_customer(false);
      // Kept: assignee, team, findings, proposed_resolution, resolution_summary,
      // feedback, comments, pauses and escalations (history).
      break;
    }
    case v1::TicketEvent::kCommentAdded: {
      const v1::CommentAdded& e = event.comment_added();
      *state.add_comments() = e.comment();
      MarkFirstResponse(state, e.has_first_response_at(), e.first_response_at());
      break;
    }
    case v1::TicketEvent::kWaitingOnCustomer: {
      const v1::WaitingOnCustomer& e = event.waiting_on_customer();
      v1::Pause& pause = *state.add_pauses();
      *pause.mutable_from() = occurred_at;
      pause.set_reason(e.reason());
      state.set_waiting_on_customer(true);
      *state.mutable_sla() = e.sla();
      break;
    }
    case v1::TicketEvent::kCustomerResponded: {
      for (v1::Pause& pause : *state.mutable_pauses()) {
        if (!pause.has_to()) *pause.mutable_to() = occurred_at;
      }
      state.set_waiting_on_customer(false);
      *state.mutable_sla() = event.customer_responded().sla();
      break;
    }
    case v1::TicketEvent::kSlaRecomputed:
      *state.mutable_sla() = event.sla_recomputed().sla();
      break;
    case v1::TicketEvent::kSlaWarning:
      if (v1::SlaTimer* timer = TimerOf(*state.mutable_sla(), event.sla_warning().target())) {
        timer->set_warned(true);
      }
      break;
    case v1::TicketEvent::kSlaBreached:
      if (v1::SlaTimer* timer = TimerOf(*state.mutable_sla(), event.sla_breached().target())) {
        timer->set_breached(true);
      }
      break;
    case v1::TicketEvent::kEscalated: {
      const v1::Escalation& escalation = event.escalated().escalation();
      if (v1::SlaTimer* timer = TimerOf(*state.mutable_sla(), escalation.target())) {
        timer->set_escalated(true);
      }
      *state.add_escalations() = escalation;
      break;
    }
    case v1::TicketEvent::kSlaConfigChanged:  // not a ticket's event
    case v1::TicketEvent::KIND_NOT_SET:
      break;
  }
  state.set_version(meta.version);
  *state.mutable_updated_at() = occurred_at;
}

std::string EventType(const v1::TicketEvent& event) {
  const google::protobuf::OneofDescriptor* kind =
      v1::TicketEvent::descriptor()->FindOneofByName("kind");
  const google::protobuf::FieldDescriptor* field =
      event.GetReflection()->GetOneofFieldDescriptor(event, kind);
  if (field == nullptr || field->message_type() == nullptr) return "";
  return field->message_type()->full_name();
}

std::string TypeName(v1::TicketType type) {
  return ShortName(v1::TicketType_Name(type), "TICKET_TYPE_", type);
}

std::string StatusName(v1::TicketStatus status) {
  return ShortName(v1::TicketStatus_Name(status), "TICKET_STATUS_", status);
}

bool IsOpen(v1::TicketStatus status) {
  return std::find(kOpenStatuses.begin(), kOpenStatuses.end(), status) != kOpenStatuses.end();
}

std::vector<sla::Interval> PausesOf(const v1::Ticket& state) {
  const absl::Time start = state.sla().has_clock_started_at() ? ClockStart(state)
                                                              : absl::InfinitePast();
  std::vector<sla::Interval> pauses;
  for (const v1::Pause& pause : state.pauses()) {
    const absl::Time from = FromProtoTimestamp(pause.from());
    const absl::Time to = pause.has_to() ? FromProtoTimestamp(pause.to()) : absl::InfiniteFuture();
    if (to <= start) continue;  // before the clocks (re)started
    pauses.push_back({std::max(from, start), to});
  }
  return pauses;
}

}  // namespace crm::ticket
