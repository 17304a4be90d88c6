// Whether the store can write, and its recovery when it cannot (private to
// libs/eventstore).
//
// RocksDB enters a background-error state when a write, a flush or a
// compaction fails in a way it cannot ignore (a full disk: "No space left on
// device"; an I/O error). Every write then fails with that error until the
// database is resumed, while reads go on. RocksDB 7.8 would recover from a
// full disk by itself only once its SstFileManager sees free space of at least
// one write buffer (64 MB here), so on a small volume it never does; and a
// manual DB::Resume() is refused (Busy) while that automatic recovery waits.
// So WriteHealth turns RocksDB's automatic recovery off (OnErrorRecoveryBegin)
// and runs its own: a thread that calls `resume` (DB::Resume, then the store
// re-reads its log tail) with a growing backoff (200 ms doubling to 5 s) until
// it succeeds.
//
// Lifecycle: made before the database opens (its listener goes into the
// options), Start once the store is ready, Stop before the database closes.
// Thread safety: MarkUnwritable and writable() from any thread (also RocksDB's
// threads, holding its mutex: they only set state and notify); the listener
// callback `on_change` runs on the recovery thread only.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "rocksdb/listener.h"
#include "rocksdb/status.h"

namespace crm::eventstore::internal {

class WriteHealth {
 public:
  // `on_change(writable, reason)`: after each change, and when the reason of
  // not writing changes; may be empty.
  explicit WriteHealth(std::function<void(bool writable, std::string_view reason)> on_change);
  ~WriteHealth();
  WriteHealth(const WriteHealth&) = delete;
  WriteHealth& operator=(const WriteHealth&) = delete;

  // For DBOptions::listeners: marks the store unwritable on a background error
  // of hard (or worse) severity and keeps RocksDB's own recovery off.
  std::shared_ptr<rocksdb::EventListener> Listener();

  // The store cannot write: `reason` is the error. Wakes the recovery thread.
  void MarkUnwritable(std::string_view reason);

  bool writable() const { return writable_.load(std::memory_order_acquire); }

  // UNAVAILABLE "event store cannot write (...): reason; retry later", or OK.
  absl::Status WriteStatus() const;

  // Starts the recovery thread; `resume` is called while unwritable.
  void Start(std::function<rocksdb::Status()> resume);
  // Stops and joins the recovery thread. Idempotent.
  void Stop();

 private:
  void Loop();

  const std::function<void(bool, std::string_view)> on_change_;
  std::function<rocksdb::Status()> resume_;
  std::atomic<bool> writable_{true};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string reason_;       // guarded by mu_
  uint64_t generation_ = 0;  // guarded by mu_: counts MarkUnwritable calls
  bool stopping_ = false;    // guarded by mu_
  std::thread thread_;
};

}  // namespace crm::eventstore::internal
