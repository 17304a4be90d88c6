#include "crm/customer/consumer/interaction_handler.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "crm/common/status_macros.h"
#include "crm/customer/projection/customer_projection.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/messaging/dead_letters.h"

namespace crm::customer {

absl::Status InteractionEventsHandler::Handle(const messaging::ConsumedEvent& event,
                                              const messaging::BatchView&,
                                              std::vector<eventstore::ProjectionWrite>& out) {
  interaction::v1::InteractionEvent e;
  // Unparsable or of an unknown kind: a permanent error, the record is dead-lettered.
  RETURN_IF_ERROR(messaging::ParsePayload(event, e));
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
    // An invalid record: dead-lettered rather than skipped unseen.
    return absl::InvalidArgumentError(absl::StrCat(
        "payload: ", event.event.event_type(), " without customer_id or its cause's id"));
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
