// A background thread that runs a function at once and then every interval,
// for a service's periodic scans (revisit planning, SLA checks, reclassification).
//
//   runtime::PeriodicWorker worker("sla-scan", absl::Seconds(1), [&] { logic->CheckSla(); });
//   rt.OnShutdown([&] { worker.Stop(); });
//   RETURN_IF_ERROR(rt.Start());
//   worker.Start();
//
// The interval is counted from the end of one tick to the start of the next;
// Wake() starts the next one early (e.g. from a consumer's on_committed).
// Stop() wakes the sleeping thread at once and waits for a running tick to end.
//
// Thread safety: Start and Stop may be called from any thread, but not from the
// tick itself (Stop joins the thread). Everything `tick` uses must outlive the
// worker or its Stop().
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace crm::runtime {

class PeriodicWorker {
 public:
  // `name` names the thread (first 15 bytes). `interval` should be positive;
  // absl::InfiniteDuration() (or a century or more) runs `tick` once.
  PeriodicWorker(std::string name, absl::Duration interval, std::function<void()> tick);
  ~PeriodicWorker() { Stop(); }

  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;

  // Starts the thread, which runs `tick` immediately. Does nothing when already
  // started or after Stop() (a worker runs at most once).
  void Start();
  // Stops the thread and joins it. Idempotent; fine before Start().
  void Stop();
  // Runs the next tick now instead of at the end of the interval (a tick running
  // meanwhile is followed by another one at once). Cheap; any thread, any time.
  void Wake();

  const std::string& name() const { return name_; }

 private:
  void Loop();

  const std::string name_;
  const absl::Duration interval_;
  const std::function<void()> tick_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;   // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::mutex join_mu_;
  std::thread thread_;  // set by Start under mu_ before stopping_; joined under join_mu_
};

}  // namespace crm::runtime
