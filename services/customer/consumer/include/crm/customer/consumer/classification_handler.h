// Consumes crm.classification.v1.events into the customer service: each
// customer's A/B/C/D class, so that ListCustomers can filter by class and
// GetCustomer shows it.
//
//   ClassificationHandler handler;
//   ConsumerRunner::Start(*store, handler, {.group_id = "crm-customer",
//                                           .topics = {"crm.classification.v1.events"}});
#pragma once

#include "crm/messaging/consumer_runner.h"

namespace crm::customer {

// Stateless; called from the runner's thread.
class ClassificationHandler final : public messaging::EventHandler {
 public:
  absl::Status Handle(const messaging::ConsumedEvent& event, const messaging::BatchView& view,
                      std::vector<eventstore::ProjectionWrite>& out) override;
};

}  // namespace crm::customer
