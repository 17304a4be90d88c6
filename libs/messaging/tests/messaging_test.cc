// Integration tests: event store -> outbox relay -> Kafka (crm-devbroker process or
// the in-process mock cluster for fault injection) -> consumer runner -> projection.
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/testing/subprocess.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/consumer_runner.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/runtime/log.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "messaging/testing/test_handler.h"

namespace crm::messaging {
namespace {

using eventstore::AppendRequest;
using eventstore::EventStore;
using eventstore::ExpectedVersion;
using crm::testing::Eventually;
using testing::ChainingHandler;
using testing::ChainedCountsByKey;
using testing::ChainedTotal;
using testing::kTestProjection;

constexpr int kPartitions = 3;
const std::string kTopic(kCustomerTopic);
// A killed or restarted consumer's partitions move on after this session timeout
// (Kafka's default is 45 s).
const std::vector<std::pair<std::string, std::string>> kFastGroup = {
    {"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};

std::unique_ptr<EventStore> Open(const std::string& path) {
  auto s = eventstore::OpenEventStore({.path = path});
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

// Appends one event for `key` to the stream of the same name.
void AppendFor(EventStore& store, const std::string& key, int i) {
  AppendRequest req;
  req.stream_id = key;
  req.events.push_back({.event_type = "crm.customer.v1.CustomerUpdated", .partition_key = key,
                        .payload = absl::StrCat("payload-", i), .actor = "user:test"});
  auto r = store.Append(req);
  ASSERT_TRUE(r.ok()) << r.status();
}

class MessagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Keep librdkafka's connection chatter (expected during outages) out of the output.
    runtime::SetLogLevel(runtime::LogLevel::kError);
  }
  crm::testing::TempDir dir_;
  runtime::MetricsRegistry metrics_;
};

TEST_F(MessagingTest, AppendRelayKafkaRunnerProjectionOnDevBroker) {
  testing::DevBroker broker(DEVBROKER_PATH, dir_.path(), kPartitions);
  ASSERT_FALSE(broker.bootstrap().empty());
  auto producer_store = Open(dir_.path() + "/producer");
  auto consumer_store = Open(dir_.path() + "/consumer");

  // No idle polling to speak of: the store's commit listener wakes the relay.
  auto relay = OutboxRelay::Start(*producer_store, {.brokers = broker.bootstrap(), .topic = kTopic,
                                                    .source = "crm-customer",
                                                    .idle_interval = absl::Hours(1),
                                                    .metrics = &metrics_});
  ASSERT_TRUE(relay.ok()) << relay.status();
  ChainingHandler handler;
  // on_committed runs after each batch is committed: the rows are readable then.
  std::atomic<int> commits{0};
  std::atomic<uint64_t> seen_at_last_commit{0};
  auto runner = ConsumerRunner::Start(
      *consumer_store, handler,
      {.brokers = broker.bootstrap(), .group_id = "g", .topics = {kTopic}, .kafka_properties = kFastGroup, .metrics = &metrics_,
       .on_committed = [&] {
         commits.fetch_add(1);
         seen_at_last_commit = ChainedTotal(*consumer_store);
       }});
  ASSERT_TRUE(runner.ok()) << runner.status();

  constexpr int kEvents = 60;
  for (int i = 0; i < kEvents; ++i) AppendFor(*producer_store, absl::StrCat("cust-", i % 6), i);
  ASSERT_TRUE(Eventually([&] { return ChainedTotal(*consumer_store) == kEvents; }))
      << "consumed " << ChainedTotal(*consumer_store);
  ASSERT_TRUE((*relay)->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ((*relay)->Backlog(), 0u);
  EXPECT_EQ(producer_store->PublishedPosition(), static_cast<uint64_t>(kEvents));
  for (int c = 0; c < 6; ++c) EXPECT_EQ(ChainedCountsByKey(*consumer_store)[absl::StrCat("cust-", c)], 10u);
  EXPECT_EQ((*runner)->Processed(), static_cast<uint64_t>(kEvents));
  EXPECT_TRUE(Eventually([&] { return seen_at_last_commit.load() == static_cast<uint64_t>(kEvents); }));
  EXPECT_GE(commits.load(), 1);
  EXPECT_LE(commits.load(), kEvents);

  // The records carry the customer id as key and the CloudEvents headers, and
  // decode back into exactly the stored envelopes.
  auto records = testing::ReadTopic(broker.bootstrap(), kTopic, kPartitions, kEvents, absl::Seconds(30));
  ASSERT_EQ(records.size(), static_cast<size_t>(kEvents));
  auto stored = *producer_store->ReadAll(1, SIZE_MAX);
  std::map<std::string, eventstore::EventEnvelope> by_id;
  for (const auto& e : stored) by_id[e.event_id()] = e;
  for (const KafkaRecord& r : records) {
    EXPECT_EQ(*FindHeader(r, "ce_specversion"), "1.0");
    EXPECT_EQ(*FindHeader(r, "ce_source"), "crm-customer");
    EXPECT_EQ(*FindHeader(r, "ce_type"), "crm.customer.v1.CustomerUpdated");
    EXPECT_EQ(*FindHeader(r, "ce_subject"), r.key);
    EXPECT_EQ(*FindHeader(r, "content-type"), "application/protobuf");
    ASSERT_NE(FindHeader(r, "ce_time"), nullptr);
    EXPECT_TRUE(absl::StartsWith(r.key, "cust-"));
    auto decoded = FromKafkaRecord(r);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ASSERT_TRUE(by_id.contains(decoded->event_id()));
    EXPECT_EQ(decoded->SerializeAsString(), by_id[decoded->event_id()].SerializeAsString());
  }
  const std::string text = metrics_.RenderPrometheusText();
  EXPECT_NE(text.find("crm_outbox_published_total{topic=\"crm.customer.v1.events\"} 60"), std::string::npos)
      << text;
  EXPECT_NE(text.find("crm_consumer_processed_total{group=\"g\",topic=\"crm.customer.v1.events\"} 60"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("crm_outbox_backlog{topic=\"crm.customer.v1.events\"} 0"), std::string::npos);
}

TEST_F(MessagingTest, BrokerOutageLosesNothingAndDuplicatesNothing) {
  testing::MockCluster kafka(kPartitions);
  auto producer_store = Open(dir_.path() + "/producer");
  auto consumer_store = Open(dir_.path() + "/consumer");
  auto relay = OutboxRelay::Start(*producer_store, {.brokers = kafka.bootstrap(), .topic = kTopic,
                                                    .source = "crm-customer", .metrics = &metrics_});
  ASSERT_TRUE(relay.ok());
  ChainingHandler handler;
  auto runner = ConsumerRunner::Start(
      *consumer_store, handler,
      {.brokers = kafka.bootstrap(), .group_id = "g", .topics = {kTopic}, .kafka_properties = kFastGroup, .metrics = &metrics_});
  ASSERT_TRUE(runner.ok());

  kafka.SetBrokerUp(false);
  constexpr int kEvents = 1000;
  constexpr int kKeys = 10;
  for (int i = 0; i < kEvents; ++i) {
    AppendFor(*producer_store, absl::StrCat("cust-", i % kKeys), i);  // appends keep succeeding
  }
  EXPECT_EQ((*relay)->Backlog(), static_cast<uint64_t>(kEvents));  // nothing could be published
  EXPECT_EQ(ChainedTotal(*consumer_store), 0u);

  kafka.SetBrokerUp(true);
  ASSERT_TRUE(Eventually([&] { return ChainedTotal(*consumer_store) == kEvents; }, absl::Seconds(120)))
      << "consumed " << ChainedTotal(*consumer_store);
  ASSERT_TRUE((*relay)->Flush(absl::Seconds(30)).ok());
  for (const auto& [key, n] : ChainedCountsByKey(*consumer_store)) EXPECT_EQ(n, kEvents / kKeys) << key;
  EXPECT_EQ(ChainedCountsByKey(*consumer_store).size(), static_cast<size_t>(kKeys));

  // On the wire: every event once, and per key in append (position) order.
  auto records = testing::ReadTopic(kafka.bootstrap(), kTopic, kPartitions, kEvents, absl::Seconds(30));
  ASSERT_EQ(records.size(), static_cast<size_t>(kEvents));
  std::map<std::string, uint64_t> last_position;
  std::set<std::string> ids;
  for (const KafkaRecord& r : records) {
    auto e = FromKafkaRecord(r);
    ASSERT_TRUE(e.ok());
    EXPECT_GT(e->global_position(), last_position[r.key]) << "out of order for " << r.key;
    last_position[r.key] = e->global_position();
    EXPECT_TRUE(ids.insert(e->event_id()).second);
  }
}

TEST_F(MessagingTest, RedeliveredReplayedAndDuplicatedRecordsChangeNothing) {
  testing::MockCluster kafka(kPartitions);
  auto producer_store = Open(dir_.path() + "/producer");
  auto consumer_store = Open(dir_.path() + "/consumer");
  constexpr int kEvents = 50;
  for (int i = 0; i < kEvents; ++i) AppendFor(*producer_store, absl::StrCat("cust-", i % 5), i);
  {
    auto relay = OutboxRelay::Start(*producer_store, {.brokers = kafka.bootstrap(), .topic = kTopic,
                                                      .source = "crm-customer", .metrics = &metrics_});
    ASSERT_TRUE((*relay)->Flush(absl::Seconds(30)).ok());
  }
  ChainingHandler handler;
  auto run_until_idle = [&](uint64_t expected_total) -> std::unique_ptr<ConsumerRunner> {
    auto runner = ConsumerRunner::Start(
        *consumer_store, handler,
        {.brokers = kafka.bootstrap(), .group_id = "g", .topics = {kTopic}, .kafka_properties = kFastGroup, .metrics = &metrics_});
    EXPECT_TRUE(runner.ok()) << runner.status();
    if (!runner.ok()) return nullptr;
    EXPECT_TRUE(Eventually([&] { return ChainedTotal(*consumer_store) >= expected_total; }));
    return std::move(*runner);
  };
  {
    auto runner = run_until_idle(kEvents);
  }
  auto rows_before = *consumer_store->ScanProjection(kTestProjection, "", "", SIZE_MAX);

  // The same events again on the wire, as a relay rewinding after a failure or a
  // crash would send them.
  {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", kafka.bootstrap().c_str(), err, sizeof(err));
    rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    auto events = producer_store->ReadAll(1, SIZE_MAX);
    ASSERT_TRUE(events.ok());
    for (const auto& e : *events) {
      KafkaRecord r = ToKafkaRecord(e, "crm-customer");
      rd_kafka_headers_t* h = rd_kafka_headers_new(r.headers.size());
      for (const auto& [n, v] : r.headers) rd_kafka_header_add(h, n.data(), n.size(), v.data(), v.size());
      ASSERT_EQ(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(kTopic.c_str()),
                                  RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
                                  RD_KAFKA_V_VALUE(r.value.data(), r.value.size()),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                                  RD_KAFKA_V_END),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    ASSERT_EQ(rd_kafka_flush(producer, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(producer);
  }
  // Restarting resumes from the stored offsets (redelivery of the first 50 is
  // skipped) and the 50 duplicates are dropped by position.
  const std::string skipped_metric =
      "crm_consumer_skipped_total{group=\"g\",topic=\"crm.customer.v1.events\"} ";
  {
    auto runner = run_until_idle(kEvents);
    ASSERT_TRUE(Eventually([&] {
      return metrics_.RenderPrometheusText().find(skipped_metric + "50") != std::string::npos;
    })) << metrics_.RenderPrometheusText();
  }
  EXPECT_EQ(*consumer_store->ScanProjection(kTestProjection, "", "", SIZE_MAX), rows_before);

  // A replay from offset 0 (stored offsets wiped): all 100 records come again and
  // change nothing.
  std::vector<eventstore::ProjectionWrite> wipe;
  auto offsets = consumer_store->ScanProjection(kConsumerOffsetsProjection, "", "", SIZE_MAX);
  ASSERT_TRUE(offsets.ok());
  for (const auto& [key, value] : *offsets) {
    wipe.push_back(eventstore::ProjectionWrite::Delete(std::string(kConsumerOffsetsProjection), key));
  }
  ASSERT_FALSE(wipe.empty());
  ASSERT_TRUE(consumer_store->WriteProjections(wipe).ok());
  {
    auto runner = run_until_idle(kEvents);
    ASSERT_TRUE(Eventually([&] {
      return metrics_.RenderPrometheusText().find(skipped_metric + "150") != std::string::npos;
    })) << metrics_.RenderPrometheusText();
  }
  EXPECT_EQ(*consumer_store->ScanProjection(kTestProjection, "", "", SIZE_MAX), rows_before);
}

TEST_F(MessagingTest, ConsumerKilledMidStreamEndsWithTheSameProjectionAsAnUninterruptedRun) {
  testing::DevBroker broker(DEVBROKER_PATH, dir_.path(), kPartitions);
  auto producer_store = Open(dir_.path() + "/producer");
  constexpr int kEvents = 3000;
  for (int i = 0; i < kEvents; ++i) AppendFor(*producer_store, absl::StrCat("cust-", i % 13), i);
  {
    auto relay = OutboxRelay::Start(*producer_store, {.brokers = broker.bootstrap(), .topic = kTopic,
                                                      .source = "crm-customer", .metrics = &metrics_});
    ASSERT_TRUE((*relay)->Flush(absl::Seconds(60)).ok());
  }
  const std::string total = absl::StrCat(kEvents);
  auto consume = [&](const std::string& db, const std::string& group) {
    return std::make_unique<crm::testing::Subprocess>(std::vector<std::string>{
        TEST_NODE_PATH, "consume", db, broker.bootstrap(), group, total});
  };

  const std::string killed_db = dir_.path() + "/killed";
  absl::BitGen rng;
  for (int round = 0; round < 3; ++round) {
    auto child = consume(killed_db, "killed");
    // Let it get somewhere mid-stream, then kill it without warning.
    const uint64_t kill_after = absl::Uniform<uint64_t>(rng, 1, kEvents - 1);
    bool killed_mid_stream = false;
    while (auto line = child->ReadLine(absl::Seconds(60))) {
      uint64_t n = 0;
      if (absl::StartsWith(*line, "progress ") && absl::SimpleAtoi(line->substr(9), &n) &&
          n >= kill_after && n < static_cast<uint64_t>(kEvents)) {
        child->Kill(SIGKILL);
        killed_mid_stream = true;
        break;
      }
      if (*line == "done") break;
    }
    child->Wait();
    std::printf("round %d: %s\n", round, killed_mid_stream ? "killed mid-stream" : "finished first");
  }
  auto finisher = consume(killed_db, "killed");
  ASSERT_TRUE(finisher->WaitForLine("done", absl::Seconds(120)));
  ASSERT_TRUE(WIFEXITED(finisher->Wait()));

  auto clean = consume(dir_.path() + "/clean", "clean");
  ASSERT_TRUE(clean->WaitForLine("done", absl::Seconds(120)));
  clean->Wait();

  auto killed_store = Open(killed_db);
  auto clean_store = Open(dir_.path() + "/clean");
  auto killed_rows = *killed_store->ScanProjection(kTestProjection, "", "", SIZE_MAX);
  auto clean_rows = *clean_store->ScanProjection(kTestProjection, "", "", SIZE_MAX);
  EXPECT_EQ(ChainedTotal(*killed_store), static_cast<uint64_t>(kEvents));
  EXPECT_EQ(killed_rows, clean_rows);
}

TEST_F(MessagingTest, RelayKilledBeforePublishingStillDeliversEveryAcknowledgedEvent) {
  testing::DevBroker broker(DEVBROKER_PATH, dir_.path(), kPartitions);
  const std::string db = dir_.path() + "/producer";
  std::vector<std::pair<std::string, std::string>> acked;  // event id, key
  int kills_with_backlog = 0;
  absl::BitGen rng;
  for (int round = 0; round < 5 && kills_with_backlog == 0; ++round) {
    crm::testing::Subprocess child(
        {TEST_NODE_PATH, "produce", db, broker.bootstrap(), absl::StrCat("r", round)});
    const int kill_after = absl::Uniform(rng, 50, 500);
    int acks = 0;
    while (auto line = child.ReadLine(absl::Seconds(60))) {
      std::vector<std::string> f = absl::StrSplit(*line, ' ');
      ASSERT_EQ(f.size(), 3u) << *line;
      acked.emplace_back(f[1], f[2]);
      if (++acks >= kill_after) break;
    }
    child.Kill(SIGKILL);
    child.Wait();
    while (auto line = child.ReadLine(absl::ZeroDuration())) {  // acked before it died
      std::vector<std::string> f = absl::StrSplit(*line, ' ');
      if (f.size() == 3) acked.emplace_back(f[1], f[2]);
    }
    auto store = Open(db);
    const uint64_t backlog = store->LastPosition() - store->PublishedPosition();
    std::printf("round %d: %d acks seen, %llu events unpublished at the kill\n", round, acks,
                static_cast<unsigned long long>(backlog));
    if (backlog > 0) ++kills_with_backlog;
  }
  ASSERT_GT(kills_with_backlog, 0) << "no kill landed between append and publish";

  // Restart: the relay publishes what the killed process left in the outbox.
  crm::testing::Subprocess relay({TEST_NODE_PATH, "relay", db, broker.bootstrap()});
  ASSERT_TRUE(relay.WaitForLine("flushed", absl::Seconds(90)));
  relay.Wait();

  auto store = Open(db);
  const uint64_t total = store->LastPosition();
  ASSERT_EQ(store->PublishedPosition(), total);
  // Every acknowledged event is on the wire (maybe twice).
  auto records = testing::ReadTopic(broker.bootstrap(), kTopic, kPartitions, SIZE_MAX, absl::Seconds(10));
  std::set<std::string> on_wire;
  for (const auto& r : records) on_wire.insert(*FindHeader(r, "ce_id"));
  for (const auto& [id, key] : acked) EXPECT_TRUE(on_wire.contains(id)) << id << " never reached Kafka";
  std::printf("%zu records on the wire for %llu events\n", records.size(),
              static_cast<unsigned long long>(total));

  // ... and a consumer applies each event exactly once.
  auto consumer_store = Open(dir_.path() + "/consumer");
  ChainingHandler handler;
  auto runner = ConsumerRunner::Start(
      *consumer_store, handler,
      {.brokers = broker.bootstrap(), .group_id = "g", .topics = {kTopic}, .kafka_properties = kFastGroup, .metrics = &metrics_});
  ASSERT_TRUE(Eventually([&] { return ChainedTotal(*consumer_store) >= total; }));
  (*runner)->Stop();
  EXPECT_EQ(ChainedTotal(*consumer_store), total);
  for (const auto& [key, n] : ChainedCountsByKey(*consumer_store)) {
    EXPECT_EQ(n, store->ReadStream(key)->size()) << key;
  }
}

}  // namespace
}  // namespace crm::messaging
