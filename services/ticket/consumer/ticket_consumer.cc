#include "crm/ticket/consumer/ticket_consumer.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "crm/ticket/projection/ticket_projection.h"

namespace crm::ticket {

void QueueSlaRecompute(const directory::DirectoryChange& change,
                       std::vector<eventstore::ProjectionWrite>& out) {
  if (change.kind != directory::DirectoryChange::kClassChanged) return;
  out.push_back(eventstore::ProjectionWrite::Put(
      std::string(kRecomputeQueueProjection), absl::StrCat(change.customer_id, "/", change.event),
      ""));
}

std::unique_ptr<messaging::EventHandler> NewTicketConsumer() {
  return std::make_unique<directory::DirectoryHandler>(
      directory::DirectoryHandlerOptions{.on_change = QueueSlaRecompute});
}

}  // namespace crm::ticket
