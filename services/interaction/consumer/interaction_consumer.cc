#include "crm/interaction/consumer/interaction_consumer.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "crm/interaction/projection/interaction_projection.h"

namespace crm::interaction {

void QueueRevisitPlanning(const directory::DirectoryChange& change,
                          std::vector<eventstore::ProjectionWrite>& out) {
  // A new customer gets its first revisit planned; a class change may change the
  // cadence. Keys are "<customer>/<cause>", one per cause, so that the planner
  // deletes exactly the entries it handled and never one that arrived meanwhile.
  if (change.kind != directory::DirectoryChange::kNewCustomer &&
      change.kind != directory::DirectoryChange::kClassChanged) {
    return;
  }
  out.push_back(eventstore::ProjectionWrite::Put(
      std::string(kPlanQueueProjection), absl::StrCat(change.customer_id, "/", change.event), ""));
}

std::unique_ptr<messaging::EventHandler> NewInteractionConsumer() {
  return std::make_unique<directory::DirectoryHandler>(
      directory::DirectoryHandlerOptions{.on_change = QueueRevisitPlanning});
}

}  // namespace crm::interaction
