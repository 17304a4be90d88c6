// RocksDB implementation of EventStore.
//
// Write path (see README.md and docs/adr/0002-event-store-write-path.md):
//   1. The appending thread validates the request, reserves its idempotency key
//      (a concurrent append with the same key is parked until the first settles,
//      then finds its record), reads the stream's version and checks the expected
//      version, then serializes its events without version and position. All of
//      this runs in parallel across streams, with no lock held afterwards.
//   2. It queues the prepared append for the committer thread and returns
//      (AppendAsync; Append waits on the callback).
//   3. The committer takes every queued append, checks each one's version again
//      where another append of the same lock stripe committed since it was read
//      (an optimistic check, so no lock spans the wait for the disk), gives the
//      events their versions and consecutive global positions, puts events, log
//      entries, projection rows and command records into ONE WriteBatch, writes it
//      with sync=true (one WAL fsync for the whole group) and tells the commit
//      listeners. A completion thread then runs the appends' callbacks (a gRPC
//      call's Finish each) while the committer writes the next group.
// A single committer assigns positions in commit order, so the global log has no
// gaps and a reader never sees position N+1 before N.
//
// The global log is the outbox (docs/adr/0005-the-log-is-the-outbox.md): every
// event is published, in position order, so the unpublished events are the log
// entries after the durable published cursor, and no outbox key is written.
#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "crm/common/ids.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/eventstore/event_store.h"
#include "info_log.h"
#include "keys.h"
#include "openssl/rand.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "write_health.h"

namespace crm::eventstore {
namespace {

using ::crm::events::v1::AppendRecord;

constexpr char kCurrentVersionPayload[] = "crm.eventstore/current_version";
constexpr size_t kMaxStreamIdBytes = 256;
constexpr size_t kMaxCommandIdBytes = 256;
constexpr size_t kMaxCommandKeyBytes = 1024;
// Version-check stripes: a stream's stripe counts the groups that appended to one
// of its streams, so the committer re-reads a version only when it may have moved.
constexpr size_t kVersionStripes = 16384;
constexpr size_t kRebuildChunk = 1000;
// Tags of EventEnvelope.stream_version (field 4) and global_position (field 5),
// varint wire type.
constexpr char kStreamVersionTag = (4 << 3) | 0;
constexpr char kGlobalPositionTag = (5 << 3) | 0;

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return absl::UnavailableError(msg);
  }
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::InternalError(msg);
}

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

absl::StatusOr<EventEnvelope> ParseEnvelope(const rocksdb::Slice& bytes) {
  EventEnvelope event;
  if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("corrupt event envelope");
  }
  return event;
}

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

absl::Status ValidateProjectionWrite(const ProjectionWrite& w, size_t index) {
  if (w.projection.empty() || HasNul(w.projection)) {
    return absl::InvalidArgumentError(
        absl::StrCat("projection_writes[", index, "].projection: required, no NUL bytes"));
  }
  return absl::OkStatus();
}

absl::Status Validate(const AppendRequest& req) {
  if (req.stream_id.empty()) return absl::InvalidArgumentError("stream_id: required");
  if (req.stream_id.size() > kMaxStreamIdBytes) {
    return absl::InvalidArgumentError("stream_id: longer than 256 bytes");
  }
  if (HasNul(req.stream_id)) return absl::InvalidArgumentError("stream_id: contains NUL");
  if (req.command_id.size() > kMaxCommandIdBytes) {
    return absl::InvalidArgumentError("command_id: longer than 256 bytes");
  }
  if (req.command_key.size() > kMaxCommandKeyBytes) {
    return absl::InvalidArgumentError("command_key: longer than 1024 bytes");
  }
  if (req.events.empty() && req.command_id.empty() && req.command_key.empty() &&
      req.projection_writes.empty()) {
    return absl::InvalidArgumentError("events: at least one required");
  }
  for (size_t i = 0; i < req.events.size(); ++i) {
    const NewEvent& e = req.events[i];
    if (e.event_type.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("events[", i, "].event_type: required"));
    }
    if (e.partition_key.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("events[", i, "].partition_key: required"));
    }
  }
  for (size_t i = 0; i < req.projection_writes.size(); ++i) {
    RETURN_IF_ERROR(ValidateProjectionWrite(req.projection_writes[i], i));
  }
  return absl::OkStatus();
}

// The idempotency key of an append ("" = none).
const std::string& CommandKey(const AppendRequest& req) {
  return req.command_key.empty() ? req.command_id : req.command_key;
}

absl::Status VersionConflict(absl::string_view stream, ExpectedVersion expected, uint64_t current) {
  absl::Status s = absl::AbortedError(absl::StrCat("stream ", stream, " is at version ", current,
                                                   ", expected ", expected.value()));
  s.SetPayload(kCurrentVersionPayload, absl::Cord(absl::StrCat(current)));
  return s;
}

AppendResult ResultFromRecord(const AppendRecord& record, bool duplicate) {
  AppendResult r;
  r.stream_id = record.stream_id();
  r.first_version = record.first_version();
  r.last_version = record.last_version();
  r.first_position = record.first_position();
  r.last_position = record.last_position();
  r.event_ids.assign(record.event_ids().begin(), record.event_ids().end());
  r.duplicate = duplicate;
  r.request_fingerprint = record.request_fingerprint();
  r.response = record.response();
  return r;
}

// An append prepared by its caller's thread, waiting for the committer.
struct PendingAppend {
  AppendRequest request;
  AppendCallback done;
  // The version stripe of the stream, the stripe's commit count when the version
  // was read, and the version read: the committer re-reads it only if the count
  // moved since.
  size_t stripe = 0;
  uint64_t stripe_seen = 0;
  uint64_t read_version = 0;
  // Each event's envelope serialized without stream version and global position;
  // the committer appends both fields (protobuf lets a field follow the others).
  std::vector<std::string> envelopes;
  std::vector<std::string> event_ids;
  absl::StatusOr<AppendResult> result;
};

// An iterator over the keys of a column family that start with `prefix` (a
// prefix ending in NUL, see keys.h): RocksDB stops at the upper bound itself.
class PrefixIterator {
 public:
  PrefixIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string_view prefix)
      : upper_(keys::PrefixEnd(prefix)), upper_slice_(upper_) {
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice_;
    it_.reset(db->NewIterator(ro, cf));
  }
  rocksdb::Iterator* operator->() const { return it_.get(); }

 private:
  std::string upper_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksEventStore;

// The committed value of a projection row (its full key), nullopt when absent.
absl::StatusOr<std::optional<std::string>> ReadRow(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                                   const std::string& full_key) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, full_key, &value);
  if (s.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocks(s, "projection read"));
  return value;
}

// Reads committed rows of one projection.
class DbProjectionView final : public ProjectionView {
 public:
  DbProjectionView(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string projection)
      : db_(db), cf_(cf), projection_(std::move(projection)) {}

  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const override {
    return ReadRow(db_, cf_, keys::ProjectionKey(projection_, key));
  }

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::string projection_;
};

// Rows written earlier in the current rebuild chunk, over the committed rows.
class RebuildReader final : public ProjectionReader {
 public:
  RebuildReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}

  absl::StatusOr<std::optional<std::string>> Get(std::string_view projection,
                                                 std::string_view key) const override {
    const std::string full = keys::ProjectionKey(projection, key);
    if (auto it = pending_.find(full); it != pending_.end()) return it->second;
    return ReadRow(db_, cf_, full);
  }
  void Set(const ProjectionWrite& w) {
    pending_[keys::ProjectionKey(w.projection, w.key)] =
        w.kind == ProjectionWrite::Kind::kPut ? std::optional<std::string>(w.value) : std::nullopt;
  }
  void Clear() { pending_.clear(); }

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::map<std::string, std::optional<std::string>> pending_;
};

// A one-projection Projector seen as a ProjectionSetProjector.
class SingleProjectionAdapter final : public ProjectionSetProjector {
 public:
  SingleProjectionAdapter(const Projector& projector, std::string target)
      : projector_(projector), target_(std::move(target)) {}

  absl::Status Project(const EventEnvelope& event, const ProjectionReader& rows,
                       std::vector<ProjectionWrite>& out) const override {
    const View view(rows, target_);
    std::vector<Projector::Row> changed;
    RETURN_IF_ERROR(projector_.Project(event, view, changed));
    for (Projector::Row& row : changed) {
      out.push_back(row.value ? ProjectionWrite::Put(target_, std::move(row.key), *std::move(row.value))
                              : ProjectionWrite::Delete(target_, std::move(row.key)));
    }
    return absl::OkStatus();
  }

 private:
  class View final : public ProjectionView {
   public:
    View(const ProjectionReader& rows, const std::string& projection)
        : rows_(rows), projection_(projection) {}
    absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const override {
      return rows_.Get(projection_, key);
    }

   private:
    const ProjectionReader& rows_;
    const std::string& projection_;
  };

  const Projector& projector_;
  const std::string target_;
};

class RocksEventStore final : public EventStore {
 public:
  RocksEventStore(const Options& options, std::unique_ptr<rocksdb::DB> db,
                  std::vector<rocksdb::ColumnFamilyHandle*> handles,
                  std::unique_ptr<internal::WriteHealth> health)
      : health_(std::move(health)),
        clock_(*options.clock),
        path_(options.path),
        max_group_size_(options.max_group_size == 0 ? 1 : options.max_group_size),
        db_(std::move(db)),
        handles_(std::move(handles)) {}

  absl::Status Init(bool new_incarnation) {
    // The next global position follows the last log entry.
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_cf()));
    it->SeekToLast();
    RETURN_IF_ERROR(FromRocks(it->status(), "reading the log tail"));
    if (it->Valid()) last_position_.store(keys::DecodeBigEndian64(it->key().ToStringView()));
    std::string published;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf(),
                                 std::string(keys::kOutboxPublished), &published);
    if (!s.IsNotFound()) {
      RETURN_IF_ERROR(FromRocks(s, "reading the outbox cursor"));
      if (published.size() != 8) return absl::DataLossError("corrupt outbox cursor");
      published_position_.store(keys::DecodeBigEndian64(published));
    }
    // Stores written before the log became the outbox (ADR 0005) may still hold
    // outbox keys: every one of them is a log entry too, so they go.
    std::unique_ptr<rocksdb::Iterator> legacy(
        db_->NewIterator(rocksdb::ReadOptions(), legacy_outbox_cf()));
    legacy->SeekToFirst();
    RETURN_IF_ERROR(FromRocks(legacy->status(), "reading the legacy outbox"));
    if (legacy->Valid()) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      RETURN_IF_ERROR(FromRocks(db_->DeleteRange(wo, legacy_outbox_cf(), keys::BigEndian64(0),
                                                 keys::BigEndian64(UINT64_MAX)),
                                "emptying the legacy outbox"));
    }
    RETURN_IF_ERROR(InitIncarnation(new_incarnation));
    RETURN_IF_ERROR(LoadPageTokenKey());
    committer_ = std::thread([this] { CommitLoop(); });
    settler_ = std::thread([this] { SettleLoop(); });
    health_->Start([this] { return ResumeWrites(); });
    return absl::OkStatus();
  }

  // Reads the store's incarnation, or makes a new one: for a new store (or one
  // from before incarnations), when asked, or when the directory is a restored
  // checkpoint (its marker file goes once the new incarnation is synced).
  absl::Status InitIncarnation(bool asked) {
    const std::filesystem::path marker = std::filesystem::path(path_) / kRestoredMarkerFile;
    std::error_code ec;
    const bool restored = std::filesystem::exists(marker, ec);
    std::string stored;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), meta_cf(), std::string(keys::kIncarnation), &stored);
    if (!s.IsNotFound()) RETURN_IF_ERROR(FromRocks(s, "reading the incarnation"));
    if (s.ok() && !asked && !restored) {
      incarnation_ = std::move(stored);
      return absl::OkStatus();
    }
    incarnation_ = NewIdAt(clock_.Now());
    rocksdb::WriteOptions synced;
    synced.sync = true;
    RETURN_IF_ERROR(FromRocks(
        db_->Put(synced, meta_cf(), std::string(keys::kIncarnation), incarnation_),
        "writing the incarnation"));
    if (restored && !std::filesystem::remove(marker, ec) && ec) {
      return absl::UnavailableError(
          absl::StrCat("removing ", marker.string(), ": ", ec.message()));
    }
    return absl::OkStatus();
  }

  ~RocksEventStore() override {
    health_->Stop();
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      stopping_ = true;
    }
    queue_cv_.notify_one();
    if (committer_.joinable()) committer_.join();
    {
      std::lock_guard<std::mutex> lock(settle_mu_);
      settle_stopping_ = true;
    }
    settle_cv_.notify_one();
    if (settler_.joinable()) settler_.join();
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close().PermitUncheckedError();
  }

  absl::StatusOr<AppendResult> Append(const AppendRequest& req) override {
    std::mutex mu;
    std::condition_variable cv;
    bool settled = false;
    absl::StatusOr<AppendResult> result;
    AppendAsync(req, [&](absl::StatusOr<AppendResult> r) {
      // Notified under the lock: the waiter may return (and destroy `cv`) as soon
      // as it sees `settled`.
      std::lock_guard<std::mutex> lock(mu);
      result = std::move(r);
      settled = true;
      cv.notify_one();
    });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return settled; });
    return result;
  }

  void AppendAsync(AppendRequest req, AppendCallback done) override {
    if (absl::Status s = Validate(req); !s.ok()) return done(std::move(s));
    auto p = std::make_unique<PendingAppend>();
    p->request = std::move(req);
    p->done = std::move(done);
    const std::string& key = CommandKey(p->request);
    if (!key.empty()) {
      std::lock_guard<std::mutex> lock(commands_mu_);
      auto [it, reserved] = inflight_commands_.try_emplace(key);
      // Another append holds the key: this one goes again once that one settled
      // (and then finds its record).
      if (!reserved) return it->second.push_back(std::move(p));
    }
    absl::Status prepared = Prepare(*p);
    if (!prepared.ok() || p->result.ok()) {  // refused, or answered by the record
      if (!prepared.ok()) p->result = std::move(prepared);
      std::vector<std::unique_ptr<PendingAppend>> settled;
      settled.push_back(std::move(p));
      return Settle(settled);
    }
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (!stopping_) {
        queue_.push_back(std::move(p));
        queue_cv_.notify_one();
        return;
      }
    }
    p->result = absl::UnavailableError("event store is closing");
    std::vector<std::unique_ptr<PendingAppend>> settled;
    settled.push_back(std::move(p));
    Settle(settled);
  }

  uint64_t AddCommitListener(std::function<void(uint64_t)> listener) override {
    std::lock_guard<std::mutex> lock(listeners_mu_);
    const uint64_t id = ++last_listener_id_;
    listeners_.emplace(id, std::move(listener));
    return id;
  }

  void RemoveCommitListener(uint64_t id) override {
    std::lock_guard<std::mutex> lock(listeners_mu_);
    listeners_.erase(id);
  }

  absl::StatusOr<std::optional<AppendResult>> LookupCommand(std::string_view command_key) override {
    std::string record_bytes;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), commands_cf(),
                                 rocksdb::Slice(command_key.data(), command_key.size()),
                                 &record_bytes);
    if (s.IsNotFound()) return std::nullopt;
    RETURN_IF_ERROR(FromRocks(s, "reading the command record"));
    AppendRecord record;
    if (!record.ParseFromString(record_bytes)) return absl::DataLossError("corrupt command record");
    return ResultFromRecord(record, /*duplicate=*/true);
  }

  absl::StatusOr<uint64_t> StreamVersion(std::string_view stream_id) override {
    const std::string prefix = keys::StreamPrefix(stream_id);
    PrefixIterator it(db_.get(), streams_cf(), prefix);
    it->SeekToLast();
    RETURN_IF_ERROR(FromRocks(it->status(), "reading the stream version"));
    if (!it->Valid() || !it->key().starts_with(prefix)) return 0;
    return keys::DecodeBigEndian64(it->key().ToStringView());
  }

  absl::StatusOr<std::vector<EventEnvelope>> ReadStream(std::string_view stream_id,
                                                        uint64_t from_version,
                                                        size_t limit) override {
    std::vector<EventEnvelope> out;
    RETURN_IF_ERROR(ScanStream(stream_id, from_version, [&](EventEnvelope e) {
      out.push_back(std::move(e));
      return out.size() < limit;
    }));
    return out;
  }

  absl::StatusOr<std::vector<EventEnvelope>> ReadStreamAsOf(std::string_view stream_id,
                                                            absl::Time as_of) override {
    // occurred_at may be set by callers and need not grow with the version, so
    // every event is checked rather than stopping at the first later one.
    std::vector<EventEnvelope> out;
    RETURN_IF_ERROR(ScanStream(stream_id, 1, [&](EventEnvelope e) {
      if (FromProtoTimestamp(e.occurred_at()) <= as_of) out.push_back(std::move(e));
      return true;
    }));
    return out;
  }

  absl::StatusOr<std::vector<EventEnvelope>> ReadAll(uint64_t from_position,
                                                     size_t limit) override {
    std::vector<EventEnvelope> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_cf()));
    for (it->Seek(keys::BigEndian64(from_position)); it->Valid() && out.size() < limit;
         it->Next()) {
      ASSIGN_OR_RETURN(EventEnvelope e, ParseEnvelope(it->value()));
      out.push_back(std::move(e));
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "reading the log"));
    return out;
  }

  uint64_t LastPosition() const override { return last_position_.load(); }

  absl::StatusOr<std::vector<OutboxEntry>> ReadOutbox(uint64_t after_position,
                                                      size_t limit) override {
    std::vector<OutboxEntry> out;
    // Only acknowledged entries: a group is readable in RocksDB a moment before the
    // committer publishes its last position, and MarkPublished refuses positions
    // beyond it.
    const uint64_t last = last_position_.load();
    const uint64_t first = std::max(after_position, published_position_.load()) + 1;
    if (first > last) return out;
    const std::string upper = keys::BigEndian64(last + 1);
    rocksdb::Slice upper_bound(upper);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_bound;
    std::unique_ptr<rocksdb::Iterator> log(db_->NewIterator(ro, log_cf()));
    uint64_t expected = first;
    for (log->Seek(keys::BigEndian64(first)); log->Valid() && out.size() < limit;
         log->Next(), ++expected) {
      const uint64_t position = keys::DecodeBigEndian64(log->key().ToStringView());
      if (position != expected) {
        return absl::DataLossError(absl::StrCat("the log has no entry ", expected));
      }
      ASSIGN_OR_RETURN(EventEnvelope e, ParseEnvelope(log->value()));
      out.push_back({position, std::move(e)});
    }
    RETURN_IF_ERROR(FromRocks(log->status(), "reading the log"));
    if (out.empty() && limit > 0) {
      return absl::DataLossError(absl::StrCat("the log has no entry ", first));
    }
    return out;
  }

  absl::Status MarkPublished(uint64_t position) override {
    std::lock_guard<std::mutex> lock(publish_mu_);
    const uint64_t current = published_position_.load();
    if (position <= current) return absl::OkStatus();
    if (position > last_position_.load()) {
      return absl::InvalidArgumentError(absl::StrCat("position ", position,
                                                     " is beyond the last committed position ",
                                                     last_position_.load()));
    }
    // Not synced: the next synced append syncs the WAL with it, and a process
    // crash keeps it anyway (the WAL write is in the kernel). A machine crash may
    // lose it, and then the relay publishes those events again: delivery is at
    // least once and consumers drop repeats by their per-key position (ADR 0004).
    RETURN_IF_ERROR(FromRocks(db_->Put(rocksdb::WriteOptions(), meta_cf(),
                                       std::string(keys::kOutboxPublished),
                                       keys::BigEndian64(position)),
                              "marking published"));
    published_position_.store(position);
    return absl::OkStatus();
  }

  uint64_t PublishedPosition() const override { return published_position_.load(); }

  absl::StatusOr<std::optional<std::string>> GetProjection(std::string_view projection,
                                                           std::string_view key) override {
    return DbProjectionView(db_.get(), projections_cf(), std::string(projection)).Get(key);
  }

  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ScanProjection(
      std::string_view projection, std::string_view prefix, std::string_view start_after,
      size_t limit) override {
    const std::string base = keys::ProjectionPrefix(projection);
    PrefixIterator it(db_.get(), projections_cf(), base);
    const std::string full_prefix = base + std::string(prefix);
    if (start_after.empty() || start_after < prefix) {
      it->Seek(full_prefix);
    } else {
      it->Seek(base + std::string(start_after));
      if (it->Valid() && it->key().ToStringView().substr(base.size()) == start_after) it->Next();
    }
    std::vector<std::pair<std::string, std::string>> out;
    for (; it->Valid() && out.size() < limit && it->key().starts_with(full_prefix); it->Next()) {
      out.emplace_back(std::string(it->key().ToStringView().substr(base.size())),
                       it->value().ToString());
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "scanning a projection"));
    return out;
  }

  absl::Status WriteProjections(const std::vector<ProjectionWrite>& writes) override {
    rocksdb::WriteBatch batch;
    for (size_t i = 0; i < writes.size(); ++i) {
      RETURN_IF_ERROR(ValidateProjectionWrite(writes[i], i));
      RETURN_IF_ERROR(AddProjectionWrite(batch, writes[i]));
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db_->Write(wo, &batch), "writing projections");
  }

  std::unique_ptr<ProjectionView> ViewProjection(std::string_view projection) override {
    return std::make_unique<DbProjectionView>(db_.get(), projections_cf(),
                                              std::string(projection));
  }

  absl::StatusOr<uint64_t> RebuildProjection(const Projector& projector,
                                             std::string_view target) override {
    if (target.empty() || HasNul(target)) {
      return absl::InvalidArgumentError("target: required, no NUL bytes");
    }
    return RebuildProjections(SingleProjectionAdapter(projector, std::string(target)),
                              {std::string(target)});
  }

  absl::StatusOr<uint64_t> RebuildProjections(const ProjectionSetProjector& projector,
                                              const std::vector<std::string>& targets) override {
    if (targets.empty()) return absl::InvalidArgumentError("targets: at least one");
    for (const std::string& target : targets) {
      if (target.empty() || HasNul(target)) {
        return absl::InvalidArgumentError("targets: each required, no NUL bytes");
      }
    }
    // The marker goes first, synced, and is removed only after the flush: rows
    // written without the WAL are lost by a crash, and the marker says so.
    rocksdb::WriteOptions synced;
    synced.sync = true;
    RETURN_IF_ERROR(FromRocks(db_->Put(synced, meta_cf(), std::string(keys::kRebuildInProgress),
                                       absl::StrJoin(targets, std::string(1, '\0'))),
                              "marking the rebuild"));
    rocksdb::WriteOptions no_wal;
    no_wal.disableWAL = true;
    for (const std::string& target : targets) {
      const std::string prefix = keys::ProjectionPrefix(target);
      RETURN_IF_ERROR(FromRocks(
          db_->DeleteRange(no_wal, projections_cf(), prefix, keys::PrefixEnd(prefix)),
          "clearing the projection"));
    }
    RebuildReader rows(db_.get(), projections_cf());
    std::vector<ProjectionWrite> writes;
    uint64_t replayed = 0;
    uint64_t next = 1;
    while (true) {
      ASSIGN_OR_RETURN(std::vector<EventEnvelope> events, ReadAll(next, kRebuildChunk));
      if (events.empty()) break;
      rocksdb::WriteBatch batch;
      for (const EventEnvelope& e : events) {
        writes.clear();
        RETURN_IF_ERROR(projector.Project(e, rows, writes));
        for (ProjectionWrite& w : writes) {
          if (std::find(targets.begin(), targets.end(), w.projection) == targets.end()) {
            return absl::InvalidArgumentError(absl::StrCat(
                "projector wrote projection \"", w.projection, "\", which is not rebuilt"));
          }
          RETURN_IF_ERROR(AddProjectionWrite(batch, w));
          rows.Set(w);
        }
      }
      RETURN_IF_ERROR(FromRocks(db_->Write(no_wal, &batch), "writing projection rows"));
      rows.Clear();
      replayed += events.size();
      next = events.back().global_position() + 1;
    }
    rocksdb::FlushOptions flush;
    flush.wait = true;
    RETURN_IF_ERROR(FromRocks(db_->Flush(flush, projections_cf()), "flushing the rebuild"));
    RETURN_IF_ERROR(FromRocks(db_->Delete(synced, meta_cf(), std::string(keys::kRebuildInProgress)),
                              "unmarking the rebuild"));
    return replayed;
  }

  absl::StatusOr<std::vector<std::string>> InterruptedRebuild() override {
    std::string targets;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf(),
                                 std::string(keys::kRebuildInProgress), &targets);
    if (s.IsNotFound()) return std::vector<std::string>();
    RETURN_IF_ERROR(FromRocks(s, "reading the rebuild marker"));
    return absl::StrSplit(targets, '\0');
  }

  absl::StatusOr<CheckpointInfo> Checkpoint(const std::string& target_dir) override {
    if (target_dir.empty()) return absl::InvalidArgumentError("target_dir: required");
    // Appends and publishes wait while the snapshot is cut, so the positions
    // reported are exactly the snapshot's.
    std::lock_guard<std::mutex> commit_lock(commit_mu_);
    std::lock_guard<std::mutex> publish_lock(publish_mu_);
    rocksdb::Checkpoint* raw = nullptr;
    RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"));
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // log_size_for_flush = 0: flush memtables so the snapshot needs no WAL replay.
    rocksdb::Status s = checkpoint->CreateCheckpoint(target_dir, /*log_size_for_flush=*/0);
    if (s.IsInvalidArgument()) {
      return absl::InvalidArgumentError(absl::StrCat("target_dir: ", s.ToString()));
    }
    RETURN_IF_ERROR(FromRocks(s, "checkpoint"));
    // Whatever opens this directory is a restore: it gets a new incarnation.
    const std::filesystem::path marker = std::filesystem::path(target_dir) / kRestoredMarkerFile;
    if (std::ofstream out(marker); !(out << incarnation_ << "\n") || !out.flush()) {
      return absl::UnavailableError(absl::StrCat("writing ", marker.string()));
    }
    return CheckpointInfo{last_position_.load(), published_position_.load()};
  }

  const std::string& PageTokenKey() const override { return page_token_key_; }

  // Reads the page token key, or makes and keeps one (synced) in a new store.
  absl::Status LoadPageTokenKey() {
    const std::string name(keys::kPageTokenKey);
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf(), name, &page_token_key_);
    if (!s.IsNotFound()) {
      RETURN_IF_ERROR(FromRocks(s, "reading the page token key"));
      if (page_token_key_.size() != 32) return absl::DataLossError("corrupt page token key");
      return absl::OkStatus();
    }
    page_token_key_.resize(32);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(page_token_key_.data()), 32) != 1) {
      return absl::InternalError("no random bytes for the page token key");
    }
    rocksdb::WriteOptions synced;
    synced.sync = true;
    return FromRocks(db_->Put(synced, meta_cf(), name, page_token_key_),
                     "writing the page token key");
  }

  WriteStats GetWriteStats() const override {
    return {stats_appends_.load(), stats_groups_.load(), stats_batch_bytes_.load()};
  }

  std::string Incarnation() const override { return incarnation_; }

  absl::Status WriteStatus() const override { return health_->WriteStatus(); }

 private:
  rocksdb::ColumnFamilyHandle* meta_cf() const { return handles_[0]; }
  rocksdb::ColumnFamilyHandle* streams_cf() const { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* log_cf() const { return handles_[2]; }
  // Written by stores before ADR 0005 only; Init empties it.
  rocksdb::ColumnFamilyHandle* legacy_outbox_cf() const { return handles_[3]; }
  rocksdb::ColumnFamilyHandle* commands_cf() const { return handles_[4]; }
  rocksdb::ColumnFamilyHandle* projections_cf() const { return handles_[5]; }

  absl::Status AddProjectionWrite(rocksdb::WriteBatch& batch, const ProjectionWrite& w) {
    const std::string key = keys::ProjectionKey(w.projection, w.key);
    return FromRocks(w.kind == ProjectionWrite::Kind::kPut
                         ? batch.Put(projections_cf(), key, w.value)
                         : batch.Delete(projections_cf(), key),
                     "projection batch");
  }

  static size_t StripeOf(std::string_view stream) {
    return absl::Hash<std::string_view>{}(stream) % kVersionStripes;
  }

  // The caller's part of an append (its key already reserved): the command record
  // (then `p.result` is set and nothing is to be written), the stream's version
  // and the expected-version check, the envelopes. An error settles the append.
  absl::Status Prepare(PendingAppend& p) {
    const AppendRequest& req = p.request;
    if (const std::string& key = CommandKey(req); !key.empty()) {
      ASSIGN_OR_RETURN(std::optional<AppendResult> first, LookupCommand(key));
      if (first) {
        p.result = *std::move(first);
        return absl::OkStatus();
      }
    }
    p.result = absl::UnknownError("not committed");
    p.stripe = StripeOf(req.stream_id);
    // The count first, then the version: a group that commits to the stripe after
    // the count was read moves it, and the committer then reads the version again.
    p.stripe_seen = stripe_commits_[p.stripe].load(std::memory_order_acquire);
    ASSIGN_OR_RETURN(p.read_version, CurrentVersion(req.stream_id, req.expected_version));
    if (!req.expected_version.is_any() && req.expected_version.value() != p.read_version) {
      return VersionConflict(req.stream_id, req.expected_version, p.read_version);
    }
    const absl::Time now = clock_.Now();
    p.envelopes.reserve(req.events.size());
    p.event_ids.reserve(req.events.size());
    EventEnvelope envelope;
    for (const NewEvent& e : req.events) {
      envelope.Clear();
      envelope.set_event_id(e.event_id.empty() ? NewIdAt(now) : e.event_id);
      envelope.set_event_type(e.event_type);
      envelope.set_stream_id(req.stream_id);
      envelope.set_partition_key(e.partition_key);
      *envelope.mutable_occurred_at() = ToProtoTimestamp(e.occurred_at.value_or(now));
      envelope.set_actor(e.actor);
      envelope.set_correlation_id(e.correlation_id);
      envelope.set_causation_id(e.causation_id);
      envelope.set_schema_version(e.schema_version);
      envelope.set_payload(e.payload);
      envelope.set_command_id(req.command_id);
      envelope.set_incarnation(incarnation_);
      p.event_ids.push_back(envelope.event_id());
      p.envelopes.push_back(envelope.SerializeAsString());
    }
    return absl::OkStatus();
  }

  // Whether event `version` of the stream exists (a point lookup, which the
  // bloom filters make cheap, unlike an iterator).
  absl::StatusOr<bool> HasEvent(std::string_view stream, uint64_t version) {
    std::string ignored;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), streams_cf(), keys::StreamKey(stream, version), &ignored);
    if (s.IsNotFound()) return false;
    RETURN_IF_ERROR(FromRocks(s, "reading the stream version"));
    return true;
  }

  // The stream's version, confirmed with point lookups when it is the one the
  // append expects (the common case), else read with an iterator.
  absl::StatusOr<uint64_t> CurrentVersion(std::string_view stream, ExpectedVersion expected) {
    if (!expected.is_any()) {
      const uint64_t v = expected.value();
      bool at_v = true;
      if (v > 0) {
        ASSIGN_OR_RETURN(at_v, HasEvent(stream, v));
      }
      if (at_v) {
        ASSIGN_OR_RETURN(bool beyond, HasEvent(stream, v + 1));
        if (!beyond) return v;
      }
    }
    return StreamVersion(stream);
  }

  // Runs the callbacks of settled appends, then releases their keys: an append
  // parked on a key goes again (and finds the record when the first one wrote).
  void Settle(std::vector<std::unique_ptr<PendingAppend>>& settled) {
    std::vector<std::unique_ptr<PendingAppend>> parked;
    {
      std::lock_guard<std::mutex> lock(commands_mu_);
      for (const std::unique_ptr<PendingAppend>& p : settled) {
        const std::string& key = CommandKey(p->request);
        if (key.empty()) continue;
        auto it = inflight_commands_.find(key);
        if (it == inflight_commands_.end()) continue;
        for (std::unique_ptr<PendingAppend>& waiter : it->second) parked.push_back(std::move(waiter));
        inflight_commands_.erase(it);
      }
    }
    for (std::unique_ptr<PendingAppend>& p : settled) p->done(std::move(p->result));
    for (std::unique_ptr<PendingAppend>& p : parked) {
      AppendAsync(std::move(p->request), std::move(p->done));
    }
  }

  // Calls fn(event) for the stream's events from `from_version` while fn returns true.
  template <typename Fn>
  absl::Status ScanStream(std::string_view stream_id, uint64_t from_version, Fn fn) {
    PrefixIterator it(db_.get(), streams_cf(), keys::StreamPrefix(stream_id));
    for (it->Seek(keys::StreamKey(stream_id, from_version)); it->Valid(); it->Next()) {
      ASSIGN_OR_RETURN(EventEnvelope e, ParseEnvelope(it->value()));
      if (!fn(std::move(e))) break;
    }
    return FromRocks(it->status(), "reading a stream");
  }

  void CommitLoop() {
    std::vector<std::unique_ptr<PendingAppend>> group;
    while (true) {
      group.clear();
      {
        std::unique_lock<std::mutex> lock(queue_mu_);
        queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left to commit
        const size_t n = std::min(queue_.size(), max_group_size_);
        for (size_t i = 0; i < n; ++i) group.push_back(std::move(queue_[i]));
        queue_.erase(queue_.begin(), queue_.begin() + n);
      }
      uint64_t last = 0;
      {
        std::lock_guard<std::mutex> commit_lock(commit_mu_);
        last = CommitGroup(group);
      }
      if (last != 0) {
        std::lock_guard<std::mutex> lock(listeners_mu_);
        for (const auto& [id, listener] : listeners_) listener(last);
      }
      // The callbacks (a gRPC call's Finish each) run on the settler thread while
      // this one writes the next group.
      {
        std::lock_guard<std::mutex> lock(settle_mu_);
        settle_queue_.push_back(std::move(group));
      }
      settle_cv_.notify_one();
    }
  }

  void SettleLoop() {
    std::deque<std::vector<std::unique_ptr<PendingAppend>>> groups;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(settle_mu_);
        settle_cv_.wait(lock, [&] { return settle_stopping_ || !settle_queue_.empty(); });
        if (settle_queue_.empty()) return;  // stopping, and nothing left to settle
        groups.swap(settle_queue_);
      }
      for (auto& group : groups) Settle(group);
      groups.clear();
    }
  }

  // The stream's version as the committer sees it: after this group's earlier
  // appends, else as read by the appender unless its stripe moved since.
  absl::StatusOr<uint64_t> CommitVersion(const PendingAppend& p,
                                         const absl::flat_hash_map<std::string_view, uint64_t>& in_group) {
    if (auto it = in_group.find(p.request.stream_id); it != in_group.end()) return it->second;
    if (stripe_commits_[p.stripe].load(std::memory_order_acquire) == p.stripe_seen) {
      return p.read_version;
    }
    return StreamVersion(p.request.stream_id);
  }

  // The recovery thread's step while the store cannot write (write_health.h):
  // resume RocksDB, then re-read the log tail so that the next position follows
  // what is on disk, and make every version read before stale (the committer
  // reads them again). A failed write is not in the memtable (RocksDB inserts
  // only after the WAL write and sync succeeded) and the resume flushes the
  // memtables and starts a new WAL, so the tail is normally unchanged.
  rocksdb::Status ResumeWrites() {
    rocksdb::Status resumed = db_->Resume();
    if (!resumed.ok()) return resumed;
    std::lock_guard<std::mutex> commit_lock(commit_mu_);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_cf()));
    it->SeekToLast();
    if (!it->status().ok()) return it->status();
    const uint64_t tail = it->Valid() ? keys::DecodeBigEndian64(it->key().ToStringView()) : 0;
    if (tail > last_position_.load()) last_position_.store(tail);
    for (std::atomic<uint64_t>& stripe : stripe_commits_) {
      stripe.fetch_add(1, std::memory_order_release);
    }
    return rocksdb::Status::OK();
  }

  // Writes the group in one synced batch and sets each append's result. Returns
  // the last global position when events were appended, else 0.
  uint64_t CommitGroup(std::vector<std::unique_ptr<PendingAppend>>& group) {
    // While the store cannot write, every append is answered at once.
    if (absl::Status unwritable = health_->WriteStatus(); !unwritable.ok()) {
      for (const std::unique_ptr<PendingAppend>& p : group) p->result = unwritable;
      return 0;
    }
    // Sized up front: growing a batch of a large group by doubling cost a
    // malloc_consolidate per group (3% of crm-customer's CPU in the register
    // benchmark).
    size_t bytes = 0;
    for (const std::unique_ptr<PendingAppend>& p : group) {
      bytes += 512 + p->request.command_key.size() + p->request.response.size();
      for (const std::string& e : p->envelopes) bytes += 2 * (e.size() + 64);
      for (const ProjectionWrite& w : p->request.projection_writes) {
        bytes += 32 + w.projection.size() + w.key.size() + w.value.size();
      }
    }
    rocksdb::WriteBatch batch(bytes);
    uint64_t position = last_position_.load();
    std::string value;
    absl::Status status;
    absl::flat_hash_map<std::string_view, uint64_t> in_group;  // stream -> version
    size_t appended = 0;
    for (const std::unique_ptr<PendingAppend>& p : group) {
      const AppendRequest& req = p->request;
      absl::StatusOr<uint64_t> current = CommitVersion(*p, in_group);
      if (!current.ok()) {
        p->result = current.status();
        continue;
      }
      if (!req.expected_version.is_any() && req.expected_version.value() != *current) {
        p->result = VersionConflict(req.stream_id, req.expected_version, *current);
        continue;
      }
      AppendRecord record;
      record.set_stream_id(req.stream_id);
      record.set_first_version(p->envelopes.empty() ? *current : *current + 1);
      record.set_last_version(*current + p->envelopes.size());
      if (!p->envelopes.empty()) record.set_first_position(position + 1);
      for (size_t i = 0; i < p->envelopes.size(); ++i) {
        ++position;
        const uint64_t version = *current + 1 + i;
        value = std::move(p->envelopes[i]);
        value.push_back(kStreamVersionTag);
        AppendVarint(value, version);
        value.push_back(kGlobalPositionTag);
        AppendVarint(value, position);
        status.Update(FromRocks(
            batch.Put(streams_cf(), keys::StreamKey(req.stream_id, version), value), "batch"));
        status.Update(FromRocks(batch.Put(log_cf(), keys::BigEndian64(position), value), "batch"));
      }
      if (!p->envelopes.empty()) {
        record.set_last_position(position);
        in_group[req.stream_id] = record.last_version();
      }
      for (const std::string& id : p->event_ids) record.add_event_ids(id);
      record.set_request_fingerprint(req.request_fingerprint);
      record.set_response(req.response);
      if (const std::string& key = CommandKey(req); !key.empty()) {
        status.Update(
            FromRocks(batch.Put(commands_cf(), key, record.SerializeAsString()), "batch"));
      }
      for (const ProjectionWrite& w : req.projection_writes) {
        status.Update(AddProjectionWrite(batch, w));
      }
      p->result = ResultFromRecord(record, /*duplicate=*/false);
      ++appended;
    }
    if (appended == 0) return 0;
    if (status.ok()) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      if (rocksdb::Status written = db_->Write(wo, &batch); !written.ok()) {
        // RocksDB is now in its background-error state (it refuses writes until
        // resumed; the recovery thread does that) or the write failed alone.
        health_->MarkUnwritable(written.ToString());
        status = absl::UnavailableError(
            absl::StrCat("event store cannot write: ", written.ToString(),
                         "; the write was not acknowledged; retry later"));
      }
    }
    if (!status.ok()) {
      // Nothing is acknowledged and no position is used up, so the log stays
      // gap-free (ResumeWrites re-reads the tail before the next write). Every
      // append of the group gets the write's error, also one refused for a
      // version an earlier append of the group would have made: that version
      // never existed.
      for (const std::unique_ptr<PendingAppend>& p : group) p->result = status;
      return 0;
    }
    // The versions are visible now: appenders that read them before see the
    // stripe move and the committer reads them again.
    for (const auto& [stream, version] : in_group) {
      stripe_commits_[StripeOf(stream)].fetch_add(1, std::memory_order_release);
    }
    stats_appends_.fetch_add(appended, std::memory_order_relaxed);
    stats_groups_.fetch_add(1, std::memory_order_relaxed);
    stats_batch_bytes_.fetch_add(batch.GetDataSize(), std::memory_order_relaxed);
    if (position == last_position_.load()) return 0;  // command records or rows only
    last_position_.store(position);
    return position;
  }

  // First member: destroyed last, after the database closed (its listener
  // points here).
  const std::unique_ptr<internal::WriteHealth> health_;
  const Clock& clock_;
  const std::string path_;
  const size_t max_group_size_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;

  std::array<std::atomic<uint64_t>, kVersionStripes> stripe_commits_{};

  // Idempotency keys of appends not settled yet, with the appends parked on them.
  std::mutex commands_mu_;
  absl::flat_hash_map<std::string, std::vector<std::unique_ptr<PendingAppend>>> inflight_commands_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<std::unique_ptr<PendingAppend>> queue_;
  bool stopping_ = false;
  std::thread committer_;

  // Committed groups whose callbacks are still to run.
  std::mutex settle_mu_;
  std::condition_variable settle_cv_;
  std::deque<std::vector<std::unique_ptr<PendingAppend>>> settle_queue_;
  bool settle_stopping_ = false;
  std::thread settler_;

  std::mutex listeners_mu_;
  std::map<uint64_t, std::function<void(uint64_t)>> listeners_;
  uint64_t last_listener_id_ = 0;

  std::mutex publish_mu_;
  std::mutex commit_mu_;  // held by the committer per group, and by Checkpoint
  std::atomic<uint64_t> last_position_{0};
  std::atomic<uint64_t> published_position_{0};
  std::string page_token_key_;  // set by Init, then only read
  std::string incarnation_;  // set by Init, then constant

  std::atomic<uint64_t> stats_appends_{0};
  std::atomic<uint64_t> stats_groups_{0};
  std::atomic<uint64_t> stats_batch_bytes_{0};
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventStore>> OpenEventStore(const Options& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("path: required");
  if (options.clock == nullptr) return absl::InvalidArgumentError("clock: required");

  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.keep_log_file_num = 5;
  db_options.max_background_jobs = 2;
  // A WAL file is deleted only once every column family with data in it has
  // flushed. Small column families (the outbox cursor in `default`, commands)
  // fill their memtables slowly, so by default (4 x the memtables' total size,
  // about 3 GB here) WAL files piled up: 1.7 GB in crm-customer after 550,000
  // registrations in bench/scale.sh, all replayed at the next start. Past this
  // size RocksDB flushes the column families that hold the oldest WAL back.
  db_options.max_total_wal_size = 256 << 20;
  // Memtables of all six column families together (64 MB each and two each by
  // default, so up to 768 MB): the largest part of a service's resident memory
  // as its store grows. Past this total the largest memtable is flushed.
  db_options.db_write_buffer_size = 128 << 20;
  // A full disk or a failed write puts RocksDB in its background-error state;
  // WriteHealth notices, keeps RocksDB's own recovery off and resumes the
  // database itself (write_health.h). RocksDB's LOG lines are best-effort, as
  // its own file logger aborts the process on a full disk (info_log.h).
  auto health = std::make_unique<internal::WriteHealth>(options.on_writable_change);
  db_options.listeners.push_back(health->Listener());
  db_options.info_log = internal::NewBestEffortInfoLog(options.path);

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options(db_options);
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  // The order matches the accessors in RocksEventStore.
  const std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, "streams", "log",
                                          "outbox", "commands", "projections"};
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, cf_options);

  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(db_options), options.path,
                                        descriptors, &handles, &raw);
  if (!s.ok()) {
    return absl::UnavailableError(absl::StrCat("opening ", options.path, ": ", s.ToString()));
  }
  auto store = std::make_unique<RocksEventStore>(options, std::unique_ptr<rocksdb::DB>(raw),
                                                 handles, std::move(health));
  RETURN_IF_ERROR(store->Init(options.new_incarnation));
  return store;
}

std::optional<uint64_t> CurrentVersionOf(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kAborted) return std::nullopt;
  absl::optional<absl::Cord> payload = status.GetPayload(kCurrentVersionPayload);
  uint64_t version = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &version)) return std::nullopt;
  return version;
}

}  // namespace crm::eventstore
