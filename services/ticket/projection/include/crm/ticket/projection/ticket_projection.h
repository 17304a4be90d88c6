// The ticket service's read model, committed with the events that change it:
// the current Ticket row per id; list indexes (all, by customer, assignee,
// region; newest opened first); each customer's open tickets (for SLA tier
// changes); the SLA scan index (tickets by their next warning or deadline); KPI
// facts (one row per counted event, by time); and the current SLA configuration.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/eventstore/event_store.h"
#include "crm/ticket/v1/ticket.pb.h"
#include "crm/ticket/v1/ticket_events.pb.h"

namespace crm::ticket {

inline constexpr std::string_view kTicketsProjection = "tickets";
inline constexpr std::string_view kTicketIndexProjection = "ticket_index";
// "<customer id>/<ticket id>" -> "" while the ticket is open (before RESOLVED).
inline constexpr std::string_view kOpenTicketsProjection = "open_tickets";
// TimeKey(next SLA check) + ticket id -> "".
inline constexpr std::string_view kSlaDueProjection = "sla_due";
// TimeKey(at) + "\0" + ticket id + "\0" + version -> KpiFact (EncodeFact).
inline constexpr std::string_view kKpiFactsProjection = "kpi_facts";
// "current" -> serialized SlaConfig.
inline constexpr std::string_view kSlaConfigProjection = "sla_config";
// Work for the SLA recompute pass: "<customer id>/<messaging::EventToken>" (the
// customer's class changed) or "config/<version>" (a new configuration) -> "".
inline constexpr std::string_view kRecomputeQueueProjection = "sla_recompute_queue";

// The stream of a ticket and of the SLA configuration.
std::string StreamFor(std::string_view ticket_id);
inline constexpr std::string_view kSlaConfigStream = "sla-config";

// One counted occurrence for KPIs.
struct KpiFact {
  enum class Kind { kOpened, kAssigned, kResolved, kReopened, kFeedback, kBreached };
  Kind kind = Kind::kOpened;
  absl::Time at;
  std::string ticket_id;
  // The ticket's assignee and team at that moment ("" before assignment), its
  // region at opening and its type.
  std::string assignee;
  std::string team;
  std::string region;
  v1::TicketType type = v1::TICKET_TYPE_UNSPECIFIED;
  bool on_time = false;  // kResolved
  int score = 0;         // kFeedback
};

std::string EncodeFact(const KpiFact& fact);
absl::StatusOr<KpiFact> DecodeFact(std::string_view row);

// Rows to write when `events` (appended at `at`) take a ticket from `before`
// (empty when new) to `after`.
std::vector<eventstore::ProjectionWrite> RowWrites(const v1::Ticket& before,
                                                   const v1::Ticket& after,
                                                   const std::vector<v1::TicketEvent>& events,
                                                   absl::Time at);

absl::StatusOr<std::optional<v1::Ticket>> LoadTicket(eventstore::EventStore& store,
                                                     std::string_view ticket_id);
// The ids of the customer's open tickets.
absl::StatusOr<std::vector<std::string>> OpenTicketIds(eventstore::EventStore& store,
                                                       std::string_view customer_id);

struct Page {
  std::vector<v1::Ticket> tickets;
  std::string next_page_token;
};

// Which index to walk: kAll / kCustomer / kAssignee / kRegion newest opened
// first; kSlaDue by next SLA check time, oldest first (value unused).
enum class Index { kAll, kCustomer, kAssignee, kRegion, kSlaDue };

struct Query {
  Index index = Index::kAll;
  std::string value;
  size_t page_size = 50;
  std::string page_token;
  std::string binding;  // what the token is bound to: command::PageBinding
  size_t max_examined = 5000;
  // kSlaDue: stop at checks after this time.
  std::optional<absl::Time> due_until;
};

// INVALID_ARGUMENT "page_token: ..." for a token of another list (`binding`).
absl::StatusOr<Page> ListTickets(eventstore::EventStore& store, const Query& query,
                                 const std::function<bool(const v1::Ticket&)>& keep);

// Visits the KPI facts with at in [from, to), in time order.
absl::Status ForEachFact(eventstore::EventStore& store, absl::Time from, absl::Time to,
                         const std::function<void(const KpiFact&)>& visit);

}  // namespace crm::ticket
