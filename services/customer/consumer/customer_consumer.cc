#include "crm/customer/consumer/customer_consumer.h"

#include "crm/customer/consumer/classification_handler.h"
#include "crm/customer/consumer/interaction_handler.h"
#include "crm/customer/consumer/ticket_handler.h"
#include "crm/messaging/cloudevents.h"

namespace crm::customer {
namespace {

// Routes by topic: each handler reads its own topic's payload type only.
class CustomerConsumer final : public messaging::EventHandler {
 public:
  absl::Status Handle(const messaging::ConsumedEvent& event, const messaging::BatchView& view,
                      std::vector<eventstore::ProjectionWrite>& out) override {
    if (event.topic == messaging::kClassificationTopic) {
      return classification_.Handle(event, view, out);
    }
    if (event.topic == messaging::kInteractionTopic) return interactions_.Handle(event, view, out);
    if (event.topic == messaging::kTicketTopic) return tickets_.Handle(event, view, out);
    return absl::OkStatus();
  }

 private:
  ClassificationHandler classification_;
  InteractionEventsHandler interactions_;
  TicketAgentsHandler tickets_;
};

}  // namespace

std::unique_ptr<messaging::EventHandler> NewCustomerConsumer() {
  return std::make_unique<CustomerConsumer>();
}

}  // namespace crm::customer
