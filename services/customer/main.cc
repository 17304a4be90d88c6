// crm-customer: the customer profile service.
//
//   crm-customer --data_dir=/var/lib/crm/customer --kafka_brokers=kafka:9092
//                --jwt_secret_file=/etc/crm/jwt.secret
// Every flag also reads CRM_<FLAG> from the environment (see docs/operations.md).
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "crm/admin/admin_service.h"
#include "crm/auth/flags.h"
#include "crm/common/status_macros.h"
#include "crm/customer/api/customer_service.h"
#include "crm/customer/consumer/classification_handler.h"
#include "crm/customer/projection/customer_projection.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/consumer_runner.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/runtime/flags.h"
#include "crm/runtime/log.h"
#include "crm/runtime/server.h"

namespace {

using namespace crm;

absl::Status Run(int argc, char** argv) {
  runtime::SetLogService("crm-customer");  // also for lines logged before Start
  auth::AuthFlags auth_flags;
  int worker_threads = 64;
  bool rebuild_projections = false;
  ASSIGN_OR_RETURN(
      runtime::ServiceFlags flags,
      runtime::ParseServiceFlags(argc, argv, "crm-customer", [&](CLI::App& app) {
        auth::AddAuthFlags(app, &auth_flags);
        runtime::AddFlag(app, "worker_threads", &worker_threads,
                         "Threads running calls (they wait on synced disk writes)");
        runtime::AddFlag(app, "rebuild_projections", &rebuild_projections,
                         "Before serving, rebuild the customer rows, list indexes and "
                         "duplicate keys from the event log (after a projection fix)");
      }));
  if (flags.data_dir.empty()) return absl::InvalidArgumentError("--data_dir: required");
  if (worker_threads < 1) return absl::InvalidArgumentError("--worker_threads: must be >= 1");

  ASSIGN_OR_RETURN(std::unique_ptr<auth::TokenVerifier> verifier, auth::MakeVerifier(auth_flags));
  ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventStore> store,
                   eventstore::OpenEventStore({.path = flags.data_dir}));
  ASSIGN_OR_RETURN(bool interrupted, customer::CustomerRebuildInterrupted(*store));
  if (interrupted) {
    runtime::Log(runtime::LogLevel::kWarn, "rebuild_interrupted",
                 {{"action", "rebuilding the projections again before serving"}});
  }
  if (rebuild_projections || interrupted) {
    const absl::Time start = absl::Now();
    ASSIGN_OR_RETURN(uint64_t events, customer::RebuildCustomerProjections(*store));
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    runtime::Log(runtime::LogLevel::kInfo, "projections_rebuilt",
                 {{"events", events},
                  {"seconds", seconds},
                  {"events_per_s", seconds > 0 ? static_cast<uint64_t>(events / seconds) : 0}});
  }

  ASSIGN_OR_RETURN(std::unique_ptr<messaging::OutboxRelay> relay,
                   messaging::StartRelayIfConfigured(*store, flags.kafka_brokers,
                                                     messaging::kCustomerTopic, "crm-customer"));
  customer::ClassificationHandler classification_handler;
  ASSIGN_OR_RETURN(std::unique_ptr<messaging::ConsumerRunner> classification_consumer,
                   messaging::StartConsumerIfConfigured(
                       *store, classification_handler, flags.kafka_brokers, "crm-customer",
                       {messaging::kClassificationTopic}, flags.kafka_session_timeout_ms));

  auto service = std::make_unique<customer::CustomerServiceImpl>(customer::CustomerServiceOptions{
      .store = store.get(), .verifier = verifier.get(), .relay = relay.get(),
      .worker_threads = static_cast<size_t>(worker_threads)});
  admin::AdminServiceImpl admin_service(store.get(), verifier.get());
  runtime::ServiceRuntime rt("crm-customer", flags);
  rt.AddService(service.get());
  rt.AddService(&admin_service);
  // After the calls drained: publish what is left. The server, service and store
  // then close in reverse order of declaration.
  rt.OnShutdown([&] {
    if (classification_consumer) classification_consumer->Stop();
    messaging::FlushAndStop(relay, absl::Seconds(10));
  });
  RETURN_IF_ERROR(rt.Start());
  rt.WaitForTermination();
  rt.Shutdown(absl::Seconds(20));
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) { return crm::runtime::ExitCodeFor(Run(argc, argv)); }
