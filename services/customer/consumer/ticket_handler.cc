#include "crm/customer/consumer/ticket_handler.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "crm/common/status_macros.h"
#include "crm/customer/projection/ticket_agents.h"
#include "crm/messaging/dead_letters.h"
#include "crm/ticket/v1/ticket_events.pb.h"

namespace crm::customer {

absl::Status TicketAgentsHandler::Handle(const messaging::ConsumedEvent& event,
                                         const messaging::BatchView& view,
                                         std::vector<eventstore::ProjectionWrite>& out) {
  ticket::v1::TicketEvent e;
  // Unparsable or of an unknown kind: a permanent error, the record is dead-lettered.
  RETURN_IF_ERROR(messaging::ParsePayload(event, e));
  using Kind = ticket::v1::TicketEvent::KindCase;
  const Kind kind = e.kind_case();
  if (kind != Kind::kOpened && kind != Kind::kAssigned && kind != Kind::kClosed &&
      kind != Kind::kReopened) {
    return absl::OkStatus();
  }
  if (e.customer_id().empty() || e.ticket_id().empty()) {
    // An invalid record: dead-lettered rather than skipped unseen.
    return absl::InvalidArgumentError(absl::StrCat(
        "payload: ", event.event.event_type(), " without customer_id or ticket_id"));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> stored,
                   view.Get(kTicketAgentsProjection, TicketAgentKey(e.customer_id(), e.ticket_id())));
  std::optional<TicketAgentRow> before;
  if (stored) before = TicketAgentRow::Decode(*stored);
  TicketAgentRow after = before.value_or(TicketAgentRow{});
  switch (kind) {
    case Kind::kOpened:
      if (before) return absl::OkStatus();  // one per ticket
      after.open = true;
      break;
    case Kind::kAssigned:
      // An assignment of a ticket opened before this consumer existed opens it too.
      if (!before) after.open = true;
      after.assignee = e.assigned().to_assignee();
      break;
    case Kind::kClosed:
      after.open = false;
      break;
    case Kind::kReopened:
      after.open = true;
      break;
    default:
      return absl::OkStatus();
  }
  for (eventstore::ProjectionWrite& w :
       TicketAgentWrites(e.customer_id(), e.ticket_id(), before, after)) {
    out.push_back(std::move(w));
  }
  return absl::OkStatus();
}

}  // namespace crm::customer
