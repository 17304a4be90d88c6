#include "crm/interaction/domain/opportunity.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crm/common/field_errors.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/common/text.h"
#include "crm/domain/validation.h"
#include "crm/interaction/domain/interaction_aggregate.h"

namespace crm::interaction {
namespace {

using ::crm::domain::kMaxIdLength;
using ::crm::domain::kMaxNameLength;
using ::crm::domain::kMaxTextLength;
using ::crm::domain::ParseDate;
using ::crm::domain::ParseRequiredDate;
using ::crm::domain::Presence;
using ::crm::domain::UtcDayOf;
using ::crm::domain::ShortName;
using ::crm::domain::ValidateEnum;
using ::crm::domain::ValidateId;
using ::crm::domain::ValidateMoney;
using ::crm::domain::ValidateRequiredText;
using ::crm::domain::ValidateText;

// A required amount in a known currency, at most kMaxOpportunityAmountMinor;
// more than 0 when `positive`, else not negative.
absl::Status ValidateAmount(std::string_view field, const v1::Money& money, bool positive) {
  return ValidateMoney(field, money,
                       {.required = true,
                        .known_currency = true,
                        .positive = positive,
                        .max_amount_minor = kMaxOpportunityAmountMinor});
}

// Checks `d` and returns it with the title trimmed; the close date not before `earliest`.
absl::StatusOr<v1::OpportunityDetails> CheckDetails(const v1::OpportunityDetails& d,
                                                    absl::CivilDay earliest) {
  RETURN_IF_ERROR(ValidateRequiredText("details.title", d.title(), kMaxNameLength));
  RETURN_IF_ERROR(ValidateEnum("details.source", d.source(), v1::OpportunitySource_IsValid,
                               Presence::kRequired));
  RETURN_IF_ERROR(ValidateId("details.campaign_id", d.campaign_id(),
                             d.source() == v1::OPPORTUNITY_SOURCE_CAMPAIGN ? Presence::kRequired
                                                                           : Presence::kOptional));
  RETURN_IF_ERROR(ValidateAmount("details.expected_amount", d.expected_amount(), /*positive=*/false));
  ASSIGN_OR_RETURN(absl::CivilDay close,
                   ParseRequiredDate("details.expected_close_date", d.expected_close_date()));
  if (close < earliest) {
    return InvalidField("details.expected_close_date",
                        absl::StrCat("before the day of creation (", absl::FormatCivilTime(earliest),
                                     ")"));
  }
  RETURN_IF_ERROR(ValidateText("details.contact", d.contact(), kMaxIdLength));
  RETURN_IF_ERROR(ValidateText("details.description", d.description(), kMaxTextLength));
  v1::OpportunityDetails out = d;
  out.set_title(Trimmed(d.title()));
  out.set_contact(Trimmed(d.contact()));
  return out;
}

absl::Status ValidateProbability(std::string_view field, int32_t p) {
  if (p < 0 || p > 100) return InvalidField(field, "must be 0..100");
  return absl::OkStatus();
}

absl::Status CheckExists(const v1::Opportunity& state) {
  if (state.version() == 0) return absl::NotFoundError("opportunity not found");
  return absl::OkStatus();
}

absl::Status CheckOpen(const v1::Opportunity& state, std::string_view field) {
  if (!IsOpenStage(state.stage())) {
    return RefusedField(field, absl::StrCat("opportunity is ", StageName(state.stage())));
  }
  return absl::OkStatus();
}

absl::Status ValidateOpenStage(std::string_view field, v1::OpportunityStage stage, bool required) {
  if (stage == v1::OPPORTUNITY_STAGE_UNSPECIFIED && !required) return absl::OkStatus();
  RETURN_IF_ERROR(ValidateEnum(field, stage, v1::OpportunityStage_IsValid, Presence::kRequired));
  if (!IsOpenStage(stage)) {
    return InvalidField(field,
                        "must be QUALIFICATION, NEEDS_ANALYSIS, PROPOSAL or NEGOTIATION "
                        "(WinOpportunity and LoseOpportunity close it)");
  }
  return absl::OkStatus();
}

v1::InteractionEvent Base(const v1::Opportunity& state) {
  v1::InteractionEvent e;
  e.set_opportunity_id(state.opportunity_id());
  e.set_customer_id(state.customer_id());
  return e;
}

// Sets each event's opportunity_figures: the state after it.
Events WithFigures(const v1::Opportunity& state, Events events, const SalesContext& ctx) {
  v1::Opportunity after = state;
  for (v1::InteractionEvent& e : events) {
    ApplyOpportunity(after, e, {after.version() + 1, ctx.now, ctx.actor});
    *e.mutable_opportunity_figures() = FiguresOf(after);
  }
  return events;
}

Events One(const v1::Opportunity& state, v1::InteractionEvent e, const SalesContext& ctx) {
  return WithFigures(state, Events{std::move(e)}, ctx);
}

v1::PlanStep* FindStep(v1::Opportunity& state, std::string_view id) {
  for (v1::PlanStep& s : *state.mutable_plan()) {
    if (s.step_id() == id) return &s;
  }
  return nullptr;
}

const v1::PlanStep* FindStep(const v1::Opportunity& state, std::string_view id) {
  for (const v1::PlanStep& s : state.plan()) {
    if (s.step_id() == id) return &s;
  }
  return nullptr;
}

void PushStage(v1::Opportunity& state, v1::OpportunityStage from, v1::OpportunityStage to,
               int32_t probability, const domain::EventMeta& meta) {
  v1::StageChange* c = state.add_stage_history();
  c->set_from(from);
  c->set_to(to);
  c->set_probability(probability);
  c->set_changed_by(meta.actor);
  *c->mutable_changed_at() = ToProtoTimestamp(meta.occurred_at);
  KeepNewest(state.mutable_stage_history(), kMaxHistoryInRow);
}

void ClearClose(v1::Opportunity& state) {
  state.clear_final_amount();
  state.clear_closed_at();
  state.clear_closed_by();
  state.clear_lost_reason();
  state.clear_lost_reason_text();
  state.clear_competitor();
}

}  // namespace

int StageTable::Default(v1::OpportunityStage stage) const {
  switch (stage) {
    case v1::OPPORTUNITY_STAGE_QUALIFICATION:
      return qualification;
    case v1::OPPORTUNITY_STAGE_NEEDS_ANALYSIS:
      return needs_analysis;
    case v1::OPPORTUNITY_STAGE_PROPOSAL:
      return proposal;
    case v1::OPPORTUNITY_STAGE_NEGOTIATION:
      return negotiation;
    case v1::OPPORTUNITY_STAGE_WON:
      return 100;
    default:
      return 0;
  }
}

absl::StatusOr<StageTable> ParseStageTable(std::string_view spec) {
  StageTable table;
  if (spec.empty()) return table;
  for (absl::string_view part : absl::StrSplit(absl::string_view(spec.data(), spec.size()), ',')) {
    const std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    int value = -1;
    if (!absl::SimpleAtoi(kv.second, &value) || value < 0 || value > 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("--stage_probabilities: \"", std::string(part), "\": a value must be 0..100"));
    }
    if (kv.first == "qualification") {
      table.qualification = value;
    } else if (kv.first == "needs_analysis") {
      table.needs_analysis = value;
    } else if (kv.first == "proposal") {
      table.proposal = value;
    } else if (kv.first == "negotiation") {
      table.negotiation = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--stage_probabilities: unknown stage \"", kv.first,
          "\" (qualification, needs_analysis, proposal, negotiation)"));
    }
  }
  return table;
}

bool IsOpenStage(v1::OpportunityStage stage) {
  return stage >= v1::OPPORTUNITY_STAGE_QUALIFICATION &&
         stage <= v1::OPPORTUNITY_STAGE_NEGOTIATION;
}

std::string StageName(v1::OpportunityStage stage) {
  return ShortName(v1::OpportunityStage_Name(stage), "OPPORTUNITY_STAGE_", stage);
}

absl::StatusOr<Events> DecideCreateOpportunity(const v1::CreateOpportunityRequest& request,
                                               std::string_view opportunity_id,
                                               const domain::CustomerRef& customer,
                                               const SalesContext& ctx) {
  if (opportunity_id.empty()) return InvalidField("opportunity_id", "required");
  if (customer.customer_id.empty()) return InvalidField("customer_id", "required");
  ASSIGN_OR_RETURN(v1::OpportunityDetails details,
                   CheckDetails(request.details(), UtcDayOf(ctx.now)));
  RETURN_IF_ERROR(ValidateId("owner", request.owner(), Presence::kOptional));
  v1::Opportunity empty;
  empty.set_opportunity_id(std::string(opportunity_id));
  empty.set_customer_id(customer.customer_id);
  v1::InteractionEvent e = Base(empty);
  v1::OpportunityCreated* c = e.mutable_opportunity_created();
  *c->mutable_details() = std::move(details);
  c->set_owner(!request.owner().empty()   ? request.owner()
               : !customer.owner.empty() ? customer.owner
                                         : ctx.actor);
  c->set_region(customer.region);
  c->set_stage(v1::OPPORTUNITY_STAGE_QUALIFICATION);
  c->set_probability(ctx.stages->Default(v1::OPPORTUNITY_STAGE_QUALIFICATION));
  return One(empty, std::move(e), ctx);
}

absl::StatusOr<Events> DecideUpdateOpportunity(const v1::Opportunity& state,
                                               const v1::UpdateOpportunityRequest& request,
                                               const SalesContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  ASSIGN_OR_RETURN(v1::OpportunityDetails details,
                   CheckDetails(request.details(), UtcDayOf(FromProtoTimestamp(state.created_at()))));
  if (details.SerializeAsString() == state.details().SerializeAsString()) {
    return RefusedField("details", "nothing changed");
  }
  v1::InteractionEvent e = Base(state);
  *e.mutable_opportunity_updated()->mutable_details() = std::move(details);
  return One(state, std::move(e), ctx);
}

absl::StatusOr<Events> DecideAssignOpportunity(const v1::Opportunity& state,
                                               const v1::AssignOpportunityRequest& request,
                                               std::string_view region, const SalesContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(ValidateId("owner", request.owner(), Presence::kRequired));
  RETURN_IF_ERROR(ValidateText("reason", request.reason(), kMaxTextLength));
  if (request.owner() == state.owner()) {
    return RefusedField("owner", absl::StrCat("already ", state.owner()));
  }
  v1::InteractionEvent e = Base(state);
  v1::OpportunityAssigned* a = e.mutable_opportunity_assigned();
  a->set_from_owner(state.owner());
  a->set_to_owner(request.owner());
  a->set_reason(request.reason());
  a->set_region(region.empty() ? state.region() : std::string(region));
  return One(state, std::move(e), ctx);
}

absl::StatusOr<Events> DecideMoveStage(const v1::Opportunity& state,
                                       const v1::MoveOpportunityStageRequest& request,
                                       const SalesContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(ValidateOpenStage("stage", request.stage(), true));
  if (request.has_probability()) RETURN_IF_ERROR(ValidateProbability("probability", request.probability()));
  RETURN_IF_ERROR(CheckOpen(state, "stage"));
  if (request.stage() == state.stage()) {
    return RefusedField("stage", absl::StrCat("already in ", StageName(state.stage())));
  }
  v1::InteractionEvent e = Base(state);
  v1::OpportunityStageChanged* c = e.mutable_opportunity_stage_changed();
  c->set_from(state.stage());
  c->set_to(request.stage());
  c->set_probability(request.has_probability() ? request.probability()
                                               : ctx.stages->Default(request.stage()));
  c->set_probability_overridden(request.has_probability());
  return One(state, std::move(e), ctx);
}

absl::StatusOr<Events> DecideSetProbability(const v1::Opportunity& state,
                                            const v1::SetOpportunityProbabilityRequest& request,
                                            const SalesContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  if (request.has_probability()) RETURN_IF_ERROR(ValidateProbability("probability", request.probability()));
  RETURN_IF_ERROR(CheckOpen(state, "stage"));
  const int32_t p =
      request.has_probability() ? request.probability() : ctx.stages->Default(state.stage());
  if (p == state.probability() && request.has_probability() == state.probability_overridden()) {
    return RefusedField("probability", absl::StrCat("already ", p));
  }
  v1::InteractionEvent e = Base(state);
  e.mutable_opportunity_probability_set()->set_probability(p);
  e.mutable_opportunity_probability_set()->set_overridden(request.has_probability());
  return One(state, std::move(e), ctx);
}

absl::StatusOr<Events> DecideWin(const v1::Opportunity& state,
                                 const v1::WinOpportunityRequest& request,
                                 const SalesContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(ValidateAmount("final_amount", request.final_amount(), /*positive=*/true));
  RETURN_IF_ERROR(CheckOpen(state, "stage"));
  v1::InteractionEvent e = Base(state);
  e.mutable_opportunity_won()->set_from(state.stage());
  *e.mutable_opportunity_won()->mutable_final_amount() = request.final_amount();
  return One(state, std::move(e), ctx);
}

absl::StatusOr<Events> DecideLose(const v1::Opportunity& state,
                                  const v1::LoseOpportunityRequest& request,
                                  const SalesContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(
      ValidateEnum("reason", request.reason(), v1::LostReason_IsValid, Presence::kRequired));
  if (request.reason() == v1::LOST_REASON_OTHER) {
    RETURN_IF_ERROR(ValidateRequiredText("reason_text", request.reason_text(), kMaxTextLength));
  } else {
    RETURN_IF_ERROR(ValidateText("reason_text", request.reason_text(), kMaxTextLength));
  }
  RETURN_IF_ERROR(ValidateText("competitor", request.competitor(), kMaxNameLength));
  RETURN_IF_ERROR(CheckOpen(state, "stage"));
  v1::InteractionEvent e = Base(state);
  v1::OpportunityLost* l = e.mutable_opportunity_lost();
  l->set_from(state.stage());
  l->set_reason(request.reason());
  l->set_reason_text(request.reason_text());
  l->set_competitor(Trimmed(request.competitor()));
  return One(state, std::move(e), ctx);
}

absl::StatusOr<Events> DecideReopen(const v1::Opportunity& state,
                                    const v1::ReopenOpportunityRequest& request,
                                    const SalesContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(ValidateOpenStage("stage", request.stage(), false));
  RETURN_IF_ERROR(ValidateRequiredText("reason", request.reason(), kMaxTextLength));
  if (IsOpenStage(state.stage())) {
    return RefusedField("stage", absl::StrCat("opportunity is open (", StageName(state.stage()), ")"));
  }
  v1::OpportunityStage to = request.stage();
  if (to == v1::OPPORTUNITY_STAGE_UNSPECIFIED) {
    // The stage it was closed from: the last change's origin.
    to = v1::OPPORTUNITY_STAGE_QUALIFICATION;
    if (!state.stage_history().empty() && IsOpenStage(state.stage_history().rbegin()->from())) {
      to = state.stage_history().rbegin()->from();
    }
  }
  v1::InteractionEvent e = Base(state);
  v1::OpportunityReopened* r = e.mutable_opportunity_reopened();
  r->set_from(state.stage());
  r->set_to(to);
  r->set_probability(ctx.stages->Default(to));
  r->set_reason(request.reason());
  return One(state, std::move(e), ctx);
}

absl::StatusOr<Events> DecideAddPlanStep(const v1::Opportunity& state,
                                         const v1::AddPlanStepRequest& request,
                                         const SalesContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(ParseRequiredDate("planned_date", request.planned_date()).status());
  RETURN_IF_ERROR(ValidateRequiredText("action", request.action(), kMaxTextLength));
  RETURN_IF_ERROR(ValidateId("responsible", request.responsible(), Presence::kOptional));
  RETURN_IF_ERROR(CheckOpen(state, "stage"));
  if (state.plan_size() >= kMaxPlanSteps) {
    return RefusedField("plan", absl::StrCat("at most ", kMaxPlanSteps, " steps"));
  }
  v1::InteractionEvent e = Base(state);
  v1::PlanStep* s = e.mutable_plan_step_added()->mutable_step();
  s->set_step_id(absl::StrCat(state.plan_size() + 1));
  s->set_planned_date(request.planned_date());
  s->set_action(request.action());
  s->set_responsible(request.responsible().empty() ? state.owner() : request.responsible());
  s->set_status(v1::PLAN_STEP_STATUS_PLANNED);
  return One(state, std::move(e), ctx);
}

absl::StatusOr<Events> DecideCompletePlanStep(const v1::Opportunity& state,
                                              const v1::CompletePlanStepRequest& request,
                                              const SalesContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(ValidateId("step_id", request.step_id(), Presence::kRequired));
  RETURN_IF_ERROR(ValidateRequiredText("result", request.result(), kMaxTextLength));
  RETURN_IF_ERROR(ValidateId("interaction_id", request.interaction_id(), Presence::kOptional));
  const v1::PlanStep* step = FindStep(state, request.step_id());
  if (step == nullptr) {
    return FieldNotFound("step_id", absl::StrCat("step ", request.step_id(), " not found"));
  }
  if (step->status() == v1::PLAN_STEP_STATUS_DONE) {
    return RefusedField("step_id", absl::StrCat("step ", step->step_id(), " is already DONE"));
  }
  v1::InteractionEvent e = Base(state);
  v1::PlanStepCompleted* c = e.mutable_plan_step_completed();
  c->set_step_id(step->step_id());
  c->set_result(request.result());
  c->set_interaction_id(request.interaction_id());
  *c->mutable_done_at() = ToProtoTimestamp(ctx.now);
  return One(state, std::move(e), ctx);
}

std::vector<std::string> OverdueStepIds(const v1::Opportunity& state, absl::Time now) {
  std::vector<std::string> out;
  if (!IsOpenStage(state.stage())) return out;
  const absl::CivilDay today = UtcDayOf(now);
  for (const v1::PlanStep& s : state.plan()) {
    if (s.status() != v1::PLAN_STEP_STATUS_PLANNED || s.overdue_reported()) continue;
    const std::optional<absl::CivilDay> planned = ParseDate(s.planned_date());
    if (planned && today > *planned) out.push_back(s.step_id());
  }
  return out;
}

absl::StatusOr<Events> DecideReportStepOverdue(const v1::Opportunity& state,
                                               std::string_view step_id,
                                               const SalesContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  const std::vector<std::string> due = OverdueStepIds(state, ctx.now);
  if (std::find(due.begin(), due.end(), step_id) == due.end()) return Events{};
  const v1::PlanStep* step = FindStep(state, step_id);
  v1::InteractionEvent e = Base(state);
  v1::PlanStepOverdue* o = e.mutable_plan_step_overdue();
  o->set_step_id(step->step_id());
  o->set_planned_date(step->planned_date());
  o->set_responsible(step->responsible());
  *o->mutable_detected_at() = ToProtoTimestamp(ctx.now);
  return One(state, std::move(e), ctx);
}

void ApplyOpportunity(v1::Opportunity& state, const v1::InteractionEvent& event,
                      const domain::EventMeta& meta) {
  const bool exists = state.version() > 0;
  switch (event.kind_case()) {
    case v1::InteractionEvent::kOpportunityCreated: {
      if (exists) break;
      const v1::OpportunityCreated& c = event.opportunity_created();
      state.set_opportunity_id(event.opportunity_id());
      state.set_customer_id(event.customer_id());
      *state.mutable_details() = c.details();
      state.set_owner(c.owner());
      state.set_region(c.region());
      state.set_stage(c.stage());
      state.set_probability(c.probability());
      state.set_created_by(meta.actor);
      *state.mutable_created_at() = ToProtoTimestamp(meta.occurred_at);
      v1::OwnerChange* o = state.add_owner_history();
      o->set_to_owner(c.owner());
      o->set_changed_by(meta.actor);
      *o->mutable_changed_at() = ToProtoTimestamp(meta.occurred_at);
      PushStage(state, v1::OPPORTUNITY_STAGE_UNSPECIFIED, c.stage(), c.probability(), meta);
      break;
    }
    case v1::InteractionEvent::kOpportunityUpdated:
      if (!exists) break;
      *state.mutable_details() = event.opportunity_updated().details();
      break;
    case v1::InteractionEvent::kOpportunityAssigned: {
      if (!exists) break;
      const v1::OpportunityAssigned& a = event.opportunity_assigned();
      v1::OwnerChange* o = state.add_owner_history();
      o->set_from_owner(a.from_owner());
      o->set_to_owner(a.to_owner());
      o->set_reason(a.reason());
      o->set_changed_by(meta.actor);
      *o->mutable_changed_at() = ToProtoTimestamp(meta.occurred_at);
      KeepNewest(state.mutable_owner_history(), kMaxHistoryInRow);
      state.set_owner(a.to_owner());
      if (!a.region().empty()) state.set_region(a.region());
      break;
    }
    case v1::InteractionEvent::kOpportunityStageChanged: {
      if (!exists) break;
      const v1::OpportunityStageChanged& c = event.opportunity_stage_changed();
      PushStage(state, state.stage(), c.to(), c.probability(), meta);
      state.set_stage(c.to());
      state.set_probability(c.probability());
      state.set_probability_overridden(c.probability_overridden());
      break;
    }
    case v1::InteractionEvent::kOpportunityProbabilitySet:
      if (!exists) break;
      state.set_probability(event.opportunity_probability_set().probability());
      state.set_probability_overridden(event.opportunity_probability_set().overridden());
      break;
    case v1::InteractionEvent::kOpportunityWon: {
      if (!exists) break;
      PushStage(state, state.stage(), v1::OPPORTUNITY_STAGE_WON, 100, meta);
      ClearClose(state);
      state.set_stage(v1::OPPORTUNITY_STAGE_WON);
      state.set_probability(100);
      state.set_probability_overridden(false);
      *state.mutable_final_amount() = event.opportunity_won().final_amount();
      *state.mutable_closed_at() = ToProtoTimestamp(meta.occurred_at);
      state.set_closed_by(meta.actor);
      break;
    }
    case v1::InteractionEvent::kOpportunityLost: {
      if (!exists) break;
      const v1::OpportunityLost& l = event.opportunity_lost();
      PushStage(state, state.stage(), v1::OPPORTUNITY_STAGE_LOST, 0, meta);
      ClearClose(state);
      state.set_stage(v1::OPPORTUNITY_STAGE_LOST);
      state.set_probability(0);
      state.set_probability_overridden(false);
      state.set_lost_reason(l.reason());
      state.set_lost_reason_text(l.reason_text());
      state.set_competitor(l.competitor());
      *state.mutable_closed_at() = ToProtoTimestamp(meta.occurred_at);
      state.set_closed_by(meta.actor);
      break;
    }
    case v1::InteractionEvent::kOpportunityReopened: {
      if (!exists) break;
      const v1::OpportunityReopened& r = event.opportunity_reopened();
      PushStage(state, state.stage(), r.to(), r.probability(), meta);
      ClearClose(state);
      state.set_stage(r.to());
      state.set_probability(r.probability());
      state.set_probability_overridden(false);
      state.set_reopened_count(state.reopened_count() + 1);
      break;
    }
    case v1::InteractionEvent::kPlanStepAdded:
      if (!exists) break;
      *state.add_plan() = event.plan_step_added().step();
      break;
    case v1::InteractionEvent::kPlanStepCompleted: {
      if (!exists) break;
      const v1::PlanStepCompleted& c = event.plan_step_completed();
      v1::PlanStep* s = FindStep(state, c.step_id());
      if (s == nullptr) break;
      s->set_status(v1::PLAN_STEP_STATUS_DONE);
      s->set_result(c.result());
      s->set_interaction_id(c.interaction_id());
      *s->mutable_done_at() =
          c.has_done_at() ? c.done_at() : ToProtoTimestamp(meta.occurred_at);
      s->set_done_by(meta.actor);
      break;
    }
    case v1::InteractionEvent::kPlanStepOverdue: {
      if (!exists) break;
      v1::PlanStep* s = FindStep(state, event.plan_step_overdue().step_id());
      if (s != nullptr) s->set_overdue_reported(true);
      break;
    }
    default:
      break;
  }
  state.set_version(meta.version);
  *state.mutable_updated_at() = ToProtoTimestamp(meta.occurred_at);
}

v1::OpportunityFigures FiguresOf(const v1::Opportunity& state) {
  v1::OpportunityFigures f;
  f.set_stage(state.stage());
  f.set_probability(state.probability());
  *f.mutable_expected_amount() = state.details().expected_amount();
  if (state.has_final_amount()) *f.mutable_final_amount() = state.final_amount();
  f.set_owner(state.owner());
  f.set_region(state.region());
  return f;
}

}  // namespace crm::interaction
