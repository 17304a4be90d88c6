// A wall clock shifted by an offset read from a file: lets end-to-end tests move
// a real service process forward in time ("advance the clock past a due date")
// without sleeping. For tests only; services enable it with --test_clock_offset_file.
//
//   OffsetClock clock("/tmp/t/offset");   // file holds seconds, e.g. "7948800"
//   clock.Now();                          // absl::Now() + 92 days
#pragma once

#include <fstream>
#include <mutex>
#include <string>

#include "absl/time/clock.h"
#include "crm/common/clock.h"

namespace crm {

// Thread-safe. A missing or unreadable file means offset 0. The file is read
// again at most every 20 ms.
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(std::string path) : path_(std::move(path)) {}

  absl::Time Now() const override {
    const absl::Time now = absl::Now();
    std::lock_guard<std::mutex> lock(mu_);
    if (now - last_read_ > absl::Milliseconds(20)) {
      int64_t seconds = 0;
      std::ifstream in(path_);
      offset_ = (in >> seconds) ? absl::Seconds(seconds) : absl::ZeroDuration();
      last_read_ = now;
    }
    return now + offset_;
  }

 private:
  const std::string path_;
  mutable std::mutex mu_;
  mutable absl::Time last_read_ = absl::InfinitePast();
  mutable absl::Duration offset_;
};

}  // namespace crm
