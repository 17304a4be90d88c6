#include "crm/customer/consumer/classification_handler.h"

#include "crm/classification/v1/classification_events.pb.h"
#include "crm/common/status_macros.h"
#include "crm/customer/projection/customer_projection.h"
#include "crm/messaging/dead_letters.h"

namespace crm::customer {

absl::Status ClassificationHandler::Handle(const messaging::ConsumedEvent& event,
                                           const messaging::BatchView& view,
                                           std::vector<eventstore::ProjectionWrite>& out) {
  classification::v1::ClassificationEvent e;
  // Unparsable or of an unknown kind: a permanent error, the record is dead-lettered.
  RETURN_IF_ERROR(messaging::ParsePayload(event, e));
  // The A/B/C/D scheme is what ListCustomers' `customer_class` filter means.
  if (e.has_classified() && e.classified().scheme() == classification::v1::SCHEME_ABCD &&
      !e.customer_id().empty()) {
    out.push_back(ClassWrite(e.customer_id(), e.classified().new_class()));
  }
  return absl::OkStatus();
}

}  // namespace crm::customer
