// A consumer caught up from the producer's EventLogService (an in-process gRPC
// server over the producer's store), then continuing from Kafka (crm-devbroker):
// every event applied exactly once, in per-key order, whether it came over the
// stream, over Kafka, or both.
#include "crm/messaging/catch_up.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/jwt.h"
#include "crm/eventlog/event_log_service.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/consumer_runner.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/runtime/log.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "messaging/testing/test_handler.h"

namespace crm::messaging {
namespace {

using crm::testing::Eventually;
using testing::ChainedCountsByKey;
using testing::ChainedTotal;
using testing::ChainingHandler;

constexpr char kSecret[] = "an hs256 secret of at least thirty-two bytes";
const std::string kTopic(kCustomerTopic);

std::unique_ptr<eventstore::EventStore> Open(const std::string& path) {
  auto s = eventstore::OpenEventStore({.path = path});
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

void AppendEvents(eventstore::EventStore& store, int from, int to) {
  for (int i = from; i < to; ++i) {
    eventstore::AppendRequest req;
    req.stream_id = absl::StrCat("cust-", i % 6);
    req.events.push_back({.event_type = "crm.customer.v1.CustomerUpdated",
                          .partition_key = req.stream_id,
                          .payload = absl::StrCat("payload-", i)});
    ASSERT_TRUE(store.Append(req).ok());
  }
}

TEST(CatchUpTest, CatchesUpFromTheStreamThenContinuesFromKafkaApplyingEachEventOnce) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  testing::DevBroker broker(DEVBROKER_PATH, dir.path());
  auto producer = Open(dir.path() + "/producer");
  runtime::MetricsRegistry metrics;
  auto relay = OutboxRelay::Start(*producer, {.brokers = broker.bootstrap(),
                                              .topic = kTopic,
                                              .source = "crm-customer",
                                              .metrics = &metrics});
  ASSERT_TRUE(relay.ok()) << relay.status();

  // The producer's event log over gRPC.
  auto verifier = auth::TokenVerifier::Create({.hs256_secret = kSecret});
  ASSERT_TRUE(verifier.ok());
  auto signer = auth::TokenSigner::Create({.hs256_secret = kSecret});
  ASSERT_TRUE(signer.ok());
  auto token = [&](const std::string& role) {
    return *(*signer)->Sign(
        {.sub = "caller", .roles = {role}, .expires_at = absl::Now() + absl::Hours(1)});
  };
  eventlog::EventLogServiceImpl log(*producer, **verifier);
  grpc::ServerBuilder builder;
  builder.RegisterService(&log);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto channel = server->InProcessChannel(grpc::ChannelArguments());

  AppendEvents(*producer, 0, 30);
  auto consumer = Open(dir.path() + "/consumer");
  ChainingHandler handler;
  CatchUpOptions options{
      .group = "crm-ticket", .topic = kTopic, .token = token("admin"), .max_batch = 7};

  // Only admin callers read a log (a service token too is refused).
  CatchUpOptions rep = options;
  rep.token = token("sales_rep");
  EXPECT_EQ(CatchUpFromStream(*consumer, handler, channel, rep).status().code(),
            absl::StatusCode::kPermissionDenied);
  CatchUpOptions service = options;
  service.token = token("service");
  EXPECT_EQ(CatchUpFromStream(*consumer, handler, channel, service).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ChainedTotal(*consumer), 0u);

  auto first = CatchUpFromStream(*consumer, handler, channel, options);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->received, 30u);
  EXPECT_EQ(first->applied, 30u);
  EXPECT_EQ(first->next_position, 31u);
  EXPECT_EQ(ChainedTotal(*consumer), 30u);
  // Again: everything is known.
  auto again = CatchUpFromStream(*consumer, handler, channel, options);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->applied, 0u);
  EXPECT_EQ(again->skipped, 30u);

  // Ten more, then Kafka from its start (no stored offsets): the thirty that
  // came over the stream are dropped, the ten applied.
  AppendEvents(*producer, 30, 40);
  auto runner = ConsumerRunner::Start(*consumer, handler,
                                      {.brokers = broker.bootstrap(),
                                       .group_id = "crm-ticket",
                                       .topics = {kTopic},
                                       .kafka_properties = {{"session.timeout.ms", "6000"}},
                                       .metrics = &metrics});
  ASSERT_TRUE(runner.ok()) << runner.status();
  ASSERT_TRUE(Eventually([&] { return ChainedTotal(*consumer) == 40; })) << ChainedTotal(*consumer);
  runtime::Counter& skipped = metrics.GetCounter("crm_consumer_skipped_total", "",
                                                 {{"group", "crm-ticket"}, {"topic", kTopic}});
  ASSERT_TRUE(Eventually([&] { return skipped.Value() == 30; })) << skipped.Value();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(ChainedTotal(*consumer), 40u);
  EXPECT_EQ((*runner)->Processed(), 10u);
  for (const auto& [key, count] : ChainedCountsByKey(*consumer)) {
    EXPECT_EQ(count, 40u / 6 + (std::stoi(key.substr(5)) < 40 % 6 ? 1 : 0)) << key;
  }
  (*runner)->Stop();
  ASSERT_TRUE((*relay)->Flush(absl::Seconds(10)).ok());
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
}

}  // namespace
}  // namespace crm::messaging
