// A producer restored from a backup, over real processes: crm-devbroker +
// crm-customer + crm-interaction + crm-ticket + crm-classification. crm-customer
// is backed up (`crmctl admin backup`), a customer changes owner three times (each
// consumer applies each change), crm-customer stops and is restored from the
// backup: its store gets a new incarnation and its next event reuses the global
// position of the first change after the backup. The change made after the
// restore is applied by all three consumers (they deduplicate by incarnation and
// position, not by position alone), and the restored relay's replays of events
// from before the backup change nothing.
//
// What each consumer applied is seen through its own access checks: a sales rep
// sees a customer in crm-interaction (GetTimeline), crm-ticket (ListTickets) and
// crm-classification (GetClassification) exactly when that service's copy of the
// customer directory names them owner (no --customer_addr: nothing asks
// crm-customer).
//
// Also here, over the same processes: a consumer catching up from its producer's
// event log (--catch_up_from) before it goes on from Kafka, and a consumer whose
// stored offsets are beyond the topic's end (a recreated topic) stalling until
// `crmctl admin reset-consumer-offsets`.
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/eventually.h"
#include "common/testing/subprocess.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "crm/classification/v1/classification_service.grpc.pb.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/consumer_runner.h"
#include "crm/runtime/log.h"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/metrics_scrape.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace cv1 = ::crm::customer::v1;
namespace iv1 = ::crm::interaction::v1;
namespace tv1 = ::crm::ticket::v1;
namespace kv1 = ::crm::classification::v1;
using crm::testing::CallAs;
using crm::testing::DevToken;
using crm::testing::Eventually;
using crm::testing::ScrapeMetric;
using crm::testing::ServiceProcess;

// The three consuming services, probed as one sales rep.
struct Consumers {
  ServiceProcess& interaction;
  ServiceProcess& ticket;
  ServiceProcess& classification;

  // Per service: whether `rep` (a sales rep) may see customer `id` there.
  std::map<std::string, bool> SeenBy(const std::string& rep, const std::string& id) const {
    const std::string token = DevToken(rep, {"sales_rep"}, "anywhere");
    std::map<std::string, bool> seen;
    {
      auto stub = iv1::InteractionService::NewStub(interaction.Channel());
      iv1::GetTimelineRequest req;
      req.set_customer_id(id);
      iv1::GetTimelineResponse resp;
      seen["crm-interaction"] =
          CallAs(*stub, token, &iv1::InteractionService::Stub::GetTimeline, req, &resp).ok();
    }
    {
      auto stub = tv1::TicketService::NewStub(ticket.Channel());
      tv1::ListTicketsRequest req;
      req.set_customer_id(id);
      tv1::ListTicketsResponse resp;
      seen["crm-ticket"] =
          CallAs(*stub, token, &tv1::TicketService::Stub::ListTickets, req, &resp).ok();
    }
    {
      auto stub = kv1::ClassificationService::NewStub(classification.Channel());
      kv1::GetClassificationRequest req;
      req.set_customer_id(id);
      kv1::GetClassificationResponse resp;
      seen["crm-classification"] =
          CallAs(*stub, token, &kv1::ClassificationService::Stub::GetClassification, req, &resp)
              .ok();
    }
    return seen;
  }

  // Waits until `owner` sees the customer in all three services and `previous`
  // (when given) in none.
  bool WaitForOwner(const std::string& id, const std::string& owner,
                    const std::string& previous = "") const {
    const std::map<std::string, bool> all = {
        {"crm-classification", true}, {"crm-interaction", true}, {"crm-ticket", true}};
    const std::map<std::string, bool> none = {
        {"crm-classification", false}, {"crm-interaction", false}, {"crm-ticket", false}};
    const bool ok = Eventually(
        [&] {
          return SeenBy(owner, id) == all && (previous.empty() || SeenBy(previous, id) == none);
        },
        absl::Seconds(60));
    if (!ok) {
      for (const auto& [service, seen] : SeenBy(owner, id)) {
        ADD_FAILURE() << owner << " in " << service << ": " << (seen ? "sees it" : "does not");
      }
    }
    return ok;
  }
};

// Registers a customer as the holder of `token` (its owner); its id, "" on failure.
std::string Register(ServiceProcess& customer, const std::string& token, const std::string& name) {
  auto stub = cv1::CustomerService::NewStub(customer.Channel());
  cv1::RegisterCustomerRequest req;
  req.mutable_basic()->set_name(name);
  cv1::RegisterCustomerResponse resp;
  grpc::Status s = CallAs(*stub, token, &cv1::CustomerService::Stub::RegisterCustomer, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.customer_id();
}

// The series of crm_consumer_stalled for one partition (labels as rendered: sorted).
std::string StalledSeries(const std::string& group, const std::string& topic, int partition) {
  return absl::StrCat("crm_consumer_stalled{group=\"", group, "\",partition=\"", partition,
                      "\",topic=\"", topic, "\"}");
}

uint64_t AssignOwner(ServiceProcess& customer, const std::string& token, const std::string& id,
                     const std::string& owner, const std::string& region) {
  auto stub = cv1::CustomerService::NewStub(customer.Channel());
  cv1::AssignOwnerRequest req;
  req.set_customer_id(id);
  req.set_owner(owner);
  req.set_region(region);
  req.set_reason("territory change");
  cv1::WriteResponse resp;
  grpc::Status s = CallAs(*stub, token, &cv1::CustomerService::Stub::AssignOwner, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.version();
}

using Records = std::vector<std::pair<std::string, std::string>>;

// The records of the customer topic for `key`, as (position, incarnation), in
// order, once `enough` says so (or after 60 s).
Records PositionsOf(const std::string& brokers, const std::string& key,
                    const std::function<bool(const Records&)>& enough) {
  Records out;
  Eventually([&] {
    out.clear();
    for (const messaging::KafkaRecord& r : messaging::testing::ReadTopic(
             brokers, std::string(messaging::kCustomerTopic), 3, 1000, absl::Seconds(3))) {
      if (r.key != key) continue;
      const std::string* position = messaging::FindHeader(r, "ce_crmposition");
      const std::string* incarnation = messaging::FindHeader(r, "ce_crmincarnation");
      out.emplace_back(position ? *position : "?", incarnation ? *incarnation : "");
    }
    return enough(out);
  });
  return out;
}

// The broker, flags and tokens every case uses.
class RestoreConsumersE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { runtime::SetLogLevel(runtime::LogLevel::kError); }

  crm::testing::TempDir dir;
  messaging::testing::DevBroker broker{DEVBROKER_PATH, dir.path()};
  const std::string secret = std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE;
  const std::string kafka = "--kafka_brokers=" + broker.bootstrap();
  const std::string session = "--kafka_session_timeout_ms=6000";
  const std::string alice = DevToken("alice", {"sales_rep"}, "north");
  const std::string root = DevToken("root", {"admin"}, "");
};

TEST_F(RestoreConsumersE2eTest, ConsumersApplyTheChangesOfAProducerRestoredFromABackup) {
  auto customer = std::make_unique<ServiceProcess>(
      CUSTOMER_PATH,
      std::vector<std::string>{"--data_dir=" + dir.path() + "/customer", kafka, secret, session});
  ServiceProcess interaction(INTERACTION_PATH, {"--data_dir=" + dir.path() + "/interaction", kafka,
                                                secret, "--scan_interval_ms=100", session});
  ServiceProcess ticket(TICKET_PATH, {"--data_dir=" + dir.path() + "/ticket", kafka, secret,
                                      "--scan_interval_ms=100", session});
  ServiceProcess classification(CLASSIFICATION_PATH,
                                {"--data_dir=" + dir.path() + "/classification", kafka, secret,
                                 "--scan_interval_ms=100", session});
  const Consumers consumers{interaction, ticket, classification};

  // A customer of alice's, known to every consumer.
  const std::string id = Register(*customer, alice, "Restored Twice Ltd");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(consumers.WaitForOwner(id, "alice"));

  // The backup, then three changes after it, each applied everywhere.
  const std::string backup_dir = dir.path() + "/backup";
  {
    crm::testing::Subprocess crmctl({CRMCTL_PATH, "admin", "backup",
                                     "--addr=" + customer->grpc_address(), "--token=" + root,
                                     "--dir=" + backup_dir, "--output=json"});
    auto line = crmctl.ReadLine(absl::Seconds(30));
    ASSERT_TRUE(line.has_value());
    EXPECT_EQ(crmctl.Wait(), 0);
  }
  EXPECT_TRUE(std::filesystem::exists(backup_dir + "/RESTORED_FROM_BACKUP"));
  std::string previous = "alice";
  for (const auto& [owner, region] : std::vector<std::pair<std::string, std::string>>{
           {"bob", "south"}, {"carol", "west"}, {"erin", "central"}}) {
    SCOPED_TRACE(owner);
    AssignOwner(*customer, root, id, owner, region);
    ASSERT_TRUE(consumers.WaitForOwner(id, owner, previous));
    previous = owner;
  }
  const Records before_restore =
      PositionsOf(broker.bootstrap(), id, [](const Records& r) { return r.size() >= 4; });
  ASSERT_EQ(before_restore.size(), 4u);
  const std::string original_incarnation = before_restore[0].second;
  EXPECT_FALSE(original_incarnation.empty());
  EXPECT_EQ(before_restore[3].second, original_incarnation);
  EXPECT_EQ(customer->Stop(), 0);

  // Restore: a copy of the backup as the data directory; same broker.
  const std::string restored_dir = dir.path() + "/restored";
  std::filesystem::copy(backup_dir, restored_dir, std::filesystem::copy_options::recursive);
  customer = std::make_unique<ServiceProcess>(
      CUSTOMER_PATH,
      std::vector<std::string>{"--data_dir=" + restored_dir, kafka, secret, session});
  EXPECT_FALSE(std::filesystem::exists(restored_dir + "/RESTORED_FROM_BACKUP"))
      << "the restored store took a new incarnation and dropped the marker";

  // The restored store is at the backup: alice's customer again. A change now
  // takes the global position bob's change had, under a new incarnation.
  AssignOwner(*customer, root, id, "dave", "east");
  const Records after_restore = PositionsOf(broker.bootstrap(), id, [&](const Records& r) {
    return !r.empty() && r.back().second != original_incarnation;
  });
  ASSERT_FALSE(after_restore.empty());
  const auto& dave = after_restore.back();
  EXPECT_NE(dave.second, original_incarnation);
  EXPECT_FALSE(dave.second.empty());
  EXPECT_EQ(dave.first, before_restore[1].first)
      << "the position of the first change after the backup is used again";

  // Applied by all three consumers: dave sees the customer, erin no longer does.
  ASSERT_TRUE(consumers.WaitForOwner(id, "dave", "erin"));

  // The next change applies on top of dave's, and no partition stalled.
  AssignOwner(*customer, root, id, "frank", "east");
  ASSERT_TRUE(consumers.WaitForOwner(id, "frank", "dave"));
  for (const auto& [group, p] : std::vector<std::pair<std::string, ServiceProcess*>>{
           {"crm-interaction", &interaction},
           {"crm-ticket", &ticket},
           {"crm-classification", &classification}}) {
    const std::string processed =
        absl::StrCat("crm_consumer_processed_total{group=\"", group, "\",topic=\"",
                     std::string(messaging::kCustomerTopic), "\"}");
    EXPECT_GE(ScrapeMetric(p->admin_address(), processed), 5) << group;  // the scrape works
    for (int partition = 0; partition < 3; ++partition) {
      // No series: the partition never stalled.
      EXPECT_EQ(
          ScrapeMetric(p->admin_address(),
                       StalledSeries(group, std::string(messaging::kCustomerTopic), partition)),
          -1)
          << group << " partition " << partition;
    }
  }
}

// A consumer started after the events it needs were written, with no Kafka
// record of them: crm-ticket catches up from crm-customer's event log
// (--catch_up_from), then goes on from Kafka, where the same events arrive later
// (dropped) followed by new ones (applied).
TEST_F(RestoreConsumersE2eTest, ConsumerCatchesUpFromTheProducersLogThenContinuesFromKafka) {
  const std::string customer_dir = "--data_dir=" + dir.path() + "/customer";

  // crm-customer without Kafka: its events stay in its log.
  auto customer = std::make_unique<ServiceProcess>(CUSTOMER_PATH,
                                                   std::vector<std::string>{customer_dir, secret});
  const std::string id = Register(*customer, alice, "Caught Up Ltd");
  ASSERT_FALSE(id.empty());
  AssignOwner(*customer, root, id, "bob", "south");

  // The event log is admin only: the catch-up shows an admin token from a file.
  // Without it, or with a service token, the start fails.
  const std::string admin_token_file = dir.path() + "/catch-up.token";
  const std::string service_token_file = dir.path() + "/service.token";
  std::ofstream(admin_token_file) << root << "\n";
  std::ofstream(service_token_file) << DevToken("crm-ticket", {"service"}, "") << "\n";
  const std::string catch_up = "--catch_up_from=" + std::string(messaging::kCustomerTopic) + "=" +
                               customer->grpc_address();
  for (const std::vector<std::string>& refused :
       {std::vector<std::string>{},
        std::vector<std::string>{"--catch_up_token_file=" + service_token_file}}) {
    std::vector<std::string> argv = {TICKET_PATH, "--grpc_port=0", "--admin_port=0",
                                     "--data_dir=" + dir.path() + "/ticket-refused", secret,
                                     catch_up};
    argv.insert(argv.end(), refused.begin(), refused.end());
    crm::testing::Subprocess failing(argv);
    EXPECT_NE(failing.Wait(), 0) << (refused.empty() ? "no token file" : "a service token");
  }

  // crm-ticket catches up before it serves: bob sees the customer at once.
  ServiceProcess ticket(TICKET_PATH,
                        {"--data_dir=" + dir.path() + "/ticket", kafka, secret, session, catch_up,
                         "--catch_up_token_file=" + admin_token_file});
  auto tickets = tv1::TicketService::NewStub(ticket.Channel());
  auto seen_by = [&](const std::string& rep) {
    tv1::ListTicketsRequest req;
    req.set_customer_id(id);
    tv1::ListTicketsResponse resp;
    return CallAs(*tickets, DevToken(rep, {"sales_rep"}, "x"),
                  &tv1::TicketService::Stub::ListTickets, req, &resp)
        .ok();
  };
  EXPECT_TRUE(seen_by("bob"));
  EXPECT_FALSE(seen_by("alice"));

  // crm-customer now with Kafka: its relay publishes the two old events (dropped
  // by crm-ticket) and a new change (applied).
  EXPECT_EQ(customer->Stop(), 0);
  customer = std::make_unique<ServiceProcess>(
      CUSTOMER_PATH, std::vector<std::string>{customer_dir, kafka, secret, session});
  AssignOwner(*customer, root, id, "carol", "west");
  ASSERT_TRUE(Eventually([&] { return seen_by("carol") && !seen_by("bob"); }));
  const std::string labels =
      absl::StrCat("{group=\"crm-ticket\",topic=\"", std::string(messaging::kCustomerTopic), "\"}");
  ASSERT_TRUE(Eventually([&] {
    return ScrapeMetric(ticket.admin_address(), "crm_consumer_skipped_total" + labels) == 2 &&
           ScrapeMetric(ticket.admin_address(), "crm_consumer_processed_total" + labels) == 1;
  })) << ScrapeMetric(ticket.admin_address(), "crm_consumer_skipped_total" + labels)
      << " skipped, "
      << ScrapeMetric(ticket.admin_address(), "crm_consumer_processed_total" + labels)
      << " processed";
}

// Offsets going backwards in a real service: crm-ticket starts on a store whose
// consumer offsets of crm.customer.v1.events are beyond the topic's end (what a
// recreated topic leaves). Its partitions stall, visibly (metric, /readyz, not
// a record skipped), until `crmctl admin reset-consumer-offsets` resumes them.
TEST_F(RestoreConsumersE2eTest, StaleOffsetsStallAConsumerUntilCrmctlResetsThem) {
  const std::string topic(messaging::kCustomerTopic);

  ServiceProcess customer(CUSTOMER_PATH,
                          {"--data_dir=" + dir.path() + "/customer", kafka, secret, session});
  const std::string id = Register(customer, alice, "Recreated Topic Ltd");
  ASSERT_FALSE(id.empty());

  // crm-ticket's store remembers offsets far beyond the topic's end.
  const std::string ticket_dir = dir.path() + "/ticket";
  {
    auto store = eventstore::OpenEventStore({.path = ticket_dir});
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<eventstore::ProjectionWrite> stale;
    for (int p = 0; p < 3; ++p) {
      stale.push_back(
          eventstore::ProjectionWrite::Put(std::string(messaging::kConsumerOffsetsProjection),
                                           absl::StrCat("crm-ticket/", topic, "/", p), "1000"));
    }
    ASSERT_TRUE((*store)->WriteProjections(stale).ok());
  }
  ServiceProcess ticket(TICKET_PATH, {"--data_dir=" + ticket_dir, kafka, secret, session});
  auto stalled = [&](int p) {
    return ScrapeMetric(ticket.admin_address(), StalledSeries("crm-ticket", topic, p));
  };
  httplib::Client http("http://" + ticket.admin_address());
  ASSERT_TRUE(Eventually([&] { return stalled(0) == 1 && stalled(1) == 1 && stalled(2) == 1; }))
      << stalled(0) << " " << stalled(1) << " " << stalled(2);
  auto readyz = http.Get("/readyz");
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 503);
  EXPECT_NE(readyz->body.find(absl::StrCat("consumer/", topic, "/0")), std::string::npos)
      << readyz->body;
  EXPECT_NE(readyz->body.find("reset-consumer-offsets"), std::string::npos) << readyz->body;
  // Nothing of the topic was applied (nor skipped): alice's customer is unknown.
  auto tickets = tv1::TicketService::NewStub(ticket.Channel());
  auto alice_sees = [&] {
    tv1::ListTicketsRequest req;
    req.set_customer_id(id);
    tv1::ListTicketsResponse resp;
    return CallAs(*tickets, alice, &tv1::TicketService::Stub::ListTickets, req, &resp).ok();
  };
  EXPECT_FALSE(alice_sees());

  // The fix, as the runbook says. Only admins may.
  {
    crm::testing::Subprocess refused({CRMCTL_PATH, "admin", "reset-consumer-offsets",
                                      "--addr=" + ticket.grpc_address(), "--token=" + alice,
                                      "--topic=" + topic});
    EXPECT_NE(refused.Wait(), 0);
  }
  crm::testing::Subprocess crmctl({CRMCTL_PATH, "admin", "reset-consumer-offsets",
                                   "--addr=" + ticket.grpc_address(), "--token=" + root,
                                   "--topic=" + topic, "--output=json"});
  auto line = crmctl.ReadLine(absl::Seconds(60));
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(line->find("\"offsets_deleted\":\"3\""), std::string::npos) << *line;
  EXPECT_NE(line->find("\"partitions_resumed\":[0,1,2]"), std::string::npos) << *line;
  EXPECT_EQ(crmctl.Wait(), 0);

  ASSERT_TRUE(Eventually([&] { return alice_sees(); }));
  EXPECT_EQ(stalled(0), 0);
  EXPECT_TRUE(Eventually([&] {
    auto r = http.Get("/readyz");
    return r && r->status == 200;
  }));
}

}  // namespace
}  // namespace crm
