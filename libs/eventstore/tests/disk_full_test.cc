// The event store on a full disk: a small tmpfs (we mount one; skipped where
// mounting is refused) filled by appends from several threads. Appends then
// fail with UNAVAILABLE, the store says it cannot write, reads go on; once the
// volume grows, the store resumes by itself, every acknowledged append is
// there with its version and position, the log has no gap, and new appends get
// the next positions, also after a reopen.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "common/testing/tmpfs.h"
#include "crm/eventstore/event_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::eventstore {
namespace {

using ::crm::testing::Eventually;

class EventStoreDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tmpfs_.mounted()) GTEST_SKIP() << tmpfs_.error();
  }
  void TearDown() override { store_.reset(); }

  absl::Status Open() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<EventStore>> store =
        OpenEventStore({.path = tmpfs_.path() + "/store",
                        .on_writable_change = [this](bool writable, std::string_view reason) {
                          std::lock_guard<std::mutex> lock(mu_);
                          changes_.emplace_back(writable, std::string(reason));
                        }});
    if (!store.ok()) return store.status();
    store_ = *std::move(store);
    return absl::OkStatus();
  }

  static AppendRequest Event(const std::string& stream, size_t bytes) {
    AppendRequest req;
    req.stream_id = stream;
    req.events.push_back(
        {.event_type = "test.Filled", .partition_key = stream, .payload = std::string(bytes, 'p')});
    // Random-ish bytes: compression must not make the disk look larger.
    for (size_t i = 0; i < bytes; ++i) {
      req.events[0].payload[i] =
          static_cast<char>((i * 131 + stream.size() * 7 + bytes) ^ (i >> 3));
    }
    return req;
  }

  crm::testing::TempDir dir_;
  crm::testing::ScopedTmpfs tmpfs_{dir_.path() + "/mnt", "24m"};
  std::unique_ptr<EventStore> store_;
  std::mutex mu_;
  std::vector<std::pair<bool, std::string>> changes_;
};

TEST_F(EventStoreDiskFullTest, WritesAreUnavailableUntilSpaceReturnsAndNothingAcknowledgedIsLost) {
  ASSERT_TRUE(Open().ok());
  struct Acked {
    std::string stream;
    uint64_t version;
    uint64_t position;
  };
  std::mutex acked_mu;
  std::vector<Acked> acked;
  std::atomic<int> unavailable{0}, other_errors{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; unavailable.load() < 20 && i < 100000; ++i) {
        std::string stream = absl::StrCat("s-", w, "-", i % 50);
        absl::StatusOr<AppendResult> r = store_->Append(Event(stream, 2048));
        if (r.ok()) {
          std::lock_guard<std::mutex> lock(acked_mu);
          acked.push_back({stream, r->last_version, r->last_position});
        } else if (r.status().code() == absl::StatusCode::kUnavailable) {
          unavailable.fetch_add(1);
        } else {
          ADD_FAILURE() << r.status();
          other_errors.fetch_add(1);
          return;
        }
      }
    });
  }
  for (std::thread& t : writers) t.join();
  ASSERT_GE(unavailable.load(), 20);
  ASSERT_EQ(other_errors.load(), 0);
  ASSERT_FALSE(acked.empty());
  const absl::Status cannot = store_->WriteStatus();
  EXPECT_EQ(cannot.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(cannot.message()), ::testing::HasSubstr("No space left on device"));
  EXPECT_TRUE(Eventually(
      [&] {
        std::lock_guard<std::mutex> lock(mu_);
        return !changes_.empty() && !changes_.back().first;
      },
      absl::Seconds(10)));
  // Refused at once while full, and reads go on.
  absl::StatusOr<AppendResult> refused = store_->Append(Event("late", 16));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  ASSERT_TRUE(store_->ReadAll(1, 10).ok());
  const uint64_t last_before = store_->LastPosition();

  // More room: the store resumes by itself.
  ASSERT_TRUE(tmpfs_.Resize("128m")) << tmpfs_.error();
  ASSERT_TRUE(Eventually([&] { return store_->WriteStatus().ok(); }, absl::Seconds(30)))
      << store_->WriteStatus();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSERT_FALSE(changes_.empty());
    EXPECT_TRUE(changes_.back().first);
  }
  EXPECT_EQ(store_->LastPosition(), last_before);
  absl::StatusOr<AppendResult> next = store_->Append(Event("after", 16));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->last_position, last_before + 1);

  // Every acknowledged append is there, at its version and position; the log
  // has no gap; the same after a reopen.
  for (int round = 0; round < 2; ++round) {
    uint64_t max_acked = 0;
    for (const Acked& a : acked) {
      absl::StatusOr<std::vector<EventEnvelope>> events =
          store_->ReadStream(a.stream, a.version, 1);
      ASSERT_TRUE(events.ok()) << events.status();
      ASSERT_EQ(events->size(), 1u) << a.stream << " v" << a.version;
      EXPECT_EQ((*events)[0].global_position(), a.position);
      max_acked = std::max(max_acked, a.position);
    }
    EXPECT_GE(store_->LastPosition(), max_acked + 1);
    uint64_t expected = 1;
    while (true) {
      absl::StatusOr<std::vector<EventEnvelope>> page = store_->ReadAll(expected, 1000);
      ASSERT_TRUE(page.ok()) << page.status();
      if (page->empty()) break;
      for (const EventEnvelope& e : *page) ASSERT_EQ(e.global_position(), expected++);
    }
    EXPECT_EQ(expected - 1, store_->LastPosition());
    ASSERT_TRUE(Open().ok());
  }
}

}  // namespace
}  // namespace crm::eventstore
