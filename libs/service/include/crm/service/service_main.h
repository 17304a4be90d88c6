// The one start-up and shutdown of every service binary. A service's main.cc
// names the service and its topics, adds its own flags, and builds its parts (the
// app, the gRPC adapter, the consumer's handler, the background workers) from the
// shared ones this builder makes: flags, clock, token verifier, event store,
// projection rebuild, customer lookup, outbox relay, command pipeline. It then
// runs everything until SIGTERM and stops it in order.
//
//   int main(int argc, char** argv) {
//     int scan_interval_ms = 1000;
//     return crm::service::Main(
//         {.name = "crm-ticket", .topic = messaging::kTicketTopic,
//          .consumes = {messaging::kCustomerTopic, messaging::kClassificationTopic},
//          .customer_lookup = true,
//          .flags = [&](CLI::App& app) { runtime::AddFlag(app, "scan_interval_ms", ...); },
//          .build = [&](service::Parts& parts) -> absl::Status {
//            auto& app = parts.Keep(std::make_unique<TicketApp>(...));
//            parts.AddService(parts.Keep(std::make_unique<TicketServiceImpl>(&app, ...)));
//            parts.SetConsumer(parts.Keep(std::make_unique<TicketConsumer>()));
//            parts.AddWorker("sla-scan", absl::Milliseconds(scan_interval_ms), [&] { ... });
//            return absl::OkStatus();
//          }},
//         argc, argv);
//   }
//
// Flags every service gets (each with its CRM_* environment fallback): the
// runtime's (--data_dir, ports, Kafka, TLS, log level), the token flags,
// --max_event_bytes, --worker_threads and --slow_query_queue (the pool of slow
// queries and how many calls may wait for it),
// --test_clock_offset_file (tests only), --rebuild_projections when the service
// names projections to rebuild, --customer_addr, --customer_tls_ca_file,
// --service_token_file when it asks crm-customer about customers,
// --new_incarnation, and --catch_up_from when it consumes topics.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "crm/auth/jwt.h"
#include "crm/command/pipeline.h"
#include "crm/common/clock.h"
#include "crm/common/thread_pool.h"
#include "crm/directory/customer_directory.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/consumer_runner.h"
#include "crm/runtime/flags.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace crm::service {

// The projections --rebuild_projections rebuilds from the service's own log (and
// that are rebuilt before serving when a rebuild was interrupted).
struct Rebuild {
  std::function<std::unique_ptr<eventstore::ProjectionSetProjector>()> projector;
  std::vector<std::string> targets;
};

// What build() gets, and where it puts what it builds. Valid until the service
// stops; everything kept here is destroyed after the server, the workers and the
// consumer have stopped, and before the pipeline and the store.
class Parts {
 public:
  const runtime::ServiceFlags& flags() const { return flags_; }
  eventstore::EventStore& store() const { return store_; }
  const Clock& clock() const { return clock_; }
  command::Pipeline& pipeline() const { return pipeline_; }
  const auth::TokenVerifier& verifier() const { return verifier_; }
  // crm-customer's answer about customers not consumed yet; null unless the
  // service asks for it and --customer_addr is set.
  directory::CustomerLookup* customers() const { return customers_; }
  // The pool of the calls that read much (reports, simulations, scans), sized by
  // --worker_threads, its queue bounded by --slow_query_queue (a full queue
  // refuses: command::RunOn answers RESOURCE_EXHAUSTED); every other call runs
  // on gRPC's threads.
  ThreadPool& slow_queries() const { return slow_queries_; }

  // Owns `part` until the service stops; returns it.
  template <typename T>
  T& Keep(std::unique_ptr<T> part) {
    T& ref = *part;
    kept_.push_back(std::shared_ptr<void>(std::move(part)));
    return ref;
  }
  // Served on the gRPC port (with the admin service, always there).
  void AddService(grpc::Service& service) { services_.push_back(&service); }
  // Handles the topics the service consumes (required when it consumes any).
  void SetConsumer(messaging::EventHandler& handler) { handler_ = &handler; }
  // Runs `tick` at start, every `interval` and whenever the consumer committed
  // a batch; stopped before the consumer.
  void AddWorker(std::string name, absl::Duration interval, std::function<void()> tick) {
    workers_.push_back({std::move(name), interval, std::move(tick)});
  }

 private:
  friend class Runner;
  struct WorkerSpec {
    std::string name;
    absl::Duration interval;
    std::function<void()> tick;
  };
  Parts(const runtime::ServiceFlags& flags, eventstore::EventStore& store, const Clock& clock,
        command::Pipeline& pipeline, const auth::TokenVerifier& verifier,
        directory::CustomerLookup* customers, ThreadPool& slow_queries)
      : flags_(flags),
        store_(store),
        clock_(clock),
        pipeline_(pipeline),
        verifier_(verifier),
        customers_(customers),
        slow_queries_(slow_queries) {}

  const runtime::ServiceFlags& flags_;
  eventstore::EventStore& store_;
  const Clock& clock_;
  command::Pipeline& pipeline_;
  const auth::TokenVerifier& verifier_;
  directory::CustomerLookup* customers_;
  ThreadPool& slow_queries_;
  std::vector<std::shared_ptr<void>> kept_;
  std::vector<grpc::Service*> services_;
  messaging::EventHandler* handler_ = nullptr;
  std::vector<WorkerSpec> workers_;
};

struct Service {
  std::string name;        // "crm-customer": logs, Kafka client ids, consumer group
  std::string_view topic;  // the topic the relay publishes to
  // Topics the consumer reads; empty: no consumer.
  std::vector<std::string_view> consumes;
  // Offer the customer lookup flags (--customer_addr, ...).
  bool customer_lookup = false;
  // Projections --rebuild_projections rebuilds; none when `projector` is empty.
  Rebuild rebuild;
  // Adds the service's own flags (with runtime::AddFlag).
  std::function<void(CLI::App&)> flags;
  // Builds the service's parts once the shared ones exist.
  std::function<absl::Status(Parts&)> build;
};

// Parses the flags, builds, serves until SIGTERM/SIGINT, stops in order: the
// server drains, the workers and the consumer stop, the relay publishes what is
// left (up to 10 s), then parts, pipeline and store close. Returns the exit
// code (0 after --help or a clean stop; 1 with "error: ..." on stderr).
int Main(const Service& service, int argc, char** argv);

}  // namespace crm::service
