// What crm-classification consumes (crm.customer.v1, crm.interaction.v1 and
// crm.ticket.v1 events): the shared customer directory (owner, region, grants:
// for access checks) and the classification inputs (inputs_handler.h), both from
// the same consumed events and committed together.
//
//   std::unique_ptr<messaging::EventHandler> handler = NewClassificationConsumer();
#pragma once

#include <memory>

#include "crm/messaging/consumer_runner.h"

namespace crm::classification {

std::unique_ptr<messaging::EventHandler> NewClassificationConsumer();

}  // namespace crm::classification
