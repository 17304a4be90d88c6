#include "crm/runtime/overload.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "crm/runtime/periodic_worker.h"
#include "grpc/grpc.h"
#include "grpc/support/alloc.h"
#include "nlohmann/json.hpp"

namespace crm::runtime {
namespace {

struct ServingThreads {
  absl::Mutex mu;
  absl::flat_hash_set<int> tids ABSL_GUARDED_BY(mu);
};

ServingThreads& Serving() {
  static ServingThreads* const threads = new ServingThreads;
  return *threads;
}

}  // namespace

int64_t CallsOpenInGrpc() {
  // gRPC's channelz counts a server's calls when their stream is accepted,
  // before any queue, and when they end. IDs in its JSON are strings.
  char* text = grpc_channelz_get_servers(0);
  if (text == nullptr) return 0;
  const nlohmann::json servers = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  gpr_free(text);
  int64_t open = 0;
  if (!servers.is_object() || !servers.contains("server")) return 0;
  for (const nlohmann::json& server : servers["server"]) {
    if (!server.is_object() || !server.contains("data")) continue;
    const nlohmann::json& data = server["data"];
    auto count = [&data](const char* key) -> int64_t {
      int64_t n = 0;
      if (data.contains(key) && data[key].is_string()) {
        (void)absl::SimpleAtoi(data[key].get<std::string>(), &n);
      }
      return n;
    };
    open += count("callsStarted") - count("callsSucceeded") - count("callsFailed");
  }
  return std::max<int64_t>(0, open);
}

void NoteServingThread() {
  thread_local bool noted = false;
  if (noted) return;
  noted = true;
  const int tid = static_cast<int>(syscall(SYS_gettid));
  ServingThreads& serving = Serving();
  absl::MutexLock lock(&serving.mu);
  serving.tids.insert(tid);
}

std::optional<ThreadTimes> ReadThreadTimes(int tid) {
  const std::string path = absl::StrCat("/proc/self/task/", tid, "/schedstat");
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[128];
  const ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return std::nullopt;
  // "<ns on a CPU> <ns waiting runnable on a run queue> <timeslices>"
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(buf, static_cast<size_t>(n)), ' ', absl::SkipEmpty());
  int64_t ran = 0, waited = 0;
  if (fields.size() < 2 || !absl::SimpleAtoi(fields[0], &ran) ||
      !absl::SimpleAtoi(fields[1], &waited)) {
    return std::nullopt;
  }
  return ThreadTimes{absl::Nanoseconds(ran), absl::Nanoseconds(waited)};
}

struct OverloadControl::Impl {
  Impl(Admission* admission, MetricsRegistry* registry, Options options)
      : admission(admission),
        options(options),
        busy(registry->GetGauge(
            "crm_grpc_server_threads_busy",
            "Share of time the threads that serve calls were running or waiting runnable for "
            "a CPU, over the last period; above --overload_busy_target calls are shed.")),
        queued(registry->GetGauge(
            "crm_grpc_server_calls_waiting",
            "Calls gRPC has taken and not handed to a handler yet (open calls less calls in "
            "flight), at the last period; above --overload_max_waiting calls are shed.")),
        threads(registry->GetGauge("crm_grpc_server_threads",
                                   "Threads that have served calls (and still run).")),
        shed(registry->GetGauge("crm_grpc_server_shed_fraction",
                                "Share of calls refused RESOURCE_EXHAUSTED before any work "
                                "because the serving threads are saturated.")) {}

  // Measures the serving threads' busy share since the last tick and steps.
  void Tick() {
    std::vector<int> tids;
    {
      ServingThreads& serving = Serving();
      absl::MutexLock lock(&serving.mu);
      tids.assign(serving.tids.begin(), serving.tids.end());
    }
    const absl::Time now = absl::Now();
    absl::flat_hash_map<int, absl::Duration> times;
    absl::Duration busy_sum;
    int measured = 0;
    std::vector<int> gone;
    for (int tid : tids) {
      std::optional<ThreadTimes> t = ReadThreadTimes(tid);
      if (!t) {
        gone.push_back(tid);
        continue;
      }
      const absl::Duration total = t->ran + t->waited;
      times[tid] = total;
      if (auto it = last.find(tid); it != last.end() && last_at) {
        busy_sum += total - it->second;
        ++measured;
      }
    }
    if (!gone.empty()) {
      ServingThreads& serving = Serving();
      absl::MutexLock lock(&serving.mu);
      for (int tid : gone) serving.tids.erase(tid);
    }
    threads.Set(static_cast<double>(times.size()));
    const int64_t waiting = std::max<int64_t>(0, CallsOpenInGrpc() - admission->in_flight());
    if (measured > 0 && now > *last_at) {
      // Scheduler accounting may run a little over the wall time: at most 1.
      Step(std::min(1.0, absl::ToDoubleSeconds(busy_sum) /
                             (absl::ToDoubleSeconds(now - *last_at) * measured)),
           waiting);
    } else if (last_at) {
      Step(0, waiting);  // no call served: nothing busy
    }
    last = std::move(times);
    last_at = now;
  }

  double Step(double measured, int64_t waiting_calls) {
    busy.Set(measured);
    queued.Set(static_cast<double>(waiting_calls));
    if (options.target > 0) {
      // -1 (idle all the time) .. 0 (on target) .. +1 (busy all the time).
      double error = measured > options.target
                         ? (measured - options.target) / std::max(1e-9, 1 - options.target)
                         : (measured - options.target) / options.target;
      // Busy threads with a short queue are a server at capacity, not behind
      // (e.g. a fixed number of callers that each wait for their answer): no
      // more shedding than now, which may be what keeps the queue short.
      if (error > 0 && waiting_calls <= options.max_waiting) error = 0;
      // Behind: the longer the queue, the faster up (up to 4 steps a period),
      // as every period at a low fraction lets the queue grow.
      if (error > 0 && options.max_waiting > 0) {
        error *= std::clamp(static_cast<double>(waiting_calls) /
                                static_cast<double>(options.max_waiting),
                            1.0, 4.0);
      }
      fraction = std::clamp(fraction + options.step * std::clamp(error, -1.0, 4.0), 0.0,
                            options.max_shed);
    }
    shed.Set(fraction);
    admission->SetShedFraction(fraction);
    return fraction;
  }

  Admission* const admission;
  const Options options;
  Gauge& busy;
  Gauge& queued;
  Gauge& threads;
  Gauge& shed;
  absl::flat_hash_map<int, absl::Duration> last;
  std::optional<absl::Time> last_at;
  double fraction = 0;
  std::unique_ptr<PeriodicWorker> worker;
};

OverloadControl::OverloadControl(Admission* admission, MetricsRegistry* registry, Options options)
    : impl_(std::make_unique<Impl>(admission, registry, options)) {}

OverloadControl::~OverloadControl() { Stop(); }

void OverloadControl::Start() {
  if (impl_->options.target <= 0 || impl_->worker != nullptr) return;
  impl_->worker = std::make_unique<PeriodicWorker>("overload", impl_->options.period,
                                                   [impl = impl_.get()] { impl->Tick(); });
  impl_->worker->Start();
}

void OverloadControl::Stop() {
  if (impl_->worker == nullptr) return;
  impl_->worker->Stop();
  impl_->fraction = 0;
  impl_->shed.Set(0);
  impl_->admission->SetShedFraction(0);
}

double OverloadControl::Step(double busy, int64_t waiting_calls) {
  return impl_->Step(busy, waiting_calls);
}

}  // namespace crm::runtime
