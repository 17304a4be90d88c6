// The interaction service's read model: the current Interaction row per id, and
// indexes for the timeline (per customer, oldest first), lists (by owner, region,
// all; newest first), planned revisits by due date, and each customer's open
// revisit. Rows are computed from a state change and committed with the events.
// Also the revisit planning queue. The customer directory and classes come from
// libs/directory (crm/directory/customer_directory.h).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/eventstore/event_store.h"
#include "crm/interaction/v1/interaction.pb.h"

namespace crm::interaction {

inline constexpr std::string_view kInteractionsProjection = "interactions";
inline constexpr std::string_view kInteractionIndexProjection = "interaction_index";
// "<customer id>/<interaction id>" -> "" for each PLANNED revisit (normally one;
// two for a moment while the planner replaces one).
inline constexpr std::string_view kOpenRevisitProjection = "open_revisit";
// "<customer id>/<cause>" -> "" while the customer's revisits may need (re)planning.
// Causes: "<messaging::EventToken>" (a new customer or a class change, queued by the
// directory consumer) and "done-<interaction id>" (a completed revisit).
inline constexpr std::string_view kPlanQueueProjection = "revisit_plan_queue";

std::string StreamFor(std::string_view interaction_id);

// Rows to write when an interaction goes from `before` (empty when new) to `after`.
std::vector<eventstore::ProjectionWrite> RowWrites(const v1::Interaction& before,
                                                   const v1::Interaction& after);

absl::StatusOr<std::optional<v1::Interaction>> LoadInteraction(eventstore::EventStore& store,
                                                               std::string_view interaction_id);

// The customer's PLANNED revisits.
absl::StatusOr<std::vector<v1::Interaction>> LoadOpenRevisits(eventstore::EventStore& store,
                                                              std::string_view customer_id);

struct Page {
  std::vector<v1::Interaction> interactions;
  std::string next_page_token;
};

// Which index to walk. kTimeline: one customer, oldest first; kCustomerNewest /
// kOwner / kRegion / kAll: newest first; kDue: PLANNED revisits by due date
// (value unused).
enum class Index { kTimeline, kCustomerNewest, kOwner, kRegion, kAll, kDue };

struct Query {
  Index index = Index::kAll;
  std::string value;  // customer id, owner or region
  size_t page_size = 50;
  std::string page_token;
  std::string binding;  // what the token is bound to: command::PageBinding
  size_t max_examined = 5000;
  // Stop walking kDue at revisits due after this time.
  std::optional<absl::Time> due_until;
};

// Walks the index; keeps rows for which `keep` is true. INVALID_ARGUMENT
// "page_token: ..." for a token of another query.
absl::StatusOr<Page> ListInteractions(eventstore::EventStore& store, const Query& query,
                                      const std::function<bool(const v1::Interaction&)>& keep);

}  // namespace crm::interaction
