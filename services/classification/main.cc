// crm-classification: customer classes, credit ratings and churn early warning.
//
//   crm-classification --data_dir=/var/lib/crm/classification --kafka_brokers=kafka:9092
//                      --jwt_secret_file=/etc/crm/jwt.secret
// Every flag also reads CRM_<FLAG> from the environment.
#include <memory>

#include "crm/classification/api/classification_service.h"
#include "crm/classification/app/classification_app.h"
#include "crm/classification/consumer/classification_consumer.h"
#include "crm/messaging/cloudevents.h"
#include "crm/runtime/log.h"
#include "crm/runtime/metrics.h"
#include "crm/service/service_main.h"

int main(int argc, char** argv) {
  using namespace crm;
  int scan_interval_ms = 1000, sweep_interval_ms = 3600 * 1000;
  return service::Main(
      {.name = "crm-classification",
       .topic = messaging::kClassificationTopic,
       .consumes = {messaging::kCustomerTopic, messaging::kInteractionTopic,
                    messaging::kTicketTopic},
       .rebuild = {.projector = classification::NewRebuildProjector,
                   .targets = classification::RebuildTargets()},
       .flags =
           [&](CLI::App& app) {
             runtime::AddFlag(app, "scan_interval_ms", &scan_interval_ms,
                              "How often customers whose inputs changed are reclassified");
             runtime::AddFlag(app, "sweep_interval_ms", &sweep_interval_ms,
                              "How often every customer is reclassified (time passing changes "
                              "recency and churn risk)");
           },
       .build = [&](service::Parts& parts) -> absl::Status {
         if (scan_interval_ms < 10) {
           return absl::InvalidArgumentError("--scan_interval_ms: must be >= 10");
         }
         if (sweep_interval_ms < 10) {
           return absl::InvalidArgumentError("--sweep_interval_ms: must be >= 10");
         }
         absl::StatusOr<std::unique_ptr<classification::ClassificationApp>> created =
             classification::ClassificationApp::Create(
                 {.pipeline = &parts.pipeline(), .slow_queries = &parts.slow_queries()});
         if (!created.ok()) return created.status();
         auto& app = parts.Keep(*std::move(created));
         parts.AddService(parts.Keep(
             std::make_unique<classification::ClassificationServiceImpl>(app, parts.verifier())));
         parts.SetConsumer(parts.Keep(classification::NewClassificationConsumer()));
         runtime::MetricsRegistry& metrics = runtime::MetricsRegistry::Default();
         runtime::Counter& scans = metrics.GetCounter(
             "crm_reclassify_scans_total", "Reclassification passes over queued customers completed.");
         runtime::Counter& sweeps = metrics.GetCounter(
             "crm_reclassify_sweeps_total", "Sweeps reclassifying every customer completed.");
         runtime::Counter& changed = metrics.GetCounter(
             "crm_classifications_changed_total", "Customers whose classification changed.");
         // Reclassifies queued customers every scan interval, and every customer
         // every sweep interval (the first sweep at once).
         const Clock& clock = parts.clock();
         parts.AddWorker(
             "reclassify", absl::Milliseconds(scan_interval_ms),
             [&, next_sweep = absl::InfinitePast()]() mutable {
               absl::StatusOr<int> n = app.ReclassifyQueued();
               if (n.ok() && clock.Now() >= next_sweep) {
                 n = app.Sweep();
                 next_sweep = clock.Now() + absl::Milliseconds(sweep_interval_ms);
                 if (n.ok()) sweeps.Inc();
               }
               if (!n.ok()) {
                 runtime::Log(runtime::LogLevel::kError, "reclassify_failed",
                              {{"error", n.status().ToString()}});
               } else {
                 changed.Inc(static_cast<uint64_t>(*n));
               }
               scans.Inc();
             });
         return absl::OkStatus();
       }},
      argc, argv);
}
