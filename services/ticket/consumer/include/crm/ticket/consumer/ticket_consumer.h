// What crm-ticket consumes: the customer directory (libs/directory) from
// crm.customer.v1.events and crm.classification.v1.events, with this service's
// follow-up: a class change queues the customer's open tickets for new deadlines
// (kRecomputeQueueProjection, "<customer>/<messaging::EventToken>").
//
//   std::unique_ptr<messaging::EventHandler> handler = NewTicketConsumer();
#pragma once

#include <memory>
#include <vector>

#include "crm/directory/customer_directory.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/consumer_runner.h"

namespace crm::ticket {

// The follow-up to the directory's changes (directory::DirectoryHandlerOptions::on_change).
void QueueSlaRecompute(const directory::DirectoryChange& change,
                       std::vector<eventstore::ProjectionWrite>& out);

// The directory handler with QueueSlaRecompute.
std::unique_ptr<messaging::EventHandler> NewTicketConsumer();

}  // namespace crm::ticket
