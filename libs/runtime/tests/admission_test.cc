#include "crm/runtime/admission.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::runtime {
namespace {

using ::testing::HasSubstr;

TEST(RuntimeAdmissionTest, RefusesOverTheLimitAndCounts) {
  MetricsRegistry registry;
  Admission admission(&registry);
  // Unbounded until a limit is set.
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(admission.TryEnter());
  for (int i = 0; i < 1000; ++i) admission.Leave();

  admission.SetLimit(2);
  EXPECT_TRUE(admission.TryEnter());
  EXPECT_TRUE(admission.TryEnter());
  EXPECT_FALSE(admission.TryEnter());
  EXPECT_EQ(admission.in_flight(), 2);
  EXPECT_EQ(admission.Busy().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(admission.Busy().message(), HasSubstr("server busy: 2 calls in flight"));
  std::string text = registry.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("\ncrm_grpc_server_in_flight 2\n"));
  EXPECT_THAT(text, HasSubstr("\ncrm_grpc_server_rejected_total{reason=\"in_flight\"} 1\n"));
  admission.Leave();
  EXPECT_TRUE(admission.TryEnter());
  admission.Leave();
  admission.Leave();
  EXPECT_EQ(admission.in_flight(), 0);

  absl::Status full = admission.QueueFull("slow-query");
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("slow-query queue is full"));
  EXPECT_THAT(registry.RenderPrometheusText(),
              HasSubstr("\ncrm_grpc_server_rejected_total{reason=\"queue_full\"} 1\n"));
}

TEST(RuntimeAdmissionTest, ConcurrentCallersNeverExceedTheLimit) {
  MetricsRegistry registry;
  Admission admission(&registry);
  admission.SetLimit(3);
  std::atomic<int> inside{0}, most{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!admission.TryEnter()) {
          refused.fetch_add(1);
          continue;
        }
        int now = inside.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        inside.fetch_sub(1);
        admission.Leave();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_LE(most.load(), 3);
  EXPECT_EQ(admission.in_flight(), 0);
}

}  // namespace
}  // namespace crm::runtime
