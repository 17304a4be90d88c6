// Churn cases and marketing campaigns end to end over real processes (issue 16):
// crm-devbroker + crm-customer + crm-interaction (+ crm-classification for the
// churn warning), real gRPC on OS-picked loopback ports.
//
// Churn: a COOPERATING customer of a sales rep with one transaction and no
// interactions; crm-classification's clock moved 400 days on raises
// ChurnRiskRaised; crm-interaction opens one churn case for the owner (a second
// delivery of the same record opens none); the rep records a measure, postpones
// the loss, confirms it (COMPETITOR); crm-customer makes the customer CHURNED with
// that reason, caused by the case; the rep wins the customer back and the case's
// history shows it.
//
// Campaign: an executive plans a seminar for a region plus one explicit customer,
// starts it (targets frozen), records two costs; the rep records invitations, a
// response and attendance, creates an opportunity sourced from the campaign and
// wins it; the campaign report shows the return and the ROI (hand-computed), as
// of before the win too, and scoped for the reps.
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/classification/v1/classification_service.grpc.pb.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/interaction/v1/campaign_service.grpc.pb.h"
#include "crm/interaction/v1/churn_service.grpc.pb.h"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"
#include "crm/interaction/v1/sales_service.grpc.pb.h"
#include "crm/messaging/cloudevents.h"
#include "crm/runtime/log.h"
#include "gtest/gtest.h"
#include "librdkafka/rdkafka.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/metrics_scrape.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace cv1 = ::crm::customer::v1;
namespace iv1 = ::crm::interaction::v1;
namespace kv1 = ::crm::classification::v1;
using crm::testing::DevToken;
using crm::testing::Eventually;
using crm::testing::ServiceProcess;

template <typename Stub, typename Method, typename Req, typename Resp>
grpc::Status Call(Stub& stub, const std::string& token, Method method, const Req& req, Resp* resp) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", auth::BearerHeader(token));
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return (stub.*method)(&ctx, req, resp);
}

std::string Day(absl::CivilDay d) { return absl::FormatCivilTime(d); }
absl::CivilDay Today() { return absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()); }
absl::CivilDay LastOfMonth(absl::CivilDay d) { return absl::CivilDay(absl::CivilMonth(d) + 1) - 1; }

// Produces `record` to `topic` once more, exactly as it is (key, value, headers):
// what an outbox relay does when it sends again after a rewind or a crash.
void ProduceAgain(const std::string& brokers, const std::string& topic,
                  const messaging::KafkaRecord& record) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err)),
            RD_KAFKA_CONF_OK)
      << err;
  rd_kafka_conf_set(conf, "log_level", "2", err, sizeof(err));
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  ASSERT_NE(producer, nullptr) << err;
  rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
  for (const auto& [name, value] : record.headers) {
    rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  }
  rd_kafka_resp_err_t e = rd_kafka_producev(
      producer, RD_KAFKA_V_TOPIC(topic.c_str()),
      RD_KAFKA_V_KEY(record.key.data(), record.key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_headers_destroy(headers);
  EXPECT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(e);
  EXPECT_EQ(rd_kafka_flush(producer, 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);
}

std::string Header(const messaging::KafkaRecord& r, std::string_view name) {
  const std::string* h = messaging::FindHeader(r, name);
  return h == nullptr ? std::string("<missing>") : *h;
}

// Waits until crm-interaction's directory knows `n` customers (each gets its
// planned revisit), as an admin sees through the public API.
bool DirectoryHas(iv1::InteractionService::Stub& interactions, int n) {
  const std::string admin = DevToken("ops", {"admin"}, "");
  iv1::ListDueRevisitsRequest due;
  due.set_within_days(400);
  due.set_page_size(500);
  grpc::Status s;
  iv1::ListDueRevisitsResponse r;
  const bool known = Eventually([&] {
    r.Clear();
    s = Call(interactions, admin, &iv1::InteractionService::Stub::ListDueRevisits, due, &r);
    return s.ok() && r.revisits_size() == n;
  });
  EXPECT_TRUE(known) << "ListDueRevisits: " << s.error_code() << " " << s.error_message() << " "
                     << r.DebugString();
  return known;
}

TEST(ChurnCampaignE2eTest, ChurnWarningOpensACaseTheLossChurnsTheCustomerAndAWinBackShows) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  messaging::testing::DevBroker broker(DEVBROKER_PATH, dir.path());
  const std::string secret = std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE;
  const std::string kafka = "--kafka_brokers=" + broker.bootstrap();
  const std::string session = "--kafka_session_timeout_ms=6000";
  ServiceProcess customer(CUSTOMER_PATH,
                          {"--data_dir=" + dir.path() + "/customer", kafka, secret, session});
  const std::string customer_addr = "--customer_addr=" + customer.grpc_address();
  ServiceProcess interaction(INTERACTION_PATH, {"--data_dir=" + dir.path() + "/interaction", kafka,
                                                secret, customer_addr, "--scan_interval_ms=100",
                                                session});
  const std::string offset_file = dir.path() + "/classification_clock";
  std::ofstream(offset_file) << 0;
  ServiceProcess classification(
      CLASSIFICATION_PATH,
      {"--data_dir=" + dir.path() + "/classification", kafka, secret, "--scan_interval_ms=100",
       "--sweep_interval_ms=200", "--test_clock_offset_file=" + offset_file, session});
  ASSERT_FALSE(customer.grpc_address().empty());
  ASSERT_FALSE(interaction.grpc_address().empty());
  ASSERT_FALSE(classification.grpc_address().empty());
  auto customers = cv1::CustomerService::NewStub(customer.Channel());
  auto interactions = iv1::InteractionService::NewStub(interaction.Channel());
  auto churn = iv1::ChurnService::NewStub(interaction.Channel());
  auto classes = kv1::ClassificationService::NewStub(classification.Channel());
  const std::string alice = DevToken("alice", {"sales_rep"}, "north");
  const std::string bob = DevToken("bob", {"sales_rep"}, "south");
  using Churn = iv1::ChurnService::Stub;
  using Customers = cv1::CustomerService::Stub;
  grpc::Status s;

  // A COOPERATING customer of alice's with one transaction today.
  cv1::RegisterCustomerRequest reg;
  reg.mutable_basic()->set_name("Northwind Bearings Ltd");
  reg.mutable_basic()->set_industry("manufacturing");
  reg.set_lifecycle(cv1::LIFECYCLE_COOPERATING);
  cv1::RegisterCustomerResponse registered;
  s = Call(*customers, alice, &Customers::RegisterCustomer, reg, &registered);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string id = registered.customer_id();
  ASSERT_FALSE(id.empty());
  cv1::RecordTransactionRequest tx;
  tx.set_customer_id(id);
  tx.mutable_transaction()->set_party(cv1::TRANSACTION_PARTY_OWN_COMPANY);
  tx.mutable_transaction()->mutable_amount()->set_currency_code("CNY");
  tx.mutable_transaction()->mutable_amount()->set_amount_minor(80'000'000);  // 800,000.00
  tx.mutable_transaction()->set_date(Day(Today()));
  tx.mutable_transaction()->set_paid_date(Day(Today()));
  cv1::RecordTransactionResponse recorded_tx;
  s = Call(*customers, alice, &Customers::RecordTransaction, tx, &recorded_tx);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // crm-classification has the transaction (not at risk: recent business, just
  // registered); crm-interaction knows the customer.
  kv1::GetClassificationRequest get_class;
  get_class.set_customer_id(id);
  kv1::GetClassificationResponse classified;
  ASSERT_TRUE(Eventually([&] {
    classified.Clear();
    if (!Call(*classes, alice, &kv1::ClassificationService::Stub::GetClassification, get_class,
              &classified)
             .ok()) {
      return false;
    }
    for (const kv1::MetricValue& m : classified.metrics()) {
      if (m.metric() == kv1::METRIC_REVENUE_12M) return m.value() == 800'000.0;
    }
    return false;
  })) << classified.DebugString();
  EXPECT_FALSE(classified.classification().churn().at_risk());
  ASSERT_TRUE(DirectoryHas(*interactions, 1));
  iv1::ListChurnCasesResponse cases;
  s = Call(*churn, alice, &Churn::ListChurnCases, iv1::ListChurnCasesRequest(), &cases);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(cases.cases_size(), 0);

  // 400 days pass for crm-classification: no interaction for 90 days (2) and
  // falling transactions (2) reach the threshold (3): ChurnRiskRaised, once.
  std::ofstream(offset_file) << 400 * 24 * 3600;
  std::vector<messaging::KafkaRecord> raised;
  auto read_raised = [&] {
    raised.clear();
    for (auto& r : messaging::testing::ReadTopic(broker.bootstrap(),
                                                 std::string(messaging::kClassificationTopic), 3,
                                                 SIZE_MAX, absl::Seconds(1))) {
      if (r.key == id && Header(r, "ce_type") == "crm.classification.v1.ChurnRiskRaised") {
        raised.push_back(std::move(r));
      }
    }
    return raised.size();
  };
  ASSERT_TRUE(Eventually([&] { return read_raised() == 1; }));
  const std::string warning_id = Header(raised[0], "ce_id");
  kv1::ClassificationEvent raised_event;
  ASSERT_TRUE(raised_event.ParseFromString(raised[0].value));
  ASSERT_TRUE(raised_event.has_churn_risk_raised());
  EXPECT_EQ(raised_event.churn_risk_raised().score(), 4);

  // crm-interaction opens one case for the owner, alice.
  iv1::ListChurnCasesRequest open_only;
  open_only.set_status(iv1::CHURN_CASE_STATUS_OPEN);
  ASSERT_TRUE(Eventually([&] {
    cases.Clear();
    return Call(*churn, alice, &Churn::ListChurnCases, open_only, &cases).ok() &&
           cases.cases_size() >= 1;
  })) << cases.DebugString();
  ASSERT_EQ(cases.cases_size(), 1) << cases.DebugString();
  const std::string case_id = cases.cases(0).case_id();
  ASSERT_FALSE(case_id.empty());
  {
    const iv1::ChurnCase& c = cases.cases(0);
    EXPECT_EQ(c.customer_id(), id);
    EXPECT_EQ(c.owner(), "alice");
    EXPECT_EQ(c.region(), "north");
    EXPECT_EQ(c.status(), iv1::CHURN_CASE_STATUS_OPEN);
    EXPECT_EQ(c.warning_count(), 1);
    ASSERT_GE(c.warnings_size(), 1);
    EXPECT_EQ(c.warnings(0).event_id(), warning_id);
    EXPECT_EQ(c.warnings(0).score(), 4);
    EXPECT_EQ(c.version(), 1u);
  }
  // Scoped: bob (another region's rep) sees no case; the case is alice's.
  iv1::ListChurnCasesResponse bobs;
  s = Call(*churn, bob, &Churn::ListChurnCases, iv1::ListChurnCasesRequest(), &bobs);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(bobs.cases_size(), 0);
  iv1::ListChurnCasesRequest by_owner;
  by_owner.set_owner("alice");
  iv1::ListChurnCasesResponse owned;
  s = Call(*churn, alice, &Churn::ListChurnCases, by_owner, &owned);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(owned.cases_size(), 1);
  EXPECT_EQ(owned.cases(0).case_id(), case_id);

  iv1::GetChurnCaseRequest get_case;
  get_case.set_case_id(case_id);
  iv1::GetChurnCaseResponse got;
  s = Call(*churn, alice, &Churn::GetChurnCase, get_case, &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  {
    const iv1::ChurnCase& c = got.churn_case();
    ASSERT_EQ(c.warnings_size(), 1);
    const iv1::ChurnWarning& w = c.warnings(0);
    EXPECT_EQ(w.event_id(), warning_id);
    EXPECT_EQ(w.score(), 4);
    const std::set<std::string> criteria(w.criteria().begin(), w.criteria().end());
    EXPECT_EQ(criteria, (std::set<std::string>{"no interaction for 90 days", "falling transactions"}));
    EXPECT_EQ(w.reason(), raised_event.churn_risk_raised().reason());
    EXPECT_EQ(w.rule_set_version(), raised_event.churn_risk_raised().rule_set_version());
    ASSERT_TRUE(c.has_opened_at());
    EXPECT_FALSE(c.has_closed_at());
    EXPECT_EQ(c.review_date(), "");
    EXPECT_EQ(c.measures_size(), 0);
  }
  {
    iv1::GetChurnCaseResponse unused;
    s = Call(*churn, bob, &Churn::GetChurnCase, get_case, &unused);
    // A case of a customer bob may not see is answered as if it did not exist.
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  }

  // The same ChurnRiskRaised record delivered a second time (as a relay resends
  // after a crash): skipped, no second case, no second warning.
  const std::string skipped_series =
      "crm_consumer_skipped_total{group=\"crm-interaction\",topic=\"crm.classification.v1.events\"}";
  const double skipped_before =
      std::max(0.0, crm::testing::ScrapeMetric(interaction.admin_address(), skipped_series));
  ProduceAgain(broker.bootstrap(), std::string(messaging::kClassificationTopic), raised[0]);
  ASSERT_TRUE(Eventually([&] { return read_raised() == 2; }));  // on the topic twice
  ASSERT_TRUE(Eventually([&] {
    return crm::testing::ScrapeMetric(interaction.admin_address(), skipped_series) >=
           skipped_before + 1;
  })) << "the second delivery was not consumed (or not counted as skipped)";
  absl::SleepFor(absl::Milliseconds(500));  // five worker passes: nothing may follow
  iv1::ListChurnCasesRequest all_cases;
  all_cases.set_customer_id(id);
  s = Call(*churn, alice, &Churn::ListChurnCases, all_cases, &cases);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(cases.cases_size(), 1) << cases.DebugString();
  EXPECT_EQ(cases.cases(0).case_id(), case_id);
  EXPECT_EQ(cases.cases(0).warning_count(), 1);
  EXPECT_EQ(cases.cases(0).version(), 1u);

  // A retention measure and the loss postponed, by alice.
  const std::string measure_day = Day(Today());
  iv1::RecordRetentionMeasureRequest measure;
  measure.set_case_id(case_id);
  measure.mutable_measure()->set_action("Visited purchasing; offered a 5% loyalty discount");
  measure.mutable_measure()->set_taken_on(measure_day);
  iv1::RecordRetentionMeasureResponse measured;
  s = Call(*churn, alice, &Churn::RecordRetentionMeasure, measure, &measured);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(measured.measure_id(), "1");
  EXPECT_EQ(measured.write().version(), 2u);
  ASSERT_EQ(measured.write().event_ids_size(), 1);
  // bob may not act on alice's case.
  {
    iv1::RecordRetentionMeasureResponse unused;
    s = Call(*churn, bob, &Churn::RecordRetentionMeasure, measure, &unused);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  }

  const std::string review_date = Day(Today() + 14);
  iv1::PostponeChurnRequest postpone;
  postpone.set_case_id(case_id);
  postpone.set_review_date(review_date);
  postpone.set_note("Decision after their board meeting");
  iv1::WriteResponse w;
  s = Call(*churn, alice, &Churn::PostponeChurn, postpone, &w);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(w.version(), 3u);
  ASSERT_EQ(w.event_ids_size(), 1);

  s = Call(*churn, alice, &Churn::GetChurnCase, get_case, &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  {
    const iv1::ChurnCase& c = got.churn_case();
    EXPECT_EQ(c.status(), iv1::CHURN_CASE_STATUS_OPEN);
    ASSERT_EQ(c.measures_size(), 1);
    EXPECT_EQ(c.measures(0).measure_id(), "1");
    EXPECT_EQ(c.measures(0).action(), "Visited purchasing; offered a 5% loyalty discount");
    EXPECT_EQ(c.measures(0).taken_on(), measure_day);
    EXPECT_EQ(c.measures(0).taken_by(), "alice");
    EXPECT_EQ(c.measures(0).recorded_by(), "alice");
    EXPECT_TRUE(c.measures(0).has_recorded_at());
    EXPECT_EQ(c.review_date(), review_date);
    EXPECT_EQ(c.review_note(), "Decision after their board meeting");
    EXPECT_FALSE(c.review_overdue_reported());
    EXPECT_EQ(c.version(), 3u);
  }

  // The loss confirmed: a competitor.
  const absl::Time before_loss = absl::Now();
  iv1::ConfirmChurnRequest confirm;
  confirm.set_case_id(case_id);
  confirm.set_reason(iv1::CHURN_LOSS_REASON_COMPETITOR);
  confirm.set_reason_text("moved to Acme Bearings");
  confirm.set_note("Lost on price and delivery time");
  s = Call(*churn, alice, &Churn::ConfirmChurn, confirm, &w);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(w.version(), 4u);
  ASSERT_EQ(w.event_ids_size(), 1);
  const std::string loss_event_id = w.event_ids(0);
  s = Call(*churn, alice, &Churn::GetChurnCase, get_case, &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  {
    const iv1::ChurnCase& c = got.churn_case();
    EXPECT_EQ(c.status(), iv1::CHURN_CASE_STATUS_LOST);
    EXPECT_EQ(c.loss_reason(), iv1::CHURN_LOSS_REASON_COMPETITOR);
    EXPECT_EQ(c.loss_reason_text(), "moved to Acme Bearings");
    EXPECT_EQ(c.closing_note(), "Lost on price and delivery time");
    EXPECT_EQ(c.closed_by(), "alice");
    ASSERT_TRUE(c.has_closed_at());
    EXPECT_GE(FromProtoTimestamp(c.closed_at()), before_loss);
    EXPECT_FALSE(c.has_win_back());
  }
  // A closed case takes no more measures.
  {
    iv1::RecordRetentionMeasureResponse unused;
    s = Call(*churn, alice, &Churn::RecordRetentionMeasure, measure, &unused);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  }

  // crm-customer: CHURNED with the reason, caused by the case.
  cv1::GetCustomerRequest get_customer;
  get_customer.set_customer_id(id);
  cv1::GetCustomerResponse got_customer;
  ASSERT_TRUE(Eventually([&] {
    got_customer.Clear();
    return Call(*customers, alice, &Customers::GetCustomer, get_customer, &got_customer).ok() &&
           got_customer.customer().lifecycle() == cv1::LIFECYCLE_CHURNED;
  })) << got_customer.DebugString();
  cv1::GetCustomerHistoryRequest history_req;
  history_req.set_customer_id(id);
  cv1::GetCustomerHistoryResponse history;
  s = Call(*customers, alice, &Customers::GetCustomerHistory, history_req, &history);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const cv1::HistoryEntry* churned = nullptr;
  int lifecycle_changes = 0;
  for (const cv1::HistoryEntry& e : history.entries()) {
    if (e.event_type() == "crm.customer.v1.LifecycleChanged") {
      churned = &e;
      ++lifecycle_changes;
    }
  }
  ASSERT_NE(churned, nullptr) << history.DebugString();
  EXPECT_EQ(lifecycle_changes, 1);  // churned once
  const std::string churned_event_id = churned->event_id();
  {
    const cv1::LifecycleChanged& lc = churned->event().lifecycle_changed();
    EXPECT_EQ(lc.from(), cv1::LIFECYCLE_COOPERATING);
    EXPECT_EQ(lc.to(), cv1::LIFECYCLE_CHURNED);
    EXPECT_EQ(lc.churn_reason(), "COMPETITOR: moved to Acme Bearings");
    EXPECT_EQ(lc.churn_case_id(), case_id);
    EXPECT_EQ(lc.reason(), absl::StrCat("churn case ", case_id, ": loss confirmed"));
    EXPECT_FALSE(lc.win_back());
    EXPECT_EQ(churned->actor(), "alice");
  }
  // On Kafka the LifecycleChanged names the ChurnLossConfirmed as its cause.
  ASSERT_TRUE(Eventually([&] {
    for (const auto& r : messaging::testing::ReadTopic(
             broker.bootstrap(), std::string(messaging::kCustomerTopic), 3, SIZE_MAX,
             absl::Seconds(1))) {
      if (Header(r, "ce_id") == churned_event_id) {
        EXPECT_EQ(Header(r, "ce_crmcausation"), loss_event_id);
        EXPECT_EQ(r.key, id);
        return true;
      }
    }
    return false;
  }));

  // Won back: alice moves the customer to FOLLOWING; the case shows it.
  cv1::ChangeLifecycleRequest back;
  back.set_customer_id(id);
  back.set_lifecycle(cv1::LIFECYCLE_FOLLOWING);
  cv1::WriteResponse changed;
  s = Call(*customers, alice, &Customers::ChangeLifecycle, back, &changed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(changed.event_ids_size(), 1);
  const std::string win_back_event_id = changed.event_ids(0);
  ASSERT_TRUE(Eventually([&] {
    got.Clear();
    return Call(*churn, alice, &Churn::GetChurnCase, get_case, &got).ok() &&
           got.churn_case().has_win_back();
  })) << got.DebugString();
  {
    const iv1::ChurnCase& c = got.churn_case();
    EXPECT_EQ(c.status(), iv1::CHURN_CASE_STATUS_LOST);  // the case stays lost
    EXPECT_EQ(c.win_back().lifecycle(), cv1::LIFECYCLE_FOLLOWING);
    EXPECT_EQ(c.win_back().event_id(), win_back_event_id);
    EXPECT_EQ(c.win_back().actor(), "alice");
    ASSERT_TRUE(c.win_back().has_at());
    EXPECT_GE(FromProtoTimestamp(c.win_back().at()), FromProtoTimestamp(c.closed_at()));
    EXPECT_EQ(c.version(), 5u);
  }

  // The case's history, oldest first, with actors.
  iv1::GetChurnCaseHistoryRequest case_history_req;
  case_history_req.set_case_id(case_id);
  iv1::GetChurnCaseHistoryResponse case_history;
  s = Call(*churn, alice, &Churn::GetChurnCaseHistory, case_history_req, &case_history);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(case_history.entries_size(), 5) << case_history.DebugString();
  const std::vector<std::string> types = {
      "crm.interaction.v1.ChurnCaseOpened", "crm.interaction.v1.RetentionMeasureRecorded",
      "crm.interaction.v1.ChurnReviewScheduled", "crm.interaction.v1.ChurnLossConfirmed",
      "crm.interaction.v1.ChurnCaseWonBack"};
  for (int i = 0; i < 5; ++i) {
    const iv1::EventHistoryEntry& e = case_history.entries(i);
    SCOPED_TRACE(types[i]);
    EXPECT_EQ(e.event_type(), types[i]);
    EXPECT_EQ(e.version(), static_cast<uint64_t>(i + 1));
    EXPECT_FALSE(e.event_id().empty());
    EXPECT_FALSE(e.actor().empty());
    EXPECT_TRUE(e.has_occurred_at());
    EXPECT_EQ(e.event().churn_case_id(), case_id);
    EXPECT_EQ(e.event().customer_id(), id);
    if (i > 0) {
      EXPECT_GE(FromProtoTimestamp(e.occurred_at()),
                FromProtoTimestamp(case_history.entries(i - 1).occurred_at()));
    }
  }
  // The reactions to consumed events (opened by the warning, won back by the
  // LifecycleChanged) run as crm-interaction's service principal; the person who
  // won the customer back is in win_back.actor (above). The rest by alice.
  EXPECT_EQ(case_history.entries(0).actor(), "crm-interaction");
  EXPECT_EQ(case_history.entries(1).actor(), "alice");
  EXPECT_EQ(case_history.entries(2).actor(), "alice");
  EXPECT_EQ(case_history.entries(3).actor(), "alice");
  EXPECT_EQ(case_history.entries(4).actor(), "crm-interaction");
  EXPECT_EQ(case_history.entries(1).event_id(), measured.write().event_ids(0));
  EXPECT_EQ(case_history.entries(3).event_id(), loss_event_id);
  EXPECT_EQ(case_history.entries(0).event().churn_case_opened().owner(), "alice");
  EXPECT_EQ(case_history.entries(0).event().churn_case_opened().warning().event_id(), warning_id);
  EXPECT_EQ(case_history.entries(1).event().retention_measure_recorded().measure().action(),
            "Visited purchasing; offered a 5% loyalty discount");
  EXPECT_EQ(case_history.entries(2).event().churn_review_scheduled().review_date(), review_date);
  EXPECT_EQ(case_history.entries(3).event().churn_loss_confirmed().reason(),
            iv1::CHURN_LOSS_REASON_COMPETITOR);
  EXPECT_EQ(case_history.entries(3).event().churn_loss_confirmed().reason_text(),
            "moved to Acme Bearings");
  EXPECT_EQ(case_history.entries(4).event().churn_case_won_back().win_back().event_id(),
            win_back_event_id);

  // On Kafka (crm.interaction.v1.events, keyed by the customer): the case's five
  // events, each once; the opening names the warning as its cause, the win-back
  // the LifecycleChanged.
  {
    std::map<std::string, messaging::KafkaRecord> by_id;
    std::map<std::string, int> times;
    ASSERT_TRUE(Eventually([&] {
      by_id.clear();
      times.clear();
      for (auto& r : messaging::testing::ReadTopic(broker.bootstrap(),
                                                   std::string(messaging::kInteractionTopic), 3,
                                                   SIZE_MAX, absl::Seconds(1))) {
        if (Header(r, "ce_crmstream") != "churn-case-" + case_id) continue;
        ++times[Header(r, "ce_id")];
        by_id[Header(r, "ce_id")] = std::move(r);
      }
      return by_id.size() == 5;
    }));
    for (const iv1::EventHistoryEntry& e : case_history.entries()) {
      SCOPED_TRACE(e.event_type());
      ASSERT_TRUE(by_id.contains(e.event_id()));
      const messaging::KafkaRecord& r = by_id[e.event_id()];
      EXPECT_EQ(times[e.event_id()], 1);
      EXPECT_EQ(r.key, id);
      EXPECT_EQ(Header(r, "ce_type"), e.event_type());
      EXPECT_EQ(Header(r, "ce_source"), "crm-interaction");
      EXPECT_EQ(Header(r, "ce_crmactor"), e.actor());
    }
    EXPECT_EQ(Header(by_id[case_history.entries(0).event_id()], "ce_crmcausation"), warning_id);
    EXPECT_EQ(Header(by_id[case_history.entries(4).event_id()], "ce_crmcausation"),
              win_back_event_id);
  }

  // Still one case for the customer.
  s = Call(*churn, alice, &Churn::ListChurnCases, all_cases, &cases);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(cases.cases_size(), 1);

  EXPECT_EQ(classification.Stop(), 0);
  EXPECT_EQ(interaction.Stop(), 0);
  EXPECT_EQ(customer.Stop(), 0);
}

// Cost entries: 30,000.00 + 15,000.50 CNY; the sourced opportunity won at
// 100,000.00 CNY.
constexpr int64_t kCost1Minor = 3'000'000;
constexpr int64_t kCost2Minor = 1'500'050;
constexpr int64_t kCostMinor = kCost1Minor + kCost2Minor;  // 4,500,050
constexpr int64_t kWonMinor = 10'000'000;
// ROI = (won − cost) / cost × 100 = (10,000,000 − 4,500,050) / 4,500,050 × 100
//     = 5,499,950 / 4,500,050 × 100 = 122.21975... → 122.22 (half up, 2 decimals).
constexpr double kRoiPercent = 122.22;
// Before the win: (0 − 4,500,050) / 4,500,050 × 100 = −100.
constexpr double kRoiBeforeWinPercent = -100.0;

TEST(ChurnCampaignE2eTest, ACampaignSourcesAWonOpportunityAndTheReportShowsTheReturn) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  messaging::testing::DevBroker broker(DEVBROKER_PATH, dir.path());
  const std::string secret = std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE;
  const std::string kafka = "--kafka_brokers=" + broker.bootstrap();
  const std::string session = "--kafka_session_timeout_ms=6000";
  ServiceProcess customer(CUSTOMER_PATH,
                          {"--data_dir=" + dir.path() + "/customer", kafka, secret, session});
  const std::string customer_addr = "--customer_addr=" + customer.grpc_address();
  ServiceProcess interaction(INTERACTION_PATH, {"--data_dir=" + dir.path() + "/interaction", kafka,
                                                secret, customer_addr, "--scan_interval_ms=100",
                                                session});
  ASSERT_FALSE(customer.grpc_address().empty());
  ASSERT_FALSE(interaction.grpc_address().empty());
  auto customers = cv1::CustomerService::NewStub(customer.Channel());
  auto interactions = iv1::InteractionService::NewStub(interaction.Channel());
  auto campaigns = iv1::CampaignService::NewStub(interaction.Channel());
  auto sales = iv1::SalesService::NewStub(interaction.Channel());
  const std::string alice = DevToken("alice", {"sales_rep"}, "north");
  const std::string dave = DevToken("dave", {"sales_rep"}, "north");
  const std::string bob = DevToken("bob", {"sales_rep"}, "south");
  const std::string erin = DevToken("erin", {"executive"}, "");
  using Campaigns = iv1::CampaignService::Stub;
  using Sales = iv1::SalesService::Stub;
  grpc::Status s;

  auto register_customer = [&](const std::string& token, const std::string& name) {
    cv1::RegisterCustomerRequest reg;
    reg.mutable_basic()->set_name(name);
    reg.mutable_basic()->set_industry("logistics");
    reg.set_lifecycle(cv1::LIFECYCLE_COOPERATING);
    cv1::RegisterCustomerResponse r;
    grpc::Status st = Call(*customers, token, &cv1::CustomerService::Stub::RegisterCustomer, reg, &r);
    EXPECT_TRUE(st.ok()) << name << ": " << st.error_message();
    return r.customer_id();
  };
  // North: two of alice's, one of dave's; south: one of bob's.
  const std::string a1 = register_customer(alice, "Harbor Freight Partners");
  const std::string a2 = register_customer(alice, "Riverside Cold Storage");
  const std::string d1 = register_customer(dave, "Summit Cargo Lines");
  const std::string b1 = register_customer(bob, "Southern Port Services");
  ASSERT_FALSE(a1.empty() || a2.empty() || d1.empty() || b1.empty());
  ASSERT_TRUE(DirectoryHas(*interactions, 4));

  // Planned by the executive: every north customer, plus bob's by id.
  const absl::CivilDay today = Today();
  iv1::PlanCampaignRequest plan;
  iv1::CampaignDetails& details = *plan.mutable_details();
  details.set_name("Spring logistics seminar");
  details.set_type(iv1::CAMPAIGN_TYPE_SEMINAR);
  details.set_start_date(Day(today));
  details.set_end_date(Day(today + 30));
  details.mutable_budget()->set_currency_code("CNY");
  details.mutable_budget()->set_amount_minor(6'000'000);
  details.set_description("Half-day seminar on cold-chain routing");
  plan.mutable_selection()->add_regions("north");
  plan.mutable_selection()->add_customer_ids(b1);
  iv1::PlanCampaignResponse planned;
  s = Call(*campaigns, erin, &Campaigns::PlanCampaign, plan, &planned);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string campaign_id = planned.campaign_id();
  ASSERT_FALSE(campaign_id.empty());
  EXPECT_EQ(planned.write().version(), 1u);

  // Started: the targets are frozen (four: three north, bob's by id).
  iv1::StartCampaignRequest start;
  start.set_campaign_id(campaign_id);
  iv1::WriteResponse w;
  s = Call(*campaigns, erin, &Campaigns::StartCampaign, start, &w);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // CampaignStarted and one CampaignTargetsFrozen in one append.
  EXPECT_EQ(w.event_ids_size(), 2);
  EXPECT_EQ(w.version(), 3u);

  // Two costs.
  int64_t costs[2] = {kCost1Minor, kCost2Minor};
  const char* cost_texts[2] = {"Venue hire", "Catering and printed material"};
  for (int i = 0; i < 2; ++i) {
    iv1::RecordCampaignCostRequest cost;
    cost.set_campaign_id(campaign_id);
    cost.mutable_cost()->mutable_amount()->set_currency_code("CNY");
    cost.mutable_cost()->mutable_amount()->set_amount_minor(costs[i]);
    cost.mutable_cost()->set_description(cost_texts[i]);
    cost.mutable_cost()->set_incurred_on(Day(today));
    iv1::RecordCampaignCostResponse recorded;
    s = Call(*campaigns, erin, &Campaigns::RecordCampaignCost, cost, &recorded);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(recorded.cost_id(), absl::StrCat(i + 1));
  }

  // A north customer registered after the start is no target.
  const std::string a3 = register_customer(alice, "Late Lane Haulage");
  ASSERT_FALSE(a3.empty());
  ASSERT_TRUE(DirectoryHas(*interactions, 5));

  // alice invites her two customers; the first accepts and attends.
  iv1::RecordCampaignInvitationsRequest invite;
  invite.set_campaign_id(campaign_id);
  invite.add_customer_ids(a1);
  invite.add_customer_ids(a2);
  s = Call(*campaigns, alice, &Campaigns::RecordCampaignInvitations, invite, &w);
  ASSERT_TRUE(s.ok()) << s.error_message();
  iv1::RecordCampaignResponseRequest respond;
  respond.set_campaign_id(campaign_id);
  respond.set_customer_id(a1);
  respond.set_response(iv1::CAMPAIGN_RESPONSE_ACCEPTED);
  respond.set_note("Two people from logistics planning");
  s = Call(*campaigns, alice, &Campaigns::RecordCampaignResponse, respond, &w);
  ASSERT_TRUE(s.ok()) << s.error_message();
  iv1::RecordCampaignAttendanceRequest attend;
  attend.set_campaign_id(campaign_id);
  attend.set_customer_id(a1);
  attend.set_attended(true);
  s = Call(*campaigns, alice, &Campaigns::RecordCampaignAttendance, attend, &w);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // The late customer is not a target; bob may not record for alice's customer.
  {
    iv1::RecordCampaignResponseRequest late = respond;
    late.set_customer_id(a3);
    s = Call(*campaigns, alice, &Campaigns::RecordCampaignResponse, late, &w);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
    s = Call(*campaigns, bob, &Campaigns::RecordCampaignResponse, respond, &w);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  }

  // The frozen list, as the executive sees it: four targets in id order.
  iv1::ListCampaignTargetsRequest list_targets;
  list_targets.set_campaign_id(campaign_id);
  iv1::ListCampaignTargetsResponse targets;
  s = Call(*campaigns, erin, &Campaigns::ListCampaignTargets, list_targets, &targets);
  ASSERT_TRUE(s.ok()) << s.error_message();
  {
    std::map<std::string, std::pair<std::string, std::string>> expected = {
        {a1, {"alice", "north"}}, {a2, {"alice", "north"}}, {d1, {"dave", "north"}},
        {b1, {"bob", "south"}}};
    ASSERT_EQ(targets.targets_size(), 4) << targets.DebugString();
    auto it = expected.begin();
    for (const iv1::CampaignTarget& t : targets.targets()) {
      SCOPED_TRACE(t.customer_id());
      EXPECT_EQ(t.campaign_id(), campaign_id);
      EXPECT_EQ(t.customer_id(), it->first);
      EXPECT_EQ(t.owner(), it->second.first);
      EXPECT_EQ(t.region(), it->second.second);
      const bool invited = t.customer_id() == a1 || t.customer_id() == a2;
      EXPECT_EQ(t.has_invited_at(), invited);
      if (t.customer_id() == a1) {
        EXPECT_EQ(t.response(), iv1::CAMPAIGN_RESPONSE_ACCEPTED);
        EXPECT_EQ(t.response_note(), "Two people from logistics planning");
        EXPECT_TRUE(t.has_responded_at());
        EXPECT_TRUE(t.attended());
        EXPECT_EQ(t.updated_by(), "alice");
      } else {
        EXPECT_EQ(t.response(), iv1::CAMPAIGN_RESPONSE_UNSPECIFIED);
        EXPECT_FALSE(t.attended());
      }
      ++it;
    }
  }
  // alice sees her two targets only.
  s = Call(*campaigns, alice, &Campaigns::ListCampaignTargets, list_targets, &targets);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(targets.targets_size(), 2) << targets.DebugString();
  EXPECT_EQ(std::set<std::string>({targets.targets(0).customer_id(), targets.targets(1).customer_id()}),
            std::set<std::string>({a1, a2}));

  // alice: an opportunity sourced from the campaign, won.
  iv1::CreateOpportunityRequest create;
  create.set_customer_id(a1);
  iv1::OpportunityDetails& od = *create.mutable_details();
  od.set_title("Cold-chain routing for two depots");
  od.set_source(iv1::OPPORTUNITY_SOURCE_CAMPAIGN);
  od.set_campaign_id(campaign_id);
  od.mutable_expected_amount()->set_currency_code("CNY");
  od.mutable_expected_amount()->set_amount_minor(12'000'000);
  od.set_expected_close_date(Day(LastOfMonth(today)));
  iv1::CreateOpportunityResponse created;
  s = Call(*sales, alice, &Sales::CreateOpportunity, create, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string opp = created.opportunity_id();
  ASSERT_FALSE(opp.empty());

  iv1::GetCampaignReportRequest report_req;
  report_req.set_campaign_id(campaign_id);
  iv1::GetCampaignReportResponse report;
  ASSERT_TRUE(Eventually([&] {
    report.Clear();
    return Call(*campaigns, erin, &Campaigns::GetCampaignReport, report_req, &report).ok() &&
           report.report().opportunities_sourced() == 1;
  })) << report.DebugString();
  EXPECT_EQ(report.report().opportunities_open(), 1);
  EXPECT_EQ(report.report().opportunities_won(), 0);

  absl::SleepFor(absl::Milliseconds(20));
  const absl::Time before_win = absl::Now();
  absl::SleepFor(absl::Milliseconds(20));
  iv1::WinOpportunityRequest win;
  win.set_opportunity_id(opp);
  win.mutable_final_amount()->set_currency_code("CNY");
  win.mutable_final_amount()->set_amount_minor(kWonMinor);
  s = Call(*sales, alice, &Sales::WinOpportunity, win, &w);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // The executive's report: everything, with the return and the ROI.
  ASSERT_TRUE(Eventually([&] {
    report.Clear();
    return Call(*campaigns, erin, &Campaigns::GetCampaignReport, report_req, &report).ok() &&
           report.report().opportunities_won() == 1;
  })) << report.DebugString();
  {
    const iv1::CampaignReport& r = report.report();
    EXPECT_EQ(r.campaign_id(), campaign_id);
    EXPECT_EQ(r.name(), "Spring logistics seminar");
    EXPECT_EQ(r.status(), iv1::CAMPAIGN_STATUS_RUNNING);
    EXPECT_FALSE(r.partial());
    EXPECT_EQ(r.targets(), 4);
    EXPECT_EQ(r.invited(), 2);
    EXPECT_EQ(r.responded(), 1);
    EXPECT_EQ(r.accepted(), 1);
    EXPECT_EQ(r.attended(), 1);
    EXPECT_EQ(r.opportunities_sourced(), 1);
    EXPECT_EQ(r.opportunities_won(), 1);
    EXPECT_EQ(r.opportunities_open(), 0);
    EXPECT_EQ(r.budget().currency_code(), "CNY");
    EXPECT_EQ(r.budget().amount_minor(), 6'000'000);
    ASSERT_EQ(r.money_size(), 1) << r.DebugString();
    EXPECT_EQ(r.money(0).currency_code(), "CNY");
    EXPECT_EQ(r.money(0).cost_minor(), kCostMinor);
    EXPECT_EQ(r.money(0).won_minor(), kWonMinor);
    ASSERT_TRUE(r.money(0).has_roi_percent());
    EXPECT_DOUBLE_EQ(r.money(0).roi_percent(), kRoiPercent);
  }
  // As of before the win: sourced and open, nothing won, ROI −100 %.
  iv1::GetCampaignReportRequest as_of_req = report_req;
  *as_of_req.mutable_as_of() = ToProtoTimestamp(before_win);
  iv1::GetCampaignReportResponse as_of;
  s = Call(*campaigns, erin, &Campaigns::GetCampaignReport, as_of_req, &as_of);
  ASSERT_TRUE(s.ok()) << s.error_message();
  {
    const iv1::CampaignReport& r = as_of.report();
    EXPECT_EQ(r.targets(), 4);
    EXPECT_EQ(r.responded(), 1);
    EXPECT_EQ(r.opportunities_sourced(), 1);
    EXPECT_EQ(r.opportunities_open(), 1);
    EXPECT_EQ(r.opportunities_won(), 0);
    ASSERT_EQ(r.money_size(), 1) << r.DebugString();
    EXPECT_EQ(r.money(0).cost_minor(), kCostMinor);
    EXPECT_EQ(r.money(0).won_minor(), 0);
    ASSERT_TRUE(r.money(0).has_roi_percent());
    EXPECT_DOUBLE_EQ(r.money(0).roi_percent(), kRoiBeforeWinPercent);
  }
  // alice's report: partial, her two customers, without costs, budget and ROI.
  s = Call(*campaigns, alice, &Campaigns::GetCampaignReport, report_req, &report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  {
    const iv1::CampaignReport& r = report.report();
    EXPECT_TRUE(r.partial());
    EXPECT_EQ(r.targets(), 2);
    EXPECT_EQ(r.invited(), 2);
    EXPECT_EQ(r.responded(), 1);
    EXPECT_EQ(r.accepted(), 1);
    EXPECT_EQ(r.attended(), 1);
    EXPECT_EQ(r.opportunities_sourced(), 1);
    EXPECT_EQ(r.opportunities_won(), 1);
    EXPECT_FALSE(r.has_budget());
    int64_t won = 0;
    for (const iv1::CampaignMoney& m : r.money()) {
      EXPECT_EQ(m.cost_minor(), 0) << m.currency_code();
      EXPECT_FALSE(m.has_roi_percent()) << m.currency_code();
      won += m.won_minor();
    }
    EXPECT_EQ(won, kWonMinor);
  }
  // bob's: his one customer, no response, nothing sourced.
  s = Call(*campaigns, bob, &Campaigns::GetCampaignReport, report_req, &report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  {
    const iv1::CampaignReport& r = report.report();
    EXPECT_TRUE(r.partial());
    EXPECT_EQ(r.targets(), 1);
    EXPECT_EQ(r.invited(), 0);
    EXPECT_EQ(r.responded(), 0);
    EXPECT_EQ(r.opportunities_sourced(), 0);
    EXPECT_EQ(r.opportunities_won(), 0);
    for (const iv1::CampaignMoney& m : r.money()) {
      EXPECT_EQ(m.cost_minor(), 0);
      EXPECT_EQ(m.won_minor(), 0);
      EXPECT_FALSE(m.has_roi_percent());
    }
  }

  // The campaign as kept, then closed: no more responses.
  iv1::GetCampaignRequest get;
  get.set_campaign_id(campaign_id);
  iv1::GetCampaignResponse got;
  s = Call(*campaigns, erin, &Campaigns::GetCampaign, get, &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  {
    const iv1::Campaign& c = got.campaign();
    EXPECT_EQ(c.status(), iv1::CAMPAIGN_STATUS_RUNNING);
    EXPECT_EQ(c.owner(), "erin");
    EXPECT_EQ(c.created_by(), "erin");
    EXPECT_EQ(c.details().name(), "Spring logistics seminar");
    EXPECT_EQ(c.target_count(), 4);
    EXPECT_EQ(c.invited_count(), 2);
    EXPECT_EQ(c.responded_count(), 1);
    EXPECT_EQ(c.attended_count(), 1);
    ASSERT_EQ(c.costs_size(), 2);
    EXPECT_EQ(c.costs(0).cost_id(), "1");
    EXPECT_EQ(c.costs(0).amount().amount_minor(), kCost1Minor);
    EXPECT_EQ(c.costs(0).description(), "Venue hire");
    EXPECT_EQ(c.costs(0).recorded_by(), "erin");
    EXPECT_EQ(c.costs(1).cost_id(), "2");
    EXPECT_EQ(c.costs(1).amount().amount_minor(), kCost2Minor);
    EXPECT_TRUE(c.has_started_at());
  }
  iv1::CloseCampaignRequest close;
  close.set_campaign_id(campaign_id);
  close.set_note("Good turnout from the north");
  s = Call(*campaigns, erin, &Campaigns::CloseCampaign, close, &w);
  ASSERT_TRUE(s.ok()) << s.error_message();
  respond.set_customer_id(a2);
  respond.set_response(iv1::CAMPAIGN_RESPONSE_DECLINED);
  s = Call(*campaigns, alice, &Campaigns::RecordCampaignResponse, respond, &w);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  s = Call(*campaigns, erin, &Campaigns::GetCampaignReport, report_req, &report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(report.report().status(), iv1::CAMPAIGN_STATUS_CLOSED);
  EXPECT_EQ(report.report().responded(), 1);
  ASSERT_EQ(report.report().money_size(), 1);
  EXPECT_DOUBLE_EQ(report.report().money(0).roi_percent(), kRoiPercent);

  // The campaign's events, oldest first, with actors.
  iv1::GetCampaignHistoryRequest history_req;
  history_req.set_campaign_id(campaign_id);
  iv1::GetCampaignHistoryResponse history;
  s = Call(*campaigns, erin, &Campaigns::GetCampaignHistory, history_req, &history);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::vector<std::pair<std::string, std::string>> expected_history = {
      {"crm.interaction.v1.CampaignPlanned", "erin"},
      {"crm.interaction.v1.CampaignStarted", "erin"},
      {"crm.interaction.v1.CampaignTargetsFrozen", "erin"},
      {"crm.interaction.v1.CampaignCostRecorded", "erin"},
      {"crm.interaction.v1.CampaignCostRecorded", "erin"},
      {"crm.interaction.v1.CampaignInvitationsSent", "alice"},
      {"crm.interaction.v1.CampaignResponseRecorded", "alice"},
      {"crm.interaction.v1.CampaignAttendanceRecorded", "alice"},
      {"crm.interaction.v1.CampaignClosed", "erin"}};
  ASSERT_EQ(history.entries_size(), static_cast<int>(expected_history.size()))
      << history.DebugString();
  for (int i = 0; i < history.entries_size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(history.entries(i).event_type(), expected_history[i].first);
    EXPECT_EQ(history.entries(i).actor(), expected_history[i].second);
    EXPECT_EQ(history.entries(i).version(), static_cast<uint64_t>(i + 1));
    EXPECT_EQ(history.entries(i).event().campaign_id(), campaign_id);
  }

  EXPECT_EQ(interaction.Stop(), 0);
  EXPECT_EQ(customer.Stop(), 0);
}

}  // namespace
}  // namespace crm
