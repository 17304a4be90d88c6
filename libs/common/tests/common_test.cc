#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/testing/fake_clock.h"
#include "crm/common/ids.h"
#include "crm/common/status_macros.h"
#include "crm/common/text.h"
#include "crm/common/thread_pool.h"
#include "gtest/gtest.h"

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

TEST(TextTest, Utf8LengthCountsCodePoints) {
  EXPECT_EQ(Utf8Length(""), size_t{0});
  EXPECT_EQ(Utf8Length("abc"), size_t{3});
  EXPECT_EQ(Utf8Length("\xC3\xA9t\xC3\xA9"), size_t{3});         // été
  EXPECT_EQ(Utf8Length("\xE5\x8D\x8E\xE4\xB8\xBA"), size_t{2});  // 华为
  EXPECT_EQ(Utf8Length("\xF0\x9F\x98\x80"), size_t{1});          // emoji
  EXPECT_EQ(Utf8Length("\xC2\x80"), size_t{1});                  // smallest 2-byte
  EXPECT_EQ(Utf8Length("\xE0\xA0\x80"), size_t{1});              // smallest 3-byte
  EXPECT_EQ(Utf8Length("\xED\x9F\xBF"), size_t{1});              // U+D7FF
  EXPECT_EQ(Utf8Length("\xEE\x80\x80"), size_t{1});              // U+E000
  EXPECT_EQ(Utf8Length("\xF4\x8F\xBF\xBF"), size_t{1});          // U+10FFFF
  EXPECT_EQ(Utf8Length(std::string_view("a\0b", 3)), size_t{3});
}

TEST(TextTest, Utf8LengthRejectsInvalidUtf8) {
  EXPECT_EQ(Utf8Length("\xFF"), std::nullopt);
  EXPECT_EQ(Utf8Length("\xF5\x80\x80\x80"), std::nullopt);  // lead byte beyond F4
  EXPECT_EQ(Utf8Length("\x80"), std::nullopt);              // stray continuation
  EXPECT_EQ(Utf8Length("a\xBF"), std::nullopt);
  EXPECT_EQ(Utf8Length("\xE5\x8D"), std::nullopt);  // truncated
  EXPECT_EQ(Utf8Length("\xC3"), std::nullopt);
  EXPECT_EQ(Utf8Length("\xF0\x9F\x98"), std::nullopt);
  EXPECT_EQ(Utf8Length("\xC3(x"), std::nullopt);    // bad continuation
  EXPECT_EQ(Utf8Length("\xC0\xAF"), std::nullopt);  // overlong
  EXPECT_EQ(Utf8Length("\xC1\xBF"), std::nullopt);
  EXPECT_EQ(Utf8Length("\xE0\x80\xAF"), std::nullopt);
  EXPECT_EQ(Utf8Length("\xF0\x80\x80\xAF"), std::nullopt);
  EXPECT_EQ(Utf8Length("\xED\xA0\x80"), std::nullopt);      // surrogate U+D800
  EXPECT_EQ(Utf8Length("\xED\xBF\xBF"), std::nullopt);      // surrogate U+DFFF
  EXPECT_EQ(Utf8Length("\xF4\x90\x80\x80"), std::nullopt);  // > U+10FFFF
}

TEST(TextTest, TrimSpaceRemovesEachSpaceKindAtBothEnds) {
  EXPECT_EQ(TrimSpace(""), "");
  EXPECT_EQ(TrimSpace("abc"), "abc");
  EXPECT_EQ(TrimSpace("  a b \t\n"), "a b");
  EXPECT_EQ(TrimSpace("\r\f\va\r\f\v"), "a");
  EXPECT_EQ(TrimSpace("\xC2\xA0x\xC2\xA0"), "x");          // U+00A0
  EXPECT_EQ(TrimSpace("\xE3\x80\x80x\xE3\x80\x80"), "x");  // U+3000
  EXPECT_EQ(TrimSpace("\xE3\x80\x80\xE5\x8D\x8E\xE4\xB8\xBA\xC2\xA0"), "\xE5\x8D\x8E\xE4\xB8\xBA");
  EXPECT_EQ(TrimSpace(" \xC2\xA0\xE3\x80\x80\ta\xE3\x80\x80\xC2\xA0 "), "a");    // mixed runs
  EXPECT_EQ(TrimSpace("a \xC2\xA0\xE3\x80\x80 b"), "a \xC2\xA0\xE3\x80\x80 b");  // inner kept
  EXPECT_EQ(TrimSpace(" \xC2\xA0\xE3\x80\x80\t"), "");
  EXPECT_EQ(TrimSpace("\xC2"), "\xC2");  // a lone lead byte is not space
  EXPECT_EQ(Trimmed(" \xE3\x80\x80x y\xC2\xA0"), std::string("x y"));
}

TEST(TextTest, IsBlank) {
  EXPECT_TRUE(IsBlank(""));
  EXPECT_TRUE(IsBlank(" \t\n"));
  EXPECT_TRUE(IsBlank(" \t\xE3\x80\x80\xC2\xA0"));
  EXPECT_FALSE(IsBlank(" x "));
  EXPECT_FALSE(IsBlank("\xE3\x80\x80x"));
}

TEST(ThreadPoolTest, RunsEveryTaskBeforeDestruction) {
  std::atomic<int> done{0};
  {
    ThreadPool pool(4);
    for (int i = 0; i < 1000; ++i) pool.Submit([&] { done.fetch_add(1); });
  }
  EXPECT_EQ(done.load(), 1000);
}

TEST(ThreadPoolTest, BoundedQueueRefusesWhenFull) {
  std::mutex gate;
  std::unique_lock<std::mutex> closed(gate);
  std::atomic<int> started{0}, done{0};
  {
    ThreadPool pool(1, /*max_queued=*/2);
    // The one worker takes the first task and waits at the gate.
    ASSERT_TRUE(pool.Submit([&] {
      started.fetch_add(1);
      std::lock_guard<std::mutex> wait(gate);
      done.fetch_add(1);
    }));
    while (started.load() == 0) std::this_thread::yield();
    EXPECT_TRUE(pool.Submit([&] { done.fetch_add(1); }));
    EXPECT_TRUE(pool.Submit([&] { done.fetch_add(1); }));
    EXPECT_EQ(pool.queued(), 2u);
    EXPECT_FALSE(pool.Submit([&] { done.fetch_add(100); }));  // Dropped unrun.
    closed.unlock();
  }
  EXPECT_EQ(done.load(), 3);
}

}  // namespace
}  // namespace crm
