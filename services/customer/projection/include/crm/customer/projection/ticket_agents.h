// Which service agents serve which customers (seed 004 §7.1: service staff see
// the customers they serve): per ticket of a customer, whether it is open and who
// it is assigned to, from crm.ticket.v1 events (customer::TicketAgentsHandler).
// Fed by consumed events, so not rebuilt by --rebuild_projections (like
// customer_class).
//
//   ASSIGN_OR_RETURN(std::vector<std::string> agents, OpenTicketAgents(store, customer_id));
//   ASSIGN_OR_RETURN(std::set<std::string> served, CustomersServedBy(store, "agent-x"));
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/eventstore/event_store.h"

namespace crm::customer {

// Key "<customer id>/<ticket id>", value TicketAgentRow::Encode(): every ticket
// seen, open or closed (a reopened ticket goes back to its assignee).
inline constexpr std::string_view kTicketAgentsProjection = "customer_ticket_agents";
// Key "<assignee>\n<customer id>/<ticket id>", value "": present exactly while
// that ticket is open (not CLOSED) and assigned to <assignee>.
inline constexpr std::string_view kAgentCustomersProjection = "agent_customers";

// One ticket's row of kTicketAgentsProjection.
struct TicketAgentRow {
  bool open = false;
  std::string assignee;  // "" = not assigned

  // "1<assignee>" open, "0<assignee>" closed.
  std::string Encode() const;
  static TicketAgentRow Decode(std::string_view value);
};

std::string TicketAgentKey(std::string_view customer_id, std::string_view ticket_id);
std::string AgentCustomerKey(std::string_view assignee, std::string_view customer_id,
                             std::string_view ticket_id);

// The writes taking ticket `ticket_id` of `customer_id` from `before` (nullopt:
// never seen) to `after`: its row, and the agent index rows that change.
std::vector<eventstore::ProjectionWrite> TicketAgentWrites(std::string_view customer_id,
                                                           std::string_view ticket_id,
                                                           const std::optional<TicketAgentRow>& before,
                                                           const TicketAgentRow& after);

// The assignees of the customer's open tickets (duplicates possible).
absl::StatusOr<std::vector<std::string>> OpenTicketAgents(eventstore::EventStore& store,
                                                          std::string_view customer_id);

// The customers with an open ticket assigned to `agent` ({} for an empty agent).
absl::StatusOr<std::set<std::string>> CustomersServedBy(eventstore::EventStore& store,
                                                        std::string_view agent);

}  // namespace crm::customer
