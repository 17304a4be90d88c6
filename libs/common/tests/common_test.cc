#include <atomic>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "crm/common/ids.h"
#include "crm/common/status_macros.h"
#include "crm/common/thread_pool.h"
#include "gtest/gtest.h"
#include "common/testing/fake_clock.h"

namespace crm {
namespace {

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

absl::Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, PropagatesErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(3).message(), "odd");
}

TEST(IdsTest, UuidV7LayoutAndUniqueness) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string id = NewId();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '7') << id;  // version nibble
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // variant
    EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
  }
}

TEST(IdsTest, TimestampPrefixFollowsClock) {
  testing::FakeClock clock(absl::FromUnixMillis(1));
  std::string early = NewIdAt(clock.Now());
  clock.Advance(absl::Seconds(10));
  std::string late = NewIdAt(clock.Now());
  EXPECT_EQ(early.substr(0, 13), "00000000-0001");
  EXPECT_LT(early, late);
}

TEST(ThreadPoolTest, RunsEveryTaskBeforeDestruction) {
  std::atomic<int> done{0};
  {
    ThreadPool pool(4);
    for (int i = 0; i < 1000; ++i) pool.Submit([&] { done.fetch_add(1); });
  }
  EXPECT_EQ(done.load(), 1000);
}

}  // namespace
}  // namespace crm
