// Server interceptor recording per-RPC metrics (private to libs/runtime).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "crm/runtime/metrics.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status_code_enum.h"

namespace crm::runtime::internal {

// Creates one interceptor per RPC that, when the status is sent, counts
// crm_grpc_server_handled_total{method,code} and observes
// crm_grpc_server_handling_seconds{method}. Methods the binary does not know
// (see IsKnownMethod in the .cc) are all labelled method="unknown".
// Lifecycle: owned by the grpc::Server (via ServerBuilder); `registry` must
// outlive it. Thread safety: called by gRPC from any thread. A per-thread
// cache in front of the method table means a steady-state RPC takes no
// shared lock, only relaxed atomic increments.
class GrpcMetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GrpcMetricsInterceptorFactory(MetricsRegistry* registry);

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

  struct MethodMetrics {
    std::string method;
    Histogram* latency = nullptr;
    // Filled lazily, one counter per status code seen, so that /metrics
    // lists only codes that happened.
    std::array<std::atomic<Counter*>, grpc::StatusCode::UNAUTHENTICATED + 1> handled{};
  };

  // Counts one finished RPC.
  void Record(MethodMetrics& metrics, grpc::StatusCode code, double seconds);

 private:
  MethodMetrics& ForMethod(std::string_view method);

  MetricsRegistry* const registry_;
  const uint64_t id_;  // Process-unique, never reused: keys the per-thread caches.
  absl::Mutex mu_;
  absl::node_hash_map<std::string, MethodMetrics> methods_ ABSL_GUARDED_BY(mu_);
};

}  // namespace crm::runtime::internal
