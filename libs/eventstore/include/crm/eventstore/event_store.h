// The durable event store: streams of domain events, a gap-free global log, the
// outbox that feeds Kafka, and the projection rows that change with each append,
// all written atomically and synced to disk before an append returns.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<EventStore> store,
//                    OpenEventStore({.path = "/var/lib/crm/customer"}));
//   AppendRequest req;
//   req.stream_id = "customer-42";
//   req.expected_version = ExpectedVersion::NoStream();
//   req.command_id = "cmd-7f3a";  // a retry with the same id returns this result
//   req.events.push_back({.event_type = "crm.customer.v1.CustomerRegistered",
//                         .partition_key = "42", .payload = bytes});
//   req.projection_writes.push_back(ProjectionWrite::Put("customers", "42", row));
//   ASSIGN_OR_RETURN(AppendResult result, store->Append(req));
//
//   // Or without waiting: `done` runs once the group holding the append is synced.
//   store->AppendAsync(std::move(req), [](absl::StatusOr<AppendResult> r) { ... });
//
// The public surface carries no RocksDB types; the implementation lives in src/.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/common/clock.h"
#include "crm/events/v1/envelope.pb.h"

namespace crm::eventstore {

using ::crm::events::v1::EventEnvelope;

// The version a writer expects its stream to be at. Stream versions count events:
// an empty (absent) stream is at version 0, its first event has version 1.
class ExpectedVersion {
 public:
  // Append whatever the stream's current version is.
  static ExpectedVersion Any() { return ExpectedVersion(kAny); }
  // Append only if the stream has no events yet.
  static ExpectedVersion NoStream() { return ExpectedVersion(0); }
  // Append only if the stream is exactly at `version` (0 is the same as NoStream).
  static ExpectedVersion Exactly(uint64_t version) { return ExpectedVersion(version); }

  bool is_any() const { return value_ == kAny; }
  // The required current version; meaningless when is_any().
  uint64_t value() const { return value_; }

 private:
  static constexpr uint64_t kAny = ~uint64_t{0};
  explicit ExpectedVersion(uint64_t v) : value_(v) {}
  uint64_t value_;
};

// An event to append. The store fills in stream id, version, global position and
// (when empty) event id and occurred-at.
struct NewEvent {
  std::string event_type;     // required, e.g. "crm.customer.v1.CustomerRegistered"
  std::string partition_key;  // required: the customer id the event concerns
  std::string payload;        // serialized domain event
  std::string actor;
  std::string correlation_id;
  std::string causation_id;
  uint32_t schema_version = 1;
  std::string event_id;                    // generated (UUIDv7) when empty
  std::optional<absl::Time> occurred_at;   // the store's clock when unset
};

// One row change in a named projection (a key space of derived read-model rows
// that lives in the same database as the events, so both commit together).
struct ProjectionWrite {
  enum class Kind { kPut, kDelete };
  std::string projection;  // projection name, e.g. "customers"; no NUL bytes
  std::string key;
  std::string value;  // ignored for kDelete
  Kind kind = Kind::kPut;

  static ProjectionWrite Put(std::string projection, std::string key, std::string value) {
    return {std::move(projection), std::move(key), std::move(value), Kind::kPut};
  }
  static ProjectionWrite Delete(std::string projection, std::string key) {
    return {std::move(projection), std::move(key), {}, Kind::kDelete};
  }
};

struct AppendRequest {
  std::string stream_id;  // required; 1..256 bytes, no NUL bytes
  ExpectedVersion expected_version = ExpectedVersion::Any();
  // The events; may be empty when the append only records a command (below) or
  // only writes projection rows: then no position or version is used up.
  std::vector<NewEvent> events;
  // The client's command id ("" = none), copied into every event's envelope.
  // When command_key is empty it is also the idempotency key (global across
  // streams), as a plain store user expects.
  std::string command_id;
  // The idempotency key (up to 1024 bytes; "" = command_id). An append whose key
  // was recorded, or is being committed by a concurrent append, appends nothing:
  // its result is the first append's record (duplicate = true). The command
  // pipeline (libs/command) scopes keys to the caller and the RPC.
  std::string command_key;
  // Kept in the command's record and handed back with it, opaque to the store:
  // what the first request was (a digest) and what it was answered.
  std::string request_fingerprint;
  std::string response;
  std::vector<ProjectionWrite> projection_writes;
};

struct AppendResult {
  std::string stream_id;
  uint64_t first_version = 0;   // version of the first appended event
  uint64_t last_version = 0;    // the stream's version after the append
  uint64_t first_position = 0;  // global position of the first appended event (0: none)
  uint64_t last_position = 0;   // global position of the last appended event (0: none)
  std::vector<std::string> event_ids;
  // True when the command key had been recorded: nothing was appended and this is
  // the first append's result.
  bool duplicate = false;
  // The first request's fingerprint and response (AppendRequest), when recorded.
  std::string request_fingerprint;
  std::string response;
};

// Receives the outcome of an AppendAsync, exactly once.
using AppendCallback = std::function<void(absl::StatusOr<AppendResult>)>;

// Reads and writes rows of one projection, for a Projector.
class ProjectionView {
 public:
  virtual ~ProjectionView() = default;
  // The row's current value, std::nullopt when absent; an error on I/O failure.
  virtual absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const = 0;
};

// Turns events into projection rows. Used live by a service (computing the
// projection_writes of its appends) and by RebuildProjection (replaying the log).
// A Projector must be deterministic: the same events give the same rows.
class Projector {
 public:
  struct Row {
    std::string key;
    std::optional<std::string> value;  // nullopt deletes the row
  };
  virtual ~Projector() = default;
  // Appends to `out` the rows `event` changes, given the projection's current rows.
  // An error aborts the rebuild (or the caller's append).
  virtual absl::Status Project(const EventEnvelope& event, const ProjectionView& view,
                               std::vector<Row>& out) const = 0;
};

// Reads rows of any projection, for a ProjectionSetProjector.
class ProjectionReader {
 public:
  virtual ~ProjectionReader() = default;
  // The row's current value, std::nullopt when absent; an error on I/O failure.
  virtual absl::StatusOr<std::optional<std::string>> Get(std::string_view projection,
                                                         std::string_view key) const = 0;
};

// Turns events into writes to several projections at once (a row and its index
// entries, say), for RebuildProjections. Must be deterministic.
class ProjectionSetProjector {
 public:
  virtual ~ProjectionSetProjector() = default;
  // Appends to `out` the writes `event` makes; `rows` shows the rows rebuilt so
  // far (every earlier event's writes). An error aborts the rebuild.
  virtual absl::Status Project(const EventEnvelope& event, const ProjectionReader& rows,
                               std::vector<ProjectionWrite>& out) const = 0;
};

struct OutboxEntry {
  uint64_t position = 0;  // global position
  EventEnvelope event;
};

struct Options {
  std::string path;  // directory of the RocksDB database; created if missing
  const Clock* clock = &SystemClock();
  // Block cache for reads, bytes. Bounded so that memory use does not grow with data.
  size_t block_cache_bytes = 64 << 20;
  // Largest number of appends committed by one synced write.
  size_t max_group_size = 512;
  // Give the store a new incarnation at open (see EventStore::Incarnation), as
  // opening a Checkpoint does by itself: for a copy of a store made some other
  // way (a disk snapshot, a file copy of a stopped service) that is started in
  // its original's place. Services: --new_incarnation.
  bool new_incarnation = false;
  // Called when the store stops being able to write (writable = false, with
  // the error: a full disk, an I/O error) and again when it resumed by itself
  // (true); also when the reason of not writing changes. Runs on the store's
  // recovery thread; must be quick. Services block their readiness with it.
  std::function<void(bool writable, std::string_view reason)> on_writable_change;
};

// The file Checkpoint leaves in its directory: the first open of the directory
// (or of a copy of it) sees it, gives the store a new incarnation and deletes it.
inline constexpr std::string_view kRestoredMarkerFile = "RESTORED_FROM_BACKUP";

// Counters describing the write path since open, for benchmarks and metrics.
struct WriteStats {
  uint64_t appends = 0;         // committed appends (not counting duplicates)
  uint64_t groups = 0;          // synced writes (group commits)
  uint64_t batch_bytes = 0;     // bytes of the WriteBatches of those appends
};

// Thread safety: every method may be called concurrently from any thread.
// Lifecycle: open with OpenEventStore; destroying the store waits for in-flight
// appends and closes the database cleanly.
class EventStore {
 public:
  virtual ~EventStore() = default;

  // Appends events to a stream atomically, together with the projection writes and
  // the command record, and syncs the write-ahead log before returning.
  // Errors: INVALID_ARGUMENT (bad request; nothing written), ABORTED when the
  // stream is not at the expected version (see CurrentVersionOf), UNAVAILABLE
  // when the store cannot write (the disk write failed, or the store has not
  // resumed from an earlier failure yet: see WriteStatus; nothing acknowledged).
  // The same as AppendAsync followed by a wait.
  virtual absl::StatusOr<AppendResult> Append(const AppendRequest& request) = 0;

  // Queues the append for the committer and returns at once. `done` gets what
  // Append would return, exactly once: on the store's completion thread after
  // the synced write of the group holding the append (or its failure), or on the
  // calling thread, before AppendAsync returns, when the append is settled
  // without a write (a bad request, a version known to conflict, a recorded
  // command key). On the completion thread `done` delays the callbacks behind
  // it: it must be quick and must not wait for another append (AppendAsync is
  // fine, Append is not).
  virtual void AppendAsync(AppendRequest request, AppendCallback done) = 0;

  // The record of the append that used idempotency key `command_key` (see
  // AppendRequest), std::nullopt when none did. Lets a service answer a retried
  // command before re-running its checks.
  virtual absl::StatusOr<std::optional<AppendResult>> LookupCommand(
      std::string_view command_key) = 0;

  // Calls `listener(last_position)` on the committer thread after each synced
  // group that appended events (e.g. to wake the outbox relay). Must be quick.
  // Returns an id for RemoveCommitListener.
  virtual uint64_t AddCommitListener(std::function<void(uint64_t last_position)> listener) = 0;
  // After it returns the listener is not running and is never called again.
  virtual void RemoveCommitListener(uint64_t id) = 0;

  // The stream's current version (0 when it has no events).
  virtual absl::StatusOr<uint64_t> StreamVersion(std::string_view stream_id) = 0;

  // Events of a stream with version >= from_version, in order, at most `limit`.
  virtual absl::StatusOr<std::vector<EventEnvelope>> ReadStream(std::string_view stream_id,
                                                                uint64_t from_version = 1,
                                                                size_t limit = SIZE_MAX) = 0;

  // The stream as it was at `as_of`: its events whose occurred_at <= as_of.
  virtual absl::StatusOr<std::vector<EventEnvelope>> ReadStreamAsOf(std::string_view stream_id,
                                                                    absl::Time as_of) = 0;

  // Events of the global log with position >= from_position, in order, at most
  // `limit`. Positions start at 1 and have no gaps.
  virtual absl::StatusOr<std::vector<EventEnvelope>> ReadAll(uint64_t from_position,
                                                             size_t limit) = 0;

  // The global position of the last committed event (0 when empty).
  virtual uint64_t LastPosition() const = 0;

  // Up to `limit` unpublished events (the log entries after the published cursor:
  // the log is the outbox, docs/adr/0005) with position > `after_position` and
  // <= LastPosition() (acknowledged appends only), oldest first. A relay passes
  // the last position it handed to Kafka (0 = from the published cursor).
  virtual absl::StatusOr<std::vector<OutboxEntry>> ReadOutbox(uint64_t after_position,
                                                              size_t limit) = 0;
  // Marks every event with position <= `position` published. Survives a process
  // crash at once and a machine crash from the next append's WAL sync on (at
  // worst the relay then publishes those events again). Positions beyond
  // LastPosition() are INVALID_ARGUMENT. Marking an older position than the
  // current cursor is a no-op.
  virtual absl::Status MarkPublished(uint64_t position) = 0;
  // The highest published position (0 when nothing was published).
  virtual uint64_t PublishedPosition() const = 0;

  // Reads one projection row (std::nullopt when absent).
  virtual absl::StatusOr<std::optional<std::string>> GetProjection(std::string_view projection,
                                                                   std::string_view key) = 0;
  // Rows of a projection whose keys start with `prefix` and sort after `start_after`
  // (exclusive; "" = from the start), in key order, at most `limit`.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ScanProjection(
      std::string_view projection, std::string_view prefix, std::string_view start_after,
      size_t limit) = 0;
  // Writes projection rows atomically, synced, without appending events; for
  // consumers of other services' events, whose consumed offsets are rows too.
  virtual absl::Status WriteProjections(const std::vector<ProjectionWrite>& writes) = 0;
  // A view of a projection's committed rows, for computing live projection writes.
  virtual std::unique_ptr<ProjectionView> ViewProjection(std::string_view projection) = 0;

  // Clears projection `target` and replays the whole global log through `projector`
  // into it, committing in batches. Returns the number of events replayed. Run it
  // while no appends write `target` (e.g. into a fresh name, or before serving).
  virtual absl::StatusOr<uint64_t> RebuildProjection(const Projector& projector,
                                                     std::string_view target) = 0;
  // The same for several projections in one pass over the log: clears every one
  // of `targets`, then commits what `projector` writes into them, in batches
  // (without the WAL; flushed at the end). A write to a projection outside
  // `targets` is INVALID_ARGUMENT and stops the rebuild. Returns the number of
  // events replayed. Both rebuilds keep a durable marker naming their targets
  // from before the clearing until the rebuilt rows are flushed, so a rebuild
  // that stopped (an error, a crash) is seen by InterruptedRebuild.
  virtual absl::StatusOr<uint64_t> RebuildProjections(const ProjectionSetProjector& projector,
                                                      const std::vector<std::string>& targets) = 0;
  // The targets of a rebuild that started and did not finish (their rows are
  // incomplete: rebuild them again before serving reads from them); empty when
  // none.
  virtual absl::StatusOr<std::vector<std::string>> InterruptedRebuild() = 0;

  // Writes a consistent snapshot of the whole store into `target_dir` (which must
  // not exist; its parent must), cheaply (hard links where the file system allows).
  // Returns the last and published positions the snapshot holds. Opening the
  // directory with OpenEventStore restores it, with a new incarnation (the
  // snapshot holds the marker file kRestoredMarkerFile until then).
  struct CheckpointInfo {
    uint64_t last_position = 0;
    uint64_t published_position = 0;
  };
  virtual absl::StatusOr<CheckpointInfo> Checkpoint(const std::string& target_dir) = 0;

  virtual WriteStats GetWriteStats() const = 0;

  // OK while the store can write; UNAVAILABLE with the error while it cannot
  // (RocksDB's background-error state after a failed write or flush, e.g. a
  // full disk). Reads go on meanwhile. The store resumes by itself (DB::Resume
  // retried with a backoff of 200 ms up to 5 s) once the cause is gone, re-reads
  // its log tail and writes again; Options::on_writable_change hears of both.
  virtual absl::Status WriteStatus() const { return absl::OkStatus(); }

  // The store's incarnation: a UUIDv7 made when the store is created, and made
  // anew when it is opened from a restored Checkpoint (or with
  // Options::new_incarnation). Stamped on every appended event
  // (EventEnvelope.incarnation): a restored store reuses the global positions
  // after its checkpoint, and consumers tell those events from the ones before
  // the restore by (incarnation, position). A store created before incarnations
  // existed gets one at its first open; its older events keep "".
  virtual std::string Incarnation() const = 0;

  // The key this store seals page tokens with (index_walk.h): 32 random bytes
  // made when the store is first opened and kept in it, so a token stays valid
  // across restarts (and in a checkpoint's copy) and means nothing to another
  // store. For index_walk.cc; never sent anywhere.
  virtual const std::string& PageTokenKey() const = 0;
};

// Opens (creating if needed) the store at options.path.
// Errors: INVALID_ARGUMENT for a bad path, UNAVAILABLE when the database is locked
// by another process or cannot be opened.
absl::StatusOr<std::unique_ptr<EventStore>> OpenEventStore(const Options& options);

// For an ABORTED error returned by Append on a version conflict: the stream's
// current version. std::nullopt for any other status.
std::optional<uint64_t> CurrentVersionOf(const absl::Status& status);

}  // namespace crm::eventstore
