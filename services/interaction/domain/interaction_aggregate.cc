#include "crm/common/field_errors.h"
#include "crm/interaction/domain/interaction_aggregate.h"

#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/common/text.h"
#include "crm/domain/validation.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/timestamp.pb.h"

namespace crm::interaction {
namespace {

using ::crm::domain::kMaxIdLength;
using ::crm::domain::kMaxNameLength;
using ::crm::domain::kMaxTextLength;
using ::crm::domain::Presence;
using ::crm::domain::ShortName;
using ::crm::domain::ValidateCount;
using ::crm::domain::ValidateEnum;
using ::crm::domain::ValidateRequiredText;
using ::crm::domain::ValidateText;
using ::crm::domain::ValidateTimestamp;
using ::google::protobuf::RepeatedPtrField;
using ::google::protobuf::Timestamp;

// ---------------------------------------------------------------------------
// Small helpers

std::string Name(v1::VisitStatus v) {
  return ShortName(v1::VisitStatus_Name(v), "VISIT_STATUS_", v);
}
std::string Name(v1::RevisitStatus v) {
  return ShortName(v1::RevisitStatus_Name(v), "REVISIT_STATUS_", v);
}
std::string Name(v1::CareStatus v) { return ShortName(v1::CareStatus_Name(v), "CARE_STATUS_", v); }

std::string FormatUtc(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

// --- Validators of this aggregate (the shared ones: crm/domain/validation.h) --

// A score on the 1..5 scale (0, "not given", is refused too).
absl::Status ValidateScore(std::string_view field, int32_t score) {
  if (score < 1 || score > 5) return InvalidField(field, "must be 1..5");
  return absl::OkStatus();
}

// A repeated text field: at most kMaxListItems items, each non-blank and at most
// `max_chars` characters (trimmed); with `unique`, no item repeats another
// (after trimming).
absl::Status ValidateTextList(std::string_view field, const RepeatedPtrField<std::string>& items,
                              size_t max_chars, bool unique) {
  RETURN_IF_ERROR(ValidateCount(field, items.size(), kMaxListItems));
  std::map<std::string, int> first_index;
  for (int i = 0; i < items.size(); ++i) {
    const std::string item_field = Indexed(field, i);
    RETURN_IF_ERROR(ValidateRequiredText(item_field, items[i], max_chars));
    if (!unique) continue;
    const auto [it, inserted] = first_index.emplace(Trimmed(items[i]), i);
    if (!inserted) return InvalidField(item_field, "repeats " + Indexed(field, it->second));
  }
  return absl::OkStatus();
}

void TrimList(RepeatedPtrField<std::string>& items) {
  for (std::string& item : items) item = Trimmed(item);
}

// A required point in time.
absl::StatusOr<absl::Time> RequiredTime(std::string_view field, bool has, const Timestamp& ts) {
  if (!has) return InvalidField(field, "required");
  RETURN_IF_ERROR(ValidateTimestamp(field, ts));
  return FromProtoTimestamp(ts);
}

// When something happened: `ts` when set (valid, not after now + kClockSkew),
// otherwise `now`.
absl::StatusOr<Timestamp> HappenedAt(std::string_view field, bool has, const Timestamp& ts,
                                     absl::Time now) {
  if (!has) return ToProtoTimestamp(now);
  RETURN_IF_ERROR(ValidateTimestamp(field, ts));
  if (FromProtoTimestamp(ts) > now + kClockSkew) return InvalidField(field, "in the future");
  return ts;
}

// --- State checks ---------------------------------------------------------------

absl::Status RequireInteraction(const v1::Interaction& state) {
  if (state.version() == 0) return absl::NotFoundError("interaction not found");
  return absl::OkStatus();
}

absl::Status RequireType(const v1::Interaction& state, v1::InteractionType type) {
  if (state.type() == type) return absl::OkStatus();
  return RefusedField("type", "interaction " + state.interaction_id() + " is a " +
                             TypeName(state.type()) + ", not a " + TypeName(type));
}

absl::Status RequirePlannedVisit(const v1::Interaction& state) {
  RETURN_IF_ERROR(RequireType(state, v1::INTERACTION_TYPE_VISIT));
  switch (const v1::VisitStatus status = state.visit().status()) {
    case v1::VISIT_STATUS_PLANNED:
      return absl::OkStatus();
    case v1::VISIT_STATUS_CANCELLED:
      return RefusedField("visit.status", "visit was cancelled");
    case v1::VISIT_STATUS_COMPLETED:
      return RefusedField("visit.status", "visit already COMPLETED");
    default:
      return RefusedField("visit.status", "visit is " + Name(status) + ", not PLANNED");
  }
}

absl::Status RequirePlannedRevisit(const v1::Interaction& state) {
  RETURN_IF_ERROR(RequireType(state, v1::INTERACTION_TYPE_REVISIT));
  switch (const v1::RevisitStatus status = state.revisit().status()) {
    case v1::REVISIT_STATUS_PLANNED:
      return absl::OkStatus();
    case v1::REVISIT_STATUS_COMPLETED:
      return RefusedField("revisit.status", "revisit already COMPLETED");
    case v1::REVISIT_STATUS_REPLANNED:
      return RefusedField("revisit.status",
                     "revisit was REPLANNED (replaced by " + state.revisit().replaced_by() + ")");
    default:
      return RefusedField("revisit.status", "revisit is " + Name(status) + ", not PLANNED");
  }
}

absl::Status RequireCareIn(const v1::Interaction& state, v1::CareStatus wanted) {
  RETURN_IF_ERROR(RequireType(state, v1::INTERACTION_TYPE_CARE));
  const v1::CareStatus status = state.care().status();
  if (status == wanted) return absl::OkStatus();
  if (status == v1::CARE_STATUS_PLANNED) {
    return RefusedField("care.status", "care is PLANNED, not yet " + Name(wanted));
  }
  if (status > wanted && status <= v1::CARE_STATUS_EVALUATED) {
    return RefusedField("care.status", "care already " + Name(status));
  }
  return RefusedField("care.status", "care is " + Name(status) + ", not " + Name(wanted));
}

// --- Events ---------------------------------------------------------------------

absl::Status CheckNewStream(std::string_view interaction_id, const CustomerRef& customer) {
  if (interaction_id.empty()) return InvalidField("interaction_id", "required");
  if (customer.customer_id.empty()) return InvalidField("customer_id", "required");
  return absl::OkStatus();
}

v1::InteractionEvent NewEvent(std::string_view interaction_id, std::string_view customer_id) {
  v1::InteractionEvent event;
  event.set_interaction_id(std::string(interaction_id));
  event.set_customer_id(std::string(customer_id));
  return event;
}

v1::InteractionEvent NewEvent(const v1::Interaction& state) {
  return NewEvent(state.interaction_id(), state.customer_id());
}

template <typename Created>
void SetScope(Created& created, const CustomerRef& customer) {
  created.set_owner(customer.owner);
  created.set_region(customer.region);
}

}  // namespace

// ---------------------------------------------------------------------------
// Creating commands

absl::StatusOr<Events> DecidePlanVisit(const v1::PlanVisitRequest& request,
                                       std::string_view interaction_id,
                                       const CustomerRef& customer, const DecideContext& ctx) {
  RETURN_IF_ERROR(CheckNewStream(interaction_id, customer));
  const v1::VisitPlan& plan = request.plan();
  RETURN_IF_ERROR(ValidateRequiredText("plan.purpose", plan.purpose()));
  ASSIGN_OR_RETURN(const absl::Time scheduled_at,
                   RequiredTime("plan.scheduled_at", plan.has_scheduled_at(), plan.scheduled_at()));
  if (scheduled_at < ctx.now - kPlanGrace) return InvalidField("plan.scheduled_at", "in the past");
  if (plan.visitors().empty()) return InvalidField("plan.visitors", "at least one visitor required");
  RETURN_IF_ERROR(ValidateTextList("plan.visitors", plan.visitors(), kMaxIdLength, true));
  RETURN_IF_ERROR(ValidateText("plan.agenda", plan.agenda()));
  RETURN_IF_ERROR(ValidateTextList("plan.materials", plan.materials(), kMaxTextLength, false));

  v1::InteractionEvent event = NewEvent(interaction_id, customer.customer_id);
  v1::VisitPlanned& planned = *event.mutable_visit_planned();
  v1::VisitPlan& stored = *planned.mutable_plan();
  stored = plan;
  stored.set_purpose(Trimmed(plan.purpose()));
  TrimList(*stored.mutable_visitors());
  TrimList(*stored.mutable_materials());
  SetScope(planned, customer);
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideLogFollowUp(const v1::LogFollowUpRequest& request,
                                         std::string_view interaction_id,
                                         const CustomerRef& customer, const DecideContext& ctx) {
  RETURN_IF_ERROR(CheckNewStream(interaction_id, customer));
  const v1::FollowUp& f = request.follow_up();
  RETURN_IF_ERROR(
      ValidateEnum("follow_up.channel", f.channel(), v1::Channel_IsValid, Presence::kRequired));
  RETURN_IF_ERROR(ValidateRequiredText("follow_up.content", f.content()));
  RETURN_IF_ERROR(ValidateText("follow_up.customer_feedback", f.customer_feedback()));
  RETURN_IF_ERROR(
      ValidateTextList("follow_up.problems_solved", f.problems_solved(), kMaxTextLength, false));
  RETURN_IF_ERROR(ValidateText("follow_up.performed_by", f.performed_by(), kMaxIdLength));
  ASSIGN_OR_RETURN(
      Timestamp performed_at,
      HappenedAt("follow_up.performed_at", f.has_performed_at(), f.performed_at(), ctx.now));

  v1::InteractionEvent event = NewEvent(interaction_id, customer.customer_id);
  v1::FollowUpLogged& logged = *event.mutable_follow_up_logged();
  v1::FollowUp& stored = *logged.mutable_follow_up();
  stored = f;
  TrimList(*stored.mutable_problems_solved());
  stored.set_performed_by(IsBlank(f.performed_by()) ? ctx.actor : Trimmed(f.performed_by()));
  *stored.mutable_performed_at() = std::move(performed_at);
  SetScope(logged, customer);
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecidePlanCare(const v1::PlanCareRequest& request,
                                      std::string_view interaction_id, const CustomerRef& customer,
                                      const DecideContext& ctx) {
  RETURN_IF_ERROR(CheckNewStream(interaction_id, customer));
  const v1::Care& c = request.care();
  RETURN_IF_ERROR(ValidateEnum("care.kind", c.kind(), v1::CareKind_IsValid, Presence::kRequired));
  RETURN_IF_ERROR(ValidateRequiredText("care.title", c.title(), kMaxNameLength));
  ASSIGN_OR_RETURN(const absl::Time planned_for,
                   RequiredTime("care.planned_for", c.has_planned_for(), c.planned_for()));
  if (planned_for < ctx.now - kPlanGrace) return InvalidField("care.planned_for", "in the past");
  RETURN_IF_ERROR(ValidateText("care.contact_id", c.contact_id(), kMaxIdLength));
  if (c.kind() == v1::CARE_KIND_BIRTHDAY_WISH && IsBlank(c.contact_id())) {
    return InvalidField("care.contact_id", "required for a birthday wish");
  }

  v1::InteractionEvent event = NewEvent(interaction_id, customer.customer_id);
  v1::CarePlanned& planned = *event.mutable_care_planned();
  v1::Care& stored = *planned.mutable_care();
  stored.set_kind(c.kind());
  stored.set_title(Trimmed(c.title()));
  *stored.mutable_planned_for() = c.planned_for();
  stored.set_contact_id(Trimmed(c.contact_id()));
  stored.set_status(v1::CARE_STATUS_PLANNED);
  SetScope(planned, customer);
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideRecordSatisfaction(const v1::RecordSatisfactionRequest& request,
                                                std::string_view interaction_id,
                                                const CustomerRef& customer,
                                                const DecideContext& ctx) {
  RETURN_IF_ERROR(CheckNewStream(interaction_id, customer));
  const v1::Survey& s = request.survey();
  RETURN_IF_ERROR(ValidateScore("survey.score", s.score()));
  RETURN_IF_ERROR(ValidateText("survey.comment", s.comment()));
  ASSIGN_OR_RETURN(Timestamp surveyed_at,
                   HappenedAt("survey.surveyed_at", s.has_surveyed_at(), s.surveyed_at(), ctx.now));

  v1::InteractionEvent event = NewEvent(interaction_id, customer.customer_id);
  v1::SatisfactionRecorded& recorded = *event.mutable_satisfaction_recorded();
  v1::Survey& stored = *recorded.mutable_survey();
  stored.set_score(s.score());
  stored.set_comment(s.comment());
  *stored.mutable_surveyed_at() = std::move(surveyed_at);
  SetScope(recorded, customer);
  return Events{std::move(event)};
}

// ---------------------------------------------------------------------------
// Commands on an existing interaction

absl::StatusOr<Events> DecideRescheduleVisit(const v1::Interaction& state,
                                             const v1::RescheduleVisitRequest& request,
                                             const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireInteraction(state));
  ASSIGN_OR_RETURN(const absl::Time to, RequiredTime("scheduled_at", request.has_scheduled_at(),
                                                     request.scheduled_at()));
  if (to < ctx.now - kClockSkew) return InvalidField("scheduled_at", "in the past");
  RETURN_IF_ERROR(ValidateText("reason", request.reason()));
  RETURN_IF_ERROR(RequirePlannedVisit(state));
  const Timestamp& from = state.visit().plan().scheduled_at();
  if (FromProtoTimestamp(from) == to) {
    return RefusedField("scheduled_at", "already scheduled at " + FormatUtc(to));
  }
  v1::InteractionEvent event = NewEvent(state);
  v1::VisitRescheduled& rescheduled = *event.mutable_visit_rescheduled();
  *rescheduled.mutable_from() = from;
  *rescheduled.mutable_to() = request.scheduled_at();
  rescheduled.set_reason(request.reason());
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideCancelVisit(const v1::Interaction& state,
                                         const v1::CancelVisitRequest& request,
                                         const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireInteraction(state));
  RETURN_IF_ERROR(ValidateRequiredText("reason", request.reason()));
  RETURN_IF_ERROR(RequirePlannedVisit(state));
  v1::InteractionEvent event = NewEvent(state);
  event.mutable_visit_cancelled()->set_reason(request.reason());
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideRecordVisit(const v1::Interaction& state,
                                         const v1::RecordVisitRequest& request,
                                         const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireInteraction(state));
  const v1::VisitRecord& r = request.record();
  RETURN_IF_ERROR(ValidateRequiredText("record.summary", r.summary()));
  RETURN_IF_ERROR(ValidateText("record.customer_feedback", r.customer_feedback()));
  RETURN_IF_ERROR(ValidateEnum("record.cooperation_intent", r.cooperation_intent(),
                               v1::CooperationIntent_IsValid, Presence::kOptional));
  RETURN_IF_ERROR(ValidateText("record.next_steps", r.next_steps()));
  ASSIGN_OR_RETURN(Timestamp visited_at,
                   HappenedAt("record.visited_at", r.has_visited_at(), r.visited_at(), ctx.now));
  RETURN_IF_ERROR(RequirePlannedVisit(state));
  v1::InteractionEvent event = NewEvent(state);
  v1::VisitRecord& stored = *event.mutable_visit_recorded()->mutable_record();
  stored = r;
  *stored.mutable_visited_at() = std::move(visited_at);
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideRecordRevisit(const v1::Interaction& state,
                                           const v1::RecordRevisitRequest& request,
                                           const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireInteraction(state));
  const v1::RevisitRecord& r = request.record();
  RETURN_IF_ERROR(ValidateText("record.progress", r.progress()));
  RETURN_IF_ERROR(ValidateScore("record.satisfaction", r.satisfaction()));
  RETURN_IF_ERROR(ValidateText("record.changed_needs", r.changed_needs()));
  RETURN_IF_ERROR(ValidateCount("record.findings", r.findings_size(), kMaxListItems));
  for (int i = 0; i < r.findings_size(); ++i) {
    const std::string field = Indexed("record.findings", i);
    RETURN_IF_ERROR(
        ValidateRequiredText(field + ".department", r.findings(i).department(), kMaxNameLength));
    RETURN_IF_ERROR(ValidateRequiredText(field + ".description", r.findings(i).description()));
  }
  ASSIGN_OR_RETURN(Timestamp performed_at, HappenedAt("record.performed_at", r.has_performed_at(),
                                                      r.performed_at(), ctx.now));
  RETURN_IF_ERROR(RequirePlannedRevisit(state));
  v1::InteractionEvent event = NewEvent(state);
  v1::RevisitRecord& stored = *event.mutable_revisit_completed()->mutable_record();
  stored = r;
  for (v1::Finding& finding : *stored.mutable_findings()) {
    finding.set_department(Trimmed(finding.department()));
  }
  *stored.mutable_performed_at() = std::move(performed_at);
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideCompleteCare(const v1::Interaction& state,
                                          const v1::CompleteCareRequest& request,
                                          const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireInteraction(state));
  ASSIGN_OR_RETURN(Timestamp done_at,
                   HappenedAt("done_at", request.has_done_at(), request.done_at(), ctx.now));
  RETURN_IF_ERROR(ValidateText("outcome", request.outcome()));
  RETURN_IF_ERROR(RequireCareIn(state, v1::CARE_STATUS_PLANNED));
  v1::InteractionEvent event = NewEvent(state);
  v1::CareDone& done = *event.mutable_care_done();
  *done.mutable_done_at() = std::move(done_at);
  done.set_outcome(request.outcome());
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideEvaluateCare(const v1::Interaction& state,
                                          const v1::EvaluateCareRequest& request,
                                          const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireInteraction(state));
  RETURN_IF_ERROR(ValidateScore("evaluation_score", request.evaluation_score()));
  RETURN_IF_ERROR(ValidateText("evaluation", request.evaluation()));
  RETURN_IF_ERROR(RequireCareIn(state, v1::CARE_STATUS_DONE));
  v1::InteractionEvent event = NewEvent(state);
  v1::CareEvaluated& evaluated = *event.mutable_care_evaluated();
  evaluated.set_evaluation_score(request.evaluation_score());
  evaluated.set_evaluation(request.evaluation());
  return Events{std::move(event)};
}

// ---------------------------------------------------------------------------
// Revisits

absl::StatusOr<Events> DecideScheduleRevisit(std::string_view interaction_id,
                                             const CustomerRef& customer, absl::Time due_at,
                                             const Cadence& cadence, const DecideContext& ctx) {
  RETURN_IF_ERROR(CheckNewStream(interaction_id, customer));
  if (cadence.days < kMinCadenceDays || cadence.days > kMaxCadenceDays) {
    return InvalidField("cadence.days", "must be in " + std::to_string(kMinCadenceDays) + ".." +
                                       std::to_string(kMaxCadenceDays));
  }
  RETURN_IF_ERROR(ValidateText("cadence.cadence_class", cadence.cadence_class, kMaxIdLength));
  const Timestamp due = ToProtoTimestamp(due_at);
  RETURN_IF_ERROR(ValidateTimestamp("due_at", due));

  v1::InteractionEvent event = NewEvent(interaction_id, customer.customer_id);
  v1::RevisitScheduled& scheduled = *event.mutable_revisit_scheduled();
  *scheduled.mutable_due_at() = due;
  scheduled.set_cadence_class(cadence.cadence_class);
  scheduled.set_cadence_days(cadence.days);
  SetScope(scheduled, customer);
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideReplanRevisit(const v1::Interaction& open_revisit,
                                           std::string_view replaced_by, std::string_view new_class,
                                           const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireInteraction(open_revisit));
  if (IsBlank(replaced_by)) return InvalidField("replaced_by", "required");
  RETURN_IF_ERROR(ValidateText("replaced_by", replaced_by, kMaxIdLength));
  if (replaced_by == open_revisit.interaction_id()) {
    return InvalidField("replaced_by", "must not be the revisit itself");
  }
  RETURN_IF_ERROR(ValidateText("new_class", new_class, kMaxIdLength));
  RETURN_IF_ERROR(RequirePlannedRevisit(open_revisit));
  v1::InteractionEvent event = NewEvent(open_revisit);
  v1::RevisitReplanned& replanned = *event.mutable_revisit_replanned();
  replanned.set_replaced_by(std::string(replaced_by));
  replanned.set_new_class(std::string(new_class));
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideReportOverdue(const v1::Interaction& revisit,
                                           const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireInteraction(revisit));
  RETURN_IF_ERROR(RequireType(revisit, v1::INTERACTION_TYPE_REVISIT));
  const v1::Revisit& r = revisit.revisit();
  if (r.status() != v1::REVISIT_STATUS_PLANNED || r.overdue_reported()) return Events{};
  if (ctx.now <= FromProtoTimestamp(r.due_at())) return Events{};
  v1::InteractionEvent event = NewEvent(revisit);
  v1::RevisitOverdue& overdue = *event.mutable_revisit_overdue();
  *overdue.mutable_due_at() = r.due_at();
  *overdue.mutable_detected_at() = ToProtoTimestamp(ctx.now);
  return Events{std::move(event)};
}

// ---------------------------------------------------------------------------
// Folding

namespace {

// Starts the interaction from its creating event. False (nothing changed) when
// the state already has a type: a stream has one creating event.
template <typename Created>
bool Create(v1::Interaction& state, const v1::InteractionEvent& event, v1::InteractionType type,
            const Created& created, const EventMeta& meta) {
  if (state.type() != v1::INTERACTION_TYPE_UNSPECIFIED) return false;
  state.set_interaction_id(event.interaction_id());
  state.set_customer_id(event.customer_id());
  state.set_type(type);
  state.set_owner(created.owner());
  state.set_region(created.region());
  state.set_created_by(meta.actor);
  *state.mutable_created_at() = ToProtoTimestamp(meta.occurred_at);
  return true;
}

}  // namespace

void Apply(v1::Interaction& state, const v1::InteractionEvent& event, const EventMeta& meta) {
  const v1::InteractionType type = state.type();
  switch (event.kind_case()) {
    case v1::InteractionEvent::kVisitPlanned: {
      const v1::VisitPlanned& e = event.visit_planned();
      if (!Create(state, event, v1::INTERACTION_TYPE_VISIT, e, meta)) break;
      *state.mutable_visit()->mutable_plan() = e.plan();
      state.mutable_visit()->set_status(v1::VISIT_STATUS_PLANNED);
      *state.mutable_occurs_at() = e.plan().scheduled_at();
      break;
    }
    case v1::InteractionEvent::kVisitRescheduled: {
      if (type != v1::INTERACTION_TYPE_VISIT) break;
      const v1::VisitRescheduled& e = event.visit_rescheduled();
      *state.mutable_visit()->mutable_plan()->mutable_scheduled_at() = e.to();
      *state.mutable_occurs_at() = e.to();
      break;
    }
    case v1::InteractionEvent::kVisitCancelled: {
      if (type != v1::INTERACTION_TYPE_VISIT) break;
      state.mutable_visit()->set_status(v1::VISIT_STATUS_CANCELLED);
      state.mutable_visit()->set_cancel_reason(event.visit_cancelled().reason());
      break;
    }
    case v1::InteractionEvent::kVisitRecorded: {
      if (type != v1::INTERACTION_TYPE_VISIT) break;
      const v1::VisitRecord& record = event.visit_recorded().record();
      state.mutable_visit()->set_status(v1::VISIT_STATUS_COMPLETED);
      *state.mutable_visit()->mutable_record() = record;
      if (record.has_visited_at()) *state.mutable_occurs_at() = record.visited_at();
      break;
    }
    case v1::InteractionEvent::kFollowUpLogged: {
      const v1::FollowUpLogged& e = event.follow_up_logged();
      if (!Create(state, event, v1::INTERACTION_TYPE_FOLLOW_UP, e, meta)) break;
      *state.mutable_follow_up() = e.follow_up();
      *state.mutable_occurs_at() = e.follow_up().performed_at();
      break;
    }
    case v1::InteractionEvent::kRevisitScheduled: {
      const v1::RevisitScheduled& e = event.revisit_scheduled();
      if (!Create(state, event, v1::INTERACTION_TYPE_REVISIT, e, meta)) break;
      v1::Revisit& revisit = *state.mutable_revisit();
      *revisit.mutable_due_at() = e.due_at();
      revisit.set_status(v1::REVISIT_STATUS_PLANNED);
      revisit.set_cadence_class(e.cadence_class());
      revisit.set_cadence_days(e.cadence_days());
      *state.mutable_occurs_at() = e.due_at();
      break;
    }
    case v1::InteractionEvent::kRevisitReplanned: {
      if (type != v1::INTERACTION_TYPE_REVISIT) break;
      state.mutable_revisit()->set_status(v1::REVISIT_STATUS_REPLANNED);
      state.mutable_revisit()->set_replaced_by(event.revisit_replanned().replaced_by());
      break;
    }
    case v1::InteractionEvent::kRevisitCompleted: {
      if (type != v1::INTERACTION_TYPE_REVISIT) break;
      const v1::RevisitRecord& record = event.revisit_completed().record();
      state.mutable_revisit()->set_status(v1::REVISIT_STATUS_COMPLETED);
      *state.mutable_revisit()->mutable_record() = record;
      if (record.has_performed_at()) *state.mutable_occurs_at() = record.performed_at();
      break;
    }
    case v1::InteractionEvent::kRevisitOverdue: {
      if (type != v1::INTERACTION_TYPE_REVISIT) break;
      state.mutable_revisit()->set_overdue_reported(true);
      break;
    }
    case v1::InteractionEvent::kCarePlanned: {
      const v1::CarePlanned& e = event.care_planned();
      if (!Create(state, event, v1::INTERACTION_TYPE_CARE, e, meta)) break;
      v1::Care& care = *state.mutable_care();
      care = e.care();
      care.set_status(v1::CARE_STATUS_PLANNED);
      *state.mutable_occurs_at() = e.care().planned_for();
      break;
    }
    case v1::InteractionEvent::kCareDone: {
      if (type != v1::INTERACTION_TYPE_CARE) break;
      const v1::CareDone& e = event.care_done();
      v1::Care& care = *state.mutable_care();
      care.set_status(v1::CARE_STATUS_DONE);
      *care.mutable_done_at() = e.done_at();
      care.set_outcome(e.outcome());
      if (e.has_done_at()) *state.mutable_occurs_at() = e.done_at();
      break;
    }
    case v1::InteractionEvent::kCareEvaluated: {
      if (type != v1::INTERACTION_TYPE_CARE) break;
      const v1::CareEvaluated& e = event.care_evaluated();
      v1::Care& care = *state.mutable_care();
      care.set_status(v1::CARE_STATUS_EVALUATED);
      care.set_evaluation_score(e.evaluation_score());
      care.set_evaluation(e.evaluation());
      break;
    }
    case v1::InteractionEvent::kSatisfactionRecorded: {
      const v1::SatisfactionRecorded& e = event.satisfaction_recorded();
      if (!Create(state, event, v1::INTERACTION_TYPE_SATISFACTION, e, meta)) break;
      *state.mutable_survey() = e.survey();
      *state.mutable_occurs_at() = e.survey().surveyed_at();
      break;
    }
    case v1::InteractionEvent::KIND_NOT_SET:
      break;
    default:
      break;  // an opportunity's event (domain/opportunity.h): not an interaction's
  }
  state.set_version(meta.version);
  *state.mutable_updated_at() = ToProtoTimestamp(meta.occurred_at);
}

std::string EventType(const v1::InteractionEvent& event) {
  const google::protobuf::OneofDescriptor* kind =
      v1::InteractionEvent::descriptor()->FindOneofByName("kind");
  const google::protobuf::FieldDescriptor* field =
      event.GetReflection()->GetOneofFieldDescriptor(event, kind);
  if (field == nullptr || field->message_type() == nullptr) return "";
  return field->message_type()->full_name();
}

std::string TypeName(v1::InteractionType type) {
  return ShortName(v1::InteractionType_Name(type), "INTERACTION_TYPE_", type);
}

}  // namespace crm::interaction
