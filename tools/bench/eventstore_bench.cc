#include "eventstore_bench.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "bench_util.h"
#include "crm/common/ids.h"
#include "crm/common/status_macros.h"
#include "crm/eventstore/event_store.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"

namespace crm::bench {
namespace {

using ::crm::eventstore::AppendRequest;
using ::crm::eventstore::EventStore;
using ::crm::eventstore::ExpectedVersion;
using ::crm::eventstore::NewEvent;
using ::crm::eventstore::ProjectionWrite;
using ::crm::eventstore::WriteStats;

constexpr char kEventType[] = "crm.bench.v1.Appended";
constexpr char kProjection[] = "bench";
constexpr size_t kProjectionValueBytes = 32;
constexpr size_t kRawKeyBytes = 16;
constexpr absl::Duration kWarmup = absl::Milliseconds(500);

// Figures of one measured run at one writer count.
struct RunFigures {
  double per_second = 0;
  uint64_t errors = 0;
  // Suite only, over the measured window (whole run when the window saw none).
  double bytes_per_append = 0;
  double appends_per_group = 0;
};

uint64_t SeedFor(int writers, int thread, uint64_t salt) {
  return (static_cast<uint64_t>(writers) << 32 | static_cast<uint64_t>(thread + 1)) *
             0x9E3779B97F4A7C15ull ^
         salt;
}

void ReportErrors(const char* side, int writers, const TimedRunResult& r) {
  if (r.errors == 0) return;
  std::fprintf(stderr, "%s, %d writers: %llu failed operations; first: %s\n", side, writers,
               static_cast<unsigned long long>(r.errors), r.first_error.c_str());
  std::fflush(stderr);
}

// One suite writer: appends one event plus one projection row to a random stream
// under a fresh command id, the shape of a service command. The request is reused
// so the loop spends its time in the store, not in allocation.
class SuiteWorker {
 public:
  SuiteWorker(EventStore* store, const std::vector<std::string>* streams, size_t payload_bytes,
              uint64_t seed)
      : store_(store), streams_(streams), rng_(seed) {
    request_.expected_version = ExpectedVersion::Any();
    NewEvent event;
    event.event_type = kEventType;
    event.payload.resize(payload_bytes);
    request_.events.push_back(std::move(event));
    request_.projection_writes.push_back(
        ProjectionWrite::Put(kProjection, "", std::string(kProjectionValueBytes, '\0')));
  }

  absl::Status operator()() {
    const std::string& stream = (*streams_)[rng_.Uniform(streams_->size())];
    request_.stream_id = stream;
    request_.command_id = NewId();  // never seen: the idempotency lookup misses
    NewEvent& event = request_.events.front();
    event.partition_key = stream;
    rng_.Fill(event.payload);
    ProjectionWrite& row = request_.projection_writes.front();
    row.key = stream;
    rng_.Fill(row.value);
    return store_->Append(request_).status();
  }

 private:
  EventStore* store_;
  const std::vector<std::string>* streams_;
  FastRandom rng_;
  AppendRequest request_;
};

// One raw writer: a synced RocksDB put of a random key and a value of fixed size.
class RawWorker {
 public:
  RawWorker(rocksdb::DB* db, size_t value_bytes, uint64_t seed)
      : db_(db), rng_(seed), key_(kRawKeyBytes, '\0'), value_(value_bytes, '\0') {
    options_.sync = true;
  }

  absl::Status operator()() {
    rng_.Fill(key_);
    rng_.Fill(value_);
    rocksdb::Status s = db_->Put(options_, key_, value_);
    if (!s.ok()) return absl::InternalError(s.ToString());
    return absl::OkStatus();
  }

 private:
  rocksdb::DB* db_;
  FastRandom rng_;
  std::string key_;
  std::string value_;
  rocksdb::WriteOptions options_;
};

absl::StatusOr<RunFigures> RunSuite(const EventStoreBenchOptions& options, int writers,
                                    const std::string& path,
                                    const std::vector<std::string>& streams) {
  std::unique_ptr<EventStore> store;
  {
    absl::StatusOr<std::unique_ptr<EventStore>> opened = eventstore::OpenEventStore({.path = path});
    if (!opened.ok()) {
      return absl::Status(opened.status().code(),
                          absl::StrCat("OpenEventStore(", path, "): ", opened.status().message()));
    }
    store = *std::move(opened);
  }

  WriteStats before;
  WriteStats after;
  TimedRunOptions run{
      .threads = writers,
      .warmup = kWarmup,
      .measure = absl::Seconds(options.seconds),
      .on_window_start = [&] { before = store->GetWriteStats(); },
      .on_window_end = [&] { after = store->GetWriteStats(); },
  };
  TimedRunResult result = RunTimed(run, [&](int thread) -> WorkerOp {
    return SuiteWorker(store.get(), &streams, static_cast<size_t>(options.payload_bytes),
                       SeedFor(writers, thread, 0x5017E));
  });
  ReportErrors("suite", writers, result);

  RunFigures figures;
  figures.per_second = result.PerSecond();
  figures.errors = result.errors;
  uint64_t appends = after.appends - before.appends;
  uint64_t groups = after.groups - before.groups;
  uint64_t bytes = after.batch_bytes - before.batch_bytes;
  if (appends == 0) {  // nothing committed inside the window: use the whole run
    WriteStats total = store->GetWriteStats();
    appends = total.appends;
    groups = total.groups;
    bytes = total.batch_bytes;
  }
  if (appends > 0) {
    figures.bytes_per_append = static_cast<double>(bytes) / static_cast<double>(appends);
  }
  if (groups > 0) {
    figures.appends_per_group = static_cast<double>(appends) / static_cast<double>(groups);
  }
  return figures;  // the store closes here, before the raw run starts
}

absl::StatusOr<RunFigures> RunRaw(const EventStoreBenchOptions& options, int writers,
                                  const std::string& path, size_t value_bytes) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, path, &raw_db);
  if (!s.ok()) {
    return absl::UnavailableError(absl::StrCat("rocksdb::DB::Open(", path, "): ", s.ToString()));
  }
  std::unique_ptr<rocksdb::DB> db(raw_db);

  TimedRunOptions run{
      .threads = writers,
      .warmup = kWarmup,
      .measure = absl::Seconds(options.seconds),
  };
  TimedRunResult result = RunTimed(run, [&](int thread) -> WorkerOp {
    return RawWorker(db.get(), value_bytes, SeedFor(writers, thread, 0x4A3));
  });
  ReportErrors("raw", writers, result);

  RunFigures figures;
  figures.per_second = result.PerSecond();
  figures.errors = result.errors;
  s = db->Close();
  if (!s.ok()) return absl::InternalError(absl::StrCat("rocksdb Close: ", s.ToString()));
  return figures;
}

void PrintHeader(const EventStoreBenchOptions& options, const ScratchDir& dir) {
  std::printf(
      "crm-bench eventstore: durable appends/s through the event store vs raw RocksDB "
      "synced puts/s\n");
  std::printf(
      "  suite: EventStore::Append of 1 event (%d B payload) + 1 projection row (%zu B) under "
      "a new\n"
      "         command id, to a random one of %d streams, ExpectedVersion::Any(); returns "
      "once synced\n",
      options.payload_bytes, kProjectionValueBytes, options.streams);
  std::printf(
      "  raw:   rocksdb::DB::Put(sync=true) of a %zu B random key and a value as large as "
      "the suite's\n"
      "         average WriteBatch bytes per append at the same writer count; default "
      "Options\n",
      kRawKeyBytes);
  std::printf(
      "  each run: fresh database, %.1f s warm-up, %.1f s measured on a steady clock (only "
      "operations\n"
      "            completing inside the window count); %u hardware threads; %s (%s)\n",
      absl::ToDoubleSeconds(kWarmup), options.seconds, std::thread::hardware_concurrency(),
      dir.path().c_str(), dir.FileSystemType().c_str());
  std::printf(
      "  ratio = suite/raw; appends/group and bytes/append from EventStore::GetWriteStats; "
      "errors suite/raw\n\n");
  std::printf("%7s  %15s  %12s  %6s  %13s  %12s  %9s\n", "writers", "suite appends/s", "raw puts/s",
              "ratio", "appends/group", "bytes/append", "errors");
  std::fflush(stdout);
}

}  // namespace

CLI::App* AddEventStoreSubcommand(CLI::App& app, EventStoreBenchOptions* options) {
  CLI::App* cmd = app.add_subcommand(
      "eventstore",
      "Durable appends/s through the event store next to raw RocksDB synced puts/s of the "
      "same size, at 1, 8, 64, ... concurrent writers");
  cmd->add_option("--writers", options->writers,
                  "Top number of concurrent writers; runs 1, 8, 64, ... below it, then it")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--seconds", options->seconds, "Measured seconds per run (after 0.5 s warm-up)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--payload_bytes", options->payload_bytes, "Event payload size in bytes")
      ->check(CLI::Range(0, 16 << 20))
      ->capture_default_str();
  cmd->add_option("--dir", options->dir,
                  "Parent directory for the databases (kept); default: a temp dir under /tmp, "
                  "removed at exit");
  cmd->add_option("--streams", options->streams,
                  "Number of distinct streams; each append picks one at random")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  return cmd;
}

std::vector<int> WriterCounts(int max_writers) {
  std::vector<int> counts;
  for (int n = 1; n < max_writers; n *= 8) counts.push_back(n);
  counts.push_back(max_writers);
  return counts;
}

int RunEventStoreBench(const EventStoreBenchOptions& options) {
  absl::StatusOr<ScratchDir> dir = ScratchDir::Create(options.dir);
  if (!dir.ok()) {
    std::fprintf(stderr, "crm-bench eventstore: %s\n", dir.status().ToString().c_str());
    return 1;
  }

  std::vector<std::string> streams;
  streams.reserve(options.streams);
  for (int i = 0; i < options.streams; ++i) streams.push_back(absl::StrFormat("bench-%08d", i));

  PrintHeader(options, *dir);
  bool any_errors = false;
  double last_ratio = 0;
  const std::vector<int> counts = WriterCounts(options.writers);
  for (int writers : counts) {
    absl::StatusOr<RunFigures> suite =
        RunSuite(options, writers, dir->Child(absl::StrCat("eventstore-", writers, "w")), streams);
    if (!suite.ok()) {
      std::fprintf(stderr, "crm-bench eventstore: %s\n", suite.status().ToString().c_str());
      return 1;
    }
    size_t value_bytes = static_cast<size_t>(suite->bytes_per_append + 0.5);
    if (value_bytes == 0) {
      // No append committed, so there is no size to copy; compare with the request's bytes.
      value_bytes = static_cast<size_t>(options.payload_bytes) + kProjectionValueBytes;
      std::fprintf(stderr, "%d writers: the store reported no appended bytes; raw puts use %zu B\n",
                   writers, value_bytes);
    }
    absl::StatusOr<RunFigures> raw =
        RunRaw(options, writers, dir->Child(absl::StrCat("rocksdb-", writers, "w")), value_bytes);
    if (!raw.ok()) {
      std::fprintf(stderr, "crm-bench eventstore: %s\n", raw.status().ToString().c_str());
      return 1;
    }
    last_ratio = raw->per_second > 0 ? suite->per_second / raw->per_second : 0.0;
    any_errors = any_errors || suite->errors > 0 || raw->errors > 0;
    std::string errors = absl::StrCat(suite->errors, "/", raw->errors);
    std::printf("%7d  %15.1f  %12.1f  %6.2f  %13.2f  %12zu  %9s\n", writers, suite->per_second,
                raw->per_second, last_ratio, suite->appends_per_group, value_bytes, errors.c_str());
    std::fflush(stdout);
  }
  std::printf("\nratio at %d writers: %.2f\n", counts.back(), last_ratio);
  std::fflush(stdout);
  return any_errors ? 1 : 0;
}

}  // namespace crm::bench
