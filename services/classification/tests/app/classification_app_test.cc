// The classification service's behaviour on a real store with a fake clock:
// events consumed through the service's own consumer handler; explained classes
// and history; churn risk raised as time passes and cleared by new business;
// access and scopes for every RPC; a rule-set simulation on 10,000 customers that
// matches the publication; a rebuild from offset 0 equal to the live run; reports
// against a hand-computed scenario.
#include "crm/classification/app/classification_app.h"

#include <functional>
#include <map>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "crm/classification/consumer/classification_consumer.h"
#include "command/testing/app_test.h"
#include "crm/classification/domain/rules.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/messaging/cloudevents.h"
#include "crm/ticket/v1/ticket_events.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "messaging/testing/store_view.h"

namespace crm::classification {
namespace {

using auth::Principal;
using auth::Role;
namespace cv1 = ::crm::customer::v1;

// Monday 2026-12-14 09:00 UTC.
const absl::Time kStart = absl::FromCivil(absl::CivilMinute(2026, 12, 14, 9, 0), absl::UTCTimeZone());

std::string Day(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

// One consumed event: topic, payload, when it happened.
struct Consumed {
  std::string topic;
  std::string payload;
  absl::Time at;
};

// Builders of the other services' events.
Consumed Registered(const std::string& id, const std::string& owner, const std::string& region,
                    const std::string& industry, absl::Time at, int lifecycle = 1) {
  cv1::CustomerEvent e;
  e.set_customer_id(id);
  e.mutable_registered()->mutable_basic()->set_name("Customer " + id);
  e.mutable_registered()->mutable_basic()->set_industry(industry);
  e.mutable_registered()->set_owner(owner);
  e.mutable_registered()->set_region(region);
  e.mutable_registered()->set_lifecycle(static_cast<cv1::Lifecycle>(lifecycle));
  return {std::string(messaging::kCustomerTopic), e.SerializeAsString(), at};
}

Consumed Transaction(const std::string& id, const std::string& tx, double major, absl::Time at,
                     const std::string& paid = "") {
  cv1::CustomerEvent e;
  e.set_customer_id(id);
  cv1::Transaction* t = e.mutable_transaction_recorded()->mutable_transaction();
  t->set_transaction_id(tx);
  t->set_party(cv1::TRANSACTION_PARTY_OWN_COMPANY);
  t->mutable_amount()->set_currency_code("CNY");
  t->mutable_amount()->set_amount_minor(static_cast<int64_t>(major * 100));
  t->set_date(Day(at));
  t->set_paid_date(paid.empty() ? Day(at) : paid);
  return {std::string(messaging::kCustomerTopic), e.SerializeAsString(), at};
}

Consumed Lifecycle(const std::string& id, int from, int to, absl::Time at) {
  cv1::CustomerEvent e;
  e.set_customer_id(id);
  e.mutable_lifecycle_changed()->set_from(static_cast<cv1::Lifecycle>(from));
  e.mutable_lifecycle_changed()->set_to(static_cast<cv1::Lifecycle>(to));
  if (to == 4) e.mutable_lifecycle_changed()->set_churn_reason("moved to a competitor");
  return {std::string(messaging::kCustomerTopic), e.SerializeAsString(), at};
}

Consumed Survey(const std::string& id, const std::string& interaction, int score, absl::Time at) {
  interaction::v1::InteractionEvent e;
  e.set_customer_id(id);
  e.set_interaction_id(interaction);
  e.mutable_satisfaction_recorded()->mutable_survey()->set_score(score);
  *e.mutable_satisfaction_recorded()->mutable_survey()->mutable_surveyed_at() = ToProtoTimestamp(at);
  return {std::string(messaging::kInteractionTopic), e.SerializeAsString(), at};
}

Consumed Complaint(const std::string& id, const std::string& ticket, absl::Time at) {
  ticket::v1::TicketEvent e;
  e.set_customer_id(id);
  e.set_ticket_id(ticket);
  e.mutable_opened()->set_type(ticket::v1::TICKET_TYPE_COMPLAINT);
  return {std::string(messaging::kTicketTopic), e.SerializeAsString(), at};
}

// An opportunity event of customer `id` with its figures after it (stage number
// as in crm.interaction.v1.OpportunityStage; amounts in CNY): OpportunityWon for
// stage 5, OpportunityReopened for an open stage with a final amount (a reopened
// win), else OpportunityStageChanged.
Consumed Opportunity(const std::string& id, const std::string& opportunity, int stage,
                     int probability, double expected, double final_amount, absl::Time at) {
  namespace iv1 = ::crm::interaction::v1;
  iv1::InteractionEvent e;
  e.set_customer_id(id);
  e.set_opportunity_id(opportunity);
  iv1::OpportunityFigures& f = *e.mutable_opportunity_figures();
  f.set_stage(static_cast<iv1::OpportunityStage>(stage));
  f.set_probability(probability);
  f.mutable_expected_amount()->set_currency_code("CNY");
  f.mutable_expected_amount()->set_amount_minor(static_cast<int64_t>(expected * 100));
  if (final_amount != 0) {
    f.mutable_final_amount()->set_currency_code("CNY");
    f.mutable_final_amount()->set_amount_minor(static_cast<int64_t>(final_amount * 100));
  }
  if (stage == iv1::OPPORTUNITY_STAGE_WON) {
    *e.mutable_opportunity_won()->mutable_final_amount() = f.final_amount();
  } else if (final_amount != 0) {  // open again with the final amount of its win
    e.mutable_opportunity_reopened()->set_from(iv1::OPPORTUNITY_STAGE_WON);
    e.mutable_opportunity_reopened()->set_to(f.stage());
    e.mutable_opportunity_reopened()->set_probability(probability);
  } else {
    e.mutable_opportunity_stage_changed()->set_to(f.stage());
    e.mutable_opportunity_stage_changed()->set_probability(probability);
  }
  return {std::string(messaging::kInteractionTopic), e.SerializeAsString(), at};
}

class ClassificationAppTest : public command::testing::AppTest<ClassificationApp> {
 protected:
  ClassificationAppTest() : AppTest(kStart) {}
  absl::StatusOr<std::unique_ptr<ClassificationApp>> MakeApp(
      command::Pipeline& pipeline) override {
    return ClassificationApp::Create({.pipeline = &pipeline});
  }

  void Consume(const Consumed& c) {
    ASSERT_TRUE(messaging::testing::HandleAndCommit(*handler_, *store_, c.topic, c.payload,
                                                    ++position_, c.at)
                    .ok());
  }

  v1::Classification Get(const std::string& id, const Principal& who) {
    v1::GetClassificationRequest req;
    req.set_customer_id(id);
    auto r = Call(&ClassificationApp::GetClassification, who, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->classification() : v1::Classification();
  }

  static std::string ClassOf(const v1::Classification& c, v1::Scheme scheme) {
    for (const auto& r : c.schemes()) {
      if (r.scheme() == scheme) return r.class_name();
    }
    return "";
  }

  int CountEvents(const std::string& type) {
    int n = 0;
    auto all = store_->ReadAll(1, SIZE_MAX);
    for (const auto& e : *all) n += e.event_type() == type;
    return n;
  }

  std::unique_ptr<messaging::EventHandler> handler_ = NewClassificationConsumer();
  uint64_t position_ = 0;
  const Principal exec_{"eve", {Role::kExecutive}, ""};
  const Principal alice_{"alice", {Role::kSalesRep}, "north"};
  const Principal bob_{"bob", {Role::kSalesRep}, "south"};
  const Principal north_{"nina", {Role::kRegionalManager}, "north"};
};

TEST_F(ClassificationAppTest, TransactionsPushACustomerToClassAWithAnExplanation) {
  Consume(Registered("c1", "alice", "north", "energy", kStart));
  Consume(Transaction("c1", "t1", 2'500'000, kStart));
  EXPECT_EQ(*app_->ReclassifyQueued(), 1);
  const v1::Classification c = Get("c1", alice_);
  EXPECT_EQ(ClassOf(c, v1::SCHEME_ABCD), "A");
  EXPECT_EQ(ClassOf(c, v1::SCHEME_TIER), "important");
  for (const auto& r : c.schemes()) {
    if (r.scheme() != v1::SCHEME_ABCD) continue;
    EXPECT_GE(r.rule_index(), 0);
    EXPECT_FALSE(r.rule().empty());
    bool saw_revenue = false;
    for (const auto& m : r.inputs()) {
      if (m.metric() == v1::METRIC_REVENUE_12M) {
        saw_revenue = true;
        EXPECT_DOUBLE_EQ(m.value(), 2'500'000);
      }
    }
    EXPECT_TRUE(saw_revenue);
    EXPECT_EQ(r.rule_set_version(), 0u);  // the built-in rule set
  }
  EXPECT_FALSE(c.churn().at_risk());

  v1::GetClassificationHistoryRequest history;
  history.set_customer_id("c1");
  auto h = Call(&ClassificationApp::GetClassificationHistory, alice_, history);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_GE(h->entries_size(), 4);  // one CustomerClassified per scheme, then credit
  EXPECT_TRUE(h->entries(0).event().has_classified());
  EXPECT_EQ(h->entries(0).event().classified().old_class(), "");
  EXPECT_FALSE(h->entries(0).event().classified().reason().empty());
  EXPECT_EQ(*app_->ReclassifyQueued(), 0);  // nothing queued any more
  EXPECT_EQ(*app_->Sweep(), 0);             // nothing changed
}

TEST_F(ClassificationAppTest, ChurnRiskIsRaisedAsTimePassesAndClearedByNewBusiness) {
  Consume(Registered("c1", "alice", "north", "energy", kStart, 3));
  Consume(Transaction("c1", "t1", 300'000, kStart));
  ASSERT_TRUE(app_->ReclassifyQueued().ok());
  EXPECT_FALSE(Get("c1", alice_).churn().at_risk());

  // 400 days without an interaction, and no revenue in the last 12 months.
  clock_.Advance(absl::Hours(24 * 400));
  EXPECT_EQ(*app_->Sweep(), 1);
  const v1::Classification at_risk = Get("c1", alice_);
  EXPECT_TRUE(at_risk.churn().at_risk());
  EXPECT_GE(at_risk.churn().score(), 3);
  EXPECT_EQ(CountEvents("crm.classification.v1.ChurnRiskRaised"), 1);
  EXPECT_EQ(*app_->Sweep(), 0);  // raised once
  EXPECT_EQ(CountEvents("crm.classification.v1.ChurnRiskRaised"), 1);

  v1::ListChurnRisksRequest list;
  auto risks = Call(&ClassificationApp::ListChurnRisks, north_, list);
  ASSERT_TRUE(risks.ok()) << risks.status();
  ASSERT_EQ(risks->customers_size(), 1);
  EXPECT_EQ(risks->customers(0).customer_id(), "c1");
  auto none = Call(&ClassificationApp::ListChurnRisks, bob_, list);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->customers_size(), 0);

  Consume(Survey("c1", "i1", 5, clock_.Now()));
  Consume(Transaction("c1", "t2", 600'000, clock_.Now()));
  EXPECT_EQ(*app_->ReclassifyQueued(), 1);
  EXPECT_FALSE(Get("c1", alice_).churn().at_risk());
  EXPECT_EQ(CountEvents("crm.classification.v1.ChurnRiskCleared"), 1);
  // Every row comes back from the log alone (--rebuild_projections), with each
  // customer's scope from the consumed inputs.
  ExpectRebuildReproducesTheRows(*NewRebuildProjector(), RebuildTargets());
}

// The input view: GetClassification shows every metric now, the opportunities'
// among them; a rule set can class on them; a reopened win stops counting; no
// payment history means no credit rating until the first payment.
TEST_F(ClassificationAppTest, OpportunitiesAreMetricsOfTheInputViewAndOfRuleSets) {
  Consume(Registered("c1", "alice", "north", "energy", kStart));
  Consume(Opportunity("c1", "o1", 1, 10, 800'000, 0, kStart));
  Consume(Opportunity("c1", "o1", 5, 100, 800'000, 750'000, kStart));  // won
  Consume(Opportunity("c1", "o2", 3, 40, 100'000, 0, kStart));
  EXPECT_EQ(*app_->ReclassifyQueued(), 1);

  auto metrics_of = [&](const std::string& id) {
    v1::GetClassificationRequest req;
    req.set_customer_id(id);
    auto r = Call(&ClassificationApp::GetClassification, alice_, req);
    EXPECT_TRUE(r.ok()) << r.status();
    std::map<v1::Metric, double> out;
    if (!r.ok()) return out;
    int previous = 0;
    for (const v1::MetricValue& m : r->metrics()) {
      EXPECT_GT(m.metric(), previous);  // sorted by number, each once
      previous = m.metric();
      out[m.metric()] = m.value();
    }
    return out;
  };
  std::map<v1::Metric, double> m = metrics_of("c1");
  EXPECT_EQ(m.size(), 25u);
  EXPECT_DOUBLE_EQ(m[v1::METRIC_WINS_12M], 1.0);
  EXPECT_DOUBLE_EQ(m[v1::METRIC_WON_AMOUNT_12M], 750'000.0);
  EXPECT_DOUBLE_EQ(m[v1::METRIC_OPEN_PIPELINE_AMOUNT], 100'000.0);
  EXPECT_DOUBLE_EQ(m[v1::METRIC_WEIGHTED_PIPELINE_AMOUNT], 40'000.0);
  EXPECT_DOUBLE_EQ(m[v1::METRIC_PAYMENT_HISTORY], 0.0);
  // No payment history: unrated, and nothing announced.
  const v1::Classification first = Get("c1", alice_);
  EXPECT_EQ(first.credit().rating(), "");
  EXPECT_EQ(first.credit().credit_limit_minor(), 0);
  EXPECT_EQ(ClassOf(first, v1::SCHEME_TIER), "potential");
  EXPECT_EQ(CountEvents("crm.classification.v1.CreditRated"), 0);

  // A rule set whose tier "key" is a won amount of at least 500,000 in 12 months.
  v1::RuleSet rules = DefaultRuleSet();
  for (v1::SchemeRules& scheme : *rules.mutable_schemes()) {
    if (scheme.scheme() != v1::SCHEME_TIER) continue;
    v1::ClassRule* rule = scheme.add_rules();
    rule->set_class_name("key");
    v1::Condition* won = rule->add_all_of();
    won->set_metric(v1::METRIC_WON_AMOUNT_12M);
    won->set_op(v1::OP_GE);
    won->set_value(500'000);
    for (int i = scheme.rules_size() - 1; i > 0; --i)
      scheme.mutable_rules()->SwapElements(i, i - 1);
  }
  v1::PublishRuleSetRequest publish;
  *publish.mutable_rule_set() = rules;
  ASSERT_TRUE(Call(&ClassificationApp::PublishRuleSet, exec_, publish).ok());
  ASSERT_TRUE(app_->ReclassifyQueued().ok());
  const v1::Classification key = Get("c1", alice_);
  ASSERT_EQ(ClassOf(key, v1::SCHEME_TIER), "key");
  for (const auto& r : key.schemes()) {
    if (r.scheme() != v1::SCHEME_TIER) continue;
    EXPECT_EQ(r.rule(), "WON_AMOUNT_12M >= 500000");
    EXPECT_EQ(r.rule_set_version(), 1u);
    bool saw = false;
    for (const auto& v : r.inputs()) {
      if (v.metric() != v1::METRIC_WON_AMOUNT_12M) continue;
      saw = true;
      EXPECT_DOUBLE_EQ(v.value(), 750'000.0);
    }
    EXPECT_TRUE(saw);
  }

  // Reopened (won → negotiation at 80 %): no longer a win, pipeline again.
  Consume(Opportunity("c1", "o1", 4, 80, 800'000, 750'000, kStart));
  EXPECT_EQ(*app_->ReclassifyQueued(), 1);
  EXPECT_EQ(ClassOf(Get("c1", alice_), v1::SCHEME_TIER), "potential");
  m = metrics_of("c1");
  EXPECT_DOUBLE_EQ(m[v1::METRIC_WINS_12M], 0.0);
  EXPECT_DOUBLE_EQ(m[v1::METRIC_WON_AMOUNT_12M], 0.0);
  EXPECT_DOUBLE_EQ(m[v1::METRIC_OPEN_PIPELINE_AMOUNT], 900'000.0);
  EXPECT_DOUBLE_EQ(m[v1::METRIC_WEIGHTED_PIPELINE_AMOUNT], 680'000.0);

  // The first payment: rated from then on.
  Consume(Transaction("c1", "t1", 1'000, kStart));
  EXPECT_EQ(*app_->ReclassifyQueued(), 1);
  const v1::Classification rated = Get("c1", alice_);
  EXPECT_EQ(rated.credit().rating(), "AA");
  EXPECT_EQ(rated.credit().credit_limit_minor(), 30'000'000);
  EXPECT_EQ(CountEvents("crm.classification.v1.CreditRated"), 1);
  ExpectRebuildReproducesTheRows(*NewRebuildProjector(), RebuildTargets());
}

// A command id is the caller's own: the same id from two callers gives two
// publications; a replay, also after a restart, gets exactly the first answer,
// and a caller who may not publish learns nothing of it.
TEST_F(ClassificationAppTest, CommandIdsAreScopedReplayedExactlyAndOnlyAfterTheAccessCheck) {
  const Principal admin{"ada", {Role::kAdmin}, ""};
  v1::PublishRuleSetRequest publish;
  *publish.mutable_rule_set() = DefaultRuleSet();
  publish.set_command_id("rules-1");
  auto eves = Call(&ClassificationApp::PublishRuleSet, exec_, publish);
  auto adas = Call(&ClassificationApp::PublishRuleSet, admin, publish);
  ASSERT_TRUE(eves.ok() && adas.ok()) << eves.status() << adas.status();
  EXPECT_EQ(eves->rule_set().version(), 1u);
  EXPECT_EQ(adas->rule_set().version(), 2u);

  Open("db");  // a restart
  auto replay = Call(&ClassificationApp::PublishRuleSet, exec_, publish);
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->SerializeAsString(), eves->SerializeAsString());
  EXPECT_EQ(CountEvents("crm.classification.v1.RuleSetPublished"), 2);
  v1::GetRuleSetResponse current;
  ASSERT_TRUE(app_->GetRuleSet(alice_, v1::GetRuleSetRequest(), &current).ok());
  EXPECT_EQ(current.rule_set().version(), 2u);

  auto sneaky = Call(&ClassificationApp::PublishRuleSet, alice_, publish);
  EXPECT_EQ(sneaky.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(sneaky.status().message()).find("ada"), std::string::npos);
  publish.mutable_rule_set()->set_description("changed");
  auto different = Call(&ClassificationApp::PublishRuleSet, exec_, publish);
  EXPECT_EQ(different.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(different.status().message(), "command_id: ")) << different.status();
  ExpectRebuildReproducesTheRows(*NewRebuildProjector(), RebuildTargets());
}

TEST_F(ClassificationAppTest, AuthorizationCoversEveryRpc) {
  Consume(Registered("c1", "alice", "north", "energy", kStart));
  Consume(Transaction("c1", "t1", 100'000, kStart));
  ASSERT_TRUE(app_->ReclassifyQueued().ok());
  const Principal nobody{"x", {}, ""};
  using Rpc = std::function<absl::Status(const Principal&)>;
  const std::vector<std::pair<std::string, Rpc>> rpcs = {
      {"GetClassification", [&](const Principal& p) {
         v1::GetClassificationRequest r;
         r.set_customer_id("c1");
         return Call(&ClassificationApp::GetClassification, p, r).status();
       }},
      {"GetClassificationHistory", [&](const Principal& p) {
         v1::GetClassificationHistoryRequest r;
         r.set_customer_id("c1");
         return Call(&ClassificationApp::GetClassificationHistory, p, r).status();
       }},
      {"GetRuleSet", [&](const Principal& p) { return Call(&ClassificationApp::GetRuleSet, p, v1::GetRuleSetRequest()).status(); }},
      {"PublishRuleSet", [&](const Principal& p) {
         v1::PublishRuleSetRequest r;
         *r.mutable_rule_set() = DefaultRuleSet();
         return Call(&ClassificationApp::PublishRuleSet, p, r).status();
       }},
      {"SimulateRuleSet", [&](const Principal& p) {
         v1::SimulateRuleSetRequest r;
         *r.mutable_rule_set() = DefaultRuleSet();
         return Call(&ClassificationApp::SimulateRuleSet, p, r).status();
       }},
      {"GetReport", [&](const Principal& p) { return Call(&ClassificationApp::GetReport, p, v1::GetReportRequest()).status(); }},
      {"ListChurnRisks", [&](const Principal& p) { return Call(&ClassificationApp::ListChurnRisks, p, v1::ListChurnRisksRequest()).status(); }},
  };
  ASSERT_EQ(static_cast<int>(rpcs.size()),
            v1::GetRuleSetRequest::descriptor()->file()->FindServiceByName("ClassificationService")
                ->method_count());
  // Per RPC: who may (owner, region manager, executive) and who may not.
  for (const auto& [name, rpc] : rpcs) {
    const bool per_customer = absl::StartsWith(name, "GetClassification");
    const bool rules_write = name == "PublishRuleSet" || name == "SimulateRuleSet";
    const bool open = name == "GetRuleSet";
    struct Case {
      const Principal* who;
      bool allowed;
    };
    const std::vector<Case> cases = {{&alice_, !rules_write},
                                     {&north_, !rules_write},
                                     {&exec_, true},
                                     {&bob_, open || (!per_customer && !rules_write)},
                                     {&nobody, open}};
    for (const Case& c : cases) {
      const absl::Status s = rpc(*c.who);
      if (c.allowed) {
        EXPECT_TRUE(s.ok()) << name << " as " << c.who->subject << ": " << s;
      } else {
        // A customer the caller may not see: NOT_FOUND, as if absent; a role's
        // privilege refused: PERMISSION_DENIED.
        EXPECT_EQ(s.code(), per_customer ? absl::StatusCode::kNotFound
                                         : absl::StatusCode::kPermissionDenied)
            << name << " as " << c.who->subject << ": " << s;
      }
    }
  }
  // A scoped report covers only the caller's customers.
  Consume(Registered("c2", "bob", "south", "retail", kStart));
  ASSERT_TRUE(app_->ReclassifyQueued().ok());
  auto all = Call(&ClassificationApp::GetReport, exec_, v1::GetReportRequest());
  auto north = Call(&ClassificationApp::GetReport, north_, v1::GetReportRequest());
  auto bobs = Call(&ClassificationApp::GetReport, bob_, v1::GetReportRequest());
  ASSERT_TRUE(all.ok() && north.ok() && bobs.ok());
  EXPECT_EQ(all->customers(), 2);
  EXPECT_EQ(north->customers(), 1);
  EXPECT_EQ(bobs->customers(), 1);
  ASSERT_EQ(bobs->by_region_size(), 1);
  EXPECT_EQ(bobs->by_region(0).key(), "south");
}

// Reports against a hand-computed scenario (all amounts CNY, built-in rules):
//   c1 north energy cooperating, 2,500,000 this year        → ABCD A
//   c2 north energy cooperating → churned in the period, 300,000 → ABCD C
//   c3 south retail potential → cooperating in the period, 600,000 → ABCD B
//   c4 south retail potential, nothing                       → ABCD D
// Revenue 3,400,000: A 73.5 %, B 17.6 %, C 8.8 %, D 0. Churn 1 of 2 cooperating
// at the start = 0.5; conversion 1 of 2 prospects = 0.5. One complaint (c1, open).
TEST_F(ClassificationAppTest, ReportMatchesTheHandComputedScenario) {
  const absl::Time year_ago = kStart - absl::Hours(24 * 365);
  Consume(Registered("c1", "alice", "north", "energy", year_ago - absl::Hours(24), 3));
  Consume(Registered("c2", "alice", "north", "energy", year_ago - absl::Hours(24), 3));
  Consume(Registered("c3", "bob", "south", "retail", year_ago - absl::Hours(24), 1));
  Consume(Registered("c4", "bob", "south", "retail", year_ago - absl::Hours(24), 1));
  Consume(Transaction("c1", "t1", 2'500'000, kStart - absl::Hours(24 * 30)));
  Consume(Transaction("c2", "t2", 300'000, kStart - absl::Hours(24 * 200)));
  Consume(Transaction("c3", "t3", 600'000, kStart - absl::Hours(24 * 10)));
  Consume(Lifecycle("c2", 3, 4, kStart - absl::Hours(24 * 100)));
  Consume(Lifecycle("c3", 1, 3, kStart - absl::Hours(24 * 10)));
  Consume(Complaint("c1", "k1", kStart - absl::Hours(24 * 5)));
  Consume(Survey("c1", "s1", 4, kStart - absl::Hours(24 * 5)));
  ASSERT_TRUE(app_->ReclassifyQueued().ok());

  v1::GetReportRequest req;
  req.set_scheme(v1::SCHEME_ABCD);
  auto r = Call(&ClassificationApp::GetReport, exec_, req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->customers(), 4);
  std::map<std::string, v1::CompositionRow> abcd;
  for (const auto& row : r->composition()) {
    if (row.scheme() == v1::SCHEME_ABCD) abcd[row.class_name()] = row;
  }
  ASSERT_EQ(abcd.size(), 4u);
  EXPECT_EQ(abcd["A"].customers(), 1);
  EXPECT_NEAR(abcd["A"].revenue_share(), 2'500'000.0 / 3'400'000, 1e-9);
  EXPECT_NEAR(abcd["B"].revenue_share(), 600'000.0 / 3'400'000, 1e-9);
  EXPECT_NEAR(abcd["C"].revenue_share(), 300'000.0 / 3'400'000, 1e-9);
  EXPECT_DOUBLE_EQ(abcd["D"].revenue(), 0);
  EXPECT_DOUBLE_EQ(abcd["D"].customer_share(), 0.25);
  EXPECT_EQ(r->cooperating_at_start(), 2);
  EXPECT_EQ(r->churned(), 1);
  EXPECT_DOUBLE_EQ(r->churn_rate(), 0.5);
  EXPECT_EQ(r->prospects_at_start(), 2);
  EXPECT_EQ(r->converted(), 1);
  EXPECT_DOUBLE_EQ(r->conversion_rate(), 0.5);
  ASSERT_EQ(r->by_industry_size(), 2);
  EXPECT_EQ(r->by_industry(0).key(), "energy");
  EXPECT_EQ(r->by_industry(0).customers(), 2);
  std::map<std::string, v1::ClassServiceRow> per_class;
  for (const auto& row : r->per_class()) per_class[row.class_name()] = row;
  EXPECT_EQ(per_class["A"].complaints(), 1);
  EXPECT_EQ(per_class["A"].open_complaints(), 1);
  EXPECT_DOUBLE_EQ(per_class["A"].average_satisfaction(), 4);
  EXPECT_EQ(per_class["B"].complaints(), 0);

  // As of before any classification: everyone unclassified.
  v1::GetReportRequest past;
  *past.mutable_as_of() = ToProtoTimestamp(kStart - absl::Hours(1));
  auto before = Call(&ClassificationApp::GetReport, exec_, past);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->customers(), 4);
  EXPECT_EQ(before->composition_size(), 0);

  v1::GetReportRequest future;
  *future.mutable_as_of() = ToProtoTimestamp(kStart + absl::Hours(1));
  EXPECT_EQ(Call(&ClassificationApp::GetReport, exec_, future).status().code(), absl::StatusCode::kInvalidArgument);
}

// Consumes many events in batches of 1000 (one synced write per batch), each
// batch read through the runner's own view.
void ConsumeInBatches(messaging::EventHandler& handler, eventstore::EventStore& store,
                      const std::vector<Consumed>& events, uint64_t& position) {
  auto view = std::make_unique<messaging::PendingWritesView>(&store);
  std::vector<eventstore::ProjectionWrite> batch;
  for (size_t i = 0; i < events.size(); ++i) {
    messaging::ConsumedEvent e;
    e.topic = events[i].topic;
    e.event.set_payload(events[i].payload);
    e.event.set_global_position(++position);
    *e.event.mutable_occurred_at() = ToProtoTimestamp(events[i].at);
    std::vector<eventstore::ProjectionWrite> out;
    ASSERT_TRUE(handler.Handle(e, *view, out).ok());
    view->Apply(out);
    batch.insert(batch.end(), out.begin(), out.end());
    if (batch.size() >= 1000 || i + 1 == events.size()) {
      ASSERT_TRUE(store.WriteProjections(batch).ok());
      batch.clear();
      view = std::make_unique<messaging::PendingWritesView>(&store);
    }
  }
}

TEST_F(ClassificationAppTest, SimulationOnTenThousandCustomersMatchesThePublication) {
  std::vector<Consumed> events;
  for (int i = 0; i < 10'000; ++i) {
    const std::string id = absl::StrFormat("c%05d", i);
    events.push_back(Registered(id, i % 2 ? "alice" : "bob", i % 2 ? "north" : "south",
                                i % 3 ? "energy" : "retail", kStart - absl::Hours(24 * 30)));
    // Revenue spread over 0 .. 3,000,000 so thresholds cut through the population.
    events.push_back(Transaction(id, "t", (i * 7919 % 10'000) * 300.0, kStart - absl::Hours(24)));
  }
  ConsumeInBatches(*handler_, *store_, events, position_);
  ASSERT_EQ(*app_->ReclassifyQueued(), 10'000);

  // Candidate: ABCD A from 1,000,000 instead of 2,000,000; VALUE B from 100,000.
  v1::RuleSet candidate = DefaultRuleSet();
  for (auto& scheme : *candidate.mutable_schemes()) {
    for (auto& rule : *scheme.mutable_rules()) {
      for (auto& cond : *rule.mutable_all_of()) {
        if (scheme.scheme() == v1::SCHEME_ABCD && cond.metric() == v1::METRIC_REVENUE_12M &&
            cond.value() == 2'000'000) {
          cond.set_value(1'000'000);
        }
        if (scheme.scheme() == v1::SCHEME_VALUE && cond.metric() == v1::METRIC_PROFIT_12M &&
            cond.value() == 200'000) {
          cond.set_value(100'000);
        }
      }
    }
  }
  v1::SimulateRuleSetRequest sim;
  *sim.mutable_rule_set() = candidate;
  auto simulated = Call(&ClassificationApp::SimulateRuleSet, exec_, sim);
  ASSERT_TRUE(simulated.ok()) << simulated.status();
  EXPECT_EQ(simulated->customers_evaluated(), 10'000);
  ASSERT_GT(simulated->customers_changing(), 0);
  std::map<std::tuple<int, std::string, std::string>, int64_t> predicted;
  for (const auto& c : simulated->changes()) {
    predicted[{c.scheme(), c.from_class(), c.to_class()}] = c.customers();
  }

  v1::PublishRuleSetRequest publish;
  *publish.mutable_rule_set() = candidate;
  auto published = Call(&ClassificationApp::PublishRuleSet, exec_, publish);
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_EQ(published->rule_set().version(), 1u);
  EXPECT_EQ(published->customers_queued(), 10'000);
  ASSERT_TRUE(app_->ReclassifyQueued().ok());

  std::map<std::tuple<int, std::string, std::string>, int64_t> actual;
  std::set<std::string> changed_customers;
  auto all = store_->ReadAll(1, SIZE_MAX);
  ASSERT_TRUE(all.ok());
  for (const auto& env : *all) {
    v1::ClassificationEvent e;
    ASSERT_TRUE(e.ParseFromString(env.payload()));
    if (!e.has_classified() || e.classified().rule_set_version() != 1) continue;
    ++actual[{e.classified().scheme(), e.classified().old_class(), e.classified().new_class()}];
    changed_customers.insert(e.customer_id());
  }
  EXPECT_EQ(actual, predicted);
  EXPECT_EQ(static_cast<int64_t>(changed_customers.size()), simulated->customers_changing());
  // Nothing changed by the simulation itself: a second one now predicts nothing.
  auto again = Call(&ClassificationApp::SimulateRuleSet, exec_, sim);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->customers_changing(), 0);
}

// The live run (each event consumed and classified as it comes, time passing)
// and a rebuild (every event from offset 0 into a fresh store, classified once at
// the end) give the same classes and the same report.
TEST_F(ClassificationAppTest, RebuildFromOffsetZeroEqualsTheLiveRun) {
  std::vector<Consumed> events;
  const absl::Time t0 = kStart - absl::Hours(24 * 500);
  for (int i = 0; i < 30; ++i) {
    const std::string id = absl::StrCat("c", i);
    const absl::Time at = t0 + absl::Hours(24 * i);
    events.push_back(Registered(id, i % 2 ? "alice" : "bob", i % 2 ? "north" : "south",
                                i % 3 ? "energy" : "retail", at, 1 + i % 3));
    for (int k = 0; k < i % 4; ++k) {
      const absl::Time tx = at + absl::Hours(24 * (100 + 90 * k));
      events.push_back(Transaction(id, absl::StrCat("t", k), 150'000.0 * (i % 7 + 1), tx,
                                   Day(tx + absl::Hours(24 * (i % 5) * 10))));
    }
    if (i % 5 == 0) events.push_back(Survey(id, "s", 1 + i % 5, at + absl::Hours(24 * 300)));
    if (i % 6 == 0) events.push_back(Complaint(id, "k", at + absl::Hours(24 * 350)));
    if (i % 7 == 0) events.push_back(Lifecycle(id, 1 + i % 3, 4, at + absl::Hours(24 * 400)));
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Consumed& a, const Consumed& b) { return a.at < b.at; });
  for (const Consumed& c : events) {
    clock_.Set(std::max(c.at, clock_.Now()));
    Consume(c);
    ASSERT_TRUE(app_->ReclassifyQueued().ok());
  }
  clock_.Set(kStart);
  ASSERT_TRUE(app_->Sweep().ok());
  auto live_report = Call(&ClassificationApp::GetReport, exec_, v1::GetReportRequest());
  ASSERT_TRUE(live_report.ok());
  std::map<std::string, v1::Classification> live;
  for (int i = 0; i < 30; ++i) live[absl::StrCat("c", i)] = Get(absl::StrCat("c", i), exec_);

  Open("rebuilt");
  position_ = 0;
  for (const Consumed& c : events) Consume(c);
  ASSERT_TRUE(app_->ReclassifyQueued().ok());
  auto rebuilt_report = Call(&ClassificationApp::GetReport, exec_, v1::GetReportRequest());
  ASSERT_TRUE(rebuilt_report.ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*live_report, *rebuilt_report))
      << live_report->DebugString() << "\nvs\n" << rebuilt_report->DebugString();
  int at_risk = 0;
  for (const auto& [id, l] : live) {
    const v1::Classification r = Get(id, exec_);
    for (v1::Scheme s : {v1::SCHEME_TIER, v1::SCHEME_ABCD, v1::SCHEME_VALUE, v1::SCHEME_LARGE_ACCOUNT}) {
      EXPECT_EQ(ClassOf(l, s), ClassOf(r, s)) << id << " scheme " << s;
    }
    EXPECT_EQ(l.credit().rating(), r.credit().rating()) << id;
    EXPECT_EQ(l.credit().credit_limit_minor(), r.credit().credit_limit_minor()) << id;
    EXPECT_EQ(l.churn().at_risk(), r.churn().at_risk()) << id;
    at_risk += l.churn().at_risk();
  }
  EXPECT_GT(at_risk, 0);  // the scenario exercises churn risk
}

}  // namespace
}  // namespace crm::classification
