#include "crm/interaction/domain/churn_case.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crm/common/field_errors.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/domain/validation.h"

namespace crm::interaction {
namespace {

using ::crm::domain::kMaxTextLength;
using ::crm::domain::ParseDate;
using ::crm::domain::ParseRequiredDate;
using ::crm::domain::Presence;
using ::crm::domain::ShortName;
using ::crm::domain::UtcDateOf;
using ::crm::domain::UtcDayOf;
using ::crm::domain::ValidateEnum;
using ::crm::domain::ValidateId;
using ::crm::domain::ValidatePastDate;
using ::crm::domain::ValidateRequiredText;
using ::crm::domain::ValidateText;

absl::Status CheckExists(const v1::ChurnCase& state) {
  if (state.version() == 0) return absl::NotFoundError("churn case not found");
  return absl::OkStatus();
}

absl::Status CheckOpen(const v1::ChurnCase& state) {
  if (!IsOpenCase(state)) {
    return RefusedField("status", absl::StrCat("case is ", ChurnStatusName(state.status())));
  }
  return absl::OkStatus();
}

v1::InteractionEvent Base(const std::string& case_id, const std::string& customer_id) {
  v1::InteractionEvent e;
  e.set_churn_case_id(case_id);
  e.set_customer_id(customer_id);
  return e;
}

v1::InteractionEvent Base(const v1::ChurnCase& state) {
  return Base(state.case_id(), state.customer_id());
}

Events One(v1::InteractionEvent e) {
  Events events;
  events.push_back(std::move(e));
  return events;
}

void Close(v1::ChurnCase& state, v1::ChurnCaseStatus status, const domain::EventMeta& meta) {
  state.set_status(status);
  *state.mutable_closed_at() = ToProtoTimestamp(meta.occurred_at);
  state.set_closed_by(meta.actor);
}

}  // namespace

bool IsOpenCase(const v1::ChurnCase& state) {
  return state.status() == v1::CHURN_CASE_STATUS_OPEN;
}

std::string ChurnStatusName(v1::ChurnCaseStatus status) {
  return ShortName(v1::ChurnCaseStatus_Name(status), "CHURN_CASE_STATUS_", status);
}

std::string LossReasonName(v1::ChurnLossReason reason) {
  return ShortName(v1::ChurnLossReason_Name(reason), "CHURN_LOSS_REASON_", reason);
}

absl::StatusOr<Events> DecideOpenOrAddWarning(const v1::ChurnCase& state,
                                              const std::string& case_id,
                                              const std::string& customer_id,
                                              const std::string& owner, const std::string& region,
                                              const v1::ChurnWarning& warning,
                                              const std::vector<v1::SchemeClass>& classes,
                                              const ChurnContext& ctx) {
  (void)ctx;
  RETURN_IF_ERROR(ValidateId("case_id", case_id, Presence::kRequired));
  RETURN_IF_ERROR(ValidateId("customer_id", customer_id, Presence::kRequired));
  RETURN_IF_ERROR(ValidateId("warning.event_id", warning.event_id(), Presence::kRequired));
  if (state.version() == 0) {
    v1::InteractionEvent e = Base(case_id, customer_id);
    v1::ChurnCaseOpened* o = e.mutable_churn_case_opened();
    o->set_owner(owner);
    o->set_region(region);
    *o->mutable_warning() = warning;
    for (const v1::SchemeClass& c : classes) *o->add_classes() = c;
    return One(std::move(e));
  }
  RETURN_IF_ERROR(CheckOpen(state));
  for (const v1::ChurnWarning& w : state.warnings()) {
    if (w.event_id() == warning.event_id()) return Events{};  // delivered again
  }
  v1::InteractionEvent e = Base(state);
  *e.mutable_churn_warning_added()->mutable_warning() = warning;
  return One(std::move(e));
}

absl::StatusOr<Events> DecideRecordMeasure(const v1::ChurnCase& state,
                                           const v1::RecordRetentionMeasureRequest& request,
                                           const ChurnContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  const v1::RetentionMeasure& m = request.measure();
  RETURN_IF_ERROR(ValidateRequiredText("measure.action", m.action(), kMaxTextLength));
  RETURN_IF_ERROR(ValidatePastDate("measure.taken_on", m.taken_on(), ctx.now));
  RETURN_IF_ERROR(ValidateId("measure.taken_by", m.taken_by(), Presence::kOptional));
  RETURN_IF_ERROR(ValidateId("measure.interaction_id", m.interaction_id(), Presence::kOptional));
  RETURN_IF_ERROR(CheckOpen(state));
  if (state.measures_size() >= kMaxMeasures) {
    return RefusedField("measures", absl::StrCat("at most ", kMaxMeasures));
  }
  v1::InteractionEvent e = Base(state);
  v1::RetentionMeasure* out = e.mutable_retention_measure_recorded()->mutable_measure();
  out->set_measure_id(absl::StrCat(state.measures_size() + 1));
  out->set_action(m.action());
  out->set_taken_on(m.taken_on().empty() ? UtcDateOf(ctx.now) : m.taken_on());
  out->set_taken_by(m.taken_by().empty() ? ctx.actor : m.taken_by());
  out->set_interaction_id(m.interaction_id());
  out->set_recorded_by(ctx.actor);
  *out->mutable_recorded_at() = ToProtoTimestamp(ctx.now);
  return One(std::move(e));
}

absl::StatusOr<Events> DecidePostponeChurn(const v1::ChurnCase& state,
                                           const v1::PostponeChurnRequest& request,
                                           const ChurnContext& ctx) {
  RETURN_IF_ERROR(CheckExists(state));
  ASSIGN_OR_RETURN(absl::CivilDay review, ParseRequiredDate("review_date", request.review_date()));
  const absl::CivilDay today = UtcDayOf(ctx.now);
  if (review <= today) {
    return InvalidField("review_date",
                        absl::StrCat("must be after today (", absl::FormatCivilTime(today), ")"));
  }
  RETURN_IF_ERROR(ValidateText("note", request.note(), kMaxTextLength));
  RETURN_IF_ERROR(CheckOpen(state));
  v1::InteractionEvent e = Base(state);
  e.mutable_churn_review_scheduled()->set_review_date(request.review_date());
  e.mutable_churn_review_scheduled()->set_note(request.note());
  return One(std::move(e));
}

bool IsReviewOverdue(const v1::ChurnCase& state, absl::Time now) {
  if (state.version() == 0 || !IsOpenCase(state) || state.review_overdue_reported()) return false;
  const std::optional<absl::CivilDay> review = ParseDate(state.review_date());
  return review && *review < UtcDayOf(now);
}

absl::StatusOr<Events> DecideReportReviewOverdue(const v1::ChurnCase& state,
                                                 const ChurnContext& ctx) {
  if (!IsReviewOverdue(state, ctx.now)) return Events{};
  v1::InteractionEvent e = Base(state);
  e.mutable_churn_case_review_overdue()->set_review_date(state.review_date());
  *e.mutable_churn_case_review_overdue()->mutable_detected_at() = ToProtoTimestamp(ctx.now);
  return One(std::move(e));
}

absl::StatusOr<Events> DecideRetainChurnCase(const v1::ChurnCase& state,
                                             const v1::RetainChurnCaseRequest& request,
                                             const ChurnContext& ctx) {
  (void)ctx;
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(ValidateText("note", request.note(), kMaxTextLength));
  RETURN_IF_ERROR(CheckOpen(state));
  v1::InteractionEvent e = Base(state);
  e.mutable_churn_case_retained()->set_note(request.note());
  return One(std::move(e));
}

absl::StatusOr<Events> DecideRetainOnRiskCleared(const v1::ChurnCase& state, double score,
                                                 const ChurnContext& ctx) {
  (void)ctx;
  if (state.version() == 0 || !IsOpenCase(state)) return Events{};
  v1::InteractionEvent e = Base(state);
  e.mutable_churn_case_retained()->set_risk_cleared(true);
  e.mutable_churn_case_retained()->set_score(score);
  return One(std::move(e));
}

absl::StatusOr<Events> DecideConfirmChurn(const v1::ChurnCase& state,
                                          const v1::ConfirmChurnRequest& request,
                                          const ChurnContext& ctx) {
  (void)ctx;
  RETURN_IF_ERROR(CheckExists(state));
  RETURN_IF_ERROR(
      ValidateEnum("reason", request.reason(), v1::ChurnLossReason_IsValid, Presence::kRequired));
  if (request.reason() == v1::CHURN_LOSS_REASON_OTHER) {
    RETURN_IF_ERROR(ValidateRequiredText("reason_text", request.reason_text(), kMaxTextLength));
  } else {
    RETURN_IF_ERROR(ValidateText("reason_text", request.reason_text(), kMaxTextLength));
  }
  RETURN_IF_ERROR(ValidateText("note", request.note(), kMaxTextLength));
  RETURN_IF_ERROR(CheckOpen(state));
  v1::InteractionEvent e = Base(state);
  v1::ChurnLossConfirmed* l = e.mutable_churn_loss_confirmed();
  l->set_reason(request.reason());
  l->set_reason_text(request.reason_text());
  l->set_note(request.note());
  l->set_owner(state.owner());
  l->set_region(state.region());
  return One(std::move(e));
}

absl::StatusOr<Events> DecideChurnWonBack(const v1::ChurnCase& state,
                                          const v1::WinBack& win_back, const ChurnContext& ctx) {
  (void)ctx;
  if (state.version() == 0 || state.status() != v1::CHURN_CASE_STATUS_LOST ||
      state.has_win_back()) {
    return Events{};
  }
  v1::InteractionEvent e = Base(state);
  *e.mutable_churn_case_won_back()->mutable_win_back() = win_back;
  return One(std::move(e));
}

absl::StatusOr<Events> DecideReassignChurnCase(const v1::ChurnCase& state,
                                               const std::string& to_owner,
                                               const std::string& to_region,
                                               const ChurnContext& ctx) {
  (void)ctx;
  RETURN_IF_ERROR(ValidateId("to_owner", to_owner, Presence::kOptional));
  RETURN_IF_ERROR(ValidateId("to_region", to_region, Presence::kOptional));
  if (state.version() == 0 || !IsOpenCase(state)) return Events{};
  if (state.owner() == to_owner && state.region() == to_region) return Events{};
  v1::InteractionEvent e = Base(state);
  v1::ChurnCaseReassigned* r = e.mutable_churn_case_reassigned();
  r->set_from_owner(state.owner());
  r->set_to_owner(to_owner);
  r->set_from_region(state.region());
  r->set_to_region(to_region);
  return One(std::move(e));
}

void ApplyChurnCase(v1::ChurnCase& state, const v1::InteractionEvent& event,
                    const domain::EventMeta& meta) {
  const bool exists = state.version() > 0;
  switch (event.kind_case()) {
    case v1::InteractionEvent::kChurnCaseOpened: {
      if (exists) break;
      const v1::ChurnCaseOpened& o = event.churn_case_opened();
      state.set_case_id(event.churn_case_id());
      state.set_customer_id(event.customer_id());
      state.set_owner(o.owner());
      state.set_region(o.region());
      state.set_status(v1::CHURN_CASE_STATUS_OPEN);
      *state.add_warnings() = o.warning();
      state.set_warning_count(1);
      *state.mutable_classes() = o.classes();
      *state.mutable_opened_at() = ToProtoTimestamp(meta.occurred_at);
      break;
    }
    case v1::InteractionEvent::kChurnWarningAdded:
      if (!exists) break;
      *state.add_warnings() = event.churn_warning_added().warning();
      KeepNewest(state.mutable_warnings(), kMaxWarningsInRow);
      state.set_warning_count(state.warning_count() + 1);
      break;
    case v1::InteractionEvent::kRetentionMeasureRecorded:
      if (!exists) break;
      *state.add_measures() = event.retention_measure_recorded().measure();
      break;
    case v1::InteractionEvent::kChurnReviewScheduled:
      if (!exists) break;
      state.set_review_date(event.churn_review_scheduled().review_date());
      state.set_review_note(event.churn_review_scheduled().note());
      state.set_review_overdue_reported(false);
      break;
    case v1::InteractionEvent::kChurnCaseReviewOverdue:
      if (!exists) break;
      if (event.churn_case_review_overdue().review_date() == state.review_date()) {
        state.set_review_overdue_reported(true);
      }
      break;
    case v1::InteractionEvent::kChurnCaseRetained: {
      if (!exists) break;
      const v1::ChurnCaseRetained& r = event.churn_case_retained();
      Close(state, v1::CHURN_CASE_STATUS_RETAINED, meta);
      state.set_retained_by_risk_cleared(r.risk_cleared());
      state.set_closing_note(r.note());
      break;
    }
    case v1::InteractionEvent::kChurnLossConfirmed: {
      if (!exists) break;
      const v1::ChurnLossConfirmed& l = event.churn_loss_confirmed();
      Close(state, v1::CHURN_CASE_STATUS_LOST, meta);
      state.set_loss_reason(l.reason());
      state.set_loss_reason_text(l.reason_text());
      state.set_closing_note(l.note());
      break;
    }
    case v1::InteractionEvent::kChurnCaseWonBack:
      if (!exists) break;
      *state.mutable_win_back() = event.churn_case_won_back().win_back();
      break;
    case v1::InteractionEvent::kChurnCaseReassigned:
      if (!exists) break;
      state.set_owner(event.churn_case_reassigned().to_owner());
      state.set_region(event.churn_case_reassigned().to_region());
      break;
    default:
      break;
  }
  state.set_version(meta.version);
  *state.mutable_updated_at() = ToProtoTimestamp(meta.occurred_at);
}

}  // namespace crm::interaction
