#include "crm/customer/projection/ticket_agents.h"

#include "crm/common/status_macros.h"

namespace crm::customer {
namespace {

using eventstore::ProjectionWrite;

constexpr size_t kScanBatch = 500;

// An assignee usable as an index key prefix (the separator cannot occur in it).
bool Indexable(std::string_view assignee) {
  return !assignee.empty() && assignee.find('\n') == std::string_view::npos;
}

bool Serves(const TicketAgentRow& row) { return row.open && Indexable(row.assignee); }

}  // namespace

std::string TicketAgentRow::Encode() const { return (open ? "1" : "0") + assignee; }

TicketAgentRow TicketAgentRow::Decode(std::string_view value) {
  TicketAgentRow row;
  if (value.empty()) return row;
  row.open = value.front() == '1';
  row.assignee = std::string(value.substr(1));
  return row;
}

std::string TicketAgentKey(std::string_view customer_id, std::string_view ticket_id) {
  std::string key(customer_id);
  key.push_back('/');
  key.append(ticket_id);
  return key;
}

std::string AgentCustomerKey(std::string_view assignee, std::string_view customer_id,
                             std::string_view ticket_id) {
  std::string key(assignee);
  key.push_back('\n');
  key.append(TicketAgentKey(customer_id, ticket_id));
  return key;
}

std::vector<ProjectionWrite> TicketAgentWrites(std::string_view customer_id,
                                               std::string_view ticket_id,
                                               const std::optional<TicketAgentRow>& before,
                                               const TicketAgentRow& after) {
  std::vector<ProjectionWrite> out;
  out.push_back(ProjectionWrite::Put(std::string(kTicketAgentsProjection),
                                     TicketAgentKey(customer_id, ticket_id), after.Encode()));
  const bool was = before && Serves(*before), is = Serves(after);
  if (was && (!is || before->assignee != after.assignee)) {
    out.push_back(ProjectionWrite::Delete(
        std::string(kAgentCustomersProjection),
        AgentCustomerKey(before->assignee, customer_id, ticket_id)));
  }
  if (is && (!was || before->assignee != after.assignee)) {
    out.push_back(ProjectionWrite::Put(std::string(kAgentCustomersProjection),
                                       AgentCustomerKey(after.assignee, customer_id, ticket_id),
                                       ""));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> OpenTicketAgents(eventstore::EventStore& store,
                                                          std::string_view customer_id) {
  std::vector<std::string> agents;
  if (customer_id.empty()) return agents;
  const std::string prefix = std::string(customer_id) + "/";
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(auto rows,
                     store.ScanProjection(kTicketAgentsProjection, prefix, after, kScanBatch));
    for (const auto& [key, value] : rows) {
      after = key;
      TicketAgentRow row = TicketAgentRow::Decode(value);
      if (Serves(row)) agents.push_back(std::move(row.assignee));
    }
    if (rows.size() < kScanBatch) break;
  }
  return agents;
}

absl::StatusOr<std::set<std::string>> CustomersServedBy(eventstore::EventStore& store,
                                                        std::string_view agent) {
  std::set<std::string> customers;
  if (!Indexable(agent)) return customers;
  const std::string prefix = std::string(agent) + "\n";
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(auto rows,
                     store.ScanProjection(kAgentCustomersProjection, prefix, after, kScanBatch));
    for (const auto& [key, value] : rows) {
      after = key;
      std::string_view rest = std::string_view(key).substr(prefix.size());
      customers.insert(std::string(rest.substr(0, rest.find('/'))));
    }
    if (rows.size() < kScanBatch) break;
  }
  return customers;
}

}  // namespace crm::customer
