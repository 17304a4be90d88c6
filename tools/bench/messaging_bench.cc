#include "messaging_bench.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "bench_util.h"
#include "common/testing/subprocess.h"
#include "crm/common/ids.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/consumer_runner.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/runtime/log.h"
#include "crm/runtime/metrics.h"

// The crm-devbroker built with crm-bench (set by tools/bench/CMakeLists.txt).
#ifndef CRM_DEVBROKER_PATH
#define CRM_DEVBROKER_PATH "crm-devbroker"
#endif

namespace crm::bench {
namespace {

using ::crm::eventstore::AppendRequest;
using ::crm::eventstore::EventStore;
using ::crm::eventstore::ExpectedVersion;
using ::crm::eventstore::NewEvent;
using ::crm::eventstore::ProjectionWrite;
using ::crm::messaging::BatchView;
using ::crm::messaging::ConsumedEvent;
using ::crm::messaging::ConsumerRunner;
using ::crm::messaging::EventHandler;
using ::crm::messaging::OutboxRelay;
using SteadyClock = std::chrono::steady_clock;

constexpr char kEventType[] = "crm.bench.v1.Appended";
constexpr char kSource[] = "crm-bench";
// The producer's own row per append (the shape of a service command) and the
// consumer's row per consumed event.
constexpr char kCommandProjection[] = "bench";
constexpr char kSeenProjection[] = "bench_seen";
constexpr size_t kProjectionValueBytes = 32;

constexpr absl::Duration kWarmup = absl::Seconds(1);
// Appended and awaited before the paced run, so that the group join and the
// first connections are not part of it.
constexpr int kPrimeEvents = 12;
constexpr absl::Duration kPrimeTimeout = absl::Seconds(60);
// How long, after the last append, events may take to become visible before they
// count as lost; and how long a throughput run may make no progress.
constexpr absl::Duration kArrivalTimeout = absl::Seconds(60);
constexpr absl::Duration kStallTimeout = absl::Seconds(30);
// How often the commit of handled events is looked for (bounds the error that
// polling adds to the "visible" latency).
constexpr auto kCommitPoll = std::chrono::microseconds(200);

// crm-devbroker keeps at most 5 MiB of records per partition and drops the oldest
// beyond; the consumer throughput run needs every record. Partitions for
// options.relay_events records of the payload plus ~450 B of key and CloudEvents
// headers, filled to 4 MiB at most (keys do not spread evenly).
int PartitionsToHold(const MessagingBenchOptions& options) {
  constexpr double kRecordOverheadBytes = 512;
  constexpr double kBytesPerPartition = 4 << 20;
  const double bytes = static_cast<double>(options.relay_events) *
                       (static_cast<double>(options.payload_bytes) + kRecordOverheadBytes);
  return std::clamp(static_cast<int>(std::ceil(bytes / kBytesPerPartition)), 1, 256);
}

// Separate topics, so the throughput runs do not read the latency run's records.
const std::string kLatencyTopic(messaging::kCustomerTopic);
const std::string kThroughputTopic(messaging::kInteractionTopic);
// The consumers' librdkafka properties: a dead member's partitions move on after
// session.timeout.ms (Kafka's default is 45 s); fetch.wait.max.ms when asked for.
std::vector<std::pair<std::string, std::string>> ConsumerProperties(
    const MessagingBenchOptions& options) {
  std::vector<std::pair<std::string, std::string>> properties = {{"session.timeout.ms", "6000"}};
  if (options.fetch_wait_max_ms >= 0) {
    properties.emplace_back("fetch.wait.max.ms", absl::StrCat(options.fetch_wait_max_ms));
  }
  return properties;
}

void PrintError(const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "crm-bench messaging: error: %s\n", what.c_str());
  std::fflush(stderr);
}

double Millis(SteadyClock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

uint64_t SeedFor(int thread, uint64_t salt) {
  return static_cast<uint64_t>(thread + 1) * 0x9E3779B97F4A7C15ull ^ salt;
}

// Polls `done` every millisecond until it returns true (then true) or `timeout`
// passes (then false).
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const auto deadline = SteadyClock::now() + absl::ToChronoNanoseconds(timeout);
  while (!done()) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

absl::StatusOr<std::unique_ptr<EventStore>> OpenStore(const std::string& path) {
  absl::StatusOr<std::unique_ptr<EventStore>> store = eventstore::OpenEventStore({.path = path});
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        absl::StrCat("OpenEventStore(", path, "): ", store.status().message()));
  }
  return store;
}

// A crm-devbroker child process, stopped with SIGTERM when destroyed.
// Not thread-safe; one owner.
class DevBrokerProcess {
 public:
  // Starts `binary` with `partitions` per topic, writing its address to `file`,
  // and waits until it is ready. NOT_FOUND when the binary is not executable,
  // UNAVAILABLE when it does not become ready within 30 s.
  static absl::StatusOr<std::unique_ptr<DevBrokerProcess>> Start(const std::string& binary,
                                                                 const std::string& file,
                                                                 int partitions) {
    if (access(binary.c_str(), X_OK) != 0) {
      return absl::NotFoundError(absl::StrCat("crm-devbroker not executable at ", binary,
                                              " (build it, or pass --devbroker or --brokers)"));
    }
    std::unique_ptr<DevBrokerProcess> broker(new DevBrokerProcess(
        {binary, absl::StrCat("--partitions=", partitions), "--bootstrap_file=" + file}));
    if (!broker->process_.WaitForLine("\"event\":\"ready\"", absl::Seconds(30))) {
      return absl::UnavailableError(
          absl::StrCat(binary, " did not print its ready line within 30 s"));
    }
    std::ifstream(file) >> broker->bootstrap_;
    if (broker->bootstrap_.empty()) {
      return absl::UnavailableError(absl::StrCat("no bootstrap address in ", file));
    }
    return broker;
  }

  ~DevBrokerProcess() {
    process_.Kill(SIGTERM);
    process_.Wait();
  }

  const std::string& bootstrap() const { return bootstrap_; }

 private:
  explicit DevBrokerProcess(std::vector<std::string> argv) : process_(std::move(argv)) {}

  ::crm::testing::Subprocess process_;
  std::string bootstrap_;
};

// Builds appends shaped like a service command: one event for a random customer
// (stream id = partition key), one projection row, a fresh command id. The event
// id is set here so that it is known before Append returns. One per thread.
class CommandMaker {
 public:
  CommandMaker(const std::vector<std::string>* keys, size_t payload_bytes, uint64_t seed)
      : keys_(keys), rng_(seed) {
    request_.expected_version = ExpectedVersion::Any();
    NewEvent event;
    event.event_type = kEventType;
    event.actor = "user:bench";
    event.payload.resize(payload_bytes);
    request_.events.push_back(std::move(event));
    request_.projection_writes.push_back(
        ProjectionWrite::Put(kCommandProjection, "", std::string(kProjectionValueBytes, '\0')));
  }

  const AppendRequest& Next() {
    const std::string& key = (*keys_)[rng_.Uniform(keys_->size())];
    request_.stream_id = key;
    request_.command_id = NewId();
    NewEvent& event = request_.events.front();
    event.event_id = NewId();
    event.partition_key = key;
    rng_.Fill(event.payload);
    ProjectionWrite& row = request_.projection_writes.front();
    row.key = key;
    rng_.Fill(row.value);
    return request_;
  }

 private:
  const std::vector<std::string>* keys_;
  FastRandom rng_;
  AppendRequest request_;
};

std::vector<std::string> Keys(const std::string& prefix, int n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (int i = 0; i < n; ++i) keys.push_back(absl::StrFormat("%scust-%06d", prefix, i));
  return keys;
}

// When each of this run's appends was acknowledged, by event id: filled by the
// appenders, read by the consumer's handler. Sharded so that appenders and the
// handler rarely wait on the same mutex. Thread-safe.
class AckTimes {
 public:
  struct Entry {
    std::optional<SteadyClock::time_point> acked;  // unset until Append returned
    bool measured = false;                         // acknowledged inside the window
  };

  // Before Append: the event is ours.
  void Expect(const std::string& id) {
    Shard& s = ShardOf(id);
    std::lock_guard<std::mutex> lock(s.mu);
    s.entries[id] = Entry{};
  }
  void Acked(const std::string& id, SteadyClock::time_point at, bool measured) {
    Shard& s = ShardOf(id);
    std::lock_guard<std::mutex> lock(s.mu);
    s.entries[id] = Entry{at, measured};
  }
  // After a failed Append.
  void Forget(const std::string& id) {
    Shard& s = ShardOf(id);
    std::lock_guard<std::mutex> lock(s.mu);
    s.entries.erase(id);
  }
  // std::nullopt when `id` is not one of this run's events.
  std::optional<Entry> Find(const std::string& id) const {
    Shard& s = ShardOf(id);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.entries.find(id);
    if (it == s.entries.end()) return std::nullopt;
    return it->second;
  }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    std::mutex mu;
    absl::flat_hash_map<std::string, Entry> entries;
  };
  Shard& ShardOf(const std::string& id) const {
    return shards_[std::hash<std::string>{}(id) % kShards];
  }
  mutable std::array<Shard, kShards> shards_;
};

// One Handle call of the latency run's handler.
struct Handled {
  bool ours = false;  // one of this run's appends (records of earlier runs are not)
  std::optional<SteadyClock::time_point> acked;
  bool measured = false;
  SteadyClock::time_point handled_at;
};

// The latency run's handler: notes when each event was handled and returns one
// projection row per event (so the runner's synced commit is a real one).
// Handle runs on the runner's thread; Visit from any thread.
class LatencyHandler final : public EventHandler {
 public:
  explicit LatencyHandler(const AckTimes* acks) : acks_(acks) {}

  absl::Status Handle(const ConsumedEvent& e, const BatchView& view,
                      std::vector<ProjectionWrite>& out) override {
    const SteadyClock::time_point now = SteadyClock::now();
    std::optional<AckTimes::Entry> entry = acks_->Find(e.event.event_id());
    {
      std::lock_guard<std::mutex> lock(mu_);
      handled_.push_back(Handled{.ours = entry.has_value(),
                                 .acked = entry ? entry->acked : std::nullopt,
                                 .measured = entry && entry->measured,
                                 .handled_at = now});
    }
    out.push_back(
        ProjectionWrite::Put(kSeenProjection, e.event.partition_key(), e.event.event_id()));
    return absl::OkStatus();
  }

  // Calls fn on the records of Handle calls [from, to) (fewer when fewer were
  // made); returns the index after the last one visited.
  size_t Visit(size_t from, size_t to, const std::function<void(const Handled&)>& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    to = std::min(to, handled_.size());
    for (size_t i = from; i < to; ++i) fn(handled_[i]);
    return std::max(from, to);
  }

 private:
  const AckTimes* acks_;
  mutable std::mutex mu_;
  std::vector<Handled> handled_;
};

// Acknowledgement times by global position, for the relay's part of the path.
// Positions of the producer store are dense from 1; the store is fresh, so its
// positions are exactly the appends of the latency run. Thread-safe (lock-free).
class PositionAcks {
 public:
  explicit PositionAcks(size_t capacity) : ack_ns_(capacity + 1), measured_(capacity + 1) {}

  void Acked(uint64_t position, SteadyClock::time_point at, bool measured) {
    if (position >= ack_ns_.size()) return;
    measured_[position].store(measured);
    ack_ns_[position].store(at.time_since_epoch().count());  // publishes `measured`
  }
  // The acknowledgement time of `position` if known and inside the window.
  std::optional<SteadyClock::time_point> Measured(uint64_t position) const {
    if (position >= ack_ns_.size()) return std::nullopt;
    const SteadyClock::rep ns = ack_ns_[position].load();
    if (ns == 0 || !measured_[position].load()) return std::nullopt;
    return SteadyClock::time_point(SteadyClock::duration(ns));
  }

 private:
  std::vector<std::atomic<SteadyClock::rep>> ack_ns_;  // 0 = not (yet) acknowledged
  std::vector<std::atomic<bool>> measured_;
};

// Turns acknowledgement times into latencies by watching two points of the path:
// - published: the producer store's published cursor (moved by the relay after
//   Kafka acknowledged the records, with a synced write);
// - committed: ConsumerRunner::Processed(), which grows only after a batch's
//   synced WriteProjections returned, by the number of Handle calls of that
//   batch, so the first Processed() Handle calls are exactly the committed ones.
//   (A batch that fails and is handled again would break this correspondence;
//   the runner logs such failures.)
// Both are polled every kCommitPoll, which bounds the error polling adds.
// Lifecycle: polls from construction until Stop() or destruction; the samples may
// be read after Stop(). Everything passed in must outlive it.
class LatencyWatcher {
 public:
  LatencyWatcher(const EventStore* producer, const PositionAcks* positions,
                 const LatencyHandler* handler, const ConsumerRunner* runner)
      : producer_(producer),
        positions_(positions),
        handler_(handler),
        runner_(runner),
        thread_([this] { Loop(); }) {}
  ~LatencyWatcher() { Stop(); }

  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  // This run's events committed by the consumer so far.
  uint64_t OursCommitted() const { return ours_committed_.load(); }
  // Events handled before their Append had returned (no latency for them).
  uint64_t Early() const { return early_; }
  // Milliseconds from Append returning to the consumer's commit, to Handle, and
  // to the relay's published cursor, for events acknowledged inside the measured
  // window. Read after Stop().
  std::vector<double>& visible_ms() { return visible_ms_; }
  std::vector<double>& handled_ms() { return handled_ms_; }
  std::vector<double>& published_ms() { return published_ms_; }

 private:
  void Loop() {
    size_t handled_done = 0;
    uint64_t published_done = 0;
    while (!stop_.load()) {
      const uint64_t published = producer_->PublishedPosition();
      if (published > published_done) {
        const SteadyClock::time_point now = SteadyClock::now();
        for (uint64_t p = published_done + 1; p <= published; ++p) {
          if (auto acked = positions_->Measured(p)) published_ms_.push_back(Millis(now - *acked));
        }
        published_done = published;
      }
      const uint64_t processed = runner_->Processed();
      if (processed > handled_done) {
        const SteadyClock::time_point now = SteadyClock::now();
        uint64_t ours = 0;
        handled_done = handler_->Visit(handled_done, processed, [&](const Handled& h) {
          if (!h.ours) return;
          ++ours;
          if (!h.acked) {
            ++early_;
            return;
          }
          if (!h.measured) return;
          visible_ms_.push_back(Millis(now - *h.acked));
          handled_ms_.push_back(Millis(h.handled_at - *h.acked));
        });
        ours_committed_.fetch_add(ours);
      }
      std::this_thread::sleep_for(kCommitPoll);
    }
  }

  const EventStore* producer_;
  const PositionAcks* positions_;
  const LatencyHandler* handler_;
  const ConsumerRunner* runner_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ours_committed_{0};
  // Written by the watcher thread only; read after Stop().
  uint64_t early_ = 0;
  std::vector<double> visible_ms_;
  std::vector<double> handled_ms_;
  std::vector<double> published_ms_;
  std::thread thread_;  // last: starts after the members above exist
};

// Appends scheduled by the latency run, warm-up included.
uint64_t SlotCount(const MessagingBenchOptions& options) {
  return static_cast<uint64_t>(
      std::llround(options.rate * (absl::ToDoubleSeconds(kWarmup) + options.seconds)));
}

struct PacedRun {
  uint64_t appended = 0;  // acknowledged appends, warm-up included
  uint64_t measured = 0;  // acknowledged inside the measured window
  uint64_t errors = 0;
  std::string first_error;
};

// Open loop: slot i is due at start + i / rate, whatever happened to earlier
// slots, so a slow append does not lower the offered rate. Each of `appenders`
// threads takes the next free slot, sleeps until it is due, appends, records the
// acknowledgement time and notifies the relay.
PacedRun RunPaced(const MessagingBenchOptions& options, EventStore& store, OutboxRelay& relay,
                  AckTimes& acks, PositionAcks& positions, const std::vector<std::string>& keys) {
  const auto warmup = absl::ToChronoNanoseconds(kWarmup);
  const auto measure = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(options.seconds));
  const double slot_ns = 1e9 / options.rate;
  const uint64_t slots = SlotCount(options);

  std::atomic<uint64_t> next_slot{0};
  std::atomic<uint64_t> appended{0};
  std::atomic<uint64_t> measured{0};
  std::atomic<uint64_t> errors{0};
  std::mutex error_mu;
  std::string first_error;
  std::latch built(options.appenders);
  std::latch go(1);
  // Written before go.count_down(), which orders it before the workers' reads.
  SteadyClock::time_point start;
  SteadyClock::time_point window_start;
  SteadyClock::time_point window_end;

  std::vector<std::thread> threads;
  for (int t = 0; t < options.appenders; ++t) {
    threads.emplace_back([&, t] {
      CommandMaker maker(&keys, static_cast<size_t>(options.payload_bytes), SeedFor(t, 0xE2E));
      built.count_down();
      go.wait();
      for (;;) {
        const uint64_t slot = next_slot.fetch_add(1);
        if (slot >= slots) break;
        std::this_thread::sleep_until(
            start + std::chrono::nanoseconds(std::llround(static_cast<double>(slot) * slot_ns)));
        const AppendRequest& request = maker.Next();
        const std::string& id = request.events.front().event_id;
        acks.Expect(id);
        absl::StatusOr<eventstore::AppendResult> result = store.Append(request);
        const SteadyClock::time_point now = SteadyClock::now();
        if (!result.ok()) {
          acks.Forget(id);
          if (errors.fetch_add(1) == 0) {
            std::lock_guard<std::mutex> lock(error_mu);
            first_error = result.status().ToString();
          }
          continue;
        }
        const bool in_window = now >= window_start && now < window_end;
        acks.Acked(id, now, in_window);
        positions.Acked(result->first_position, now, in_window);
        appended.fetch_add(1);
        if (in_window) measured.fetch_add(1);
      }
    });
  }
  built.wait();
  start = SteadyClock::now() + std::chrono::milliseconds(1);
  window_start = start + warmup;
  window_end = window_start + measure;
  go.count_down();
  for (std::thread& t : threads) t.join();

  PacedRun run;
  run.appended = appended.load();
  run.measured = measured.load();
  run.errors = errors.load();
  run.first_error = first_error;
  return run;
}

struct Percentiles {
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
  size_t n = 0;
};

// Nearest-rank percentiles.
Percentiles Summarize(std::vector<double>& ms) {
  Percentiles p;
  p.n = ms.size();
  if (ms.empty()) return p;
  std::sort(ms.begin(), ms.end());
  auto rank = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(ms.size())));
    return ms[std::clamp<size_t>(i, 1, ms.size()) - 1];
  };
  p.p50 = rank(0.50);
  p.p95 = rank(0.95);
  p.p99 = rank(0.99);
  p.max = ms.back();
  return p;
}

std::string FormatPercentiles(const Percentiles& p) {
  return absl::StrFormat("p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms", p.p50, p.p95, p.p99,
                         p.max);
}

// 1. End-to-end latency. Returns false when something failed (reported on stderr).
bool RunLatency(const MessagingBenchOptions& options, const std::string& brokers,
                const ScratchDir& dir, const std::string& run_tag) {
  absl::StatusOr<std::unique_ptr<EventStore>> producer = OpenStore(dir.Child("e2e-producer"));
  if (!producer.ok()) {
    PrintError(producer.status().ToString());
    return false;
  }
  absl::StatusOr<std::unique_ptr<EventStore>> consumer = OpenStore(dir.Child("e2e-consumer"));
  if (!consumer.ok()) {
    PrintError(consumer.status().ToString());
    return false;
  }
  runtime::MetricsRegistry metrics;
  AckTimes acks;
  LatencyHandler handler(&acks);

  absl::StatusOr<std::unique_ptr<ConsumerRunner>> runner =
      ConsumerRunner::Start(**consumer, handler,
                            {.brokers = brokers,
                             .group_id = absl::StrCat("crm-bench-e2e-", run_tag),
                             .topics = {kLatencyTopic},
                             .kafka_properties = ConsumerProperties(options),
                             .metrics = &metrics});
  if (!runner.ok()) {
    PrintError(absl::StrCat("ConsumerRunner::Start: ", runner.status().ToString()));
    return false;
  }
  absl::StatusOr<std::unique_ptr<OutboxRelay>> relay = OutboxRelay::Start(
      **producer,
      {.brokers = brokers, .topic = kLatencyTopic, .source = kSource, .metrics = &metrics});
  if (!relay.ok()) {
    PrintError(absl::StrCat("OutboxRelay::Start: ", relay.status().ToString()));
    return false;
  }
  PositionAcks positions(kPrimeEvents + SlotCount(options));
  LatencyWatcher watcher(producer->get(), &positions, &handler, runner->get());

  const std::vector<std::string> keys = Keys(absl::StrCat("e2e-", run_tag, "-"), options.keys);
  {
    CommandMaker maker(&keys, static_cast<size_t>(options.payload_bytes), 0x9819E);
    for (int i = 0; i < kPrimeEvents; ++i) {
      const AppendRequest& request = maker.Next();
      const std::string& id = request.events.front().event_id;
      acks.Expect(id);
      absl::StatusOr<eventstore::AppendResult> result = (*producer)->Append(request);
      if (!result.ok()) {
        PrintError(absl::StrCat("priming append: ", result.status().ToString()));
        return false;
      }
      acks.Acked(id, SteadyClock::now(), /*measured=*/false);
    }
  }
  if (!WaitFor([&] { return watcher.OursCommitted() >= kPrimeEvents; }, kPrimeTimeout)) {
    PrintError(absl::StrCat("the consumer committed ", watcher.OursCommitted(), " of the first ",
                            kPrimeEvents, " events within ", absl::FormatDuration(kPrimeTimeout),
                            " (broker reachable? group joined?)"));
    return false;
  }

  const PacedRun run = RunPaced(options, **producer, **relay, acks, positions, keys);
  const uint64_t expected = kPrimeEvents + run.appended;
  const bool arrived =
      WaitFor([&] { return watcher.OursCommitted() >= expected; }, kArrivalTimeout);
  // The documented shutdown: publish what is in flight (a relay stopped with
  // records in flight purges them, which the producer reports as errors).
  const absl::Status flushed = (*relay)->Flush(absl::Seconds(10));
  std::this_thread::sleep_for(2 * kCommitPoll);  // let the watcher see the cursor move
  watcher.Stop();

  Percentiles visible = Summarize(watcher.visible_ms());
  Percentiles handled = Summarize(watcher.handled_ms());
  Percentiles published = Summarize(watcher.published_ms());
  const double achieved = static_cast<double>(run.measured) / options.seconds;
  std::printf("e2e latency at %g/s: %s  (n=%zu, achieved %.1f/s)\n", options.rate,
              FormatPercentiles(visible).c_str(), visible.n, achieved);
  std::printf("  append -> published:    %s  (n=%zu)\n", FormatPercentiles(published).c_str(),
              published.n);
  std::printf("  append -> Handle:       %s  (n=%zu)\n", FormatPercentiles(handled).c_str(),
              handled.n);
  std::fflush(stdout);

  bool ok = true;
  if (run.errors > 0) {
    PrintError(
        absl::StrCat(run.errors, " failed appends in the latency run; first: ", run.first_error));
    ok = false;
  }
  if (!flushed.ok()) {
    PrintError(absl::StrCat("latency run: relay Flush: ", flushed.ToString()));
    ok = false;
  }
  if (!arrived) {
    PrintError(absl::StrCat(expected - watcher.OursCommitted(), " of ", expected,
                            " events not committed by the consumer ",
                            absl::FormatDuration(kArrivalTimeout), " after the last append"));
    ok = false;
  }
  if (watcher.Early() > 0) {
    // Not an error: the appender thread had not yet read the clock after Append
    // returned (descheduled), so such an event has no latency sample.
    std::fprintf(stderr,
                 "crm-bench messaging: %llu events reached the consumer before their appender "
                 "recorded the acknowledgement; they have no latency sample\n",
                 static_cast<unsigned long long>(watcher.Early()));
  }
  return ok;
}

// The throughput runs' handler: the same one projection row per event as the
// latency run, and counts. Handle runs on the runner's thread; the counters may
// be read from any thread.
class CountingHandler final : public EventHandler {
 public:
  CountingHandler(std::string prefix, uint64_t target)
      : prefix_(std::move(prefix)), target_(target) {}

  absl::Status Handle(const ConsumedEvent& e, const BatchView& view,
                      std::vector<ProjectionWrite>& out) override {
    const uint64_t calls = calls_.fetch_add(1) + 1;
    if (std::string_view(e.event.partition_key()).starts_with(prefix_)) {
      const uint64_t ours = ours_.load() + 1;
      if (ours == 1) first_at_ = SteadyClock::now().time_since_epoch().count();
      if (ours == target_) calls_at_target_.store(calls);
      ours_.store(ours);
    }
    out.push_back(
        ProjectionWrite::Put(kSeenProjection, e.event.partition_key(), e.event.event_id()));
    return absl::OkStatus();
  }

  // This run's events handled so far.
  uint64_t ours() const { return ours_.load(); }
  // Handle calls (of any record) up to the target-th of ours; 0 before that.
  uint64_t calls_at_target() const { return calls_at_target_.load(); }
  // When the first of ours was handled; meaningful once ours() > 0.
  SteadyClock::time_point first_at() const {
    return SteadyClock::time_point(SteadyClock::duration(first_at_.load()));
  }

 private:
  const std::string prefix_;
  const uint64_t target_;
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> ours_{0};
  std::atomic<uint64_t> calls_at_target_{0};
  std::atomic<SteadyClock::rep> first_at_{0};
};

// Appends options.relay_events events from options.fill_threads threads.
// Returns the first failure.
absl::Status FillStore(const MessagingBenchOptions& options, EventStore& store,
                       const std::vector<std::string>& keys) {
  std::atomic<int64_t> left{options.relay_events};
  std::mutex error_mu;
  absl::Status first_error;
  std::vector<std::thread> threads;
  for (int t = 0; t < options.fill_threads; ++t) {
    threads.emplace_back([&, t] {
      CommandMaker maker(&keys, static_cast<size_t>(options.payload_bytes), SeedFor(t, 0xF111));
      while (left.fetch_sub(1) > 0) {
        absl::StatusOr<eventstore::AppendResult> result = store.Append(maker.Next());
        if (!result.ok()) {
          std::lock_guard<std::mutex> lock(error_mu);
          if (first_error.ok()) first_error = result.status();
          left.store(0);  // a failing store fails every thread; stop them all
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return first_error;
}

// 2. and 3. Relay and consumer throughput. Returns false when something failed.
bool RunThroughput(const MessagingBenchOptions& options, const std::string& brokers,
                   const ScratchDir& dir, const std::string& run_tag) {
  const uint64_t n = static_cast<uint64_t>(options.relay_events);
  const std::string prefix = absl::StrCat("tput-", run_tag, "-");
  absl::StatusOr<std::unique_ptr<EventStore>> producer = OpenStore(dir.Child("tput-producer"));
  if (!producer.ok()) {
    PrintError(producer.status().ToString());
    return false;
  }
  const SteadyClock::time_point fill_start = SteadyClock::now();
  if (absl::Status s = FillStore(options, **producer, Keys(prefix, options.keys)); !s.ok()) {
    PrintError(absl::StrCat("filling the store: ", s.ToString()));
    return false;
  }
  const double fill_seconds = Seconds(SteadyClock::now() - fill_start);

  runtime::MetricsRegistry metrics;
  {
    const absl::Duration flush_timeout =
        absl::Seconds(60) + absl::Milliseconds(static_cast<int64_t>(n));
    const SteadyClock::time_point start = SteadyClock::now();
    absl::StatusOr<std::unique_ptr<OutboxRelay>> relay = OutboxRelay::Start(
        **producer,
        {.brokers = brokers, .topic = kThroughputTopic, .source = kSource, .metrics = &metrics});
    if (!relay.ok()) {
      PrintError(absl::StrCat("OutboxRelay::Start: ", relay.status().ToString()));
      return false;
    }
    // Start-up (connection, metadata, and the idempotent producer's id, which
    // librdkafka sometimes gets only on a retry 1 s later) ends with the first
    // acknowledged batch. While it lasts the relay already queues up to
    // max_in_flight records, which then go out at once; so the rate is taken over
    // the second half of the events, when the relay runs as it would for good.
    const auto published_at_least = [&](uint64_t target, SteadyClock::time_point* at,
                                        uint64_t* published) {
      const bool reached =
          WaitFor([&] { return (*producer)->PublishedPosition() >= target; }, flush_timeout);
      *at = SteadyClock::now();
      *published = (*producer)->PublishedPosition();
      return reached;
    };
    SteadyClock::time_point first, half;
    uint64_t first_published = 0, half_published = 0;
    if (!published_at_least(1, &first, &first_published) ||
        !published_at_least(std::max<uint64_t>(1, n / 2), &half, &half_published)) {
      PrintError(absl::StrCat("relay: ", (*producer)->PublishedPosition(), " of ", n,
                              " events published within ", absl::FormatDuration(flush_timeout)));
      return false;
    }
    const absl::Status flushed = (*relay)->Flush(flush_timeout);
    const SteadyClock::time_point end = SteadyClock::now();
    const uint64_t backlog = (*relay)->Backlog();
    (*relay)->Stop();
    if (!flushed.ok() || backlog != 0) {
      PrintError(absl::StrCat("relay: ", flushed.ToString(), "; backlog ", backlog));
      return false;
    }
    if (half_published < n) {
      std::printf(
          "relay throughput: %.0f events/s (%llu events; the last %llu in %.2f s; whole run "
          "%.2f s, of which start-up %.2f s; store filled in %.2f s)\n",
          static_cast<double>(n - half_published) / Seconds(end - half),
          static_cast<unsigned long long>(n), static_cast<unsigned long long>(n - half_published),
          Seconds(end - half), Seconds(end - start), Seconds(first - start), fill_seconds);
    } else {
      // The second half went out in one acknowledged batch (few events, or all
      // queued during a slow start-up): only the whole run can be timed.
      std::printf(
          "relay throughput: %.0f events/s (%llu events, whole run %.2f s including %.2f s of "
          "start-up: too few events to time the second half)\n",
          static_cast<double>(n) / Seconds(end - start), static_cast<unsigned long long>(n),
          Seconds(end - start), Seconds(first - start));
    }
    std::fflush(stdout);
  }

  absl::StatusOr<std::unique_ptr<EventStore>> consumer = OpenStore(dir.Child("tput-consumer"));
  if (!consumer.ok()) {
    PrintError(consumer.status().ToString());
    return false;
  }
  CountingHandler handler(prefix, n);
  const SteadyClock::time_point start = SteadyClock::now();
  absl::StatusOr<std::unique_ptr<ConsumerRunner>> runner =
      ConsumerRunner::Start(**consumer, handler,
                            {.brokers = brokers,
                             .group_id = absl::StrCat("crm-bench-tput-", run_tag),
                             .topics = {kThroughputTopic},
                             .kafka_properties = ConsumerProperties(options),
                             .metrics = &metrics});
  if (!runner.ok()) {
    PrintError(absl::StrCat("ConsumerRunner::Start: ", runner.status().ToString()));
    return false;
  }
  // Done when the last of ours is handled and its batch committed.
  auto done = [&] {
    const uint64_t calls = handler.calls_at_target();
    return calls > 0 && (*runner)->Processed() >= calls;
  };
  uint64_t last_ours = 0;
  SteadyClock::time_point last_progress = SteadyClock::now();
  const auto stall = absl::ToChronoNanoseconds(kStallTimeout);
  while (!done()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const SteadyClock::time_point now = SteadyClock::now();
    if (const uint64_t ours = handler.ours(); ours != last_ours) {
      last_ours = ours;
      last_progress = now;
    } else if (now - last_progress > stall) {
      PrintError(absl::StrCat(
          "consumer stalled at ", ours, " of ", n, " events for ",
          absl::FormatDuration(kStallTimeout),
          " (crm-devbroker keeps at most 5 MiB per partition: fewer --relay_events or more "
          "--partitions)"));
      return false;
    }
  }
  const SteadyClock::time_point end = SteadyClock::now();
  (*runner)->Stop();
  const SteadyClock::time_point first = handler.first_at();
  std::printf(
      "consumer throughput: %.0f events/s (%llu events; %.2f s from the first Handle to the "
      "last commit; start-up and group join %.2f s)\n",
      static_cast<double>(n) / Seconds(end - first), static_cast<unsigned long long>(n),
      Seconds(end - first), Seconds(first - start));
  std::fflush(stdout);
  return true;
}

void PrintHeader(const MessagingBenchOptions& options, const std::string& broker,
                 const ScratchDir& dir) {
  const std::string fetch_wait =
      options.fetch_wait_max_ms < 0 ? std::string("fetch.wait.max.ms = the consumer runner's default (20)")
                                    : absl::StrCat("fetch.wait.max.ms=", options.fetch_wait_max_ms);
  std::printf(
      "crm-bench messaging: events from one service's event store through the outbox relay and "
      "Kafka into\n"
      "another service's projection (stores, OutboxRelay and ConsumerRunner in this process)\n");
  std::printf("  broker: %s\n", broker.c_str());
  std::printf("  machine: %u hardware threads; stores in %s (%s)\n",
              std::thread::hardware_concurrency(), dir.path().c_str(),
              dir.FileSystemType().c_str());
  std::printf(
      "  appends: EventStore::Append of 1 event (%d B payload) + 1 projection row (%zu B) under a "
      "new command\n"
      "    id, for a random one of %d customers (stream id = partition key); returns once synced\n",
      options.payload_bytes, kProjectionValueBytes, options.keys);
  std::printf(
      "  e2e latency (topic %s): from Append returning to the consumer's commit of\n"
      "    the event's projection row (handler: 1 row, committed with the offsets in one synced "
      "write), seen\n"
      "    by polling ConsumerRunner::Processed() every %lld us. Breakdown: \"published\" = the "
      "relay's cursor\n"
      "    passed the event (Kafka acknowledged it, cursor synced; runs beside the consumer's "
      "path);\n"
      "    \"Handle\" = EventHandler::Handle called, before the consumer's commit.\n"
      "    Relay: library defaults (linger.ms=10, idle_interval 50 ms), woken by the store's "
      "commit listener. Consumer:\n"
      "    session.timeout.ms=6000, %s, defaults otherwise (poll_timeout 100 ms).\n"
      "    Open loop: appends due at absolute times at --rate, taken by %d threads; %.0f s warm-up "
      "not counted;\n"
      "    n = appends acknowledged in the %.1f s window; achieved = n / window.\n",
      kLatencyTopic.c_str(), static_cast<long long>(kCommitPoll.count()), fetch_wait.c_str(),
      options.appenders, absl::ToDoubleSeconds(kWarmup), options.seconds);
  std::printf(
      "  relay throughput (topic %s): %d events appended (%d threads) while no\n"
      "    relay ran, then a relay started and timed until Backlog() == 0 (acks=all, "
      "idempotent).\n"
      "    Rate over the second half of the events (start-up is shown apart: it can take 1 s).\n"
      "  consumer throughput: a fresh ConsumerRunner, same 1-row handler, over those records, "
      "from its first\n"
      "    Handle to the commit of the last record (start-up and group join shown apart).\n\n",
      kThroughputTopic.c_str(), options.relay_events, options.fill_threads);
  std::fflush(stdout);
}

}  // namespace

CLI::App* AddMessagingSubcommand(CLI::App& app, MessagingBenchOptions* options) {
  CLI::App* cmd = app.add_subcommand(
      "messaging",
      "End-to-end latency (append acknowledged -> visible in a consumer's projection) at a "
      "steady rate, and the outbox relay's and consumer runner's maximum throughput");
  cmd->add_option("--rate", options->rate, "Appends per second in the latency run (open loop)")
      ->check(CLI::Range(1.0, 1e6))
      ->capture_default_str();
  cmd->add_option("--seconds", options->seconds,
                  "Measured seconds of the latency run (after a 1 s warm-up)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--relay_events", options->relay_events,
                  "Events for the relay and consumer throughput runs")
      ->check(CLI::Range(1, 100000000))
      ->capture_default_str();
  if (options->devbroker.empty()) options->devbroker = CRM_DEVBROKER_PATH;
  CLI::Option* devbroker =
      cmd->add_option("--devbroker", options->devbroker, "crm-devbroker binary to start")
          ->capture_default_str();
  cmd->add_option("--brokers", options->brokers,
                  "Use this running broker (host:port,...) instead of starting crm-devbroker; "
                  "its topics should be empty for the throughput figures to mean much")
      ->excludes(devbroker);
  cmd->add_option("--partitions", options->partitions,
                  "Partitions per topic of the crm-devbroker started for the latency run (the "
                  "throughput runs' one gets more when needed to hold every record)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--fetch_wait_max_ms", options->fetch_wait_max_ms,
                  "Consumers' fetch.wait.max.ms. crm-devbroker holds a fetch that finds no "
                  "record this long even if records arrive meanwhile (Kafka answers as soon as "
                  "one does). -1: 1 on the crm-devbroker started here, librdkafka's default "
                  "(500, the services' setting) with --brokers")
      ->check(CLI::Range(-1, 600000))
      ->capture_default_str();
  cmd->add_option("--payload_bytes", options->payload_bytes, "Event payload size in bytes")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--keys", options->keys,
                  "Distinct customers (stream id = partition key); each append picks one")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--appenders", options->appenders,
                  "Threads sharing the latency run's append schedule")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--fill_threads", options->fill_threads,
                  "Threads filling the store for the throughput runs")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--dir", options->dir,
                  "Parent directory for the databases (kept); default: a temp dir under /tmp, "
                  "removed at exit");
  return cmd;
}

int RunMessagingBench(const MessagingBenchOptions& flags) {
  MessagingBenchOptions options = flags;
  // The libraries log JSON lines to stdout; keep stdout for the figures.
  runtime::SetLogLevel(runtime::LogLevel::kWarn);
  runtime::SetLogSink([](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fputc('\n', stderr);
  });

  absl::StatusOr<ScratchDir> dir = ScratchDir::Create(options.dir);
  if (!dir.ok()) {
    PrintError(dir.status().ToString());
    return 1;
  }
  const bool own_broker = options.brokers.empty();
  if (own_broker && options.fetch_wait_max_ms < 0) options.fetch_wait_max_ms = 1;
  const int throughput_partitions = std::max(options.partitions, PartitionsToHold(options));
  // Distinguishes this run's keys and groups from earlier runs on the same broker.
  const std::string id = NewId();
  const std::string run_tag = id.substr(id.size() - 8);

  std::string brokers = options.brokers;
  std::string broker_description = absl::StrCat("existing broker at ", brokers);
  std::unique_ptr<DevBrokerProcess> devbroker;
  if (own_broker) {
    absl::StatusOr<std::unique_ptr<DevBrokerProcess>> started =
        DevBrokerProcess::Start(options.devbroker, dir->Child("e2e-bootstrap"), options.partitions);
    if (!started.ok()) {
      PrintError(started.status().ToString());
      return 1;
    }
    devbroker = *std::move(started);
    brokers = devbroker->bootstrap();
    broker_description = absl::StrCat(
        "crm-devbroker (librdkafka mock cluster, in memory) at ", brokers, ", ", options.partitions,
        " partitions per topic;\n    the throughput runs start a second one "
        "with ",
        throughput_partitions, " (it keeps at most 5 MiB per partition; they need every record)");
  }

  PrintHeader(options, broker_description, *dir);
  const bool latency_ok = RunLatency(options, brokers, *dir, run_tag);
  if (own_broker) {
    devbroker.reset();
    absl::StatusOr<std::unique_ptr<DevBrokerProcess>> started = DevBrokerProcess::Start(
        options.devbroker, dir->Child("tput-bootstrap"), throughput_partitions);
    if (!started.ok()) {
      PrintError(started.status().ToString());
      return 1;
    }
    devbroker = *std::move(started);
    brokers = devbroker->bootstrap();
  }
  const bool throughput_ok = RunThroughput(options, brokers, *dir, run_tag);
  return latency_ok && throughput_ok ? 0 : 1;
}

}  // namespace crm::bench
