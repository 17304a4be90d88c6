// Given/when/then tests of the opportunity aggregate: every stage transition
// allowed or refused exactly, every invalid input named, probabilities, the
// development plan and its overdue steps. Time is fixed at kNow (2024-03-15
// 08:00 UTC), the actor is "alice".
#include "crm/interaction/domain/opportunity.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/testing/proto_testing.h"
#include "crm/interaction/domain/pipeline_report.h"
#include "domain/testing/aggregate_test.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::interaction {
namespace {

using ::crm::testing::EqualsProto;
using ::crm::testing::TextProto;
using Code = absl::StatusCode;

constexpr char kOpportunityId[] = "o-1";
constexpr char kCustomerId[] = "cust-1";
const absl::Time kNow = absl::FromUnixSeconds(1710489600);  // 2024-03-15T08:00:00Z
const StageTable kStages{.qualification = 10, .needs_analysis = 20, .proposal = 50,
                         .negotiation = 80};

struct OpportunityTraits {
  using State = v1::Opportunity;
  using Event = v1::InteractionEvent;
  using Context = SalesContext;
  static void Apply(State& s, const Event& e, const domain::EventMeta& m) {
    ApplyOpportunity(s, e, m);
  }
  static void CheckIds(const Event& e) {
    EXPECT_EQ(e.opportunity_id(), kOpportunityId);
    EXPECT_EQ(e.customer_id(), kCustomerId);
    EXPECT_TRUE(e.interaction_id().empty());
    EXPECT_TRUE(e.has_opportunity_figures());
  }
};

v1::CreateOpportunityRequest Create() {
  return TextProto<v1::CreateOpportunityRequest>(R"pb(
    customer_id: "cust-1"
    details {
      title: "  ERP rollout  "
      source: OPPORTUNITY_SOURCE_EXHIBITION
      expected_amount { currency_code: "CNY" amount_minor: 1000000 }
      expected_close_date: "2024-06-30"
      contact: "Ms Li"
      description: "Three plants"
    })pb");
}

domain::CustomerRef Customer() {
  return {.customer_id = kCustomerId, .owner = "rep-1", .region = "north"};
}

class OpportunityTest : public domain::testing::AggregateTest<OpportunityTraits> {
 protected:
  OpportunityTest() {
    ctx_ = SalesContext{.actor = "alice", .now = kNow, .stages = &kStages};
    given_at_ = kNow - absl::Hours(48);
  }

  // An open opportunity in `stage` (created, then moved there).
  void GivenIn(v1::OpportunityStage stage) {
    SalesContext then = ctx_;
    then.now = given_at_;
    Events events = *DecideCreateOpportunity(Create(), kOpportunityId, Customer(), then);
    Given(events);
    if (stage == v1::OPPORTUNITY_STAGE_QUALIFICATION) return;
    v1::OpportunityStage open = stage;
    if (!IsOpenStage(stage)) open = v1::OPPORTUNITY_STAGE_NEGOTIATION;
    v1::MoveOpportunityStageRequest move;
    move.set_stage(open);
    Given(*DecideMoveStage(state_, move, then));
    if (stage == v1::OPPORTUNITY_STAGE_WON) {
      v1::WinOpportunityRequest win;
      win.mutable_final_amount()->set_currency_code("CNY");
      win.mutable_final_amount()->set_amount_minor(900000);
      Given(*DecideWin(state_, win, then));
    } else if (stage == v1::OPPORTUNITY_STAGE_LOST) {
      v1::LoseOpportunityRequest lose;
      lose.set_reason(v1::LOST_REASON_PRICE);
      Given(*DecideLose(state_, lose, then));
    }
    ASSERT_EQ(state_.stage(), stage);
  }
};

TEST_F(OpportunityTest, CreateRecordsEverythingAtQualification) {
  When(DecideCreateOpportunity(Create(), kOpportunityId, Customer(), ctx_));
  Then({TextProto<v1::InteractionEvent>(R"pb(
    customer_id: "cust-1"
    opportunity_id: "o-1"
    opportunity_figures {
      stage: OPPORTUNITY_STAGE_QUALIFICATION
      probability: 10
      expected_amount { currency_code: "CNY" amount_minor: 1000000 }
      owner: "rep-1"
      region: "north"
    }
    opportunity_created {
      details {
        title: "ERP rollout"
        source: OPPORTUNITY_SOURCE_EXHIBITION
        expected_amount { currency_code: "CNY" amount_minor: 1000000 }
        expected_close_date: "2024-06-30"
        contact: "Ms Li"
        description: "Three plants"
      }
      owner: "rep-1"
      region: "north"
      stage: OPPORTUNITY_STAGE_QUALIFICATION
      probability: 10
    })pb")});
  EXPECT_EQ(state_.created_by(), "alice");
  EXPECT_EQ(state_.owner(), "rep-1");
  ASSERT_EQ(state_.owner_history_size(), 1);
  EXPECT_EQ(state_.owner_history(0).to_owner(), "rep-1");
  ASSERT_EQ(state_.stage_history_size(), 1);
  EXPECT_EQ(state_.version(), 1u);
}

TEST_F(OpportunityTest, CreateTakesAnOwnerOtherThanTheCustomersAndFallsBackToTheActor) {
  v1::CreateOpportunityRequest r = Create();
  r.set_owner("rep-9");
  When(DecideCreateOpportunity(r, kOpportunityId, Customer(), ctx_));
  ASSERT_TRUE(result_.ok());
  EXPECT_EQ(result_->front().opportunity_created().owner(), "rep-9");
  When(DecideCreateOpportunity(Create(), kOpportunityId,
                               {.customer_id = kCustomerId, .owner = "", .region = "north"}, ctx_));
  ASSERT_TRUE(result_.ok());
  EXPECT_EQ(result_->front().opportunity_created().owner(), "alice");
}

struct InvalidCase {
  std::string name;
  std::function<void(v1::CreateOpportunityRequest&)> change;
  std::string field;
};

TEST_F(OpportunityTest, EveryInvalidInputOfCreateNamesItsField) {
  const std::vector<InvalidCase> cases = {
      {"empty title", [](auto& r) { r.mutable_details()->clear_title(); }, "details.title"},
      {"blank title", [](auto& r) { r.mutable_details()->set_title("   "); }, "details.title"},
      {"long title", [](auto& r) { r.mutable_details()->set_title(std::string(201, 'x')); },
       "details.title"},
      {"no source", [](auto& r) { r.mutable_details()->clear_source(); }, "details.source"},
      {"unknown source",
       [](auto& r) { r.mutable_details()->set_source(static_cast<v1::OpportunitySource>(99)); },
       "details.source"},
      {"campaign without id",
       [](auto& r) { r.mutable_details()->set_source(v1::OPPORTUNITY_SOURCE_CAMPAIGN); },
       "details.campaign_id"},
      {"no amount", [](auto& r) { r.mutable_details()->clear_expected_amount(); },
       "details.expected_amount"},
      {"negative amount",
       [](auto& r) { r.mutable_details()->mutable_expected_amount()->set_amount_minor(-1); },
       "details.expected_amount.amount_minor"},
      {"absurd amount",
       [](auto& r) {
         r.mutable_details()->mutable_expected_amount()->set_amount_minor(
             kMaxOpportunityAmountMinor + 1);
       },
       "details.expected_amount.amount_minor"},
      {"unknown currency",
       [](auto& r) { r.mutable_details()->mutable_expected_amount()->set_currency_code("XYZ"); },
       "details.expected_amount.currency_code"},
      {"malformed currency",
       [](auto& r) { r.mutable_details()->mutable_expected_amount()->set_currency_code("cn"); },
       "details.expected_amount.currency_code"},
      {"no close date", [](auto& r) { r.mutable_details()->clear_expected_close_date(); },
       "details.expected_close_date"},
      {"bad close date",
       [](auto& r) { r.mutable_details()->set_expected_close_date("2024-02-30"); },
       "details.expected_close_date"},
      {"close date before creation",
       [](auto& r) { r.mutable_details()->set_expected_close_date("2024-03-14"); },
       "details.expected_close_date"},
      {"long contact", [](auto& r) { r.mutable_details()->set_contact(std::string(257, 'c')); },
       "details.contact"},
      {"long description",
       [](auto& r) { r.mutable_details()->set_description(std::string(2001, 'd')); },
       "details.description"},
      {"long owner", [](auto& r) { r.set_owner(std::string(257, 'o')); }, "owner"},
      {"owner with NUL", [](auto& r) { r.set_owner(std::string("bob\0x", 5)); }, "owner"},
      {"campaign id with a newline",
       [](auto& r) {
         r.mutable_details()->set_source(v1::OPPORTUNITY_SOURCE_CAMPAIGN);
         r.mutable_details()->set_campaign_id("c\n1");
       },
       "details.campaign_id"},
  };
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE(c.name);
    v1::CreateOpportunityRequest r = Create();
    c.change(r);
    When(DecideCreateOpportunity(r, kOpportunityId, Customer(), ctx_));
    ThenError(Code::kInvalidArgument, c.field);
  }
  // The day of creation itself is a valid close date.
  v1::CreateOpportunityRequest today = Create();
  today.mutable_details()->set_expected_close_date("2024-03-15");
  EXPECT_TRUE(DecideCreateOpportunity(today, kOpportunityId, Customer(), ctx_).ok());
}

TEST_F(OpportunityTest, CommandsOnAnOpportunityThatDoesNotExistAreNotFound) {
  v1::Opportunity none;
  const std::vector<absl::StatusOr<Events>> results = {
      DecideUpdateOpportunity(none, {}, ctx_),      DecideAssignOpportunity(none, {}, "", ctx_),
      DecideMoveStage(none, {}, ctx_),              DecideSetProbability(none, {}, ctx_),
      DecideWin(none, {}, ctx_),                    DecideLose(none, {}, ctx_),
      DecideReopen(none, {}, ctx_),                 DecideAddPlanStep(none, {}, ctx_),
      DecideCompletePlanStep(none, {}, ctx_),       DecideReportStepOverdue(none, "1", ctx_)};
  for (const auto& r : results) EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status();
}

// --- Stage transitions ------------------------------------------------------------

// What each command does from each stage: "ok", or the code it is refused with.
struct Transition {
  v1::OpportunityStage from;
  std::string command;
  std::string expected;  // "ok" | "FAILED_PRECONDITION"
};

constexpr auto Q = v1::OPPORTUNITY_STAGE_QUALIFICATION;
constexpr auto NA = v1::OPPORTUNITY_STAGE_NEEDS_ANALYSIS;
constexpr auto P = v1::OPPORTUNITY_STAGE_PROPOSAL;
constexpr auto N = v1::OPPORTUNITY_STAGE_NEGOTIATION;
constexpr auto WON = v1::OPPORTUNITY_STAGE_WON;
constexpr auto LOST = v1::OPPORTUNITY_STAGE_LOST;

const std::vector<Transition>& Transitions() {
  static const auto* const kAll = new std::vector<Transition>{
      // Moves between open stages: any other open stage, forward or back.
      {Q, "move QUALIFICATION", "FAILED_PRECONDITION"},
      {Q, "move NEEDS_ANALYSIS", "ok"},
      {Q, "move PROPOSAL", "ok"},
      {Q, "move NEGOTIATION", "ok"},
      {NA, "move QUALIFICATION", "ok"},
      {NA, "move NEEDS_ANALYSIS", "FAILED_PRECONDITION"},
      {NA, "move PROPOSAL", "ok"},
      {NA, "move NEGOTIATION", "ok"},
      {P, "move QUALIFICATION", "ok"},
      {P, "move NEEDS_ANALYSIS", "ok"},
      {P, "move PROPOSAL", "FAILED_PRECONDITION"},
      {P, "move NEGOTIATION", "ok"},
      {N, "move QUALIFICATION", "ok"},
      {N, "move NEEDS_ANALYSIS", "ok"},
      {N, "move PROPOSAL", "ok"},
      {N, "move NEGOTIATION", "FAILED_PRECONDITION"},
      {WON, "move QUALIFICATION", "FAILED_PRECONDITION"},
      {WON, "move NEGOTIATION", "FAILED_PRECONDITION"},
      {LOST, "move QUALIFICATION", "FAILED_PRECONDITION"},
      {LOST, "move NEGOTIATION", "FAILED_PRECONDITION"},
      // Closing: from any open stage only.
      {Q, "win", "ok"},
      {NA, "win", "ok"},
      {P, "win", "ok"},
      {N, "win", "ok"},
      {WON, "win", "FAILED_PRECONDITION"},
      {LOST, "win", "FAILED_PRECONDITION"},
      {Q, "lose", "ok"},
      {NA, "lose", "ok"},
      {P, "lose", "ok"},
      {N, "lose", "ok"},
      {WON, "lose", "FAILED_PRECONDITION"},
      {LOST, "lose", "FAILED_PRECONDITION"},
      // Reopening: closed ones only.
      {Q, "reopen", "FAILED_PRECONDITION"},
      {NA, "reopen", "FAILED_PRECONDITION"},
      {P, "reopen", "FAILED_PRECONDITION"},
      {N, "reopen", "FAILED_PRECONDITION"},
      {WON, "reopen", "ok"},
      {LOST, "reopen", "ok"},
      // Probability and plan: open ones only.
      {Q, "probability", "ok"},
      {N, "probability", "ok"},
      {WON, "probability", "FAILED_PRECONDITION"},
      {LOST, "probability", "FAILED_PRECONDITION"},
      {Q, "add step", "ok"},
      {P, "add step", "ok"},
      {WON, "add step", "FAILED_PRECONDITION"},
      {LOST, "add step", "FAILED_PRECONDITION"},
      // Details and owner: any stage.
      {Q, "update", "ok"},
      {WON, "update", "ok"},
      {LOST, "update", "ok"},
      {N, "assign", "ok"},
      {WON, "assign", "ok"},
  };
  return *kAll;
}

absl::StatusOr<Events> RunCommand(const v1::Opportunity& s, const std::string& command,
                           const SalesContext& ctx) {
  if (command.rfind("move ", 0) == 0) {
    v1::MoveOpportunityStageRequest r;
    v1::OpportunityStage stage = v1::OPPORTUNITY_STAGE_UNSPECIFIED;
    EXPECT_TRUE(v1::OpportunityStage_Parse("OPPORTUNITY_STAGE_" + command.substr(5), &stage));
    r.set_stage(stage);
    return DecideMoveStage(s, r, ctx);
  }
  if (command == "win") {
    v1::WinOpportunityRequest r;
    r.mutable_final_amount()->set_currency_code("USD");
    r.mutable_final_amount()->set_amount_minor(5);
    return DecideWin(s, r, ctx);
  }
  if (command == "lose") {
    v1::LoseOpportunityRequest r;
    r.set_reason(v1::LOST_REASON_COMPETITOR);
    r.set_competitor("Rival Ltd");
    return DecideLose(s, r, ctx);
  }
  if (command == "reopen") {
    v1::ReopenOpportunityRequest r;
    r.set_reason("customer came back");
    return DecideReopen(s, r, ctx);
  }
  if (command == "probability") {
    v1::SetOpportunityProbabilityRequest r;
    r.set_probability(33);
    return DecideSetProbability(s, r, ctx);
  }
  if (command == "add step") {
    v1::AddPlanStepRequest r;
    r.set_planned_date("2024-03-20");
    r.set_action("demo");
    return DecideAddPlanStep(s, r, ctx);
  }
  if (command == "update") {
    v1::UpdateOpportunityRequest r;
    *r.mutable_details() = Create().details();
    r.mutable_details()->set_title("ERP rollout, phase 2");
    return DecideUpdateOpportunity(s, r, ctx);
  }
  if (command == "assign") {
    v1::AssignOpportunityRequest r;
    r.set_owner("rep-2");
    return DecideAssignOpportunity(s, r, "south", ctx);
  }
  ADD_FAILURE() << "unknown command " << command;
  return absl::UnknownError("unknown command");
}

TEST_F(OpportunityTest, EveryStageTransitionIsAllowedOrRefusedExactly) {
  for (const Transition& t : Transitions()) {
    SCOPED_TRACE(StageName(t.from) + " / " + t.command);
    state_.Clear();
    GivenIn(t.from);
    const absl::StatusOr<Events> result = RunCommand(state_, t.command, ctx_);
    if (t.expected == "ok") {
      ASSERT_TRUE(result.ok()) << result.status();
      ASSERT_EQ(result->size(), 1u);
    } else {
      EXPECT_EQ(absl::StatusCodeToString(result.status().code()), t.expected) << result.status();
      // The message names the field and the stage it is in.
      EXPECT_THAT(std::string(result.status().message()),
                  ::testing::AnyOf(::testing::HasSubstr(StageName(t.from)),
                                   ::testing::HasSubstr("already")));
    }
  }
}

TEST_F(OpportunityTest, StageMovesTakeTheTableDefaultOrTheOverride) {
  GivenIn(Q);
  v1::MoveOpportunityStageRequest move;
  move.set_stage(P);
  When(DecideMoveStage(state_, move, ctx_));
  ASSERT_TRUE(result_.ok());
  EXPECT_EQ(result_->front().opportunity_stage_changed().probability(), 50);
  EXPECT_FALSE(result_->front().opportunity_stage_changed().probability_overridden());
  Then(*result_);
  EXPECT_EQ(state_.probability(), 50);
  EXPECT_EQ(state_.opportunity_id(), kOpportunityId);

  move.set_stage(N);
  move.set_probability(65);
  When(DecideMoveStage(state_, move, ctx_));
  Then(*result_);
  EXPECT_EQ(state_.probability(), 65);
  EXPECT_TRUE(state_.probability_overridden());
  EXPECT_EQ(state_.stage_history_size(), 3);  // created, P, N

  // Back to the default of the current stage.
  When(DecideSetProbability(state_, {}, ctx_));
  Then(*result_);
  EXPECT_EQ(state_.probability(), 80);
  EXPECT_FALSE(state_.probability_overridden());
  When(DecideSetProbability(state_, {}, ctx_));
  ThenError(Code::kFailedPrecondition, "probability", "probability: already 80");
}

TEST_F(OpportunityTest, ProbabilityOutsideZeroToHundredIsRefused) {
  GivenIn(Q);
  for (int bad : {-1, 101, 1000}) {
    v1::SetOpportunityProbabilityRequest set;
    set.set_probability(bad);
    When(DecideSetProbability(state_, set, ctx_));
    ThenError(Code::kInvalidArgument, "probability", "probability: must be 0..100");
    v1::MoveOpportunityStageRequest move;
    move.set_stage(P);
    move.set_probability(bad);
    When(DecideMoveStage(state_, move, ctx_));
    ThenError(Code::kInvalidArgument, "probability");
  }
  for (int ok : {0, 100}) {
    v1::SetOpportunityProbabilityRequest set;
    set.set_probability(ok);
    EXPECT_TRUE(DecideSetProbability(state_, set, ctx_).ok()) << ok;
  }
}

TEST_F(OpportunityTest, MoveToAClosingStageOrUnknownStageIsInvalid) {
  GivenIn(Q);
  for (int stage : {0, 5, 6, 42}) {
    v1::MoveOpportunityStageRequest move;
    move.set_stage(static_cast<v1::OpportunityStage>(stage));
    When(DecideMoveStage(state_, move, ctx_));
    ThenError(Code::kInvalidArgument, "stage");
  }
}

TEST_F(OpportunityTest, LostNeedsAReasonAndOtherNeedsItsText) {
  GivenIn(P);
  When(DecideLose(state_, {}, ctx_));
  ThenError(Code::kInvalidArgument, "reason", "reason: required");
  v1::LoseOpportunityRequest lose;
  lose.set_reason(v1::LOST_REASON_OTHER);
  When(DecideLose(state_, lose, ctx_));
  ThenError(Code::kInvalidArgument, "reason_text", "reason_text: required");
  lose.set_reason_text("merged with another project");
  lose.set_competitor(std::string(201, 'c'));
  When(DecideLose(state_, lose, ctx_));
  ThenError(Code::kInvalidArgument, "competitor");
  lose.set_competitor("Rival Ltd");
  When(DecideLose(state_, lose, ctx_));
  Then(*result_);
  EXPECT_EQ(state_.stage(), LOST);
  EXPECT_EQ(state_.probability(), 0);
  EXPECT_EQ(state_.lost_reason(), v1::LOST_REASON_OTHER);
  EXPECT_EQ(state_.competitor(), "Rival Ltd");
  EXPECT_EQ(state_.closed_by(), "alice");
  EXPECT_EQ(state_.closed_at().seconds(), absl::ToUnixSeconds(kNow));
  EXPECT_EQ(result_->front().opportunity_lost().from(), P);
}

TEST_F(OpportunityTest, WonNeedsAPositiveFinalAmount) {
  GivenIn(N);
  When(DecideWin(state_, {}, ctx_));
  ThenError(Code::kInvalidArgument, "final_amount", "final_amount: required");
  v1::WinOpportunityRequest win;
  win.mutable_final_amount()->set_currency_code("CNY");
  win.mutable_final_amount()->set_amount_minor(0);
  When(DecideWin(state_, win, ctx_));
  ThenError(Code::kInvalidArgument, "final_amount.amount_minor",
            "final_amount.amount_minor: must be more than 0");
  win.mutable_final_amount()->set_amount_minor(kMaxOpportunityAmountMinor + 1);
  When(DecideWin(state_, win, ctx_));
  ThenError(Code::kInvalidArgument, "final_amount.amount_minor");
  win.mutable_final_amount()->set_amount_minor(950000);
  When(DecideWin(state_, win, ctx_));
  Then(*result_);
  EXPECT_EQ(state_.stage(), WON);
  EXPECT_EQ(state_.probability(), 100);
  EXPECT_EQ(state_.final_amount().amount_minor(), 950000);
  EXPECT_THAT(result_->front().opportunity_figures(),
              EqualsProto(TextProto<v1::OpportunityFigures>(R"pb(
                stage: OPPORTUNITY_STAGE_WON
                probability: 100
                expected_amount { currency_code: "CNY" amount_minor: 1000000 }
                final_amount { currency_code: "CNY" amount_minor: 950000 }
                owner: "rep-1"
                region: "north")pb")));
}

TEST_F(OpportunityTest, ReopenGoesBackToTheStageItClosedFromAndClearsTheClose) {
  GivenIn(WON);
  When(DecideReopen(state_, {}, ctx_));
  ThenError(Code::kInvalidArgument, "reason", "reason: required");
  v1::ReopenOpportunityRequest reopen;
  reopen.set_reason("the order was cancelled");
  When(DecideReopen(state_, reopen, ctx_));
  Then(*result_);
  EXPECT_EQ(state_.stage(), N);  // closed from NEGOTIATION
  EXPECT_EQ(state_.probability(), 80);
  EXPECT_FALSE(state_.has_final_amount());
  EXPECT_FALSE(state_.has_closed_at());
  EXPECT_EQ(state_.reopened_count(), 1);
  // A chosen stage.
  state_.Clear();
  GivenIn(LOST);
  reopen.set_stage(Q);
  When(DecideReopen(state_, reopen, ctx_));
  Then(*result_);
  EXPECT_EQ(state_.stage(), Q);
  EXPECT_EQ(state_.lost_reason(), v1::LOST_REASON_UNSPECIFIED);
}

TEST_F(OpportunityTest, AssignKeepsTheOwnerHistory) {
  GivenIn(P);
  v1::AssignOpportunityRequest assign;
  assign.set_owner("rep-1");
  When(DecideAssignOpportunity(state_, assign, "south", ctx_));
  ThenError(Code::kFailedPrecondition, "owner", "owner: already rep-1");
  When(DecideAssignOpportunity(state_, {}, "south", ctx_));
  ThenError(Code::kInvalidArgument, "owner", "owner: required");
  assign.set_owner("rep-2");
  assign.set_reason("rep-1 moved to key accounts");
  When(DecideAssignOpportunity(state_, assign, "south", ctx_));
  Then(*result_);
  EXPECT_EQ(state_.owner(), "rep-2");
  EXPECT_EQ(state_.region(), "south");
  ASSERT_EQ(state_.owner_history_size(), 2);
  EXPECT_EQ(state_.owner_history(1).from_owner(), "rep-1");
  EXPECT_EQ(state_.owner_history(1).to_owner(), "rep-2");
  EXPECT_EQ(state_.owner_history(1).changed_by(), "alice");
  EXPECT_EQ(state_.owner_history(1).reason(), "rep-1 moved to key accounts");
}

TEST_F(OpportunityTest, UpdateKeepsTheCreationDayAsTheEarliestCloseDate) {
  GivenIn(Q);  // created on 2024-03-13
  v1::UpdateOpportunityRequest update;
  *update.mutable_details() = Create().details();
  update.mutable_details()->set_expected_close_date("2024-03-12");
  When(DecideUpdateOpportunity(state_, update, ctx_));
  ThenError(Code::kInvalidArgument, "details.expected_close_date");
  update.mutable_details()->set_expected_close_date("2024-03-13");
  update.mutable_details()->mutable_expected_amount()->set_amount_minor(2000000);
  When(DecideUpdateOpportunity(state_, update, ctx_));
  Then(*result_);
  EXPECT_EQ(state_.details().expected_amount().amount_minor(), 2000000);
  When(DecideUpdateOpportunity(state_, update, ctx_));
  ThenError(Code::kFailedPrecondition, "details", "details: nothing changed");
}

TEST_F(OpportunityTest, PlanStepsAreNumberedCompletedOnceAndReportedOverdueOnce) {
  GivenIn(NA);
  v1::AddPlanStepRequest add;
  When(DecideAddPlanStep(state_, add, ctx_));
  ThenError(Code::kInvalidArgument, "planned_date", "planned_date: required");
  add.set_planned_date("2024-03-14");
  When(DecideAddPlanStep(state_, add, ctx_));
  ThenError(Code::kInvalidArgument, "action", "action: required");
  add.set_action("Site visit with the plant manager");
  When(DecideAddPlanStep(state_, add, ctx_));
  Then(*result_);
  add.set_planned_date("2024-03-15");
  add.set_action("Send the proposal");
  add.set_responsible("presales-1");
  When(DecideAddPlanStep(state_, add, ctx_));
  Then(*result_);
  ASSERT_EQ(state_.plan_size(), 2);
  EXPECT_EQ(state_.plan(0).step_id(), "1");
  EXPECT_EQ(state_.plan(0).responsible(), "rep-1");  // the owner
  EXPECT_EQ(state_.plan(1).step_id(), "2");
  EXPECT_EQ(state_.plan(1).responsible(), "presales-1");

  // At kNow (2024-03-15) step 1 (planned 03-14) is overdue, step 2 (today) not yet.
  EXPECT_THAT(OverdueStepIds(state_, kNow), ::testing::ElementsAre("1"));
  When(DecideReportStepOverdue(state_, "2", ctx_));
  ThenNoEvents();
  When(DecideReportStepOverdue(state_, "1", ctx_));
  Then({TextProto<v1::InteractionEvent>(R"pb(
    customer_id: "cust-1"
    opportunity_id: "o-1"
    opportunity_figures {
      stage: OPPORTUNITY_STAGE_NEEDS_ANALYSIS
      probability: 20
      expected_amount { currency_code: "CNY" amount_minor: 1000000 }
      owner: "rep-1"
      region: "north"
    }
    plan_step_overdue {
      step_id: "1"
      planned_date: "2024-03-14"
      responsible: "rep-1"
      detected_at { seconds: 1710489600 }
    })pb")});
  When(DecideReportStepOverdue(state_, "1", ctx_));
  ThenNoEvents();  // once

  v1::CompletePlanStepRequest complete;
  complete.set_step_id("7");
  complete.set_result("done");
  When(DecideCompletePlanStep(state_, complete, ctx_));
  ThenError(Code::kNotFound, "step_id", "step_id: step 7 not found");
  complete.set_step_id("1");
  complete.clear_result();
  When(DecideCompletePlanStep(state_, complete, ctx_));
  ThenError(Code::kInvalidArgument, "result", "result: required");
  complete.set_result("Plant manager agreed to a pilot");
  complete.set_interaction_id("i-77");
  When(DecideCompletePlanStep(state_, complete, ctx_));
  Then(*result_);
  EXPECT_EQ(state_.plan(0).status(), v1::PLAN_STEP_STATUS_DONE);
  EXPECT_EQ(state_.plan(0).interaction_id(), "i-77");
  EXPECT_EQ(state_.plan(0).done_by(), "alice");
  When(DecideCompletePlanStep(state_, complete, ctx_));
  ThenError(Code::kFailedPrecondition, "step_id", "step_id: step 1 is already DONE");

  // A day later step 2 is overdue; once the opportunity is closed, nothing is.
  EXPECT_THAT(OverdueStepIds(state_, kNow + absl::Hours(24)), ::testing::ElementsAre("2"));
  v1::LoseOpportunityRequest lose;
  lose.set_reason(v1::LOST_REASON_TIMING);
  When(DecideLose(state_, lose, ctx_));
  Then(*result_);
  EXPECT_TRUE(OverdueStepIds(state_, kNow + absl::Hours(24)).empty());
}

TEST_F(OpportunityTest, APlanHoldsAtMostTheBoundOfSteps) {
  GivenIn(Q);
  v1::AddPlanStepRequest add;
  add.set_planned_date("2024-04-01");
  add.set_action("call");
  for (int i = 0; i < kMaxPlanSteps; ++i) Given(*DecideAddPlanStep(state_, add, ctx_));
  When(DecideAddPlanStep(state_, add, ctx_));
  ThenError(Code::kFailedPrecondition, "plan");
}

TEST_F(OpportunityTest, TheRowKeepsTheNewestHundredStageChanges) {
  GivenIn(Q);
  v1::MoveOpportunityStageRequest move;
  for (int i = 0; i < 150; ++i) {
    move.set_stage(i % 2 == 0 ? P : Q);
    Given(*DecideMoveStage(state_, move, ctx_));
  }
  ASSERT_EQ(state_.stage_history_size(), kMaxHistoryInRow);
  EXPECT_EQ(state_.stage_history(kMaxHistoryInRow - 1).to(), Q);  // the 150th move, P -> Q
  EXPECT_EQ(state_.version(), 151u);
  v1::AddPlanStepRequest add;
  add.set_planned_date("2024-04-01");
  add.set_action("call");
  add.set_responsible(std::string("bob\0", 4));
  When(DecideAddPlanStep(state_, add, ctx_));
  ThenError(Code::kInvalidArgument, "responsible", "responsible: must not contain control characters");
}

TEST(StageTableTest, ParsesASpecAndRefusesUnknownStagesAndBadValues) {
  absl::StatusOr<StageTable> t = ParseStageTable("proposal=40,negotiation=90");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->Default(v1::OPPORTUNITY_STAGE_QUALIFICATION), 10);
  EXPECT_EQ(t->Default(v1::OPPORTUNITY_STAGE_PROPOSAL), 40);
  EXPECT_EQ(t->Default(v1::OPPORTUNITY_STAGE_NEGOTIATION), 90);
  EXPECT_EQ(t->Default(v1::OPPORTUNITY_STAGE_WON), 100);
  EXPECT_EQ(t->Default(v1::OPPORTUNITY_STAGE_LOST), 0);
  EXPECT_FALSE(ParseStageTable("closing=50").ok());
  EXPECT_FALSE(ParseStageTable("proposal=101").ok());
  EXPECT_FALSE(ParseStageTable("proposal=x").ok());
}

TEST(PipelineReportTest, WeightedAmountsRoundHalfUpPerOpportunity) {
  EXPECT_EQ(Weighted(1000000, 25), 250000);
  EXPECT_EQ(Weighted(1, 50), 1);    // 0.5 -> 1
  EXPECT_EQ(Weighted(1, 49), 0);    // 0.49 -> 0
  EXPECT_EQ(Weighted(333, 10), 33);  // 33.3 -> 33
  EXPECT_EQ(Weighted(kMaxOpportunityAmountMinor, 100), kMaxOpportunityAmountMinor);
}

}  // namespace
}  // namespace crm::interaction
