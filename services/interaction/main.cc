// crm-interaction: the interaction logging service.
//
//   crm-interaction --data_dir=/var/lib/crm/interaction --kafka_brokers=kafka:9092
//                   --jwt_secret_file=/etc/crm/jwt.secret --customer_addr=crm-customer:50051
// Every flag also reads CRM_<FLAG> from the environment.
#include <memory>
#include <string>

#include "crm/interaction/api/interaction_service.h"
#include "crm/interaction/app/interaction_app.h"
#include "crm/interaction/consumer/interaction_consumer.h"
#include "crm/messaging/cloudevents.h"
#include "crm/runtime/log.h"
#include "crm/runtime/metrics.h"
#include "crm/service/service_main.h"

int main(int argc, char** argv) {
  using namespace crm;
  std::string cadence_spec;
  int scan_interval_ms = 1000;
  return service::Main(
      {.name = "crm-interaction",
       .topic = messaging::kInteractionTopic,
       .consumes = {messaging::kCustomerTopic, messaging::kClassificationTopic},
       .customer_lookup = true,
       .rebuild = {.projector = interaction::NewRebuildProjector,
                   .targets = interaction::RebuildTargets()},
       .flags =
           [&](CLI::App& app) {
             runtime::AddFlag(app, "cadence", &cadence_spec,
                              "Revisit cadence, e.g. \"A=91,B=182,C=365,key=A,default=365\"");
             runtime::AddFlag(app, "scan_interval_ms", &scan_interval_ms,
                              "How often revisits are planned and overdue ones reported");
           },
       .build = [&](service::Parts& parts) -> absl::Status {
         if (scan_interval_ms < 10) {
           return absl::InvalidArgumentError("--scan_interval_ms: must be >= 10");
         }
         absl::StatusOr<interaction::CadenceConfig> cadence =
             interaction::ParseCadenceConfig(cadence_spec);
         if (!cadence.ok()) return cadence.status();
         auto& app = parts.Keep(std::make_unique<interaction::InteractionApp>(
             interaction::InteractionAppOptions{.pipeline = &parts.pipeline(),
                                                .customers = parts.customers(),
                                                .cadence = *cadence,
                                                .slow_queries = &parts.slow_queries()}));
         parts.AddService(
             parts.Keep(std::make_unique<interaction::InteractionServiceImpl>(app, parts.verifier())));
         parts.SetConsumer(parts.Keep(interaction::NewInteractionConsumer()));
         // Plans revisits and reports overdue ones every scan interval.
         runtime::Counter& scans = runtime::MetricsRegistry::Default().GetCounter(
             "crm_revisit_scans_total", "Revisit planning and overdue scans completed.");
         runtime::Counter& overdue = runtime::MetricsRegistry::Default().GetCounter(
             "crm_revisit_overdue_reported_total", "RevisitOverdue events emitted.");
         parts.AddWorker("revisit-scan", absl::Milliseconds(scan_interval_ms), [&app, &scans,
                                                                                 &overdue] {
           absl::StatusOr<int> planned = app.PlanRevisits();
           absl::StatusOr<int> reported = app.ReportOverdue();
           if (!planned.ok() || !reported.ok()) {
             runtime::Log(runtime::LogLevel::kError, "revisit_scan_failed",
                          {{"error", (!planned.ok() ? planned.status() : reported.status()).ToString()}});
           } else {
             overdue.Inc(static_cast<uint64_t>(*reported));
           }
           scans.Inc();
         });
         return absl::OkStatus();
       }},
      argc, argv);
}
