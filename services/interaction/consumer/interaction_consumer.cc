#include "crm/interaction/consumer/interaction_consumer.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/interaction/projection/churn_projection.h"
#include "crm/interaction/projection/interaction_projection.h"
#include "crm/messaging/cloudevents.h"

namespace crm::interaction {
namespace {

// The customer a churn signal concerns; "" when the event is none.
std::string ChurnSignalCustomer(const messaging::ConsumedEvent& event) {
  if (event.topic == messaging::kClassificationTopic) {
    classification::v1::ClassificationEvent e;
    if (!e.ParseFromString(event.event.payload())) return "";
    if (!e.has_churn_risk_raised() && !e.has_churn_risk_cleared()) return "";
    return e.customer_id();
  }
  if (event.topic == messaging::kCustomerTopic) {
    customer::v1::CustomerEvent e;
    if (!e.ParseFromString(event.event.payload())) return "";
    // A new owner or region: the customer's open case follows it.
    if (e.has_owner_assigned()) return e.customer_id();
    if (!e.has_lifecycle_changed()) return "";
    const customer::v1::LifecycleChanged& change = e.lifecycle_changed();
    const bool won_back = change.from() == customer::v1::LIFECYCLE_CHURNED &&
                          (change.to() == customer::v1::LIFECYCLE_FOLLOWING ||
                           change.to() == customer::v1::LIFECYCLE_COOPERATING);
    return won_back ? e.customer_id() : "";
  }
  return "";
}

// The directory, then the churn signals: both write into the same batch, which
// commits with the consumer offset.
class InteractionConsumer final : public messaging::EventHandler {
 public:
  absl::Status Handle(const messaging::ConsumedEvent& event, const messaging::BatchView& view,
                      std::vector<eventstore::ProjectionWrite>& out) override {
    absl::Status status = directory_.Handle(event, view, out);
    if (!status.ok()) return status;
    QueueChurnSignal(event, out);
    return absl::OkStatus();
  }

 private:
  directory::DirectoryHandler directory_{
      directory::DirectoryHandlerOptions{.on_change = QueueRevisitPlanning}};
};

}  // namespace

void QueueRevisitPlanning(const directory::DirectoryChange& change,
                          std::vector<eventstore::ProjectionWrite>& out) {
  // A new customer gets its first revisit planned; a class change may change the
  // cadence. Keys are "<customer>/<cause>", one per cause, so that the planner
  // deletes exactly the entries it handled and never one that arrived meanwhile.
  if (change.kind != directory::DirectoryChange::kNewCustomer &&
      change.kind != directory::DirectoryChange::kClassChanged) {
    return;
  }
  out.push_back(eventstore::ProjectionWrite::Put(
      std::string(kPlanQueueProjection), absl::StrCat(change.customer_id, "/", change.event), ""));
}

void QueueChurnSignal(const messaging::ConsumedEvent& event,
                      std::vector<eventstore::ProjectionWrite>& out) {
  const std::string customer = ChurnSignalCustomer(event);
  if (customer.empty()) return;
  const eventstore::EventEnvelope queued = messaging::QueuedCopy(event);
  // Ordered by when the signal happened (a raise before the clear that follows
  // it), whichever topic it came from; the same for every delivery.
  const int64_t micros = absl::ToUnixMicros(FromProtoTimestamp(queued.occurred_at()));
  out.push_back(eventstore::ProjectionWrite::Put(
      std::string(kChurnSignalQueueProjection),
      absl::StrCat(customer, "/", absl::Dec(micros, absl::kZeroPad20), "/", queued.event_id()),
      queued.SerializeAsString()));
}

std::unique_ptr<messaging::EventHandler> NewInteractionConsumer() {
  return std::make_unique<InteractionConsumer>();
}

}  // namespace crm::interaction
