// Pieces every crm-bench subcommand shares: a scratch directory that cleans up
// after itself, and a timed run of N concurrent workers that counts only the
// operations completing inside the measured window.
//
//   ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(/*parent=*/""));
//   TimedRunResult r = RunTimed({.threads = 8, .warmup = absl::Milliseconds(500),
//                                .measure = absl::Seconds(5)},
//                               [&](int thread) -> WorkerOp {
//                                 return [&] { return db.Write(...); };
//                               });
//   double per_second = r.PerSecond();
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace crm::bench {

// A directory for the databases a benchmark creates.
// Lifecycle: a directory created under /tmp (or `parent`) by Create; when it was
// made by crm-bench itself (no parent given) it is removed, with its contents, when
// the ScratchDir is destroyed. A directory under a user-given parent is kept so its
// databases can be inspected. Movable, not copyable; not thread-safe.
class ScratchDir {
 public:
  // Makes a fresh, uniquely named directory. `parent` empty means /tmp (removed at
  // destruction); otherwise `parent` is created if missing and the new directory in
  // it is kept. Returns INTERNAL when a directory cannot be created.
  static absl::StatusOr<ScratchDir> Create(const std::string& parent);

  ScratchDir(ScratchDir&& other) noexcept;
  ScratchDir& operator=(ScratchDir&& other) noexcept;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();

  const std::string& path() const { return path_; }
  // `path()/name`, for a database that must not exist yet.
  std::string Child(const std::string& name) const;
  // The file system type holding the directory ("ext4", "tmpfs", ...), so a reader
  // can tell whether "synced" meant anything.
  std::string FileSystemType() const;

 private:
  ScratchDir(std::string path, bool remove_at_exit)
      : path_(std::move(path)), remove_at_exit_(remove_at_exit) {}
  std::string path_;
  bool remove_at_exit_ = false;
};

// One operation of one worker: called in a loop until the deadline. A non-OK
// status is counted as an error and the loop goes on.
using WorkerOp = std::function<absl::Status()>;

struct TimedRunOptions {
  int threads = 1;
  absl::Duration warmup = absl::Milliseconds(500);  // run, but not counted
  absl::Duration measure = absl::Seconds(5);
  // Called on the coordinating thread when the measured window opens and closes
  // (e.g. to snapshot counters of the system under test). Optional.
  std::function<void()> on_window_start = nullptr;
  std::function<void()> on_window_end = nullptr;
};

struct TimedRunResult {
  uint64_t ops = 0;         // successful operations completed inside the window
  uint64_t errors = 0;      // failed operations, warm-up included
  std::string first_error;  // message of the first failure ("" when none)
  absl::Duration window;    // length of the measured window

  double PerSecond() const {
    double s = absl::ToDoubleSeconds(window);
    return s > 0 ? static_cast<double>(ops) / s : 0.0;
  }
};

// Starts options.threads threads, each running make_op(thread_index)'s operation
// in a loop from a common start until warmup + measure has passed. Each operation's
// completion time is read from a steady clock; only successes completing inside
// [start + warmup, start + warmup + measure) count. Blocks until every thread has
// finished its last operation (which may end a little after the window).
// make_op is called on the worker's own thread before the start signal.
TimedRunResult RunTimed(const TimedRunOptions& options,
                        const std::function<WorkerOp(int thread_index)>& make_op);

// Fast non-cryptographic generator for payload bytes and key choice (xorshift64*),
// one per worker thread so the benchmark measures the store, not a shared RNG.
class FastRandom {
 public:
  explicit FastRandom(uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  // Uniform enough in [0, n) for n far below 2^64.
  uint64_t Uniform(uint64_t n) { return Next() % n; }
  // Overwrites `out` (keeping its size) with random bytes.
  void Fill(std::string& out);

 private:
  uint64_t state_;
};

}  // namespace crm::bench
