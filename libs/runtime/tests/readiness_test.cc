#include "crm/runtime/readiness.h"

#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

TEST(RuntimeReadinessTest, BlocksAndClears) {
  Readiness readiness;
  std::vector<bool> changes;
  readiness.OnChange([&](bool ready) { changes.push_back(ready); });
  EXPECT_TRUE(readiness.Ready());
  EXPECT_THAT(readiness.Blocks(), IsEmpty());

  readiness.Block("store", "no space left on device");
  readiness.Block("store", "no space left on device");  // Idempotent: no change.
  EXPECT_FALSE(readiness.Ready());
  readiness.Block("consumer/t", "offsets went backwards");
  readiness.Block("store", "write failed");  // A new reason, still not ready.
  EXPECT_THAT(readiness.Blocks(), ElementsAre(Pair("consumer/t", "offsets went backwards"),
                                              Pair("store", "write failed")));
  readiness.Clear("store");
  EXPECT_FALSE(readiness.Ready());
  readiness.Clear("nothing");  // Not blocked: no change.
  readiness.Clear("consumer/t");
  EXPECT_TRUE(readiness.Ready());
  EXPECT_THAT(readiness.Blocks(), IsEmpty());
  // Listeners hear only the changes of Ready().
  EXPECT_THAT(changes, ElementsAre(false, true));
}

TEST(RuntimeReadinessTest, ConcurrentChangesEndInTheLastState) {
  Readiness readiness;
  absl::Mutex mu;
  std::vector<bool> changes;
  readiness.OnChange([&](bool ready) {
    absl::MutexLock lock(&mu);
    changes.push_back(ready);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&readiness, t] {
      std::string name = "block" + std::to_string(t % 3);
      for (int i = 0; i < 500; ++i) {
        readiness.Block(name, "busy");
        readiness.Clear(name);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_TRUE(readiness.Ready());
  absl::MutexLock lock(&mu);
  ASSERT_FALSE(changes.empty());
  // Announcements are serialized: they alternate and end with ready.
  for (size_t i = 0; i < changes.size(); ++i) EXPECT_EQ(changes[i], i % 2 == 1) << i;
  EXPECT_TRUE(changes.back());
}

}  // namespace
}  // namespace crm::runtime
