// Consumes crm.ticket.v1.events into the customer service: per ticket of a
// customer, whether it is open and its assignee (kTicketAgentsProjection and the
// agent index kAgentCustomersProjection, crm/customer/projection/ticket_agents.h),
// so that a service agent reads the customers whose open tickets are assigned to
// it (seed 004 §7.1):
// - TicketOpened: open, not assigned;
// - TicketAssigned: assigned to `to_assignee` (a reassignment moves the access);
// - TicketClosed: closed (the assignee loses the access);
// - TicketReopened: open again, to the assignee it had.
// Every other kind is ignored: no row is written.
//
//   TicketAgentsHandler handler;   // usually through NewCustomerConsumer()
#pragma once

#include "crm/messaging/consumer_runner.h"

namespace crm::customer {

// Stateless; called from the runner's thread. Reads the ticket's row through the
// batch view, so several events of one ticket in a batch apply in order; a
// redelivered record rewrites the same rows. A record without ticket or customer
// id (of the kinds above) is a dead letter.
class TicketAgentsHandler final : public messaging::EventHandler {
 public:
  absl::Status Handle(const messaging::ConsumedEvent& event, const messaging::BatchView& view,
                      std::vector<eventstore::ProjectionWrite>& out) override;
};

}  // namespace crm::customer
