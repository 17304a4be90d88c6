// Offsets going backwards, on the crm-devbroker: a consumer whose stored offset
// of a partition is beyond that partition's end (the topic was recreated, or the
// broker lost records) does not skip what the partition now holds: the partition
// stalls (paused, crm_consumer_stalled = 1, readiness blocked) while the other
// partitions are consumed, and ResetOffsets resumes it from the start, the dedupe
// rows dropping what was applied before.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/consumer_runner.h"
#include "crm/runtime/log.h"
#include "crm/runtime/readiness.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "messaging/testing/test_handler.h"

namespace crm::messaging {
namespace {

using crm::testing::Eventually;
using testing::ChainedCountsByKey;
using testing::ChainedTotal;
using testing::ChainingHandler;
using ::testing::ElementsAre;

constexpr int kPartitions = 3;
const std::string kTopic(kCustomerTopic);
const std::vector<std::pair<std::string, std::string>> kFastGroup = {
    {"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};

std::unique_ptr<eventstore::EventStore> Open(const std::string& path) {
  auto s = eventstore::OpenEventStore({.path = path});
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

TEST(ConsumerOffsetsTest, StoredOffsetBeyondThePartitionsEndStallsItUntilReset) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  testing::DevBroker broker(DEVBROKER_PATH, dir.path(), kPartitions);

  // Four events per partition, written by a producer store and produced to a
  // chosen partition each (keys p<partition>-<n>).
  auto producer = Open(dir.path() + "/producer");
  for (int p = 0; p < kPartitions; ++p) {
    for (int n = 0; n < 4; ++n) {
      eventstore::AppendRequest req;
      req.stream_id = absl::StrCat("p", p, "-", n % 2);
      req.events.push_back({.event_type = "crm.customer.v1.CustomerUpdated",
                            .partition_key = req.stream_id,
                            .payload = absl::StrCat("payload-", n)});
      ASSERT_TRUE(producer->Append(req).ok());
    }
  }
  auto events = producer->ReadAll(1, SIZE_MAX);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 12u);
  for (int p = 0; p < kPartitions; ++p) {
    std::vector<KafkaRecord> records;
    for (const eventstore::EventEnvelope& e : *events) {
      if (e.partition_key().starts_with(absl::StrCat("p", p, "-"))) {
        records.push_back(ToKafkaRecord(e, "crm-customer"));
      }
    }
    ASSERT_TRUE(testing::ProduceRecords(broker.bootstrap(), kTopic, records, p));
  }

  // The consumer's store says partition 1 was consumed up to offset 1000: what a
  // store looks like after its topic was recreated (or the broker lost records).
  auto consumer_store = Open(dir.path() + "/consumer");
  ASSERT_TRUE(
      consumer_store
          ->WriteProjections({eventstore::ProjectionWrite::Put(
              std::string(kConsumerOffsetsProjection), absl::StrCat("g/", kTopic, "/1"), "1000")})
          .ok());
  runtime::MetricsRegistry metrics;
  runtime::Readiness readiness;
  ChainingHandler handler;
  auto runner = ConsumerRunner::Start(*consumer_store, handler,
                                      {.brokers = broker.bootstrap(),
                                       .group_id = "g",
                                       .topics = {kTopic},
                                       .kafka_properties = kFastGroup,
                                       .metrics = &metrics,
                                       .readiness = &readiness});
  ASSERT_TRUE(runner.ok()) << runner.status();
  runtime::Gauge& stalled = metrics.GetGauge(
      "crm_consumer_stalled", "", {{"group", "g"}, {"topic", kTopic}, {"partition", "1"}});

  // Partitions 0 and 2 are consumed; partition 1 stalls, visibly.
  ASSERT_TRUE(Eventually([&] {
    return ChainedTotal(*consumer_store) == 8 && stalled.Value() == 1;
  })) << "total "
      << ChainedTotal(*consumer_store) << ", stalled " << stalled.Value();
  EXPECT_FALSE(readiness.Ready());
  ASSERT_EQ(readiness.Blocks().size(), 1u);
  EXPECT_EQ(readiness.Blocks()[0].first, absl::StrCat("consumer/", kTopic, "/1"));
  EXPECT_NE(readiness.Blocks()[0].second.find("reset-consumer-offsets"), std::string::npos)
      << readiness.Blocks()[0].second;
  // It stays so: nothing of partition 1 is skipped or applied meanwhile.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(ChainedTotal(*consumer_store), 8u);
  EXPECT_EQ(ChainedCountsByKey(*consumer_store).count("p1-0"), 0u);
  auto offset =
      consumer_store->GetProjection(kConsumerOffsetsProjection, absl::StrCat("g/", kTopic, "/1"));
  ASSERT_TRUE(offset.ok() && offset->has_value());
  EXPECT_EQ(**offset, "1000");

  // The fix: forget the topic's offsets. Every partition is read again from its
  // start; the dedupe rows drop what partitions 0 and 2 applied already.
  EXPECT_EQ((*runner)->ResetOffsets("crm.nothing.v1.events", absl::Seconds(10)).status().code(),
            absl::StatusCode::kNotFound);
  auto reset = (*runner)->ResetOffsets(kTopic, absl::Seconds(30));
  ASSERT_TRUE(reset.ok()) << reset.status();
  EXPECT_EQ(reset->offsets_deleted, 3u);  // the stale one and those of partitions 0 and 2
  EXPECT_THAT(reset->partitions_rewound, ElementsAre(0, 1, 2));
  EXPECT_THAT(reset->partitions_resumed, ElementsAre(1));
  EXPECT_EQ(stalled.Value(), 0);
  EXPECT_TRUE(readiness.Ready());
  ASSERT_TRUE(Eventually([&] { return ChainedTotal(*consumer_store) == 12; }))
      << "total " << ChainedTotal(*consumer_store);
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(ChainedTotal(*consumer_store), 12u) << "each event applied once";
  for (const auto& [key, count] : ChainedCountsByKey(*consumer_store)) EXPECT_EQ(count, 2u) << key;
  EXPECT_EQ((*runner)->Processed(), 12u);
  ASSERT_TRUE(Eventually([&] {
    auto row =
        consumer_store->GetProjection(kConsumerOffsetsProjection, absl::StrCat("g/", kTopic, "/1"));
    return row.ok() && row->has_value() && **row == "4";
  }));
  (*runner)->Stop();
}

}  // namespace
}  // namespace crm::messaging
