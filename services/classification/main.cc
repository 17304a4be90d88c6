// crm-classification: customer classes, credit ratings and churn early warning.
//
//   crm-classification --data_dir=/var/lib/crm/classification --kafka_brokers=kafka:9092
//                      --jwt_secret_file=/etc/crm/jwt.secret
// Every flag also reads CRM_<FLAG> from the environment.
#include <memory>
#include <string>

#include "crm/admin/admin_service.h"
#include "crm/auth/flags.h"
#include "crm/classification/api/classification_logic.h"
#include "crm/classification/api/classification_service.h"
#include "crm/common/offset_clock.h"
#include "crm/common/status_macros.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/consumer_runner.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/runtime/flags.h"
#include "crm/runtime/log.h"
#include "crm/runtime/metrics.h"
#include "crm/runtime/periodic_worker.h"
#include "crm/runtime/server.h"

namespace {

using namespace crm;

absl::Status Run(int argc, char** argv) {
  runtime::SetLogService("crm-classification");  // also for lines logged before Start
  auth::AuthFlags auth_flags;
  std::string test_clock_offset_file;
  int worker_threads = 16, scan_interval_ms = 1000, sweep_interval_ms = 3600 * 1000;
  ASSIGN_OR_RETURN(
      runtime::ServiceFlags flags,
      runtime::ParseServiceFlags(argc, argv, "crm-classification", [&](CLI::App& app) {
        auth::AddAuthFlags(app, &auth_flags);
        runtime::AddFlag(app, "worker_threads", &worker_threads, "Threads running calls");
        runtime::AddFlag(app, "scan_interval_ms", &scan_interval_ms,
                         "How often customers whose inputs changed are reclassified");
        runtime::AddFlag(app, "sweep_interval_ms", &sweep_interval_ms,
                         "How often every customer is reclassified (time passing changes "
                         "recency and churn risk)");
        runtime::AddFlag(app, "test_clock_offset_file", &test_clock_offset_file,
                         "TESTS ONLY: shift the clock by the seconds in this file");
      }));
  if (flags.data_dir.empty()) return absl::InvalidArgumentError("--data_dir: required");
  if (worker_threads < 1) return absl::InvalidArgumentError("--worker_threads: must be >= 1");
  if (scan_interval_ms < 10) return absl::InvalidArgumentError("--scan_interval_ms: must be >= 10");
  if (sweep_interval_ms < 10) return absl::InvalidArgumentError("--sweep_interval_ms: must be >= 10");

  std::unique_ptr<OffsetClock> test_clock;
  const Clock* clock = &SystemClock();
  if (!test_clock_offset_file.empty()) {
    test_clock = std::make_unique<OffsetClock>(test_clock_offset_file);
    clock = test_clock.get();
    runtime::Log(runtime::LogLevel::kWarn, "test_clock", {{"file", test_clock_offset_file}});
  }

  ASSIGN_OR_RETURN(std::unique_ptr<auth::TokenVerifier> verifier, auth::MakeVerifier(auth_flags));
  ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventStore> store,
                   eventstore::OpenEventStore({.path = flags.data_dir, .clock = clock}));
  ASSIGN_OR_RETURN(std::unique_ptr<messaging::OutboxRelay> relay,
                   messaging::StartRelayIfConfigured(*store, flags.kafka_brokers,
                                                     messaging::kClassificationTopic,
                                                     "crm-classification"));
  classification::ClassificationConsumer consumer_handler;

  ASSIGN_OR_RETURN(std::unique_ptr<classification::ClassificationLogic> logic,
                   classification::ClassificationLogic::Create(
                       {.store = store.get(), .clock = clock, .relay = relay.get()}));
  classification::ClassificationServiceImpl service(logic.get(), verifier.get(),
                                                    static_cast<size_t>(worker_threads));
  admin::AdminServiceImpl admin_service(store.get(), verifier.get());

  runtime::Counter& scans = runtime::MetricsRegistry::Default().GetCounter(
      "crm_reclassify_scans_total", "Reclassification passes over queued customers completed.");
  runtime::Counter& sweeps = runtime::MetricsRegistry::Default().GetCounter(
      "crm_reclassify_sweeps_total", "Sweeps reclassifying every customer completed.");
  runtime::Counter& changed = runtime::MetricsRegistry::Default().GetCounter(
      "crm_classifications_changed_total", "Customers whose classification changed.");
  // Reclassifies queued customers every scan interval, and every customer every
  // sweep interval (the first sweep at once).
  runtime::PeriodicWorker worker(
      "reclassify", absl::Milliseconds(scan_interval_ms),
      [&, next_sweep = absl::InfinitePast()]() mutable {
        absl::StatusOr<int> n = logic->ReclassifyQueued();
        if (n.ok() && clock->Now() >= next_sweep) {
          n = logic->Sweep();
          next_sweep = clock->Now() + absl::Milliseconds(sweep_interval_ms);
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
  // Consumed changes wake the worker at once rather than at its next interval.
  ASSIGN_OR_RETURN(
      std::unique_ptr<messaging::ConsumerRunner> consumer,
      messaging::StartConsumerIfConfigured(
          *store, consumer_handler, flags.kafka_brokers, "crm-classification",
          {messaging::kCustomerTopic, messaging::kInteractionTopic, messaging::kTicketTopic},
          flags.kafka_session_timeout_ms, [&worker] { worker.Wake(); }));
  runtime::ServiceRuntime rt("crm-classification", flags);
  rt.AddService(&service);
  rt.AddService(&admin_service);
  rt.OnShutdown([&] {
    worker.Stop();
    if (consumer) consumer->Stop();
    messaging::FlushAndStop(relay, absl::Seconds(10));
  });
  RETURN_IF_ERROR(rt.Start());
  worker.Start();

  rt.WaitForTermination();
  rt.Shutdown(absl::Seconds(20));
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) { return crm::runtime::ExitCodeFor(Run(argc, argv)); }
