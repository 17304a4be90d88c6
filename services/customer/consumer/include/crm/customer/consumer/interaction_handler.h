// Consumes crm.interaction.v1.events into the customer service: the events it
// reacts to are queued for the reaction worker (CustomerApp::ReactToInteractionEvents):
// - OpportunityWon: a POTENTIAL or FOLLOWING customer becomes COOPERATING
//   (DOMAIN.md §6, Conversion);
// - ChurnLossConfirmed: the customer becomes CHURNED with the loss reason
//   (DOMAIN.md §6, churn handling).
// Every other kind, older ones included, is ignored: no row is written.
//
//   InteractionEventsHandler handler;   // usually through NewCustomerConsumer()
#pragma once

#include "crm/messaging/consumer_runner.h"

namespace crm::customer {

// Stateless; called from the runner's thread. Writes one row of
// kReactionQueueProjection per OpportunityWon (naming its customer and
// opportunity) and per ChurnLossConfirmed (naming its customer and case); an
// undecodable payload is logged and skipped.
class InteractionEventsHandler final : public messaging::EventHandler {
 public:
  absl::Status Handle(const messaging::ConsumedEvent& event, const messaging::BatchView& view,
                      std::vector<eventstore::ProjectionWrite>& out) override;
};

}  // namespace crm::customer
