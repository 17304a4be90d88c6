// Polling with a deadline, the suite's way for tests to wait for something that
// happens in another thread or process (never a bare sleep).
//
//   ASSERT_TRUE(crm::testing::Eventually([&] { return Total(store) == 60; }));
#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace crm::testing {

// Calls `done` every 10 ms until it returns true (then true) or `timeout` passes
// (then false).
template <typename Fn>
bool Eventually(Fn done, absl::Duration timeout = absl::Seconds(60)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

}  // namespace crm::testing
