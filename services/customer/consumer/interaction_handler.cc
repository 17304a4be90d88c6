#include "crm/customer/consumer/interaction_handler.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "crm/customer/projection/customer_projection.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/runtime/log.h"

namespace crm::customer {

absl::Status InteractionEventsHandler::Handle(const messaging::ConsumedEvent& event,
                                              const messaging::BatchView&,
                                              std::vector<eventstore::ProjectionWrite>& out) {
  interaction::v1::InteractionEvent e;
  if (!e.ParseFromString(event.event.payload())) {
    // Not retryable: skip it (logged) rather than block the partition.
    runtime::Log(runtime::LogLevel::kError, "undecodable_interaction_event",
                 {{"event_id", event.event.event_id()}});
    return absl::OkStatus();
  }
  // The id of what caused it: the reaction needs it besides the customer.
  std::string cause;
  if (e.kind_case() == interaction::v1::InteractionEvent::kOpportunityWon) {
    cause = e.opportunity_id();
  } else if (e.kind_case() == interaction::v1::InteractionEvent::kChurnLossConfirmed) {
    cause = e.churn_case_id();
  } else {
    return absl::OkStatus();
  }
  if (e.customer_id().empty() || cause.empty()) {
    runtime::Log(runtime::LogLevel::kError, "interaction_event_without_customer_or_cause",
                 {{"event_id", event.event.event_id()}, {"event_type", event.event.event_type()}});
    return absl::OkStatus();
  }
  // The queued copy's event id is the reaction's command id, so that the same
  // event never applies twice.
  const eventstore::EventEnvelope queued = messaging::QueuedCopy(event);
  out.push_back(eventstore::ProjectionWrite::Put(std::string(kReactionQueueProjection),
                                                 absl::StrCat(e.customer_id(), "/", queued.event_id()),
                                                 queued.SerializeAsString()));
  return absl::OkStatus();
}

}  // namespace crm::customer
