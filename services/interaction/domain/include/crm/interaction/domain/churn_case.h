// The churn case aggregate (DOMAIN.md §6, churn handling; 客户流失管理): a
// customer's churn warnings acted on by its owner, as pure functions. Each case
// is one stream (`churn-case-<id>`) whose state is a v1::ChurnCase folded by
// ApplyChurnCase; its events are kinds 50.. of v1::InteractionEvent (they travel
// on crm.interaction.v1.events), each with churn_case_id and customer_id set.
//
//   ChurnContext ctx{.actor = caller.subject, .now = clock.Now()};
//   ASSIGN_OR_RETURN(Events events, DecideRecordMeasure(state, request, ctx));
//
// Lifecycle: a warning (crm-classification's ChurnRiskRaised) opens the case
// (OPEN) for the customer's owner; further warnings are added to it while it is
// open, and it follows the customer to a new owner or region (crm-customer's
// OwnerAssigned) while it is open; the owner records
// retention measures and may postpone the loss to a review date (暂缓流失),
// after which the case is overdue (reported once per review date); the case
// closes RETAINED (by hand, or when ChurnRiskCleared arrives) or LOST (the loss
// confirmed with its reason). A LOST case records a win-back once.
//
// Errors (nothing is decided then):
// - NOT_FOUND "churn case not found" for a state at version 0 (the commands a
//   person sends: measure, postpone, retain, confirm);
// - INVALID_ARGUMENT "<field path>: ..." (checked before the state is consulted,
//   e.g. "measure.action: required", "review_date: must be after today (...)");
// - FAILED_PRECONDITION "status: case is RETAINED" (or LOST) for a command the
//   status does not allow; "measures: at most 200".
// The reactions to consumed events (open-or-add, retain on risk cleared, won
// back, reassign, overdue) decide nothing (OK, no events) when they do not apply, so that
// a late or repeated event changes nothing.
// Who may call what is the service's check, not this file's.
//
// Thread safety: all functions are pure and reentrant.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/domain/aggregate.h"
#include "crm/interaction/domain/interaction_aggregate.h"
#include "crm/interaction/v1/churn.pb.h"
#include "crm/interaction/v1/churn_service.pb.h"
#include "crm/interaction/v1/interaction_events.pb.h"

namespace crm::interaction {

// Most warnings kept in the state (the newest; warning_count counts all).
inline constexpr int kMaxWarningsInRow = 100;
// Most retention measures of one case.
inline constexpr int kMaxMeasures = 200;

// Actor and time of a decision (no clock is read here).
using ChurnContext = DecideContext;

// True for CHURN_CASE_STATUS_OPEN.
bool IsOpenCase(const v1::ChurnCase& state);
// "RETAINED" (the enum name without its prefix).
std::string ChurnStatusName(v1::ChurnCaseStatus status);
// "PRICE", "SERVICE_QUALITY", ... (the enum name without its prefix).
std::string LossReasonName(v1::ChurnLossReason reason);

// A warning for the customer: on a new case (version 0) one ChurnCaseOpened
// (owner, region and classes as the service resolved them now; case_id and
// customer_id required, warning.event_id required); on an open case one
// ChurnWarningAdded, or no events when a warning with the same event_id is
// already in `warnings`; on a closed case FAILED_PRECONDITION "status: case is
// RETAINED" (the service opens a new case instead).
absl::StatusOr<Events> DecideOpenOrAddWarning(const v1::ChurnCase& state,
                                              const std::string& case_id,
                                              const std::string& customer_id,
                                              const std::string& owner, const std::string& region,
                                              const v1::ChurnWarning& warning,
                                              const std::vector<v1::SchemeClass>& classes,
                                              const ChurnContext& ctx);

// RetentionMeasureRecorded with measure_id "<measures so far + 1>": measure.action
// 1..2000 characters; measure.taken_on "YYYY-MM-DD" (default: ctx.now's UTC day),
// not in the future (domain::ValidatePastDate); measure.taken_by an id (default
// ctx.actor); measure.interaction_id an optional id (whether it names a visit or
// follow-up of the customer is the service's check); recorded_by = ctx.actor,
// recorded_at = ctx.now. OPEN only; at most kMaxMeasures.
absl::StatusOr<Events> DecideRecordMeasure(const v1::ChurnCase& state,
                                           const v1::RecordRetentionMeasureRequest& request,
                                           const ChurnContext& ctx);

// ChurnReviewScheduled: review_date required, a valid date after ctx.now's UTC
// day; note ≤ 2000. OPEN only. Applying it clears review_overdue_reported.
absl::StatusOr<Events> DecidePostponeChurn(const v1::ChurnCase& state,
                                           const v1::PostponeChurnRequest& request,
                                           const ChurnContext& ctx);

// ChurnCaseReviewOverdue{review_date, detected_at = ctx.now}, at most once per
// review date: no events (OK) unless the case is OPEN, has a review date before
// ctx.now's UTC day, and it was not yet reported.
absl::StatusOr<Events> DecideReportReviewOverdue(const v1::ChurnCase& state,
                                                 const ChurnContext& ctx);

// True when DecideReportReviewOverdue would report the case at `now`.
bool IsReviewOverdue(const v1::ChurnCase& state, absl::Time now);

// ChurnCaseRetained by hand: note ≤ 2000. OPEN only.
absl::StatusOr<Events> DecideRetainChurnCase(const v1::ChurnCase& state,
                                             const v1::RetainChurnCaseRequest& request,
                                             const ChurnContext& ctx);

// ChurnCaseRetained{risk_cleared = true, score} when a ChurnRiskCleared arrives
// for an OPEN case; no events otherwise (also at version 0).
absl::StatusOr<Events> DecideRetainOnRiskCleared(const v1::ChurnCase& state, double score,
                                                 const ChurnContext& ctx);

// ChurnLossConfirmed{reason, reason_text, note, owner and region of the case}:
// reason required (a defined value); reason_text required for OTHER (1..2000),
// ≤ 2000 otherwise; note ≤ 2000. OPEN only.
absl::StatusOr<Events> DecideConfirmChurn(const v1::ChurnCase& state,
                                          const v1::ConfirmChurnRequest& request,
                                          const ChurnContext& ctx);

// ChurnCaseWonBack when the case is LOST and has no win-back yet; no events
// otherwise (also at version 0).
absl::StatusOr<Events> DecideChurnWonBack(const v1::ChurnCase& state,
                                          const v1::WinBack& win_back, const ChurnContext& ctx);

// ChurnCaseReassigned{from = the case's owner and region, to = to_owner and
// to_region} when the customer's owner or region changed (crm-customer's
// OwnerAssigned): the case follows its customer while it is OPEN. to_owner and
// to_region are optional ids (INVALID_ARGUMENT "to_owner: ..." otherwise); no
// events when the case does not exist (version 0), is closed (it keeps the owner
// it had) or already has that owner and region.
absl::StatusOr<Events> DecideReassignChurnCase(const v1::ChurnCase& state,
                                               const std::string& to_owner,
                                               const std::string& to_region,
                                               const ChurnContext& ctx);

// Folds one event: sets version and updated_at; ChurnCaseOpened sets case_id,
// customer_id, owner, region, classes, status OPEN and opened_at; a close sets
// status, closed_at and closed_by from the meta; ChurnCaseReassigned sets owner
// and region. Keeps the newest
// kMaxWarningsInRow warnings (warning_count counts all). Kinds that are not the
// case's only move the version. Never fails.
void ApplyChurnCase(v1::ChurnCase& state, const v1::InteractionEvent& event,
                    const domain::EventMeta& meta);

}  // namespace crm::interaction
