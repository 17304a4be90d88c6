// What crm-interaction consumes:
// - the customer directory (libs/directory) from crm.customer.v1.events and
//   crm.classification.v1.events, with this service's follow-up: a new customer
//   or a class change queues the customer for revisit planning
//   (kPlanQueueProjection, "<customer>/<messaging::EventToken>"); owner and other
//   changes queue nothing;
// - churn signals for the churn cases (ChurnApp::ApplyChurnSignals): every
//   ChurnRiskRaised and ChurnRiskCleared (crm.classification.v1.events), every
//   OwnerAssigned (the open case follows its customer's owner) and every
//   LifecycleChanged that wins a CHURNED customer back (crm.customer.v1.events) is
//   queued as messaging::QueuedCopy in kChurnSignalQueueProjection, key
//   "<customer>/<occurred_at, Unix µs, 20 digits>/<messaging::EventToken>" (a
//   customer's signals in the order they happened). The rows commit with the consumer
//   offset, so a signal is queued once per delivery; the worker's command id (the
//   event token) makes a second delivery or a replay change nothing.
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

// Queues `event` for the churn cases when it is a churn signal (see above);
// writes nothing for anything else, undecodable payloads included.
void QueueChurnSignal(const messaging::ConsumedEvent& event,
                      std::vector<eventstore::ProjectionWrite>& out);

// The directory handler with QueueRevisitPlanning, and QueueChurnSignal.
std::unique_ptr<messaging::EventHandler> NewInteractionConsumer();

}  // namespace crm::interaction
