// Admission: the bound on a process's in-flight calls. A call is admitted
// after it is authenticated and holds its place until it finishes; a call over
// the bound is answered at once with RESOURCE_EXHAUSTED instead of queueing.
//
//   runtime::Admission& admission = runtime::Admission::Default();
//   if (!admission.TryEnter()) return Finish(runtime::ToGrpcStatus(admission.Busy()));
//   ... the call runs; when it finishes:
//   admission.Leave();
//
// A bound on calls in flight cannot see calls that wait inside gRPC because the
// CPU is saturated; for those, OverloadControl (overload.h) sets a fraction of
// calls to shed at random before any of their work:
//
//   if (admission.Shed()) return Finish(runtime::ToGrpcStatus(admission.Overloaded()));
//
// ServiceRuntime::Start sets the bound of Default() from --max_in_flight and
// runs an OverloadControl on it; until then (tests, tools) it is unbounded and
// sheds nothing. Metrics (registered in the default registry by Default()):
//   crm_grpc_server_in_flight                         calls admitted and not finished
//   crm_grpc_server_rejected_total{reason="in_flight"}  refused: --max_in_flight reached
//   crm_grpc_server_rejected_total{reason="overload"}   refused: shed, CPU saturated
//   crm_grpc_server_rejected_total{reason="queue_full"} refused: a work queue was full
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "crm/runtime/metrics.h"

namespace crm::runtime {

// Thread safety: every method may be called from any thread; TryEnter and
// Leave are one atomic operation each.
class Admission {
 public:
  // `registry` must outlive this object.
  explicit Admission(MetricsRegistry* registry);
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // The process's one instance (metrics in MetricsRegistry::Default()).
  static Admission& Default();

  // At most `max_in_flight` calls at once; 0 = no bound.
  void SetLimit(int64_t max_in_flight);
  int64_t limit() const { return limit_.load(std::memory_order_relaxed); }

  // Takes a place; false (and counted as rejected "in_flight") when the bound
  // is reached. Every true is followed by exactly one Leave().
  bool TryEnter();
  void Leave();

  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

  // The share (0..1) of calls to shed; 0 sheds none.
  void SetShedFraction(double fraction);
  double shed_fraction() const { return shed_fraction_.load(std::memory_order_relaxed); }
  // True (and counted as rejected "overload") for a random shed_fraction() of
  // the calls that ask. Lock-free; a thread-local generator.
  bool Shed();
  // RESOURCE_EXHAUSTED "server overloaded: CPU saturated, N% of calls refused; retry later".
  absl::Status Overloaded() const;

  // RESOURCE_EXHAUSTED "server busy: N calls in flight (--max_in_flight); retry later".
  absl::Status Busy() const;

  // Counts a call refused because a work queue (the slow-query pool) was full,
  // and gives its RESOURCE_EXHAUSTED status naming `queue`.
  absl::Status QueueFull(std::string_view queue);

 private:
  std::atomic<int64_t> limit_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<double> shed_fraction_{0};
  Counter& rejected_in_flight_;
  Counter& rejected_overload_;
  Counter& rejected_queue_full_;
  CallbackGauge in_flight_gauge_;
};

}  // namespace crm::runtime
