// What crm-customer consumes, one handler per topic:
// - crm.classification.v1.events: ClassificationHandler (each customer's A/B/C/D
//   class);
// - crm.interaction.v1.events: InteractionEventsHandler (won opportunities and
//   confirmed churn losses queued for the reaction worker);
// - crm.ticket.v1.events: TicketAgentsHandler (who is assigned each open ticket,
//   so that service agents read the customers they serve).
// Records of any other topic are ignored.
//
//   parts.SetConsumer(parts.Keep(customer::NewCustomerConsumer()));
#pragma once

#include <memory>

#include "crm/messaging/consumer_runner.h"

namespace crm::customer {

std::unique_ptr<messaging::EventHandler> NewCustomerConsumer();

}  // namespace crm::customer
