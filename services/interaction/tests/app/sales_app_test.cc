// The sales use cases on a real store with a fake clock: the pipeline report
// against a hand-computed scenario (now and as of a past date), the authorization
// matrix over every SalesService RPC, the development plan with a step carried
// out by a logged visit, overdue steps reported once, replays and rebuilds.
#include "crm/interaction/app/sales_app.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "command/testing/app_test.h"
#include "common/testing/proto_testing.h"
#include "crm/command/rebuild.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/directory/customer_directory.h"
#include "crm/interaction/app/interaction_app.h"
#include "crm/interaction/projection/opportunity_projection.h"
#include "crm/messaging/cloudevents.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "messaging/testing/store_view.h"

namespace crm::interaction {
namespace {

using auth::Principal;
using auth::Role;
using ::crm::testing::EqualsProto;
using ::crm::testing::TextProto;

// 2026-11-02T09:00:00Z, and the days of the scenario.
const absl::Time kDay0 = absl::FromUnixSeconds(1793610000);
const absl::Time kNov10 = absl::FromUnixSeconds(1794301200);   // 09:00
const absl::Time kNov12 = absl::FromUnixSeconds(1794441600);   // 00:00, the past date
const absl::Time kNov15 = absl::FromUnixSeconds(1794733200);   // 09:00
const absl::Time kNov16 = absl::FromUnixSeconds(1794819600);   // 09:00, "now"

class SalesAppTest : public command::testing::AppTest<SalesApp> {
 protected:
  SalesAppTest() : AppTest(kDay0) {}
  absl::StatusOr<std::unique_ptr<SalesApp>> MakeApp(command::Pipeline& pipeline) override {
    interactions_ = std::make_unique<InteractionApp>(InteractionAppOptions{.pipeline = &pipeline});
    return std::make_unique<SalesApp>(SalesAppOptions{.pipeline = &pipeline});
  }

  void Consume(const customer::v1::CustomerEvent& e) {
    directory::DirectoryHandler handler;
    ASSERT_TRUE(messaging::testing::HandleAndCommit(handler, *store_, messaging::kCustomerTopic,
                                                    e.SerializeAsString(), ++position_)
                    .ok());
  }
  void Registered(const std::string& id, const std::string& owner, const std::string& region) {
    customer::v1::CustomerEvent e;
    e.set_customer_id(id);
    e.mutable_registered()->set_owner(owner);
    e.mutable_registered()->set_region(region);
    Consume(e);
  }
  void Granted(const std::string& id, const std::string& subject, absl::Time until) {
    customer::v1::CustomerEvent e;
    e.set_customer_id(id);
    e.mutable_access_granted()->mutable_grant()->set_subject(subject);
    *e.mutable_access_granted()->mutable_grant()->mutable_expires_at() = ToProtoTimestamp(until);
    Consume(e);
  }

  // Creates an opportunity as `who`; returns its id.
  std::string Create(const Principal& who, const std::string& customer, const std::string& currency,
                     int64_t amount, const std::string& close) {
    v1::CreateOpportunityRequest r;
    r.set_customer_id(customer);
    r.mutable_details()->set_title("Deal " + customer);
    r.mutable_details()->set_source(v1::OPPORTUNITY_SOURCE_WEB_MEDIA);
    r.mutable_details()->mutable_expected_amount()->set_currency_code(currency);
    r.mutable_details()->mutable_expected_amount()->set_amount_minor(amount);
    r.mutable_details()->set_expected_close_date(close);
    auto created = Call(&SalesApp::CreateOpportunity, who, r);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->opportunity_id() : "";
  }
  absl::Status Move(const std::string& id, v1::OpportunityStage stage,
                    std::optional<int> probability = std::nullopt) {
    v1::MoveOpportunityStageRequest r;
    r.set_opportunity_id(id);
    r.set_stage(stage);
    if (probability) r.set_probability(*probability);
    return Call(&SalesApp::MoveOpportunityStage, root_, r).status();
  }
  absl::Status Win(const std::string& id, const std::string& currency, int64_t amount,
                   const Principal* who = nullptr) {
    v1::WinOpportunityRequest r;
    r.set_opportunity_id(id);
    r.mutable_final_amount()->set_currency_code(currency);
    r.mutable_final_amount()->set_amount_minor(amount);
    return Call(&SalesApp::WinOpportunity, who ? *who : root_, r).status();
  }
  absl::Status Lose(const std::string& id, v1::LostReason reason) {
    v1::LoseOpportunityRequest r;
    r.set_opportunity_id(id);
    r.set_reason(reason);
    r.set_competitor("Rival Ltd");
    return Call(&SalesApp::LoseOpportunity, root_, r).status();
  }
  v1::PipelineReport Report(const Principal& who, std::optional<absl::Time> as_of = std::nullopt) {
    v1::GetPipelineReportRequest r;
    if (as_of) *r.mutable_as_of() = ToProtoTimestamp(*as_of);
    auto report = Call(&SalesApp::GetPipelineReport, who, r);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? report->report() : v1::PipelineReport();
  }

  std::unique_ptr<InteractionApp> interactions_;
  uint64_t position_ = 0;
  const Principal root_{"root", {Role::kAdmin}, ""};
};

// Six opportunities, two currencies, two regions; won, lost, open and one
// reopened. The expected reports are computed by hand (docs in the comments).
TEST_F(SalesAppTest, PipelineReportMatchesAHandComputedScenarioNowAndAsOfAPastDate) {
  Registered("c-n1", "rep-a", "north");
  Registered("c-n2", "rep-b", "north");
  Registered("c-s1", "rep-c", "south");
  // Day 0 (stage table 10 / 25 / 50 / 75).
  const std::string o1 = Create(root_, "c-n1", "CNY", 100000000, "2026-11-20");
  ASSERT_TRUE(Move(o1, v1::OPPORTUNITY_STAGE_PROPOSAL).ok());                     // 50
  const std::string o2 = Create(root_, "c-n1", "USD", 5000000, "2026-12-15");      // Q 10
  const std::string o3 = Create(root_, "c-n2", "CNY", 20000000, "2026-11-25");
  ASSERT_TRUE(Move(o3, v1::OPPORTUNITY_STAGE_NEGOTIATION, 90).ok());              // 90
  const std::string o4 = Create(root_, "c-s1", "CNY", 30000000, "2026-11-10");
  ASSERT_TRUE(Move(o4, v1::OPPORTUNITY_STAGE_NEEDS_ANALYSIS).ok());               // 25
  const std::string o5 = Create(root_, "c-s1", "USD", 1000000, "2026-11-30");
  ASSERT_TRUE(Move(o5, v1::OPPORTUNITY_STAGE_PROPOSAL).ok());                     // 50
  const std::string o6 = Create(root_, "c-n2", "CNY", 8000000, "2026-11-28");     // Q 10
  // Nov 10: O4 won (8 days), O6 lost on price.
  clock_.Set(kNov10);
  ASSERT_TRUE(Win(o4, "CNY", 28000000).ok());
  ASSERT_TRUE(Lose(o6, v1::LOST_REASON_PRICE).ok());
  // Nov 15: O5 lost to a competitor, O4 reopened (to NEEDS_ANALYSIS, 25), O1 won
  // (13 days), O2 reassigned to rep-b.
  clock_.Set(kNov15);
  ASSERT_TRUE(Lose(o5, v1::LOST_REASON_COMPETITOR).ok());
  v1::ReopenOpportunityRequest reopen;
  reopen.set_opportunity_id(o4);
  reopen.set_reason("order cancelled by the customer's board");
  ASSERT_TRUE(Call(&SalesApp::ReopenOpportunity, root_, reopen).ok());
  ASSERT_TRUE(Win(o1, "CNY", 95000000).ok());
  v1::AssignOpportunityRequest assign;
  assign.set_opportunity_id(o2);
  assign.set_owner("rep-b");
  ASSERT_TRUE(Call(&SalesApp::AssignOpportunity, root_, assign).ok());
  clock_.Set(kNov16);

  // Now: open O2 (Q 10, USD 50,000.00, rep-b, north), O3 (N 90, CNY 200,000.00,
  // rep-b, north), O4 (NA 25, CNY 300,000.00, rep-c, south). November: O3 and O4
  // close in it (18,000,000 + 7,500,000 weighted), O1 won in it (95,000,000);
  // closed in it: O1 won, O5 and O6 lost.
  EXPECT_THAT(Report(root_), EqualsProto(TextProto<v1::PipelineReport>(R"pb(
    as_of { seconds: 1794819600 }
    period_from: "2026-11-01"
    period_to: "2026-11-30"
    open_count: 3
    open_amounts { currency_code: "CNY" count: 2 amount_minor: 50000000 weighted_minor: 25500000 }
    open_amounts { currency_code: "USD" count: 1 amount_minor: 5000000 weighted_minor: 500000 }
    by_stage {
      key: "QUALIFICATION" count: 1
      amounts { currency_code: "USD" count: 1 amount_minor: 5000000 weighted_minor: 500000 }
    }
    by_stage {
      key: "NEEDS_ANALYSIS" count: 1
      amounts { currency_code: "CNY" count: 1 amount_minor: 30000000 weighted_minor: 7500000 }
    }
    by_stage {
      key: "NEGOTIATION" count: 1
      amounts { currency_code: "CNY" count: 1 amount_minor: 20000000 weighted_minor: 18000000 }
    }
    by_owner {
      key: "rep-b" count: 2
      amounts { currency_code: "CNY" count: 1 amount_minor: 20000000 weighted_minor: 18000000 }
      amounts { currency_code: "USD" count: 1 amount_minor: 5000000 weighted_minor: 500000 }
    }
    by_owner {
      key: "rep-c" count: 1
      amounts { currency_code: "CNY" count: 1 amount_minor: 30000000 weighted_minor: 7500000 }
    }
    by_region {
      key: "north" count: 2
      amounts { currency_code: "CNY" count: 1 amount_minor: 20000000 weighted_minor: 18000000 }
      amounts { currency_code: "USD" count: 1 amount_minor: 5000000 weighted_minor: 500000 }
    }
    by_region {
      key: "south" count: 1
      amounts { currency_code: "CNY" count: 1 amount_minor: 30000000 weighted_minor: 7500000 }
    }
    forecast {
      currency_code: "CNY"
      open_weighted_minor: 25500000 open_count: 2
      won_minor: 95000000 won_count: 1
      total_minor: 120500000
    }
    won_count: 1
    lost_count: 2
    win_rate_percent: 33.33
    average_sales_cycle_days: 13
    lost_reasons {
      reason: LOST_REASON_PRICE count: 1
      amounts { currency_code: "CNY" count: 1 amount_minor: 8000000 }
    }
    lost_reasons {
      reason: LOST_REASON_COMPETITOR count: 1
      amounts { currency_code: "USD" count: 1 amount_minor: 1000000 }
    }
  )pb")));

  // As of Nov 12 00:00: O1 (P 50, CNY 1,000,000.00, rep-a), O2 (Q 10, USD, rep-a),
  // O3 (N 90) and O5 (P 50, USD 10,000.00, rep-c, south) open; O4 won on Nov 10
  // (8 days), O6 lost on price.
  EXPECT_THAT(Report(root_, kNov12), EqualsProto(TextProto<v1::PipelineReport>(R"pb(
    as_of { seconds: 1794441600 }
    period_from: "2026-11-01"
    period_to: "2026-11-30"
    open_count: 4
    open_amounts { currency_code: "CNY" count: 2 amount_minor: 120000000 weighted_minor: 68000000 }
    open_amounts { currency_code: "USD" count: 2 amount_minor: 6000000 weighted_minor: 1000000 }
    by_stage {
      key: "QUALIFICATION" count: 1
      amounts { currency_code: "USD" count: 1 amount_minor: 5000000 weighted_minor: 500000 }
    }
    by_stage {
      key: "PROPOSAL" count: 2
      amounts { currency_code: "CNY" count: 1 amount_minor: 100000000 weighted_minor: 50000000 }
      amounts { currency_code: "USD" count: 1 amount_minor: 1000000 weighted_minor: 500000 }
    }
    by_stage {
      key: "NEGOTIATION" count: 1
      amounts { currency_code: "CNY" count: 1 amount_minor: 20000000 weighted_minor: 18000000 }
    }
    by_owner {
      key: "rep-a" count: 2
      amounts { currency_code: "CNY" count: 1 amount_minor: 100000000 weighted_minor: 50000000 }
      amounts { currency_code: "USD" count: 1 amount_minor: 5000000 weighted_minor: 500000 }
    }
    by_owner {
      key: "rep-b" count: 1
      amounts { currency_code: "CNY" count: 1 amount_minor: 20000000 weighted_minor: 18000000 }
    }
    by_owner {
      key: "rep-c" count: 1
      amounts { currency_code: "USD" count: 1 amount_minor: 1000000 weighted_minor: 500000 }
    }
    by_region {
      key: "north" count: 3
      amounts { currency_code: "CNY" count: 2 amount_minor: 120000000 weighted_minor: 68000000 }
      amounts { currency_code: "USD" count: 1 amount_minor: 5000000 weighted_minor: 500000 }
    }
    by_region {
      key: "south" count: 1
      amounts { currency_code: "USD" count: 1 amount_minor: 1000000 weighted_minor: 500000 }
    }
    forecast {
      currency_code: "CNY"
      open_weighted_minor: 68000000 open_count: 2
      won_minor: 28000000 won_count: 1
      total_minor: 96000000
    }
    forecast {
      currency_code: "USD"
      open_weighted_minor: 500000 open_count: 1
      total_minor: 500000
    }
    won_count: 1
    lost_count: 1
    win_rate_percent: 50
    average_sales_cycle_days: 8
    lost_reasons {
      reason: LOST_REASON_PRICE count: 1
      amounts { currency_code: "CNY" count: 1 amount_minor: 8000000 }
    }
  )pb")));

  // Scoped: rep-a sees c-n1's opportunities (O1 won, O2 open though rep-b owns it
  // now); rep-b its customer's O3 (and lost O6) and O2 as its owner; the south
  // manager O4 and O5.
  const v1::PipelineReport a = Report({"rep-a", {Role::kSalesRep}, "north"});
  EXPECT_EQ(a.open_count(), 1);
  EXPECT_EQ(a.won_count(), 1);
  EXPECT_EQ(a.lost_count(), 0);
  const v1::PipelineReport b = Report({"rep-b", {Role::kSalesRep}, "north"});
  EXPECT_EQ(b.open_count(), 2);
  EXPECT_EQ(b.lost_count(), 1);
  const v1::PipelineReport south = Report({"mia", {Role::kRegionalManager}, "south"});
  EXPECT_EQ(south.open_count(), 1);
  EXPECT_EQ(south.lost_count(), 1);
  EXPECT_EQ(south.won_count(), 0);
  ASSERT_EQ(south.by_region_size(), 1);
  EXPECT_EQ(south.by_region(0).key(), "south");
  // A period chosen, and filters.
  v1::GetPipelineReportRequest december;
  december.set_period_from("2026-12-01");
  december.set_period_to("2026-12-31");
  december.set_region("north");
  auto dec = Call(&SalesApp::GetPipelineReport, root_, december);
  ASSERT_TRUE(dec.ok());
  ASSERT_EQ(dec->report().forecast_size(), 1);  // O2 closes on Dec 15
  EXPECT_EQ(dec->report().forecast(0).currency_code(), "USD");
  EXPECT_EQ(dec->report().forecast(0).open_weighted_minor(), 500000);
  EXPECT_EQ(dec->report().won_count(), 0);
  december.set_period_to("2026-11-30");
  EXPECT_EQ(Call(&SalesApp::GetPipelineReport, root_, december).status().code(),
            absl::StatusCode::kInvalidArgument);

  // The opportunity as it was, and its history.
  v1::GetOpportunityRequest get;
  get.set_opportunity_id(o4);
  *get.mutable_as_of() = ToProtoTimestamp(kNov12);
  auto past = Call(&SalesApp::GetOpportunity, root_, get);
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(past->opportunity().stage(), v1::OPPORTUNITY_STAGE_WON);
  get.clear_as_of();
  EXPECT_EQ(Call(&SalesApp::GetOpportunity, root_, get)->opportunity().stage(),
            v1::OPPORTUNITY_STAGE_NEEDS_ANALYSIS);
  *get.mutable_as_of() = ToProtoTimestamp(kDay0 - absl::Hours(1));
  EXPECT_EQ(Call(&SalesApp::GetOpportunity, root_, get).status().code(),
            absl::StatusCode::kNotFound);
  v1::GetOpportunityHistoryRequest history;
  history.set_opportunity_id(o4);
  auto h = Call(&SalesApp::GetOpportunityHistory, root_, history);
  ASSERT_TRUE(h.ok());
  std::vector<std::string> types;
  for (const auto& e : h->entries()) types.push_back(e.event_type());
  EXPECT_THAT(types, ::testing::ElementsAre("crm.interaction.v1.OpportunityCreated",
                                            "crm.interaction.v1.OpportunityStageChanged",
                                            "crm.interaction.v1.OpportunityWon",
                                            "crm.interaction.v1.OpportunityReopened"));
  EXPECT_EQ(h->entries(3).actor(), "root");
  EXPECT_EQ(h->entries(3).occurred_at().seconds(), absl::ToUnixSeconds(kNov15));

  // The rows are exactly what a rebuild from the log gives.
  Open();
  command::AggregateProjector<OpportunityAggregate> projector(Opportunities());
  ExpectRebuildReproducesTheRows(projector,
                                 {std::string(kOpportunitiesProjection),
                                  std::string(kOpportunityIndexProjection),
                                  std::string(kPlanDueProjection), std::string(kPlanTodoProjection)});
}

TEST_F(SalesAppTest, PlanStepsLinkTheVisitThatDidThemAndOverdueOnesAreReportedOnce) {
  Registered("c1", "alice", "north");
  Registered("c2", "carol", "south");
  const Principal alice{"alice", {Role::kSalesRep}, "north"};
  const std::string o = Create(alice, "c1", "CNY", 500000, "2026-12-31");
  v1::AddPlanStepRequest add;
  add.set_opportunity_id(o);
  add.set_planned_date("2026-11-03");
  add.set_action("Visit the plant");
  auto step1 = Call(&SalesApp::AddPlanStep, alice, add);
  ASSERT_TRUE(step1.ok()) << step1.status();
  EXPECT_EQ(step1->step_id(), "1");
  add.set_planned_date("2026-11-20");
  add.set_action("Send the proposal");
  ASSERT_EQ(Call(&SalesApp::AddPlanStep, alice, add)->step_id(), "2");

  // Nothing is overdue on day 0; on Nov 4, step 1 is, once.
  EXPECT_EQ(*app_->ReportOverdueSteps(), 0);
  clock_.Set(kDay0 + absl::Hours(48));
  EXPECT_EQ(*app_->ReportOverdueSteps(), 1);
  EXPECT_EQ(*app_->ReportOverdueSteps(), 0);
  auto all = store_->ReadAll(1, SIZE_MAX);
  int overdue_events = 0;
  for (const auto& e : *all) overdue_events += e.event_type() == "crm.interaction.v1.PlanStepOverdue";
  EXPECT_EQ(overdue_events, 1);
  // The rep's to-do list: step 1; nobody else's.
  auto todo = Call(&SalesApp::ListOverduePlanSteps, alice, v1::ListOverduePlanStepsRequest());
  ASSERT_TRUE(todo.ok());
  ASSERT_EQ(todo->steps_size(), 1);
  EXPECT_EQ(todo->steps(0).opportunity_id(), o);
  EXPECT_EQ(todo->steps(0).step().step_id(), "1");
  EXPECT_TRUE(todo->steps(0).step().overdue_reported());
  v1::ListOverduePlanStepsRequest of_alice;
  of_alice.set_responsible("alice");
  EXPECT_EQ(Call(&SalesApp::ListOverduePlanSteps, Principal{"carol", {Role::kSalesRep}, "south"},
                 of_alice)->steps_size(), 0);

  // Carried out by a logged visit of the same customer; a visit of another is refused.
  v1::PlanVisitRequest plan;
  plan.set_customer_id("c1");
  plan.mutable_plan()->set_purpose("Plant tour");
  *plan.mutable_plan()->mutable_scheduled_at() = ToProtoTimestamp(clock_.Now() + absl::Hours(1));
  plan.mutable_plan()->add_visitors("alice");
  auto visit = command::Await(*interactions_, &InteractionApp::PlanVisit, alice, plan);
  ASSERT_TRUE(visit.ok()) << visit.status();
  plan.set_customer_id("c2");
  auto other = command::Await(*interactions_, &InteractionApp::PlanVisit, root_, plan);
  ASSERT_TRUE(other.ok()) << other.status();
  v1::CompletePlanStepRequest complete;
  complete.set_opportunity_id(o);
  complete.set_step_id("1");
  complete.set_result("Pilot agreed");
  complete.set_interaction_id(other->interaction_id());
  EXPECT_EQ(Call(&SalesApp::CompletePlanStep, alice, complete).status().code(),
            absl::StatusCode::kNotFound);
  // A visit that is only planned did not carry anything out yet.
  complete.set_interaction_id(visit->interaction_id());
  EXPECT_EQ(Call(&SalesApp::CompletePlanStep, alice, complete).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::RecordVisitRequest record;
  record.set_interaction_id(visit->interaction_id());
  record.mutable_record()->set_summary("Toured the plant; pilot agreed");
  ASSERT_TRUE(command::Await(*interactions_, &InteractionApp::RecordVisit, alice, record).ok());
  ASSERT_TRUE(Call(&SalesApp::CompletePlanStep, alice, complete).ok());
  EXPECT_EQ(Call(&SalesApp::ListOverduePlanSteps, alice, v1::ListOverduePlanStepsRequest())
                ->steps_size(),
            0);
  v1::GetOpportunityRequest get;
  get.set_opportunity_id(o);
  auto got = Call(&SalesApp::GetOpportunity, alice, get);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->opportunity().plan(0).interaction_id(), visit->interaction_id());
  EXPECT_EQ(got->opportunity().plan(0).status(), v1::PLAN_STEP_STATUS_DONE);

  // Another owner than the customer's is an assignment: managers only.
  v1::CreateOpportunityRequest for_bob;
  for_bob.set_customer_id("c1");
  for_bob.set_owner("bob");
  for_bob.mutable_details()->set_title("For Bob");
  for_bob.mutable_details()->set_source(v1::OPPORTUNITY_SOURCE_OTHER);
  for_bob.mutable_details()->mutable_expected_amount()->set_currency_code("CNY");
  for_bob.mutable_details()->set_expected_close_date("2026-12-01");
  EXPECT_EQ(Call(&SalesApp::CreateOpportunity, alice, for_bob).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Call(&SalesApp::CreateOpportunity,
                 Principal{"mia", {Role::kRegionalManager}, "south"}, for_bob)
                .status()
                .code(),
            absl::StatusCode::kNotFound);  // c1 is in the north: not visible, as if absent
  EXPECT_TRUE(
      Call(&SalesApp::CreateOpportunity, Principal{"nina", {Role::kRegionalManager}, "north"},
           for_bob)
          .ok());
  for_bob.set_owner("alice");  // the customer's owner: no assignment
  EXPECT_TRUE(Call(&SalesApp::CreateOpportunity, alice, for_bob).ok());

  // Lists carry no plan or histories; GetOpportunity does.
  v1::ListOpportunitiesRequest of_c1;
  of_c1.set_customer_id("c1");
  auto listed = Call(&SalesApp::ListOpportunities, alice, of_c1);
  ASSERT_TRUE(listed.ok());
  bool found = false;
  for (const auto& item : listed->opportunities()) {
    EXPECT_EQ(item.plan_size(), 0);
    EXPECT_EQ(item.stage_history_size(), 0);
    found |= item.opportunity_id() == o;
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(got->opportunity().plan_size(), 2);

  // A replay of a create with its command id gets the first answer.
  v1::CreateOpportunityRequest create;
  create.mutable_options()->set_command_id("create-1");
  create.set_customer_id("c1");
  create.mutable_details()->set_title("Second deal");
  create.mutable_details()->set_source(v1::OPPORTUNITY_SOURCE_OTHER);
  create.mutable_details()->mutable_expected_amount()->set_currency_code("CNY");
  create.mutable_details()->set_expected_close_date("2026-12-01");
  auto first = Call(&SalesApp::CreateOpportunity, alice, create);
  auto again = Call(&SalesApp::CreateOpportunity, alice, create);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->opportunity_id(), again->opportunity_id());
  create.mutable_details()->set_title("Another");
  EXPECT_EQ(Call(&SalesApp::CreateOpportunity, alice, create).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Every RPC × every role × own / same region / other region / granted / expired
// grant: allowed, or the exact denial; lists and reports hold exactly the
// visible opportunities.
TEST_F(SalesAppTest, AuthorizationMatrix) {
  enum Relation { kOwn, kSameRegion, kOtherRegion, kGranted, kExpired, kRelations };
  struct RoleCase {
    std::string role;
    bool visible[kRelations];
    bool manager;
  };
  const std::vector<RoleCase> roles = {
      {"sales_rep", {true, false, false, true, false}, false},
      {"service_agent", {true, false, false, true, false}, false},
      {"regional_manager", {true, true, false, true, false}, true},
      {"executive", {true, true, true, true, true}, true},
      {"admin", {true, true, true, true, true}, true},
      {"service", {true, true, true, true, true}, true},
      {"", {false, false, false, true, false}, false},
  };
  int round = 0;
  for (const RoleCase& rc : roles) {
    SCOPED_TRACE("role " + (rc.role.empty() ? std::string("(none)") : rc.role));
    // Each role on a store of its own, so lists and reports can be counted exactly.
    Open(absl::StrCat("db-", ++round));
    const std::string me = "user-" + (rc.role.empty() ? std::string("none") : rc.role);
    Principal caller{me, {}, "north"};
    if (auto r = auth::ParseRole(rc.role)) caller.roles.insert(*r);
    // Per relation: one to work on and lose, one won, and one kept open with a
    // step of the caller's that is overdue (planned the day before kDay0).
    std::string customers[kRelations], open[kRelations], won[kRelations], todo[kRelations];
    int reopened = 0;
    const char* owners[] = {me.c_str(), "other", "other", "other", "other"};
    const char* regions[] = {"north", "north", "south", "south", "south"};
    for (int r = 0; r < kRelations; ++r) {
      customers[r] = absl::StrCat(me, "-c", r);
      Registered(customers[r], owners[r], regions[r]);
      if (r == kGranted || r == kExpired) {
        Granted(customers[r], me,
                clock_.Now() + (r == kGranted ? absl::Hours(24) : -absl::Hours(1)));
      }
      open[r] = Create(root_, customers[r], "CNY", 100000, "2026-12-31");
      won[r] = Create(root_, customers[r], "CNY", 200000, "2026-12-31");
      todo[r] = Create(root_, customers[r], "CNY", 300000, "2026-12-31");
      v1::AddPlanStepRequest overdue;
      overdue.set_opportunity_id(todo[r]);
      overdue.set_planned_date("2026-11-01");
      overdue.set_action("Call back");
      overdue.set_responsible(me);
      ASSERT_TRUE(Call(&SalesApp::AddPlanStep, root_, overdue).ok());
      ASSERT_TRUE(Win(won[r], "CNY", 200000).ok());
    }
    for (int r = 0; r < kRelations; ++r) {
      SCOPED_TRACE(absl::StrCat("relation ", r));
      // An opportunity or customer the caller may not see: NOT_FOUND, as if absent.
      const absl::StatusCode want =
          rc.visible[r] ? absl::StatusCode::kOk : absl::StatusCode::kNotFound;
      // A regional manager manages its own region's only (here: north).
      const bool manages = rc.visible[r] && rc.manager &&
                           (rc.role != "regional_manager" || std::string(regions[r]) == "north");
      reopened += manages;
      const absl::StatusCode want_manager = manages         ? absl::StatusCode::kOk
                                            : rc.visible[r] ? absl::StatusCode::kPermissionDenied
                                                            : absl::StatusCode::kNotFound;
      auto code = [](const auto& result) { return result.status().code(); };
      v1::CreateOpportunityRequest create;
      create.set_customer_id(customers[r]);
      create.mutable_details()->set_title("New");
      create.mutable_details()->set_source(v1::OPPORTUNITY_SOURCE_OTHER);
      create.mutable_details()->mutable_expected_amount()->set_currency_code("CNY");
      create.mutable_details()->set_expected_close_date("2026-12-31");
      EXPECT_EQ(code(Call(&SalesApp::CreateOpportunity, caller, create)), want);
      v1::UpdateOpportunityRequest update;
      update.set_opportunity_id(open[r]);
      *update.mutable_details() = create.details();
      EXPECT_EQ(code(Call(&SalesApp::UpdateOpportunity, caller, update)), want);
      v1::SetOpportunityProbabilityRequest probability;
      probability.set_opportunity_id(open[r]);
      probability.set_probability(42);
      EXPECT_EQ(code(Call(&SalesApp::SetOpportunityProbability, caller, probability)), want);
      v1::AddPlanStepRequest add;
      add.set_opportunity_id(open[r]);
      add.set_planned_date("2026-11-20");
      add.set_action("Call");
      EXPECT_EQ(code(Call(&SalesApp::AddPlanStep, caller, add)), want);
      v1::CompletePlanStepRequest complete;
      complete.set_opportunity_id(open[r]);
      complete.set_step_id("1");
      complete.set_result("Called");
      // Step 1 exists only when the caller could add it; otherwise root adds it.
      if (!rc.visible[r]) {
        ASSERT_TRUE(Call(&SalesApp::AddPlanStep, root_, add).ok());
      }
      EXPECT_EQ(code(Call(&SalesApp::CompletePlanStep, caller, complete)), want);
      v1::MoveOpportunityStageRequest move;
      move.set_opportunity_id(open[r]);
      move.set_stage(v1::OPPORTUNITY_STAGE_PROPOSAL);
      EXPECT_EQ(code(Call(&SalesApp::MoveOpportunityStage, caller, move)), want);
      v1::AssignOpportunityRequest assign;
      assign.set_opportunity_id(open[r]);
      assign.set_owner("someone-else");
      EXPECT_EQ(code(Call(&SalesApp::AssignOpportunity, caller, assign)), want_manager);
      v1::ReopenOpportunityRequest reopen;
      reopen.set_opportunity_id(won[r]);
      reopen.set_reason("back");
      EXPECT_EQ(code(Call(&SalesApp::ReopenOpportunity, caller, reopen)), want_manager);
      v1::GetOpportunityRequest get;
      get.set_opportunity_id(won[r]);
      EXPECT_EQ(code(Call(&SalesApp::GetOpportunity, caller, get)), want);
      v1::GetOpportunityHistoryRequest history;
      history.set_opportunity_id(won[r]);
      EXPECT_EQ(code(Call(&SalesApp::GetOpportunityHistory, caller, history)), want);
      v1::ListOpportunitiesRequest by_customer;
      by_customer.set_customer_id(customers[r]);
      EXPECT_EQ(code(Call(&SalesApp::ListOpportunities, caller, by_customer)), want);
      // Losing last: the open one is then closed.
      v1::LoseOpportunityRequest lose;
      lose.set_opportunity_id(open[r]);
      lose.set_reason(v1::LOST_REASON_NO_BUDGET);
      const absl::Status lost = Call(&SalesApp::LoseOpportunity, caller, lose).status();
      EXPECT_EQ(lost.code(), want) << lost;
      if (!lost.ok()) {
        ASSERT_TRUE(Call(&SalesApp::LoseOpportunity, root_, lose).ok());
      }
      // A won one cannot be won again; the access check comes first.
      EXPECT_EQ(code(Call(&SalesApp::WinOpportunity, caller, [&] {
                  v1::WinOpportunityRequest w;
                  w.set_opportunity_id(open[r]);
                  w.mutable_final_amount()->set_currency_code("CNY");
                  w.mutable_final_amount()->set_amount_minor(1);
                  return w;
                }())),
                rc.visible[r] ? absl::StatusCode::kFailedPrecondition : want);
    }

    // Lists, the to-do list and the report hold exactly the visible customers'
    // opportunities: the matrix's three each, and the one the caller created.
    std::set<std::string> expected;
    int created = 0;
    for (int r = 0; r < kRelations; ++r) {
      if (!rc.visible[r]) continue;
      expected.insert(open[r]);
      expected.insert(won[r]);
      expected.insert(todo[r]);
      ++created;
    }
    // The caller is responsible for a step on every relation's `todo`; it lists
    // those it can see only.
    auto overdue = Call(&SalesApp::ListOverduePlanSteps, caller, v1::ListOverduePlanStepsRequest());
    ASSERT_TRUE(overdue.ok()) << overdue.status();
    std::set<std::string> todo_seen;
    for (const auto& step : overdue->steps()) todo_seen.insert(step.opportunity_id());
    std::set<std::string> todo_expected;
    for (int r = 0; r < kRelations; ++r) {
      if (rc.visible[r]) todo_expected.insert(todo[r]);
    }
    EXPECT_EQ(todo_seen, todo_expected);
    v1::ListOpportunitiesRequest all;
    all.set_page_size(500);
    std::set<std::string> seen;
    for (std::string token;;) {
      all.set_page_token(token);
      auto listed = Call(&SalesApp::ListOpportunities, caller, all);
      ASSERT_TRUE(listed.ok()) << listed.status();
      for (const auto& o : listed->opportunities()) seen.insert(o.opportunity_id());
      token = listed->next_page_token();
      if (token.empty()) break;
    }
    EXPECT_EQ(seen.size(), expected.size() + created);
    for (const std::string& id : expected) EXPECT_TRUE(seen.count(id)) << id;
    // The report: per visible relation the open one lost, the won one won (or,
    // reopened by a manager, open again), `todo` open, and the caller's new one open.
    v1::GetPipelineReportRequest report;
    auto rep = Call(&SalesApp::GetPipelineReport, caller, report);
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->report().lost_count(), created);
    EXPECT_EQ(rep->report().won_count(), created - reopened);
    EXPECT_EQ(rep->report().open_count(), 2 * created + reopened);
  }
}

// A list's page token opens only for that list, with its filters, for its caller:
// not for another list of the same store (opportunities, the to-do list, the
// interactions, a history), another caller or other filters.
TEST_F(SalesAppTest, APageTokenIsRefusedByAnotherListCallerOrFilter) {
  Registered("c-1", "rep-a", "north");
  for (int i = 0; i < 5; ++i) Create(root_, "c-1", "CNY", 1000 + i, absl::StrCat("2026-12-1", i));
  const Principal rep_a{"rep-a", {Role::kSalesRep}, "north"};
  const Principal rep_a_elsewhere{"rep-a", {Role::kSalesRep}, "south"};
  v1::ListOpportunitiesRequest list;
  list.set_page_size(2);
  auto first = Call(&SalesApp::ListOpportunities, rep_a, list);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->opportunities_size(), 2);
  const std::string token = first->next_page_token();
  ASSERT_FALSE(token.empty());
  list.set_page_token(token);
  auto second = Call(&SalesApp::ListOpportunities, rep_a, list);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->opportunities_size(), 2);
  EXPECT_NE(second->opportunities(0).opportunity_id(), first->opportunities(1).opportunity_id());

  const auto expect_refused = [](const absl::Status& s) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_EQ(s.message(), "page_token: not a token of this list");
  };
  // Another caller: another subject, or the same subject with another region.
  expect_refused(Call(&SalesApp::ListOpportunities, root_, list).status());
  expect_refused(Call(&SalesApp::ListOpportunities, rep_a_elsewhere, list).status());
  // Other filters.
  v1::ListOpportunitiesRequest filtered = list;
  filtered.set_customer_id("c-1");
  expect_refused(Call(&SalesApp::ListOpportunities, rep_a, filtered).status());
  filtered = list;
  filtered.set_status(v1::OPPORTUNITY_STATUS_OPEN);
  expect_refused(Call(&SalesApp::ListOpportunities, rep_a, filtered).status());
  // Other lists of the same store.
  v1::ListOverduePlanStepsRequest todo;
  todo.set_page_token(token);
  expect_refused(Call(&SalesApp::ListOverduePlanSteps, rep_a, todo).status());
  v1::ListInteractionsRequest interactions;
  interactions.set_page_token(token);
  expect_refused(
      command::Await(*interactions_, &InteractionApp::ListInteractions, rep_a, interactions)
          .status());
  v1::GetOpportunityHistoryRequest history;
  history.set_opportunity_id(first->opportunities(0).opportunity_id());
  history.set_page_token(token);
  expect_refused(Call(&SalesApp::GetOpportunityHistory, rep_a, history).status());
}

}  // namespace
}  // namespace crm::interaction
