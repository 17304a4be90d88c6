// Overload control: the CPU side of admission.
//
// When a process's CPUs are saturated, calls wait inside gRPC before any handler
// runs: gRPC reads, parses and dispatches calls on the same threads that run the
// handlers. A bound on calls in flight cannot see that queue, and the excess
// ends at the callers' deadlines instead of being refused. What shows the queue
// is that the threads which serve calls are never idle: every period,
// OverloadControl measures the share of time those threads were busy, running
// or waiting runnable for a CPU (/proc/self/task/<tid>/schedstat). While that
// share is above the target it raises Admission's shed fraction, and it lowers
// it while below. A shed call is answered RESOURCE_EXHAUSTED before any of its
// work (command::Enter), which costs far less CPU than serving it, so gRPC
// catches up and the calls it admits keep a short latency.
// See docs/adr/0012-cpu-load-shedding.md.
//
//   runtime::OverloadControl control(&runtime::Admission::Default(), registry, {.target = 0.9});
//   control.Start();   // a thread, one step per period
//   ...
//   control.Stop();
//
// ServiceRuntime runs one with --overload_busy_target (0 turns it off) and
// --overload_max_waiting. Metrics:
//   crm_grpc_server_threads_busy     share of time the serving threads were busy, last period
//   crm_grpc_server_calls_waiting    calls taken by gRPC, not in a handler yet
//   crm_grpc_server_threads          threads that have served calls
//   crm_grpc_server_shed_fraction    share of calls being shed
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/time/time.h"
#include "crm/runtime/admission.h"
#include "crm/runtime/metrics.h"

namespace crm::runtime {

// Marks the calling thread as one that serves calls (command::Enter calls it
// for every call; after a thread's first call it is one thread-local check).
void NoteServingThread();

// A thread's scheduler times so far: ran, and waited runnable for a CPU
// (/proc/self/task/<tid>/schedstat). nullopt when the thread is gone or the
// kernel keeps no such times.
struct ThreadTimes {
  absl::Duration ran;
  absl::Duration waited;
};
std::optional<ThreadTimes> ReadThreadTimes(int tid);

// Calls this process's gRPC servers have taken and not finished (channelz).
int64_t CallsOpenInGrpc();

class OverloadControl {
 public:
  struct Options {
    // Busy share of the serving threads (0..1) above which calls are shed;
    // 0 = never.
    double target = 0.9;
    // Calls waiting inside gRPC for a handler above which busy threads mean
    // the server is falling behind; negative: busy threads alone do.
    int64_t max_waiting = 256;
    absl::Duration period = absl::Milliseconds(50);
    // Change of the shed fraction per period: by all of it when the threads
    // were busy all the time (or idle all the time), in proportion between;
    // up to 4 times that while more than max_waiting calls wait (by how many
    // times more).
    double step = 0.1;
    // The shed fraction never passes this: some calls always get through, so
    // that the load they cause is still measured.
    double max_shed = 0.95;
  };

  // `admission` and `registry` must outlive this object.
  OverloadControl(Admission* admission, MetricsRegistry* registry, Options options);
  ~OverloadControl();
  OverloadControl(const OverloadControl&) = delete;
  OverloadControl& operator=(const OverloadControl&) = delete;

  // Starts the sampling thread; nothing when target is 0. Stop joins it and
  // sets the shed fraction back to 0. Both idempotent.
  void Start();
  void Stop();

  // One step with a measured busy share and number of calls waiting in gRPC:
  // the new shed fraction (also set on the Admission). What the thread does
  // every period; public for tests.
  double Step(double busy, int64_t waiting_calls);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace crm::runtime
