// End to end over real processes: crm-devbroker + crm-customer + crm-interaction.
// A customer registered a moment ago can be logged against; a class change re-plans
// its revisits to the class cadence; moving the service's clock past the due date
// yields exactly one RevisitOverdue.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/runtime/log.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "common/testing/eventually.h"
#include "testing/metrics_scrape.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace iv1 = ::crm::interaction::v1;
namespace cv1 = ::crm::customer::v1;
using crm::testing::DevToken;
using crm::testing::Eventually;
using crm::testing::ServiceProcess;


TEST(InteractionE2eTest, ClassDrivenRevisitsAndOneOverdueOverRealProcesses) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  messaging::testing::DevBroker broker(DEVBROKER_PATH, dir.path());
  const std::string secret = std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE;
  ServiceProcess customer(CUSTOMER_PATH, {"--data_dir=" + dir.path() + "/customer",
                                          "--kafka_brokers=" + broker.bootstrap(), secret});
  const std::string offset_file = dir.path() + "/clock_offset";
  std::ofstream(offset_file) << 0;
  ServiceProcess interaction(
      INTERACTION_PATH,
      {"--data_dir=" + dir.path() + "/interaction", "--kafka_brokers=" + broker.bootstrap(), secret,
       "--customer_addr=" + customer.grpc_address(), "--test_clock_offset_file=" + offset_file,
       "--scan_interval_ms=100", "--kafka_session_timeout_ms=6000"});
  const std::string alice = DevToken("alice", {"sales_rep"}, "north");
  auto customers = cv1::CustomerService::NewStub(customer.Channel());
  auto interactions = iv1::InteractionService::NewStub(interaction.Channel());
  auto call = [&](auto method, const auto& req, auto* resp) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", auth::BearerHeader(alice));
    return ((*interactions).*method)(&ctx, req, resp);
  };

  // Register, then log against it at once: the interaction service has not
  // necessarily consumed the registration, and must not refuse.
  cv1::RegisterCustomerRequest reg;
  reg.mutable_basic()->set_name("Revisit Me Ltd");
  cv1::RegisterCustomerResponse registered;
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", auth::BearerHeader(alice));
    ASSERT_TRUE(customers->RegisterCustomer(&ctx, reg, &registered).ok());
  }
  const std::string id = registered.customer_id();
  iv1::LogFollowUpRequest follow;
  follow.set_customer_id(id);
  follow.mutable_follow_up()->set_channel(iv1::CHANNEL_PHONE);
  follow.mutable_follow_up()->set_content("Welcome call");
  iv1::CreateResponse logged;
  grpc::Status s = call(&iv1::InteractionService::Stub::LogFollowUp, follow, &logged);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // Over gRPC, a missing or bad token is UNAUTHENTICATED; another rep's customer is
  // NOT_FOUND, as if it did not exist (the full role matrix runs in interaction_app_test).
  for (const std::string& token : {std::string(), std::string("garbage")}) {
    grpc::ClientContext ctx;
    if (!token.empty()) ctx.AddMetadata("authorization", auth::BearerHeader(token));
    iv1::CreateResponse r;
    EXPECT_EQ(interactions->LogFollowUp(&ctx, follow, &r).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", auth::BearerHeader(DevToken("bob", {"sales_rep"}, "north")));
    iv1::CreateResponse r;
    EXPECT_EQ(interactions->LogFollowUp(&ctx, follow, &r).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  // The classification service (not built yet) publishes class A for it.
  auto store = eventstore::OpenEventStore({.path = dir.path() + "/classification"});
  ASSERT_TRUE(store.ok());
  classification::v1::ClassificationEvent classified;
  classified.set_customer_id(id);
  classified.mutable_classified()->set_scheme(classification::v1::SCHEME_ABCD);
  classified.mutable_classified()->set_new_class("A");
  eventstore::AppendRequest append;
  append.stream_id = "classification-" + id;
  append.events.push_back({.event_type = "crm.classification.v1.CustomerClassified",
                           .partition_key = id, .payload = classified.SerializeAsString()});
  ASSERT_TRUE((*store)->Append(append).ok());
  runtime::MetricsRegistry metrics;
  auto relay = messaging::OutboxRelay::Start(
      **store, {.brokers = broker.bootstrap(), .topic = std::string(messaging::kClassificationTopic),
                .source = "crm-classification", .metrics = &metrics});
  ASSERT_TRUE(relay.ok());
  ASSERT_TRUE((*relay)->Flush(absl::Seconds(30)).ok());

  // Revisits re-planned to the quarterly cadence of class A.
  iv1::ListDueRevisitsRequest due;
  due.set_within_days(100);
  iv1::ListDueRevisitsResponse listed;
  ASSERT_TRUE(Eventually([&] {
    listed.Clear();
    return call(&iv1::InteractionService::Stub::ListDueRevisits, due, &listed).ok() &&
           listed.revisits_size() == 1 && listed.revisits(0).revisit().cadence_class() == "A";
  })) << listed.DebugString();
  EXPECT_EQ(listed.revisits(0).customer_id(), id);
  EXPECT_EQ(listed.revisits(0).revisit().cadence_days(), 91);

  // Move the service's clock 92 days on: exactly one RevisitOverdue.
  std::ofstream(offset_file) << 92 * 24 * 3600;
  due.set_within_days(0);
  ASSERT_TRUE(Eventually([&] {
    listed.Clear();
    return call(&iv1::InteractionService::Stub::ListDueRevisits, due, &listed).ok() &&
           listed.revisits_size() == 1 && listed.revisits(0).revisit().overdue_reported();
  })) << listed.DebugString();
  // Several more scans happen; none reports it again.
  const double scans = crm::testing::ScrapeMetric(interaction.admin_address(), "crm_revisit_scans_total");
  ASSERT_GE(scans, 0);
  ASSERT_TRUE(Eventually([&] {
    return crm::testing::ScrapeMetric(interaction.admin_address(), "crm_revisit_scans_total") >= scans + 3;
  }));
  EXPECT_EQ(crm::testing::ScrapeMetric(interaction.admin_address(), "crm_revisit_overdue_reported_total"), 1);

  // On Kafka: the follow-up, the revisits scheduled and re-planned, one overdue.
  std::map<std::string, int> types;
  ASSERT_TRUE(Eventually([&] {
    types.clear();
    for (const auto& r : messaging::testing::ReadTopic(broker.bootstrap(),
                                                        std::string(messaging::kInteractionTopic), 3,
                                                        SIZE_MAX, absl::Seconds(1))) {
      EXPECT_EQ(r.key, id);
      ++types[*messaging::FindHeader(r, "ce_type")];
    }
    return types["crm.interaction.v1.RevisitOverdue"] >= 1;
  }));
  EXPECT_EQ(types["crm.interaction.v1.RevisitOverdue"], 1);
  EXPECT_EQ(types["crm.interaction.v1.FollowUpLogged"], 1);
  EXPECT_GE(types["crm.interaction.v1.RevisitScheduled"], 1);
  EXPECT_EQ(types["crm.interaction.v1.RevisitReplanned"], types["crm.interaction.v1.RevisitScheduled"] - 1);
}

}  // namespace
}  // namespace crm
