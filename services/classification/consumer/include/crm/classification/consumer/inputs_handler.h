// What the classification service keeps about each customer, from the customer,
// interaction and ticket services' events: one CustomerInputs row per customer
// (profile, transactions, interactions, tickets, lifecycle changes, sales
// opportunities), written with
// the consumer's offsets, and a queue entry per changed customer for the
// reclassification worker. Deterministic: replaying the same events from offset 0
// yields the same rows.
//
//   InputsHandler handler;
//   ConsumerRunner::Start(*store, handler, {.group_id = "crm-classification",
//       .topics = {"crm.customer.v1.events", "crm.interaction.v1.events",
//                  "crm.ticket.v1.events"}});
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/classification/v1/classification.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/consumer_runner.h"

namespace crm::classification {

// customer id -> CustomerInputs.
inline constexpr std::string_view kInputsProjection = "inputs";
// "<customer id>/<messaging::EventToken>" -> "": customers to reclassify.
inline constexpr std::string_view kReclassifyQueueProjection = "reclassify_queue";

// Folds events into CustomerInputs:
// - crm.customer.v1: Registered (name, owner, region, industry, employees, annual
//   revenue, lifecycle, registered_at = the event's occurred_at), Updated (the
//   named paths: basic.name, basic.industry, characteristics.employee_count,
//   characteristics.annual_revenue, or the whole part when the path is "basic" /
//   "characteristics"), TransactionRecorded (a TransactionInput; own_company when
//   party is OWN_COMPANY), LifecycleChanged (lifecycle and a LifecycleChange at
//   occurred_at), OwnerAssigned (owner, region). Other kinds: ignored.
// - crm.interaction.v1: every creating or completing event adds or updates the
//   interaction's InteractionInput (at = the time it happened: visited_at,
//   performed_at, done_at, surveyed_at; planned visits and scheduled revisits are
//   NOT interactions that happened and are ignored until recorded); satisfaction
//   from SatisfactionRecorded.survey.score and RevisitCompleted.record.satisfaction;
//   intent from VisitRecorded.record.cooperation_intent (STRONG 4 ... NONE 1).
//   Opportunity events (kinds 30..40, opportunity_id set, interaction_id empty):
//   the opportunity's OpportunityInput from the event's opportunity_figures
//   (stage, probability, expected amount; the final amount while WON), created_at
//   = occurred_at of the first event seen, closed_at = occurred_at of
//   OpportunityWon / OpportunityLost (cleared when reopened).
// - crm.ticket.v1: TicketOpened (TicketInput, complaint when type COMPLAINT,
//   opened_at = occurred_at), TicketResolved (resolved_at), TicketReopened (clears
//   resolved_at), FeedbackRecorded (satisfaction = score).
// Events for a customer not registered yet still create its row (the customer's
// registration may arrive later on another topic). Undecodable payloads are logged
// and skipped. Every event that changed a row queues the customer.
// Bounded rows: at most 2000 transactions, 2000 interactions, 500 tickets and 500
// opportunities per customer; beyond that the oldest is dropped, settled ones
// (paid transactions, resolved tickets, won or lost opportunities) first
// (consumer/README.md).
class InputsHandler final : public messaging::EventHandler {
 public:
  absl::Status Handle(const messaging::ConsumedEvent& event, const messaging::BatchView& view,
                      std::vector<eventstore::ProjectionWrite>& out) override;
};

absl::StatusOr<std::optional<v1::CustomerInputs>> LoadInputs(eventstore::EventStore& store,
                                                             std::string_view customer_id);

}  // namespace crm::classification
