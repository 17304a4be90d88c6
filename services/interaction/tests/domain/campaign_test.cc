// Given/when/then tests of the campaign aggregate: every status transition
// allowed or refused exactly, every invalid input named, the frozen target list
// in events of bounded size, costs, invitations, responses and attendance with
// their counts, the target records' fold; and the campaign report against a
// hand-computed scenario (now, as of a past time, and partial). Time is fixed at
// kNow (2024-03-15 08:00 UTC), the actor is "alice".
#include "crm/interaction/domain/campaign.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/testing/proto_testing.h"
#include "crm/common/proto_time.h"
#include "crm/interaction/domain/campaign_report.h"
#include "domain/testing/aggregate_test.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::interaction {
namespace {

using ::crm::testing::EqualsProto;
using ::crm::testing::TextProto;
using Code = absl::StatusCode;

constexpr char kCampaignId[] = "camp-1";
const absl::Time kNow = absl::FromUnixSeconds(1710489600);  // 2024-03-15T08:00:00Z

struct CampaignTraits {
  using State = v1::Campaign;
  using Event = v1::InteractionEvent;
  using Context = CampaignContext;
  static void Apply(State& s, const Event& e, const domain::EventMeta& m) {
    ApplyCampaign(s, e, m);
  }
  static void CheckIds(const Event& e) {
    EXPECT_EQ(e.campaign_id(), kCampaignId);
    EXPECT_TRUE(e.interaction_id().empty());
    EXPECT_TRUE(e.opportunity_id().empty());
    const bool per_customer =
        e.has_campaign_response_recorded() || e.has_campaign_attendance_recorded();
    EXPECT_EQ(!e.customer_id().empty(), per_customer);
  }
};

v1::PlanCampaignRequest Plan() {
  return TextProto<v1::PlanCampaignRequest>(R"pb(
    details {
      name: "  Spring seminar  "
      type: CAMPAIGN_TYPE_SEMINAR
      start_date: "2024-04-01"
      end_date: "2024-04-02"
      budget { currency_code: "CNY" amount_minor: 5000000 }
      description: "Two days in Hangzhou"
    }
    selection {
      classes { scheme: SCHEME_ABCD class_name: "A" }
      regions: "north"
      lifecycles: LIFECYCLE_COOPERATING
    })pb");
}

v1::CampaignTarget TargetOf(const std::string& customer, const std::string& owner = "rep-1",
                            const std::string& region = "north") {
  v1::CampaignTarget t;
  t.set_customer_id(customer);
  t.set_owner(owner);
  t.set_region(region);
  return t;
}

class CampaignTest : public domain::testing::AggregateTest<CampaignTraits> {
 protected:
  CampaignTest() {
    ctx_ = CampaignContext{.actor = "alice", .now = kNow};
    given_at_ = kNow - absl::Hours(48);
  }

  CampaignContext Earlier() const { return {.actor = "bob", .now = given_at_}; }

  void GivenPlanned() { Given(*DecidePlanCampaign(Plan(), kCampaignId, "north", Earlier())); }
  // Running with targets c1..c<n>.
  void GivenRunning(int n = 3) {
    GivenPlanned();
    std::vector<v1::CampaignTarget> targets;
    for (int i = 1; i <= n; ++i) targets.push_back(TargetOf(absl::StrCat("c", i)));
    Given(*DecideStartCampaign(state_, targets, Earlier()));
    ASSERT_EQ(state_.status(), v1::CAMPAIGN_STATUS_RUNNING);
  }
  void GivenClosed() {
    GivenRunning();
    Given(*DecideCloseCampaign(state_, {}, Earlier()));
  }
  void GivenIn(v1::CampaignStatus status) {
    if (status == v1::CAMPAIGN_STATUS_PLANNED) GivenPlanned();
    if (status == v1::CAMPAIGN_STATUS_RUNNING) GivenRunning();
    if (status == v1::CAMPAIGN_STATUS_CLOSED) GivenClosed();
  }
};

// "c01".."c10".
std::string Id(int i) { return absl::StrCat(i < 10 ? "c0" : "c", i); }

v1::InteractionEvent Event(const std::string& text) {
  return TextProto<v1::InteractionEvent>(text);
}

// --- Planning ------------------------------------------------------------------

TEST_F(CampaignTest, PlanRecordsEverythingAsPlanned) {
  When(DecidePlanCampaign(Plan(), kCampaignId, "north", ctx_));
  Then({Event(R"pb(
    campaign_id: "camp-1"
    campaign_planned {
      details {
        name: "Spring seminar"
        type: CAMPAIGN_TYPE_SEMINAR
        start_date: "2024-04-01"
        end_date: "2024-04-02"
        budget { currency_code: "CNY" amount_minor: 5000000 }
        description: "Two days in Hangzhou"
      }
      owner: "alice"
      region: "north"
      selection {
        classes { scheme: SCHEME_ABCD class_name: "A" }
        regions: "north"
        lifecycles: LIFECYCLE_COOPERATING
      }
    })pb")});
  EXPECT_THAT(state_, EqualsProto(TextProto<v1::Campaign>(R"pb(
                campaign_id: "camp-1"
                details {
                  name: "Spring seminar"
                  type: CAMPAIGN_TYPE_SEMINAR
                  start_date: "2024-04-01"
                  end_date: "2024-04-02"
                  budget { currency_code: "CNY" amount_minor: 5000000 }
                  description: "Two days in Hangzhou"
                }
                owner: "alice"
                region: "north"
                status: CAMPAIGN_STATUS_PLANNED
                selection {
                  classes { scheme: SCHEME_ABCD class_name: "A" }
                  regions: "north"
                  lifecycles: LIFECYCLE_COOPERATING
                }
                created_by: "alice"
                created_at { seconds: 1710489600 }
                updated_at { seconds: 1710489600 }
                updated_by: "alice"
                version: 1)pb")));
}

TEST_F(CampaignTest, PlanTakesAnotherOwnerAndNeedsNoBudget) {
  v1::PlanCampaignRequest r = Plan();
  r.set_owner("rep-9");
  r.mutable_details()->clear_budget();
  r.clear_selection();
  r.mutable_selection()->add_customer_ids("c-7");  // explicit customers alone
  When(DecidePlanCampaign(r, kCampaignId, "", ctx_));
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_EQ(result_->front().campaign_planned().owner(), "rep-9");
  EXPECT_EQ(result_->front().campaign_planned().region(), "");
  EXPECT_FALSE(result_->front().campaign_planned().details().has_budget());
  // A budget of 0 in a currency is a budget.
  r.mutable_details()->mutable_budget()->set_currency_code("USD");
  When(DecidePlanCampaign(r, kCampaignId, "", ctx_));
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_TRUE(result_->front().campaign_planned().details().has_budget());
}

struct InvalidCase {
  std::string name;
  std::function<void(v1::PlanCampaignRequest&)> change;
  std::string field;
};

TEST_F(CampaignTest, EveryInvalidInputOfPlanNamesItsField) {
  const std::vector<InvalidCase> cases = {
      {"no name", [](auto& r) { r.mutable_details()->clear_name(); }, "details.name"},
      {"blank name", [](auto& r) { r.mutable_details()->set_name("  "); }, "details.name"},
      {"long name", [](auto& r) { r.mutable_details()->set_name(std::string(201, 'n')); },
       "details.name"},
      {"no type", [](auto& r) { r.mutable_details()->clear_type(); }, "details.type"},
      {"unknown type",
       [](auto& r) { r.mutable_details()->set_type(static_cast<v1::CampaignType>(42)); },
       "details.type"},
      {"no start", [](auto& r) { r.mutable_details()->clear_start_date(); }, "details.start_date"},
      {"bad start", [](auto& r) { r.mutable_details()->set_start_date("2024-13-01"); },
       "details.start_date"},
      {"no end", [](auto& r) { r.mutable_details()->clear_end_date(); }, "details.end_date"},
      {"bad end", [](auto& r) { r.mutable_details()->set_end_date("02.04.2024"); },
       "details.end_date"},
      {"end before start", [](auto& r) { r.mutable_details()->set_end_date("2024-03-31"); },
       "details.end_date"},
      {"negative budget",
       [](auto& r) { r.mutable_details()->mutable_budget()->set_amount_minor(-1); },
       "details.budget.amount_minor"},
      {"absurd budget",
       [](auto& r) {
         r.mutable_details()->mutable_budget()->set_amount_minor(kMaxCampaignAmountMinor + 1);
       },
       "details.budget.amount_minor"},
      {"unknown currency",
       [](auto& r) { r.mutable_details()->mutable_budget()->set_currency_code("XYZ"); },
       "details.budget.currency_code"},
      {"amount without currency",
       [](auto& r) { r.mutable_details()->mutable_budget()->clear_currency_code(); },
       "details.budget.currency_code"},
      {"long description",
       [](auto& r) { r.mutable_details()->set_description(std::string(2001, 'd')); },
       "details.description"},
      {"long owner", [](auto& r) { r.set_owner(std::string(257, 'o')); }, "owner"},
      {"owner with a control character", [](auto& r) { r.set_owner("bo\tb"); }, "owner"},
      {"empty selection", [](auto& r) { r.clear_selection(); }, "selection"},
      {"class without scheme",
       [](auto& r) { r.mutable_selection()->mutable_classes(0)->clear_scheme(); },
       "selection.classes[0].scheme"},
      {"class of an unknown scheme",
       [](auto& r) {
         r.mutable_selection()->mutable_classes(0)->set_scheme(
             static_cast<classification::v1::Scheme>(9));
       },
       "selection.classes[0].scheme"},
      {"class without name",
       [](auto& r) { r.mutable_selection()->mutable_classes(0)->clear_class_name(); },
       "selection.classes[0].class_name"},
      {"101 classes",
       [](auto& r) {
         for (int i = 0; i < 100; ++i)
           *r.mutable_selection()->add_classes() = r.selection().classes(0);
       },
       "selection.classes"},
      {"empty region", [](auto& r) { r.mutable_selection()->add_regions(""); },
       "selection.regions[1]"},
      {"region with NUL",
       [](auto& r) { r.mutable_selection()->add_regions(std::string("a\0b", 3)); },
       "selection.regions[1]"},
      {"101 regions",
       [](auto& r) {
         for (int i = 0; i < 100; ++i) r.mutable_selection()->add_regions(absl::StrCat("r", i));
       },
       "selection.regions"},
      {"blank industry", [](auto& r) { r.mutable_selection()->add_industries(" "); },
       "selection.industries[0]"},
      {"long industry",
       [](auto& r) { r.mutable_selection()->add_industries(std::string(201, 'i')); },
       "selection.industries[0]"},
      {"101 industries",
       [](auto& r) {
         for (int i = 0; i < 101; ++i) r.mutable_selection()->add_industries(absl::StrCat("i", i));
       },
       "selection.industries"},
      {"unspecified lifecycle",
       [](auto& r) { r.mutable_selection()->add_lifecycles(customer::v1::LIFECYCLE_UNSPECIFIED); },
       "selection.lifecycles[1]"},
      {"unknown lifecycle",
       [](auto& r) {
         r.mutable_selection()->add_lifecycles(static_cast<customer::v1::Lifecycle>(77));
       },
       "selection.lifecycles[1]"},
      {"101 lifecycles",
       [](auto& r) {
         for (int i = 0; i < 100; ++i) {
           r.mutable_selection()->add_lifecycles(customer::v1::LIFECYCLE_POTENTIAL);
         }
       },
       "selection.lifecycles"},
      {"empty customer id", [](auto& r) { r.mutable_selection()->add_customer_ids(""); },
       "selection.customer_ids[0]"},
      {"long customer id",
       [](auto& r) { r.mutable_selection()->add_customer_ids(std::string(257, 'c')); },
       "selection.customer_ids[0]"},
      {"1001 customer ids",
       [](auto& r) {
         for (int i = 0; i < 1001; ++i)
           r.mutable_selection()->add_customer_ids(absl::StrCat("c", i));
       },
       "selection.customer_ids"},
  };
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE(c.name);
    v1::PlanCampaignRequest r = Plan();
    c.change(r);
    When(DecidePlanCampaign(r, kCampaignId, "north", ctx_));
    ThenError(Code::kInvalidArgument, c.field);
  }
  When(DecidePlanCampaign(Plan(), "", "north", ctx_));
  ThenError(Code::kInvalidArgument, "campaign_id");
  // The bounds themselves are fine: 100 values of a filter, 1000 customers.
  v1::PlanCampaignRequest full = Plan();
  for (int i = 0; i < 99; ++i) full.mutable_selection()->add_regions(absl::StrCat("r", i));
  for (int i = 0; i < 1000; ++i) full.mutable_selection()->add_customer_ids(absl::StrCat("c", i));
  EXPECT_TRUE(DecidePlanCampaign(full, kCampaignId, "north", ctx_).ok());
}

TEST_F(CampaignTest, CommandsOnACampaignThatDoesNotExistAreNotFound) {
  v1::Campaign none;
  const std::vector<absl::StatusOr<Events>> results = {
      DecideUpdateCampaign(none, {}, ctx_),
      DecideStartCampaign(none, {TargetOf("c1")}, ctx_),
      DecideRecordCampaignCost(none, {}, ctx_),
      DecideRecordCampaignInvitations(none, {}, {}, ctx_),
      DecideRecordCampaignResponse(none, {}, TargetOf("c1"), ctx_),
      DecideRecordCampaignAttendance(none, {}, TargetOf("c1"), ctx_),
      DecideRecordCampaignOutcome(none, {}, ctx_),
      DecideCloseCampaign(none, {}, ctx_)};
  for (const auto& r : results) EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status();
}

// --- Status transitions -----------------------------------------------------------

// Every command from every status: allowed ("ok") or refused naming the status.
TEST_F(CampaignTest, EveryCommandInEveryStatus) {
  const auto P = v1::CAMPAIGN_STATUS_PLANNED;
  const auto R = v1::CAMPAIGN_STATUS_RUNNING;
  const auto C = v1::CAMPAIGN_STATUS_CLOSED;
  struct Case {
    std::string command;
    std::map<v1::CampaignStatus, bool> allowed;
  };
  const std::vector<Case> cases = {
      {"update", {{P, true}, {R, false}, {C, false}}},
      {"start", {{P, true}, {R, false}, {C, false}}},
      {"cost", {{P, true}, {R, true}, {C, false}}},
      {"invite", {{P, false}, {R, true}, {C, false}}},
      {"respond", {{P, false}, {R, true}, {C, false}}},
      {"attend", {{P, false}, {R, true}, {C, false}}},
      {"outcome", {{P, false}, {R, true}, {C, false}}},
      {"close", {{P, true}, {R, true}, {C, false}}},
  };
  const std::optional<v1::CampaignTarget> target = TargetOf("c1");
  for (const Case& c : cases) {
    for (const auto& [status, allowed] : c.allowed) {
      SCOPED_TRACE(absl::StrCat(c.command, " from ", CampaignStatusName(status)));
      state_ = v1::Campaign();
      GivenIn(status);
      if (c.command == "update") {
        v1::UpdateCampaignRequest u;
        *u.mutable_details() = Plan().details();
        u.mutable_details()->set_name("Autumn seminar");
        *u.mutable_selection() = Plan().selection();
        When(DecideUpdateCampaign(state_, u, ctx_));
      } else if (c.command == "start") {
        When(DecideStartCampaign(state_, {TargetOf("c1")}, ctx_));
      } else if (c.command == "cost") {
        v1::RecordCampaignCostRequest r;
        r.mutable_cost()->mutable_amount()->set_currency_code("CNY");
        r.mutable_cost()->mutable_amount()->set_amount_minor(100);
        r.mutable_cost()->set_description("Flyers");
        When(DecideRecordCampaignCost(state_, r, ctx_));
      } else if (c.command == "invite") {
        v1::RecordCampaignInvitationsRequest r;
        r.add_customer_ids("c1");
        When(DecideRecordCampaignInvitations(state_, r, {target}, ctx_));
      } else if (c.command == "respond") {
        v1::RecordCampaignResponseRequest r;
        r.set_customer_id("c1");
        r.set_response(v1::CAMPAIGN_RESPONSE_ACCEPTED);
        When(DecideRecordCampaignResponse(state_, r, target, ctx_));
      } else if (c.command == "attend") {
        v1::RecordCampaignAttendanceRequest r;
        r.set_customer_id("c1");
        r.set_attended(true);
        When(DecideRecordCampaignAttendance(state_, r, target, ctx_));
      } else if (c.command == "outcome") {
        v1::RecordCampaignOutcomeRequest r;
        r.set_note("Three orders expected");
        When(DecideRecordCampaignOutcome(state_, r, ctx_));
      } else if (c.command == "close") {
        When(DecideCloseCampaign(state_, {}, ctx_));
      }
      if (allowed) {
        ASSERT_TRUE(result_.ok()) << result_.status();
        EXPECT_FALSE(result_->empty());
      } else {
        ThenError(Code::kFailedPrecondition, "status",
                  absl::StrCat("status: campaign is ", CampaignStatusName(status)));
      }
    }
  }
}

// An abandoned plan is cancelled: closed from PLANNED, without ever having had a
// target list; nothing more may happen to it.
TEST_F(CampaignTest, APlannedCampaignThatWillNotRunIsClosed) {
  GivenPlanned();
  v1::CloseCampaignRequest close;
  close.set_note("Venue cancelled");
  When(DecideCloseCampaign(state_, close, ctx_));
  Then({Event(R"pb(campaign_id: "camp-1"
                   campaign_closed { note: "Venue cancelled" })pb")});
  EXPECT_EQ(state_.status(), v1::CAMPAIGN_STATUS_CLOSED);
  EXPECT_EQ(state_.closed_by(), "alice");
  EXPECT_EQ(state_.closing_note(), "Venue cancelled");
  EXPECT_EQ(state_.closed_at().seconds(), absl::ToUnixSeconds(kNow));
  EXPECT_FALSE(state_.has_started_at());
  EXPECT_EQ(state_.target_count(), 0);
  EXPECT_EQ(state_.version(), 2u);

  When(DecideStartCampaign(state_, {TargetOf("c1")}, ctx_));
  ThenError(Code::kFailedPrecondition, "status", "status: campaign is CLOSED");
  When(DecideCloseCampaign(state_, close, ctx_));
  ThenError(Code::kFailedPrecondition, "status", "status: campaign is CLOSED");
  v1::UpdateCampaignRequest u;
  *u.mutable_details() = Plan().details();
  u.mutable_details()->set_name("Autumn seminar");
  *u.mutable_selection() = Plan().selection();
  When(DecideUpdateCampaign(state_, u, ctx_));
  ThenError(Code::kFailedPrecondition, "status", "status: campaign is CLOSED");
}

TEST_F(CampaignTest, UpdateReplacesDetailsAndSelectionWhilePlanned) {
  GivenPlanned();
  v1::UpdateCampaignRequest u;
  *u.mutable_details() = Plan().details();
  *u.mutable_selection() = Plan().selection();
  u.mutable_details()->set_name("Spring seminar");  // the trimmed name: nothing changes
  When(DecideUpdateCampaign(state_, u, ctx_));
  ThenError(Code::kFailedPrecondition, "details", "details: nothing changed");
  u.mutable_selection()->add_industries("Chemicals");
  When(DecideUpdateCampaign(state_, u, ctx_));
  ASSERT_TRUE(result_.ok()) << result_.status();
  Then(Events(*result_));
  EXPECT_THAT(state_.selection().industries(), ::testing::ElementsAre("Chemicals"));
  EXPECT_EQ(state_.updated_by(), "alice");
  u.mutable_details()->set_end_date("2024-03-01");
  When(DecideUpdateCampaign(state_, u, ctx_));
  ThenError(Code::kInvalidArgument, "details.end_date");
  u.mutable_details()->set_end_date("2024-04-02");
  u.clear_selection();
  When(DecideUpdateCampaign(state_, u, ctx_));
  ThenError(Code::kInvalidArgument, "selection");
}

// --- Start: the frozen list --------------------------------------------------------

TEST_F(CampaignTest, StartFreezesTheTargetsInOneAppendOfBoundedEvents) {
  GivenPlanned();
  When(DecideStartCampaign(state_, {TargetOf("c1", "rep-1", "north"), TargetOf("c2", "rep-2", "")},
                           ctx_));
  Then({Event(R"pb(campaign_id: "camp-1"
                   campaign_started { target_count: 2 })pb"),
        Event(R"pb(campaign_id: "camp-1"
                   campaign_targets_frozen {
                     targets { customer_id: "c1" owner: "rep-1" region: "north" }
                     targets { customer_id: "c2" owner: "rep-2" }
                   })pb")});
  EXPECT_EQ(state_.status(), v1::CAMPAIGN_STATUS_RUNNING);
  EXPECT_EQ(state_.target_count(), 2);
  EXPECT_EQ(state_.started_at().seconds(), absl::ToUnixSeconds(kNow));

  // 2500 short ids: 1000 + 1000 + 500; only id, owner and region are kept.
  state_ = v1::Campaign();
  GivenPlanned();
  std::vector<v1::CampaignTarget> many;
  for (int i = 0; i < 2500; ++i) {
    many.push_back(TargetOf(absl::StrCat("c", i)));
    many.back().set_response(v1::CAMPAIGN_RESPONSE_ACCEPTED);
  }
  auto events = DecideStartCampaign(state_, many, ctx_);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 4u);
  EXPECT_EQ((*events)[0].campaign_started().target_count(), 2500);
  EXPECT_EQ((*events)[1].campaign_targets_frozen().targets_size(), 1000);
  EXPECT_EQ((*events)[2].campaign_targets_frozen().targets_size(), 1000);
  EXPECT_EQ((*events)[3].campaign_targets_frozen().targets_size(), 500);
  EXPECT_EQ((*events)[3].campaign_targets_frozen().targets(499).customer_id(), "c2499");
  EXPECT_EQ((*events)[1].campaign_targets_frozen().targets(0).response(),
            v1::CAMPAIGN_RESPONSE_UNSPECIFIED);
  // Ids of 256 bytes: events stay under kMaxTargetBytesPerEvent.
  std::vector<v1::CampaignTarget> long_ids;
  for (int i = 0; i < 1000; ++i) {
    const std::string n = absl::StrCat(i);
    long_ids.push_back(TargetOf(n + std::string(256 - n.size(), 'c'), std::string(256, 'o'),
                                std::string(256, 'r')));
  }
  events = DecideStartCampaign(state_, long_ids, ctx_);
  ASSERT_TRUE(events.ok());
  int frozen = 0;
  for (size_t i = 1; i < events->size(); ++i) {
    EXPECT_LT((*events)[i].ByteSizeLong(), kMaxTargetBytesPerEvent + 1024);
    frozen += (*events)[i].campaign_targets_frozen().targets_size();
  }
  EXPECT_EQ(frozen, 1000);
  EXPECT_GT(events->size(), 5u);
}

TEST_F(CampaignTest, StartNeedsTargetsAndAtMost50000) {
  GivenPlanned();
  When(DecideStartCampaign(state_, {}, ctx_));
  ThenError(Code::kFailedPrecondition, "selection",
            "selection: matches no customer the caller may see");
  std::vector<v1::CampaignTarget> too_many(kMaxCampaignTargets + 1, TargetOf("c"));
  When(DecideStartCampaign(state_, too_many, ctx_));
  ThenError(Code::kFailedPrecondition, "selection", "selection: matches more than 50000 customers");
}

// --- Costs ----------------------------------------------------------------------

TEST_F(CampaignTest, CostsAreNumberedAndDefaultToToday) {
  GivenPlanned();
  v1::RecordCampaignCostRequest r;
  r.mutable_cost()->mutable_amount()->set_currency_code("CNY");
  r.mutable_cost()->mutable_amount()->set_amount_minor(1200000);
  r.mutable_cost()->set_description("Venue");
  r.mutable_cost()->set_cost_id("99");  // set by the service
  r.mutable_cost()->set_recorded_by("mallory");
  When(DecideRecordCampaignCost(state_, r, ctx_));
  Then({Event(R"pb(
    campaign_id: "camp-1"
    campaign_cost_recorded {
      cost {
        cost_id: "1"
        amount { currency_code: "CNY" amount_minor: 1200000 }
        description: "Venue"
        incurred_on: "2024-03-15"
        recorded_by: "alice"
        recorded_at { seconds: 1710489600 }
      }
    })pb")});
  r.mutable_cost()->set_incurred_on("2024-03-10");
  When(DecideRecordCampaignCost(state_, r, ctx_));
  ASSERT_TRUE(result_.ok());
  EXPECT_EQ(result_->front().campaign_cost_recorded().cost().cost_id(), "2");
  EXPECT_EQ(result_->front().campaign_cost_recorded().cost().incurred_on(), "2024-03-10");
  Then(Events(*result_));
  ASSERT_EQ(state_.costs_size(), 2);

  const std::vector<std::pair<std::function<void(v1::RecordCampaignCostRequest&)>, std::string>>
      invalid = {
          {[](auto& r) { r.mutable_cost()->clear_amount(); }, "cost.amount"},
          {[](auto& r) { r.mutable_cost()->mutable_amount()->set_amount_minor(0); },
           "cost.amount.amount_minor"},
          {[](auto& r) { r.mutable_cost()->mutable_amount()->set_amount_minor(-5); },
           "cost.amount.amount_minor"},
          {[](auto& r) {
             r.mutable_cost()->mutable_amount()->set_amount_minor(kMaxCampaignAmountMinor + 1);
           },
           "cost.amount.amount_minor"},
          {[](auto& r) { r.mutable_cost()->mutable_amount()->set_currency_code("ABC"); },
           "cost.amount.currency_code"},
          {[](auto& r) { r.mutable_cost()->clear_description(); }, "cost.description"},
          {[](auto& r) { r.mutable_cost()->set_description(std::string(501, 'd')); },
           "cost.description"},
          {[](auto& r) { r.mutable_cost()->set_incurred_on("yesterday"); }, "cost.incurred_on"},
      };
  for (const auto& [change, field] : invalid) {
    SCOPED_TRACE(field);
    v1::RecordCampaignCostRequest bad = r;
    change(bad);
    When(DecideRecordCampaignCost(state_, bad, ctx_));
    ThenError(Code::kInvalidArgument, field);
  }
  // At most 200 entries.
  while (state_.costs_size() < kMaxCampaignCosts) Given(*DecideRecordCampaignCost(state_, r, ctx_));
  When(DecideRecordCampaignCost(state_, r, ctx_));
  ThenError(Code::kFailedPrecondition, "costs");
}

// --- Invitations, responses, attendance --------------------------------------------

TEST_F(CampaignTest, InvitationsSkipThoseInvitedAndRefuseNonTargets) {
  GivenRunning();
  v1::CampaignTarget invited = TargetOf("c2");
  *invited.mutable_invited_at() = ToProtoTimestamp(given_at_);
  v1::RecordCampaignInvitationsRequest r;
  r.add_customer_ids("c1");
  r.add_customer_ids("c2");
  r.add_customer_ids("c1");
  r.add_customer_ids("c3");
  When(DecideRecordCampaignInvitations(
      state_, r, {TargetOf("c1"), invited, TargetOf("c1"), TargetOf("c3")}, ctx_));
  Then({Event(R"pb(campaign_id: "camp-1"
                   campaign_invitations_sent { customer_ids: "c1" customer_ids: "c3" })pb")});
  EXPECT_EQ(state_.invited_count(), 2);
  // Nobody new: nothing happens.
  When(DecideRecordCampaignInvitations(state_, r, {invited, invited, invited, invited}, ctx_));
  ThenNoEvents();
  // A customer that is not a target.
  r.add_customer_ids("stranger");
  When(DecideRecordCampaignInvitations(
      state_, r, {TargetOf("c1"), invited, TargetOf("c1"), TargetOf("c3"), std::nullopt}, ctx_));
  ThenError(Code::kFailedPrecondition, "customer_ids[4]",
            "customer_ids[4]: customer stranger is not a target");
  // Bounds.
  When(DecideRecordCampaignInvitations(state_, {}, {}, ctx_));
  ThenError(Code::kInvalidArgument, "customer_ids");
  v1::RecordCampaignInvitationsRequest bad;
  bad.add_customer_ids("c1");
  bad.add_customer_ids(std::string("c\n2"));
  When(DecideRecordCampaignInvitations(state_, bad, {TargetOf("c1"), std::nullopt}, ctx_));
  ThenError(Code::kInvalidArgument, "customer_ids[1]");
  v1::RecordCampaignInvitationsRequest too_many;
  for (int i = 0; i < 1001; ++i) too_many.add_customer_ids("c1");
  When(DecideRecordCampaignInvitations(
      state_, too_many, std::vector<std::optional<v1::CampaignTarget>>(1001, TargetOf("c1")),
      ctx_));
  ThenError(Code::kInvalidArgument, "customer_ids");
}

TEST_F(CampaignTest, InvitationsOfLongIdsAreSplitIntoBoundedEvents) {
  GivenRunning();
  v1::RecordCampaignInvitationsRequest r;
  std::vector<std::optional<v1::CampaignTarget>> targets;
  for (int i = 0; i < 1000; ++i) {
    const std::string n = absl::StrCat(i);
    r.add_customer_ids(n + std::string(256 - n.size(), 'x'));
    targets.push_back(TargetOf(r.customer_ids(i)));
  }
  When(DecideRecordCampaignInvitations(state_, r, targets, ctx_));
  ASSERT_TRUE(result_.ok()) << result_.status();
  ASSERT_EQ(result_->size(), 2u);
  int invited = 0;
  for (const auto& e : *result_) {
    EXPECT_LT(e.ByteSizeLong(), kMaxTargetBytesPerEvent + 1024);
    invited += e.campaign_invitations_sent().customer_ids_size();
  }
  EXPECT_EQ(invited, 1000);
  Then(Events(*result_));
  EXPECT_EQ(state_.invited_count(), 1000);
}

TEST_F(CampaignTest, OnlyAFirstResponseCountsAndALaterOneReplacesIt) {
  GivenRunning();
  v1::RecordCampaignResponseRequest r;
  r.set_customer_id("c1");
  r.set_response(v1::CAMPAIGN_RESPONSE_INTERESTED);
  r.set_note("Asks for the agenda");
  v1::CampaignTarget c1 = TargetOf("c1");
  When(DecideRecordCampaignResponse(state_, r, c1, ctx_));
  Then({Event(R"pb(campaign_id: "camp-1"
                   customer_id: "c1"
                   campaign_response_recorded {
                     response: CAMPAIGN_RESPONSE_INTERESTED
                     note: "Asks for the agenda"
                   })pb")});
  EXPECT_EQ(state_.responded_count(), 1);
  c1.set_response(v1::CAMPAIGN_RESPONSE_INTERESTED);
  r.set_response(v1::CAMPAIGN_RESPONSE_ACCEPTED);
  r.clear_note();
  When(DecideRecordCampaignResponse(state_, r, c1, ctx_));
  Then({Event(R"pb(campaign_id: "camp-1"
                   customer_id: "c1"
                   campaign_response_recorded {
                     response: CAMPAIGN_RESPONSE_ACCEPTED
                     previous: CAMPAIGN_RESPONSE_INTERESTED
                   })pb")});
  EXPECT_EQ(state_.responded_count(), 1);

  When(DecideRecordCampaignResponse(state_, r, std::nullopt, ctx_));
  ThenError(Code::kFailedPrecondition, "customer_id", "customer_id: customer c1 is not a target");
  r.set_response(v1::CAMPAIGN_RESPONSE_UNSPECIFIED);
  When(DecideRecordCampaignResponse(state_, r, c1, ctx_));
  ThenError(Code::kInvalidArgument, "response");
  r.set_response(static_cast<v1::CampaignResponse>(8));
  When(DecideRecordCampaignResponse(state_, r, c1, ctx_));
  ThenError(Code::kInvalidArgument, "response");
  r.set_response(v1::CAMPAIGN_RESPONSE_DECLINED);
  r.set_note(std::string(2001, 'n'));
  When(DecideRecordCampaignResponse(state_, r, c1, ctx_));
  ThenError(Code::kInvalidArgument, "note");
  r.clear_note();
  r.clear_customer_id();
  When(DecideRecordCampaignResponse(state_, r, c1, ctx_));
  ThenError(Code::kInvalidArgument, "customer_id");
}

TEST_F(CampaignTest, AttendanceCountsWhatIsTrueNow) {
  GivenRunning();
  v1::RecordCampaignAttendanceRequest r;
  r.set_customer_id("c2");
  r.set_attended(true);
  v1::CampaignTarget c2 = TargetOf("c2");
  When(DecideRecordCampaignAttendance(state_, r, c2, ctx_));
  Then({Event(R"pb(campaign_id: "camp-1"
                   customer_id: "c2"
                   campaign_attendance_recorded { attended: true })pb")});
  EXPECT_EQ(state_.attended_count(), 1);
  c2.set_attended(true);
  When(DecideRecordCampaignAttendance(state_, r, c2, ctx_));
  ThenNoEvents();  // already so
  r.set_attended(false);
  When(DecideRecordCampaignAttendance(state_, r, c2, ctx_));
  Then({Event(R"pb(campaign_id: "camp-1"
                   customer_id: "c2"
                   campaign_attendance_recorded {})pb")});
  EXPECT_EQ(state_.attended_count(), 0);
  // Absent was the default.
  When(DecideRecordCampaignAttendance(state_, r, TargetOf("c3"), ctx_));
  ThenNoEvents();
  When(DecideRecordCampaignAttendance(state_, r, std::nullopt, ctx_));
  ThenError(Code::kFailedPrecondition, "customer_id");
}

TEST_F(CampaignTest, OutcomeNotesAndClosing) {
  GivenRunning();
  v1::RecordCampaignOutcomeRequest note;
  When(DecideRecordCampaignOutcome(state_, note, ctx_));
  ThenError(Code::kInvalidArgument, "note");
  note.set_note(std::string(2001, 'n'));
  When(DecideRecordCampaignOutcome(state_, note, ctx_));
  ThenError(Code::kInvalidArgument, "note");
  note.set_note("Five asked for proposals");
  When(DecideRecordCampaignOutcome(state_, note, ctx_));
  Then({Event(R"pb(campaign_id: "camp-1"
                   campaign_outcome_recorded {
                     note {
                       note: "Five asked for proposals"
                       recorded_by: "alice"
                       recorded_at { seconds: 1710489600 }
                     }
                   })pb")});
  while (state_.outcome_notes_size() < kMaxCampaignOutcomeNotes) {
    Given(*DecideRecordCampaignOutcome(state_, note, ctx_));
  }
  When(DecideRecordCampaignOutcome(state_, note, ctx_));
  ThenError(Code::kFailedPrecondition, "outcome_notes");

  v1::CloseCampaignRequest close;
  close.set_note(std::string(2001, 'c'));
  When(DecideCloseCampaign(state_, close, ctx_));
  ThenError(Code::kInvalidArgument, "note");
  close.set_note("Done");
  When(DecideCloseCampaign(state_, close, ctx_));
  Then({Event(R"pb(campaign_id: "camp-1"
                   campaign_closed { note: "Done" })pb")});
  EXPECT_EQ(state_.status(), v1::CAMPAIGN_STATUS_CLOSED);
  EXPECT_EQ(state_.closed_by(), "alice");
  EXPECT_EQ(state_.closing_note(), "Done");
  EXPECT_EQ(state_.closed_at().seconds(), absl::ToUnixSeconds(kNow));

  // Nothing is recorded on a closed campaign.
  v1::RecordCampaignResponseRequest response;
  response.set_customer_id("c1");
  response.set_response(v1::CAMPAIGN_RESPONSE_ACCEPTED);
  When(DecideRecordCampaignResponse(state_, response, TargetOf("c1"), ctx_));
  ThenError(Code::kFailedPrecondition, "status", "status: campaign is CLOSED");
  v1::RecordCampaignCostRequest cost;
  cost.mutable_cost()->mutable_amount()->set_currency_code("CNY");
  cost.mutable_cost()->mutable_amount()->set_amount_minor(1);
  cost.mutable_cost()->set_description("Late invoice");
  When(DecideRecordCampaignCost(state_, cost, ctx_));
  ThenError(Code::kFailedPrecondition, "status", "status: campaign is CLOSED");
  // Malformed input is reported before the status.
  response.set_response(v1::CAMPAIGN_RESPONSE_UNSPECIFIED);
  When(DecideRecordCampaignResponse(state_, response, TargetOf("c1"), ctx_));
  ThenError(Code::kInvalidArgument, "response");
}

TEST_F(CampaignTest, TheTargetRecordsFoldFromTheEvents) {
  GivenRunning(2);
  std::map<std::string, v1::CampaignTarget> targets;
  for (const auto& [event, meta] : log_) ApplyCampaignTargets(targets, event, meta);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_THAT(targets["c1"], EqualsProto(TextProto<v1::CampaignTarget>(R"pb(
                campaign_id: "camp-1"
                customer_id: "c1"
                owner: "rep-1"
                region: "north")pb")));
  const domain::EventMeta at{.version = 9, .occurred_at = kNow, .actor = "carol"};
  ApplyCampaignTargets(
      targets,
      Event(R"pb(campaign_id: "camp-1"
                 campaign_invitations_sent { customer_ids: "c1" customer_ids: "nobody" })pb"),
      at);
  ApplyCampaignTargets(targets, Event(R"pb(campaign_id: "camp-1"
                                           customer_id: "c1"
                                           campaign_response_recorded {
                                             response: CAMPAIGN_RESPONSE_ACCEPTED
                                             note: "Yes"
                                           })pb"),
                       at);
  ApplyCampaignTargets(targets, Event(R"pb(campaign_id: "camp-1"
                                           customer_id: "c1"
                                           campaign_attendance_recorded { attended: true })pb"),
                       at);
  EXPECT_EQ(targets.size(), 2u);
  EXPECT_THAT(targets["c1"], EqualsProto(TextProto<v1::CampaignTarget>(R"pb(
                campaign_id: "camp-1"
                customer_id: "c1"
                owner: "rep-1"
                region: "north"
                invited_at { seconds: 1710489600 }
                response: CAMPAIGN_RESPONSE_ACCEPTED
                response_note: "Yes"
                responded_at { seconds: 1710489600 }
                attended: true
                attended_at { seconds: 1710489600 }
                updated_by: "carol")pb")));
  ApplyCampaignTargets(targets, Event(R"pb(campaign_id: "camp-1"
                                           customer_id: "c1"
                                           campaign_attendance_recorded {})pb"),
                       at);
  EXPECT_FALSE(targets["c1"].attended());
  EXPECT_FALSE(targets["c1"].has_attended_at());
}

// --- The report ------------------------------------------------------------------

TEST(RoiPercentTest, RoundsHalfAwayFromZeroToTwoDecimals) {
  EXPECT_EQ(RoiPercent(100, 0), std::nullopt);
  EXPECT_EQ(RoiPercent(100, -1), std::nullopt);
  EXPECT_EQ(*RoiPercent(2000000, 1500000), 33.33);  // 33.333…
  EXPECT_EQ(*RoiPercent(2000000, 1200000), 66.67);  // 66.666…
  EXPECT_EQ(*RoiPercent(0, 300), -100);
  EXPECT_EQ(*RoiPercent(300, 300), 0);
  EXPECT_EQ(*RoiPercent(200010, 200000), 0.01);   // 0.005 up
  EXPECT_EQ(*RoiPercent(199990, 200000), -0.01);  // −0.005 away from zero
  EXPECT_EQ(*RoiPercent(200009, 200000), 0);      // 0.0045
  EXPECT_EQ(*RoiPercent(199991, 200000), 0);      // −0.0045
  EXPECT_EQ(*RoiPercent(kMaxCampaignAmountMinor, 1), 9999999999999900.0);
}

// The scenario of issue 16: 2 cost entries, 10 targets, 4 responses, 2 sourced
// opportunities of which 1 won. Computed by hand:
//   costs CNY 12,000.00 + 3,000.00 = 15,000.00 (1,500,000 minor); budget 50,000.00
//   targets c01..c10; invited c01..c08 (8); responses c01 ACCEPTED, c02 ACCEPTED,
//   c03 DECLINED, c04 INTERESTED (4, accepted 2); attended c01, c02 (2)
//   opportunities o1 (c01) WON CNY 20,000.00; o2 (c04) NEEDS_ANALYSIS
//   ROI CNY = (2,000,000 − 1,500,000) / 1,500,000 × 100 = 33.333… → 33.33
class CampaignReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const CampaignContext planner{.actor = "mgr", .now = kDay1};
    v1::PlanCampaignRequest plan = Plan();
    Record(*DecidePlanCampaign(plan, kCampaignId, "north", planner), kDay1);
    v1::RecordCampaignCostRequest cost;
    cost.mutable_cost()->mutable_amount()->set_currency_code("CNY");
    cost.mutable_cost()->mutable_amount()->set_amount_minor(1200000);
    cost.mutable_cost()->set_description("Venue");
    Record(*DecideRecordCampaignCost(state_, cost, planner), kDay1);
    std::vector<v1::CampaignTarget> targets;
    for (int i = 1; i <= 10; ++i) targets.push_back(TargetOf(Id(i)));
    Record(*DecideStartCampaign(state_, targets, planner), kDay2);
    cost.mutable_cost()->mutable_amount()->set_amount_minor(300000);
    cost.mutable_cost()->set_description("Printing");
    Record(*DecideRecordCampaignCost(state_, cost, planner), kDay2);
    v1::RecordCampaignInvitationsRequest invite;
    std::vector<std::optional<v1::CampaignTarget>> rows;
    for (int i = 1; i <= 8; ++i) {
      invite.add_customer_ids(Id(i));
      rows.push_back(targets_[invite.customer_ids(i - 1)]);
    }
    Record(*DecideRecordCampaignInvitations(state_, invite, rows, planner), kDay2);
    Respond("c01", v1::CAMPAIGN_RESPONSE_ACCEPTED, kDay3);
    Respond("c02", v1::CAMPAIGN_RESPONSE_ACCEPTED, kDay3);
    Respond("c03", v1::CAMPAIGN_RESPONSE_DECLINED, kDay3);
    Respond("c04", v1::CAMPAIGN_RESPONSE_INTERESTED, kDay5);  // after the past date
    for (const char* c : {"c01", "c02"}) {
      v1::RecordCampaignAttendanceRequest a;
      a.set_customer_id(c);
      a.set_attended(true);
      Record(*DecideRecordCampaignAttendance(state_, a, targets_[c], planner), kDay4);
    }
    won_ = TextProto<v1::Opportunity>(R"pb(
      opportunity_id: "o1"
      customer_id: "c01"
      stage: OPPORTUNITY_STAGE_WON
      details {
        source: OPPORTUNITY_SOURCE_CAMPAIGN
        campaign_id: "camp-1"
        expected_amount { currency_code: "CNY" amount_minor: 2500000 }
      }
      final_amount { currency_code: "CNY" amount_minor: 2000000 })pb");
    open_ = TextProto<v1::Opportunity>(R"pb(
      opportunity_id: "o2"
      customer_id: "c04"
      stage: OPPORTUNITY_STAGE_NEEDS_ANALYSIS
      details {
        source: OPPORTUNITY_SOURCE_CAMPAIGN
        campaign_id: "camp-1"
        expected_amount { currency_code: "CNY" amount_minor: 800000 }
      })pb");
  }

  void Respond(const std::string& c, v1::CampaignResponse response, absl::Time at) {
    v1::RecordCampaignResponseRequest r;
    r.set_customer_id(c);
    r.set_response(response);
    Record(*DecideRecordCampaignResponse(state_, r, targets_[c], {.actor = "rep-1", .now = at}),
           at);
  }

  // Folds the events as appended at `at`, keeping them for a fold as of a time.
  void Record(const Events& events, absl::Time at) {
    for (const v1::InteractionEvent& e : events) {
      const domain::EventMeta meta{
          .version = state_.version() + 1, .occurred_at = at, .actor = "mgr"};
      ApplyCampaign(state_, e, meta);
      ApplyCampaignTargets(targets_, e, meta);
      log_.push_back({e, meta});
    }
  }

  // The report from the log up to `as_of`, with the targets `keep` says.
  v1::CampaignReport Report(absl::Time as_of, bool partial,
                            const std::function<bool(const std::string&)>& keep,
                            const std::vector<v1::Opportunity>& sourced) {
    v1::Campaign state;
    std::map<std::string, v1::CampaignTarget> targets;
    for (const auto& [e, meta] : log_) {
      if (meta.occurred_at > as_of) continue;
      ApplyCampaign(state, e, meta);
      ApplyCampaignTargets(targets, e, meta);
    }
    CampaignReportBuilder report(state, as_of, partial);
    for (const auto& [id, t] : targets) {
      if (keep(id)) report.AddTarget(t);
    }
    for (const v1::Opportunity& o : sourced) {
      if (keep(o.customer_id())) report.AddOpportunity(o);
    }
    return report.Finish();
  }

  const absl::Time kDay1 = kNow;
  const absl::Time kDay2 = kNow + absl::Hours(24);
  const absl::Time kDay3 = kNow + absl::Hours(48);
  const absl::Time kDay4 = kNow + absl::Hours(72);
  const absl::Time kDay5 = kNow + absl::Hours(96);
  v1::Campaign state_;
  std::map<std::string, v1::CampaignTarget> targets_;
  std::vector<std::pair<v1::InteractionEvent, domain::EventMeta>> log_;
  v1::Opportunity won_, open_;
};

TEST_F(CampaignReportTest, MatchesTheHandComputedScenario) {
  EXPECT_EQ(state_.target_count(), 10);
  EXPECT_EQ(state_.invited_count(), 8);
  EXPECT_EQ(state_.responded_count(), 4);
  EXPECT_EQ(state_.attended_count(), 2);
  const auto all = [](const std::string&) { return true; };
  EXPECT_THAT(
      Report(kDay5, false, all, {won_, open_}), EqualsProto(TextProto<v1::CampaignReport>(R"pb(
        campaign_id: "camp-1"
        name: "Spring seminar"
        status: CAMPAIGN_STATUS_RUNNING
        as_of { seconds: 1710835200 }
        targets: 10
        invited: 8
        responded: 4
        accepted: 2
        attended: 2
        opportunities_sourced: 2
        opportunities_won: 1
        opportunities_open: 1
        budget { currency_code: "CNY" amount_minor: 5000000 }
        money { currency_code: "CNY" cost_minor: 1500000 won_minor: 2000000 roi_percent: 33.33 }
      )pb")));

  // A rep who sees c01, c03 and c09 only: their records, o1, no budget, costs or ROI.
  const auto three = [](const std::string& id) {
    return id == "c01" || id == "c03" || id == "c09";
  };
  EXPECT_THAT(Report(kDay5, true, three, {won_, open_}),
              EqualsProto(TextProto<v1::CampaignReport>(R"pb(
                campaign_id: "camp-1"
                name: "Spring seminar"
                status: CAMPAIGN_STATUS_RUNNING
                as_of { seconds: 1710835200 }
                partial: true
                targets: 3
                invited: 2
                responded: 2
                accepted: 1
                attended: 1
                opportunities_sourced: 1
                opportunities_won: 1
                money { currency_code: "CNY" won_minor: 2000000 }
              )pb")));

  // As of day 4 (before c04 responded; o2 not yet created, o1 still open): 3
  // responses, both costs, nothing won.
  v1::Opportunity o1_then = won_;
  o1_then.set_stage(v1::OPPORTUNITY_STAGE_PROPOSAL);
  o1_then.clear_final_amount();
  EXPECT_THAT(Report(kDay4, false, all, {o1_then}), EqualsProto(TextProto<v1::CampaignReport>(R"pb(
                campaign_id: "camp-1"
                name: "Spring seminar"
                status: CAMPAIGN_STATUS_RUNNING
                as_of { seconds: 1710748800 }
                targets: 10
                invited: 8
                responded: 3
                accepted: 2
                attended: 2
                opportunities_sourced: 1
                opportunities_open: 1
                budget { currency_code: "CNY" amount_minor: 5000000 }
                money { currency_code: "CNY" cost_minor: 1500000 roi_percent: -100 }
              )pb")));
  // Before the start: planned, one cost, no targets.
  EXPECT_THAT(Report(kDay1, false, all, {}), EqualsProto(TextProto<v1::CampaignReport>(R"pb(
                campaign_id: "camp-1"
                name: "Spring seminar"
                status: CAMPAIGN_STATUS_PLANNED
                as_of { seconds: 1710489600 }
                budget { currency_code: "CNY" amount_minor: 5000000 }
                money { currency_code: "CNY" cost_minor: 1200000 roi_percent: -100 }
              )pb")));
}

TEST(CampaignReportBuilderTest, CurrenciesAreKeptApartAndSorted) {
  v1::Campaign c = TextProto<v1::Campaign>(R"pb(
    campaign_id: "k"
    details { name: "Fair" }
    costs { amount { currency_code: "USD" amount_minor: 1000 } }
    costs { amount { currency_code: "EUR" amount_minor: 400 } })pb");
  CampaignReportBuilder b(c, kNow, false);
  b.AddOpportunity(TextProto<v1::Opportunity>(R"pb(
    stage: OPPORTUNITY_STAGE_WON
    final_amount { currency_code: "CNY" amount_minor: 5000 })pb"));
  b.AddOpportunity(TextProto<v1::Opportunity>(R"pb(
    stage: OPPORTUNITY_STAGE_WON
    final_amount { currency_code: "USD" amount_minor: 1500 })pb"));
  b.AddOpportunity(TextProto<v1::Opportunity>(R"pb(stage: OPPORTUNITY_STAGE_LOST)pb"));
  const v1::CampaignReport r = b.Finish();
  EXPECT_EQ(r.opportunities_sourced(), 3);
  EXPECT_EQ(r.opportunities_won(), 2);
  EXPECT_EQ(r.opportunities_open(), 0);
  ASSERT_EQ(r.money_size(), 3);
  EXPECT_THAT(r.money(0), EqualsProto(TextProto<v1::CampaignMoney>(R"pb(currency_code: "CNY"
                                                                        won_minor: 5000)pb")));
  EXPECT_THAT(r.money(1), EqualsProto(TextProto<v1::CampaignMoney>(R"pb(currency_code: "EUR"
                                                                        cost_minor: 400
                                                                        roi_percent: -100)pb")));
  EXPECT_THAT(r.money(2),
              EqualsProto(TextProto<v1::CampaignMoney>(
                  R"pb(currency_code: "USD" cost_minor: 1000 won_minor: 1500 roi_percent: 50)pb")));
}

}  // namespace
}  // namespace crm::interaction
