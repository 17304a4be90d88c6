#include "crm/classification/consumer/classification_consumer.h"

#include "crm/classification/consumer/inputs_handler.h"
#include "crm/directory/customer_directory.h"

namespace crm::classification {
namespace {

class ClassificationConsumer final : public messaging::EventHandler {
 public:
  absl::Status Handle(const messaging::ConsumedEvent& event, const messaging::BatchView& view,
                      std::vector<eventstore::ProjectionWrite>& out) override {
    if (absl::Status s = directory_.Handle(event, view, out); !s.ok()) return s;
    return inputs_.Handle(event, view, out);
  }

 private:
  directory::DirectoryHandler directory_;
  InputsHandler inputs_;
};

}  // namespace

std::unique_ptr<messaging::EventHandler> NewClassificationConsumer() {
  return std::make_unique<ClassificationConsumer>();
}

}  // namespace crm::classification
