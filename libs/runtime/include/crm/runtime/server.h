// ServiceRuntime: the process shell of a service binary. It serves the
// service's gRPC callback services with health checking (grpc.health.v1),
// reflection, optional TLS and per-RPC metrics, runs the admin HTTP port,
// logs the lifecycle as JSON lines, and turns SIGTERM/SIGINT into an orderly,
// draining shutdown.
//
//   absl::Status Run(int argc, char** argv) {
//     ASSIGN_OR_RETURN(crm::runtime::ServiceFlags flags,
//                      crm::runtime::ParseServiceFlags(argc, argv, "crm-customer"));
//     crm::runtime::ServiceRuntime rt("crm-customer", flags);
//     rt.AddService(&customer_service);          // a grpc::Service using the callback API
//     rt.OnShutdown([&] { store.reset(); });     // after in-flight calls have drained
//     RETURN_IF_ERROR(rt.Start());               // logs {"event":"ready","grpc":...,"admin":...}
//     rt.WaitForTermination();                   // SIGTERM, SIGINT or RequestShutdown()
//     rt.Shutdown(absl::Seconds(20));            // logs {"event":"stopped",...}
//     return absl::OkStatus();
//   }
//   int main(int argc, char** argv) { return crm::runtime::ExitCodeFor(Run(argc, argv)); }
//
// Metrics recorded into the registry for every RPC (health checks and
// reflection included):
//   crm_grpc_server_handled_total{method="/pkg.Service/Method",code="OK"}
//   crm_grpc_server_handling_seconds{method="/pkg.Service/Method"} (histogram)
// Calls to methods the binary does not implement share method="unknown", so
// clients cannot create series at will.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "crm/runtime/flags.h"
#include "crm/runtime/metrics.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace crm::runtime {

// Lifecycle: construct -> AddService/OnShutdown -> Start -> WaitForTermination
// -> Shutdown -> destroy. Every step is optional after a failed Start, and the
// destructor performs a Shutdown with no drain time if one is still due.
// Thread safety: RequestShutdown may be called from any thread (and is what a
// signal triggers); the other methods belong to the thread that runs main.
// Signals: from Start until Shutdown, SIGTERM and SIGINT are caught (through a
// handler that only writes to a pipe) and wake WaitForTermination; Shutdown
// restores the previous handlers, so a second signal during the drain acts as
// it would without the runtime. Only the most recently started runtime in a
// process receives signals.
class ServiceRuntime {
 public:
  // `registry` must outlive this object.
  ServiceRuntime(std::string service_name, ServiceFlags flags,
                 MetricsRegistry* registry = &MetricsRegistry::Default());
  ~ServiceRuntime();
  ServiceRuntime(const ServiceRuntime&) = delete;
  ServiceRuntime& operator=(const ServiceRuntime&) = delete;

  // Before Start. Not owned; must stay alive until Shutdown returns.
  void AddService(grpc::Service* service);

  // Before Shutdown. Hooks run once, after the gRPC server has drained and
  // before the admin port closes, last registered first.
  void OnShutdown(std::function<void()> hook);

  // Sets the log service name and level, binds gRPC on listen_host:grpc_port
  // and the admin port on listen_host:admin_port, marks both ready, logs
  // "ready". Errors: INVALID_ARGUMENT for a bad log level or incomplete TLS
  // flags; NOT_FOUND / PERMISSION_DENIED for unreadable TLS files;
  // UNAVAILABLE naming the address when a port cannot be bound (or the TLS
  // material is unusable); FAILED_PRECONDITION when called twice. On error
  // nothing is left running.
  absl::Status Start();

  // Bound ports, valid after a successful Start.
  int grpc_port() const;
  int admin_port() const;

  // Blocks until SIGTERM/SIGINT arrives or RequestShutdown is called (returns
  // at once if that already happened). Does not shut anything down itself.
  void WaitForTermination();

  // Wakes WaitForTermination. Async-signal-safe and thread-safe.
  void RequestShutdown();

  // Marks the service not ready (/readyz 503, health NOT_SERVING), stops
  // accepting calls and lets in-flight calls finish for up to `drain_timeout`
  // (then cancels them), runs the OnShutdown hooks, stops the admin port and
  // logs "stopped". Idempotent; does nothing before a successful Start.
  void Shutdown(absl::Duration drain_timeout);

  MetricsRegistry& metrics() { return *registry_; }

 private:
  struct Impl;
  MetricsRegistry* registry_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace crm::runtime
