// SIGKILL crm-interaction while it consumes customer and classification events,
// restart it, and compare what it built with a clean run over the same events: no
// event lost, none applied twice, one planned revisit per customer.
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/consumer_runner.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/runtime/log.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/metrics_scrape.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace iv1 = ::crm::interaction::v1;
using crm::testing::DevToken;
using crm::testing::ServiceProcess;

constexpr int kCustomers = 1500;
constexpr int kContactsEach = 6;

// Publishes, through an event store and a relay as the producing services do,
// kCustomers registrations with contacts, and a class for every third customer.
void PublishEvents(const std::string& dir, const std::string& brokers) {
  auto customers = eventstore::OpenEventStore({.path = dir + "/customer-source"});
  auto classes = eventstore::OpenEventStore({.path = dir + "/classification-source"});
  ASSERT_TRUE(customers.ok() && classes.ok());
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&, t] {
      for (int c = t; c < kCustomers; c += 8) {
        const std::string id = absl::StrCat("cust-", c);
        eventstore::AppendRequest req;
        req.stream_id = "customer-" + id;
        customer::v1::CustomerEvent registered;
        registered.set_customer_id(id);
        registered.mutable_registered()->set_owner(absl::StrCat("rep-", c % 10));
        registered.mutable_registered()->set_region(c % 2 ? "north" : "south");
        req.events.push_back({.event_type = "crm.customer.v1.CustomerRegistered",
                              .partition_key = id, .payload = registered.SerializeAsString()});
        for (int k = 0; k < kContactsEach; ++k) {
          customer::v1::CustomerEvent added;
          added.set_customer_id(id);
          auto* contact = added.mutable_contact_added()->mutable_contact();
          contact->set_contact_id(absl::StrCat(id, "-k", k));
          contact->mutable_personal()->set_name(absl::StrCat("Contact ", k));
          contact->mutable_personal()->set_birthday(absl::StrCat("0", 1 + k % 9, "-1", k % 9));
          req.events.push_back({.event_type = "crm.customer.v1.ContactAdded",
                                .partition_key = id, .payload = added.SerializeAsString()});
        }
        ASSERT_TRUE((*customers)->Append(req).ok());
        if (c % 3 == 0) {
          classification::v1::ClassificationEvent e;
          e.set_customer_id(id);
          e.mutable_classified()->set_scheme(classification::v1::SCHEME_ABCD);
          e.mutable_classified()->set_new_class(c % 2 ? "A" : "B");
          eventstore::AppendRequest creq;
          creq.stream_id = "classification-" + id;
          creq.events.push_back({.event_type = "crm.classification.v1.CustomerClassified",
                                 .partition_key = id, .payload = e.SerializeAsString()});
          ASSERT_TRUE((*classes)->Append(creq).ok());
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  runtime::MetricsRegistry metrics;
  for (auto& [store, topic] : std::vector<std::pair<eventstore::EventStore*, std::string_view>>{
           {customers->get(), messaging::kCustomerTopic},
           {classes->get(), messaging::kClassificationTopic}}) {
    auto relay = messaging::OutboxRelay::Start(
        *store, {.brokers = brokers, .topic = std::string(topic), .source = "test",
                 .metrics = &metrics});
    ASSERT_TRUE(relay.ok());
    ASSERT_TRUE((*relay)->Flush(absl::Seconds(120)).ok());
  }
}

// Waits until every customer has its planned revisit (the service has consumed
// everything and planned), as seen through the public API.
bool AllPlanned(ServiceProcess& service) {
  auto stub = iv1::InteractionService::NewStub(service.Channel());
  const std::string token = DevToken("ops", {"admin"}, "");
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    int planned = 0;
    std::string page_token;
    bool ok = true;
    do {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", auth::BearerHeader(token));
      iv1::ListDueRevisitsRequest req;
      req.set_within_days(400);
      req.set_page_size(500);
      req.set_page_token(page_token);
      iv1::ListDueRevisitsResponse resp;
      if (!stub->ListDueRevisits(&ctx, req, &resp).ok()) {
        ok = false;
        break;
      }
      planned += resp.revisits_size();
      page_token = resp.next_page_token();
    } while (!page_token.empty());
    if (ok && planned == kCustomers) return true;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return false;
}

using Rows = std::vector<std::pair<std::string, std::string>>;

Rows Scan(eventstore::EventStore& store, std::string_view projection) {
  auto rows = store.ScanProjection(projection, "", "", SIZE_MAX);
  EXPECT_TRUE(rows.ok());
  return rows.ok() ? *rows : Rows();
}

TEST(InteractionCrashTest, SigkillDuringConsumptionLosesNothingAndAppliesNothingTwice) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  messaging::testing::DevBroker broker(DEVBROKER_PATH, dir.path());
  PublishEvents(dir.path(), broker.bootstrap());
  const std::vector<std::string> common = {"--kafka_brokers=" + broker.bootstrap(),
                                           std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE,
                                           "--scan_interval_ms=100", "--kafka_session_timeout_ms=6000"};
  auto flags = [&](const std::string& data) {
    std::vector<std::string> f = common;
    f.push_back("--data_dir=" + data);
    return f;
  };
  const std::string total_series =
      "crm_consumer_processed_total{group=\"crm-interaction\",topic=\"crm.customer.v1.events\"}";

  // Killed while consuming, as many times as it takes to land a kill mid-stream
  // (at most 3), then left to finish.
  const std::string killed_dir = dir.path() + "/killed";
  int kills_mid_stream = 0;
  for (int round = 0; round < 3 && kills_mid_stream == 0; ++round) {
    ServiceProcess victim(INTERACTION_PATH, flags(killed_dir));
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      const double processed = crm::testing::ScrapeMetric(victim.admin_address(), total_series);
      if (processed > 0) {
        victim.Kill();
        if (processed < kCustomers * (1 + kContactsEach)) ++kills_mid_stream;
        std::printf("round %d: SIGKILL after %.0f customer events\n", round, processed);
        break;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  EXPECT_GT(kills_mid_stream, 0) << "no kill landed during consumption";
  {
    ServiceProcess restarted(INTERACTION_PATH, flags(killed_dir));
    ASSERT_TRUE(AllPlanned(restarted));
    EXPECT_EQ(restarted.Stop(), 0);
  }
  // A clean run over the same events (its own group offsets: a fresh store).
  {
    ServiceProcess clean(INTERACTION_PATH, flags(dir.path() + "/clean"));
    ASSERT_TRUE(AllPlanned(clean));
    EXPECT_EQ(clean.Stop(), 0);
  }

  auto killed = eventstore::OpenEventStore({.path = killed_dir});
  auto clean = eventstore::OpenEventStore({.path = dir.path() + "/clean"});
  ASSERT_TRUE(killed.ok() && clean.ok());
  for (std::string_view projection : {"directory", "classes", "$dedupe"}) {
    SCOPED_TRACE(std::string(projection));
    const Rows a = Scan(**killed, projection), b = Scan(**clean, projection);
    EXPECT_EQ(a.size(), b.size());
    EXPECT_TRUE(a == b) << "projection differs from the clean run";
  }
  EXPECT_EQ(Scan(**killed, "directory").size(), static_cast<size_t>(kCustomers));
  // Exactly one planned revisit per customer, with the cadence of its class.
  for (eventstore::EventStore* store : {killed->get(), clean->get()}) {
    std::map<std::string, int> open_per_customer;
    for (const auto& [key, unused] : Scan(*store, "open_revisit")) {
      ++open_per_customer[key.substr(0, key.find('/'))];
    }
    EXPECT_EQ(open_per_customer.size(), static_cast<size_t>(kCustomers));
    for (const auto& [customer, n] : open_per_customer) EXPECT_EQ(n, 1) << customer;
  }
}

}  // namespace
}  // namespace crm
