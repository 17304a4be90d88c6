// crm-interaction: the interaction logging service.
//
//   crm-interaction --data_dir=/var/lib/crm/interaction --kafka_brokers=kafka:9092
//                   --jwt_secret_file=/etc/crm/jwt.secret --customer_addr=crm-customer:50051
// Every flag also reads CRM_<FLAG> from the environment.
#include <memory>
#include <string>

#include "crm/admin/admin_service.h"
#include "crm/auth/flags.h"
#include "crm/auth/jwt.h"
#include "crm/common/offset_clock.h"
#include "crm/common/status_macros.h"
#include "crm/directory/customer_directory.h"
#include "crm/eventstore/event_store.h"
#include "crm/interaction/api/interaction_logic.h"
#include "crm/interaction/api/interaction_service.h"
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
  runtime::SetLogService("crm-interaction");  // also for lines logged before Start
  auth::AuthFlags auth_flags;
  std::string customer_addr, customer_tls_ca_file, service_token_file, cadence_spec,
      test_clock_offset_file;
  int worker_threads = 64, scan_interval_ms = 1000;
  ASSIGN_OR_RETURN(
      runtime::ServiceFlags flags,
      runtime::ParseServiceFlags(argc, argv, "crm-interaction", [&](CLI::App& app) {
        auth::AddAuthFlags(app, &auth_flags);
        runtime::AddFlag(app, "worker_threads", &worker_threads, "Threads running calls");
        runtime::AddFlag(app, "customer_addr", &customer_addr,
                         "crm-customer address, asked about customers not consumed yet");
        runtime::AddFlag(app, "customer_tls_ca_file", &customer_tls_ca_file,
                         "PEM roots to call crm-customer over TLS (plaintext when unset)");
        runtime::AddFlag(app, "service_token_file", &service_token_file,
                         "Token (role service) for calls to crm-customer; default: minted with "
                         "--jwt_secret_file");
        runtime::AddFlag(app, "cadence", &cadence_spec,
                         "Revisit cadence, e.g. \"A=91,B=182,C=365,key=A,default=365\"");
        runtime::AddFlag(app, "scan_interval_ms", &scan_interval_ms,
                         "How often revisits are planned and overdue ones reported");
        runtime::AddFlag(app, "test_clock_offset_file", &test_clock_offset_file,
                         "TESTS ONLY: shift the clock by the seconds in this file");
      }));
  if (flags.data_dir.empty()) return absl::InvalidArgumentError("--data_dir: required");
  if (worker_threads < 1) return absl::InvalidArgumentError("--worker_threads: must be >= 1");
  if (scan_interval_ms < 10) return absl::InvalidArgumentError("--scan_interval_ms: must be >= 10");
  ASSIGN_OR_RETURN(interaction::CadenceConfig cadence, interaction::ParseCadenceConfig(cadence_spec));

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

  // Null without --customer_addr: then customers not consumed yet are NOT_FOUND.
  ASSIGN_OR_RETURN(std::unique_ptr<directory::CustomerLookup> lookup,
                   directory::MakeCustomerLookup("crm-interaction", customer_addr,
                                                 customer_tls_ca_file, service_token_file,
                                                 auth_flags.jwt_secret_file));

  ASSIGN_OR_RETURN(std::unique_ptr<messaging::OutboxRelay> relay,
                   messaging::StartRelayIfConfigured(*store, flags.kafka_brokers,
                                                     messaging::kInteractionTopic,
                                                     "crm-interaction"));
  // The customer directory and classes; new customers and class changes are queued
  // for revisit planning.
  directory::DirectoryHandler directory_handler({.on_change = interaction::QueueRevisitPlanning});

  interaction::InteractionLogic logic({.store = store.get(), .clock = clock,
                                       .customers = lookup.get(), .relay = relay.get(),
                                       .cadence = cadence});
  interaction::InteractionServiceImpl service(&logic, verifier.get(),
                                              static_cast<size_t>(worker_threads));
  admin::AdminServiceImpl admin_service(store.get(), verifier.get());

  // Plans revisits and reports overdue ones every scan interval.
  runtime::Counter& scans = runtime::MetricsRegistry::Default().GetCounter(
      "crm_revisit_scans_total", "Revisit planning and overdue scans completed.");
  runtime::Counter& overdue = runtime::MetricsRegistry::Default().GetCounter(
      "crm_revisit_overdue_reported_total", "RevisitOverdue events emitted.");
  runtime::PeriodicWorker worker("revisit-scan", absl::Milliseconds(scan_interval_ms), [&] {
    absl::StatusOr<int> planned = logic.PlanRevisits();
    absl::StatusOr<int> reported = logic.ReportOverdue();
    if (!planned.ok() || !reported.ok()) {
      runtime::Log(runtime::LogLevel::kError, "revisit_scan_failed",
                   {{"error", (!planned.ok() ? planned.status() : reported.status()).ToString()}});
    } else {
      overdue.Inc(static_cast<uint64_t>(*reported));
    }
    scans.Inc();
  });
  // Consumed changes wake the worker at once rather than at its next interval.
  ASSIGN_OR_RETURN(std::unique_ptr<messaging::ConsumerRunner> consumer,
                   messaging::StartConsumerIfConfigured(
                       *store, directory_handler, flags.kafka_brokers, "crm-interaction",
                       {messaging::kCustomerTopic, messaging::kClassificationTopic},
                       flags.kafka_session_timeout_ms, [&worker] { worker.Wake(); }));
  runtime::ServiceRuntime rt("crm-interaction", flags);
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
