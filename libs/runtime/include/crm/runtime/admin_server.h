// The admin HTTP port every service exposes next to gRPC:
//   GET /metrics  Prometheus text (content type text/plain; version=0.0.4)
//   GET /readyz   200 "ready" after SetReady(true) while the Readiness has no
//                 block, otherwise 503 "not ready" and one "block: reason"
//                 line per block
//   GET /healthz  200 "ok" while the process serves HTTP at all
//
//   crm::runtime::AdminServer admin("127.0.0.1", 0, &crm::runtime::MetricsRegistry::Default());
//   RETURN_IF_ERROR(admin.Start());
//   admin.SetReady(true);
//   ... admin.port() ...
//   admin.Stop();
//
// ServiceRuntime owns one; use this class directly only for tools without gRPC.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "crm/runtime/metrics.h"
#include "crm/runtime/readiness.h"

namespace crm::runtime {

// Lifecycle: construct, Start() once, Stop() (or destroy, which stops).
// Serves from its own threads between Start and Stop.
// Thread safety: SetReady, ready and port may be called from any thread;
// Start and Stop from one thread.
class AdminServer {
 public:
  // `port` 0 lets the OS pick (see port()). `registry` and `readiness` must
  // outlive this object.
  AdminServer(std::string host, int port, MetricsRegistry* registry,
              Readiness* readiness = &Readiness::Default());
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and starts serving. UNAVAILABLE naming host:port when the address
  // cannot be bound; FAILED_PRECONDITION when already started.
  absl::Status Start();

  // The bound port after a successful Start, otherwise 0.
  int port() const;

  // The process's own switch (started and not draining); /readyz is 200 only
  // while it is on and the Readiness has no block.
  void SetReady(bool ready);
  bool ready() const;

  // Stops accepting, finishes the requests in progress and joins the serving
  // thread. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "host:port", bracketing IPv6 literals: "[::1]:8080".
std::string JoinHostPort(std::string_view host, int port);

}  // namespace crm::runtime
