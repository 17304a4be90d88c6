// Poison records and handler failures in the consumer runner, against the
// crm-devbroker process: undecodable records and records the handler refuses
// for good become dead letters (a "$dead_letters" row and a record on the
// dead-letter topic) while the records after them are applied; transient
// failures are retried with a growing backoff, shown in metrics and readiness,
// and lose nothing; dead letters replay once the cause is fixed.
#include "crm/messaging/dead_letters.h"

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/consumer_runner.h"
#include "crm/runtime/log.h"
#include "crm/runtime/readiness.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "messaging/testing/test_handler.h"

namespace crm::messaging {
namespace {

using crm::testing::Eventually;
using eventstore::EventEnvelope;
using eventstore::EventStore;
using eventstore::ProjectionWrite;
using testing::ChainedCountsByKey;
using testing::ChainedTotal;
using testing::kTestProjection;

constexpr int kPartitions = 3;
const std::string kTopic(kCustomerTopic);
const std::string kDlq = "crm.ticket.v1.dlq";  // created by crm-devbroker

// The ChainingHandler, except for two payloads: "poison" is refused for good
// (INVALID_ARGUMENT) while `poison_is_poison`, "flaky" fails transiently
// (UNAVAILABLE) `flaky_failures` times. Both append a row before failing, which
// must never be committed.
class TestHandler final : public EventHandler {
 public:
  absl::Status Handle(const ConsumedEvent& e, const BatchView& view,
                      std::vector<ProjectionWrite>& out) override {
    if (e.event.payload() == "poison" && poison_is_poison.load()) {
      out.push_back(ProjectionWrite::Put(kTestProjection, "written-by-a-failed-call", ""));
      return absl::InvalidArgumentError("payload: poison");
    }
    if (e.event.payload() == "flaky") {
      {
        std::lock_guard<std::mutex> lock(mu);
        flaky_attempts.push_back(absl::Now());
      }
      if (flaky_failures.fetch_sub(1) > 0) {
        out.push_back(ProjectionWrite::Put(kTestProjection, "written-by-a-failed-call", ""));
        return absl::UnavailableError("store: I/O error (test)");
      }
    }
    return chain_.Handle(e, view, out);
  }

  std::atomic<bool> poison_is_poison{true};
  std::atomic<int> flaky_failures{0};
  std::mutex mu;
  std::vector<absl::Time> flaky_attempts;

 private:
  testing::ChainingHandler chain_;
};

// A record as the outbox relay would publish it.
KafkaRecord Event(const std::string& key, uint64_t position, const std::string& payload) {
  EventEnvelope e;
  e.set_event_id(absl::StrCat("event-", position));
  e.set_event_type("crm.customer.v1.CustomerUpdated");
  e.set_stream_id(key);
  e.set_stream_version(position);
  e.set_global_position(position);
  e.set_schema_version(1);
  e.set_partition_key(key);
  e.set_payload(payload);
  e.set_incarnation("test-incarnation");
  *e.mutable_occurred_at() = ToProtoTimestamp(absl::Now());
  return ToKafkaRecord(e, "crm-customer");
}

class DeadLettersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::SetLogLevel(runtime::LogLevel::kError);
    broker_ = std::make_unique<testing::DevBroker>(DEVBROKER_PATH, dir_.path(), kPartitions);
    ASSERT_FALSE(broker_->bootstrap().empty());
    auto s = eventstore::OpenEventStore({.path = dir_.path() + "/consumer"});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  std::unique_ptr<ConsumerRunner> Start() {
    ConsumerOptions options;
    options.brokers = broker_->bootstrap();
    options.group_id = "g";
    options.topics = {kTopic};
    options.retry_backoff = absl::Milliseconds(20);
    options.max_retry_backoff = absl::Milliseconds(160);
    options.unready_after_failures = 3;
    options.dead_letter_topic = kDlq;
    options.kafka_properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
    options.metrics = &metrics_;
    options.readiness = &readiness_;
    auto runner = ConsumerRunner::Start(*store_, handler_, std::move(options));
    EXPECT_TRUE(runner.ok()) << runner.status();
    return runner.ok() ? std::move(*runner) : nullptr;
  }

  bool MetricIs(const std::string& series, const std::string& value) {
    return absl::StrContains(metrics_.RenderPrometheusText(),
                             absl::StrCat(series, " ", value, "\n"));
  }

  crm::testing::TempDir dir_;
  std::unique_ptr<testing::DevBroker> broker_;
  std::unique_ptr<EventStore> store_;
  runtime::MetricsRegistry metrics_;
  runtime::Readiness readiness_;
  TestHandler handler_;
};

TEST_F(DeadLettersTest, GarbageAndRefusedRecordsAreDeadLetteredAndTheRestApplied) {
  // 30 events over three keys; a record that is no CloudEvent (key k1) after
  // the 10th and one the handler refuses (key kp) after the 20th.
  const std::string garbage_value("\xff\xfe not an event", 15);
  std::vector<KafkaRecord> records;
  uint64_t position = 0;
  for (int i = 0; i < 30; ++i) {
    records.push_back(Event(absl::StrCat("k", i % 3), ++position, absl::StrCat("payload-", i)));
    if (i == 10) records.push_back({.key = "k1", .value = garbage_value, .headers = {{"x", "y"}}});
    if (i == 20) records.push_back(Event("kp", ++position, "poison"));
  }
  ASSERT_TRUE(testing::ProduceRecords(broker_->bootstrap(), kTopic, records));
  auto runner = Start();
  ASSERT_NE(runner, nullptr);

  // Everything after the poison records is applied; they are dead letters.
  ASSERT_TRUE(Eventually([&] { return ChainedTotal(*store_) == 30; })) << ChainedTotal(*store_);
  const std::string series =
      "crm_consumer_dead_letters_total{group=\"g\",topic=\"crm.customer.v1.events\"}";
  ASSERT_TRUE(Eventually([&] { return MetricIs(series, "2"); })) << metrics_.RenderPrometheusText();
  EXPECT_EQ(ChainedCountsByKey(*store_),
            (std::map<std::string, uint64_t>{{"k0", 10}, {"k1", 10}, {"k2", 10}}));
  EXPECT_EQ(runner->Processed(), 30u);
  // The refused record's own writes were dropped.
  EXPECT_FALSE(store_->GetProjection(kTestProjection, "written-by-a-failed-call")->has_value());
  EXPECT_TRUE(readiness_.Ready());

  // Both are rows of "$dead_letters", with the record's bytes and the reason.
  auto page = ListDeadLetters(*store_, "", 0, "", "test");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->dead_letters.size(), 2u);
  std::map<std::string, events::v1::DeadLetter> by_key;
  for (const auto& d : page->dead_letters) by_key[d.key()] = d;
  const events::v1::DeadLetter& garbage = by_key["k1"];
  EXPECT_EQ(garbage.value(), garbage_value);
  EXPECT_TRUE(absl::StartsWith(garbage.reason(), "undecodable record: ")) << garbage.reason();
  EXPECT_EQ(garbage.event_type(), "");
  ASSERT_EQ(garbage.headers_size(), 1);
  EXPECT_EQ(garbage.headers(0).name(), "x");
  const events::v1::DeadLetter& poison = by_key["kp"];
  EXPECT_EQ(poison.value(), "poison");
  EXPECT_EQ(poison.reason(), "INVALID_ARGUMENT: payload: poison");
  EXPECT_EQ(poison.event_type(), "crm.customer.v1.CustomerUpdated");
  EXPECT_EQ(poison.event_id(), absl::StrCat("event-", 22));
  EXPECT_TRUE(poison.has_dead_lettered_at());
  for (const auto& d : page->dead_letters) {
    EXPECT_EQ(d.topic(), kTopic);
    auto key = DeadLetterKeyOfId(DeadLetterId(d));
    ASSERT_TRUE(key.ok());
    EXPECT_TRUE(store_->GetProjection(kDeadLettersProjection, *key)->has_value());
  }

  // And records of the dead-letter topic: original key, value and headers plus
  // where they came from and why.
  auto dlq = testing::ReadTopic(broker_->bootstrap(), kDlq, kPartitions, 2, absl::Seconds(30));
  ASSERT_EQ(dlq.size(), 2u);
  for (const KafkaRecord& r : dlq) {
    const events::v1::DeadLetter& d = by_key[r.key];
    EXPECT_EQ(r.value, d.value());
    ASSERT_NE(FindHeader(r, kDlqReasonHeader), nullptr);
    EXPECT_EQ(*FindHeader(r, kDlqReasonHeader), d.reason());
    EXPECT_EQ(*FindHeader(r, kDlqTopicHeader), kTopic);
    EXPECT_EQ(*FindHeader(r, kDlqPartitionHeader), absl::StrCat(d.partition()));
    EXPECT_EQ(*FindHeader(r, kDlqOffsetHeader), absl::StrCat(d.offset()));
    for (const auto& h : d.headers()) {
      ASSERT_NE(FindHeader(r, h.name()), nullptr) << h.name();
      EXPECT_EQ(*FindHeader(r, h.name()), h.value());
    }
  }

  // Replay once the handler accepts the poison: it is applied and its row goes;
  // the garbage still does not decode and stays, with the attempt counted.
  handler_.poison_is_poison = false;
  auto replay = runner->ReplayDeadLetters({}, /*all=*/true, absl::Seconds(30));
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->replayed, 1u);
  EXPECT_EQ(replay->failed, 1u);
  EXPECT_EQ(replay->replayed_ids, std::vector<std::string>{DeadLetterId(poison)});
  ASSERT_EQ(replay->failures.size(), 1u);
  EXPECT_EQ(replay->failures[0].first, DeadLetterId(garbage));
  EXPECT_EQ(ChainedTotal(*store_), 31u);
  EXPECT_EQ(ChainedCountsByKey(*store_)["kp"], 1u);
  page = ListDeadLetters(*store_, "", 0, "", "test");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->dead_letters.size(), 1u);
  EXPECT_EQ(page->dead_letters[0].key(), "k1");
  EXPECT_EQ(page->dead_letters[0].replay_attempts(), 1u);
  EXPECT_TRUE(page->dead_letters[0].has_last_replay_at());
  EXPECT_TRUE(MetricIs("crm_consumer_dead_letters_replayed_total{group=\"g\"}", "1"));

  // By id: the same garbage fails again; a replayed one is gone; a bad id is refused.
  replay = runner->ReplayDeadLetters({DeadLetterId(garbage), DeadLetterId(poison)},
                                     /*all=*/false, absl::Seconds(30));
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->replayed, 0u);
  EXPECT_EQ(replay->failed, 1u);
  ASSERT_EQ(replay->not_found_ids.size(), 1u);
  EXPECT_EQ(*DeadLetterKeyOfId(replay->not_found_ids[0]), *DeadLetterKeyOfId(DeadLetterId(poison)));
  EXPECT_EQ(runner->ReplayDeadLetters({"no-such-id"}, false, absl::Seconds(5)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(runner->ReplayDeadLetters({}, false, absl::Seconds(5)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ListDeadLetters(*store_, "", 0, "", "test")->dead_letters[0].replay_attempts(), 2u);

  // A restart resumes past them: nothing is dead-lettered or applied twice.
  runner.reset();
  runner = Start();
  ASSERT_TRUE(
      testing::ProduceRecords(broker_->bootstrap(), kTopic, {Event("k0", ++position, "last")}));
  ASSERT_TRUE(Eventually([&] { return ChainedTotal(*store_) == 32; })) << ChainedTotal(*store_);
  EXPECT_EQ(ListDeadLetters(*store_, "", 0, "", "test")->dead_letters.size(), 1u);
  EXPECT_EQ(testing::ReadTopic(broker_->bootstrap(), kDlq, kPartitions, 3, absl::Seconds(3)).size(),
            2u);
}

TEST_F(DeadLettersTest, TransientFailuresAreRetriedWithBackoffAndShownUntilTheyPass) {
  std::mutex mu;
  std::vector<bool> readiness_changes;
  readiness_.OnChange([&](bool ready) {
    std::lock_guard<std::mutex> lock(mu);
    readiness_changes.push_back(ready);
  });
  constexpr int kFailures = 6;
  handler_.flaky_failures = kFailures;
  std::vector<KafkaRecord> records;
  uint64_t position = 0;
  for (int i = 0; i < 20; ++i) {
    records.push_back(Event(absl::StrCat("k", i % 4), ++position, absl::StrCat("payload-", i)));
    if (i == 9) records.push_back(Event("kf", ++position, "flaky"));
  }
  ASSERT_TRUE(testing::ProduceRecords(broker_->bootstrap(), kTopic, records));
  auto runner = Start();
  ASSERT_NE(runner, nullptr);

  // While it fails: retrying, counted, and not ready after 3 failures in a row.
  ASSERT_TRUE(Eventually([&] { return !readiness_.Ready(); }));
  auto blocks = readiness_.Blocks();
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].first, "consumer/g");
  EXPECT_TRUE(absl::StrContains(blocks[0].second, "store: I/O error (test)")) << blocks[0].second;

  // Then it passes: nothing lost, nothing twice, nothing dead-lettered.
  ASSERT_TRUE(Eventually([&] { return ChainedTotal(*store_) == 21; })) << ChainedTotal(*store_);
  ASSERT_TRUE(Eventually([&] { return readiness_.Ready(); }));
  EXPECT_EQ(
      ChainedCountsByKey(*store_),
      (std::map<std::string, uint64_t>{{"k0", 5}, {"k1", 5}, {"k2", 5}, {"k3", 5}, {"kf", 1}}));
  EXPECT_EQ(runner->Processed(), 21u);
  EXPECT_FALSE(store_->GetProjection(kTestProjection, "written-by-a-failed-call")->has_value());
  EXPECT_TRUE(ListDeadLetters(*store_, "", 0, "", "test")->dead_letters.empty());
  EXPECT_TRUE(MetricIs("crm_consumer_retrying{group=\"g\"}", "0"));
  EXPECT_TRUE(MetricIs("crm_consumer_consecutive_failures{group=\"g\"}", "0"));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(readiness_changes, (std::vector<bool>{false, true}));
  }

  // The attempts came further apart: at least 20 ms doubling per failure, at most
  // 160 ms apart by configuration (only the lower bounds are checked).
  std::lock_guard<std::mutex> lock(handler_.mu);
  ASSERT_EQ(handler_.flaky_attempts.size(), static_cast<size_t>(kFailures + 1));
  for (int i = 0; i < kFailures; ++i) {
    const absl::Duration wait =
        std::min(absl::Milliseconds(160), absl::Milliseconds(20) * (1 << i));
    EXPECT_GE(handler_.flaky_attempts[i + 1] - handler_.flaky_attempts[i], wait)
        << "after failure " << i + 1;
  }
}

TEST(DeadLetterNamesTest, TopicsIdsAndPermanentCodes) {
  EXPECT_EQ(DeadLetterTopicFor("crm-ticket"), "crm.ticket.v1.dlq");
  EXPECT_EQ(DeadLetterTopicFor("crm-classification"), "crm.classification.v1.dlq");
  EXPECT_EQ(DeadLetterTopicFor("g"), "crm.g.v1.dlq");

  events::v1::DeadLetter d;
  d.set_topic(kTopic);
  d.set_partition(2);
  d.set_offset(42);
  EXPECT_EQ(DeadLetterId(d), "crm.customer.v1.events/2/42");
  EXPECT_EQ(*DeadLetterKeyOfId(DeadLetterId(d)), DeadLetterKey(kTopic, 2, 42));
  EXPECT_EQ(*DeadLetterKeyOfId(DeadLetterKey(kTopic, 2, 42)), DeadLetterKey(kTopic, 2, 42));
  // Keys sort by partition and offset as numbers.
  EXPECT_LT(DeadLetterKey(kTopic, 2, 9), DeadLetterKey(kTopic, 2, 10));
  EXPECT_LT(DeadLetterKey(kTopic, 2, 99), DeadLetterKey(kTopic, 10, 1));
  for (const char* bad : {"", "x", "t/1", "t/1/2/3", "t/-1/2", "t/1/x", "/1/2"}) {
    EXPECT_EQ(DeadLetterKeyOfId(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }

  for (absl::Status s :
       {absl::InvalidArgumentError(""), absl::FailedPreconditionError(""),
        absl::OutOfRangeError(""), absl::DataLossError(""), absl::UnimplementedError("")}) {
    EXPECT_TRUE(IsPermanentHandlerError(s)) << s;
  }
  for (absl::Status s :
       {absl::UnavailableError(""), absl::InternalError(""), absl::AbortedError(""),
        absl::ResourceExhaustedError(""), absl::NotFoundError(""), absl::DeadlineExceededError(""),
        absl::UnknownError("")}) {
    EXPECT_FALSE(IsPermanentHandlerError(s)) << s;
  }
}

TEST(DeadLetterNamesTest, ParsePayloadTellsGarbageFromUnknownKinds) {
  ConsumedEvent e;
  e.topic = kTopic;
  e.event.set_event_type("crm.customer.v1.Future");
  customer::v1::CustomerEvent out;
  e.event.set_payload("\xff\xff garbage");
  EXPECT_EQ(ParsePayload(e, out).code(), absl::StatusCode::kInvalidArgument);
  customer::v1::CustomerEvent newer;
  newer.set_customer_id("c1");
  newer.GetReflection()->MutableUnknownFields(&newer)->AddLengthDelimited(999, "x");
  e.event.set_payload(newer.SerializeAsString());
  absl::Status s = ParsePayload(e, out);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(absl::StrContains(s.message(), "crm.customer.v1.Future")) << s;
  customer::v1::CustomerEvent known;
  known.set_customer_id("c1");
  known.mutable_updated();
  e.event.set_payload(known.SerializeAsString());
  EXPECT_TRUE(ParsePayload(e, out).ok());
  EXPECT_EQ(out.customer_id(), "c1");
}

}  // namespace
}  // namespace crm::messaging
