// Consumes crm.interaction.v1.events into the customer service: each won
// opportunity (OpportunityWon) is queued for the conversion worker
// (CustomerApp::ConvertOnWonOpportunities), which makes a POTENTIAL or FOLLOWING
// customer COOPERATING (DOMAIN.md §6, Conversion). Every other kind, older ones
// included, is ignored: no row is written.
//
//   OpportunityWonHandler handler;   // usually through NewCustomerConsumer()
#pragma once

#include "crm/messaging/consumer_runner.h"

namespace crm::customer {

// Stateless; called from the runner's thread. Writes one row of
// kConversionQueueProjection per OpportunityWon that names its customer and its
// opportunity; an undecodable payload is logged and skipped.
class OpportunityWonHandler final : public messaging::EventHandler {
 public:
  absl::Status Handle(const messaging::ConsumedEvent& event, const messaging::BatchView& view,
                      std::vector<eventstore::ProjectionWrite>& out) override;
};

}  // namespace crm::customer
