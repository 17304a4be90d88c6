#include "crm/runtime/overload.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::runtime {
namespace {

using ::testing::HasSubstr;

TEST(RuntimeOverloadTest, ThreadTimesGrowWithWork) {
  const int tid = static_cast<int>(syscall(SYS_gettid));
  std::optional<ThreadTimes> before = ReadThreadTimes(tid);
  ASSERT_TRUE(before.has_value());
  const absl::Time end = absl::Now() + absl::Milliseconds(100);
  volatile uint64_t sink = 0;
  while (absl::Now() < end) sink = sink + 1;
  std::optional<ThreadTimes> after = ReadThreadTimes(tid);
  ASSERT_TRUE(after.has_value());
  // Most of the 100 ms ran or waited for a CPU (the machine may be busy).
  EXPECT_GE((after->ran - before->ran) + (after->waited - before->waited),
            absl::Milliseconds(50));
  EXPECT_EQ(ReadThreadTimes(-1), std::nullopt);
}

TEST(RuntimeOverloadTest, ShedsTheFractionItIsGiven) {
  MetricsRegistry registry;
  Admission admission(&registry);
  for (int i = 0; i < 1000; ++i) ASSERT_FALSE(admission.Shed());

  admission.SetShedFraction(1);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(admission.Shed());
  admission.SetShedFraction(0.5);
  int shed = 0;
  for (int i = 0; i < 10000; ++i) shed += admission.Shed() ? 1 : 0;
  // Binomial(10000, 0.5): 4500..5500 is more than 10 standard deviations wide.
  EXPECT_GT(shed, 4500);
  EXPECT_LT(shed, 5500);
  EXPECT_EQ(admission.Overloaded().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(admission.Overloaded().message(),
              HasSubstr("server overloaded: CPU saturated, 50% of calls refused"));
  EXPECT_THAT(registry.RenderPrometheusText(),
              HasSubstr(absl::StrCat("\ncrm_grpc_server_rejected_total{reason=\"overload\"} ",
                                     1000 + shed, "\n")));
  // Out-of-range fractions are clamped.
  admission.SetShedFraction(7);
  EXPECT_EQ(admission.shed_fraction(), 1);
  admission.SetShedFraction(-1);
  EXPECT_EQ(admission.shed_fraction(), 0);
}

TEST(RuntimeOverloadTest, StepsTheShedFractionTowardsTheTarget) {
  MetricsRegistry registry;
  Admission admission(&registry);
  OverloadControl control(&admission, &registry,
                          {.target = 0.9, .max_waiting = 64, .step = 0.1, .max_shed = 0.95});
  EXPECT_DOUBLE_EQ(control.Step(0.45, 500), 0);  // below target: nothing to shed
  // Busy, but no more than max_waiting calls wait: at capacity, not behind.
  EXPECT_DOUBLE_EQ(control.Step(1.0, 64), 0);
  // Busy all the time with twice max_waiting waiting: two steps up.
  EXPECT_NEAR(control.Step(1.0, 128), 0.2, 1e-9);
  EXPECT_NEAR(control.Step(0.95, 64), 0.2, 1e-9);   // short queue: held
  EXPECT_NEAR(control.Step(0.95, 128), 0.3, 1e-9);  // half as busy over target: half of that
  EXPECT_NEAR(admission.shed_fraction(), 0.3, 1e-9);
  EXPECT_NEAR(control.Step(0.9, 500), 0.3, 1e-9);  // on target: unchanged
  EXPECT_NEAR(control.Step(0.0, 500), 0.2, 1e-9);  // idle: a full step down
  EXPECT_NEAR(control.Step(1.0, 100000), 0.6, 1e-9);  // a long queue: at most 4 steps up
  for (int i = 0; i < 30; ++i) control.Step(1.0, 128);
  EXPECT_NEAR(admission.shed_fraction(), 0.95, 1e-9);  // capped at max_shed
  std::string text = registry.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("\ncrm_grpc_server_shed_fraction 0.95\n"));
  EXPECT_THAT(text, HasSubstr("\ncrm_grpc_server_threads_busy 1\n"));
  EXPECT_THAT(text, HasSubstr("\ncrm_grpc_server_calls_waiting 128\n"));
  EXPECT_NEAR(control.Step(1.0, 64), 0.95, 1e-9);  // busy, short queue: held
  for (int i = 0; i < 20; ++i) control.Step(0.45, 10);
  EXPECT_EQ(admission.shed_fraction(), 0);
  // From nothing, busy threads with a short queue never start shedding.
  for (int i = 0; i < 20; ++i) control.Step(1.0, 64);
  EXPECT_EQ(admission.shed_fraction(), 0);
}

TEST(RuntimeOverloadTest, CountsNoOpenCallsWithoutAServer) { EXPECT_EQ(CallsOpenInGrpc(), 0); }

TEST(RuntimeOverloadTest, TargetZeroNeverSheds) {
  MetricsRegistry registry;
  Admission admission(&registry);
  OverloadControl control(&admission, &registry, {.target = 0});
  EXPECT_EQ(control.Step(1.0, 1000), 0);
  control.Start();  // no thread
  EXPECT_EQ(admission.shed_fraction(), 0);
  control.Stop();
}

// The real thing: serving threads that are never idle (more of them than CPUs,
// so they also wait for one) make it shed (with max_waiting -1 no gRPC queue is
// needed); when they end it sheds nothing again.
TEST(RuntimeOverloadTest, ShedsWhileTheServingThreadsAreSaturatedAndStopsAfterwards) {
  MetricsRegistry registry;
  Admission admission(&registry);
  OverloadControl control(&admission, &registry,
                          {.target = 0.9, .max_waiting = -1, .period = absl::Milliseconds(50)});
  control.Start();
  std::atomic<bool> spin{true};
  std::vector<std::thread> spinners;
  const int n = static_cast<int>(2 * std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) {
    spinners.emplace_back([&] {
      NoteServingThread();
      volatile uint64_t sink = 0;
      while (spin.load(std::memory_order_relaxed)) sink = sink + 1;
    });
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (admission.shed_fraction() == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const double shed_saturated = admission.shed_fraction();
  spin = false;
  for (std::thread& t : spinners) t.join();
  EXPECT_GT(shed_saturated, 0) << n << " spinning serving threads";

  const absl::Time idle_give_up = absl::Now() + absl::Seconds(10);
  while (admission.shed_fraction() > 0 && absl::Now() < idle_give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(admission.shed_fraction(), 0);
  admission.SetShedFraction(0.5);
  control.Stop();
  EXPECT_EQ(admission.shed_fraction(), 0);  // Stop sheds nothing any more
}

}  // namespace
}  // namespace crm::runtime
