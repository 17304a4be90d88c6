#include "crm/eventstore/event_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/testing/fake_clock.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"

namespace crm::eventstore {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;

NewEvent Event(std::string type, std::string key = "c1", std::string payload = "p") {
  NewEvent e;
  e.event_type = std::move(type);
  e.partition_key = std::move(key);
  e.payload = std::move(payload);
  return e;
}

AppendRequest Request(std::string stream, ExpectedVersion expected, std::vector<NewEvent> events,
                      std::string command_id = "") {
  AppendRequest r;
  r.stream_id = std::move(stream);
  r.expected_version = expected;
  r.events = std::move(events);
  r.command_id = std::move(command_id);
  return r;
}

// Counts events per partition key and remembers the last event type: a projection
// whose rows depend on the previous row, so replay order matters.
class CountingProjector final : public Projector {
 public:
  absl::Status Project(const EventEnvelope& event, const ProjectionView& view,
                       std::vector<Row>& out) const override {
    auto current = view.Get(event.partition_key());
    if (!current.ok()) return current.status();
    int count = 0;
    if (current->has_value()) {
      const std::string& row = **current;
      const size_t colon = row.find(':');
      if (!absl::SimpleAtoi(absl::string_view(row.data(), colon), &count)) {
        return absl::DataLossError("bad row");
      }
    }
    if (event.event_type() == "Erased") {
      out.push_back({event.partition_key(), std::nullopt});
    } else {
      out.push_back({event.partition_key(), absl::StrCat(count + 1, ":", event.event_type())});
    }
    return absl::OkStatus();
  }
};

class EventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    store_.reset();
    auto opened = OpenEventStore({.path = dir_.path() + "/db", .clock = &clock_});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = std::move(*opened);
  }

  crm::testing::TempDir dir_;
  crm::testing::FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  std::unique_ptr<EventStore> store_;
};

TEST_F(EventStoreTest, AppendsAndReadsAStream) {
  auto r = store_->Append(
      Request("customer-1", ExpectedVersion::NoStream(), {Event("Registered"), Event("Renamed")}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->first_version, 1u);
  EXPECT_EQ(r->last_version, 2u);
  EXPECT_EQ(r->first_position, 1u);
  EXPECT_EQ(r->last_position, 2u);
  EXPECT_THAT(r->event_ids, SizeIs(2));
  EXPECT_FALSE(r->duplicate);

  auto events = store_->ReadStream("customer-1");
  ASSERT_TRUE(events.ok());
  ASSERT_THAT(*events, SizeIs(2));
  const EventEnvelope& first = (*events)[0];
  EXPECT_EQ(first.event_type(), "Registered");
  EXPECT_EQ(first.stream_id(), "customer-1");
  EXPECT_EQ(first.stream_version(), 1u);
  EXPECT_EQ(first.global_position(), 1u);
  EXPECT_EQ(first.partition_key(), "c1");
  EXPECT_EQ(first.event_id(), r->event_ids[0]);
  EXPECT_EQ(first.occurred_at().seconds(), 1700000000);
  EXPECT_EQ(first.schema_version(), 1u);
  EXPECT_EQ((*events)[1].global_position(), 2u);

  EXPECT_EQ(*store_->StreamVersion("customer-1"), 2u);
  EXPECT_EQ(*store_->StreamVersion("customer-10"), 0u);  // a longer id sharing the prefix
  EXPECT_THAT(*store_->ReadStream("customer-1", 2), SizeIs(1));
  EXPECT_THAT(*store_->ReadStream("customer-1", 1, 1), SizeIs(1));
}

TEST_F(EventStoreTest, StreamsWithSharedPrefixesStaySeparate) {
  ASSERT_TRUE(store_->Append(Request("a", ExpectedVersion::Any(), {Event("X")})).ok());
  ASSERT_TRUE(store_->Append(Request("ab", ExpectedVersion::Any(), {Event("Y"), Event("Y")})).ok());
  EXPECT_THAT(*store_->ReadStream("a"), SizeIs(1));
  EXPECT_THAT(*store_->ReadStream("ab"), SizeIs(2));
  EXPECT_EQ(*store_->StreamVersion("a"), 1u);
}

TEST_F(EventStoreTest, KeepsCallerMetadata) {
  NewEvent e = Event("Registered", "cust-9", "payload-bytes");
  e.actor = "user:alice";
  e.correlation_id = "corr";
  e.causation_id = "cause";
  e.schema_version = 3;
  e.event_id = "my-id";
  e.occurred_at = absl::FromUnixSeconds(1600000000) + absl::Milliseconds(5);
  AppendRequest req = Request("s", ExpectedVersion::Any(), {e}, "cmd-1");
  ASSERT_TRUE(store_->Append(req).ok());
  EventEnvelope got = (*store_->ReadAll(1, 10))[0];
  EXPECT_EQ(got.actor(), "user:alice");
  EXPECT_EQ(got.correlation_id(), "corr");
  EXPECT_EQ(got.causation_id(), "cause");
  EXPECT_EQ(got.schema_version(), 3u);
  EXPECT_EQ(got.event_id(), "my-id");
  EXPECT_EQ(got.payload(), "payload-bytes");
  EXPECT_EQ(got.partition_key(), "cust-9");
  EXPECT_EQ(got.command_id(), "cmd-1");
  EXPECT_EQ(got.occurred_at().seconds(), 1600000000);
  EXPECT_EQ(got.occurred_at().nanos(), 5000000);
}

TEST_F(EventStoreTest, RejectsInvalidRequestsAndWritesNothing) {
  struct Case {
    AppendRequest request;
    std::string field;
  };
  std::vector<Case> cases;
  cases.push_back({Request("", ExpectedVersion::Any(), {Event("X")}), "stream_id"});
  cases.push_back(
      {Request(std::string(257, 's'), ExpectedVersion::Any(), {Event("X")}), "stream_id"});
  cases.push_back({Request(std::string("a\0b", 3), ExpectedVersion::Any(), {Event("X")}),
                   "stream_id"});
  cases.push_back({Request("s", ExpectedVersion::Any(), {}), "events"});
  cases.push_back({Request("s", ExpectedVersion::Any(), {Event("")}), "events[0].event_type"});
  cases.push_back(
      {Request("s", ExpectedVersion::Any(), {Event("X"), Event("Y", "")}), "events[1].partition_key"});
  cases.push_back(
      {Request("s", ExpectedVersion::Any(), {Event("X")}, std::string(300, 'c')), "command_id"});
  AppendRequest long_key = Request("s", ExpectedVersion::Any(), {Event("X")});
  long_key.command_key = std::string(1025, 'k');
  cases.push_back({long_key, "command_key"});
  AppendRequest bad_projection = Request("s", ExpectedVersion::Any(), {Event("X")});
  bad_projection.projection_writes.push_back(ProjectionWrite::Put("", "k", "v"));
  cases.push_back({bad_projection, "projection_writes[0].projection"});

  for (const Case& c : cases) {
    auto r = store_->Append(c.request);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_TRUE(absl::StartsWith(r.status().message(), c.field)) << r.status();
  }
  EXPECT_EQ(store_->LastPosition(), 0u);
  EXPECT_THAT(*store_->ReadAll(1, 100), SizeIs(0));
}

TEST_F(EventStoreTest, ExpectedVersionIsEnforced) {
  ASSERT_TRUE(store_->Append(Request("s", ExpectedVersion::NoStream(), {Event("A")})).ok());

  auto again = store_->Append(Request("s", ExpectedVersion::NoStream(), {Event("B")}));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(CurrentVersionOf(again.status()), 1u);

  auto stale = store_->Append(Request("s", ExpectedVersion::Exactly(5), {Event("B")}));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(CurrentVersionOf(stale.status()), 1u);

  auto exact = store_->Append(Request("s", ExpectedVersion::Exactly(1), {Event("B")}));
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->last_version, 2u);

  auto any = store_->Append(Request("s", ExpectedVersion::Any(), {Event("C")}));
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->last_version, 3u);

  // A failed append used no position: the next one continues without a gap.
  EXPECT_EQ(any->first_position, 3u);
  EXPECT_EQ(CurrentVersionOf(absl::AbortedError("other")), std::nullopt);
  EXPECT_EQ(CurrentVersionOf(absl::OkStatus()), std::nullopt);
}

TEST_F(EventStoreTest, ConcurrentWritersWithSameExpectedVersionExactlyOneWins) {
  ASSERT_TRUE(store_->Append(Request("contested", ExpectedVersion::NoStream(), {Event("A")})).ok());
  constexpr int kWriters = 32;
  for (int round = 0; round < 5; ++round) {
    const uint64_t expected = 1 + round;
    std::atomic<int> wins{0}, conflicts{0}, others{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kWriters; ++i) {
      threads.emplace_back([&] {
        auto r = store_->Append(
            Request("contested", ExpectedVersion::Exactly(expected), {Event("B")}));
        if (r.ok()) {
          ++wins;
        } else if (r.status().code() == absl::StatusCode::kAborted &&
                   CurrentVersionOf(r.status()) == expected + 1) {
          ++conflicts;
        } else {
          ++others;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(wins.load(), 1) << "round " << round;
    EXPECT_EQ(conflicts.load(), kWriters - 1);
    EXPECT_EQ(others.load(), 0);
  }
  EXPECT_EQ(*store_->StreamVersion("contested"), 6u);
}

TEST_F(EventStoreTest, RepeatedCommandIdReturnsFirstResultAndAppendsNothing) {
  AppendRequest req = Request("s", ExpectedVersion::NoStream(), {Event("A"), Event("B")}, "cmd-42");
  req.projection_writes.push_back(ProjectionWrite::Put("p", "k", "v1"));
  auto first = store_->Append(req);
  ASSERT_TRUE(first.ok());

  // The retry would conflict on its expected version and rewrite the projection
  // row; neither happens, and the first result comes back.
  req.projection_writes[0].value = "v2";
  auto retry = store_->Append(req);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->first_version, first->first_version);
  EXPECT_EQ(retry->last_version, first->last_version);
  EXPECT_EQ(retry->first_position, first->first_position);
  EXPECT_EQ(retry->last_position, first->last_position);
  EXPECT_EQ(retry->event_ids, first->event_ids);
  EXPECT_EQ(store_->LastPosition(), 2u);
  EXPECT_EQ(**store_->GetProjection("p", "k"), "v1");
  auto looked_up = store_->LookupCommand("cmd-42");
  ASSERT_TRUE(looked_up.ok() && looked_up->has_value());
  EXPECT_EQ((*looked_up)->event_ids, first->event_ids);
  EXPECT_TRUE((*looked_up)->duplicate);
  EXPECT_EQ(*store_->LookupCommand("never-used"), std::nullopt);

  // Still true after a restart: the command record is durable.
  Reopen();
  auto after_restart = store_->Append(req);
  ASSERT_TRUE(after_restart.ok());
  EXPECT_TRUE(after_restart->duplicate);
  EXPECT_EQ(after_restart->event_ids, first->event_ids);
  EXPECT_EQ(store_->LastPosition(), 2u);
}

TEST_F(EventStoreTest, ConcurrentRetriesOfOneCommandAppendOnce) {
  constexpr int kThreads = 16;
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<AppendResult>> results(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      results[i] = store_->Append(Request("s", ExpectedVersion::Any(), {Event("A")}, "same-cmd"));
    });
  }
  for (auto& t : threads) t.join();
  int originals = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    if (!r->duplicate) ++originals;
    EXPECT_EQ(r->event_ids, results[0]->event_ids);
  }
  EXPECT_EQ(originals, 1);
  EXPECT_EQ(store_->LastPosition(), 1u);
}

// The asynchronous form: every callback runs once, after the synced group that
// holds its append, and the commit listeners hear of each group with events.
TEST_F(EventStoreTest, AsyncAppendsSettleOnceAndListenersHearOfTheirGroups) {
  std::atomic<uint64_t> heard{0};
  std::atomic<int> calls{0};
  const uint64_t listener = store_->AddCommitListener([&](uint64_t last) {
    ++calls;
    uint64_t seen = heard.load();
    while (last > seen && !heard.compare_exchange_weak(seen, last)) {
    }
  });
  constexpr int kAppends = 200;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<absl::StatusOr<AppendResult>> results;
  for (int i = 0; i < kAppends; ++i) {
    store_->AppendAsync(Request(absl::StrCat("s-", i % 7), ExpectedVersion::Any(), {Event("A")}),
                        [&](absl::StatusOr<AppendResult> r) {
                          // Durable before acknowledged: the log already holds it.
                          if (r.ok()) {
                            EXPECT_GE(store_->LastPosition(), r->last_position);
                          }
                          std::lock_guard<std::mutex> lock(mu);
                          results.push_back(std::move(r));
                          cv.notify_all();
                        });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return results.size() == kAppends; }));
  }
  std::set<uint64_t> positions;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    positions.insert(r->first_position);
  }
  EXPECT_EQ(positions.size(), static_cast<size_t>(kAppends));
  EXPECT_EQ(*positions.rbegin(), static_cast<uint64_t>(kAppends));
  EXPECT_EQ(heard.load(), static_cast<uint64_t>(kAppends));
  EXPECT_GE(calls.load(), 1);
  EXPECT_EQ(*store_->StreamVersion("s-0"), 29u);  // 0, 7, ..., 196

  // A refused append settles at once, on the calling thread; a removed listener
  // hears of nothing more.
  store_->RemoveCommitListener(listener);
  bool refused = false;
  store_->AppendAsync(Request("", ExpectedVersion::Any(), {Event("A")}),
                      [&](absl::StatusOr<AppendResult> r) {
                        refused = r.status().code() == absl::StatusCode::kInvalidArgument;
                      });
  EXPECT_TRUE(refused);
  const int before = calls.load();
  ASSERT_TRUE(store_->Append(Request("s-0", ExpectedVersion::Any(), {Event("A")})).ok());
  EXPECT_EQ(calls.load(), before);
}

// Appends queued together with the same expected version: the committer finds
// the conflict (the version it re-reads, or the one an earlier append of the same
// group left), so exactly one wins, and versions stay consecutive.
TEST_F(EventStoreTest, QueuedAppendsWithOneExpectedVersionExactlyOneWins) {
  ASSERT_TRUE(store_->Append(Request("contested", ExpectedVersion::NoStream(), {Event("A")})).ok());
  constexpr int kAppends = 50;
  std::mutex mu;
  std::condition_variable cv;
  int wins = 0, conflicts = 0, settled = 0;
  for (int i = 0; i < kAppends; ++i) {
    store_->AppendAsync(Request("contested", ExpectedVersion::Exactly(1), {Event("B"), Event("C")}),
                        [&](absl::StatusOr<AppendResult> r) {
                          std::lock_guard<std::mutex> lock(mu);
                          if (r.ok()) {
                            ++wins;
                            EXPECT_EQ(r->first_version, 2u);
                            EXPECT_EQ(r->last_version, 3u);
                          } else if (CurrentVersionOf(r.status()) == 3u) {
                            ++conflicts;
                          }
                          ++settled;
                          cv.notify_all();
                        });
  }
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return settled == kAppends; }));
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(conflicts, kAppends - 1);
  auto events = store_->ReadStream("contested");
  ASSERT_TRUE(events.ok());
  ASSERT_THAT(*events, SizeIs(3));
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].stream_version(), i + 1);
}

// A command record keeps what the pipeline gives it (a request digest and the
// response) and may stand alone, without events: a decision that changed nothing
// is answered the same way when it is retried.
TEST_F(EventStoreTest, CommandRecordKeepsFingerprintAndResponseWithOrWithoutEvents) {
  AppendRequest req = Request("s", ExpectedVersion::NoStream(), {Event("A")}, "client-id");
  req.command_key = "alice|Rpc|client-id";
  req.request_fingerprint = "digest-1";
  req.response = "response-bytes";
  auto first = store_->Append(req);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->duplicate);
  // The key, not the client id, identifies the command; the events carry the id.
  EXPECT_EQ(*store_->LookupCommand("client-id"), std::nullopt);
  EXPECT_EQ((*store_->ReadAll(1, 1))[0].command_id(), "client-id");
  auto again = store_->Append(req);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->request_fingerprint, "digest-1");
  EXPECT_EQ(again->response, "response-bytes");
  EXPECT_EQ(again->event_ids, first->event_ids);

  AppendRequest no_events = Request("s", ExpectedVersion::Exactly(1), {}, "other-id");
  no_events.command_key = "alice|Rpc|other-id";
  no_events.response = "unchanged";
  auto recorded = store_->Append(no_events);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(recorded->last_version, 1u);
  EXPECT_EQ(recorded->first_position, 0u);
  EXPECT_THAT(recorded->event_ids, SizeIs(0));
  EXPECT_EQ(store_->LastPosition(), 1u);
  Reopen();
  auto looked_up = store_->LookupCommand("alice|Rpc|other-id");
  ASSERT_TRUE(looked_up.ok() && looked_up->has_value());
  EXPECT_EQ((*looked_up)->response, "unchanged");
  EXPECT_EQ((*looked_up)->last_version, 1u);
  // Its expected version is checked like any append's.
  AppendRequest stale = Request("s", ExpectedVersion::Exactly(7), {}, "third-id");
  EXPECT_EQ(store_->Append(stale).status().code(), absl::StatusCode::kAborted);
}

TEST_F(EventStoreTest, GlobalPositionsAreGapFreeUnderConcurrentAppendsToManyStreams) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 100;
  constexpr int kStreams = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = 1 + (t + i) % 3;  // 1 to 3 events per append
        std::vector<NewEvent> events(n, Event("E", absl::StrCat("k", t)));
        auto r = store_->Append(Request(absl::StrCat("stream-", (t * 7 + i) % kStreams),
                                        ExpectedVersion::Any(), events));
        if (!r.ok() || r->last_position - r->first_position + 1 != static_cast<uint64_t>(n)) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);

  auto all = store_->ReadAll(1, SIZE_MAX);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), store_->LastPosition());
  std::map<std::string, uint64_t> last_version;
  std::set<std::string> ids;
  for (size_t i = 0; i < all->size(); ++i) {
    const EventEnvelope& e = (*all)[i];
    ASSERT_EQ(e.global_position(), i + 1) << "gap or disorder in the global log";
    ASSERT_EQ(e.stream_version(), ++last_version[e.stream_id()])
        << "gap or duplicate in " << e.stream_id();
    ASSERT_TRUE(ids.insert(e.event_id()).second) << "duplicate event id";
  }
  for (const auto& [stream, version] : last_version) {
    EXPECT_EQ(*store_->StreamVersion(stream), version);
    EXPECT_THAT(*store_->ReadStream(stream), SizeIs(version));
  }
  WriteStats stats = store_->GetWriteStats();
  EXPECT_EQ(stats.appends, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_GE(stats.groups, 1u);
  EXPECT_LE(stats.groups, stats.appends);
}

TEST_F(EventStoreTest, PositionsContinueAfterReopen) {
  ASSERT_TRUE(store_->Append(Request("s", ExpectedVersion::Any(), {Event("A"), Event("B")})).ok());
  Reopen();
  EXPECT_EQ(store_->LastPosition(), 2u);
  auto r = store_->Append(Request("s", ExpectedVersion::Exactly(2), {Event("C")}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->first_position, 3u);
  EXPECT_EQ(r->first_version, 3u);
}

TEST_F(EventStoreTest, ReadsAStreamAsOfATime) {
  const absl::Time t0 = clock_.Now();
  ASSERT_TRUE(store_->Append(Request("s", ExpectedVersion::Any(), {Event("Registered")})).ok());
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(store_->Append(Request("s", ExpectedVersion::Any(), {Event("Renamed")})).ok());
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(store_->Append(Request("s", ExpectedVersion::Any(), {Event("Churned")})).ok());

  auto types = [&](absl::Time as_of) {
    std::vector<std::string> out;
    auto events = store_->ReadStreamAsOf("s", as_of);
    EXPECT_TRUE(events.ok());
    for (const auto& e : *events) out.push_back(e.event_type());
    return out;
  };
  EXPECT_THAT(types(t0 - absl::Seconds(1)), ElementsAre());
  EXPECT_THAT(types(t0), ElementsAre("Registered"));
  EXPECT_THAT(types(t0 + absl::Minutes(90)), ElementsAre("Registered", "Renamed"));
  EXPECT_THAT(types(t0 + absl::Hours(2)), ElementsAre("Registered", "Renamed", "Churned"));
  EXPECT_THAT(types(t0 + absl::Hours(2) - absl::Nanoseconds(1)),
              ElementsAre("Registered", "Renamed"));
}

TEST_F(EventStoreTest, OutboxHoldsUnpublishedEventsInOrder) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        store_->Append(Request(absl::StrCat("s", i % 2), ExpectedVersion::Any(), {Event("E")}))
            .ok());
  }
  auto outbox = store_->ReadOutbox(0, 10);
  ASSERT_TRUE(outbox.ok());
  ASSERT_THAT(*outbox, SizeIs(5));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ((*outbox)[i].position, static_cast<uint64_t>(i + 1));
    EXPECT_EQ((*outbox)[i].event.global_position(), static_cast<uint64_t>(i + 1));
  }
  EXPECT_THAT(*store_->ReadOutbox(0, 2), SizeIs(2));
  auto after_two = store_->ReadOutbox(2, 10);  // a relay that already produced 1 and 2
  ASSERT_THAT(*after_two, SizeIs(3));
  EXPECT_EQ((*after_two)[0].position, 3u);

  ASSERT_TRUE(store_->MarkPublished(3).ok());
  EXPECT_EQ(store_->PublishedPosition(), 3u);
  outbox = store_->ReadOutbox(0, 10);
  ASSERT_THAT(*outbox, SizeIs(2));
  EXPECT_EQ((*outbox)[0].position, 4u);

  EXPECT_TRUE(store_->MarkPublished(2).ok());  // older: no-op
  EXPECT_EQ(store_->PublishedPosition(), 3u);
  EXPECT_EQ(store_->MarkPublished(6).code(), absl::StatusCode::kInvalidArgument);

  Reopen();  // the cursor and the remaining entries are durable
  EXPECT_EQ(store_->PublishedPosition(), 3u);
  outbox = store_->ReadOutbox(0, 10);
  ASSERT_THAT(*outbox, SizeIs(2));
  EXPECT_EQ((*outbox)[1].position, 5u);
  ASSERT_TRUE(store_->MarkPublished(5).ok());
  EXPECT_THAT(*store_->ReadOutbox(0, 10), SizeIs(0));
  // The log keeps everything the outbox let go of.
  EXPECT_THAT(*store_->ReadAll(1, 100), SizeIs(5));
}

// The keys in the legacy `outbox` column family of the store at `path`.
std::vector<std::string> LegacyOutboxKeys(const std::string& path, bool add_positions_1_to_3) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const char* name : {"default", "streams", "log", "outbox", "commands", "projections"}) {
    cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &handles, &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return {};
  std::unique_ptr<rocksdb::DB> db(raw);
  if (add_positions_1_to_3) {
    for (uint64_t position = 1; position <= 3; ++position) {
      std::string key(8, '\0');
      for (int i = 0; i < 8; ++i) key[7 - i] = static_cast<char>((position >> (8 * i)) & 0xff);
      EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[3], key, "").ok());
    }
  }
  std::vector<std::string> keys;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[3]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
  it.reset();
  for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
  EXPECT_TRUE(db->Close().ok());
  return keys;
}

// Stores written before docs/adr/0005 kept one outbox key per unpublished event.
// Opening such a store removes them, and the outbox (read from the log) is the same.
TEST_F(EventStoreTest, LegacyOutboxKeysAreRemovedAtOpen) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store_->Append(Request("s", ExpectedVersion::Any(), {Event("E")})).ok());
  }
  store_.reset();
  EXPECT_THAT(LegacyOutboxKeys(dir_.path() + "/db", /*add_positions_1_to_3=*/true), SizeIs(3));
  Reopen();
  auto outbox = store_->ReadOutbox(0, 10);
  ASSERT_TRUE(outbox.ok()) << outbox.status();
  ASSERT_THAT(*outbox, SizeIs(3));
  EXPECT_EQ((*outbox)[2].position, 3u);
  store_.reset();
  EXPECT_THAT(LegacyOutboxKeys(dir_.path() + "/db", /*add_positions_1_to_3=*/false), SizeIs(0));
  Reopen();
  EXPECT_EQ(store_->LastPosition(), 3u);
}

TEST_F(EventStoreTest, ProjectionWritesCommitWithTheEvents) {
  AppendRequest req = Request("s", ExpectedVersion::Any(), {Event("A")});
  req.projection_writes.push_back(ProjectionWrite::Put("customers", "c1", "row1"));
  req.projection_writes.push_back(ProjectionWrite::Put("customers", "c2", "row2"));
  req.projection_writes.push_back(ProjectionWrite::Put("by_region", "north/c1", ""));
  ASSERT_TRUE(store_->Append(req).ok());
  EXPECT_EQ(**store_->GetProjection("customers", "c1"), "row1");
  EXPECT_EQ(*store_->GetProjection("customers", "c3"), std::nullopt);
  EXPECT_EQ(*store_->GetProjection("by_region", "c1"), std::nullopt);

  AppendRequest del = Request("s", ExpectedVersion::Any(), {Event("B")});
  del.projection_writes.push_back(ProjectionWrite::Delete("customers", "c1"));
  ASSERT_TRUE(store_->Append(del).ok());
  EXPECT_EQ(*store_->GetProjection("customers", "c1"), std::nullopt);

  // A rejected append writes none of its projection rows.
  AppendRequest rejected = Request("s", ExpectedVersion::NoStream(), {Event("C")});
  rejected.projection_writes.push_back(ProjectionWrite::Put("customers", "c9", "x"));
  EXPECT_EQ(store_->Append(rejected).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(*store_->GetProjection("customers", "c9"), std::nullopt);
}

TEST_F(EventStoreTest, WritesProjectionsWithoutEvents) {
  ASSERT_TRUE(store_
                  ->WriteProjections({ProjectionWrite::Put("offsets", "topic/0", "41"),
                                      ProjectionWrite::Put("rows", "c1", "x")})
                  .ok());
  EXPECT_EQ(**store_->GetProjection("offsets", "topic/0"), "41");
  EXPECT_TRUE(store_->WriteProjections({ProjectionWrite::Delete("rows", "c1")}).ok());
  EXPECT_EQ(*store_->GetProjection("rows", "c1"), std::nullopt);
  // Invalid: nothing of the batch is written.
  auto bad = store_->WriteProjections(
      {ProjectionWrite::Put("offsets", "topic/0", "99"), ProjectionWrite::Put("", "k", "v")});
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(**store_->GetProjection("offsets", "topic/0"), "41");
  EXPECT_EQ(store_->LastPosition(), 0u);
}

TEST_F(EventStoreTest, ScansProjectionByPrefixWithCursor) {
  AppendRequest req = Request("s", ExpectedVersion::Any(), {Event("A")});
  for (std::string k : {"north/1", "north/2", "north/3", "south/1", "nort"}) {
    req.projection_writes.push_back(ProjectionWrite::Put("idx", k, "v-" + k));
  }
  req.projection_writes.push_back(ProjectionWrite::Put("idx2", "north/9", "other projection"));
  ASSERT_TRUE(store_->Append(req).ok());

  auto page1 = store_->ScanProjection("idx", "north/", "", 2);
  ASSERT_TRUE(page1.ok());
  ASSERT_THAT(*page1, SizeIs(2));
  EXPECT_EQ((*page1)[0].first, "north/1");
  EXPECT_EQ((*page1)[1].second, "v-north/2");
  auto page2 = store_->ScanProjection("idx", "north/", (*page1)[1].first, 2);
  ASSERT_THAT(*page2, SizeIs(1));
  EXPECT_EQ((*page2)[0].first, "north/3");
  EXPECT_THAT(*store_->ScanProjection("idx", "", "", 100), SizeIs(5));
  EXPECT_THAT(*store_->ScanProjection("idx", "west/", "", 100), SizeIs(0));
}

TEST_F(EventStoreTest, RebuildEqualsLiveProjection) {
  CountingProjector projector;
  // Live: each append carries the rows the projector computes from the current rows.
  for (int i = 0; i < 2500; ++i) {
    const std::string customer = absl::StrCat("c", i % 37);
    NewEvent e = Event(i % 11 == 10 ? "Erased" : absl::StrCat("T", i % 5), customer);
    AppendRequest req = Request(absl::StrCat("stream-", i % 37), ExpectedVersion::Any(), {e});
    EventEnvelope as_projected;
    as_projected.set_partition_key(customer);
    as_projected.set_event_type(e.event_type);
    std::vector<Projector::Row> rows;
    ASSERT_TRUE(projector.Project(as_projected, *store_->ViewProjection("live"), rows).ok());
    for (auto& row : rows) {
      req.projection_writes.push_back(row.value ? ProjectionWrite::Put("live", row.key, *row.value)
                                                : ProjectionWrite::Delete("live", row.key));
    }
    ASSERT_TRUE(store_->Append(req).ok());
  }
  // Stale rows in the target are cleared before the replay.
  AppendRequest stale = Request("x", ExpectedVersion::Any(), {Event("T0", "zzz")});
  stale.projection_writes.push_back(ProjectionWrite::Put("rebuilt", "stale-row", "1:T0"));
  ASSERT_TRUE(store_->Append(stale).ok());

  auto replayed = store_->RebuildProjection(projector, "rebuilt");
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(*replayed, 2501u);

  auto live = *store_->ScanProjection("live", "", "", SIZE_MAX);
  auto rebuilt = *store_->ScanProjection("rebuilt", "", "", SIZE_MAX);
  // The rebuild also saw the "stale" append's event (key zzz), which the live
  // projection never did.
  ASSERT_FALSE(live.empty());
  EXPECT_EQ(*store_->GetProjection("rebuilt", "zzz"), "1:T0");
  EXPECT_EQ(*store_->GetProjection("rebuilt", "stale-row"), std::nullopt);
  rebuilt.erase(std::remove_if(rebuilt.begin(), rebuilt.end(),
                               [](const auto& kv) { return kv.first == "zzz"; }),
                rebuilt.end());
  EXPECT_EQ(live, rebuilt);
}

TEST_F(EventStoreTest, RebuildStopsOnProjectorError) {
  class Failing final : public Projector {
    absl::Status Project(const EventEnvelope& e, const ProjectionView&,
                         std::vector<Row>&) const override {
      return e.global_position() == 2 ? absl::InternalError("boom") : absl::OkStatus();
    }
  };
  ASSERT_TRUE(store_->Append(Request("s", ExpectedVersion::Any(), {Event("A"), Event("B")})).ok());
  EXPECT_EQ(store_->RebuildProjection(Failing(), "p").status().message(), "boom");
}

// Several projections in one pass: a count per key ("counts", which reads its
// own earlier rows across chunks of the replay) and an index of the keys by
// their last event type ("by_type", which deletes the entry it replaces).
TEST_F(EventStoreTest, RebuildsSeveralProjectionsInOnePass) {
  class TwoProjections final : public ProjectionSetProjector {
    absl::Status Project(const EventEnvelope& e, const ProjectionReader& rows,
                         std::vector<ProjectionWrite>& out) const override {
      auto count = rows.Get("counts", e.partition_key());
      if (!count.ok()) return count.status();
      int n = 0;
      if (count->has_value() && !absl::SimpleAtoi(**count, &n)) return absl::DataLossError("bad");
      out.push_back(ProjectionWrite::Put("counts", e.partition_key(), absl::StrCat(n + 1)));
      auto type = rows.Get("last_type", e.partition_key());
      if (!type.ok()) return type.status();
      if (type->has_value()) {
        out.push_back(ProjectionWrite::Delete("by_type", absl::StrCat(**type, "/", e.partition_key())));
      }
      out.push_back(ProjectionWrite::Put("last_type", e.partition_key(), e.event_type()));
      out.push_back(ProjectionWrite::Put("by_type", absl::StrCat(e.event_type(), "/", e.partition_key()), ""));
      return absl::OkStatus();
    }
  };
  // 2500 events over 3 keys: more than two replay chunks of 1000.
  for (int i = 0; i < 2500; ++i) {
    ASSERT_TRUE(store_->Append(Request(absl::StrCat("s", i % 3), ExpectedVersion::Any(),
                                       {Event(absl::StrCat("T", i % 4), absl::StrCat("k", i % 3))}))
                    .ok());
  }
  ASSERT_TRUE(store_->WriteProjections({ProjectionWrite::Put("by_type", "stale", "")}).ok());

  auto replayed = store_->RebuildProjections(TwoProjections(), {"counts", "last_type", "by_type"});
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(*replayed, 2500u);
  EXPECT_THAT(*store_->InterruptedRebuild(), ElementsAre());
  // k0 got events 0,3,..,2499 (834, the last i=2499 -> T3); k1 833 (last 2497 -> T1);
  // k2 833 (last 2498 -> T2).
  using Rows = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*store_->ScanProjection("counts", "", "", 10),
            (Rows{{"k0", "834"}, {"k1", "833"}, {"k2", "833"}}));
  EXPECT_EQ(*store_->ScanProjection("by_type", "", "", 10),
            (Rows{{"T1/k1", ""}, {"T2/k2", ""}, {"T3/k0", ""}}));

  // A write outside the targets stops the rebuild.
  auto wrong = store_->RebuildProjections(TwoProjections(), {"counts", "last_type"});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(wrong.status().message()), ::testing::HasSubstr("by_type"));
  // The stopped rebuild is remembered, also across a reopen, until one finishes.
  EXPECT_THAT(*store_->InterruptedRebuild(), ElementsAre("counts", "last_type"));
  Reopen();
  EXPECT_THAT(*store_->InterruptedRebuild(), ElementsAre("counts", "last_type"));
  ASSERT_TRUE(store_->RebuildProjections(TwoProjections(), {"counts", "last_type", "by_type"}).ok());
  EXPECT_THAT(*store_->InterruptedRebuild(), ElementsAre());
  EXPECT_EQ(store_->RebuildProjections(TwoProjections(), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EventStoreTest, CheckpointIsAConsistentRestorableCopy) {
  for (int i = 0; i < 10; ++i) {
    AppendRequest req = Request(absl::StrCat("s", i % 3), ExpectedVersion::Any(), {Event("E")});
    req.projection_writes.push_back(ProjectionWrite::Put("p", absl::StrCat("k", i), "v"));
    ASSERT_TRUE(store_->Append(req).ok());
  }
  ASSERT_TRUE(store_->MarkPublished(4).ok());
  const std::string backup = dir_.path() + "/backup";
  auto info = store_->Checkpoint(backup);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->last_position, 10u);
  EXPECT_EQ(info->published_position, 4u);
  EXPECT_EQ(store_->Checkpoint(backup).status().code(), absl::StatusCode::kInvalidArgument)
      << "an existing directory is refused";

  // The live store moves on; the copy does not.
  ASSERT_TRUE(store_->Append(Request("s0", ExpectedVersion::Any(), {Event("Later")})).ok());
  auto restored = OpenEventStore({.path = backup, .clock = &clock_});
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->LastPosition(), 10u);
  EXPECT_EQ((*restored)->PublishedPosition(), 4u);
  EXPECT_THAT(*(*restored)->ReadOutbox(0, 100), SizeIs(6));
  EXPECT_THAT(*(*restored)->ScanProjection("p", "", "", 100), SizeIs(10));
  EXPECT_EQ(*(*restored)->StreamVersion("s0"), 4u);
  // And it takes appends of its own, continuing its log without a gap.
  auto r = (*restored)->Append(Request("s9", ExpectedVersion::Any(), {Event("E")}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first_position, 11u);
}

TEST_F(EventStoreTest, IncarnationIsKeptAcrossOpensAndReplacedByARestoreOrWhenAsked) {
  const std::string first = store_->Incarnation();
  EXPECT_EQ(first.size(), 36u) << first;
  auto a = store_->Append(Request("s", ExpectedVersion::Any(), {Event("A"), Event("B")}));
  ASSERT_TRUE(a.ok());
  Reopen();
  EXPECT_EQ(store_->Incarnation(), first) << "a plain reopen keeps the incarnation";
  auto before = store_->ReadAll(1, 10);
  ASSERT_TRUE(before.ok());
  ASSERT_THAT(*before, SizeIs(2));
  for (const EventEnvelope& e : *before) EXPECT_EQ(e.incarnation(), first);

  // A checkpoint carries the marker; its first open makes a new incarnation and
  // deletes the marker; a second open keeps the new one.
  const std::string backup = dir_.path() + "/backup";
  ASSERT_TRUE(store_->Checkpoint(backup).ok());
  const std::string marker = backup + "/" + std::string(kRestoredMarkerFile);
  EXPECT_TRUE(std::filesystem::exists(marker));
  std::string restored_incarnation;
  {
    auto restored = OpenEventStore({.path = backup, .clock = &clock_});
    ASSERT_TRUE(restored.ok()) << restored.status();
    restored_incarnation = (*restored)->Incarnation();
    EXPECT_NE(restored_incarnation, first);
    EXPECT_EQ(restored_incarnation.size(), 36u);
    EXPECT_FALSE(std::filesystem::exists(marker));
    // The copied events keep the incarnation that wrote them; new ones get the
    // new one, at the positions after the checkpoint.
    auto r = (*restored)->Append(Request("s", ExpectedVersion::Any(), {Event("C")}));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->first_position, 3u);
    auto all = (*restored)->ReadAll(1, 10);
    ASSERT_TRUE(all.ok());
    ASSERT_THAT(*all, SizeIs(3));
    EXPECT_EQ((*all)[0].incarnation(), first);
    EXPECT_EQ((*all)[2].incarnation(), restored_incarnation);
  }
  {
    auto again = OpenEventStore({.path = backup, .clock = &clock_});
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ((*again)->Incarnation(), restored_incarnation);
  }
  {
    auto asked = OpenEventStore({.path = backup, .clock = &clock_, .new_incarnation = true});
    ASSERT_TRUE(asked.ok()) << asked.status();
    EXPECT_NE((*asked)->Incarnation(), restored_incarnation);
  }
  // The live store, meanwhile, kept its own.
  EXPECT_EQ(store_->Incarnation(), first);
}

TEST_F(EventStoreTest, OpenFailsClearlyOnBadPathOrLockedDb) {
  EXPECT_EQ(OpenEventStore({.path = ""}).status().code(), absl::StatusCode::kInvalidArgument);
  // The fixture's store holds the database lock.
  auto second = OpenEventStore({.path = dir_.path() + "/db"});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace crm::eventstore
