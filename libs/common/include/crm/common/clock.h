// Time source for domain code, injectable so tests never sleep.
//
//   const crm::Clock& clock = crm::SystemClock();
//   absl::Time now = clock.Now();
//
// Tests use crm::testing::FakeClock (libs/common/testing/) and move time by hand.
#pragma once

#include "absl/time/time.h"

namespace crm {

// Thread safety: implementations must be safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The process-wide wall clock. Never destroyed.
const Clock& SystemClock();

}  // namespace crm
