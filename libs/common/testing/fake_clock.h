// A manually advanced clock for tests.
//
//   crm::testing::FakeClock clock(absl::FromUnixSeconds(1700000000));
//   clock.Advance(absl::Hours(8));
#pragma once

#include "absl/synchronization/mutex.h"
#include "crm/common/clock.h"

namespace crm::testing {

// Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000)) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_;
};

}  // namespace crm::testing
