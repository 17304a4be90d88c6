// Given/when/then tests of the churn case aggregate: every transition allowed or
// refused exactly, every invalid input named, repeated warnings, the review date
// and its overdue report (once), win-backs (once, only when lost), and the churn
// report against a hand-computed scenario (now and as of a date before some
// closes). Time is fixed at kNow (2024-03-15 08:00 UTC), the actor is "alice".
#include "crm/interaction/domain/churn_case.h"

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/testing/proto_testing.h"
#include "crm/common/proto_time.h"
#include "crm/interaction/domain/churn_report.h"
#include "domain/testing/aggregate_test.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::interaction {
namespace {

using ::crm::testing::EqualsProto;
using ::crm::testing::TextProto;
using Code = absl::StatusCode;

constexpr char kCaseId[] = "case-1";
constexpr char kCustomerId[] = "cust-1";
const absl::Time kNow = absl::FromUnixSeconds(1710489600);  // 2024-03-15T08:00:00Z

struct ChurnTraits {
  using State = v1::ChurnCase;
  using Event = v1::InteractionEvent;
  using Context = ChurnContext;
  static void Apply(State& s, const Event& e, const domain::EventMeta& m) {
    ApplyChurnCase(s, e, m);
  }
  static void CheckIds(const Event& e) {
    EXPECT_EQ(e.churn_case_id(), kCaseId);
    EXPECT_EQ(e.customer_id(), kCustomerId);
    EXPECT_TRUE(e.interaction_id().empty());
    EXPECT_TRUE(e.opportunity_id().empty());
  }
};

v1::ChurnWarning Warning(const std::string& event_id, double score = 0.8) {
  v1::ChurnWarning w;
  w.set_event_id(event_id);
  w.set_score(score);
  w.add_criteria("no_interaction_90d");
  w.add_criteria("falling_transactions");
  w.set_reason("no contact for 90 days");
  w.set_rule_set_version(3);
  *w.mutable_raised_at() = ToProtoTimestamp(kNow - absl::Hours(72));
  return w;
}

std::vector<v1::SchemeClass> Classes() {
  std::vector<v1::SchemeClass> out(2);
  out[0].set_scheme(classification::v1::SCHEME_TIER);
  out[0].set_class_name("key");
  out[1].set_scheme(classification::v1::SCHEME_ABCD);
  out[1].set_class_name("A");
  return out;
}

class ChurnCaseTest : public domain::testing::AggregateTest<ChurnTraits> {
 protected:
  ChurnCaseTest() {
    ctx_ = ChurnContext{.actor = "alice", .now = kNow};
    given_at_ = kNow - absl::Hours(48);
  }

  ChurnContext Earlier() const { return ChurnContext{.actor = "bob", .now = given_at_}; }

  absl::StatusOr<Events> OpenOrAdd(const v1::ChurnWarning& w) {
    return DecideOpenOrAddWarning(state_, kCaseId, kCustomerId, "rep-1", "north", w, Classes(),
                                  ctx_);
  }

  // An open case (opened by warning "w-1" at given_at_).
  void GivenOpen() {
    Given(*DecideOpenOrAddWarning(state_, kCaseId, kCustomerId, "rep-1", "north", Warning("w-1"),
                                  Classes(), Earlier()));
  }
  void GivenRetained() {
    GivenOpen();
    Given(*DecideRetainChurnCase(state_, {}, Earlier()));
  }
  void GivenLost() {
    GivenOpen();
    v1::ConfirmChurnRequest confirm;
    confirm.set_reason(v1::CHURN_LOSS_REASON_PRICE);
    Given(*DecideConfirmChurn(state_, confirm, Earlier()));
  }
  void GivenReviewOn(const std::string& day) {
    v1::PostponeChurnRequest p;
    p.set_review_date(day);
    ChurnContext early = Earlier();
    early.now = absl::FromUnixSeconds(1704067200);  // 2024-01-01: any later day is valid
    Given(*DecidePostponeChurn(state_, p, early));
  }

  static v1::RecordRetentionMeasureRequest Measure(const std::string& action = "Visited the CEO") {
    v1::RecordRetentionMeasureRequest r;
    r.set_case_id(kCaseId);
    r.mutable_measure()->set_action(action);
    return r;
  }
};

// --- Opening and warnings -------------------------------------------------------

TEST_F(ChurnCaseTest, TheFirstWarningOpensTheCaseForTheOwner) {
  When(OpenOrAdd(Warning("w-1")));
  Then({TextProto<v1::InteractionEvent>(R"pb(
    churn_case_id: "case-1"
    customer_id: "cust-1"
    churn_case_opened {
      owner: "rep-1"
      region: "north"
      warning {
        event_id: "w-1"
        score: 0.8
        criteria: "no_interaction_90d"
        criteria: "falling_transactions"
        reason: "no contact for 90 days"
        rule_set_version: 3
        raised_at { seconds: 1710230400 }
      }
      classes { scheme: SCHEME_TIER class_name: "key" }
      classes { scheme: SCHEME_ABCD class_name: "A" }
    })pb")});
  EXPECT_THAT(state_, EqualsProto(TextProto<v1::ChurnCase>(R"pb(
    case_id: "case-1"
    customer_id: "cust-1"
    owner: "rep-1"
    region: "north"
    status: CHURN_CASE_STATUS_OPEN
    warnings {
      event_id: "w-1"
      score: 0.8
      criteria: "no_interaction_90d"
      criteria: "falling_transactions"
      reason: "no contact for 90 days"
      rule_set_version: 3
      raised_at { seconds: 1710230400 }
    }
    warning_count: 1
    classes { scheme: SCHEME_TIER class_name: "key" }
    classes { scheme: SCHEME_ABCD class_name: "A" }
    opened_at { seconds: 1710489600 }
    updated_at { seconds: 1710489600 }
    version: 1
  )pb")));
}

TEST_F(ChurnCaseTest, OpeningNeedsTheIdsTheServiceResolved) {
  When(DecideOpenOrAddWarning(state_, "", kCustomerId, "rep-1", "north", Warning("w-1"), {}, ctx_));
  ThenError(Code::kInvalidArgument, "case_id", "case_id: required");
  When(DecideOpenOrAddWarning(state_, kCaseId, "", "rep-1", "north", Warning("w-1"), {}, ctx_));
  ThenError(Code::kInvalidArgument, "customer_id");
  When(DecideOpenOrAddWarning(state_, kCaseId, kCustomerId, "rep-1", "north", Warning(""), {},
                              ctx_));
  ThenError(Code::kInvalidArgument, "warning.event_id");
  When(DecideOpenOrAddWarning(state_, kCaseId, kCustomerId, "rep-1", "north",
                              Warning(std::string(257, 'w')), {}, ctx_));
  ThenError(Code::kInvalidArgument, "warning.event_id");
}

TEST_F(ChurnCaseTest, AnotherWarningWhileOpenIsAddedAndTheSameOneOnlyOnce) {
  GivenOpen();
  When(OpenOrAdd(Warning("w-2", 0.9)));
  v1::InteractionEvent added;
  added.set_churn_case_id(kCaseId);
  added.set_customer_id(kCustomerId);
  *added.mutable_churn_warning_added()->mutable_warning() = Warning("w-2", 0.9);
  Then({added});
  EXPECT_EQ(state_.warning_count(), 2);
  ASSERT_EQ(state_.warnings_size(), 2);
  EXPECT_EQ(state_.warnings(1).event_id(), "w-2");
  EXPECT_EQ(state_.status(), v1::CHURN_CASE_STATUS_OPEN);
  // Delivered again (either one): nothing.
  When(OpenOrAdd(Warning("w-2", 0.9)));
  ThenNoEvents();
  When(OpenOrAdd(Warning("w-1")));
  ThenNoEvents();
  EXPECT_EQ(state_.warning_count(), 2);
}

TEST_F(ChurnCaseTest, AWarningForAClosedCaseIsRefusedNamingTheStatus) {
  GivenRetained();
  When(OpenOrAdd(Warning("w-2")));
  ThenFailed(Code::kFailedPrecondition, "status: case is RETAINED");
}

TEST_F(ChurnCaseTest, TheRowKeepsTheNewest100WarningsAndCountsAll) {
  GivenOpen();
  for (int i = 2; i <= 120; ++i) {
    Given(*DecideOpenOrAddWarning(state_, kCaseId, kCustomerId, "", "",
                                  Warning(absl::StrCat("w-", i)), {}, Earlier()));
  }
  EXPECT_EQ(state_.warning_count(), 120);
  ASSERT_EQ(state_.warnings_size(), kMaxWarningsInRow);
  EXPECT_EQ(state_.warnings(0).event_id(), "w-21");
  EXPECT_EQ(state_.warnings(99).event_id(), "w-120");
  EXPECT_EQ(state_.version(), 120u);
}

// --- Retention measures ---------------------------------------------------------

TEST_F(ChurnCaseTest, AMeasureDefaultsToTodayAndTheCallerAndIsNumbered) {
  GivenOpen();
  When(DecideRecordMeasure(state_, Measure(), ctx_));
  Then({TextProto<v1::InteractionEvent>(R"pb(
    churn_case_id: "case-1"
    customer_id: "cust-1"
    retention_measure_recorded {
      measure {
        measure_id: "1"
        action: "Visited the CEO"
        taken_on: "2024-03-15"
        taken_by: "alice"
        recorded_by: "alice"
        recorded_at { seconds: 1710489600 }
      }
    })pb")});
  v1::RecordRetentionMeasureRequest r = Measure("Offered a 5% discount");
  r.mutable_measure()->set_taken_on("2024-03-14");
  r.mutable_measure()->set_taken_by("rep-2");
  r.mutable_measure()->set_interaction_id("i-7");
  // Values the service sets are ignored.
  r.mutable_measure()->set_measure_id("99");
  r.mutable_measure()->set_recorded_by("mallory");
  When(DecideRecordMeasure(state_, r, ctx_));
  ASSERT_TRUE(result_.ok()) << result_.status();
  ASSERT_EQ(result_->size(), 1u);
  EXPECT_THAT(result_->front().retention_measure_recorded().measure(),
              EqualsProto(TextProto<v1::RetentionMeasure>(R"pb(
                measure_id: "2"
                action: "Offered a 5% discount"
                taken_on: "2024-03-14"
                taken_by: "rep-2"
                interaction_id: "i-7"
                recorded_by: "alice"
                recorded_at { seconds: 1710489600 }
              )pb")));
  Then(*result_);
  EXPECT_EQ(state_.measures_size(), 2);
}

struct InvalidMeasure {
  std::string name;
  std::function<void(v1::RetentionMeasure&)> change;
  std::string field;
};

TEST_F(ChurnCaseTest, EveryInvalidInputOfAMeasureNamesItsField) {
  GivenOpen();
  const std::vector<InvalidMeasure> cases = {
      {"no action", [](auto& m) { m.clear_action(); }, "measure.action"},
      {"blank action", [](auto& m) { m.set_action("  \t "); }, "measure.action"},
      {"long action", [](auto& m) { m.set_action(std::string(2001, 'a')); }, "measure.action"},
      {"bad utf-8 action", [](auto& m) { m.set_action("\xff\xfe"); }, "measure.action"},
      {"malformed day", [](auto& m) { m.set_taken_on("15.03.2024"); }, "measure.taken_on"},
      {"no such day", [](auto& m) { m.set_taken_on("2024-02-30"); }, "measure.taken_on"},
      {"tomorrow", [](auto& m) { m.set_taken_on("2024-03-16"); }, "measure.taken_on"},
      {"long taken_by", [](auto& m) { m.set_taken_by(std::string(257, 'b')); },
       "measure.taken_by"},
      {"taken_by with a newline", [](auto& m) { m.set_taken_by("bo\nb"); }, "measure.taken_by"},
      {"interaction id with NUL",
       [](auto& m) { m.set_interaction_id(std::string("i\0x", 3)); }, "measure.interaction_id"},
  };
  for (const InvalidMeasure& c : cases) {
    SCOPED_TRACE(c.name);
    v1::RecordRetentionMeasureRequest r = Measure();
    c.change(*r.mutable_measure());
    When(DecideRecordMeasure(state_, r, ctx_));
    ThenError(Code::kInvalidArgument, c.field);
  }
  // 2000 characters (not bytes) is fine.
  std::string chinese;
  for (int i = 0; i < 2000; ++i) chinese += "访";
  When(DecideRecordMeasure(state_, Measure(chinese), ctx_));
  EXPECT_TRUE(result_.ok()) << result_.status();
}

TEST_F(ChurnCaseTest, AMeasureOnAClosedCaseIsRefusedNamingTheStatus) {
  GivenLost();
  When(DecideRecordMeasure(state_, Measure(), ctx_));
  ThenFailed(Code::kFailedPrecondition, "status: case is LOST");
  // The request's fields are checked first.
  When(DecideRecordMeasure(state_, Measure(""), ctx_));
  ThenError(Code::kInvalidArgument, "measure.action");
}

TEST_F(ChurnCaseTest, AMeasureOnARetainedCaseIsRefused) {
  GivenRetained();
  When(DecideRecordMeasure(state_, Measure(), ctx_));
  ThenFailed(Code::kFailedPrecondition, "status: case is RETAINED");
}

TEST_F(ChurnCaseTest, ACaseHoldsAtMost200Measures) {
  GivenOpen();
  for (int i = 0; i < kMaxMeasures; ++i) Given(*DecideRecordMeasure(state_, Measure(), Earlier()));
  EXPECT_EQ(state_.measures(kMaxMeasures - 1).measure_id(), "200");
  When(DecideRecordMeasure(state_, Measure(), ctx_));
  ThenFailed(Code::kFailedPrecondition, "measures: at most 200");
}

TEST_F(ChurnCaseTest, CommandsOnACaseThatDoesNotExistAreNotFound) {
  v1::ChurnCase none;
  v1::ConfirmChurnRequest confirm;
  confirm.set_reason(v1::CHURN_LOSS_REASON_PRICE);
  v1::PostponeChurnRequest postpone;
  postpone.set_review_date("2024-04-01");
  const std::vector<absl::StatusOr<Events>> results = {
      DecideRecordMeasure(none, Measure(), ctx_), DecidePostponeChurn(none, postpone, ctx_),
      DecideRetainChurnCase(none, {}, ctx_), DecideConfirmChurn(none, confirm, ctx_)};
  for (const auto& r : results) {
    EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status();
    EXPECT_EQ(r.status().message(), "churn case not found");
  }
  // The reactions decide nothing.
  EXPECT_TRUE(DecideRetainOnRiskCleared(none, 0.1, ctx_)->empty());
  EXPECT_TRUE(DecideChurnWonBack(none, {}, ctx_)->empty());
  EXPECT_TRUE(DecideReportReviewOverdue(none, ctx_)->empty());
}

// --- Postponing and the review date ---------------------------------------------

TEST_F(ChurnCaseTest, PostponingSetsAReviewDateAfterToday) {
  GivenOpen();
  v1::PostponeChurnRequest p;
  p.set_case_id(kCaseId);
  p.set_review_date("2024-03-16");
  p.set_note("CFO decides after the board meeting");
  When(DecidePostponeChurn(state_, p, ctx_));
  Then({TextProto<v1::InteractionEvent>(R"pb(
    churn_case_id: "case-1"
    customer_id: "cust-1"
    churn_review_scheduled { review_date: "2024-03-16" note: "CFO decides after the board meeting" }
  )pb")});
  EXPECT_EQ(state_.review_date(), "2024-03-16");
  EXPECT_EQ(state_.review_note(), "CFO decides after the board meeting");
  EXPECT_FALSE(state_.review_overdue_reported());
}

TEST_F(ChurnCaseTest, EveryInvalidInputOfPostponeNamesItsField) {
  GivenOpen();
  const std::vector<std::pair<std::string, std::string>> dates = {
      {"", "review_date: required"},
      {"2024-3-20", "review_date: not a valid date (YYYY-MM-DD)"},
      {"2023-02-29", "review_date: not a valid date (YYYY-MM-DD)"},
      {"2024-03-15", "review_date: must be after today (2024-03-15)"},
      {"2024-03-01", "review_date: must be after today (2024-03-15)"},
  };
  for (const auto& [date, message] : dates) {
    SCOPED_TRACE(date);
    v1::PostponeChurnRequest p;
    p.set_review_date(date);
    When(DecidePostponeChurn(state_, p, ctx_));
    ThenFailed(Code::kInvalidArgument, message);
  }
  v1::PostponeChurnRequest p;
  p.set_review_date("2024-04-01");
  p.set_note(std::string(2001, 'n'));
  When(DecidePostponeChurn(state_, p, ctx_));
  ThenError(Code::kInvalidArgument, "note");
}

TEST_F(ChurnCaseTest, PostponingAClosedCaseIsRefusedNamingTheStatus) {
  GivenRetained();
  v1::PostponeChurnRequest p;
  p.set_review_date("2024-04-01");
  When(DecidePostponeChurn(state_, p, ctx_));
  ThenFailed(Code::kFailedPrecondition, "status: case is RETAINED");
}

TEST_F(ChurnCaseTest, ACasePastItsReviewDateIsReportedOverdueOncePerReviewDate) {
  GivenOpen();
  // No review date: never overdue.
  When(DecideReportReviewOverdue(state_, ctx_));
  ThenNoEvents();
  // Due on the 14th: overdue from the 15th; on the day itself it is not.
  GivenReviewOn("2024-03-15");
  EXPECT_FALSE(IsReviewOverdue(state_, kNow));
  When(DecideReportReviewOverdue(state_, ctx_));
  ThenNoEvents();
  GivenReviewOn("2024-03-14");
  EXPECT_TRUE(IsReviewOverdue(state_, kNow));
  When(DecideReportReviewOverdue(state_, ctx_));
  Then({TextProto<v1::InteractionEvent>(R"pb(
    churn_case_id: "case-1"
    customer_id: "cust-1"
    churn_case_review_overdue { review_date: "2024-03-14" detected_at { seconds: 1710489600 } }
  )pb")});
  EXPECT_TRUE(state_.review_overdue_reported());
  When(DecideReportReviewOverdue(state_, ctx_));
  ThenNoEvents();
  // A new review date: reported again once it passes.
  GivenReviewOn("2024-03-10");
  EXPECT_FALSE(state_.review_overdue_reported());
  When(DecideReportReviewOverdue(state_, ctx_));
  ASSERT_TRUE(result_.ok());
  ASSERT_EQ(result_->size(), 1u);
  EXPECT_EQ(result_->front().churn_case_review_overdue().review_date(), "2024-03-10");
  Then(*result_);
  When(DecideReportReviewOverdue(state_, ctx_));
  ThenNoEvents();
}

TEST_F(ChurnCaseTest, AClosedCaseIsNeverOverdue) {
  GivenOpen();
  GivenReviewOn("2024-03-10");
  Given(*DecideRetainChurnCase(state_, {}, Earlier()));
  EXPECT_FALSE(IsReviewOverdue(state_, kNow));
  When(DecideReportReviewOverdue(state_, ctx_));
  ThenNoEvents();
}

// --- Closing ----------------------------------------------------------------------

TEST_F(ChurnCaseTest, RetainingByHandClosesTheCase) {
  GivenOpen();
  v1::RetainChurnCaseRequest r;
  r.set_note("signed a two-year renewal");
  When(DecideRetainChurnCase(state_, r, ctx_));
  Then({TextProto<v1::InteractionEvent>(R"pb(
    churn_case_id: "case-1"
    customer_id: "cust-1"
    churn_case_retained { note: "signed a two-year renewal" }
  )pb")});
  EXPECT_EQ(state_.status(), v1::CHURN_CASE_STATUS_RETAINED);
  EXPECT_EQ(state_.closed_by(), "alice");
  EXPECT_EQ(FromProtoTimestamp(state_.closed_at()), kNow);
  EXPECT_EQ(state_.closing_note(), "signed a two-year renewal");
  EXPECT_FALSE(state_.retained_by_risk_cleared());
  When(DecideRetainChurnCase(state_, r, ctx_));
  ThenFailed(Code::kFailedPrecondition, "status: case is RETAINED");
  r.set_note(std::string(2001, 'x'));
  When(DecideRetainChurnCase(state_, r, ctx_));
  ThenError(Code::kInvalidArgument, "note");
}

TEST_F(ChurnCaseTest, RiskClearedRetainsAnOpenCaseAndNothingElse) {
  GivenOpen();
  When(DecideRetainOnRiskCleared(state_, 0.25, ctx_));
  Then({TextProto<v1::InteractionEvent>(R"pb(
    churn_case_id: "case-1"
    customer_id: "cust-1"
    churn_case_retained { risk_cleared: true score: 0.25 }
  )pb")});
  EXPECT_EQ(state_.status(), v1::CHURN_CASE_STATUS_RETAINED);
  EXPECT_TRUE(state_.retained_by_risk_cleared());
  // Cleared again: the case is closed already.
  When(DecideRetainOnRiskCleared(state_, 0.2, ctx_));
  ThenNoEvents();
}

TEST_F(ChurnCaseTest, RiskClearedAfterTheLossChangesNothing) {
  GivenLost();
  When(DecideRetainOnRiskCleared(state_, 0.1, ctx_));
  ThenNoEvents();
  EXPECT_EQ(state_.status(), v1::CHURN_CASE_STATUS_LOST);
}

TEST_F(ChurnCaseTest, ConfirmingTheLossRecordsReasonOwnerAndRegion) {
  GivenOpen();
  v1::ConfirmChurnRequest c;
  c.set_reason(v1::CHURN_LOSS_REASON_COMPETITOR);
  c.set_reason_text("moved to Acme");
  c.set_note("lost despite the discount");
  When(DecideConfirmChurn(state_, c, ctx_));
  Then({TextProto<v1::InteractionEvent>(R"pb(
    churn_case_id: "case-1"
    customer_id: "cust-1"
    churn_loss_confirmed {
      reason: CHURN_LOSS_REASON_COMPETITOR
      reason_text: "moved to Acme"
      note: "lost despite the discount"
      owner: "rep-1"
      region: "north"
    })pb")});
  EXPECT_EQ(state_.status(), v1::CHURN_CASE_STATUS_LOST);
  EXPECT_EQ(state_.loss_reason(), v1::CHURN_LOSS_REASON_COMPETITOR);
  EXPECT_EQ(state_.loss_reason_text(), "moved to Acme");
  EXPECT_EQ(state_.closing_note(), "lost despite the discount");
  EXPECT_EQ(state_.closed_by(), "alice");
  EXPECT_EQ(FromProtoTimestamp(state_.closed_at()), kNow);
  When(DecideConfirmChurn(state_, c, ctx_));
  ThenFailed(Code::kFailedPrecondition, "status: case is LOST");
}

TEST_F(ChurnCaseTest, EveryInvalidInputOfConfirmNamesItsField) {
  GivenOpen();
  struct Case {
    std::string name;
    std::function<void(v1::ConfirmChurnRequest&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no reason", [](auto& r) { r.clear_reason(); }, "reason: required"},
      {"unknown reason", [](auto& r) { r.set_reason(static_cast<v1::ChurnLossReason>(99)); },
       "reason: unknown value 99"},
      {"other without text", [](auto& r) { r.set_reason(v1::CHURN_LOSS_REASON_OTHER); },
       "reason_text: required"},
      {"other with blank text",
       [](auto& r) {
         r.set_reason(v1::CHURN_LOSS_REASON_OTHER);
         r.set_reason_text("   ");
       },
       "reason_text: required"},
      {"long text", [](auto& r) { r.set_reason_text(std::string(2001, 't')); },
       "reason_text: at most 2000 characters"},
      {"long note", [](auto& r) { r.set_note(std::string(2001, 'n')); },
       "note: at most 2000 characters"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::ConfirmChurnRequest r;
    r.set_reason(v1::CHURN_LOSS_REASON_PRICE);
    c.change(r);
    When(DecideConfirmChurn(state_, r, ctx_));
    ThenFailed(Code::kInvalidArgument, c.message);
  }
  // OTHER with its text is fine.
  v1::ConfirmChurnRequest other;
  other.set_reason(v1::CHURN_LOSS_REASON_OTHER);
  other.set_reason_text("the owner retired");
  EXPECT_TRUE(DecideConfirmChurn(state_, other, ctx_).ok());
}

TEST_F(ChurnCaseTest, ConfirmingARetainedCaseIsRefused) {
  GivenRetained();
  v1::ConfirmChurnRequest c;
  c.set_reason(v1::CHURN_LOSS_REASON_PRICE);
  When(DecideConfirmChurn(state_, c, ctx_));
  ThenFailed(Code::kFailedPrecondition, "status: case is RETAINED");
}

// --- Win-backs --------------------------------------------------------------------

v1::WinBack Back(const std::string& event_id) {
  v1::WinBack w;
  w.set_lifecycle(customer::v1::LIFECYCLE_COOPERATING);
  *w.mutable_at() = ToProtoTimestamp(kNow - absl::Hours(1));
  w.set_event_id(event_id);
  w.set_actor("rep-1");
  return w;
}

TEST_F(ChurnCaseTest, ALostCustomerIsWonBackOnce) {
  GivenLost();
  When(DecideChurnWonBack(state_, Back("lc-1"), ctx_));
  Then({TextProto<v1::InteractionEvent>(R"pb(
    churn_case_id: "case-1"
    customer_id: "cust-1"
    churn_case_won_back {
      win_back {
        lifecycle: LIFECYCLE_COOPERATING
        at { seconds: 1710486000 }
        event_id: "lc-1"
        actor: "rep-1"
      }
    })pb")});
  EXPECT_EQ(state_.status(), v1::CHURN_CASE_STATUS_LOST);
  EXPECT_EQ(state_.win_back().event_id(), "lc-1");
  When(DecideChurnWonBack(state_, Back("lc-2"), ctx_));
  ThenNoEvents();
  EXPECT_EQ(state_.win_back().event_id(), "lc-1");
}

TEST_F(ChurnCaseTest, OnlyALostCaseIsWonBack) {
  GivenOpen();
  When(DecideChurnWonBack(state_, Back("lc-1"), ctx_));
  ThenNoEvents();
  Given(*DecideRetainChurnCase(state_, {}, Earlier()));
  When(DecideChurnWonBack(state_, Back("lc-1"), ctx_));
  ThenNoEvents();
  EXPECT_FALSE(state_.has_win_back());
}

// --- Following the customer's owner ---------------------------------------------------

TEST_F(ChurnCaseTest, AnOpenCaseFollowsItsCustomerToTheNewOwnerAndRegion) {
  GivenOpen();
  When(DecideReassignChurnCase(state_, "rep-2", "south", ctx_));
  Then({TextProto<v1::InteractionEvent>(R"pb(
    churn_case_id: "case-1"
    customer_id: "cust-1"
    churn_case_reassigned {
      from_owner: "rep-1"
      to_owner: "rep-2"
      from_region: "north"
      to_region: "south"
    })pb")});
  EXPECT_EQ(state_.owner(), "rep-2");
  EXPECT_EQ(state_.region(), "south");
  EXPECT_EQ(state_.status(), v1::CHURN_CASE_STATUS_OPEN);
  EXPECT_EQ(state_.version(), 2u);
  EXPECT_EQ(FromProtoTimestamp(state_.updated_at()), kNow);
  // The same assignment again (or one the case already follows): nothing.
  When(DecideReassignChurnCase(state_, "rep-2", "south", ctx_));
  ThenNoEvents();
  // Only the region moves: the owner stays on both sides of the event.
  When(DecideReassignChurnCase(state_, "rep-2", "east", ctx_));
  Then({TextProto<v1::InteractionEvent>(R"pb(
    churn_case_id: "case-1"
    customer_id: "cust-1"
    churn_case_reassigned {
      from_owner: "rep-2"
      to_owner: "rep-2"
      from_region: "south"
      to_region: "east"
    })pb")});
  // A loss confirmed afterwards names the owner and region the case has then.
  v1::ConfirmChurnRequest c;
  c.set_reason(v1::CHURN_LOSS_REASON_PRICE);
  When(DecideConfirmChurn(state_, c, ctx_));
  ASSERT_TRUE(result_.ok()) << result_.status();
  ASSERT_EQ(result_->size(), 1u);
  EXPECT_EQ((*result_)[0].churn_loss_confirmed().owner(), "rep-2");
  EXPECT_EQ((*result_)[0].churn_loss_confirmed().region(), "east");
}

TEST_F(ChurnCaseTest, AClosedCaseKeepsTheOwnerItHad) {
  GivenRetained();
  When(DecideReassignChurnCase(state_, "rep-2", "south", ctx_));
  ThenNoEvents();
  EXPECT_EQ(state_.owner(), "rep-1");
  EXPECT_EQ(state_.region(), "north");
  state_ = v1::ChurnCase();
  GivenLost();
  When(DecideReassignChurnCase(state_, "rep-2", "south", ctx_));
  ThenNoEvents();
  EXPECT_EQ(state_.owner(), "rep-1");
  // No case at all: nothing either.
  When(DecideReassignChurnCase(v1::ChurnCase(), "rep-2", "south", ctx_));
  ThenNoEvents();
}

TEST_F(ChurnCaseTest, AReassignmentToAnInvalidOwnerOrRegionNamesTheField) {
  GivenOpen();
  When(DecideReassignChurnCase(state_, "rep\n2", "south", ctx_));
  ThenError(Code::kInvalidArgument, "to_owner");
  When(DecideReassignChurnCase(state_, "rep-2", std::string(257, 'r'), ctx_));
  ThenError(Code::kInvalidArgument, "to_region");
  EXPECT_EQ(state_.owner(), "rep-1");
}

TEST_F(ChurnCaseTest, OtherKindsOnlyMoveTheVersion) {
  GivenOpen();
  const v1::ChurnCase before = state_;
  v1::InteractionEvent other;
  other.mutable_visit_cancelled()->set_reason("x");
  Fold(other, kNow, "carol");
  EXPECT_EQ(state_.version(), 2u);
  EXPECT_EQ(state_.status(), before.status());
  EXPECT_EQ(state_.warnings_size(), 1);
  // A second ChurnCaseOpened does not reopen or reset anything.
  Given(*DecideRetainChurnCase(state_, {}, Earlier()));
  v1::ChurnCase empty;
  Events again = *DecideOpenOrAddWarning(empty, kCaseId, kCustomerId, "x", "y", Warning("w-9"),
                                         {}, ctx_);
  Fold(again.front(), kNow, "carol");
  EXPECT_EQ(state_.status(), v1::CHURN_CASE_STATUS_RETAINED);
  EXPECT_EQ(state_.owner(), "rep-1");
  EXPECT_EQ(state_.warning_count(), 1);
}

TEST_F(ChurnCaseTest, StatusAndReasonNames) {
  EXPECT_EQ(ChurnStatusName(v1::CHURN_CASE_STATUS_RETAINED), "RETAINED");
  EXPECT_EQ(LossReasonName(v1::CHURN_LOSS_REASON_SERVICE_QUALITY), "SERVICE_QUALITY");
  EXPECT_EQ(LossReasonName(static_cast<v1::ChurnLossReason>(42)), "42");
}

// --- The churn report -------------------------------------------------------------

// 2024-03-DD at HH:00 UTC.
absl::Time March(int day, int hour = 9) {
  return absl::FromCivil(absl::CivilHour(2024, 3, day, hour), absl::UTCTimeZone());
}
absl::Time At(int month, int day) {
  return absl::FromCivil(absl::CivilHour(2024, month, day, 9), absl::UTCTimeZone());
}

// One case's events with the times they occurred at; AsOf folds those up to a time.
struct Scripted {
  std::vector<std::pair<absl::Time, v1::InteractionEvent>> events;

  v1::ChurnCase AsOf(absl::Time t) const {
    v1::ChurnCase c;
    for (const auto& [at, e] : events) {
      if (at > t) break;
      ApplyChurnCase(c, e, {c.version() + 1, at, "someone"});
    }
    return c;
  }
};

class ChurnReportTest : public ::testing::Test {
 protected:
  // Case <n> of customer c<n>: opened at `opened` with an ABCD class (and a tier).
  Scripted& Open(const std::string& n, const std::string& owner, const std::string& region,
                 const std::string& abcd, absl::Time opened) {
    std::vector<v1::SchemeClass> classes;
    if (!abcd.empty()) {
      classes.resize(2);
      classes[0].set_scheme(classification::v1::SCHEME_TIER);
      classes[0].set_class_name("ordinary");
      classes[1].set_scheme(classification::v1::SCHEME_ABCD);
      classes[1].set_class_name(abcd);
    }
    Scripted& s = cases_[n];
    Events e = *DecideOpenOrAddWarning({}, "k" + n, "c" + n, owner, region, Warning("w" + n),
                                       classes, Ctx(opened));
    s.events.emplace_back(opened, e.front());
    return s;
  }
  static ChurnContext Ctx(absl::Time t) { return {.actor = "rep", .now = t}; }
  void Do(const std::string& n, absl::Time at,
          const std::function<absl::StatusOr<Events>(const v1::ChurnCase&, const ChurnContext&)>&
              decide) {
    Scripted& s = cases_[n];
    absl::StatusOr<Events> events = decide(s.AsOf(at), Ctx(at));
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_EQ(events->size(), 1u) << n;
    s.events.emplace_back(at, events->front());
  }
  void Lose(const std::string& n, absl::Time at, v1::ChurnLossReason reason,
            const std::string& text = "") {
    Do(n, at, [&](const v1::ChurnCase& c, const ChurnContext& ctx) {
      v1::ConfirmChurnRequest r;
      r.set_reason(reason);
      r.set_reason_text(text);
      return DecideConfirmChurn(c, r, ctx);
    });
  }
  void Retain(const std::string& n, absl::Time at) {
    Do(n, at, [](const v1::ChurnCase& c, const ChurnContext& ctx) {
      return DecideRetainChurnCase(c, {}, ctx);
    });
  }
  void ReviewOn(const std::string& n, absl::Time at, const std::string& day) {
    Do(n, at, [&](const v1::ChurnCase& c, const ChurnContext& ctx) {
      v1::PostponeChurnRequest r;
      r.set_review_date(day);
      return DecidePostponeChurn(c, r, ctx);
    });
  }

  v1::ChurnReport Report(absl::Time as_of) {
    ChurnReportBuilder b(as_of, {.from = absl::CivilDay(2024, 3, 1), .to = absl::CivilDay(2024, 3, 31)},
                         classification::v1::SCHEME_ABCD);
    for (const auto& [n, s] : cases_) {
      v1::ChurnCase c = s.AsOf(as_of);
      if (c.version() > 0) b.Add(c);
    }
    return b.Finish();
  }

  std::map<std::string, Scripted> cases_;
};

// Nine cases in March 2024 (period 2024-03-01..31):
//   1 rep-a north A   opened Mar 2, lost Mar 10 (PRICE), won back Mar 20
//   2 rep-a north B   opened Mar 3, retained Mar 12
//   3 rep-b north A   opened Mar 5, lost Mar 15 (COMPETITOR)
//   4 rep-b south -   opened Feb 20 (before the period), retained by risk cleared Mar 8
//   5 rep-c south C   opened Feb 1, lost Feb 25 (PRICE): outside the period
//   6 rep-c south B   opened Mar 20, review date Mar 25 (set Mar 21): open, overdue
//   7 rep-a north A   opened Mar 25, review date Apr 5: open
//   8 rep-b south B   opened Mar 1, review Mar 10 (set Mar 5), lost Mar 28 (OTHER)
//   9 rep-a north C   opened Jan 10: open, no review date
TEST_F(ChurnReportTest, MatchesAHandComputedScenarioNowAndAsOfADateBeforeSomeCloses) {
  Open("1", "rep-a", "north", "A", March(2));
  Lose("1", March(10), v1::CHURN_LOSS_REASON_PRICE);
  Do("1", March(20), [](const v1::ChurnCase& c, const ChurnContext& ctx) {
    v1::WinBack w;
    w.set_lifecycle(customer::v1::LIFECYCLE_FOLLOWING);
    *w.mutable_at() = ToProtoTimestamp(ctx.now - absl::Minutes(5));
    w.set_event_id("lc-1");
    return DecideChurnWonBack(c, w, ctx);
  });
  Open("2", "rep-a", "north", "B", March(3));
  Retain("2", March(12));
  Open("3", "rep-b", "north", "A", March(5));
  Lose("3", March(15), v1::CHURN_LOSS_REASON_COMPETITOR);
  Open("4", "rep-b", "south", "", At(2, 20));
  Do("4", March(8), [](const v1::ChurnCase& c, const ChurnContext& ctx) {
    return DecideRetainOnRiskCleared(c, 0.2, ctx);
  });
  Open("5", "rep-c", "south", "C", At(2, 1));
  Lose("5", At(2, 25), v1::CHURN_LOSS_REASON_PRICE);
  Open("6", "rep-c", "south", "B", March(20));
  ReviewOn("6", March(21), "2024-03-25");
  Open("7", "rep-a", "north", "A", March(25));
  ReviewOn("7", March(26), "2024-04-05");
  Open("8", "rep-b", "south", "B", March(1));
  ReviewOn("8", March(5), "2024-03-10");
  Lose("8", March(28), v1::CHURN_LOSS_REASON_OTHER, "moved abroad");
  Open("9", "rep-a", "north", "C", At(1, 10));

  // As of Mar 31 12:00. Opened in March: 1 2 3 6 7 8 (6); retained: 2 4 (2); lost:
  // 1 3 8 (3); rate 2/5 = 40%. Open: 6 7 9; overdue: 6 (Mar 25 < Mar 31).
  // Classes: "" = 4 (retained); A = 1 (o,l) 3 (o,l) 7 (o); B = 2 (o,r) 6 (o)
  // 8 (o,l); C = 5, 9: nothing in the period, left out. Owners: rep-a = 1 (o,l)
  // 2 (o,r) 7 (o); rep-b = 3 (o,l) 4 (r) 8 (o,l): 1/3; rep-c = 6 (o). Regions:
  // north = 1 2 3 7 opened, 2 retained, 1 3 lost: 1/3; south = 6 8 opened, 4
  // retained, 8 lost: 1/2. Won back: 1.
  EXPECT_THAT(Report(March(31, 12)), EqualsProto(TextProto<v1::ChurnReport>(R"pb(
    as_of { seconds: 1711886400 }
    period_from: "2024-03-01"
    period_to: "2024-03-31"
    total { opened: 6 retained: 2 lost: 3 retention_rate_percent: 40 }
    open_now: 3
    overdue_now: 1
    by_reason { key: "PRICE" lost: 1 }
    by_reason { key: "COMPETITOR" lost: 1 }
    by_reason { key: "OTHER" lost: 1 }
    by_class { key: "" retained: 1 retention_rate_percent: 100 }
    by_class { key: "A" opened: 3 lost: 2 }
    by_class { key: "B" opened: 3 retained: 1 lost: 1 retention_rate_percent: 50 }
    by_owner { key: "rep-a" opened: 3 retained: 1 lost: 1 retention_rate_percent: 50 }
    by_owner { key: "rep-b" opened: 2 retained: 1 lost: 2 retention_rate_percent: 33.33 }
    by_owner { key: "rep-c" opened: 1 }
    by_region { key: "north" opened: 4 retained: 1 lost: 2 retention_rate_percent: 33.33 }
    by_region { key: "south" opened: 2 retained: 1 lost: 1 retention_rate_percent: 50 }
    won_back: 1
  )pb")));

  // As of Mar 12 00:00: 2 (retained later that day), 3 and 8 still open, 6 and 7
  // not opened, 1 lost and not yet won back. Opened: 1 2 3 8 (4); retained: 4;
  // lost: 1; rate 50%. Open: 2 3 8 9; overdue: 8 (Mar 10 < Mar 12).
  // Classes: "" = 4 (r); A = 1 (o,l) 3 (o); B = 2 (o) 8 (o). Owners: rep-a = 1
  // (o,l) 2 (o); rep-b = 3 (o) 4 (r) 8 (o); rep-c: nothing. Regions: north = 1 2 3
  // opened, 1 lost; south = 8 opened, 4 retained.
  EXPECT_THAT(Report(March(12, 0)), EqualsProto(TextProto<v1::ChurnReport>(R"pb(
    as_of { seconds: 1710201600 }
    period_from: "2024-03-01"
    period_to: "2024-03-31"
    total { opened: 4 retained: 1 lost: 1 retention_rate_percent: 50 }
    open_now: 4
    overdue_now: 1
    by_reason { key: "PRICE" lost: 1 }
    by_class { key: "" retained: 1 retention_rate_percent: 100 }
    by_class { key: "A" opened: 2 lost: 1 }
    by_class { key: "B" opened: 2 }
    by_owner { key: "rep-a" opened: 2 lost: 1 }
    by_owner { key: "rep-b" opened: 2 retained: 1 retention_rate_percent: 100 }
    by_region { key: "north" opened: 3 lost: 1 }
    by_region { key: "south" opened: 1 retained: 1 retention_rate_percent: 100 }
  )pb")));

  // Another scheme: every case is unclassified under VALUE.
  ChurnReportBuilder value(March(31, 12),
                           {.from = absl::CivilDay(2024, 3, 1), .to = absl::CivilDay(2024, 3, 31)},
                           classification::v1::SCHEME_VALUE);
  for (const auto& [n, s] : cases_) value.Add(s.AsOf(March(31, 12)));
  const v1::ChurnReport by_value = value.Finish();
  ASSERT_EQ(by_value.by_class_size(), 1);
  EXPECT_THAT(by_value.by_class(0), EqualsProto(TextProto<v1::ChurnGroup>(R"pb(
    key: "" opened: 6 retained: 2 lost: 3 retention_rate_percent: 40
  )pb")));
}

}  // namespace
}  // namespace crm::interaction
