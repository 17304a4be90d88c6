// What the interaction service knows about customers, from other services' events:
// owner and region (for validation and scoping), contacts' birthdays (for birthday
// wishes) from crm.customer.v1.events, and classes per scheme (revisit cadence)
// from crm.classification.v1.events. A class change marks the customer for the
// revisit planner.
//
//   DirectoryHandler handler;
//   ConsumerRunner::Start(*store, handler, {.group_id = "crm-interaction",
//       .topics = {"crm.customer.v1.events", "crm.classification.v1.events"}});
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crm/customer/v1/customer.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/consumer_runner.h"

namespace crm::interaction {

// customer id -> crm.customer.v1.Customer holding only id, owner, region, access
// grants and contacts (contact id, name, birthday).
inline constexpr std::string_view kDirectoryProjection = "directory";
// "<customer id>/<scheme number>" -> class name.
inline constexpr std::string_view kClassesProjection = "classes";
// "<customer id>/<cause>" -> "" while the customer's revisits may need (re)planning.
inline constexpr std::string_view kPlanQueueProjection = "revisit_plan_queue";

// Deterministic; called from the runner's thread.
class DirectoryHandler final : public messaging::EventHandler {
 public:
  absl::Status Handle(const messaging::ConsumedEvent& event, const messaging::BatchView& view,
                      std::vector<eventstore::ProjectionWrite>& out) override;
};

// The directory row of a customer, std::nullopt when unknown.
absl::StatusOr<std::optional<customer::v1::Customer>> LoadDirectoryEntry(
    eventstore::EventStore& store, std::string_view customer_id);

// The customer's classes by scheme number (classification::v1::Scheme).
absl::StatusOr<std::map<int, std::string>> LoadClasses(eventstore::EventStore& store,
                                                       std::string_view customer_id);

}  // namespace crm::interaction
