#include "crm/runtime/periodic_worker.h"

#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/eventually.h"
#include "gtest/gtest.h"

namespace crm::runtime {
namespace {

using ::crm::testing::Eventually;

TEST(PeriodicWorkerTest, TicksAtOnceThenEveryInterval) {
  std::atomic<int> ticks{0};
  PeriodicWorker worker("test-worker", absl::Milliseconds(5), [&] { ticks.fetch_add(1); });
  EXPECT_EQ(worker.name(), "test-worker");
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(ticks.load(), 0);  // nothing before Start
  worker.Start();
  worker.Start();  // no second thread
  ASSERT_TRUE(Eventually([&] { return ticks.load() >= 5; }));
  worker.Stop();
  const int after_stop = ticks.load();
  absl::SleepFor(absl::Milliseconds(30));
  EXPECT_EQ(ticks.load(), after_stop);
}

TEST(PeriodicWorkerTest, FirstTickRunsImmediatelyAndStopWakesTheSleeper) {
  std::atomic<int> ticks{0};
  PeriodicWorker worker("long-interval", absl::Hours(1), [&] { ticks.fetch_add(1); });
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return ticks.load() == 1; }, absl::Seconds(10)));
  const absl::Time start = absl::Now();
  worker.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(ticks.load(), 1);
}

TEST(PeriodicWorkerTest, WakeRunsTheNextTickWithoutWaitingForTheInterval) {
  std::atomic<int> ticks{0};
  PeriodicWorker worker("woken", absl::Hours(1), [&] { ticks.fetch_add(1); });
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return ticks.load() == 1; }, absl::Seconds(10)));
  worker.Wake();
  ASSERT_TRUE(Eventually([&] { return ticks.load() == 2; }, absl::Seconds(10)));
  worker.Wake();
  ASSERT_TRUE(Eventually([&] { return ticks.load() == 3; }, absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(ticks.load(), 3);  // one tick per wake, then back to the hourly interval
  worker.Stop();
}

TEST(PeriodicWorkerTest, StopWaitsForARunningTick) {
  std::atomic<bool> in_tick{false};
  std::atomic<bool> tick_done{false};
  PeriodicWorker worker("slow-tick", absl::Hours(1), [&] {
    in_tick = true;
    absl::SleepFor(absl::Milliseconds(100));
    tick_done = true;
  });
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return in_tick.load(); }, absl::Seconds(10)));
  worker.Stop();
  EXPECT_TRUE(tick_done.load());
}

TEST(PeriodicWorkerTest, StopIsIdempotentAndFineBeforeStart) {
  std::atomic<int> ticks{0};
  {
    PeriodicWorker never_started("idle", absl::Milliseconds(1), [&] { ticks.fetch_add(1); });
    never_started.Stop();
    never_started.Stop();
    never_started.Start();  // after Stop: does nothing
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(ticks.load(), 0);

  PeriodicWorker worker("twice", absl::Milliseconds(1), [&] { ticks.fetch_add(1); });
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return ticks.load() >= 1; }, absl::Seconds(10)));
  std::thread other([&] { worker.Stop(); });
  worker.Stop();
  other.join();
  worker.Stop();
}

TEST(PeriodicWorkerTest, DestructorStops) {
  std::atomic<int> ticks{0};
  {
    PeriodicWorker worker("scoped", absl::Hours(1), [&] { ticks.fetch_add(1); });
    worker.Start();
    ASSERT_TRUE(Eventually([&] { return ticks.load() == 1; }, absl::Seconds(10)));
  }  // joins without waiting out the hour
  EXPECT_EQ(ticks.load(), 1);
}

TEST(PeriodicWorkerTest, InfiniteIntervalTicksOnce) {
  std::atomic<int> ticks{0};
  PeriodicWorker worker("once", absl::InfiniteDuration(), [&] { ticks.fetch_add(1); });
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return ticks.load() == 1; }, absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(20));
  worker.Stop();
  EXPECT_EQ(ticks.load(), 1);
}

}  // namespace
}  // namespace crm::runtime
