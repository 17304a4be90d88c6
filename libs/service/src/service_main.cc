#include "crm/service/service_main.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "crm/admin/admin_service.h"
#include "crm/auth/flags.h"
#include "crm/common/offset_clock.h"
#include "crm/common/status_macros.h"
#include "crm/eventlog/event_log_service.h"
#include "crm/messaging/catch_up.h"
#include "crm/messaging/kafka_security.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/runtime/log.h"
#include "crm/runtime/metrics.h"
#include "crm/runtime/periodic_worker.h"
#include "crm/runtime/readiness.h"
#include "crm/runtime/server.h"
#include "grpcpp/grpcpp.h"

namespace crm::service {

namespace {

// The store cannot write (a full disk): not ready until it resumed by itself.
void BlockReadinessOnStore(bool writable, std::string_view reason) {
  if (writable) {
    runtime::Readiness::Default().Clear("store");
  } else {
    runtime::Readiness::Default().Block("store", reason);
  }
}

}  // namespace

class Runner {
 public:
  explicit Runner(const Service& service) : service_(service) {}

  absl::Status Run(int argc, char** argv) {
    runtime::SetLogService(service_.name);  // also for lines logged before Start
    auth::AuthFlags auth_flags;
    std::string test_clock_offset_file, customer_addr, customer_tls_ca_file, service_token_file;
    int worker_threads = 4;
    int slow_query_queue = 64;
    int64_t max_event_bytes = command::Limits().max_event_bytes;
    bool rebuild_projections = false;
    bool new_incarnation = false;
    std::vector<std::string> catch_up_from;
    std::string catch_up_token_file;
    std::string catch_up_tls_ca_file;
    ASSIGN_OR_RETURN(
        runtime::ServiceFlags flags,
        runtime::ParseServiceFlags(argc, argv, service_.name, [&](CLI::App& app) {
          auth::AddAuthFlags(app, &auth_flags);
          runtime::AddFlag(app, "worker_threads", &worker_threads,
                           "Threads of the calls that read much (reports, simulations, scans); "
                           "every other call runs on gRPC's threads");
          runtime::AddFlag(app, "slow_query_queue", &slow_query_queue,
                           "Calls that may wait for a --worker_threads thread; more are "
                           "answered RESOURCE_EXHAUSTED at once")
              ->check(CLI::Range(1, 1000000));
          runtime::AddFlag(app, "max_event_bytes", &max_event_bytes,
                           "Largest event a command may append, in bytes (Kafka's default "
                           "message limit is 1 MB); a larger one is INVALID_ARGUMENT");
          runtime::AddFlag(app, "new_incarnation", &new_incarnation,
                           "Give the store a new incarnation before serving: for a copy of "
                           "the data dir made other than by the Backup RPC (disk snapshot, "
                           "file copy) that restores the service (docs/operations.md)");
          runtime::AddFlag(app, "test_clock_offset_file", &test_clock_offset_file,
                           "TESTS ONLY: shift the clock by the seconds in this file");
          if (service_.rebuild.projector) {
            runtime::AddFlag(app, "rebuild_projections", &rebuild_projections,
                             "Before serving, rebuild the read models of this service's own "
                             "events from its log (after a projection fix)");
          }
          if (service_.customer_lookup) {
            runtime::AddFlag(app, "customer_addr", &customer_addr,
                             "crm-customer address, asked about customers not consumed yet");
            runtime::AddFlag(app, "customer_tls_ca_file", &customer_tls_ca_file,
                             "PEM roots to call crm-customer over TLS (plaintext when unset)");
            runtime::AddFlag(app, "service_token_file", &service_token_file,
                             "Token (role service) for calls to crm-customer; default: minted "
                             "with --jwt_secret_file");
          }
          if (!service_.consumes.empty()) {
            runtime::AddFlag(app, "catch_up_from", &catch_up_from,
                             "TOPIC=HOST:PORT (repeatable): before consuming, catch up on TOPIC "
                             "from its producer's event log (crm.events.v1.EventLogService, "
                             "--catch_up_token_file), then go on from Kafka; for a "
                             "consumer that needs more than the topic's retention holds");
            runtime::AddFlag(app, "catch_up_token_file", &catch_up_token_file,
                             "Token with the admin role for --catch_up_from (the event log is "
                             "admin only; a service token is refused)");
            runtime::AddFlag(app, "catch_up_tls_ca_file", &catch_up_tls_ca_file,
                             "PEM roots to reach the --catch_up_from event logs over TLS "
                             "(plaintext when unset)");
          }
          if (service_.flags) service_.flags(app);
        }));
    if (flags.data_dir.empty()) return absl::InvalidArgumentError("--data_dir: required");
    // Every Kafka client of the process (relay, consumer, dead letters) from here on.
    RETURN_IF_ERROR(messaging::UseKafkaSecurity(flags.kafka_security));
    if (worker_threads < 1) return absl::InvalidArgumentError("--worker_threads: must be >= 1");
    if (max_event_bytes < 1024 || max_event_bytes > (16 << 20)) {
      return absl::InvalidArgumentError("--max_event_bytes: must be 1024..16777216");
    }

    std::unique_ptr<OffsetClock> test_clock;
    const Clock* clock = &SystemClock();
    if (!test_clock_offset_file.empty()) {
      test_clock = std::make_unique<OffsetClock>(test_clock_offset_file);
      clock = test_clock.get();
      runtime::Log(runtime::LogLevel::kWarn, "test_clock", {{"file", test_clock_offset_file}});
    }

    ASSIGN_OR_RETURN(std::unique_ptr<auth::TokenVerifier> verifier,
                     auth::MakeVerifier(auth_flags));
    ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventStore> store,
                     eventstore::OpenEventStore({.path = flags.data_dir,
                                                 .clock = clock,
                                                 .new_incarnation = new_incarnation,
                                                 .on_writable_change = BlockReadinessOnStore}));
    runtime::Log(runtime::LogLevel::kInfo, "store_opened",
                 {{"data_dir", flags.data_dir},
                  {"incarnation", store->Incarnation()},
                  {"last_position", store->LastPosition()}});
    RETURN_IF_ERROR(RebuildIfAsked(*store, rebuild_projections));
    std::unique_ptr<directory::CustomerLookup> customers;
    if (service_.customer_lookup) {
      // Null without --customer_addr: then customers not consumed yet are NOT_FOUND.
      ASSIGN_OR_RETURN(customers, directory::MakeCustomerLookup(
                                      service_.name, customer_addr, customer_tls_ca_file,
                                      service_token_file, auth_flags.jwt_secret_file));
    }
    ASSIGN_OR_RETURN(std::unique_ptr<messaging::OutboxRelay> relay,
                     messaging::StartRelayIfConfigured(*store, flags.kafka_brokers,
                                                       service_.topic, service_.name));
    auto pipeline = std::make_unique<command::Pipeline>(command::PipelineOptions{
        .store = store.get(),
        .clock = clock,
        .limits = {.max_event_bytes = static_cast<size_t>(max_event_bytes)}});
    auto slow_queries = std::make_unique<ThreadPool>(static_cast<size_t>(worker_threads),
                                                     static_cast<size_t>(slow_query_queue));

    // Declared after what they use, so they go first.
    Parts parts(flags, *store, *clock, *pipeline, *verifier, customers.get(), *slow_queries);
    RETURN_IF_ERROR(service_.build(parts));
    admin::AdminServiceImpl admin_service(store.get(), verifier.get());
    // The service's own log, for catch-up and rebuilds without Kafka retention.
    eventlog::EventLogServiceImpl event_log(*store, *verifier);
    // The group commit at work: appends per synced write is appends / groups.
    runtime::MetricsRegistry& metrics = runtime::MetricsRegistry::Default();
    runtime::CallbackGauge appends = metrics.AddCallbackGauge(
        "crm_eventstore_appends", "Appends committed since start.", {},
        [&store] { return static_cast<double>(store->GetWriteStats().appends); });
    runtime::CallbackGauge groups = metrics.AddCallbackGauge(
        "crm_eventstore_groups", "Synced writes (group commits) since start.", {},
        [&store] { return static_cast<double>(store->GetWriteStats().groups); });
    runtime::CallbackGauge writable = metrics.AddCallbackGauge(
        "crm_eventstore_writable",
        "1 while the store can write; 0 while it cannot (a full disk) and resumes by itself.", {},
        [&store] { return store->WriteStatus().ok() ? 1.0 : 0.0; });

    std::vector<std::unique_ptr<runtime::PeriodicWorker>> workers;
    for (Parts::WorkerSpec& w : parts.workers_) {
      workers.push_back(
          std::make_unique<runtime::PeriodicWorker>(w.name, w.interval, std::move(w.tick)));
    }
    std::unique_ptr<messaging::ConsumerRunner> consumer;
    if (!service_.consumes.empty()) {
      if (parts.handler_ == nullptr) {
        return absl::InternalError("the service consumes topics but built no handler");
      }
      RETURN_IF_ERROR(CatchUpIfAsked(*store, *parts.handler_, catch_up_from, catch_up_token_file,
                                     catch_up_tls_ca_file));
      // Consumed changes wake the workers at once rather than at their next tick.
      ASSIGN_OR_RETURN(consumer, messaging::StartConsumerIfConfigured(
                                     *store, *parts.handler_, flags.kafka_brokers, service_.name,
                                     service_.consumes, flags.kafka_session_timeout_ms,
                                     [&workers] {
                                       for (auto& w : workers) w->Wake();
                                     }));
    }
    // Dead letters and offset resets (AdminService) go through the running consumer.
    admin_service.SetConsumer(consumer.get());

    runtime::ServiceRuntime rt(service_.name, flags);
    for (grpc::Service* s : parts.services_) rt.AddService(s);
    rt.AddService(&admin_service);
    rt.AddService(&event_log);
    // After the calls drained: the workers, the consumer, then publish what is
    // left. Parts, pipeline, relay and store then close in reverse order of
    // declaration.
    rt.OnShutdown([&] {
      for (auto& w : workers) w->Stop();
      if (consumer) consumer->Stop();
      messaging::FlushAndStop(relay, absl::Seconds(10));
    });
    RETURN_IF_ERROR(rt.Start());
    for (auto& w : workers) w->Start();
    rt.WaitForTermination();
    rt.Shutdown(absl::Seconds(20));
    slow_queries.reset();  // idle by now: the calls that used it have drained
    return absl::OkStatus();
  }

 private:
  // --catch_up_from TOPIC=HOST:PORT: each topic caught up from its producer's log
  // before the consumer starts (messaging/catch_up.h), as the service's group. The
  // log is admin only (libs/eventlog): the token is --catch_up_token_file's (its
  // first word), never the service token.
  absl::Status CatchUpIfAsked(eventstore::EventStore& store, messaging::EventHandler& handler,
                              const std::vector<std::string>& entries,
                              const std::string& token_file, const std::string& tls_ca_file) {
    if (entries.empty()) return absl::OkStatus();
    if (token_file.empty()) {
      return absl::InvalidArgumentError(
          "--catch_up_token_file: required with --catch_up_from (a token with the admin role: "
          "the event log is admin only)");
    }
    std::string token;
    if (std::ifstream in(token_file); !(in >> token)) {
      return absl::NotFoundError("--catch_up_token_file: cannot read " + token_file);
    }
    // TLS to the producers' event logs with --catch_up_tls_ca_file's roots.
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
    if (!tls_ca_file.empty()) {
      std::ifstream in(tls_ca_file);
      std::string roots((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (roots.empty()) {
        return absl::NotFoundError("--catch_up_tls_ca_file: cannot read " + tls_ca_file);
      }
      credentials = grpc::SslCredentials({.pem_root_certs = roots});
    }
    for (const std::string& entry : entries) {
      const size_t eq = entry.find('=');
      const std::string topic = entry.substr(0, eq);
      if (eq == std::string::npos || eq + 1 == entry.size() ||
          std::find(service_.consumes.begin(), service_.consumes.end(), topic) ==
              service_.consumes.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--catch_up_from: '", entry, "' is not TOPIC=HOST:PORT of a consumed topic"));
      }
      const absl::Time start = absl::Now();
      absl::StatusOr<messaging::CatchUpResult> r = messaging::CatchUpFromStream(
          store, handler,
          grpc::CreateChannel(entry.substr(eq + 1), credentials),
          {.group = service_.name, .topic = topic, .token = token});
      if (!r.ok()) {
        return absl::Status(r.status().code(), absl::StrCat("--catch_up_from ", entry, ": ",
                                                            r.status().message()));
      }
      runtime::Log(runtime::LogLevel::kInfo, "caught_up",
                   {{"topic", topic}, {"applied", r->applied}, {"skipped", r->skipped},
                    {"seconds", absl::ToDoubleSeconds(absl::Now() - start)}});
    }
    return absl::OkStatus();
  }

  // Rebuilds the projections when asked, or when a rebuild was interrupted.
  absl::Status RebuildIfAsked(eventstore::EventStore& store, bool asked) {
    if (!service_.rebuild.projector) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<std::string> interrupted, store.InterruptedRebuild());
    if (!interrupted.empty()) {
      runtime::Log(runtime::LogLevel::kWarn, "rebuild_interrupted",
                   {{"action", "rebuilding the projections again before serving"}});
    }
    if (!asked && interrupted.empty()) return absl::OkStatus();
    const absl::Time start = absl::Now();
    ASSIGN_OR_RETURN(uint64_t events, store.RebuildProjections(*service_.rebuild.projector(),
                                                               service_.rebuild.targets));
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    runtime::Log(runtime::LogLevel::kInfo, "projections_rebuilt",
                 {{"events", events},
                  {"seconds", seconds},
                  {"events_per_s", seconds > 0 ? static_cast<uint64_t>(events / seconds) : 0}});
    return absl::OkStatus();
  }

  const Service& service_;
};

int Main(const Service& service, int argc, char** argv) {
  return runtime::ExitCodeFor(Runner(service).Run(argc, argv));
}

}  // namespace crm::service
