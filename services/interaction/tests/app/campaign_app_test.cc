// The campaign use cases on a real store with a fake clock: target resolution by
// every filter, explicit ids and the starter's access; the frozen list as later
// directory changes leave it; a campaign's life with its history, GetCampaign as
// of a past time and a rebuild of every row; the report against a hand-computed
// scenario (now, as of past times, partial); the authorization matrix over every
// CampaignService RPC; lists newest first, filtered and paged; opportunities
// naming a campaign that does not exist.
#include "crm/interaction/app/campaign_app.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "command/testing/app_test.h"
#include "common/testing/proto_testing.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/command/rebuild.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/directory/customer_directory.h"
#include "crm/interaction/app/sales_app.h"
#include "crm/interaction/projection/campaign_projection.h"
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
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using Code = absl::StatusCode;

// 2026-11-02T09:00:00Z and the following days at 09:00.
const absl::Time kDay0 = absl::FromUnixSeconds(1793610000);
absl::Time Day(double n) { return kDay0 + absl::Hours(24 * n); }

class CampaignAppTest : public command::testing::AppTest<CampaignApp> {
 protected:
  CampaignAppTest() : AppTest(kDay0) {}
  absl::StatusOr<std::unique_ptr<CampaignApp>> MakeApp(command::Pipeline& pipeline) override {
    sales_ = std::make_unique<SalesApp>(SalesAppOptions{.pipeline = &pipeline});
    return std::make_unique<CampaignApp>(
        CampaignAppOptions{.pipeline = &pipeline, .slow_queries = &pool_});
  }

  // --- The directory, as crm-interaction's consumer fills it.
  void Consume(std::string_view topic, const std::string& payload) {
    directory::DirectoryHandler handler;
    ASSERT_TRUE(
        messaging::testing::HandleAndCommit(handler, *store_, topic, payload, ++position_).ok());
  }
  void Customer(const std::string& id, const std::string& owner, const std::string& region,
                const std::string& industry = "",
                customer::v1::Lifecycle lifecycle = customer::v1::LIFECYCLE_UNSPECIFIED) {
    customer::v1::CustomerEvent e;
    e.set_customer_id(id);
    e.mutable_registered()->set_owner(owner);
    e.mutable_registered()->set_region(region);
    e.mutable_registered()->mutable_basic()->set_industry(industry);
    e.mutable_registered()->set_lifecycle(lifecycle);
    Consume(messaging::kCustomerTopic, e.SerializeAsString());
  }
  void Classified(const std::string& id, classification::v1::Scheme scheme,
                  const std::string& cls) {
    classification::v1::ClassificationEvent e;
    e.set_customer_id(id);
    e.mutable_classified()->set_scheme(scheme);
    e.mutable_classified()->set_new_class(cls);
    Consume(messaging::kClassificationTopic, e.SerializeAsString());
  }
  void Transferred(const std::string& id, const std::string& owner, const std::string& region) {
    customer::v1::CustomerEvent e;
    e.set_customer_id(id);
    e.mutable_owner_assigned()->mutable_change()->set_to_owner(owner);
    e.mutable_owner_assigned()->mutable_change()->set_to_region(region);
    Consume(messaging::kCustomerTopic, e.SerializeAsString());
  }
  void LifecycleTo(const std::string& id, customer::v1::Lifecycle to) {
    customer::v1::CustomerEvent e;
    e.set_customer_id(id);
    e.mutable_lifecycle_changed()->set_to(to);
    Consume(messaging::kCustomerTopic, e.SerializeAsString());
  }
  void Granted(const std::string& id, const std::string& subject) {
    customer::v1::CustomerEvent e;
    e.set_customer_id(id);
    e.mutable_access_granted()->mutable_grant()->set_subject(subject);
    *e.mutable_access_granted()->mutable_grant()->mutable_expires_at() =
        ToProtoTimestamp(clock_.Now() + absl::Hours(24 * 365));
    Consume(messaging::kCustomerTopic, e.SerializeAsString());
  }

  // --- Campaigns.
  static v1::PlanCampaignRequest PlanRequest(const std::string& selection,
                                             const std::string& owner = "",
                                             const std::string& name = "Seminar") {
    v1::PlanCampaignRequest r;
    r.mutable_details()->set_name(name);
    r.mutable_details()->set_type(v1::CAMPAIGN_TYPE_SEMINAR);
    r.mutable_details()->set_start_date("2026-12-01");
    r.mutable_details()->set_end_date("2026-12-01");
    r.mutable_details()->mutable_budget()->set_currency_code("CNY");
    r.mutable_details()->mutable_budget()->set_amount_minor(5000000);
    *r.mutable_selection() = TextProto<v1::TargetSelection>(selection);
    r.set_owner(owner);
    return r;
  }
  std::string Plan(const Principal& who, const std::string& selection,
                   const std::string& owner = "", const std::string& name = "Seminar") {
    auto planned = Call(&CampaignApp::PlanCampaign, who, PlanRequest(selection, owner, name));
    EXPECT_TRUE(planned.ok()) << planned.status();
    return planned.ok() ? planned->campaign_id() : "";
  }
  absl::Status Start(const Principal& who, const std::string& id) {
    v1::StartCampaignRequest r;
    r.set_campaign_id(id);
    return Call(&CampaignApp::StartCampaign, who, r).status();
  }
  // The targets `who` is shown, all pages.
  std::vector<v1::CampaignTarget> Targets(const std::string& id, const Principal* who = nullptr) {
    std::vector<v1::CampaignTarget> out;
    v1::ListCampaignTargetsRequest r;
    r.set_campaign_id(id);
    r.set_page_size(2);
    for (std::string token;;) {
      r.set_page_token(token);
      auto page = Call(&CampaignApp::ListCampaignTargets, who ? *who : root_, r);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const auto& t : page->targets()) out.push_back(t);
      token = page->next_page_token();
      if (token.empty()) break;
    }
    return out;
  }
  std::vector<std::string> TargetIds(const std::string& id, const Principal* who = nullptr) {
    std::vector<std::string> ids;
    for (const auto& t : Targets(id, who)) ids.push_back(t.customer_id());
    return ids;
  }
  absl::Status Respond(const Principal& who, const std::string& id, const std::string& customer,
                       v1::CampaignResponse response) {
    v1::RecordCampaignResponseRequest r;
    r.set_campaign_id(id);
    r.set_customer_id(customer);
    r.set_response(response);
    return Call(&CampaignApp::RecordCampaignResponse, who, r).status();
  }
  absl::Status Attend(const Principal& who, const std::string& id, const std::string& customer) {
    v1::RecordCampaignAttendanceRequest r;
    r.set_campaign_id(id);
    r.set_customer_id(customer);
    r.set_attended(true);
    return Call(&CampaignApp::RecordCampaignAttendance, who, r).status();
  }
  absl::Status Invite(const Principal& who, const std::string& id,
                      const std::vector<std::string>& customers) {
    v1::RecordCampaignInvitationsRequest r;
    r.set_campaign_id(id);
    for (const auto& c : customers) r.add_customer_ids(c);
    return Call(&CampaignApp::RecordCampaignInvitations, who, r).status();
  }
  absl::Status Cost(const Principal& who, const std::string& id, int64_t amount,
                    const std::string& what) {
    v1::RecordCampaignCostRequest r;
    r.set_campaign_id(id);
    r.mutable_cost()->mutable_amount()->set_currency_code("CNY");
    r.mutable_cost()->mutable_amount()->set_amount_minor(amount);
    r.mutable_cost()->set_description(what);
    return Call(&CampaignApp::RecordCampaignCost, who, r).status();
  }
  absl::StatusOr<v1::Campaign> Get(const Principal& who, const std::string& id,
                                   std::optional<absl::Time> as_of = std::nullopt) {
    v1::GetCampaignRequest r;
    r.set_campaign_id(id);
    if (as_of) *r.mutable_as_of() = ToProtoTimestamp(*as_of);
    auto got = Call(&CampaignApp::GetCampaign, who, r);
    if (!got.ok()) return got.status();
    return got->campaign();
  }
  absl::StatusOr<v1::CampaignReport> Report(const Principal& who, const std::string& id,
                                            std::optional<absl::Time> as_of = std::nullopt) {
    v1::GetCampaignReportRequest r;
    r.set_campaign_id(id);
    if (as_of) *r.mutable_as_of() = ToProtoTimestamp(*as_of);
    auto got = Call(&CampaignApp::GetCampaignReport, who, r);
    if (!got.ok()) return got.status();
    return got->report();
  }
  // The campaigns `who` lists (all pages of `r`), in order.
  std::vector<std::string> Listed(const Principal& who, v1::ListCampaignsRequest r = {}) {
    std::vector<std::string> ids;
    for (std::string token;;) {
      r.set_page_token(token);
      auto page = Call(&CampaignApp::ListCampaigns, who, r);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const auto& c : page->campaigns()) ids.push_back(c.campaign_id());
      token = page->next_page_token();
      if (token.empty()) break;
    }
    return ids;
  }

  // --- Opportunities.
  absl::StatusOr<std::string> Opportunity(
      const std::string& customer, const std::string& campaign,
      v1::OpportunitySource source = v1::OPPORTUNITY_SOURCE_CAMPAIGN) {
    v1::CreateOpportunityRequest r;
    r.set_customer_id(customer);
    r.mutable_details()->set_title("Deal " + customer);
    r.mutable_details()->set_source(source);
    r.mutable_details()->set_campaign_id(campaign);
    r.mutable_details()->mutable_expected_amount()->set_currency_code("CNY");
    r.mutable_details()->mutable_expected_amount()->set_amount_minor(2500000);
    r.mutable_details()->set_expected_close_date("2026-12-31");
    auto created = command::Await(*sales_, &SalesApp::CreateOpportunity, root_, r);
    if (!created.ok()) return created.status();
    return created->opportunity_id();
  }

  ThreadPool pool_{2};
  std::unique_ptr<SalesApp> sales_;
  uint64_t position_ = 0;
  const Principal root_{"root", {Role::kAdmin}, ""};
};

// n1..n3 in the north, s1, s2 in the south; industries, lifecycles, classes.
class ResolutionTest : public CampaignAppTest {
 protected:
  void SetUp() override {
    CampaignAppTest::SetUp();
    Customer("n1", "rep-a", "north", "Chemicals", customer::v1::LIFECYCLE_COOPERATING);
    Customer("n2", "rep-a", "north", "Textiles");  // POTENTIAL by default
    Customer("n3", "rep-b", "north", "Chemicals", customer::v1::LIFECYCLE_FOLLOWING);
    Customer("s1", "rep-c", "south", "Chemicals", customer::v1::LIFECYCLE_COOPERATING);
    Customer("s2", "rep-c", "south", "Food", customer::v1::LIFECYCLE_COOPERATING);
    LifecycleTo("s2", customer::v1::LIFECYCLE_CHURNED);
    Classified("n1", classification::v1::SCHEME_ABCD, "A");
    Classified("n2", classification::v1::SCHEME_ABCD, "B");
    Classified("n3", classification::v1::SCHEME_TIER, "key");
    Classified("s1", classification::v1::SCHEME_ABCD, "A");
  }
};

TEST_F(ResolutionTest, StartResolvesTheTargetsByEveryFilterAndExplicitIds) {
  struct Case {
    std::string selection;
    std::vector<std::string> targets;
  };
  const std::vector<Case> cases = {
      {R"pb(regions: "north")pb", {"n1", "n2", "n3"}},
      {R"pb(regions: "north" regions: "south")pb", {"n1", "n2", "n3", "s1", "s2"}},
      {R"pb(industries: "Chemicals")pb", {"n1", "n3", "s1"}},
      {R"pb(lifecycles: LIFECYCLE_COOPERATING)pb", {"n1", "s1"}},
      {R"pb(lifecycles: LIFECYCLE_CHURNED lifecycles: LIFECYCLE_POTENTIAL)pb", {"n2", "s2"}},
      {R"pb(classes { scheme: SCHEME_ABCD class_name: "A" })pb", {"n1", "s1"}},
      {R"pb(classes { scheme: SCHEME_ABCD class_name: "A" }
            classes { scheme: SCHEME_TIER class_name: "key" })pb",
       {"n1", "n3", "s1"}},
      {R"pb(classes { scheme: SCHEME_VALUE class_name: "A" })pb", {}},
      {R"pb(regions: "north" industries: "Chemicals")pb", {"n1", "n3"}},
      {R"pb(regions: "south"
            lifecycles: LIFECYCLE_COOPERATING
            classes { scheme: SCHEME_ABCD class_name: "A" })pb",
       {"s1"}},
      {R"pb(regions: "north" customer_ids: "s2")pb", {"n1", "n2", "n3", "s2"}},
      {R"pb(customer_ids: "s2" customer_ids: "n2")pb", {"n2", "s2"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.selection);
    const std::string id = Plan(root_, c.selection);
    const absl::Status started = Start(root_, id);
    if (c.targets.empty()) {
      EXPECT_EQ(started.code(), Code::kFailedPrecondition);
      EXPECT_EQ(started.message(), "selection: matches no customer the caller may see");
      EXPECT_EQ(Get(root_, id)->status(), v1::CAMPAIGN_STATUS_PLANNED);
      continue;
    }
    ASSERT_TRUE(started.ok()) << started;
    EXPECT_THAT(TargetIds(id), ElementsAreArray(c.targets));
    EXPECT_EQ(Get(root_, id)->target_count(), static_cast<int>(c.targets.size()));
  }
}

TEST_F(ResolutionTest, TheStarterSeesTheTargetsAndNamesOnlyCustomersItMaySee) {
  const Principal rep_a{"rep-a", {Role::kSalesRep}, "north"};
  const Principal south{"mia", {Role::kRegionalManager}, "south"};
  // A rep's campaign reaches its own customers only.
  std::string id = Plan(rep_a, R"pb(industries: "Chemicals")pb");
  ASSERT_TRUE(Start(rep_a, id).ok());
  EXPECT_THAT(TargetIds(id), ElementsAre("n1"));
  // A regional manager's, its region's.
  id = Plan(south, R"pb(lifecycles: LIFECYCLE_COOPERATING)pb");
  ASSERT_TRUE(Start(south, id).ok());
  EXPECT_THAT(TargetIds(id), ElementsAre("s1"));
  // Nothing the rep may see.
  id = Plan(rep_a, R"pb(regions: "south")pb");
  EXPECT_EQ(Start(rep_a, id).code(), Code::kFailedPrecondition);
  // An executive of another region starts the rep's campaign: as the starter sees them.
  ASSERT_TRUE(Start({"eve", {Role::kExecutive}, "east"}, id).ok());
  EXPECT_THAT(TargetIds(id), ElementsAre("s1", "s2"));
  // Explicit customers must be visible to the planner (and exist).
  auto denied = Call(&CampaignApp::PlanCampaign, rep_a, PlanRequest(R"pb(customer_ids: "n1"
                                                                         customer_ids: "s1")pb"));
  EXPECT_EQ(denied.status().code(), Code::kNotFound);
  EXPECT_EQ(denied.status().message(), "selection.customer_ids[1]: customer s1 not found");
  auto unknown =
      Call(&CampaignApp::PlanCampaign, rep_a, PlanRequest(R"pb(customer_ids: "ghost")pb"));
  EXPECT_EQ(unknown.status().code(), Code::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()),
              ::testing::StartsWith("selection.customer_ids[0]: "));
  // A grant makes one visible.
  Granted("s2", "rep-a");
  id = Plan(rep_a, R"pb(customer_ids: "s2")pb");
  ASSERT_TRUE(Start(rep_a, id).ok());
  EXPECT_THAT(TargetIds(id), ElementsAre("s2"));
  // Malformed selections are INVALID_ARGUMENT before anything is looked up.
  auto bad =
      Call(&CampaignApp::PlanCampaign, rep_a, PlanRequest(R"pb(customer_ids: "n1" regions: "")pb"));
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), ::testing::StartsWith("selection.regions[0]: "));
}

TEST_F(ResolutionTest, TheFrozenListStaysAsItWasWhenTheDirectoryChanges) {
  const std::string id = Plan(root_, R"pb(regions: "north")pb");
  ASSERT_TRUE(Start(root_, id).ok());
  const std::vector<v1::CampaignTarget> before = Targets(id);
  ASSERT_EQ(before.size(), 3u);
  v1::CampaignTarget n1 =
      TextProto<v1::CampaignTarget>(R"pb(customer_id: "n1" owner: "rep-a" region: "north")pb");
  n1.set_campaign_id(id);
  EXPECT_THAT(before[0], EqualsProto(n1));
  // n1 moves south to another owner, n2's lifecycle changes, n4 joins the north.
  Transferred("n1", "rep-z", "south");
  LifecycleTo("n2", customer::v1::LIFECYCLE_COOPERATING);
  Customer("n4", "rep-b", "north");
  const std::vector<v1::CampaignTarget> after = Targets(id);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) EXPECT_THAT(after[i], EqualsProto(before[i]));
  EXPECT_EQ(Get(root_, id)->target_count(), 3);
  // The campaign cannot be started again.
  EXPECT_EQ(Start(root_, id).code(), Code::kFailedPrecondition);
  // It still reaches rep-a (owner at the freeze), who now sees none of its targets.
  const Principal rep_a{"rep-a", {Role::kSalesRep}, "north"};
  auto seen = Get(rep_a, id);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->target_count(), 1);  // n2 is still rep-a's
  EXPECT_THAT(TargetIds(id, &rep_a), ElementsAre("n2"));
}

// --- A campaign's life -----------------------------------------------------------

TEST_F(CampaignAppTest, ACampaignsLifeWithItsHistoryItsPastAndItsRebuiltRows) {
  Customer("c1", "rep-a", "north");
  Customer("c2", "rep-a", "north");
  Customer("c3", "rep-b", "north");
  const Principal mgr{"nina", {Role::kRegionalManager}, "north"};
  const std::string id = Plan(mgr, R"pb(regions: "north")pb", "rep-a", "Autumn fair");
  ASSERT_TRUE(Cost(mgr, id, 120000, "Stand").ok());
  v1::UpdateCampaignRequest update;
  update.set_campaign_id(id);
  *update.mutable_details() = PlanRequest("").details();
  update.mutable_details()->set_name("Autumn trade fair");
  update.mutable_details()->set_type(v1::CAMPAIGN_TYPE_EXHIBITION);
  *update.mutable_selection() = TextProto<v1::TargetSelection>(R"pb(regions: "north")pb");
  ASSERT_TRUE(Call(&CampaignApp::UpdateCampaign, mgr, update).ok());
  clock_.Set(Day(1));
  ASSERT_TRUE(Start(mgr, id).ok());
  ASSERT_TRUE(Invite(mgr, id, {"c1", "c2"}).ok());
  EXPECT_EQ(Call(&CampaignApp::UpdateCampaign, mgr, update).status().code(),
            Code::kFailedPrecondition);  // started: no more changes
  clock_.Set(Day(2));
  const Principal rep_a{"rep-a", {Role::kSalesRep}, "north"};
  ASSERT_TRUE(Respond(rep_a, id, "c1", v1::CAMPAIGN_RESPONSE_ACCEPTED).ok());
  ASSERT_TRUE(Attend(rep_a, id, "c1").ok());
  // Not a target.
  Customer("c9", "rep-a", "north");
  EXPECT_EQ(Respond(rep_a, id, "c9", v1::CAMPAIGN_RESPONSE_ACCEPTED).code(),
            Code::kFailedPrecondition);
  clock_.Set(Day(3));
  v1::RecordCampaignOutcomeRequest outcome;
  outcome.set_campaign_id(id);
  outcome.set_note("Two asked for quotes");
  ASSERT_TRUE(Call(&CampaignApp::RecordCampaignOutcome, mgr, outcome).ok());
  v1::CloseCampaignRequest close;
  close.set_campaign_id(id);
  close.set_note("Done");
  ASSERT_TRUE(Call(&CampaignApp::CloseCampaign, mgr, close).ok());
  // A response or a cost on a closed campaign.
  EXPECT_EQ(Respond(rep_a, id, "c2", v1::CAMPAIGN_RESPONSE_DECLINED).code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(Cost(mgr, id, 100, "Late invoice").code(), Code::kFailedPrecondition);
  clock_.Set(Day(4));

  auto now = Get(mgr, id);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(now->status(), v1::CAMPAIGN_STATUS_CLOSED);
  EXPECT_EQ(now->details().name(), "Autumn trade fair");
  EXPECT_EQ(now->owner(), "rep-a");
  EXPECT_EQ(now->region(), "north");
  EXPECT_EQ(now->created_by(), "nina");
  EXPECT_EQ(now->target_count(), 3);
  EXPECT_EQ(now->invited_count(), 2);
  EXPECT_EQ(now->responded_count(), 1);
  EXPECT_EQ(now->attended_count(), 1);
  ASSERT_EQ(now->costs_size(), 1);
  EXPECT_EQ(now->costs(0).incurred_on(), "2026-11-02");
  ASSERT_EQ(now->outcome_notes_size(), 1);
  EXPECT_EQ(now->closed_by(), "nina");
  // As of day 1.5: running, invited, nobody answered yet.
  auto then = Get(mgr, id, Day(1.5));
  ASSERT_TRUE(then.ok()) << then.status();
  EXPECT_EQ(then->status(), v1::CAMPAIGN_STATUS_RUNNING);
  EXPECT_EQ(then->invited_count(), 2);
  EXPECT_EQ(then->responded_count(), 0);
  EXPECT_EQ(Get(mgr, id, kDay0 - absl::Hours(1)).status().code(), Code::kNotFound);
  // rep-a (owner of the campaign) manages it; rep-b sees its one target, as of then too.
  const Principal rep_b{"rep-b", {Role::kSalesRep}, "north"};
  auto b_now = Get(rep_b, id);
  ASSERT_TRUE(b_now.ok()) << b_now.status();
  EXPECT_EQ(b_now->target_count(), 1);
  EXPECT_EQ(b_now->invited_count(), 0);
  EXPECT_FALSE(b_now->details().has_budget());
  EXPECT_EQ(b_now->costs_size(), 0);
  EXPECT_EQ(Get(rep_b, id, Day(0.5))->status(), v1::CAMPAIGN_STATUS_PLANNED);

  // The target rows as recorded.
  const std::vector<v1::CampaignTarget> targets = Targets(id);
  ASSERT_EQ(targets.size(), 3u);
  v1::CampaignTarget c1 = TextProto<v1::CampaignTarget>(R"pb(
    customer_id: "c1"
    owner: "rep-a"
    region: "north"
    invited_at { seconds: 1793696400 }
    response: CAMPAIGN_RESPONSE_ACCEPTED
    responded_at { seconds: 1793782800 }
    attended: true
    attended_at { seconds: 1793782800 }
    updated_by: "rep-a")pb");
  c1.set_campaign_id(id);
  EXPECT_THAT(targets[0], EqualsProto(c1));
  EXPECT_EQ(targets[1].updated_by(), "nina");
  EXPECT_FALSE(targets[2].has_invited_at());

  // Every change with its actor and time, oldest first, a page at a time.
  v1::GetCampaignHistoryRequest history;
  history.set_campaign_id(id);
  history.set_page_size(4);
  std::vector<std::string> types, actors;
  for (std::string token;;) {
    history.set_page_token(token);
    auto page = Call(&CampaignApp::GetCampaignHistory, mgr, history);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& e : page->entries()) {
      types.push_back(e.event_type());
      actors.push_back(e.actor());
    }
    token = page->next_page_token();
    if (token.empty()) break;
  }
  EXPECT_THAT(
      types,
      ElementsAre(
          "crm.interaction.v1.CampaignPlanned", "crm.interaction.v1.CampaignCostRecorded",
          "crm.interaction.v1.CampaignUpdated", "crm.interaction.v1.CampaignStarted",
          "crm.interaction.v1.CampaignTargetsFrozen", "crm.interaction.v1.CampaignInvitationsSent",
          "crm.interaction.v1.CampaignResponseRecorded",
          "crm.interaction.v1.CampaignAttendanceRecorded",
          "crm.interaction.v1.CampaignOutcomeRecorded", "crm.interaction.v1.CampaignClosed"));
  EXPECT_EQ(actors[6], "rep-a");
  EXPECT_EQ(actors[9], "nina");
  // rep-b's history: no costs, no budget, only its target; c1's records left out.
  history.clear_page_token();
  history.set_page_size(100);
  auto b_history = Call(&CampaignApp::GetCampaignHistory, rep_b, history);
  ASSERT_TRUE(b_history.ok());
  std::vector<std::string> b_types;
  for (const auto& e : b_history->entries()) {
    b_types.push_back(e.event_type());
    EXPECT_FALSE(e.event().campaign_planned().details().has_budget());
    EXPECT_EQ(e.event().campaign_started().target_count(), 0);  // not the whole list's
    for (const auto& t : e.event().campaign_targets_frozen().targets()) {
      EXPECT_EQ(t.customer_id(), "c3");
    }
  }
  EXPECT_THAT(
      b_types,
      ElementsAre("crm.interaction.v1.CampaignPlanned", "crm.interaction.v1.CampaignUpdated",
                  "crm.interaction.v1.CampaignStarted", "crm.interaction.v1.CampaignTargetsFrozen",
                  "crm.interaction.v1.CampaignOutcomeRecorded",
                  "crm.interaction.v1.CampaignClosed"));
  history.set_page_token("x");
  EXPECT_EQ(Call(&CampaignApp::GetCampaignHistory, mgr, history).status().code(),
            Code::kInvalidArgument);

  // Replays: a start with its command id answers as the first time.
  const std::string second = Plan(mgr, R"pb(regions: "north")pb");
  v1::StartCampaignRequest start;
  start.set_campaign_id(second);
  start.mutable_options()->set_command_id("start-1");
  auto first = Call(&CampaignApp::StartCampaign, mgr, start);
  auto again = Call(&CampaignApp::StartCampaign, mgr, start);
  ASSERT_TRUE(first.ok() && again.ok()) << first.status() << again.status();
  EXPECT_THAT(*again, EqualsProto(*first));

  // The rows are exactly what a rebuild from the log gives, opportunities' too.
  ASSERT_TRUE(Opportunity("c1", id).ok());
  Open();
  command::Projectors projector(
      {std::make_shared<command::AggregateProjector<CampaignAggregate>>(Campaigns()),
       std::make_shared<command::AggregateProjector<OpportunityAggregate>>(Opportunities())});
  ExpectRebuildReproducesTheRows(
      projector,
      {std::string(kCampaignsProjection), std::string(kCampaignIndexProjection),
       std::string(kCampaignReachProjection), std::string(kCampaignTargetsProjection),
       std::string(kCampaignTargetFactsProjection), std::string(kOpportunitiesProjection),
       std::string(kOpportunityIndexProjection), std::string(kCampaignOpportunitiesProjection)});
}

// --- The report ----------------------------------------------------------------

// Issue 16's scenario on the store: 2 cost entries, 10 targets, 4 responses, 2
// sourced opportunities of which 1 won. By hand:
//   day 0  planned by nina (north); cost CNY 12,000.00 (1,200,000)
//   day 1  started: t01..t10 (every north customer); cost 3,000.00; t01..t08 invited
//   day 2  t01 ACCEPTED, t02 ACCEPTED, t03 DECLINED; o1 (t01, from the campaign)
//          created; o4 (t06) created from the campaign, then moved to WEB_MEDIA;
//          o3 (t05) from an exhibition
//   day 3  t01, t02 attended; o1 won CNY 20,000.00
//   day 4  t04 INTERESTED; o2 (t04, from the campaign) created
//   now (day 5): targets 10, invited 8, responded 4, accepted 2, attended 2,
//   sourced 2 (o1 won, o2 open), cost 1,500,000, won 2,000,000,
//   ROI (2,000,000 − 1,500,000) / 1,500,000 = 33.333…% → 33.33
TEST_F(CampaignAppTest, TheReportMatchesTheHandComputedScenario) {
  const std::vector<std::string> rep_x = {"t01", "t03", "t09"};
  for (int i = 1; i <= 10; ++i) {
    const std::string t = absl::StrCat(i < 10 ? "t0" : "t", i);
    Customer(t, std::find(rep_x.begin(), rep_x.end(), t) != rep_x.end() ? "rep-x" : "rep-y",
             "north");
  }
  Customer("s1", "rep-s", "south");
  const Principal mgr{"nina", {Role::kRegionalManager}, "north"};
  const std::string id = Plan(mgr, R"pb(regions: "north")pb");
  ASSERT_TRUE(Cost(mgr, id, 1200000, "Venue").ok());
  clock_.Set(Day(1));
  ASSERT_TRUE(Start(mgr, id).ok());
  ASSERT_TRUE(Cost(mgr, id, 300000, "Printing").ok());
  ASSERT_TRUE(Invite(mgr, id, {"t01", "t02", "t03", "t04", "t05", "t06", "t07", "t08"}).ok());
  clock_.Set(Day(2));
  ASSERT_TRUE(Respond(mgr, id, "t01", v1::CAMPAIGN_RESPONSE_ACCEPTED).ok());
  ASSERT_TRUE(Respond(mgr, id, "t02", v1::CAMPAIGN_RESPONSE_ACCEPTED).ok());
  ASSERT_TRUE(Respond(mgr, id, "t03", v1::CAMPAIGN_RESPONSE_DECLINED).ok());
  auto o1 = Opportunity("t01", id);
  ASSERT_TRUE(o1.ok()) << o1.status();
  ASSERT_TRUE(Opportunity("t05", "", v1::OPPORTUNITY_SOURCE_EXHIBITION).ok());
  auto o4 = Opportunity("t06", id);
  ASSERT_TRUE(o4.ok());
  v1::UpdateOpportunityRequest move;
  move.set_opportunity_id(*o4);
  move.mutable_details()->set_title("Deal t06");
  move.mutable_details()->set_source(v1::OPPORTUNITY_SOURCE_WEB_MEDIA);
  move.mutable_details()->mutable_expected_amount()->set_currency_code("CNY");
  move.mutable_details()->mutable_expected_amount()->set_amount_minor(2500000);
  move.mutable_details()->set_expected_close_date("2026-12-31");
  ASSERT_TRUE(command::Await(*sales_, &SalesApp::UpdateOpportunity, root_, move).ok());
  clock_.Set(Day(3));
  ASSERT_TRUE(Attend(mgr, id, "t01").ok());
  ASSERT_TRUE(Attend(mgr, id, "t02").ok());
  v1::WinOpportunityRequest win;
  win.set_opportunity_id(*o1);
  win.mutable_final_amount()->set_currency_code("CNY");
  win.mutable_final_amount()->set_amount_minor(2000000);
  ASSERT_TRUE(command::Await(*sales_, &SalesApp::WinOpportunity, root_, win).ok());
  clock_.Set(Day(4));
  ASSERT_TRUE(Respond(mgr, id, "t04", v1::CAMPAIGN_RESPONSE_INTERESTED).ok());
  ASSERT_TRUE(Opportunity("t04", id).ok());
  clock_.Set(Day(5));

  const std::string head =
      absl::StrCat("campaign_id: \"", id, "\" name: \"Seminar\" status: CAMPAIGN_STATUS_RUNNING ");
  auto now = Report(mgr, id);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_THAT(*now, EqualsProto(TextProto<v1::CampaignReport>(head + R"pb(
    as_of { seconds: 1794042000 }
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
  // rep-x sees t01, t03 and t09: partial, without budget, cost or ROI.
  auto partial = Report({"rep-x", {Role::kSalesRep}, "north"}, id);
  ASSERT_TRUE(partial.ok()) << partial.status();
  EXPECT_THAT(*partial, EqualsProto(TextProto<v1::CampaignReport>(head + R"pb(
    as_of { seconds: 1794042000 }
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
  // As of day 3.5: before t04's response and o2; o1 won.
  auto day3 = Report(mgr, id, Day(3.5));
  ASSERT_TRUE(day3.ok()) << day3.status();
  EXPECT_THAT(*day3, EqualsProto(TextProto<v1::CampaignReport>(head + R"pb(
    as_of { seconds: 1793912400 }
    targets: 10
    invited: 8
    responded: 3
    accepted: 2
    attended: 2
    opportunities_sourced: 1
    opportunities_won: 1
    budget { currency_code: "CNY" amount_minor: 5000000 }
    money { currency_code: "CNY" cost_minor: 1500000 won_minor: 2000000 roi_percent: 33.33 }
  )pb")));
  // As of day 2.5: o1 still open, nobody attended yet.
  auto day2 = Report(mgr, id, Day(2.5));
  ASSERT_TRUE(day2.ok()) << day2.status();
  EXPECT_THAT(*day2, EqualsProto(TextProto<v1::CampaignReport>(head + R"pb(
    as_of { seconds: 1793826000 }
    targets: 10
    invited: 8
    responded: 3
    accepted: 2
    opportunities_sourced: 1
    opportunities_open: 1
    budget { currency_code: "CNY" amount_minor: 5000000 }
    money { currency_code: "CNY" cost_minor: 1500000 roi_percent: -100 }
  )pb")));
  // As of day 0.5: planned, one cost.
  auto day0 = Report(mgr, id, Day(0.5));
  ASSERT_TRUE(day0.ok());
  EXPECT_EQ(day0->status(), v1::CAMPAIGN_STATUS_PLANNED);
  EXPECT_EQ(day0->targets(), 0);
  ASSERT_EQ(day0->money_size(), 1);
  EXPECT_EQ(day0->money(0).cost_minor(), 1200000);
  // Before it existed, in the future, and for someone it does not reach.
  EXPECT_EQ(Report(mgr, id, kDay0 - absl::Hours(1)).status().code(), Code::kNotFound);
  EXPECT_EQ(Report(mgr, id, Day(6)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Report({"rep-s", {Role::kSalesRep}, "south"}, id).status().code(),
            Code::kPermissionDenied);
}

TEST_F(CampaignAppTest, AReportAsOfAPastTimeCountsWhatWasSourcedThenThoughMovedSince) {
  Customer("n1", "rep-a", "north");
  Customer("n2", "rep-a", "north");
  const Principal mgr{"nina", {Role::kRegionalManager}, "north"};
  const std::string a = Plan(mgr, R"pb(regions: "north")pb", "", "Seminar A");
  const std::string b = Plan(mgr, R"pb(regions: "north")pb", "", "Seminar B");
  auto o1 = Opportunity("n1", a);
  auto o2 = Opportunity("n2", a);
  ASSERT_TRUE(o1.ok() && o2.ok());
  // Day 2: o1's source becomes campaign B, o2's the web.
  clock_.Set(Day(2));
  auto move = [&](const std::string& id, v1::OpportunitySource source,
                  const std::string& campaign) {
    v1::UpdateOpportunityRequest r;
    r.set_opportunity_id(id);
    r.mutable_details()->set_title("Deal");
    r.mutable_details()->set_source(source);
    r.mutable_details()->set_campaign_id(campaign);
    r.mutable_details()->mutable_expected_amount()->set_currency_code("CNY");
    r.mutable_details()->mutable_expected_amount()->set_amount_minor(2500000);
    r.mutable_details()->set_expected_close_date("2026-12-31");
    return command::Await(*sales_, &SalesApp::UpdateOpportunity, root_, r).status();
  };
  ASSERT_TRUE(move(*o1, v1::OPPORTUNITY_SOURCE_CAMPAIGN, b).ok());
  ASSERT_TRUE(move(*o2, v1::OPPORTUNITY_SOURCE_WEB_MEDIA, "").ok());
  clock_.Set(Day(3));
  auto sourced = [&](const std::string& id, std::optional<absl::Time> as_of) {
    auto r = Report(mgr, id, as_of);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->opportunities_sourced() : -1;
  };
  // As of day 1 both were A's; now neither is, and o1 is B's.
  EXPECT_EQ(sourced(a, Day(1)), 2);
  EXPECT_EQ(sourced(a, std::nullopt), 0);
  EXPECT_EQ(sourced(b, Day(1)), 0);
  EXPECT_EQ(sourced(b, std::nullopt), 1);
  // The rows a rebuild gives: the same (every campaign named, never removed).
  command::AggregateProjector<OpportunityAggregate> projector(Opportunities());
  ExpectRebuildReproducesTheRows(
      projector, {std::string(kOpportunitiesProjection), std::string(kOpportunityIndexProjection),
                  std::string(kPlanDueProjection), std::string(kPlanTodoProjection),
                  std::string(kCampaignOpportunitiesProjection)});
}

// --- Access ----------------------------------------------------------------------

// Every CampaignService RPC × caller: the campaign's owner (a rep), another rep
// owning one target, a rep owning none, regional managers of the campaign's
// region and of another one with a target, executive, admin, service and a
// caller without role. Writes are allowed or refused exactly; reads show exactly
// the visible targets; lists hold exactly the campaigns the caller manages or
// that reach it.
TEST_F(CampaignAppTest, AuthorizationMatrix) {
  struct Caller {
    Principal who;
    bool manages;                // the running campaign R and the planned P
    bool reads;                  // R
    std::set<std::string> sees;  // R's targets it may see
    bool plans;                  // a campaign of its own
  };
  const std::vector<Caller> callers = {
      {{"rep-own", {Role::kSalesRep}, "north"}, true, true, {"c-own"}, true},
      {{"rep-other", {Role::kSalesRep}, "north"}, false, true, {"c-other"}, true},
      {{"rep-none", {Role::kServiceAgent}, "north"}, false, false, {}, true},
      {{"rm-north", {Role::kRegionalManager}, "north"}, true, true, {"c-own", "c-other"}, true},
      {{"rm-south", {Role::kRegionalManager}, "south"}, false, true, {"c-south"}, true},
      {{"rm-west", {Role::kRegionalManager}, "west"}, false, false, {}, true},
      {{"exec", {Role::kExecutive}, "east"}, true, true, {}, true},
      {{"admin", {Role::kAdmin}, ""}, true, true, {}, true},
      {{"svc", {Role::kService}, ""}, true, true, {}, true},
      {{"nobody", {}, "north"}, false, false, {}, false},
  };
  const std::vector<std::string> all_targets = {"c-east", "c-other", "c-own", "c-south"};
  int round = 0;
  for (const Caller& c : callers) {
    SCOPED_TRACE(c.who.subject);
    Open(absl::StrCat("db-", ++round));
    position_ = 0;
    Customer("c-own", "rep-own", "north");
    Customer("c-other", "rep-other", "north");
    Customer("c-south", "rep-s", "south");
    Customer("c-east", "rep-e", "east");
    const Principal planner{"eva", {Role::kExecutive}, "north"};
    // R: running, owned by rep-own, region north, all four targets; P: planned.
    clock_.Set(kDay0);
    const std::string r =
        Plan(planner, R"pb(regions: "north" regions: "south" regions: "east")pb", "rep-own", "R");
    ASSERT_TRUE(Start(planner, r).ok());
    clock_.Set(kDay0 + absl::Minutes(1));
    const std::string p = Plan(planner, R"pb(regions: "north")pb", "rep-own", "P");
    const std::set<std::string> sees =
        c.manages ? std::set<std::string>(all_targets.begin(), all_targets.end()) : c.sees;
    const auto want = [](bool ok) { return ok ? Code::kOk : Code::kPermissionDenied; };
    auto code = [](const auto& result) { return result.status().code(); };

    // Planning its own, and for someone else (managers only).
    std::string own, for_other;
    clock_.Set(kDay0 + absl::Minutes(2));
    auto planned = Call(&CampaignApp::PlanCampaign, c.who, PlanRequest(R"pb(regions: "north")pb"));
    EXPECT_EQ(code(planned), want(c.plans)) << planned.status();
    if (planned.ok()) own = planned->campaign_id();
    const bool manager_role = c.who.Has(Role::kRegionalManager) || c.who.Has(Role::kExecutive) ||
                              c.who.Has(Role::kAdmin) || c.who.Has(Role::kService);
    clock_.Set(kDay0 + absl::Minutes(3));
    planned = Call(&CampaignApp::PlanCampaign, c.who,
                   PlanRequest(R"pb(regions: "north")pb", "someone-else"));
    EXPECT_EQ(code(planned), want(manager_role)) << planned.status();
    if (planned.ok()) for_other = planned->campaign_id();
    // Managing.
    v1::UpdateCampaignRequest update;
    update.set_campaign_id(p);
    *update.mutable_details() = PlanRequest("").details();
    update.mutable_details()->set_name("P by " + c.who.subject);
    *update.mutable_selection() = TextProto<v1::TargetSelection>(R"pb(regions: "north")pb");
    EXPECT_EQ(code(Call(&CampaignApp::UpdateCampaign, c.who, update)), want(c.manages));
    EXPECT_EQ(Cost(c.who, r, 1000, "Coffee").code(), want(c.manages));
    v1::RecordCampaignOutcomeRequest outcome;
    outcome.set_campaign_id(r);
    outcome.set_note("Noted");
    EXPECT_EQ(code(Call(&CampaignApp::RecordCampaignOutcome, c.who, outcome)), want(c.manages));
    // Per-customer records: managers, or whoever may see the customer.
    for (const std::string& t : all_targets) {
      SCOPED_TRACE(t);
      // A customer the caller may not see: NOT_FOUND, as if absent.
      const Code expected = sees.contains(t) ? Code::kOk : Code::kNotFound;
      EXPECT_EQ(Invite(c.who, r, {t}).code(), expected);
      EXPECT_EQ(Respond(c.who, r, t, v1::CAMPAIGN_RESPONSE_ACCEPTED).code(), expected);
      EXPECT_EQ(Attend(c.who, r, t).code(), expected);
    }
    // Reading.
    auto got = Get(c.who, r);
    EXPECT_EQ(got.status().code(), want(c.reads)) << got.status();
    if (got.ok()) {
      EXPECT_EQ(got->target_count(), static_cast<int>(sees.size()));
      EXPECT_EQ(got->responded_count(), static_cast<int>(sees.size()));
      EXPECT_EQ(got->details().has_budget(), c.manages);
      EXPECT_EQ(got->costs_size(), c.manages ? 1 : 0);
    }
    v1::GetCampaignHistoryRequest history;
    history.set_campaign_id(r);
    EXPECT_EQ(code(Call(&CampaignApp::GetCampaignHistory, c.who, history)), want(c.reads));
    v1::ListCampaignTargetsRequest targets;
    targets.set_campaign_id(r);
    EXPECT_EQ(code(Call(&CampaignApp::ListCampaignTargets, c.who, targets)), want(c.reads));
    if (c.reads) {
      const std::vector<std::string> listed = TargetIds(r, &c.who);
      EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), sees);
    }
    auto report = Report(c.who, r);
    EXPECT_EQ(report.status().code(), want(c.reads));
    if (report.ok()) {
      EXPECT_EQ(report->partial(), !c.manages);
      EXPECT_EQ(report->targets(), static_cast<int>(sees.size()));
      EXPECT_EQ(report->accepted(), static_cast<int>(sees.size()));
      EXPECT_EQ(report->money_size(), c.manages ? 1 : 0);
    }
    // P (planned, no targets yet): its managers only.
    EXPECT_EQ(Get(c.who, p).status().code(), want(c.manages));
    // Lists: exactly what it manages or what reaches it, newest first.
    std::vector<std::string> expected;
    if (!for_other.empty()) expected.push_back(for_other);  // its region's, or all
    if (!own.empty()) expected.push_back(own);
    if (c.manages) expected.push_back(p);
    if (c.reads) expected.push_back(r);
    EXPECT_THAT(Listed(c.who), ElementsAreArray(expected));
    // Starting and closing: managers only (P is started by them, R closed).
    EXPECT_EQ(Start(c.who, p).code(), want(c.manages));
    v1::CloseCampaignRequest close;
    close.set_campaign_id(r);
    EXPECT_EQ(code(Call(&CampaignApp::CloseCampaign, c.who, close)), want(c.manages));
    // Unknown campaigns are NOT_FOUND for every RPC.
    const std::string ghost = "no-such-campaign";
    update.set_campaign_id(ghost);
    outcome.set_campaign_id(ghost);
    close.set_campaign_id(ghost);
    history.set_campaign_id(ghost);
    targets.set_campaign_id(ghost);
    EXPECT_EQ(code(Call(&CampaignApp::UpdateCampaign, c.who, update)), Code::kNotFound);
    EXPECT_EQ(Start(c.who, ghost).code(), Code::kNotFound);
    EXPECT_EQ(Cost(c.who, ghost, 1, "x").code(), Code::kNotFound);
    EXPECT_EQ(Invite(c.who, ghost, {"c-own"}).code(), Code::kNotFound);
    EXPECT_EQ(Respond(c.who, ghost, "c-own", v1::CAMPAIGN_RESPONSE_ACCEPTED).code(),
              Code::kNotFound);
    EXPECT_EQ(Attend(c.who, ghost, "c-own").code(), Code::kNotFound);
    EXPECT_EQ(code(Call(&CampaignApp::RecordCampaignOutcome, c.who, outcome)), Code::kNotFound);
    EXPECT_EQ(code(Call(&CampaignApp::CloseCampaign, c.who, close)), Code::kNotFound);
    EXPECT_EQ(Get(c.who, ghost).status().code(), Code::kNotFound);
    EXPECT_EQ(code(Call(&CampaignApp::GetCampaignHistory, c.who, history)), Code::kNotFound);
    EXPECT_EQ(code(Call(&CampaignApp::ListCampaignTargets, c.who, targets)), Code::kNotFound);
    EXPECT_EQ(Report(c.who, ghost).status().code(), Code::kNotFound);
  }
}

TEST_F(CampaignAppTest, ListsAreNewestFirstFilteredAndPaged) {
  Customer("n1", "rep-a", "north");
  Customer("s1", "rep-s", "south");
  const Principal mgr{"nina", {Role::kRegionalManager}, "north"};
  const Principal south{"mia", {Role::kRegionalManager}, "south"};
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    clock_.Set(Day(i));
    ids.push_back(Plan(mgr, R"pb(regions: "north" regions: "south")pb", i % 2 ? "rep-a" : "",
                       absl::StrCat("C", i)));
  }
  ASSERT_TRUE(Start(root_, ids[1]).ok());
  ASSERT_TRUE(Start(root_, ids[3]).ok());
  clock_.Set(Day(5));
  const std::string mine = Plan(south, R"pb(regions: "south")pb");
  const std::vector<std::string> newest = {mine, ids[4], ids[3], ids[2], ids[1], ids[0]};
  v1::ListCampaignsRequest r;
  r.set_page_size(1);
  EXPECT_THAT(Listed(root_, r), ElementsAreArray(newest));
  r.set_status(v1::CAMPAIGN_STATUS_RUNNING);
  EXPECT_THAT(Listed(root_, r), ElementsAre(ids[3], ids[1]));
  r.clear_status();
  r.set_owner("rep-a");
  EXPECT_THAT(Listed(root_, r), ElementsAre(ids[3], ids[1]));
  r.set_owner("nina");
  EXPECT_THAT(Listed(mgr, r), ElementsAre(ids[4], ids[2], ids[0]));
  r.clear_owner();
  r.set_type(v1::CAMPAIGN_TYPE_OTHER);
  EXPECT_TRUE(Listed(root_, r).empty());
  r.clear_type();
  // The south manager: its own, and the started ones reaching s1 (two walks merged, paged).
  EXPECT_THAT(Listed(south, r), ElementsAre(mine, ids[3], ids[1]));
  r.set_page_size(2);
  auto page = Call(&CampaignApp::ListCampaigns, south, r);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->campaigns_size(), 2);
  // Counts, budget and costs are left out where it does not manage.
  EXPECT_FALSE(page->campaigns(1).details().has_budget());
  EXPECT_EQ(page->campaigns(1).target_count(), 0);
  auto managed = Call(&CampaignApp::ListCampaigns, mgr, r);
  ASSERT_TRUE(managed.ok());
  EXPECT_EQ(managed->campaigns(1).target_count(), 2);  // ids[3], started: n1 and s1
  EXPECT_TRUE(managed->campaigns(1).details().has_budget());
  // Bad requests.
  r.set_page_token("garbage!");
  EXPECT_EQ(Call(&CampaignApp::ListCampaigns, root_, r).status().code(), Code::kInvalidArgument);
  r.clear_page_token();
  r.set_page_size(501);
  EXPECT_EQ(Call(&CampaignApp::ListCampaigns, root_, r).status().code(), Code::kInvalidArgument);
  r.set_page_size(0);
  r.set_status(static_cast<v1::CampaignStatus>(9));
  EXPECT_EQ(Call(&CampaignApp::ListCampaigns, root_, r).status().code(), Code::kInvalidArgument);
}

// The reads take no command pipeline (and its bounds): an id that is no id is
// refused naming the field, as the writes refuse it.
TEST_F(CampaignAppTest, ReadsRefuseAnIdThatIsNoId) {
  for (const std::string& bad : {std::string(257, 'x'), std::string("c\n1")}) {
    SCOPED_TRACE(bad.size());
    const std::string message = bad.size() > 256
                                    ? "campaign_id: at most 256 bytes"
                                    : "campaign_id: must not contain control characters";
    v1::GetCampaignRequest get;
    get.set_campaign_id(bad);
    EXPECT_EQ(Call(&CampaignApp::GetCampaign, root_, get).status().message(), message);
    v1::GetCampaignHistoryRequest history;
    history.set_campaign_id(bad);
    EXPECT_EQ(Call(&CampaignApp::GetCampaignHistory, root_, history).status().message(), message);
    v1::ListCampaignTargetsRequest targets;
    targets.set_campaign_id(bad);
    EXPECT_EQ(Call(&CampaignApp::ListCampaignTargets, root_, targets).status().message(), message);
    EXPECT_EQ(Report(root_, bad).status().message(), message);

    v1::GetOpportunityRequest opportunity;
    opportunity.set_opportunity_id(bad);
    const absl::Status got =
        command::Await(*sales_, &SalesApp::GetOpportunity, root_, opportunity).status();
    EXPECT_EQ(got.code(), Code::kInvalidArgument);
    EXPECT_EQ(got.message().substr(0, 15), "opportunity_id:");
    v1::GetOpportunityHistoryRequest opportunity_history;
    opportunity_history.set_opportunity_id(bad);
    EXPECT_EQ(command::Await(*sales_, &SalesApp::GetOpportunityHistory, root_, opportunity_history)
                  .status()
                  .code(),
              Code::kInvalidArgument);
  }
}

TEST_F(CampaignAppTest, AnOpportunityMayNameOnlyACampaignThatExists) {
  Customer("c1", "rep-a", "north");
  auto unknown = Opportunity("c1", "no-such-campaign");
  EXPECT_EQ(unknown.status().code(), Code::kNotFound);
  EXPECT_EQ(unknown.status().message(), "details.campaign_id: campaign no-such-campaign not found");
  const std::string id = Plan(root_, R"pb(customer_ids: "c1")pb");
  auto created = Opportunity("c1", id);
  ASSERT_TRUE(created.ok()) << created.status();
  // Another source ignores the campaign id; an update to an unknown one is refused too.
  EXPECT_TRUE(Opportunity("c1", "whatever", v1::OPPORTUNITY_SOURCE_OTHER).ok());
  v1::UpdateOpportunityRequest update;
  update.set_opportunity_id(*created);
  update.mutable_details()->set_title("Deal c1");
  update.mutable_details()->set_source(v1::OPPORTUNITY_SOURCE_CAMPAIGN);
  update.mutable_details()->set_campaign_id("gone");
  update.mutable_details()->mutable_expected_amount()->set_currency_code("CNY");
  update.mutable_details()->set_expected_close_date("2026-12-31");
  auto updated = command::Await(*sales_, &SalesApp::UpdateOpportunity, root_, update);
  EXPECT_EQ(updated.status().code(), Code::kNotFound);
  EXPECT_EQ(updated.status().message(), "details.campaign_id: campaign gone not found");
}

}  // namespace
}  // namespace crm::interaction
