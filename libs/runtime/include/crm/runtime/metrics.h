// A small Prometheus metrics registry: counters, gauges, histograms and
// gauges computed at scrape time, rendered in text exposition format 0.0.4.
// Hand-written because Debian 12 packages no prometheus-cpp.
//
//   auto& registry = crm::runtime::MetricsRegistry::Default();
//   crm::runtime::Counter& appended = registry.GetCounter(
//       "crm_events_appended_total", "Events appended.", {{"stream_type", "customer"}});
//   appended.Inc(3);  // Lock-free: keep the reference, look up once.
//
//   crm::runtime::CallbackGauge backlog = registry.AddCallbackGauge(
//       "crm_outbox_backlog", "Outbox entries not yet published.", {},
//       [&] { return static_cast<double>(outbox.Backlog()); });
//   // The gauge is scraped until `backlog` is destroyed.
//
// A metric is one series: a family name plus a fixed set of label values
// chosen when it is created. Getting the same name and labels again returns the
// same object. Misuse that only a code change can fix (an invalid metric or
// label name, reusing a name with another metric type, a "le" label on a
// histogram) aborts the process with a message: such code never gets past its
// first test run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace crm::runtime {

// Label name/value pairs; order does not matter (series are keyed by sorted names).
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count. Thread-safe and lock-free.
class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down. Thread-safe and lock-free.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into fixed buckets (upper bounds, inclusive, with an
// implicit +Inf bucket) and keeps their sum. Thread-safe and lock-free; a
// scrape concurrent with Observe may see the sum and the buckets one
// observation apart, which Prometheus tolerates.
class Histogram {
 public:
  // `upper_bounds` must be sorted ascending, finite and distinct.
  explicit Histogram(std::vector<double> upper_bounds);

  void Observe(double value);

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Per-bucket counts, not cumulative; the last entry is the +Inf bucket.
  std::vector<uint64_t> BucketCounts() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // upper_bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Prometheus client defaults, in seconds: 5 ms .. 10 s.
std::vector<double> DefaultLatencyBuckets();

class MetricsRegistry;

// Keeps a gauge added with AddCallbackGauge registered; destroying (or
// reassigning) it unregisters the gauge. Move-only. Must not outlive its
// registry. Not thread-safe itself; destroy it from one thread.
class CallbackGauge {
 public:
  CallbackGauge() = default;
  CallbackGauge(CallbackGauge&& other) noexcept;
  CallbackGauge& operator=(CallbackGauge&& other) noexcept;
  ~CallbackGauge();

 private:
  friend class MetricsRegistry;
  CallbackGauge(MetricsRegistry* registry, std::string name, std::string key, uint64_t id)
      : registry_(registry), name_(std::move(name)), key_(std::move(key)), id_(id) {}
  void Reset();

  MetricsRegistry* registry_ = nullptr;
  std::string name_;
  std::string key_;
  uint64_t id_ = 0;
};

// Owns metric families and renders them.
// Lifecycle: Default() lives for the whole process; tests construct their own.
// References returned by Get* stay valid for the registry's lifetime.
// Thread safety: all methods are thread-safe. Get* and rendering take one
// mutex, so look metrics up once and keep the reference; updating a metric
// never takes it.
class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  static MetricsRegistry& Default();

  // `help` is taken from the first call for a name and ignored afterwards.
  Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  // `upper_bounds` is taken from the first series of the family.
  Histogram& GetHistogram(std::string_view name, std::string_view help, const Labels& labels = {},
                          std::vector<double> upper_bounds = DefaultLatencyBuckets());

  // A gauge whose value is `value()` at each scrape. `value` runs under the
  // registry mutex: it must be quick and must not use this registry. Adding
  // the same name and labels again replaces the callback (and the older
  // CallbackGauge then does nothing). A plain gauge with the same name and
  // labels aborts.
  [[nodiscard]] CallbackGauge AddCallbackGauge(std::string_view name, std::string_view help,
                                               const Labels& labels, std::function<double()> value);

  // Text exposition format 0.0.4: families sorted by name, series by labels,
  // each family with "# HELP" and "# TYPE" lines.
  std::string RenderPrometheusText() const;

 private:
  friend class CallbackGauge;
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> callback;
    uint64_t callback_id = 0;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> upper_bounds;      // Histograms only.
    std::map<std::string, Series> series;  // Keyed by rendered labels: a="1",b="2".
  };

  // Finds or creates the family and the series slot; aborts on a type clash.
  Series& SeriesFor(std::string_view name, std::string_view help, Type type, const Labels& labels,
                    std::string* key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveCallback(const std::string& name, const std::string& key, uint64_t id);

  mutable absl::Mutex mu_;
  std::map<std::string, Family, std::less<>> families_ ABSL_GUARDED_BY(mu_);
  uint64_t next_callback_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace crm::runtime
