// A sale end to end over real processes: crm-devbroker + crm-customer +
// crm-interaction + crm-ticket + crm-classification, real gRPC on OS-picked
// loopback ports. A POTENTIAL customer gets an opportunity with a two-step
// development plan; a logged visit carries out the first step; the opportunity
// moves to negotiation and is won. Then crm-customer has made the customer
// COOPERATING (caused by the won event), crm-classification's metrics show the
// win, the pipeline report's forecast shows the won amount, and every event is on
// Kafka with its CloudEvents headers, keyed by the customer id.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "crm/classification/v1/classification_service.grpc.pb.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"
#include "crm/interaction/v1/sales_service.grpc.pb.h"
#include "crm/messaging/cloudevents.h"
#include "crm/runtime/log.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace cv1 = ::crm::customer::v1;
namespace iv1 = ::crm::interaction::v1;
namespace kv1 = ::crm::classification::v1;
using crm::testing::DevToken;
using crm::testing::Eventually;
using crm::testing::ServiceProcess;

constexpr int64_t kExpectedMinor = 120'000'000;  // 1,200,000.00 CNY
constexpr int64_t kFinalMinor = 115'000'050;     // 1,150,000.50 CNY

template <typename Stub, typename Method, typename Req, typename Resp>
grpc::Status Call(Stub& stub, const std::string& token, Method method, const Req& req, Resp* resp) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", auth::BearerHeader(token));
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return (stub.*method)(&ctx, req, resp);
}

std::string Day(absl::CivilDay d) { return absl::FormatCivilTime(d); }
absl::CivilDay DayOf(absl::Time t) { return absl::ToCivilDay(t, absl::UTCTimeZone()); }
absl::CivilDay DayOf(const google::protobuf::Timestamp& t) { return DayOf(FromProtoTimestamp(t)); }
absl::CivilDay FirstOfMonth(absl::CivilDay d) { return absl::CivilDay(absl::CivilMonth(d)); }
absl::CivilDay LastOfMonth(absl::CivilDay d) { return absl::CivilDay(absl::CivilMonth(d) + 1) - 1; }

std::map<kv1::Metric, double> MetricsOf(const kv1::GetClassificationResponse& r) {
  std::map<kv1::Metric, double> out;
  for (const kv1::MetricValue& m : r.metrics()) out[m.metric()] = m.value();
  return out;
}

// The one CurrencyFigures expected in `figures`.
void ExpectOneCurrency(const google::protobuf::RepeatedPtrField<iv1::CurrencyFigures>& figures,
                       int count, int64_t amount, int64_t weighted, const std::string& where) {
  ASSERT_EQ(figures.size(), 1) << where;
  EXPECT_EQ(figures[0].currency_code(), "CNY") << where;
  EXPECT_EQ(figures[0].count(), count) << where;
  EXPECT_EQ(figures[0].amount_minor(), amount) << where;
  EXPECT_EQ(figures[0].weighted_minor(), weighted) << where;
}

// The report while the opportunity is open in NEGOTIATION (75 %), expected to
// close within the period.
void ExpectOpenReport(const iv1::PipelineReport& r, const std::string& where) {
  EXPECT_EQ(r.open_count(), 1) << where;
  ExpectOneCurrency(r.open_amounts(), 1, kExpectedMinor, 90'000'000, where + " open");
  ASSERT_EQ(r.by_stage_size(), 1) << where;
  EXPECT_EQ(r.by_stage(0).key(), "NEGOTIATION") << where;
  ExpectOneCurrency(r.by_stage(0).amounts(), 1, kExpectedMinor, 90'000'000, where + " stage");
  ASSERT_EQ(r.by_owner_size(), 1) << where;
  EXPECT_EQ(r.by_owner(0).key(), "alice") << where;
  ASSERT_EQ(r.by_region_size(), 1) << where;
  EXPECT_EQ(r.by_region(0).key(), "north") << where;
  ASSERT_EQ(r.forecast_size(), 1) << where;
  EXPECT_EQ(r.forecast(0).currency_code(), "CNY") << where;
  EXPECT_EQ(r.forecast(0).open_count(), 1) << where;
  EXPECT_EQ(r.forecast(0).open_weighted_minor(), 90'000'000) << where;
  EXPECT_EQ(r.forecast(0).won_count(), 0) << where;
  EXPECT_EQ(r.forecast(0).won_minor(), 0) << where;
  EXPECT_EQ(r.forecast(0).total_minor(), 90'000'000) << where;
  EXPECT_EQ(r.won_count(), 0) << where;
  EXPECT_EQ(r.lost_count(), 0) << where;
  EXPECT_EQ(r.win_rate_percent(), 0) << where;
  EXPECT_EQ(r.lost_reasons_size(), 0) << where;
}

TEST(SalesE2eTest, AWonOpportunityConvertsTheCustomerAndReachesEveryService) {
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
  ServiceProcess ticket(TICKET_PATH, {"--data_dir=" + dir.path() + "/ticket", kafka, secret,
                                      customer_addr, "--scan_interval_ms=100", session});
  ServiceProcess classification(CLASSIFICATION_PATH,
                                {"--data_dir=" + dir.path() + "/classification", kafka, secret,
                                 "--scan_interval_ms=100", "--sweep_interval_ms=200", session});
  ASSERT_FALSE(customer.grpc_address().empty());
  ASSERT_FALSE(interaction.grpc_address().empty());
  ASSERT_FALSE(ticket.grpc_address().empty());
  ASSERT_FALSE(classification.grpc_address().empty());
  auto customers = cv1::CustomerService::NewStub(customer.Channel());
  auto interactions = iv1::InteractionService::NewStub(interaction.Channel());
  auto sales = iv1::SalesService::NewStub(interaction.Channel());
  auto classes = kv1::ClassificationService::NewStub(classification.Channel());
  const std::string alice = DevToken("alice", {"sales_rep"}, "north");
  using Sales = iv1::SalesService::Stub;
  grpc::Status s;

  // A POTENTIAL customer of alice's, in her region.
  cv1::RegisterCustomerRequest reg;
  reg.mutable_basic()->set_name("Prospect Machinery Co");
  reg.mutable_basic()->set_industry("manufacturing");
  reg.set_lifecycle(cv1::LIFECYCLE_POTENTIAL);
  cv1::RegisterCustomerResponse registered;
  s = Call(*customers, alice, &cv1::CustomerService::Stub::RegisterCustomer, reg, &registered);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string id = registered.customer_id();
  ASSERT_FALSE(id.empty());

  // An opportunity for it, at once: crm-interaction asks crm-customer about a
  // customer it has not consumed yet.
  const absl::CivilDay today = DayOf(absl::Now());
  const std::string close_date = Day(LastOfMonth(today));  // in this month's forecast
  iv1::CreateOpportunityRequest create;
  create.set_customer_id(id);
  iv1::OpportunityDetails& details = *create.mutable_details();
  details.set_title("Production line retrofit");
  details.set_source(iv1::OPPORTUNITY_SOURCE_EXHIBITION);
  details.mutable_expected_amount()->set_currency_code("CNY");
  details.mutable_expected_amount()->set_amount_minor(kExpectedMinor);
  details.set_expected_close_date(close_date);
  details.set_contact("Wang Wei");
  details.set_description("Two lines, delivery before year end");
  iv1::CreateOpportunityResponse created;
  s = Call(*sales, alice, &Sales::CreateOpportunity, create, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string opp = created.opportunity_id();
  ASSERT_FALSE(opp.empty());
  EXPECT_EQ(created.write().version(), 1u);
  ASSERT_EQ(created.write().event_ids_size(), 1);
  // The opportunity's events in order, with their types.
  std::vector<std::pair<std::string, std::string>> opp_events = {
      {created.write().event_ids(0), "crm.interaction.v1.OpportunityCreated"}};
  auto wrote = [&](const iv1::WriteResponse& w, uint64_t version, const std::string& type) {
    EXPECT_EQ(w.version(), version) << type;
    ASSERT_EQ(w.event_ids_size(), 1) << type;
    opp_events.emplace_back(w.event_ids(0), type);
  };

  // The development plan: two steps, both ahead (none overdue).
  const std::string step1_date = Day(today + 3);
  const std::string step2_date = Day(today + 10);
  std::string step_ids[2];
  for (int i = 0; i < 2; ++i) {
    iv1::AddPlanStepRequest add;
    add.set_opportunity_id(opp);
    add.set_planned_date(i == 0 ? step1_date : step2_date);
    add.set_action(i == 0 ? "Site visit: survey both lines" : "Send the technical proposal");
    iv1::AddPlanStepResponse added;
    s = Call(*sales, alice, &Sales::AddPlanStep, add, &added);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(added.step_id(), absl::StrCat(i + 1));
    step_ids[i] = added.step_id();
    wrote(added.write(), 2 + i, "crm.interaction.v1.PlanStepAdded");
  }

  // The visit that carries out step 1: planned and recorded.
  iv1::PlanVisitRequest plan;
  plan.set_customer_id(id);
  plan.mutable_plan()->set_purpose("Survey the production lines");
  *plan.mutable_plan()->mutable_scheduled_at() = ToProtoTimestamp(absl::Now());
  plan.mutable_plan()->add_visitors("alice");
  iv1::CreateResponse visit;
  s = Call(*interactions, alice, &iv1::InteractionService::Stub::PlanVisit, plan, &visit);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string visit_id = visit.interaction_id();
  ASSERT_FALSE(visit_id.empty());
  ASSERT_EQ(visit.write().event_ids_size(), 1);
  iv1::RecordVisitRequest record;
  record.set_interaction_id(visit_id);
  record.mutable_record()->set_summary("Both lines surveyed; retrofit feasible");
  record.mutable_record()->set_cooperation_intent(iv1::COOPERATION_INTENT_STRONG);
  iv1::WriteResponse recorded;
  s = Call(*interactions, alice, &iv1::InteractionService::Stub::RecordVisit, record, &recorded);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(recorded.event_ids_size(), 1);
  EXPECT_EQ(recorded.version(), 2u);
  const std::vector<std::string> visit_events = {visit.write().event_ids(0), recorded.event_ids(0)};

  iv1::CompletePlanStepRequest complete;
  complete.set_opportunity_id(opp);
  complete.set_step_id(step_ids[0]);
  complete.set_result("Survey done, requirements agreed");
  complete.set_interaction_id(visit_id);
  iv1::WriteResponse w;
  s = Call(*sales, alice, &Sales::CompletePlanStep, complete, &w);
  ASSERT_TRUE(s.ok()) << s.error_message();
  wrote(w, 4, "crm.interaction.v1.PlanStepCompleted");

  iv1::MoveOpportunityStageRequest move;
  move.set_opportunity_id(opp);
  move.set_stage(iv1::OPPORTUNITY_STAGE_NEGOTIATION);
  s = Call(*sales, alice, &Sales::MoveOpportunityStage, move, &w);
  ASSERT_TRUE(s.ok()) << s.error_message();
  wrote(w, 5, "crm.interaction.v1.OpportunityStageChanged");

  // Open in negotiation: the report (period: the month of creation) and the
  // classification inputs see the open pipeline.
  iv1::GetPipelineReportRequest report_req;
  report_req.set_period_from(Day(FirstOfMonth(today)));
  report_req.set_period_to(Day(LastOfMonth(today)));
  iv1::GetPipelineReportResponse open_report;
  s = Call(*sales, alice, &Sales::GetPipelineReport, report_req, &open_report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ExpectOpenReport(open_report.report(), "open, now");
  EXPECT_EQ(open_report.report().period_from(), Day(FirstOfMonth(today)));
  EXPECT_EQ(open_report.report().period_to(), Day(LastOfMonth(today)));

  kv1::GetClassificationRequest get_class;
  get_class.set_customer_id(id);
  kv1::GetClassificationResponse classified;
  ASSERT_TRUE(Eventually([&] {
    classified.Clear();
    return Call(*classes, alice, &kv1::ClassificationService::Stub::GetClassification, get_class,
                &classified)
               .ok() &&
           MetricsOf(classified)[kv1::METRIC_OPEN_PIPELINE_AMOUNT] == 1'200'000.0 &&
           MetricsOf(classified)[kv1::METRIC_WEIGHTED_PIPELINE_AMOUNT] == 900'000.0;
  })) << classified.DebugString();
  EXPECT_EQ(MetricsOf(classified)[kv1::METRIC_WINS_12M], 0);
  EXPECT_EQ(MetricsOf(classified)[kv1::METRIC_WON_AMOUNT_12M], 0);
  EXPECT_EQ(MetricsOf(classified)[kv1::METRIC_LIFECYCLE], static_cast<int>(cv1::LIFECYCLE_POTENTIAL));

  // Won, with the final amount.
  const absl::Time before_win = absl::Now();
  absl::SleepFor(absl::Milliseconds(20));
  iv1::WinOpportunityRequest win;
  win.set_opportunity_id(opp);
  win.mutable_final_amount()->set_currency_code("CNY");
  win.mutable_final_amount()->set_amount_minor(kFinalMinor);
  s = Call(*sales, alice, &Sales::WinOpportunity, win, &w);
  ASSERT_TRUE(s.ok()) << s.error_message();
  wrote(w, 6, "crm.interaction.v1.OpportunityWon");
  const std::string won_event_id = w.event_ids(0);

  // The opportunity as crm-interaction keeps it.
  iv1::GetOpportunityRequest get_opp;
  get_opp.set_opportunity_id(opp);
  iv1::GetOpportunityResponse got_opp;
  s = Call(*sales, alice, &Sales::GetOpportunity, get_opp, &got_opp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const iv1::Opportunity& o = got_opp.opportunity();
  EXPECT_EQ(o.customer_id(), id);
  EXPECT_EQ(o.details().title(), "Production line retrofit");
  EXPECT_EQ(o.details().expected_close_date(), close_date);
  EXPECT_EQ(o.owner(), "alice");
  EXPECT_EQ(o.region(), "north");
  EXPECT_EQ(o.created_by(), "alice");
  EXPECT_EQ(o.stage(), iv1::OPPORTUNITY_STAGE_WON);
  EXPECT_EQ(o.probability(), 100);
  EXPECT_EQ(o.final_amount().currency_code(), "CNY");
  EXPECT_EQ(o.final_amount().amount_minor(), kFinalMinor);
  EXPECT_EQ(o.closed_by(), "alice");
  ASSERT_TRUE(o.has_closed_at());
  EXPECT_GE(FromProtoTimestamp(o.closed_at()), before_win);
  EXPECT_EQ(o.version(), 6u);
  ASSERT_EQ(o.stage_history_size(), 3);
  EXPECT_EQ(o.stage_history(0).to(), iv1::OPPORTUNITY_STAGE_QUALIFICATION);
  EXPECT_EQ(o.stage_history(0).probability(), 10);
  EXPECT_EQ(o.stage_history(1).from(), iv1::OPPORTUNITY_STAGE_QUALIFICATION);
  EXPECT_EQ(o.stage_history(1).to(), iv1::OPPORTUNITY_STAGE_NEGOTIATION);
  EXPECT_EQ(o.stage_history(1).probability(), 75);
  EXPECT_EQ(o.stage_history(2).from(), iv1::OPPORTUNITY_STAGE_NEGOTIATION);
  EXPECT_EQ(o.stage_history(2).to(), iv1::OPPORTUNITY_STAGE_WON);
  ASSERT_EQ(o.plan_size(), 2);
  EXPECT_EQ(o.plan(0).step_id(), step_ids[0]);
  EXPECT_EQ(o.plan(0).planned_date(), step1_date);
  EXPECT_EQ(o.plan(0).responsible(), "alice");
  EXPECT_EQ(o.plan(0).status(), iv1::PLAN_STEP_STATUS_DONE);
  EXPECT_EQ(o.plan(0).result(), "Survey done, requirements agreed");
  EXPECT_EQ(o.plan(0).interaction_id(), visit_id);
  EXPECT_EQ(o.plan(0).done_by(), "alice");
  EXPECT_FALSE(o.plan(0).overdue_reported());
  EXPECT_EQ(o.plan(1).step_id(), step_ids[1]);
  EXPECT_EQ(o.plan(1).planned_date(), step2_date);
  EXPECT_EQ(o.plan(1).status(), iv1::PLAN_STEP_STATUS_PLANNED);
  EXPECT_FALSE(o.plan(1).overdue_reported());
  iv1::ListOverduePlanStepsResponse overdue;
  s = Call(*sales, alice, &Sales::ListOverduePlanSteps, iv1::ListOverduePlanStepsRequest(),
           &overdue);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(overdue.steps_size(), 0);

  // The pipeline report of the month it was won in: the final amount in the
  // forecast's won_minor, nothing open; as of just before the win, still open.
  const absl::CivilDay won_day = DayOf(o.closed_at());
  report_req.set_period_from(Day(FirstOfMonth(won_day)));
  report_req.set_period_to(Day(LastOfMonth(won_day)));
  iv1::GetPipelineReportResponse won_report;
  s = Call(*sales, alice, &Sales::GetPipelineReport, report_req, &won_report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  {
    const iv1::PipelineReport& r = won_report.report();
    EXPECT_EQ(r.period_from(), Day(FirstOfMonth(won_day)));
    EXPECT_EQ(r.period_to(), Day(LastOfMonth(won_day)));
    EXPECT_EQ(r.open_count(), 0);
    EXPECT_EQ(r.open_amounts_size(), 0);
    EXPECT_EQ(r.by_stage_size(), 0);
    ASSERT_EQ(r.forecast_size(), 1) << r.DebugString();
    EXPECT_EQ(r.forecast(0).currency_code(), "CNY");
    EXPECT_EQ(r.forecast(0).won_minor(), kFinalMinor);
    EXPECT_EQ(r.forecast(0).won_count(), 1);
    EXPECT_EQ(r.forecast(0).open_count(), 0);
    EXPECT_EQ(r.forecast(0).open_weighted_minor(), 0);
    EXPECT_EQ(r.forecast(0).total_minor(), kFinalMinor);
    EXPECT_EQ(r.won_count(), 1);
    EXPECT_EQ(r.lost_count(), 0);
    EXPECT_EQ(r.win_rate_percent(), 100.0);
    // Created and won within this test: a cycle of well under 0.01 days.
    EXPECT_GE(r.average_sales_cycle_days(), 0.0);
    EXPECT_LE(r.average_sales_cycle_days(), 0.01);
  }
  // The default period is the calendar month of now.
  iv1::GetPipelineReportResponse default_report;
  s = Call(*sales, alice, &Sales::GetPipelineReport, iv1::GetPipelineReportRequest(),
           &default_report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const absl::CivilDay report_day = DayOf(default_report.report().as_of());
  EXPECT_EQ(default_report.report().period_from(), Day(FirstOfMonth(report_day)));
  EXPECT_EQ(default_report.report().period_to(), Day(LastOfMonth(report_day)));
  if (absl::CivilMonth(report_day) == absl::CivilMonth(won_day)) {
    ASSERT_EQ(default_report.report().forecast_size(), 1);
    EXPECT_EQ(default_report.report().forecast(0).won_minor(), kFinalMinor);
  }
  iv1::GetPipelineReportRequest as_of_req = report_req;
  as_of_req.set_period_from(Day(FirstOfMonth(today)));
  as_of_req.set_period_to(Day(LastOfMonth(today)));
  *as_of_req.mutable_as_of() = ToProtoTimestamp(before_win);
  iv1::GetPipelineReportResponse as_of_report;
  s = Call(*sales, alice, &Sales::GetPipelineReport, as_of_req, &as_of_report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ExpectOpenReport(as_of_report.report(), "open, as of before the win");

  // crm-customer: COOPERATING, converted by the opportunity, as alice.
  cv1::GetCustomerRequest get_customer;
  get_customer.set_customer_id(id);
  cv1::GetCustomerResponse got_customer;
  ASSERT_TRUE(Eventually([&] {
    got_customer.Clear();
    return Call(*customers, alice, &cv1::CustomerService::Stub::GetCustomer, get_customer,
                &got_customer)
               .ok() &&
           got_customer.customer().lifecycle() == cv1::LIFECYCLE_COOPERATING;
  })) << got_customer.DebugString();
  EXPECT_EQ(got_customer.customer().version(), 2u);
  cv1::GetCustomerHistoryRequest history_req;
  history_req.set_customer_id(id);
  cv1::GetCustomerHistoryResponse history;
  s = Call(*customers, alice, &cv1::CustomerService::Stub::GetCustomerHistory, history_req,
           &history);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(history.entries_size(), 2) << history.DebugString();  // registered, converted
  EXPECT_EQ(history.entries(0).event_type(), "crm.customer.v1.CustomerRegistered");
  const cv1::HistoryEntry& converted = history.entries(1);
  EXPECT_EQ(converted.event_type(), "crm.customer.v1.LifecycleChanged");
  EXPECT_EQ(converted.actor(), "alice");
  ASSERT_TRUE(converted.event().has_lifecycle_changed());
  EXPECT_EQ(converted.event().lifecycle_changed().from(), cv1::LIFECYCLE_POTENTIAL);
  EXPECT_EQ(converted.event().lifecycle_changed().to(), cv1::LIFECYCLE_COOPERATING);
  EXPECT_EQ(converted.event().lifecycle_changed().opportunity_id(), opp);
  EXPECT_EQ(converted.event().lifecycle_changed().reason(), absl::StrCat("opportunity ", opp, " won"));

  // crm-classification: the win in the metrics (rule set currency CNY, amounts in
  // major units), nothing open any more, and the new lifecycle.
  kv1::GetRuleSetResponse rule_set;
  s = Call(*classes, alice, &kv1::ClassificationService::Stub::GetRuleSet, kv1::GetRuleSetRequest(),
           &rule_set);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(rule_set.rule_set().currency_code(), "CNY");
  ASSERT_TRUE(Eventually([&] {
    classified.Clear();
    return Call(*classes, alice, &kv1::ClassificationService::Stub::GetClassification, get_class,
                &classified)
               .ok() &&
           MetricsOf(classified)[kv1::METRIC_WINS_12M] == 1 &&
           MetricsOf(classified)[kv1::METRIC_LIFECYCLE] == static_cast<int>(cv1::LIFECYCLE_COOPERATING);
  })) << classified.DebugString();
  {
    std::map<kv1::Metric, double> m = MetricsOf(classified);
    EXPECT_EQ(m[kv1::METRIC_WINS_12M], 1);
    EXPECT_DOUBLE_EQ(m[kv1::METRIC_WON_AMOUNT_12M], 1'150'000.50);
    EXPECT_EQ(m[kv1::METRIC_OPEN_PIPELINE_AMOUNT], 0);
    EXPECT_EQ(m[kv1::METRIC_WEIGHTED_PIPELINE_AMOUNT], 0);
    EXPECT_EQ(classified.classification().customer_id(), id);
    for (int i = 1; i < classified.metrics_size(); ++i) {
      EXPECT_LT(classified.metrics(i - 1).metric(), classified.metrics(i).metric());
    }
  }

  // Kafka, crm.interaction.v1.events: the opportunity's six events in order and
  // the visit's two, each with its CloudEvents headers, keyed by the customer.
  std::vector<messaging::KafkaRecord> records;
  auto has_event = [&](const std::string& event_id) {
    for (const auto& r : records) {
      const std::string* ce_id = messaging::FindHeader(r, "ce_id");
      if (ce_id != nullptr && *ce_id == event_id) return true;
    }
    return false;
  };
  ASSERT_TRUE(Eventually([&] {
    records = messaging::testing::ReadTopic(broker.bootstrap(),
                                            std::string(messaging::kInteractionTopic), 3, SIZE_MAX,
                                            absl::Seconds(1));
    return has_event(won_event_id) && has_event(visit_events[1]);
  }));
  std::vector<std::string> opp_ids_on_wire;
  std::map<std::string, const messaging::KafkaRecord*> by_id;
  for (const auto& r : records) {
    EXPECT_EQ(r.key, id);  // this test's only customer
    const std::string* subject = messaging::FindHeader(r, "ce_subject");
    ASSERT_NE(subject, nullptr);
    EXPECT_EQ(*subject, id);
    const std::string* stream = messaging::FindHeader(r, "ce_crmstream");
    ASSERT_NE(stream, nullptr);
    const std::string* type = messaging::FindHeader(r, "ce_type");
    ASSERT_NE(type, nullptr);
    EXPECT_NE(*type, "crm.interaction.v1.PlanStepOverdue");
    if (*stream == "opportunity-" + opp) opp_ids_on_wire.push_back(*messaging::FindHeader(r, "ce_id"));
    by_id[*messaging::FindHeader(r, "ce_id")] = &r;
  }
  std::vector<std::string> opp_ids_written;
  for (const auto& [event_id, type] : opp_events) opp_ids_written.push_back(event_id);
  EXPECT_EQ(opp_ids_on_wire, opp_ids_written);  // each once, in order
  auto check_record = [&](const std::string& event_id, const std::string& type,
                          const std::string& stream, uint64_t version) {
    SCOPED_TRACE(type);
    ASSERT_TRUE(by_id.contains(event_id)) << event_id;
    const messaging::KafkaRecord& r = *by_id[event_id];
    auto header = [&](std::string_view name) {
      const std::string* h = messaging::FindHeader(r, name);
      return h == nullptr ? std::string("<missing>") : *h;
    };
    EXPECT_EQ(header("ce_specversion"), "1.0");
    EXPECT_EQ(header("ce_id"), event_id);
    EXPECT_EQ(header("ce_source"), "crm-interaction");
    EXPECT_EQ(header("ce_type"), type);
    EXPECT_EQ(header("ce_subject"), id);
    EXPECT_EQ(header("content-type"), "application/protobuf");
    EXPECT_EQ(header("ce_crmactor"), "alice");
    EXPECT_EQ(header("ce_crmstream"), stream);
    EXPECT_EQ(header("ce_crmversion"), absl::StrCat(version));
    absl::StatusOr<messaging::EventEnvelope> envelope = messaging::FromKafkaRecord(r);
    ASSERT_TRUE(envelope.ok()) << envelope.status();
    EXPECT_EQ(envelope->event_id(), event_id);
    EXPECT_EQ(envelope->partition_key(), id);
    // ce_time: when it happened, within this test.
    EXPECT_GE(FromProtoTimestamp(envelope->occurred_at()), absl::Now() - absl::Minutes(10));
    EXPECT_LE(FromProtoTimestamp(envelope->occurred_at()), absl::Now());
    iv1::InteractionEvent e;
    ASSERT_TRUE(e.ParseFromString(r.value));
    EXPECT_EQ(e.customer_id(), id);
  };
  for (size_t i = 0; i < opp_events.size(); ++i) {
    check_record(opp_events[i].first, opp_events[i].second, "opportunity-" + opp, i + 1);
  }
  check_record(visit_events[0], "crm.interaction.v1.VisitPlanned", "interaction-" + visit_id, 1);
  check_record(visit_events[1], "crm.interaction.v1.VisitRecorded", "interaction-" + visit_id, 2);
  // The won event's payload: the opportunity and its figures after the win.
  iv1::InteractionEvent won;
  ASSERT_TRUE(won.ParseFromString(by_id[won_event_id]->value));
  ASSERT_TRUE(won.has_opportunity_won());
  EXPECT_EQ(won.opportunity_id(), opp);
  EXPECT_EQ(won.interaction_id(), "");
  EXPECT_EQ(won.opportunity_won().from(), iv1::OPPORTUNITY_STAGE_NEGOTIATION);
  EXPECT_EQ(won.opportunity_won().final_amount().amount_minor(), kFinalMinor);
  EXPECT_EQ(won.opportunity_figures().stage(), iv1::OPPORTUNITY_STAGE_WON);
  EXPECT_EQ(won.opportunity_figures().probability(), 100);
  EXPECT_EQ(won.opportunity_figures().expected_amount().amount_minor(), kExpectedMinor);
  EXPECT_EQ(won.opportunity_figures().final_amount().currency_code(), "CNY");
  EXPECT_EQ(won.opportunity_figures().final_amount().amount_minor(), kFinalMinor);
  EXPECT_EQ(won.opportunity_figures().owner(), "alice");
  EXPECT_EQ(won.opportunity_figures().region(), "north");
  iv1::InteractionEvent completed;
  ASSERT_TRUE(completed.ParseFromString(by_id[opp_events[3].first]->value));
  EXPECT_EQ(completed.plan_step_completed().step_id(), step_ids[0]);
  EXPECT_EQ(completed.plan_step_completed().interaction_id(), visit_id);
  const std::string* won_correlation = messaging::FindHeader(*by_id[won_event_id], "ce_crmcorrelation");

  // Kafka, crm.customer.v1.events: the LifecycleChanged names the won event as
  // its cause, with its actor and correlation.
  const messaging::KafkaRecord* lifecycle = nullptr;
  std::vector<messaging::KafkaRecord> customer_records;
  ASSERT_TRUE(Eventually([&] {
    customer_records = messaging::testing::ReadTopic(
        broker.bootstrap(), std::string(messaging::kCustomerTopic), 3, SIZE_MAX, absl::Seconds(1));
    lifecycle = nullptr;
    for (const auto& r : customer_records) {
      const std::string* type = messaging::FindHeader(r, "ce_type");
      if (r.key == id && type != nullptr && *type == "crm.customer.v1.LifecycleChanged") lifecycle = &r;
    }
    return lifecycle != nullptr;
  }));
  {
    auto header = [&](std::string_view name) {
      const std::string* h = messaging::FindHeader(*lifecycle, name);
      return h == nullptr ? std::string("<missing>") : *h;
    };
    EXPECT_EQ(header("ce_source"), "crm-customer");
    EXPECT_EQ(header("ce_subject"), id);
    EXPECT_EQ(header("ce_id"), converted.event_id());
    EXPECT_EQ(header("ce_crmcausation"), won_event_id);
    EXPECT_EQ(header("ce_crmactor"), "alice");
    EXPECT_EQ(header("ce_crmcorrelation"),
              won_correlation != nullptr ? *won_correlation : won_event_id);
    cv1::CustomerEvent e;
    ASSERT_TRUE(e.ParseFromString(lifecycle->value));
    EXPECT_EQ(e.lifecycle_changed().opportunity_id(), opp);
    EXPECT_EQ(e.lifecycle_changed().to(), cv1::LIFECYCLE_COOPERATING);
  }
  int lifecycle_records = 0;
  for (const auto& r : customer_records) {
    if (r.key == id && *messaging::FindHeader(r, "ce_type") == "crm.customer.v1.LifecycleChanged") {
      ++lifecycle_records;
    }
  }
  EXPECT_EQ(lifecycle_records, 1);  // converted once

  // Every process stops cleanly.
  EXPECT_EQ(classification.Stop(), 0);
  EXPECT_EQ(ticket.Stop(), 0);
  EXPECT_EQ(interaction.Stop(), 0);
  EXPECT_EQ(customer.Stop(), 0);
}

}  // namespace
}  // namespace crm
