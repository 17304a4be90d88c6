#include "crm/customer/consumer/opportunity_handler.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "crm/customer/projection/customer_projection.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/runtime/log.h"

namespace crm::customer {

absl::Status OpportunityWonHandler::Handle(const messaging::ConsumedEvent& event,
                                           const messaging::BatchView&,
                                           std::vector<eventstore::ProjectionWrite>& out) {
  interaction::v1::InteractionEvent e;
  if (!e.ParseFromString(event.event.payload())) {
    // Not retryable: skip it (logged) rather than block the partition.
    runtime::Log(runtime::LogLevel::kError, "undecodable_interaction_event",
                 {{"event_id", event.event.event_id()}});
    return absl::OkStatus();
  }
  if (e.kind_case() != interaction::v1::InteractionEvent::kOpportunityWon) return absl::OkStatus();
  if (e.customer_id().empty() || e.opportunity_id().empty()) {
    runtime::Log(runtime::LogLevel::kError, "opportunity_won_without_customer_or_opportunity",
                 {{"event_id", event.event.event_id()}});
    return absl::OkStatus();
  }
  // The token is the event id (always set on Kafka records): the conversion's
  // command id, so that the same event never converts twice. The row keeps what
  // every delivery of the event has alike (not where it was read from), so that a
  // redelivery is the same request to the conversion command.
  const std::string token = messaging::EventToken(event);
  eventstore::EventEnvelope won;
  won.set_event_id(token);
  won.set_event_type(event.event.event_type());
  *won.mutable_occurred_at() = event.event.occurred_at();
  won.set_actor(event.event.actor());
  won.set_correlation_id(event.event.correlation_id());
  won.set_payload(event.event.payload());
  out.push_back(eventstore::ProjectionWrite::Put(std::string(kConversionQueueProjection),
                                                 absl::StrCat(e.customer_id(), "/", token),
                                                 won.SerializeAsString()));
  return absl::OkStatus();
}

}  // namespace crm::customer
