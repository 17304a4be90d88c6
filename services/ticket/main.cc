// crm-ticket: the service request and complaint service.
//
//   crm-ticket --data_dir=/var/lib/crm/ticket --kafka_brokers=kafka:9092
//              --jwt_secret_file=/etc/crm/jwt.secret --customer_addr=crm-customer:50051
// Every flag also reads CRM_<FLAG> from the environment.
#include <memory>

#include "crm/messaging/cloudevents.h"
#include "crm/runtime/log.h"
#include "crm/runtime/metrics.h"
#include "crm/service/service_main.h"
#include "crm/ticket/api/ticket_service.h"
#include "crm/ticket/app/ticket_app.h"
#include "crm/ticket/consumer/ticket_consumer.h"

int main(int argc, char** argv) {
  using namespace crm;
  int scan_interval_ms = 1000;
  return service::Main(
      {.name = "crm-ticket",
       .topic = messaging::kTicketTopic,
       .consumes = {messaging::kCustomerTopic, messaging::kClassificationTopic},
       .customer_lookup = true,
       .rebuild = {.projector = ticket::NewRebuildProjector, .targets = ticket::RebuildTargets()},
       .flags =
           [&](CLI::App& app) {
             runtime::AddFlag(app, "scan_interval_ms", &scan_interval_ms,
                              "How often SLA deadlines are checked and queued recomputations run");
           },
       .build = [&](service::Parts& parts) -> absl::Status {
         if (scan_interval_ms < 10) {
           return absl::InvalidArgumentError("--scan_interval_ms: must be >= 10");
         }
         absl::StatusOr<std::unique_ptr<ticket::TicketApp>> created =
             ticket::TicketApp::Create({.pipeline = &parts.pipeline(),
                                        .customers = parts.customers(),
                                        .slow_queries = &parts.slow_queries()});
         if (!created.ok()) return created.status();
         auto& app = parts.Keep(*std::move(created));
         parts.AddService(
             parts.Keep(std::make_unique<ticket::TicketServiceImpl>(app, parts.verifier())));
         parts.SetConsumer(parts.Keep(ticket::NewTicketConsumer()));
         // Recomputes queued deadlines and fires SLA warnings/breaches every scan interval.
         runtime::MetricsRegistry& metrics = runtime::MetricsRegistry::Default();
         runtime::Counter& scans =
             metrics.GetCounter("crm_sla_scans_total", "SLA recompute and deadline scans completed.");
         runtime::Counter& sla_events = metrics.GetCounter(
             "crm_sla_events_total", "SlaWarning, SlaBreached and TicketEscalated events emitted.");
         runtime::Counter& recomputed = metrics.GetCounter(
             "crm_sla_recomputed_total", "Open tickets whose deadlines were recomputed.");
         parts.AddWorker("sla-scan", absl::Milliseconds(scan_interval_ms), [&] {
           absl::StatusOr<int> changed = app.RecomputeQueued();
           absl::StatusOr<int> fired = app.CheckSla();
           if (!changed.ok() || !fired.ok()) {
             runtime::Log(runtime::LogLevel::kError, "sla_scan_failed",
                          {{"error", (!changed.ok() ? changed.status() : fired.status()).ToString()}});
           } else {
             recomputed.Inc(static_cast<uint64_t>(*changed));
             sla_events.Inc(static_cast<uint64_t>(*fired));
           }
           scans.Inc();
         });
         return absl::OkStatus();
       }},
      argc, argv);
}
