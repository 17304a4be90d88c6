// crm-customer: the customer profile service.
//
//   crm-customer --data_dir=/var/lib/crm/customer --kafka_brokers=kafka:9092
//                --jwt_secret_file=/etc/crm/jwt.secret
// Every flag also reads CRM_<FLAG> from the environment (see docs/operations.md).
#include <memory>

#include "crm/customer/api/customer_service.h"
#include "crm/customer/app/customer_app.h"
#include "crm/customer/consumer/customer_consumer.h"
#include "crm/customer/projection/customer_projection.h"
#include "crm/messaging/cloudevents.h"
#include "crm/runtime/log.h"
#include "crm/service/service_main.h"

int main(int argc, char** argv) {
  using namespace crm;
  return service::Main(
      {.name = "crm-customer",
       .topic = messaging::kCustomerTopic,
       .consumes = {messaging::kClassificationTopic, messaging::kInteractionTopic,
                     messaging::kTicketTopic},
       .rebuild = {.projector = customer::NewRebuildProjector,
                   .targets = customer::CustomerRebuildTargets()},
       .build = [](service::Parts& parts) -> absl::Status {
         auto& app = parts.Keep(std::make_unique<customer::CustomerApp>(parts.pipeline()));
         parts.AddService(parts.Keep(std::make_unique<customer::CustomerServiceImpl>(
             app, parts.verifier(), parts.store())));
         parts.SetConsumer(parts.Keep(customer::NewCustomerConsumer()));
         // Won opportunities make customers COOPERATING, confirmed churn losses
         // CHURNED; woken by every consumed batch.
         parts.AddWorker("reactions", absl::Seconds(5), [&app] {
           if (absl::StatusOr<int> n = app.ReactToInteractionEvents(); !n.ok()) {
             runtime::Log(runtime::LogLevel::kError, "reaction_failed",
                          {{"error", n.status().ToString()}});
           }
         });
         return absl::OkStatus();
       }},
      argc, argv);
}
