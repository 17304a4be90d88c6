// The campaign aggregate (DOMAIN.md §6, 市场营销): a marketing campaign for a
// chosen set of customers, with its costs, invitations, responses, attendance
// and outcome notes, as pure functions. Each campaign is one stream
// (`campaign-<id>`) whose state is a v1::Campaign folded by ApplyCampaign; its
// events are kinds of v1::InteractionEvent with campaign_id set, and
// customer_id set on the per-customer kinds (response, attendance).
//
//   CampaignContext ctx{.actor = caller.subject, .now = clock.Now()};
//   ASSIGN_OR_RETURN(Events events, DecidePlanCampaign(request, NewId(), caller.region, ctx));
//
// Status: PLANNED (details and selection may change: UpdateCampaign) → RUNNING
// (StartCampaign freezes the target list the service resolved: CampaignStarted
// and CampaignTargetsFrozen events in one append) → CLOSED (CloseCampaign); a
// PLANNED campaign may be closed too (cancelled: it never had targets).
// Costs are recorded while PLANNED or RUNNING; invitations, responses,
// attendance and outcome notes while RUNNING.
//
// The per-target facts a command needs (is the customer a target, was it
// invited, its response, whether it attended) come as arguments: the service
// reads the target's row. Targets are not part of the state (a campaign may have
// kMaxCampaignTargets); the state keeps their counts, which the events make
// foldable on their own: a response carries the target's previous one (only a
// first response counts), an attendance is recorded only when it changes.
//
// Errors (nothing is decided then):
// - NOT_FOUND "campaign not found" for a state at version 0 (all but plan);
// - INVALID_ARGUMENT "<field path>: ..." (checked before the state is consulted);
// - FAILED_PRECONDITION "status: campaign is RUNNING" when the status does not
//   allow the command; "customer_ids[2]: customer c-9 is not a target";
//   "selection: matches no customer the caller may see"; bounds on costs and notes.
// Who may call what is the service's check, not this file's.
//
// Thread safety: all functions are pure and reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/domain/aggregate.h"
#include "crm/interaction/domain/interaction_aggregate.h"
#include "crm/interaction/v1/campaign.pb.h"
#include "crm/interaction/v1/campaign_service.pb.h"
#include "crm/interaction/v1/interaction_events.pb.h"

namespace crm::interaction {

// Largest budget or cost entry: 10^14 minor units.
inline constexpr int64_t kMaxCampaignAmountMinor = 100'000'000'000'000;
// Most values of one selection filter, and explicit customers of a selection.
inline constexpr int kMaxSelectionValues = 100;
inline constexpr int kMaxSelectionCustomers = 1000;
// Most cost entries, outcome notes and targets of one campaign.
inline constexpr int kMaxCampaignCosts = 200;
inline constexpr int kMaxCampaignOutcomeNotes = 200;
inline constexpr int kMaxCampaignTargets = 50000;
// Most customers of one CampaignTargetsFrozen or CampaignInvitationsSent event,
// and most bytes of their ids (an event stays well under the pipeline's limit).
inline constexpr int kMaxTargetsPerEvent = 1000;
inline constexpr size_t kMaxTargetBytesPerEvent = 160 << 10;
// Most customers of one RecordCampaignInvitations.
inline constexpr int kMaxInvitationsPerCall = 1000;
// Length of a cost entry's description.
inline constexpr size_t kMaxCostDescriptionLength = 500;

// Actor and time of a decision (no clock is read here).
using CampaignContext = DecideContext;

// "RUNNING" (the enum name without its prefix).
std::string CampaignStatusName(v1::CampaignStatus status);

// CampaignPlanned (PLANNED). Details: name 1..200 (trimmed), type required,
// start_date and end_date required dates with end_date not before start_date,
// budget optional (an ISO 4217 currency, 0..kMaxCampaignAmountMinor),
// description ≤ 2000. Selection: see ValidateSelection. Owner (≤ 256 bytes)
// defaults to the actor; `region` is the planner's. Field paths
// "details.name", "selection.regions[3]", ...
absl::StatusOr<Events> DecidePlanCampaign(const v1::PlanCampaignRequest& request,
                                          std::string_view campaign_id, std::string_view region,
                                          const CampaignContext& ctx);
// CampaignUpdated: details and selection replaced (the rules of plan).
// FAILED_PRECONDITION unless PLANNED, or when nothing changes.
absl::StatusOr<Events> DecideUpdateCampaign(const v1::Campaign& state,
                                            const v1::UpdateCampaignRequest& request,
                                            const CampaignContext& ctx);
// CampaignStarted{target_count} followed by CampaignTargetsFrozen events of at
// most kMaxTargetsPerEvent targets (and kMaxTargetBytesPerEvent of ids) each.
// `targets`: the resolved list (customer_id, owner, region; distinct), in the
// order to freeze. FAILED_PRECONDITION unless PLANNED; "selection: matches no
// customer the caller may see" when empty; "selection: matches more than 50000
// customers".
absl::StatusOr<Events> DecideStartCampaign(const v1::Campaign& state,
                                           const std::vector<v1::CampaignTarget>& targets,
                                           const CampaignContext& ctx);
// CampaignCostRecorded with cost_id "<n>" (n = entries so far + 1), recorded_by
// the actor, recorded_at now. cost.amount > 0 (≤ kMaxCampaignAmountMinor) of an
// ISO 4217 currency; description 1..500; incurred_on a date (default: now's UTC
// day). FAILED_PRECONDITION unless PLANNED or RUNNING, or at kMaxCampaignCosts.
absl::StatusOr<Events> DecideRecordCampaignCost(const v1::Campaign& state,
                                                const v1::RecordCampaignCostRequest& request,
                                                const CampaignContext& ctx);
// CampaignInvitationsSent for the targets not invited yet (none: no events).
// customer_ids: 1..kMaxInvitationsPerCall ids; `targets[i]` is the target row of
// customer_ids[i] (std::nullopt: not a target: FAILED_PRECONDITION
// "customer_ids[i]: customer X is not a target"). FAILED_PRECONDITION unless
// RUNNING. Repeated ids count once.
absl::StatusOr<Events> DecideRecordCampaignInvitations(
    const v1::Campaign& state, const v1::RecordCampaignInvitationsRequest& request,
    const std::vector<std::optional<v1::CampaignTarget>>& targets, const CampaignContext& ctx);
// CampaignResponseRecorded (customer_id set; `previous` the target's response so
// far): customer_id required, response required, note ≤ 2000; `target` the
// customer's target row (std::nullopt: FAILED_PRECONDITION "customer_id: ... is
// not a target"). FAILED_PRECONDITION unless RUNNING.
absl::StatusOr<Events> DecideRecordCampaignResponse(
    const v1::Campaign& state, const v1::RecordCampaignResponseRequest& request,
    const std::optional<v1::CampaignTarget>& target, const CampaignContext& ctx);
// CampaignAttendanceRecorded (customer_id set) when `attended` differs from the
// target's; no events when it does not. As for a response otherwise.
absl::StatusOr<Events> DecideRecordCampaignAttendance(
    const v1::Campaign& state, const v1::RecordCampaignAttendanceRequest& request,
    const std::optional<v1::CampaignTarget>& target, const CampaignContext& ctx);
// CampaignOutcomeRecorded: note 1..2000. FAILED_PRECONDITION unless RUNNING, or
// at kMaxCampaignOutcomeNotes.
absl::StatusOr<Events> DecideRecordCampaignOutcome(const v1::Campaign& state,
                                                   const v1::RecordCampaignOutcomeRequest& request,
                                                   const CampaignContext& ctx);
// CampaignClosed: note ≤ 2000. FAILED_PRECONDITION unless PLANNED or RUNNING (a
// planned campaign that will not run is cancelled: closed without a target list).
absl::StatusOr<Events> DecideCloseCampaign(const v1::Campaign& state,
                                           const v1::CloseCampaignRequest& request,
                                           const CampaignContext& ctx);

// A selection's bounds: at most kMaxSelectionValues values per filter
// ("selection.regions: at most 100 items"; regions ids ≤ 256 bytes, industries
// 1..200 characters; lifecycles and classes' schemes known values, not
// UNSPECIFIED; class_name 1..200), at most kMaxSelectionCustomers customer_ids
// (ids); at least one filter or customer id ("selection: choose at least one
// filter or customer id"). `field` prefixes the paths.
absl::Status ValidateSelection(std::string_view field, const v1::TargetSelection& selection);

// Folds one event: sets version, updated_at and updated_by; the planning event
// also campaign_id, created_by and created_at; start and close their times.
// Counts: target_count from CampaignStarted, invited_count by the invitations,
// responded_count by first responses, attended_count up or down by an
// attendance. Kinds that are not the campaign's only move the version. Never
// fails.
void ApplyCampaign(v1::Campaign& state, const v1::InteractionEvent& event,
                   const domain::EventMeta& meta);

// Folds one event into the campaign's target records by customer id (the frozen
// list, invitations, responses, attendance; the row's updated_by the actor of
// the latest of these). Other kinds change nothing. Never fails.
void ApplyCampaignTargets(std::map<std::string, v1::CampaignTarget>& targets,
                          const v1::InteractionEvent& event, const domain::EventMeta& meta);

}  // namespace crm::interaction
