// The read model of opportunities: the current Opportunity row per id, an index
// for lists (by customer, owner, region, all; each by expected close date), and
// the development plans' PLANNED steps of open opportunities: by planned date
// (for the overdue reporter) and by responsible person (the to-do list). Rows are
// computed from a state change and committed with the events.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/eventstore/event_store.h"
#include "crm/interaction/v1/opportunity.pb.h"

namespace crm::interaction {

inline constexpr std::string_view kOpportunitiesProjection = "opportunities";
inline constexpr std::string_view kOpportunityIndexProjection = "opportunity_index";
// "<planned date>\0<opportunity id>\0<step id>" for each PLANNED step of an open
// opportunity not yet reported overdue.
inline constexpr std::string_view kPlanDueProjection = "plan_due";
// "<responsible>\0<planned date>\0<opportunity id>\0<step id>" for each PLANNED
// step of an open opportunity.
inline constexpr std::string_view kPlanTodoProjection = "plan_todo";
// "<campaign id>\0<opportunity id>" for every campaign the opportunity named as
// its source (CAMPAIGN with that campaign_id), now or before: never removed, so
// that a report as of a past time finds what was sourced from the campaign then.
inline constexpr std::string_view kCampaignOpportunitiesProjection = "campaign_opportunities";

std::string OpportunityStreamFor(std::string_view opportunity_id);

// Rows to write when an opportunity goes from `before` (empty when new) to `after`.
std::vector<eventstore::ProjectionWrite> OpportunityRowWrites(const v1::Opportunity& before,
                                                              const v1::Opportunity& after);

absl::StatusOr<std::optional<v1::Opportunity>> LoadOpportunity(eventstore::EventStore& store,
                                                               std::string_view opportunity_id);

// Which index a list walks; each orders by expected close date, then id.
enum class OpportunityIndex { kCustomer, kOwner, kRegion, kAll };

struct OpportunityQuery {
  OpportunityIndex index = OpportunityIndex::kAll;
  std::string value;  // customer id, owner or region
  size_t page_size = 50;
  std::string page_token;
  std::string binding;  // what the token is bound to: command::PageBinding
  size_t max_examined = 5000;
};

struct OpportunityPage {
  std::vector<v1::Opportunity> opportunities;
  std::string next_page_token;
};

// Walks the index; keeps rows for which `keep` is true.
absl::StatusOr<OpportunityPage> ListOpportunities(
    eventstore::EventStore& store, const OpportunityQuery& query,
    const std::function<bool(const v1::Opportunity&)>& keep);

// Every opportunity row, in id order, handed to `visit` (stops at an error).
absl::Status ForEachOpportunity(eventstore::EventStore& store,
                                const std::function<absl::Status(const v1::Opportunity&)>& visit);

// The opportunities whose source is or was campaign `campaign_id`, in id order,
// handed to `visit` (stops at an error); whether it is now (or was at a time)
// is the caller's check.
absl::Status ForEachCampaignOpportunity(
    eventstore::EventStore& store, const std::string& campaign_id,
    const std::function<absl::Status(const v1::Opportunity&)>& visit);

struct StepRef {
  std::string opportunity_id;
  std::string step_id;
  std::string planned_date;
};

// PLANNED, unreported steps of open opportunities planned before `day`
// ("YYYY-MM-DD"), oldest first, at most `limit`.
absl::StatusOr<std::vector<StepRef>> StepsPlannedBefore(eventstore::EventStore& store,
                                                        const std::string& day, size_t limit);

struct TodoPage {
  std::vector<StepRef> steps;
  std::string next_page_token;
};

// PLANNED steps of open opportunities of `responsible` planned before `day`,
// oldest first; `keep` filters by the opportunity. `binding`: what the token is
// bound to (command::PageBinding).
absl::StatusOr<TodoPage> ListTodo(eventstore::EventStore& store, const std::string& responsible,
                                  const std::string& day, size_t page_size,
                                  const std::string& page_token, const std::string& binding,
                                  const std::function<bool(const std::string&)>& keep);

}  // namespace crm::interaction
