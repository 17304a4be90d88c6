// crm-ticket: the service request and complaint service.
//
//   crm-ticket --data_dir=/var/lib/crm/ticket --kafka_brokers=kafka:9092
//              --jwt_secret_file=/etc/crm/jwt.secret --customer_addr=crm-customer:50051
// Every flag also reads CRM_<FLAG> from the environment.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "crm/admin/admin_service.h"
#include "crm/auth/flags.h"
#include "crm/common/offset_clock.h"
#include "crm/common/status_macros.h"
#include "crm/directory/customer_directory.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/consumer_runner.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/runtime/flags.h"
#include "crm/runtime/log.h"
#include "crm/runtime/metrics.h"
#include "crm/runtime/periodic_worker.h"
#include "crm/runtime/server.h"
#include "crm/ticket/api/ticket_logic.h"
#include "crm/ticket/api/ticket_service.h"
#include "crm/ticket/projection/ticket_projection.h"

namespace {

using namespace crm;

absl::Status Run(int argc, char** argv) {
  runtime::SetLogService("crm-ticket");  // also for lines logged before Start
  auth::AuthFlags auth_flags;
  std::string customer_addr, customer_tls_ca_file, service_token_file, test_clock_offset_file;
  int worker_threads = 64, scan_interval_ms = 1000;
  ASSIGN_OR_RETURN(
      runtime::ServiceFlags flags,
      runtime::ParseServiceFlags(argc, argv, "crm-ticket", [&](CLI::App& app) {
        auth::AddAuthFlags(app, &auth_flags);
        runtime::AddFlag(app, "worker_threads", &worker_threads, "Threads running calls");
        runtime::AddFlag(app, "customer_addr", &customer_addr,
                         "crm-customer address, asked about customers not consumed yet");
        runtime::AddFlag(app, "customer_tls_ca_file", &customer_tls_ca_file,
                         "PEM roots to call crm-customer over TLS (plaintext when unset)");
        runtime::AddFlag(app, "service_token_file", &service_token_file,
                         "Token (role service) for calls to crm-customer; default: minted with "
                         "--jwt_secret_file");
        runtime::AddFlag(app, "scan_interval_ms", &scan_interval_ms,
                         "How often SLA deadlines are checked and queued recomputations run");
        runtime::AddFlag(app, "test_clock_offset_file", &test_clock_offset_file,
                         "TESTS ONLY: shift the clock by the seconds in this file");
      }));
  if (flags.data_dir.empty()) return absl::InvalidArgumentError("--data_dir: required");
  if (worker_threads < 1) return absl::InvalidArgumentError("--worker_threads: must be >= 1");
  if (scan_interval_ms < 10) return absl::InvalidArgumentError("--scan_interval_ms: must be >= 10");

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
  ASSIGN_OR_RETURN(std::unique_ptr<directory::CustomerLookup> lookup,
                   directory::MakeCustomerLookup("crm-ticket", customer_addr, customer_tls_ca_file,
                                                 service_token_file, auth_flags.jwt_secret_file));

  ASSIGN_OR_RETURN(std::unique_ptr<messaging::OutboxRelay> relay,
                   messaging::StartRelayIfConfigured(*store, flags.kafka_brokers,
                                                     messaging::kTicketTopic, "crm-ticket"));
  // A class change queues the customer's open tickets for new deadlines.
  directory::DirectoryHandler directory_handler(
      {.on_change = [](const directory::DirectoryChange& change,
                       std::vector<eventstore::ProjectionWrite>& out) {
        if (change.kind != directory::DirectoryChange::kClassChanged) return;
        out.push_back(eventstore::ProjectionWrite::Put(
            std::string(ticket::kRecomputeQueueProjection),
            absl::StrCat(change.customer_id, "/", change.event), ""));
      }});

  ASSIGN_OR_RETURN(std::unique_ptr<ticket::TicketLogic> logic,
                   ticket::TicketLogic::Create({.store = store.get(), .clock = clock,
                                                .customers = lookup.get(), .relay = relay.get()}));
  ticket::TicketServiceImpl service(logic.get(), verifier.get(), static_cast<size_t>(worker_threads));
  admin::AdminServiceImpl admin_service(store.get(), verifier.get());

  // Recomputes queued deadlines and fires SLA warnings/breaches every scan interval.
  runtime::Counter& scans = runtime::MetricsRegistry::Default().GetCounter(
      "crm_sla_scans_total", "SLA recompute and deadline scans completed.");
  runtime::Counter& sla_events = runtime::MetricsRegistry::Default().GetCounter(
      "crm_sla_events_total", "SlaWarning, SlaBreached and TicketEscalated events emitted.");
  runtime::Counter& recomputed = runtime::MetricsRegistry::Default().GetCounter(
      "crm_sla_recomputed_total", "Open tickets whose deadlines were recomputed.");
  runtime::PeriodicWorker worker("sla-scan", absl::Milliseconds(scan_interval_ms), [&] {
    absl::StatusOr<int> changed = logic->RecomputeQueued();
    absl::StatusOr<int> fired = logic->CheckSla();
    if (!changed.ok() || !fired.ok()) {
      runtime::Log(runtime::LogLevel::kError, "sla_scan_failed",
                   {{"error", (!changed.ok() ? changed.status() : fired.status()).ToString()}});
    } else {
      recomputed.Inc(static_cast<uint64_t>(*changed));
      sla_events.Inc(static_cast<uint64_t>(*fired));
    }
    scans.Inc();
  });
  // Consumed changes wake the worker at once rather than at its next interval.
  ASSIGN_OR_RETURN(std::unique_ptr<messaging::ConsumerRunner> consumer,
                   messaging::StartConsumerIfConfigured(
                       *store, directory_handler, flags.kafka_brokers, "crm-ticket",
                       {messaging::kCustomerTopic, messaging::kClassificationTopic},
                       flags.kafka_session_timeout_ms, [&worker] { worker.Wake(); }));
  runtime::ServiceRuntime rt("crm-ticket", flags);
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
