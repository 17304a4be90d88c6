// What crm-interaction consumes: the customer directory (libs/directory) from
// crm.customer.v1.events and crm.classification.v1.events, with this service's
// follow-up: a new customer or a class change queues the customer for revisit
// planning (kPlanQueueProjection, "<customer>/<messaging::EventToken>"); owner
// and other changes queue nothing.
//
//   std::unique_ptr<messaging::EventHandler> handler = NewInteractionConsumer();
#pragma once

#include <memory>
#include <vector>

#include "crm/directory/customer_directory.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/consumer_runner.h"

namespace crm::interaction {

// The follow-up to the directory's changes (directory::DirectoryHandlerOptions::on_change).
void QueueRevisitPlanning(const directory::DirectoryChange& change,
                          std::vector<eventstore::ProjectionWrite>& out);

// The directory handler with QueueRevisitPlanning.
std::unique_ptr<messaging::EventHandler> NewInteractionConsumer();

}  // namespace crm::interaction
