// The opportunity aggregate (DOMAIN.md §6, 销售机会 / 客户开发计划): a sales
// opportunity with its stages and its development plan, as pure functions. Each
// opportunity is one stream (`opportunity-<id>`) whose state is a v1::Opportunity
// folded by ApplyOpportunity; its events are kinds of v1::InteractionEvent (so
// they travel on crm.interaction.v1.events with the interactions), each with
// opportunity_id, customer_id and opportunity_figures (the figures after it) set.
//
//   SalesContext ctx{.actor = caller.subject, .now = clock.Now(), .stages = &table};
//   ASSIGN_OR_RETURN(Events events, DecideCreateOpportunity(request, NewId(), customer, ctx));
//
// Stages: QUALIFICATION → NEEDS_ANALYSIS → PROPOSAL → NEGOTIATION, moving forward
// or back between any two open stages (MoveStage), then WON (Win) or LOST (Lose)
// from any open stage; a closed one is reopened (Reopen) to an open stage. Each
// open stage has a default probability (StageTable, configurable); a stage move
// takes the new stage's default unless the request overrides it; SetProbability
// overrides (or restores) the current stage's. WON is 100, LOST 0.
//
// Errors (nothing is decided then):
// - NOT_FOUND "opportunity not found" for a state at version 0 (all but create);
// - INVALID_ARGUMENT "<field path>: ..." (checked before the state is consulted);
// - FAILED_PRECONDITION "<field>: ..." naming the current stage when the stage
//   does not allow the command ("stage: opportunity is WON", "stage: already in
//   PROPOSAL", "stage: opportunity is open (NEGOTIATION)").
// Who may call what (managers for Assign and Reopen) is the service's check, not
// this file's.
//
// Thread safety: all functions are pure and reentrant.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/domain/aggregate.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/interaction/v1/opportunity.pb.h"
#include "crm/interaction/v1/sales_service.pb.h"

namespace crm::interaction {

// Largest amount an opportunity may carry: 10^14 minor units (10^12 yuan).
inline constexpr int64_t kMaxOpportunityAmountMinor = 100'000'000'000'000;
// Most steps of one development plan.
inline constexpr int kMaxPlanSteps = 200;
// Most entries of stage_history and owner_history kept in the state (the newest;
// GetOpportunityHistory reads every change from the log).
inline constexpr int kMaxHistoryInRow = 100;

// The default probability (0..100) of each open stage.
struct StageTable {
  int qualification = 10;
  int needs_analysis = 25;
  int proposal = 50;
  int negotiation = 75;

  // The default of `stage`: the table's for an open stage, 100 for WON, 0 else.
  int Default(v1::OpportunityStage stage) const;
};

// Parses "qualification=10,needs_analysis=25,proposal=50,negotiation=75" (any
// subset, in any order; "" keeps every default). INVALID_ARGUMENT for an unknown
// stage name or a value outside 0..100.
absl::StatusOr<StageTable> ParseStageTable(std::string_view spec);

struct SalesContext {
  std::string actor;
  absl::Time now;
  // Required.
  const StageTable* stages = nullptr;
};

using Events = std::vector<v1::InteractionEvent>;

// True for QUALIFICATION..NEGOTIATION.
bool IsOpenStage(v1::OpportunityStage stage);
// "PROPOSAL" (the enum name without its prefix).
std::string StageName(v1::OpportunityStage stage);

// OpportunityCreated (stage QUALIFICATION at its default probability). Details:
// title 1..200 (trimmed), source required, campaign_id required for CAMPAIGN
// (≤ 256 bytes), expected_amount required (0..kMaxOpportunityAmountMinor, a
// currency ISO 4217 lists), expected_close_date a date not before ctx.now's UTC
// day, contact ≤ 256, description ≤ 2000; owner (≤ 256 bytes) defaults to the
// customer's owner, else the actor. Field paths: "details.title", ...
absl::StatusOr<Events> DecideCreateOpportunity(const v1::CreateOpportunityRequest& request,
                                               std::string_view opportunity_id,
                                               const domain::CustomerRef& customer,
                                               const SalesContext& ctx);
// OpportunityUpdated: the details replaced (the rules of create; the close date
// not before the day of creation). Allowed in any stage.
absl::StatusOr<Events> DecideUpdateOpportunity(const v1::Opportunity& state,
                                               const v1::UpdateOpportunityRequest& request,
                                               const SalesContext& ctx);
// Ids and subjects (owner, responsible, campaign_id, step_id, interaction_id):
// at most 256 bytes, no control characters.
// OpportunityAssigned: owner required (≤ 256 bytes), not the current owner
// (FAILED_PRECONDITION "owner: already ..."); reason ≤ 2000. `region` is the
// customer's region now (kept when empty).
absl::StatusOr<Events> DecideAssignOpportunity(const v1::Opportunity& state,
                                               const v1::AssignOpportunityRequest& request,
                                               std::string_view region, const SalesContext& ctx);
// OpportunityStageChanged: stage an open stage other than the current one;
// probability (when set) 0..100. FAILED_PRECONDITION when closed or already there.
absl::StatusOr<Events> DecideMoveStage(const v1::Opportunity& state,
                                       const v1::MoveOpportunityStageRequest& request,
                                       const SalesContext& ctx);
// OpportunityProbabilitySet: 0..100, or unset for the stage's default.
// FAILED_PRECONDITION when closed, or when nothing would change.
absl::StatusOr<Events> DecideSetProbability(const v1::Opportunity& state,
                                            const v1::SetOpportunityProbabilityRequest& request,
                                            const SalesContext& ctx);
// OpportunityWon: final_amount required, 1..kMaxOpportunityAmountMinor of a
// known currency. FAILED_PRECONDITION unless open.
absl::StatusOr<Events> DecideWin(const v1::Opportunity& state,
                                 const v1::WinOpportunityRequest& request,
                                 const SalesContext& ctx);
// OpportunityLost: reason required (reason_text required for OTHER, ≤ 2000),
// competitor ≤ 200. FAILED_PRECONDITION unless open.
absl::StatusOr<Events> DecideLose(const v1::Opportunity& state,
                                  const v1::LoseOpportunityRequest& request,
                                  const SalesContext& ctx);
// OpportunityReopened: reason required (≤ 2000); stage an open stage, or unset
// for the stage it was closed from. FAILED_PRECONDITION unless WON or LOST.
absl::StatusOr<Events> DecideReopen(const v1::Opportunity& state,
                                    const v1::ReopenOpportunityRequest& request,
                                    const SalesContext& ctx);
// PlanStepAdded with step_id "<n>" (n = steps so far + 1): planned_date a date,
// action 1..2000, responsible ≤ 256 bytes (default: the owner). At most
// kMaxPlanSteps. FAILED_PRECONDITION unless open.
absl::StatusOr<Events> DecideAddPlanStep(const v1::Opportunity& state,
                                         const v1::AddPlanStepRequest& request,
                                         const SalesContext& ctx);
// PlanStepCompleted: step_id required (NOT_FOUND "step_id: ..." when unknown),
// result 1..2000, interaction_id ≤ 256 bytes (whether it names a visit or
// follow-up of the customer is the service's check). FAILED_PRECONDITION when
// the step is already DONE.
absl::StatusOr<Events> DecideCompletePlanStep(const v1::Opportunity& state,
                                              const v1::CompletePlanStepRequest& request,
                                              const SalesContext& ctx);
// PlanStepOverdue for `step_id`, at most once: EMPTY (OK) unless the opportunity
// is open, the step is PLANNED and not yet reported, and ctx.now's UTC day is
// after its planned date.
absl::StatusOr<Events> DecideReportStepOverdue(const v1::Opportunity& state,
                                               std::string_view step_id,
                                               const SalesContext& ctx);

// The ids of the steps DecideReportStepOverdue would report at `now`.
std::vector<std::string> OverdueStepIds(const v1::Opportunity& state, absl::Time now);

// Folds one event (keeping the newest kMaxHistoryInRow stage and owner
// changes): sets version and updated_at; the creating event also sets
// opportunity_id, customer_id, created_by and created_at; a close sets closed_at
// and closed_by from the meta. Kinds that are not the opportunity's only move
// the version. Never fails.
void ApplyOpportunity(v1::Opportunity& state, const v1::InteractionEvent& event,
                      const domain::EventMeta& meta);

// The opportunity's figures (OpportunityFigures) of a state.
v1::OpportunityFigures FiguresOf(const v1::Opportunity& state);

}  // namespace crm::interaction
