#include "crm/interaction/domain/campaign.h"

#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crm/classification/v1/classification.pb.h"
#include "crm/common/field_errors.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/common/text.h"
#include "crm/customer/v1/customer.pb.h"
#include "crm/domain/validation.h"

namespace crm::interaction {
namespace {

using ::crm::domain::kMaxNameLength;
using ::crm::domain::kMaxTextLength;
using ::crm::domain::ParseRequiredDate;
using ::crm::domain::Presence;
using ::crm::domain::ShortName;
using ::crm::domain::UtcDateOf;
using ::crm::domain::ValidateCount;
using ::crm::domain::ValidateDate;
using ::crm::domain::ValidateEnum;
using ::crm::domain::ValidateId;
using ::crm::domain::ValidateMoney;
using ::crm::domain::ValidateRequiredText;
using ::crm::domain::ValidateText;

// Checks `d` and returns it with the name trimmed (and an absent budget cleared).
absl::StatusOr<v1::CampaignDetails> CheckDetails(const v1::CampaignDetails& d) {
  RETURN_IF_ERROR(ValidateRequiredText("details.name", d.name(), kMaxNameLength));
  RETURN_IF_ERROR(
      ValidateEnum("details.type", d.type(), v1::CampaignType_IsValid, Presence::kRequired));
  ASSIGN_OR_RETURN(absl::CivilDay start, ParseRequiredDate("details.start_date", d.start_date()));
  ASSIGN_OR_RETURN(absl::CivilDay end, ParseRequiredDate("details.end_date", d.end_date()));
  if (end < start) return InvalidField("details.end_date", "must not be before start_date");
  const bool has_budget = !d.budget().currency_code().empty() || d.budget().amount_minor() != 0;
  if (has_budget) {
    RETURN_IF_ERROR(ValidateMoney(
        "details.budget", d.budget(),
        {.required = true, .known_currency = true, .max_amount_minor = kMaxCampaignAmountMinor}));
  }
  RETURN_IF_ERROR(ValidateText("details.description", d.description(), kMaxTextLength));
  v1::CampaignDetails out = d;
  out.set_name(Trimmed(d.name()));
  if (!has_budget) out.clear_budget();
  return out;
}

absl::Status CheckExists(const v1::Campaign& state) {
  if (state.version() == 0) return absl::NotFoundError("campaign not found");
  return absl::OkStatus();
}

// FAILED_PRECONDITION "status: campaign is CLOSED" unless the status is one of `allowed`.
absl::Status CheckStatus(const v1::Campaign& state,
                         std::initializer_list<v1::CampaignStatus> allowed) {
  for (v1::CampaignStatus s : allowed) {
    if (state.status() == s) return absl::OkStatus();
  }
  return RefusedField("status", absl::StrCat("campaign is ", CampaignStatusName(state.status())));
}

absl::Status CheckTarget(std::string_view field, const std::string& customer_id,
                         const std::optional<v1::CampaignTarget>& target) {
  if (!target) {
    return RefusedField(field, absl::StrCat("customer ", customer_id, " is not a target"));
  }
  return absl::OkStatus();
}

v1::InteractionEvent Base(const v1::Campaign& state) {
  v1::InteractionEvent e;
  e.set_campaign_id(state.campaign_id());
  return e;
}

// Splits items into groups of at most kMaxTargetsPerEvent and
// kMaxTargetBytesPerEvent (by `bytes(item)`), each handed to `add` as [begin, end).
template <typename Bytes, typename Add>
void InChunks(size_t count, Bytes bytes, Add add) {
  size_t begin = 0;
  size_t size = 0;
  for (size_t i = 0; i < count; ++i) {
    const size_t b = bytes(i);
    if (i > begin && (i - begin == kMaxTargetsPerEvent || size + b > kMaxTargetBytesPerEvent)) {
      add(begin, i);
      begin = i;
      size = 0;
    }
    size += b;
  }
  if (count > begin) add(begin, count);
}

}  // namespace

std::string CampaignStatusName(v1::CampaignStatus status) {
  return ShortName(v1::CampaignStatus_Name(status), "CAMPAIGN_STATUS_", status);
}

absl::Status ValidateSelection(std::string_view field, const v1::TargetSelection& s) {
  const std::string f(field);
  const std::string classes = absl::StrCat(f, ".classes");
  RETURN_IF_ERROR(ValidateCount(classes, s.classes_size(), kMaxSelectionValues));
  for (int i = 0; i < s.classes_size(); ++i) {
    const std::string at = Indexed(classes, i);
    RETURN_IF_ERROR(ValidateEnum(absl::StrCat(at, ".scheme"), s.classes(i).scheme(),
                                 classification::v1::Scheme_IsValid, Presence::kRequired));
    RETURN_IF_ERROR(ValidateRequiredText(absl::StrCat(at, ".class_name"), s.classes(i).class_name(),
                                         kMaxNameLength));
  }
  const std::string regions = absl::StrCat(f, ".regions");
  RETURN_IF_ERROR(ValidateCount(regions, s.regions_size(), kMaxSelectionValues));
  for (int i = 0; i < s.regions_size(); ++i) {
    RETURN_IF_ERROR(ValidateId(Indexed(regions, i), s.regions(i), Presence::kRequired));
  }
  const std::string industries = absl::StrCat(f, ".industries");
  RETURN_IF_ERROR(ValidateCount(industries, s.industries_size(), kMaxSelectionValues));
  for (int i = 0; i < s.industries_size(); ++i) {
    RETURN_IF_ERROR(ValidateRequiredText(Indexed(industries, i), s.industries(i), kMaxNameLength));
  }
  const std::string lifecycles = absl::StrCat(f, ".lifecycles");
  RETURN_IF_ERROR(ValidateCount(lifecycles, s.lifecycles_size(), kMaxSelectionValues));
  for (int i = 0; i < s.lifecycles_size(); ++i) {
    RETURN_IF_ERROR(ValidateEnum(Indexed(lifecycles, i), s.lifecycles(i),
                                 customer::v1::Lifecycle_IsValid, Presence::kRequired));
  }
  const std::string ids = absl::StrCat(f, ".customer_ids");
  RETURN_IF_ERROR(ValidateCount(ids, s.customer_ids_size(), kMaxSelectionCustomers));
  for (int i = 0; i < s.customer_ids_size(); ++i) {
    RETURN_IF_ERROR(ValidateId(Indexed(ids, i), s.customer_ids(i), Presence::kRequired));
  }
  if (s.classes().empty() && s.regions().empty() && s.industries().empty() &&
      s.lifecycles().empty() && s.customer_ids().empty()) {
    return InvalidField(f, "choose at least one filter or customer id");
  }
  return absl::OkStatus();
}

absl::StatusOr<Events> DecidePlanCampaign(const v1::PlanCampaignRequest& request,
                                          std::string_view campaign_id, std::string_view region,
                                          const CampaignContext& ctx) {
  if (campaign_id.empty()) return InvalidField("campaign_id", "required");
  ASSIGN_OR_RETURN(v1::CampaignDetails details, CheckDetails(request.details()));
  RETURN_IF_ERROR(ValidateSelection("selection", request.selection()));
  RETURN_IF_ERROR(ValidateId("owner", request.owner(), Presence::kOptional));
  v1::InteractionEvent e;
  e.set_campaign_id(std::string(campaign_id));
  v1::CampaignPlanned* p = e.mutable_campaign_planned();
  *p->mutable_details() = std::move(details);
  p->set_owner(request.owner().empty() ? ctx.actor : request.owner());
  p->set_region(std::string(region));
  *p->mutable_selection() = request.selection();
  return Events{std::move(e)};
}

absl::StatusOr<Events> DecideUpdateCampaign(const v1::Campaign& state,
                                            const v1::UpdateCampaignRequest& request,
                                            const CampaignContext&) {
  RETURN_IF_ERROR(CheckExists(state));
  ASSIGN_OR_RETURN(v1::CampaignDetails details, CheckDetails(request.details()));
  RETURN_IF_ERROR(ValidateSelection("selection", request.selection()));
  RETURN_IF_ERROR(CheckStatus(state, {v1::CAMPAIGN_STATUS_PLANNED}));
  if (details.SerializeAsString() == state.details().SerializeAsString() &&
      request.selection().SerializeAsString() == state.selection().SerializeAsString()) {
    return RefusedField("details", "nothing changed");
  }
  v1::InteractionEvent e = Base(state);
  *e.mutable_campaign_updated()->mutable_details() = std::move(details);
  *e.mutable_campaign_updated()->mutable_selection() = request.selection();
  return Events{std::move(e)};
}

absl::StatusOr<Events> DecideStartCampaign(const v1::Campaign& state,
                                           const std::vector<v1::CampaignTarget>& targets,
                                           const CampaignContext&) {
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(CheckStatus(state, {v1::CAMPAIGN_STATUS_PLANNED}));
  if (targets.empty()) return RefusedField("selection", "matches no customer the caller may see");
  if (targets.size() > static_cast<size_t>(kMaxCampaignTargets)) {
    return RefusedField("selection",
                        absl::StrCat("matches more than ", kMaxCampaignTargets, " customers"));
  }
  Events events;
  v1::InteractionEvent started = Base(state);
  started.mutable_campaign_started()->set_target_count(static_cast<int32_t>(targets.size()));
  events.push_back(std::move(started));
  InChunks(
      targets.size(),
      [&](size_t i) {
        return targets[i].customer_id().size() + targets[i].owner().size() +
               targets[i].region().size() + 16;
      },
      [&](size_t begin, size_t end) {
        v1::InteractionEvent e = Base(state);
        v1::CampaignTargetsFrozen* f = e.mutable_campaign_targets_frozen();
        for (size_t i = begin; i < end; ++i) {
          v1::CampaignTarget* t = f->add_targets();
          t->set_customer_id(targets[i].customer_id());
          t->set_owner(targets[i].owner());
          t->set_region(targets[i].region());
        }
        events.push_back(std::move(e));
      });
  return events;
}

absl::StatusOr<Events> DecideRecordCampaignCost(const v1::Campaign& state,
                                                const v1::RecordCampaignCostRequest& request,
                                                const CampaignContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  const v1::CampaignCost& cost = request.cost();
  RETURN_IF_ERROR(ValidateMoney("cost.amount", cost.amount(),
                                {.required = true,
                                 .known_currency = true,
                                 .positive = true,
                                 .max_amount_minor = kMaxCampaignAmountMinor}));
  RETURN_IF_ERROR(
      ValidateRequiredText("cost.description", cost.description(), kMaxCostDescriptionLength));
  RETURN_IF_ERROR(ValidateDate("cost.incurred_on", cost.incurred_on()));
  RETURN_IF_ERROR(CheckStatus(state, {v1::CAMPAIGN_STATUS_PLANNED, v1::CAMPAIGN_STATUS_RUNNING}));
  if (state.costs_size() >= kMaxCampaignCosts) {
    return RefusedField("costs", absl::StrCat("at most ", kMaxCampaignCosts, " entries"));
  }
  v1::InteractionEvent e = Base(state);
  v1::CampaignCost* c = e.mutable_campaign_cost_recorded()->mutable_cost();
  c->set_cost_id(absl::StrCat(state.costs_size() + 1));
  *c->mutable_amount() = cost.amount();
  c->set_description(cost.description());
  c->set_incurred_on(cost.incurred_on().empty() ? UtcDateOf(ctx.now) : cost.incurred_on());
  c->set_recorded_by(ctx.actor);
  *c->mutable_recorded_at() = ToProtoTimestamp(ctx.now);
  return Events{std::move(e)};
}

absl::StatusOr<Events> DecideRecordCampaignInvitations(
    const v1::Campaign& state, const v1::RecordCampaignInvitationsRequest& request,
    const std::vector<std::optional<v1::CampaignTarget>>& targets, const CampaignContext&) {
  RETURN_IF_ERROR(CheckExists(state));
  if (request.customer_ids().empty()) return InvalidField("customer_ids", "required");
  RETURN_IF_ERROR(
      ValidateCount("customer_ids", request.customer_ids_size(), kMaxInvitationsPerCall));
  for (int i = 0; i < request.customer_ids_size(); ++i) {
    RETURN_IF_ERROR(
        ValidateId(Indexed("customer_ids", i), request.customer_ids(i), Presence::kRequired));
  }
  RETURN_IF_ERROR(CheckStatus(state, {v1::CAMPAIGN_STATUS_RUNNING}));
  if (targets.size() != static_cast<size_t>(request.customer_ids_size())) {
    return absl::InternalError("one target row per customer id expected");
  }
  std::vector<std::string> invited;
  std::set<std::string> seen;
  for (int i = 0; i < request.customer_ids_size(); ++i) {
    const std::string& id = request.customer_ids(i);
    RETURN_IF_ERROR(CheckTarget(Indexed("customer_ids", i), id, targets[i]));
    if (targets[i]->has_invited_at() || !seen.insert(id).second) continue;
    invited.push_back(id);
  }
  Events events;
  InChunks(
      invited.size(), [&](size_t i) { return invited[i].size() + 4; },
      [&](size_t begin, size_t end) {
        v1::InteractionEvent e = Base(state);
        for (size_t i = begin; i < end; ++i) {
          e.mutable_campaign_invitations_sent()->add_customer_ids(invited[i]);
        }
        events.push_back(std::move(e));
      });
  return events;
}

absl::StatusOr<Events> DecideRecordCampaignResponse(
    const v1::Campaign& state, const v1::RecordCampaignResponseRequest& request,
    const std::optional<v1::CampaignTarget>& target, const CampaignContext&) {
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(ValidateId("customer_id", request.customer_id(), Presence::kRequired));
  RETURN_IF_ERROR(ValidateEnum("response", request.response(), v1::CampaignResponse_IsValid,
                               Presence::kRequired));
  RETURN_IF_ERROR(ValidateText("note", request.note(), kMaxTextLength));
  RETURN_IF_ERROR(CheckStatus(state, {v1::CAMPAIGN_STATUS_RUNNING}));
  RETURN_IF_ERROR(CheckTarget("customer_id", request.customer_id(), target));
  v1::InteractionEvent e = Base(state);
  e.set_customer_id(request.customer_id());
  v1::CampaignResponseRecorded* r = e.mutable_campaign_response_recorded();
  r->set_response(request.response());
  r->set_note(request.note());
  r->set_previous(target->response());
  return Events{std::move(e)};
}

absl::StatusOr<Events> DecideRecordCampaignAttendance(
    const v1::Campaign& state, const v1::RecordCampaignAttendanceRequest& request,
    const std::optional<v1::CampaignTarget>& target, const CampaignContext&) {
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(ValidateId("customer_id", request.customer_id(), Presence::kRequired));
  RETURN_IF_ERROR(CheckStatus(state, {v1::CAMPAIGN_STATUS_RUNNING}));
  RETURN_IF_ERROR(CheckTarget("customer_id", request.customer_id(), target));
  if (target->attended() == request.attended()) return Events{};
  v1::InteractionEvent e = Base(state);
  e.set_customer_id(request.customer_id());
  e.mutable_campaign_attendance_recorded()->set_attended(request.attended());
  return Events{std::move(e)};
}

absl::StatusOr<Events> DecideRecordCampaignOutcome(const v1::Campaign& state,
                                                   const v1::RecordCampaignOutcomeRequest& request,
                                                   const CampaignContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(ValidateRequiredText("note", request.note(), kMaxTextLength));
  RETURN_IF_ERROR(CheckStatus(state, {v1::CAMPAIGN_STATUS_RUNNING}));
  if (state.outcome_notes_size() >= kMaxCampaignOutcomeNotes) {
    return RefusedField("outcome_notes",
                        absl::StrCat("at most ", kMaxCampaignOutcomeNotes, " notes"));
  }
  v1::InteractionEvent e = Base(state);
  v1::CampaignOutcomeNote* n = e.mutable_campaign_outcome_recorded()->mutable_note();
  n->set_note(request.note());
  n->set_recorded_by(ctx.actor);
  *n->mutable_recorded_at() = ToProtoTimestamp(ctx.now);
  return Events{std::move(e)};
}

absl::StatusOr<Events> DecideCloseCampaign(const v1::Campaign& state,
                                           const v1::CloseCampaignRequest& request,
                                           const CampaignContext&) {
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(ValidateText("note", request.note(), kMaxTextLength));
  RETURN_IF_ERROR(CheckStatus(state, {v1::CAMPAIGN_STATUS_PLANNED, v1::CAMPAIGN_STATUS_RUNNING}));
  v1::InteractionEvent e = Base(state);
  e.mutable_campaign_closed()->set_note(request.note());
  return Events{std::move(e)};
}

void ApplyCampaign(v1::Campaign& state, const v1::InteractionEvent& event,
                   const domain::EventMeta& meta) {
  const bool exists = state.version() > 0;
  switch (event.kind_case()) {
    case v1::InteractionEvent::kCampaignPlanned: {
      if (exists) break;
      const v1::CampaignPlanned& p = event.campaign_planned();
      state.set_campaign_id(event.campaign_id());
      *state.mutable_details() = p.details();
      state.set_owner(p.owner());
      state.set_region(p.region());
      *state.mutable_selection() = p.selection();
      state.set_status(v1::CAMPAIGN_STATUS_PLANNED);
      state.set_created_by(meta.actor);
      *state.mutable_created_at() = ToProtoTimestamp(meta.occurred_at);
      break;
    }
    case v1::InteractionEvent::kCampaignUpdated:
      if (!exists) break;
      *state.mutable_details() = event.campaign_updated().details();
      *state.mutable_selection() = event.campaign_updated().selection();
      break;
    case v1::InteractionEvent::kCampaignStarted:
      if (!exists) break;
      state.set_status(v1::CAMPAIGN_STATUS_RUNNING);
      *state.mutable_started_at() = ToProtoTimestamp(meta.occurred_at);
      state.set_target_count(event.campaign_started().target_count());
      break;
    case v1::InteractionEvent::kCampaignCostRecorded:
      if (!exists) break;
      *state.add_costs() = event.campaign_cost_recorded().cost();
      break;
    case v1::InteractionEvent::kCampaignInvitationsSent:
      if (!exists) break;
      state.set_invited_count(state.invited_count() +
                              event.campaign_invitations_sent().customer_ids_size());
      break;
    case v1::InteractionEvent::kCampaignResponseRecorded:
      if (!exists) break;
      if (event.campaign_response_recorded().previous() == v1::CAMPAIGN_RESPONSE_UNSPECIFIED) {
        state.set_responded_count(state.responded_count() + 1);
      }
      break;
    case v1::InteractionEvent::kCampaignAttendanceRecorded:
      if (!exists) break;
      if (event.campaign_attendance_recorded().attended()) {
        state.set_attended_count(state.attended_count() + 1);
      } else if (state.attended_count() > 0) {
        state.set_attended_count(state.attended_count() - 1);
      }
      break;
    case v1::InteractionEvent::kCampaignOutcomeRecorded:
      if (!exists) break;
      *state.add_outcome_notes() = event.campaign_outcome_recorded().note();
      break;
    case v1::InteractionEvent::kCampaignClosed:
      if (!exists) break;
      state.set_status(v1::CAMPAIGN_STATUS_CLOSED);
      *state.mutable_closed_at() = ToProtoTimestamp(meta.occurred_at);
      state.set_closed_by(meta.actor);
      state.set_closing_note(event.campaign_closed().note());
      break;
    default:
      break;
  }
  state.set_version(meta.version);
  *state.mutable_updated_at() = ToProtoTimestamp(meta.occurred_at);
  state.set_updated_by(meta.actor);
}

void ApplyCampaignTargets(std::map<std::string, v1::CampaignTarget>& targets,
                          const v1::InteractionEvent& event, const domain::EventMeta& meta) {
  auto find = [&](const std::string& id) -> v1::CampaignTarget* {
    auto it = targets.find(id);
    return it == targets.end() ? nullptr : &it->second;
  };
  switch (event.kind_case()) {
    case v1::InteractionEvent::kCampaignTargetsFrozen:
      for (const v1::CampaignTarget& t : event.campaign_targets_frozen().targets()) {
        v1::CampaignTarget& row = targets[t.customer_id()];
        row.set_campaign_id(event.campaign_id());
        row.set_customer_id(t.customer_id());
        row.set_owner(t.owner());
        row.set_region(t.region());
      }
      break;
    case v1::InteractionEvent::kCampaignInvitationsSent:
      for (const std::string& id : event.campaign_invitations_sent().customer_ids()) {
        v1::CampaignTarget* t = find(id);
        if (t == nullptr || t->has_invited_at()) continue;
        *t->mutable_invited_at() = ToProtoTimestamp(meta.occurred_at);
        t->set_updated_by(meta.actor);
      }
      break;
    case v1::InteractionEvent::kCampaignResponseRecorded: {
      v1::CampaignTarget* t = find(event.customer_id());
      if (t == nullptr) break;
      t->set_response(event.campaign_response_recorded().response());
      t->set_response_note(event.campaign_response_recorded().note());
      *t->mutable_responded_at() = ToProtoTimestamp(meta.occurred_at);
      t->set_updated_by(meta.actor);
      break;
    }
    case v1::InteractionEvent::kCampaignAttendanceRecorded: {
      v1::CampaignTarget* t = find(event.customer_id());
      if (t == nullptr) break;
      t->set_attended(event.campaign_attendance_recorded().attended());
      if (t->attended()) {
        *t->mutable_attended_at() = ToProtoTimestamp(meta.occurred_at);
      } else {
        t->clear_attended_at();
      }
      t->set_updated_by(meta.actor);
      break;
    }
    default:
      break;
  }
}

}  // namespace crm::interaction
