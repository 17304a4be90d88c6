// Poison records over real processes: crm-devbroker + crm-customer +
// crm-interaction + crm-ticket + crm-classification. Before anything else, every
// partition of every consumed topic gets a garbage record (no CloudEvent at all)
// and a record of an event type no service knows (a valid CloudEvent whose
// payload sets no kind the binaries know: what a newer producer's new event
// kind looks like to an older consumer). Then normal changes: each consumer
// applies the records after them (the customer and its changes are visible in
// every consuming service), each poison record is a dead letter of every group
// that consumes its topic (its DLQ topic, its store, `crmctl admin dead-letters
// list`), and every service stays ready.
//
// Unknown event types are dead-lettered, not skipped: an older consumer cannot
// tell a kind it may ignore from one it must act on, and a skipped event is lost
// for good, while a dead letter replays once the consumer is upgraded
// (docs/operations.md, "Runbook: dead letters").
#include <sys/wait.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/testing/eventually.h"
#include "common/testing/subprocess.h"
#include "common/testing/temp_dir.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/classification/v1/classification_service.grpc.pb.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"
#include "crm/interaction/v1/sales_service.grpc.pb.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/dead_letters.h"
#include "crm/runtime/log.h"
#include "crm/ticket/v1/ticket_events.pb.h"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "messaging/testing/kafka_testing.h"
#include "nlohmann/json.hpp"
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

constexpr int kPartitions = 3;
// Per consumed topic: a garbage record and an unknown-type record per partition.
constexpr int kPoisonPerTopic = 2 * kPartitions;

// A payload of `topic`'s event message with a customer id and a field this
// build does not know (number 999), and no kind it knows.
std::string UnknownKindPayload(const std::string& topic, const std::string& customer_id) {
  auto future = [&](google::protobuf::Message& m) {
    m.GetReflection()->MutableUnknownFields(&m)->AddLengthDelimited(999, "from a newer producer");
    return m.SerializeAsString();
  };
  if (topic == messaging::kCustomerTopic) {
    cv1::CustomerEvent e;
    e.set_customer_id(customer_id);
    return future(e);
  }
  if (topic == messaging::kInteractionTopic) {
    iv1::InteractionEvent e;
    e.set_customer_id(customer_id);
    return future(e);
  }
  if (topic == messaging::kClassificationTopic) {
    kv1::ClassificationEvent e;
    e.set_customer_id(customer_id);
    return future(e);
  }
  tv1::TicketEvent e;
  e.set_customer_id(customer_id);
  return future(e);
}

// The unknown type's name on `topic`: "crm.customer.v1.FutureThing".
std::string FutureType(const std::string& topic) {
  return absl::StrCat(topic.substr(0, topic.size() - std::string(".events").size()),
                      ".FutureThing");
}

// A garbage record and an unknown-type record on every partition of `topic`.
void ProducePoison(const std::string& brokers, const std::string& topic) {
  for (int p = 0; p < kPartitions; ++p) {
    const std::string key = absl::StrCat("future-", p);
    eventstore::EventEnvelope e;
    e.set_event_id(absl::StrCat("future-event-", topic, "-", p));
    e.set_event_type(FutureType(topic));
    e.set_stream_id(key);
    e.set_stream_version(1);
    e.set_global_position(1000 + p);
    e.set_schema_version(1);
    e.set_partition_key(key);
    e.set_incarnation("future-incarnation");
    e.set_payload(UnknownKindPayload(topic, key));
    *e.mutable_occurred_at() = ToProtoTimestamp(absl::Now());
    messaging::KafkaRecord garbage{.key = absl::StrCat("garbage-", p),
                                   .value = std::string("\x00\xff garbage \xfe", 12),
                                   .headers = {}};
    ASSERT_TRUE(messaging::testing::ProduceRecords(
        brokers, topic, {garbage, messaging::ToKafkaRecord(e, "crm-future")}, p))
        << topic << " partition " << p;
  }
}

struct Consumer {
  std::string group;  // "crm-ticket"
  ServiceProcess* process;
  std::vector<std::string> topics;  // what it consumes
};

// `crmctl admin dead-letters <args...>` against `addr`; its stdout, and its exit
// code in `code`.
std::string Crmctl(const std::string& addr, const std::string& token, std::vector<std::string> args,
                   int* code) {
  std::vector<std::string> argv = {CRMCTL_PATH, "admin", "dead-letters"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--addr=" + addr);
  argv.push_back("--token=" + token);
  crm::testing::Subprocess crmctl(argv);
  std::string out;
  while (auto line = crmctl.ReadLine(absl::Seconds(60))) absl::StrAppend(&out, *line, "\n");
  const int status = crmctl.Wait();
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST(DeadLettersE2eTest, PoisonOnEveryConsumedTopicIsDeadLetteredAndTheRestApplied) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  messaging::testing::DevBroker broker(DEVBROKER_PATH, dir.path(), kPartitions);
  const std::vector<std::string> topics = {
      std::string(messaging::kCustomerTopic), std::string(messaging::kInteractionTopic),
      std::string(messaging::kClassificationTopic), std::string(messaging::kTicketTopic)};
  for (const std::string& topic : topics) ProducePoison(broker.bootstrap(), topic);

  const std::string secret = std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE;
  const std::string kafka = "--kafka_brokers=" + broker.bootstrap();
  const std::string session = "--kafka_session_timeout_ms=6000";
  // No --customer_addr: crm-interaction and crm-ticket know a customer only once
  // they consumed it.
  ServiceProcess customer(CUSTOMER_PATH,
                          {"--data_dir=" + dir.path() + "/customer", kafka, secret, session});
  ServiceProcess interaction(INTERACTION_PATH, {"--data_dir=" + dir.path() + "/interaction", kafka,
                                                secret, "--scan_interval_ms=100", session});
  ServiceProcess ticket(TICKET_PATH, {"--data_dir=" + dir.path() + "/ticket", kafka, secret,
                                      "--scan_interval_ms=100", session});
  ServiceProcess classification(CLASSIFICATION_PATH,
                                {"--data_dir=" + dir.path() + "/classification", kafka, secret,
                                 "--scan_interval_ms=100", session});
  const std::vector<Consumer> consumers = {
      {"crm-customer", &customer, {topics[1], topics[2], topics[3]}},
      {"crm-interaction", &interaction, {topics[0], topics[2]}},
      {"crm-ticket", &ticket, {topics[0], topics[2]}},
      {"crm-classification", &classification, {topics[0], topics[1], topics[3]}}};
  auto customers = cv1::CustomerService::NewStub(customer.Channel());
  auto interactions = iv1::InteractionService::NewStub(interaction.Channel());
  auto sales = iv1::SalesService::NewStub(interaction.Channel());
  auto tickets = tv1::TicketService::NewStub(ticket.Channel());
  auto classes = kv1::ClassificationService::NewStub(classification.Channel());
  const std::string alice = DevToken("alice", {"sales_rep"}, "north");
  const std::string root = DevToken("root", {"admin"}, "");

  // A normal change behind the poison: a new customer.
  cv1::RegisterCustomerRequest reg;
  reg.mutable_basic()->set_name("After The Poison Ltd");
  reg.mutable_basic()->set_industry("energy");
  cv1::RegisterCustomerResponse registered;
  grpc::Status s =
      CallAs(*customers, alice, &cv1::CustomerService::Stub::RegisterCustomer, reg, &registered);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string id = registered.customer_id();

  // crm.customer.v1.events -> crm-interaction: its first revisit is planned.
  iv1::ListDueRevisitsRequest due;
  due.set_within_days(400);
  iv1::ListDueRevisitsResponse revisits;
  ASSERT_TRUE(Eventually([&] {
    revisits.Clear();
    return CallAs(*interactions, alice, &iv1::InteractionService::Stub::ListDueRevisits, due,
                  &revisits)
               .ok() &&
           revisits.revisits_size() == 1;
  })) << revisits.DebugString();
  // -> crm-ticket: a ticket can be opened for it (no crm-customer to ask).
  tv1::OpenTicketRequest open;
  open.set_customer_id(id);
  open.set_type(tv1::TICKET_TYPE_COMPLAINT);
  open.set_channel(tv1::TICKET_CHANNEL_PHONE);
  open.set_priority(tv1::PRIORITY_HIGH);
  open.set_subject("after the poison");
  tv1::OpenTicketResponse opened;
  ASSERT_TRUE(Eventually([&] {
    opened.Clear();
    return CallAs(*tickets, alice, &tv1::TicketService::Stub::OpenTicket, open, &opened).ok();
  }));
  // crm.interaction.v1.events -> crm-customer: a won opportunity converts it.
  iv1::CreateOpportunityRequest create;
  create.set_customer_id(id);
  create.mutable_details()->set_title("After the poison");
  create.mutable_details()->set_source(iv1::OPPORTUNITY_SOURCE_EXHIBITION);
  create.mutable_details()->mutable_expected_amount()->set_currency_code("CNY");
  create.mutable_details()->mutable_expected_amount()->set_amount_minor(1'000'000);
  create.mutable_details()->set_expected_close_date(
      absl::FormatTime("%Y-%m-%d", absl::Now() + absl::Hours(24 * 30), absl::UTCTimeZone()));
  iv1::CreateOpportunityResponse created;
  s = CallAs(*sales, alice, &iv1::SalesService::Stub::CreateOpportunity, create, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  iv1::WinOpportunityRequest win;
  win.set_opportunity_id(created.opportunity_id());
  win.mutable_final_amount()->set_currency_code("CNY");
  win.mutable_final_amount()->set_amount_minor(900'000);
  iv1::WriteResponse won;
  s = CallAs(*sales, alice, &iv1::SalesService::Stub::WinOpportunity, win, &won);
  ASSERT_TRUE(s.ok()) << s.error_message();
  cv1::GetCustomerRequest get_customer;
  get_customer.set_customer_id(id);
  cv1::GetCustomerResponse got_customer;
  ASSERT_TRUE(Eventually([&] {
    got_customer.Clear();
    return CallAs(*customers, alice, &cv1::CustomerService::Stub::GetCustomer, get_customer,
                  &got_customer)
               .ok() &&
           got_customer.customer().lifecycle() == cv1::LIFECYCLE_COOPERATING;
  })) << got_customer.DebugString();
  // crm.customer/interaction/ticket.v1.events -> crm-classification: the win and
  // the open complaint are in its metrics (amounts in major units: 9,000.00 CNY).
  kv1::GetClassificationRequest get;
  get.set_customer_id(id);
  kv1::GetClassificationResponse got;
  auto metric = [&](kv1::Metric m) {
    for (const kv1::MetricValue& v : got.metrics()) {
      if (v.metric() == m) return v.value();
    }
    return -1.0;
  };
  std::string abcd;
  ASSERT_TRUE(Eventually([&] {
    got.Clear();
    if (!CallAs(*classes, alice, &kv1::ClassificationService::Stub::GetClassification, get, &got)
             .ok()) {
      return false;
    }
    for (const auto& r : got.classification().schemes()) {
      if (r.scheme() == kv1::SCHEME_ABCD) abcd = r.class_name();
    }
    return metric(kv1::METRIC_WON_AMOUNT_12M) == 9000 &&
           metric(kv1::METRIC_OPEN_COMPLAINTS) == 1 && !abcd.empty();
  })) << got.DebugString();
  // crm.classification.v1.events -> crm-customer: the class is its filter.
  cv1::ListCustomersRequest by_class;
  by_class.set_customer_class(abcd);
  cv1::ListCustomersResponse listed;
  ASSERT_TRUE(Eventually([&] {
    listed.Clear();
    return CallAs(*customers, alice, &cv1::CustomerService::Stub::ListCustomers, by_class, &listed)
               .ok() &&
           listed.customers_size() == 1 && listed.customers(0).customer_id() == id;
  })) << "class "
      << abcd << ": " << listed.DebugString();

  for (const Consumer& c : consumers) {
    SCOPED_TRACE(c.group);
    const std::string admin = c.process->admin_address();
    const std::string dlq = messaging::DeadLetterTopicFor(c.group);
    for (const std::string& topic : c.topics) {
      const std::string labels = absl::StrCat("{group=\"", c.group, "\",topic=\"", topic, "\"}");
      // Every poison record of the topic dead-lettered; the records after it applied
      // (classification topic: the class changes above).
      EXPECT_TRUE(Eventually([&] {
        return ScrapeMetric(admin, "crm_consumer_dead_letters_total" + labels) == kPoisonPerTopic;
      })) << topic
          << ": " << ScrapeMetric(admin, "crm_consumer_dead_letters_total" + labels);
      EXPECT_TRUE(Eventually([&] {
        return ScrapeMetric(admin, "crm_consumer_processed_total" + labels) >= 1;
      })) << topic;
    }
    EXPECT_EQ(ScrapeMetric(admin, absl::StrCat("crm_consumer_retrying{group=\"", c.group, "\"}")),
              0);
    // Still ready: poison does not stall a consumer.
    httplib::Client http("http://" + admin);
    auto ready = http.Get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200) << ready->body;

    // On the group's dead-letter topic: the original bytes plus where and why.
    const size_t expected = kPoisonPerTopic * c.topics.size();
    auto records = messaging::testing::ReadTopic(broker.bootstrap(), dlq, kPartitions, expected,
                                                 absl::Seconds(30));
    EXPECT_EQ(records.size(), expected) << dlq;
    for (const messaging::KafkaRecord& r : records) {
      const std::string* reason = messaging::FindHeader(r, messaging::kDlqReasonHeader);
      const std::string* from = messaging::FindHeader(r, messaging::kDlqTopicHeader);
      ASSERT_NE(reason, nullptr);
      ASSERT_NE(from, nullptr);
      EXPECT_NE(std::find(c.topics.begin(), c.topics.end(), *from), c.topics.end()) << *from;
      if (absl::StartsWith(r.key, "garbage-")) {
        EXPECT_EQ(r.value, std::string("\x00\xff garbage \xfe", 12));
        EXPECT_TRUE(absl::StartsWith(*reason, "undecodable record: ")) << *reason;
      } else {
        EXPECT_TRUE(absl::StartsWith(r.key, "future-")) << r.key;
        EXPECT_EQ(*messaging::FindHeader(r, "ce_type"), FutureType(*from));
        EXPECT_TRUE(absl::StartsWith(*reason, "UNIMPLEMENTED: event type " + FutureType(*from)))
            << *reason;
      }
    }

    // `crmctl admin dead-letters list` shows them, with their reasons.
    int code = -1;
    const std::string json = Crmctl(c.process->grpc_address(), root,
                                    {"list", "--page_size=100", "--output=json"}, &code);
    ASSERT_EQ(code, 0) << json;
    const nlohmann::json listed_json = nlohmann::json::parse(json);
    ASSERT_EQ(listed_json["dead_letters"].size(), expected) << json;
    std::map<std::string, int> by_reason;
    for (const auto& d : listed_json["dead_letters"]) {
      const std::string reason = d["reason"];
      by_reason[reason.substr(0, reason.find(':'))] += 1;
      if (absl::StartsWith(reason, "UNIMPLEMENTED")) {
        EXPECT_EQ(d["event_type"], FutureType(d["topic"]));
      }
    }
    EXPECT_EQ(by_reason,
              (std::map<std::string, int>{{"UNIMPLEMENTED", static_cast<int>(expected / 2)},
                                          {"undecodable record", static_cast<int>(expected / 2)}}))
        << json;
    // The text form: one line per dead letter, id first.
    const std::string text =
        Crmctl(c.process->grpc_address(), root, {"list", "--topic=" + c.topics[0]}, &code);
    EXPECT_EQ(code, 0) << text;
    EXPECT_TRUE(absl::StartsWith(text, c.topics[0] + "/0/")) << text;
    EXPECT_TRUE(absl::StrContains(text, "-- UNIMPLEMENTED: event type " + FutureType(c.topics[0])))
        << text;

    // A replay changes nothing yet (this build still does not know the kind), and
    // says so; only admins may list.
    const std::string replay =
        Crmctl(c.process->grpc_address(), root, {"replay", "--all", "--output=json"}, &code);
    ASSERT_EQ(code, 0) << replay;
    const nlohmann::json replayed = nlohmann::json::parse(replay);
    EXPECT_EQ(replayed.value("replayed", "0"), "0") << replay;
    EXPECT_EQ(replayed.value("failed", "0"), std::to_string(expected)) << replay;
    Crmctl(c.process->grpc_address(), alice, {"list"}, &code);
    EXPECT_EQ(code, 1);
  }
}

}  // namespace
}  // namespace crm
