// Tests of the classification rules (crm/classification/domain/rules.h): every
// metric at its edges, the default rule set's thresholds with their explanations,
// credit grades, churn criteria, validation, and the events between
// classifications (Diff / Apply).
#include "crm/classification/domain/rules.h"

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "crm/common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::classification {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

// Evaluation time: midnight UTC, so "dated N days ago" is exactly N × 24 h ago.
const absl::Time kNow = absl::FromCivil(absl::CivilDay(2024, 7, 1), absl::UTCTimeZone());

// "YYYY-MM-DD" of the day `days` before kNow's day (negative: after).
std::string DaysAgo(int days) {
  return absl::FormatCivilTime(absl::ToCivilDay(kNow, absl::UTCTimeZone()) - days);
}

google::protobuf::Timestamp TimeAgo(absl::Duration ago) { return ToProtoTimestamp(kNow - ago); }

// A customer registered 1000 days ago with an interaction yesterday (no churn signal).
v1::CustomerInputs Customer() {
  v1::CustomerInputs inputs;
  inputs.set_customer_id("c-1");
  inputs.set_name("Acme");
  inputs.set_owner("rep-1");
  inputs.set_region("north");
  inputs.set_industry("energy");
  inputs.set_lifecycle(3);
  *inputs.mutable_registered_at() = TimeAgo(absl::Hours(24 * 1000));
  v1::InteractionInput* interaction = inputs.add_interactions();
  interaction->set_interaction_id("i-recent");
  *interaction->mutable_at() = TimeAgo(absl::Hours(24));
  return inputs;
}

v1::TransactionInput& AddTransaction(v1::CustomerInputs& inputs, int64_t amount_minor, int days_ago,
                                     std::optional<int> paid_after_days = 0) {
  v1::TransactionInput* transaction = inputs.add_transactions();
  transaction->set_transaction_id("t-" + std::to_string(inputs.transactions_size()));
  transaction->set_own_company(true);
  transaction->set_amount_minor(amount_minor);
  transaction->set_currency_code("CNY");
  transaction->set_date(DaysAgo(days_ago));
  if (paid_after_days) transaction->set_paid_date(DaysAgo(days_ago - *paid_after_days));
  return *transaction;
}

v1::InteractionInput& AddInteraction(v1::CustomerInputs& inputs, absl::Duration ago,
                                     int satisfaction = 0, int intent = 0) {
  v1::InteractionInput* interaction = inputs.add_interactions();
  interaction->set_interaction_id("i-" + std::to_string(inputs.interactions_size()));
  *interaction->mutable_at() = TimeAgo(ago);
  interaction->set_satisfaction(satisfaction);
  interaction->set_intent(intent);
  return *interaction;
}

v1::TicketInput& AddComplaint(v1::CustomerInputs& inputs, absl::Duration opened_ago) {
  v1::TicketInput* ticket = inputs.add_tickets();
  ticket->set_ticket_id("k-" + std::to_string(inputs.tickets_size()));
  ticket->set_complaint(true);
  *ticket->mutable_opened_at() = TimeAgo(opened_ago);
  return *ticket;
}

// A customer with one paid transaction of `revenue_minor` 10 days ago (none when 0),
// `intent` from a visit record and `employees`.
v1::CustomerInputs Profile(int64_t revenue_minor, int intent = 0, int employees = 10) {
  v1::CustomerInputs inputs = Customer();
  if (revenue_minor > 0) AddTransaction(inputs, revenue_minor, 10);
  if (intent > 0) AddInteraction(inputs, absl::Hours(48), 0, intent);
  inputs.set_employees(employees);
  return inputs;
}

Metrics MetricsOf(const v1::CustomerInputs& inputs, const v1::RuleSet& rules = DefaultRuleSet(),
                  absl::Time now = kNow) {
  return ComputeMetrics(inputs, rules, now);
}

double MetricOf(const v1::CustomerInputs& inputs, v1::Metric metric,
                const v1::RuleSet& rules = DefaultRuleSet()) {
  const Metrics metrics = MetricsOf(inputs, rules);
  auto it = metrics.find(metric);
  EXPECT_NE(it, metrics.end()) << MetricName(metric);
  return it == metrics.end() ? -1 : it->second;
}

v1::SchemeResult SchemeOf(const v1::Classification& classification, v1::Scheme scheme) {
  for (const v1::SchemeResult& result : classification.schemes()) {
    if (result.scheme() == scheme) return result;
  }
  ADD_FAILURE() << "no result for " << SchemeName(scheme);
  return {};
}

v1::SchemeResult Classify(const v1::CustomerInputs& inputs, v1::Scheme scheme) {
  return SchemeOf(Evaluate(inputs, DefaultRuleSet(), kNow), scheme);
}

// The explanation inputs as (metric, value) pairs, in order.
std::vector<std::pair<v1::Metric, double>> InputsOf(
    const google::protobuf::RepeatedPtrField<v1::MetricValue>& inputs) {
  std::vector<std::pair<v1::Metric, double>> out;
  for (const v1::MetricValue& value : inputs) out.emplace_back(value.metric(), value.value());
  return out;
}

std::vector<std::string> NamesOf(const google::protobuf::RepeatedPtrField<std::string>& names) {
  return {names.begin(), names.end()};
}

// ============================== Metrics =====================================

TEST(Metrics, GivenAnyInputs_WhenComputed_ThenEveryMetricHasAValue) {
  const Metrics metrics = MetricsOf(Customer());
  EXPECT_EQ(metrics.size(), 25u);
  EXPECT_EQ(metrics.count(v1::METRIC_UNSPECIFIED), 0u);
  for (int m = v1::METRIC_REVENUE_12M; m <= v1::METRIC_PAYMENT_HISTORY; ++m) {
    EXPECT_EQ(metrics.count(static_cast<v1::Metric>(m)), 1u) << m;
  }
}

TEST(Metrics, GivenTransactionsAroundThe365DayBoundaries_WhenComputed_ThenWindowsAreHalfOpen) {
  v1::CustomerInputs inputs = Customer();
  AddTransaction(inputs, 100, 0);     // today 00:00 == now: in
  AddTransaction(inputs, 200, 364);   // in
  AddTransaction(inputs, 400, 365);   // exactly now - 365 d: previous year
  AddTransaction(inputs, 800, 729);   // previous year
  AddTransaction(inputs, 1600, 730);  // exactly now - 730 d: neither
  AddTransaction(inputs, 3200, -1);   // tomorrow: not yet
  const Metrics metrics = MetricsOf(inputs);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_REVENUE_12M), 3.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_REVENUE_PREV_12M), 12.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_TRANSACTIONS_12M), 2.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_DAYS_SINCE_LAST_TRANSACTION), 0.0);
}

TEST(Metrics, GivenNowMidDay_WhenTransactionIsDated365DaysBefore_ThenItIsOutsideTheYear) {
  v1::CustomerInputs inputs = Customer();
  AddTransaction(inputs, 100, 365);
  AddTransaction(inputs, 1000, 364);
  const Metrics metrics = MetricsOf(inputs, DefaultRuleSet(), kNow + absl::Hours(12));
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_REVENUE_12M), 10.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_REVENUE_PREV_12M), 1.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_DAYS_SINCE_LAST_TRANSACTION), 364.0);
}

TEST(Metrics, GivenOtherCurrencyAndCompetitorTransactions_WhenComputed_ThenTheyAreIgnored) {
  v1::CustomerInputs inputs = Customer();
  AddTransaction(inputs, 12345, 5);
  AddTransaction(inputs, 99900, 3).set_currency_code("USD");
  AddTransaction(inputs, 77700, 2).set_own_company(false);
  AddTransaction(inputs, 55500, 1).set_currency_code("");
  const Metrics metrics = MetricsOf(inputs);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_REVENUE_12M), 123.45);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_TRANSACTIONS_12M), 1.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_DAYS_SINCE_LAST_TRANSACTION), 5.0);

  v1::RuleSet usd = DefaultRuleSet();
  usd.set_currency_code("USD");
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_REVENUE_12M, usd), 999.0);
}

TEST(Metrics, GivenRevenueInBothYears_WhenComputed_ThenTrendIsTheRatio) {
  v1::CustomerInputs none = Customer();
  EXPECT_DOUBLE_EQ(MetricOf(none, v1::METRIC_REVENUE_TREND), 1.0);

  v1::CustomerInputs only_this_year = Customer();
  AddTransaction(only_this_year, 100, 10);
  EXPECT_DOUBLE_EQ(MetricOf(only_this_year, v1::METRIC_REVENUE_TREND), 10.0);

  v1::CustomerInputs only_last_year = Customer();
  AddTransaction(only_last_year, 100, 400);
  EXPECT_DOUBLE_EQ(MetricOf(only_last_year, v1::METRIC_REVENUE_TREND), 0.0);

  v1::CustomerInputs half = Customer();
  AddTransaction(half, 5000, 10);
  AddTransaction(half, 10000, 400);
  EXPECT_DOUBLE_EQ(MetricOf(half, v1::METRIC_REVENUE_TREND), 0.5);
}

TEST(Metrics, GivenIndustryMargins_WhenProfitComputed_ThenTheIndustryOrDefaultMarginApplies) {
  v1::CustomerInputs inputs = Customer();  // industry "energy"
  AddTransaction(inputs, 1'000'000, 10);   // 10,000.00

  v1::RuleSet rules = DefaultRuleSet();
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_PROFIT_12M, rules), 10000.0);

  (*rules.mutable_industry_margins())["energy"] = 0.25;
  rules.set_default_margin(0.5);
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_PROFIT_12M, rules), 2500.0);

  inputs.set_industry("retail");
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_PROFIT_12M, rules), 5000.0);

  rules.set_default_margin(0);  // un-normalized: profit = revenue
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_PROFIT_12M, rules), 10000.0);
}

TEST(Metrics, GivenNoInteractionsOrTransactions_WhenComputed_ThenDaysCountFromRegistration) {
  v1::CustomerInputs inputs = Customer();
  inputs.clear_interactions();
  *inputs.mutable_registered_at() = TimeAgo(absl::Hours(24 * 120 + 23));
  const Metrics metrics = MetricsOf(inputs);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_DAYS_SINCE_LAST_INTERACTION), 120.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_DAYS_SINCE_LAST_TRANSACTION), 120.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_CUSTOMER_AGE_DAYS), 120.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_INTERACTIONS_90D), 0.0);

  inputs.clear_registered_at();
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_DAYS_SINCE_LAST_INTERACTION), 0.0);
}

TEST(Metrics, GivenInteractions_WhenComputed_ThenDaysAreFlooredAndThe90DayWindowIsHalfOpen) {
  v1::CustomerInputs inputs = Customer();
  inputs.clear_interactions();
  AddInteraction(inputs, absl::Hours(24 * 90));                     // exactly 90 d: out
  AddInteraction(inputs, absl::Hours(24 * 90) - absl::Seconds(1));  // in
  AddInteraction(inputs, absl::Hours(47));                          // latest: 1 day
  AddInteraction(inputs, -absl::Hours(1));                          // future: ignored
  const Metrics metrics = MetricsOf(inputs);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_DAYS_SINCE_LAST_INTERACTION), 1.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_INTERACTIONS_90D), 2.0);

  v1::CustomerInputs just_now = Customer();
  just_now.clear_interactions();
  AddInteraction(just_now, absl::Hours(23));
  EXPECT_DOUBLE_EQ(MetricOf(just_now, v1::METRIC_DAYS_SINCE_LAST_INTERACTION), 0.0);
}

TEST(Metrics, GivenSurveysAndTicketFeedback_WhenComputed_ThenSatisfactionIsTheMeanOfAnswers) {
  v1::CustomerInputs inputs = Customer();
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_AVG_SATISFACTION), 0.0);

  AddInteraction(inputs, absl::Hours(50), 2);
  AddInteraction(inputs, absl::Hours(60), 5);
  AddInteraction(inputs, absl::Hours(70), 0);  // no answer
  AddInteraction(inputs, absl::Hours(80), 9);  // out of range
  v1::TicketInput* ticket = inputs.add_tickets();
  ticket->set_ticket_id("k-1");
  *ticket->mutable_opened_at() = TimeAgo(absl::Hours(100));
  *ticket->mutable_resolved_at() = TimeAgo(absl::Hours(90));
  ticket->set_satisfaction(2);
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_AVG_SATISFACTION), 3.0);
}

TEST(Metrics, GivenSeveralVisitRecords_WhenComputed_ThenIntentIsFromTheLatestAssessment) {
  v1::CustomerInputs inputs = Customer();
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_COOPERATION_INTENT), 0.0);

  AddInteraction(inputs, absl::Hours(24 * 30), 0, 2);
  AddInteraction(inputs, absl::Hours(24 * 40), 0, 4);  // older, listed later
  AddInteraction(inputs, absl::Hours(24 * 5), 4, 0);   // newer but no assessment
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_COOPERATION_INTENT), 2.0);

  AddInteraction(inputs, absl::Hours(24 * 2), 0, 1);
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_COOPERATION_INTENT), 1.0);
}

TEST(Metrics, GivenComplaints_WhenComputed_ThenUnresolvedAndReopenedOnesAreOpen) {
  v1::CustomerInputs inputs = Customer();
  AddComplaint(inputs, absl::Hours(24 * 20) + absl::Hours(5));  // open, 20 days
  v1::TicketInput& resolved = AddComplaint(inputs, absl::Hours(24 * 50));
  *resolved.mutable_resolved_at() = TimeAgo(absl::Hours(24 * 45));
  AddComplaint(inputs, absl::Hours(24 * 30)).set_ticket_id("reopened");  // resolved_at cleared
  AddComplaint(inputs, absl::Hours(24 * 400));      // open, old: counts open, not in 12m
  v1::TicketInput* request = inputs.add_tickets();  // not a complaint
  *request->mutable_opened_at() = TimeAgo(absl::Hours(24 * 600));
  const Metrics metrics = MetricsOf(inputs);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_OPEN_COMPLAINTS), 3.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_OLDEST_OPEN_COMPLAINT_DAYS), 400.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_COMPLAINTS_12M), 3.0);

  v1::CustomerInputs none = Customer();
  EXPECT_DOUBLE_EQ(MetricOf(none, v1::METRIC_OLDEST_OPEN_COMPLAINT_DAYS), 0.0);
  EXPECT_DOUBLE_EQ(MetricOf(none, v1::METRIC_OPEN_COMPLAINTS), 0.0);
}

TEST(Metrics, GivenComplaintResolvedAfterNow_WhenEvaluatedEarlier_ThenItIsStillOpen) {
  v1::CustomerInputs inputs = Customer();
  v1::TicketInput& ticket = AddComplaint(inputs, absl::Hours(24 * 15));
  *ticket.mutable_resolved_at() = TimeAgo(-absl::Hours(24));
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_OPEN_COMPLAINTS), 1.0);
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_OLDEST_OPEN_COMPLAINT_DAYS), 15.0);
}

TEST(Metrics, GivenPayments_WhenComputed_ThenLateMeansMoreThanGraceDaysAfterTheDate) {
  v1::CustomerInputs inputs = Customer();
  AddTransaction(inputs, 100, 100, 30);  // on the last day of grace: not late
  AddTransaction(inputs, 100, 100, 31);  // late
  AddTransaction(inputs, 100, 100, 5);
  AddTransaction(inputs, 100, 500, 90);            // outside the year: not counted
  AddTransaction(inputs, 100, 30, std::nullopt);   // unpaid, 30 days old: not overdue
  AddTransaction(inputs, 100, 31, std::nullopt);   // unpaid, 31 days old: overdue
  AddTransaction(inputs, 100, 800, std::nullopt);  // unpaid long ago: overdue
  const Metrics metrics = MetricsOf(inputs);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_LATE_PAYMENT_SHARE), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_AVG_DAYS_TO_PAY), 22.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_UNPAID_OVERDUE), 2.0);

  v1::RuleSet strict = DefaultRuleSet();
  strict.mutable_credit()->set_payment_grace_days(10);
  const Metrics strict_metrics = MetricsOf(inputs, strict);
  EXPECT_DOUBLE_EQ(strict_metrics.at(v1::METRIC_LATE_PAYMENT_SHARE), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(strict_metrics.at(v1::METRIC_UNPAID_OVERDUE), 3.0);

  v1::RuleSet unnormalized = DefaultRuleSet();
  unnormalized.mutable_credit()->set_payment_grace_days(0);  // treated as 30
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_UNPAID_OVERDUE, unnormalized), 2.0);
}

TEST(Metrics, GivenNoPaidTransactions_WhenComputed_ThenPaymentSharesAreZero) {
  v1::CustomerInputs inputs = Customer();
  AddTransaction(inputs, 100, 10, std::nullopt);
  const Metrics metrics = MetricsOf(inputs);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_LATE_PAYMENT_SHARE), 0.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_AVG_DAYS_TO_PAY), 0.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_UNPAID_OVERDUE), 0.0);
}

TEST(Metrics, GivenPaymentDatedAfterNow_WhenComputed_ThenTheTransactionIsStillUnpaid) {
  v1::CustomerInputs inputs = Customer();
  AddTransaction(inputs, 100, 40, 45);  // paid 5 days in the future
  const Metrics metrics = MetricsOf(inputs);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_UNPAID_OVERDUE), 1.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_LATE_PAYMENT_SHARE), 0.0);
}

TEST(Metrics, GivenInvalidDates_WhenComputed_ThenThoseTransactionsAreIgnored) {
  v1::CustomerInputs inputs = Customer();
  AddTransaction(inputs, 100, 10).set_date("2024-02-30");
  AddTransaction(inputs, 200, 10).set_date("yesterday");
  AddTransaction(inputs, 400, 10).set_date("");
  AddTransaction(inputs, 800, 50).set_paid_date("2024-13-01");  // revenue yes, payment no
  const Metrics metrics = MetricsOf(inputs);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_REVENUE_12M), 8.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_TRANSACTIONS_12M), 1.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_UNPAID_OVERDUE), 0.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_AVG_DAYS_TO_PAY), 0.0);
}

TEST(Metrics, GivenAProfile_WhenComputed_ThenProfileMetricsAreCopied) {
  v1::CustomerInputs inputs = Customer();
  inputs.set_employees(1200);
  inputs.set_annual_revenue_minor(987654321);
  inputs.set_lifecycle(4);
  const Metrics metrics = MetricsOf(inputs);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_EMPLOYEES), 1200.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_ANNUAL_REVENUE), 9876543.21);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_LIFECYCLE), 4.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_CUSTOMER_AGE_DAYS), 1000.0);
}

TEST(Metrics, GivenPaymentRecords_WhenComputed_ThenPaymentHistoryCountsPaidAndOverdueOfAnyAge) {
  v1::CustomerInputs none = Customer();
  EXPECT_DOUBLE_EQ(MetricOf(none, v1::METRIC_PAYMENT_HISTORY), 0.0);

  v1::CustomerInputs inputs = Customer();
  AddTransaction(inputs, 100, 10, 3);             // paid: counts
  AddTransaction(inputs, 100, 800, 5);            // paid, older than 2 years: counts
  AddTransaction(inputs, 100, 31, std::nullopt);  // unpaid past the 30-day grace: counts
  AddTransaction(inputs, 100, 30, std::nullopt);  // unpaid within grace: not yet
  AddTransaction(inputs, 100, 10, 15);            // paid 5 days after now, within grace: not yet
  AddTransaction(inputs, 100, 50).set_paid_date("x");  // invalid paid_date: out of payment metrics
  AddTransaction(inputs, 100, 10).set_currency_code("USD");  // other currency
  AddTransaction(inputs, 100, 10).set_own_company(false);    // a competitor's
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_PAYMENT_HISTORY), 3.0);

  v1::RuleSet usd = DefaultRuleSet();
  usd.set_currency_code("USD");
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_PAYMENT_HISTORY, usd), 1.0);
}

// stage: 1..4 open, 5 won, 6 lost (crm.interaction.v1.OpportunityStage).
v1::OpportunityInput& AddOpportunity(v1::CustomerInputs& inputs, int stage, int probability,
                                     const std::string& currency, int64_t expected_minor,
                                     absl::Duration created_ago = absl::Hours(24 * 30)) {
  v1::OpportunityInput* opportunity = inputs.add_opportunities();
  opportunity->set_opportunity_id("o-" + std::to_string(inputs.opportunities_size()));
  opportunity->set_stage(stage);
  opportunity->set_probability(probability);
  opportunity->set_currency_code(currency);
  opportunity->set_expected_amount_minor(expected_minor);
  *opportunity->mutable_created_at() = TimeAgo(created_ago);
  return *opportunity;
}

v1::OpportunityInput& AddWin(v1::CustomerInputs& inputs, const std::string& currency,
                             int64_t won_minor, absl::Duration won_ago) {
  v1::OpportunityInput& won =
      AddOpportunity(inputs, 5, 100, currency, won_minor, won_ago + absl::Hours(24 * 30));
  won.set_won_currency_code(currency);
  won.set_won_amount_minor(won_minor);
  *won.mutable_closed_at() = TimeAgo(won_ago);
  return won;
}

TEST(Metrics, GivenNoOpportunities_WhenComputed_ThenPipelineAndWinsAreZero) {
  const Metrics metrics = MetricsOf(Customer());
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_OPEN_PIPELINE_AMOUNT), 0.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_WEIGHTED_PIPELINE_AMOUNT), 0.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_WINS_12M), 0.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_WON_AMOUNT_12M), 0.0);
}

TEST(Metrics, GivenOpenOpportunities_WhenComputed_ThenPipelineIsInTheRuleSetsCurrency) {
  v1::CustomerInputs inputs = Customer();
  AddOpportunity(inputs, 1, 10, "CNY", 100'000);  // 1,000.00 at 10% = 100.00
  AddOpportunity(inputs, 2, 25, "CNY", 1'001);    // 10.01 at 25% = 2.5025 → 2.50
  AddOpportunity(inputs, 3, 35, "CNY", 33'333);   // 333.33 at 35% = 116.6655 → 116.67
  AddOpportunity(inputs, 4, 50, "CNY", 1);        // 0.01 at 50% = 0.005 → 0.01 (half up)
  AddOpportunity(inputs, 4, 0, "CNY", 500'000);   // 5,000.00 at 0%: amount only
  AddOpportunity(inputs, 3, 150, "CNY", 200);     // probability out of range: as 100
  AddOpportunity(inputs, 3, 80, "USD", 999'999);  // another currency
  AddOpportunity(inputs, 3, 80, "", 999'999);     // no currency: never matches
  AddOpportunity(inputs, 6, 50, "CNY", 777'777);  // lost
  AddOpportunity(inputs, 0, 50, "CNY", 888'888);  // stage unknown: not open
  AddOpportunity(inputs, 1, 50, "CNY", 444'444, -absl::Hours(1));  // created after now
  const Metrics metrics = MetricsOf(inputs);
  // 100,000 + 1,001 + 33,333 + 1 + 500,000 + 200 minor.
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_OPEN_PIPELINE_AMOUNT), 6'345.35);
  // 10,000 + 250 + 11,667 + 1 + 0 + 200 minor.
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_WEIGHTED_PIPELINE_AMOUNT), 221.18);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_WINS_12M), 0.0);

  v1::RuleSet usd = DefaultRuleSet();
  usd.set_currency_code("USD");
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_OPEN_PIPELINE_AMOUNT, usd), 9'999.99);
  EXPECT_DOUBLE_EQ(MetricOf(inputs, v1::METRIC_WEIGHTED_PIPELINE_AMOUNT, usd), 7'999.99);
}

TEST(Metrics, GivenWinsAroundThe365DayBoundary_WhenComputed_ThenOnlyThoseOfTheYearCount) {
  v1::CustomerInputs inputs = Customer();
  AddWin(inputs, "CNY", 100, absl::ZeroDuration());                      // now: in
  AddWin(inputs, "CNY", 200, absl::Hours(24 * 365) - absl::Seconds(1));  // in
  AddWin(inputs, "CNY", 400, absl::Hours(24 * 365));                     // exactly now - 365 d: out
  AddWin(inputs, "CNY", 800, -absl::Seconds(1));                         // after now: not yet
  AddWin(inputs, "USD", 1'600, absl::Hours(24));                    // counted, amount not (USD)
  AddWin(inputs, "CNY", 3'200, absl::Hours(24)).clear_closed_at();  // no closing time: not a win
  v1::OpportunityInput& reopened = AddOpportunity(inputs, 4, 80, "CNY", 6'400);  // reopened win
  *reopened.mutable_closed_at() = TimeAgo(absl::Hours(48));  // (a stale time is ignored when open)
  const Metrics metrics = MetricsOf(inputs);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_WINS_12M), 3.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_WON_AMOUNT_12M), 3.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_OPEN_PIPELINE_AMOUNT), 64.0);
  EXPECT_DOUBLE_EQ(metrics.at(v1::METRIC_WEIGHTED_PIPELINE_AMOUNT), 51.2);
}

// ========================= Conditions and names =============================

TEST(Conditions, GivenEachOperator_WhenDescribedAndChecked_ThenWordsAndResultsMatch) {
  const Metrics metrics = {{v1::METRIC_REVENUE_12M, 5'000'000.0}};
  struct Case {
    v1::Op op;
    double value;
    std::string words;
    bool holds;
  };
  const std::vector<Case> cases = {
      {v1::OP_GE, 5'000'000, "REVENUE_12M >= 5000000", true},
      {v1::OP_GT, 5'000'000, "REVENUE_12M > 5000000", false},
      {v1::OP_LE, 5'000'000, "REVENUE_12M <= 5000000", true},
      {v1::OP_LT, 5'000'000.01, "REVENUE_12M < 5000000.01", true},
      {v1::OP_EQ, 5'000'000, "REVENUE_12M == 5000000", true},
      {v1::OP_NE, 5'000'000, "REVENUE_12M != 5000000", false},
      {v1::OP_UNSPECIFIED, 0, "REVENUE_12M ? 0", false},
  };
  for (const Case& c : cases) {
    v1::Condition condition;
    condition.set_metric(v1::METRIC_REVENUE_12M);
    condition.set_op(c.op);
    condition.set_value(c.value);
    EXPECT_EQ(Describe(condition), c.words);
    EXPECT_EQ(Holds(condition, metrics, "energy"), c.holds) << c.words;
  }
}

TEST(Conditions, GivenFractionsAndMissingMetrics_WhenDescribedAndChecked_ThenShortestFormAndFalse) {
  v1::Condition condition;
  condition.set_metric(v1::METRIC_LATE_PAYMENT_SHARE);
  condition.set_op(v1::OP_LE);
  condition.set_value(0.05);
  EXPECT_EQ(Describe(condition), "LATE_PAYMENT_SHARE <= 0.05");
  EXPECT_FALSE(Holds(condition, Metrics{}, ""));
  EXPECT_TRUE(Holds(condition, Metrics{{v1::METRIC_LATE_PAYMENT_SHARE, 1.0 / 20.0}}, ""));
}

TEST(Conditions, GivenIndustryIn_WhenChecked_ThenTheCustomersIndustryDecides) {
  v1::Condition condition;
  condition.add_industry_in("energy");
  condition.add_industry_in("mining");
  EXPECT_EQ(Describe(condition), "industry in {energy, mining}");
  EXPECT_TRUE(Holds(condition, Metrics{}, "mining"));
  EXPECT_FALSE(Holds(condition, Metrics{}, "retail"));
  EXPECT_FALSE(Holds(condition, Metrics{}, ""));
}

TEST(Names, GivenEnums_WhenNamed_ThenThePrefixIsDropped) {
  EXPECT_EQ(SchemeName(v1::SCHEME_TIER), "TIER");
  EXPECT_EQ(SchemeName(v1::SCHEME_LARGE_ACCOUNT), "LARGE_ACCOUNT");
  EXPECT_EQ(MetricName(v1::METRIC_REVENUE_12M), "REVENUE_12M");
  EXPECT_EQ(MetricName(v1::METRIC_OLDEST_OPEN_COMPLAINT_DAYS), "OLDEST_OPEN_COMPLAINT_DAYS");
  EXPECT_EQ(MetricName(static_cast<v1::Metric>(99)), "99");
}

// ======================= Default rule set: schemes ==========================

struct SchemeCase {
  std::string name;
  v1::CustomerInputs inputs;
  std::string class_name;
  int rule_index;
  std::string rule;
};

void ExpectSchemeCases(v1::Scheme scheme, const std::vector<SchemeCase>& cases) {
  for (const SchemeCase& c : cases) {
    SCOPED_TRACE(c.name);
    const v1::SchemeResult result = Classify(c.inputs, scheme);
    EXPECT_EQ(result.scheme(), scheme);
    EXPECT_EQ(result.class_name(), c.class_name);
    EXPECT_EQ(result.rule_index(), c.rule_index);
    EXPECT_EQ(result.rule(), c.rule);
    EXPECT_EQ(result.rule_set_version(), 0u);
    EXPECT_FALSE(result.has_since());
  }
}

TEST(DefaultTier, GivenRevenueAndIntentAroundThresholds_WhenEvaluated_ThenClassAndRuleMatch) {
  const std::string key =
      "revenue of at least 5,000,000 in 12 months and at least moderate cooperation intent";
  const std::string important = "revenue of at least 1,000,000 in 12 months";
  const std::string ordinary = "at least one transaction in 12 months";
  ExpectSchemeCases(v1::SCHEME_TIER,
                    {
                        {"5M, intent 3", Profile(500'000'000, 3), "key", 0, key},
                        {"6M, intent 4", Profile(600'000'000, 4), "key", 0, key},
                        {"5M - 0.01, intent 3", Profile(499'999'999, 3), "important", 1, important},
                        {"5M, intent 2", Profile(500'000'000, 2), "important", 1, important},
                        {"1M", Profile(100'000'000), "important", 1, important},
                        {"1M - 0.01", Profile(99'999'999), "ordinary", 2, ordinary},
                        {"0.01", Profile(1), "ordinary", 2, ordinary},
                        {"nothing", Profile(0, 4), "potential", -1, "default"},
                    });
}

TEST(DefaultTier, GivenAKeyCustomer_WhenEvaluated_ThenInputsAreEveryMetricTheSchemeUses) {
  const v1::SchemeResult result = Classify(Profile(500'000'000, 3), v1::SCHEME_TIER);
  EXPECT_THAT(InputsOf(result.inputs()), ElementsAre(Pair(v1::METRIC_REVENUE_12M, 5'000'000.0),
                                                     Pair(v1::METRIC_TRANSACTIONS_12M, 1.0),
                                                     Pair(v1::METRIC_COOPERATION_INTENT, 3.0)));

  const v1::SchemeResult potential = Classify(Profile(0), v1::SCHEME_TIER);
  EXPECT_THAT(InputsOf(potential.inputs()),
              ElementsAre(Pair(v1::METRIC_REVENUE_12M, 0.0), Pair(v1::METRIC_TRANSACTIONS_12M, 0.0),
                          Pair(v1::METRIC_COOPERATION_INTENT, 0.0)));
}

TEST(DefaultAbcd, GivenRevenueIntentAndSizeAroundThresholds_WhenEvaluated_ThenClassAndRuleMatch) {
  const std::string a_revenue = "revenue of at least 2,000,000 in 12 months";
  const std::string a_intent = "strong cooperation intent and at least 1000 employees";
  const std::string b_revenue = "revenue of at least 500,000 in 12 months";
  const std::string b_intent = "at least moderate cooperation intent";
  const std::string c = "at least one transaction in 12 months";
  ExpectSchemeCases(v1::SCHEME_ABCD,
                    {
                        {"2M", Profile(200'000'000), "A", 0, a_revenue},
                        {"2M - 0.01", Profile(199'999'999), "B", 2, b_revenue},
                        {"strong intent, 1000 staff", Profile(0, 4, 1000), "A", 1, a_intent},
                        {"strong intent, 999 staff", Profile(0, 4, 999), "B", 3, b_intent},
                        {"moderate intent, 1000 staff", Profile(0, 3, 1000), "B", 3, b_intent},
                        {"500k", Profile(50'000'000), "B", 2, b_revenue},
                        {"500k - 0.01", Profile(49'999'999), "C", 4, c},
                        {"500k - 0.01, weak intent", Profile(49'999'999, 2), "C", 4, c},
                        {"nothing", Profile(0, 2, 5000), "D", -1, "default"},
                    });
}

TEST(DefaultAbcd, GivenTheIntentRuleDecides_WhenEvaluated_ThenInputsShowEveryAbcdMetric) {
  const v1::SchemeResult result = Classify(Profile(0, 4, 1000), v1::SCHEME_ABCD);
  EXPECT_THAT(
      InputsOf(result.inputs()),
      ElementsAre(Pair(v1::METRIC_REVENUE_12M, 0.0), Pair(v1::METRIC_TRANSACTIONS_12M, 0.0),
                  Pair(v1::METRIC_COOPERATION_INTENT, 4.0), Pair(v1::METRIC_EMPLOYEES, 1000.0)));
}

TEST(DefaultValue, GivenProfitAroundThresholds_WhenEvaluated_ThenClassAndRuleMatch) {
  ExpectSchemeCases(v1::SCHEME_VALUE,
                    {
                        {"1M", Profile(100'000'000), "A", 0,
                         "profit contribution of at least 1,000,000 in 12 months"},
                        {"1M - 0.01", Profile(99'999'999), "B", 1,
                         "profit contribution of at least 200,000 in 12 months"},
                        {"200k", Profile(20'000'000), "B", 1,
                         "profit contribution of at least 200,000 in 12 months"},
                        {"200k - 0.01", Profile(19'999'999), "C", -1, "default"},
                    });
  const v1::SchemeResult result = Classify(Profile(19'999'999), v1::SCHEME_VALUE);
  EXPECT_THAT(InputsOf(result.inputs()), ElementsAre(Pair(v1::METRIC_PROFIT_12M, 199'999.99)));
}

TEST(DefaultValue, GivenAnIndustryMargin_WhenEvaluated_ThenProfitNotRevenueDecides) {
  v1::RuleSet rules = DefaultRuleSet();
  (*rules.mutable_industry_margins())["energy"] = 0.5;
  const v1::SchemeResult result =
      SchemeOf(Evaluate(Profile(200'000'000), rules, kNow), v1::SCHEME_VALUE);
  EXPECT_EQ(result.class_name(), "A");
  EXPECT_THAT(InputsOf(result.inputs()), ElementsAre(Pair(v1::METRIC_PROFIT_12M, 1'000'000.0)));

  const v1::SchemeResult lower =
      SchemeOf(Evaluate(Profile(199'999'998), rules, kNow), v1::SCHEME_VALUE);
  EXPECT_EQ(lower.class_name(), "B");
}

TEST(DefaultLargeAccount, GivenRevenueAroundThresholds_WhenEvaluated_ThenClassAndRuleMatch) {
  ExpectSchemeCases(
      v1::SCHEME_LARGE_ACCOUNT,
      {
          {"10M", Profile(1'000'000'000), "strategic", 0,
           "revenue of at least 10,000,000 in 12 months"},
          {"10M - 0.01", Profile(999'999'999), "focus", 1,
           "revenue of at least 3,000,000 in 12 months"},
          {"3M", Profile(300'000'000), "focus", 1, "revenue of at least 3,000,000 in 12 months"},
          {"3M - 0.01", Profile(299'999'999), "ordinary", -1, "default"},
      });
  const v1::SchemeResult result = Classify(Profile(299'999'999), v1::SCHEME_LARGE_ACCOUNT);
  EXPECT_THAT(InputsOf(result.inputs()), ElementsAre(Pair(v1::METRIC_REVENUE_12M, 2'999'999.99)));
}

// ========================= Default rule set: credit =========================

// 20 paid transactions of 50,000.00 each (1,000,000.00 in total), `late` of them
// paid 31 days after their date, plus `unpaid` unpaid ones `unpaid_age` days old.
v1::CustomerInputs Payer(int late, int unpaid = 0, int unpaid_age = 40,
                         int64_t each_minor = 5'000'000) {
  v1::CustomerInputs inputs = Customer();
  for (int i = 0; i < 20; ++i) AddTransaction(inputs, each_minor, 60 + i, i < late ? 31 : 3);
  for (int i = 0; i < unpaid; ++i) AddTransaction(inputs, 0, unpaid_age, std::nullopt);
  return inputs;
}

TEST(DefaultCredit, GivenPaymentHistoriesAroundThresholds_WhenRated_ThenGradeLimitAndTermsMatch) {
  struct Case {
    std::string name;
    v1::CustomerInputs inputs;
    std::string rating;
    int64_t limit_minor;
    int32_t terms;
    int grade_index;
    std::string rule;
  };
  const std::string aaa =
      "no unpaid overdue transaction, at most 5% paid late and revenue of at least 1,000,000 in "
      "12 months";
  const std::string aa = "at most 20% paid late";
  const std::string a = "at most 2 unpaid overdue transactions";
  const std::vector<Case> cases = {
      {"never late", Payer(0), "AAA", 100'000'000, 90, 0, aaa},
      {"late share 0.05", Payer(1), "AAA", 100'000'000, 90, 0, aaa},
      {"late share 0.1", Payer(2), "AA", 30'000'000, 60, 1, aa},
      {"late share 0.2", Payer(4), "AA", 30'000'000, 60, 1, aa},
      {"late share 0.25", Payer(5), "A", 10'000'000, 30, 2, a},
      {"revenue 1M - 0.20", Payer(0, 0, 40, 4'999'999), "AA", 30'000'000, 60, 1, aa},
      {"unpaid within grace", Payer(0, 1, 30), "AAA", 100'000'000, 90, 0, aaa},
      {"unpaid after grace", Payer(0, 1, 31), "AA", 30'000'000, 60, 1, aa},
      {"late 0.25, 2 overdue", Payer(5, 2), "A", 10'000'000, 30, 2, a},
      {"late 0.25, 3 overdue", Payer(5, 3), "C", 0, 0, -1, "default"},
      {"late 0.25, 3 within grace", Payer(5, 3, 30), "A", 10'000'000, 30, 2, a},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const v1::CreditResult credit = Evaluate(c.inputs, DefaultRuleSet(), kNow).credit();
    EXPECT_EQ(credit.rating(), c.rating);
    EXPECT_EQ(credit.credit_limit_minor(), c.limit_minor);
    EXPECT_EQ(credit.payment_terms_days(), c.terms);
    EXPECT_EQ(credit.currency_code(), "CNY");
    EXPECT_EQ(credit.grade_index(), c.grade_index);
    EXPECT_EQ(credit.rule(), c.rule);
    EXPECT_EQ(credit.rule_set_version(), 0u);
  }
}

TEST(DefaultCredit, GivenAnyRating_WhenEvaluated_ThenInputsAreEveryCreditMetric) {
  const v1::CreditResult credit = Evaluate(Payer(5, 3), DefaultRuleSet(), kNow).credit();
  EXPECT_THAT(InputsOf(credit.inputs()), ElementsAre(Pair(v1::METRIC_REVENUE_12M, 1'000'000.0),
                                                     Pair(v1::METRIC_LATE_PAYMENT_SHARE, 0.25),
                                                     Pair(v1::METRIC_UNPAID_OVERDUE, 3.0)));
}

TEST(DefaultCredit, GivenNoPaymentHistory_WhenRated_ThenUnrated) {
  struct Case {
    std::string name;
    v1::CustomerInputs inputs;
  };
  v1::CustomerInputs within_grace = Customer();
  AddTransaction(within_grace, 500'000'000, 30, std::nullopt);  // 5,000,000.00 not yet due
  v1::CustomerInputs other_currency = Customer();
  AddTransaction(other_currency, 100, 10, 0).set_currency_code("USD");
  const std::vector<Case> cases = {
      {"no transactions", Customer()},
      {"only unpaid within grace", within_grace},
      {"paid only in another currency", other_currency},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const v1::CreditResult credit = Evaluate(c.inputs, DefaultRuleSet(), kNow).credit();
    EXPECT_EQ(credit.rating(), "");
    EXPECT_EQ(credit.credit_limit_minor(), 0);
    EXPECT_EQ(credit.payment_terms_days(), 0);
    EXPECT_EQ(credit.currency_code(), "");
    EXPECT_EQ(credit.grade_index(), -1);
    EXPECT_EQ(credit.rule(), "no payment history");
    EXPECT_EQ(credit.rule_set_version(), 0u);
  }
  const v1::CreditResult credit = Evaluate(within_grace, DefaultRuleSet(), kNow).credit();
  EXPECT_THAT(InputsOf(credit.inputs()), ElementsAre(Pair(v1::METRIC_REVENUE_12M, 5'000'000.0),
                                                     Pair(v1::METRIC_LATE_PAYMENT_SHARE, 0.0),
                                                     Pair(v1::METRIC_UNPAID_OVERDUE, 0.0),
                                                     Pair(v1::METRIC_PAYMENT_HISTORY, 0.0)));
}

TEST(DefaultCredit, GivenTheFirstPaymentOrOverdue_WhenRated_ThenTheGradesDecide) {
  v1::CustomerInputs paid = Customer();
  AddTransaction(paid, 100, 10, 3);  // one small payment on time
  const v1::CreditResult aa = Evaluate(paid, DefaultRuleSet(), kNow).credit();
  EXPECT_EQ(aa.rating(), "AA");
  EXPECT_EQ(aa.credit_limit_minor(), 30'000'000);
  EXPECT_EQ(aa.payment_terms_days(), 60);
  EXPECT_EQ(aa.currency_code(), "CNY");
  EXPECT_EQ(aa.grade_index(), 1);
  // Payment history is not a condition of the default grades: not in their inputs.
  EXPECT_THAT(InputsOf(aa.inputs()), ElementsAre(Pair(v1::METRIC_REVENUE_12M, 1.0),
                                                 Pair(v1::METRIC_LATE_PAYMENT_SHARE, 0.0),
                                                 Pair(v1::METRIC_UNPAID_OVERDUE, 0.0)));

  v1::CustomerInputs overdue = Customer();
  AddTransaction(overdue, 100, 31, std::nullopt);  // unpaid past the grace: on record
  EXPECT_EQ(Evaluate(overdue, DefaultRuleSet(), kNow).credit().rating(), "AA");
}

TEST(Credit, GivenARuleSetRatingWithoutPaymentHistory_WhenRated_ThenTheGradesDecide) {
  v1::RuleSet rules = DefaultRuleSet();
  rules.mutable_credit()->set_rate_without_payment_history(true);
  const v1::CreditResult old_way = Evaluate(Customer(), rules, kNow).credit();
  EXPECT_EQ(old_way.rating(), "AA");  // late share 0 of no payment
  EXPECT_EQ(old_way.credit_limit_minor(), 30'000'000);
  EXPECT_EQ(old_way.rule(), "at most 20% paid late");

  // A grade of its own for newcomers.
  v1::CreditGrade newcomer;
  newcomer.set_rating("N");
  v1::Condition* none = newcomer.add_all_of();
  none->set_metric(v1::METRIC_PAYMENT_HISTORY);
  none->set_op(v1::OP_EQ);
  none->set_value(0);
  newcomer.set_credit_limit_minor(2'000'000);
  newcomer.set_payment_terms_days(0);
  auto* grades = rules.mutable_credit()->mutable_grades();
  *grades->Add() = std::move(newcomer);
  for (int i = grades->size() - 1; i > 0; --i) grades->SwapElements(i, i - 1);  // first
  ASSERT_TRUE(ValidateRuleSet(rules).ok());
  const v1::CreditResult n = Evaluate(Customer(), rules, kNow).credit();
  EXPECT_EQ(n.rating(), "N");
  EXPECT_EQ(n.credit_limit_minor(), 2'000'000);
  EXPECT_EQ(n.currency_code(), "CNY");
  EXPECT_EQ(n.grade_index(), 0);
  EXPECT_EQ(n.rule(), "PAYMENT_HISTORY == 0");
  EXPECT_EQ(Evaluate(Payer(0), rules, kNow).credit().rating(), "AAA");
}

TEST(Credit, GivenNoCreditRules_WhenACustomerHasNoPaymentHistory_ThenNothingIsRated) {
  v1::RuleSet rules = DefaultRuleSet();
  rules.clear_credit();
  const v1::CreditResult credit = Evaluate(Customer(), rules, kNow).credit();
  EXPECT_EQ(credit.rating(), "");
  EXPECT_EQ(credit.rule(), "default");
  EXPECT_THAT(InputsOf(credit.inputs()), IsEmpty());
}

// ========================== Default rule set: churn =========================

struct ChurnSignals {
  bool silent = false;     // last interaction (and registration) 90 days ago
  bool falling = false;    // revenue 49.99 after 100.00
  bool complaint = false;  // open complaint 14 days old
  int satisfaction = 0;    // one survey answer (0 = none)
};

v1::CustomerInputs Churning(const ChurnSignals& signals) {
  v1::CustomerInputs inputs = Customer();
  inputs.clear_interactions();
  AddInteraction(inputs, absl::Hours(24 * (signals.silent ? 90 : 89)), signals.satisfaction);
  AddTransaction(inputs, 10000, 400);
  AddTransaction(inputs, signals.falling ? 4999 : 5000, 10);
  AddComplaint(inputs, absl::Hours(24 * (signals.complaint ? 14 : 13)));
  return inputs;
}

v1::ChurnResult ChurnOf(const v1::CustomerInputs& inputs,
                        const v1::RuleSet& rules = DefaultRuleSet()) {
  return Evaluate(inputs, rules, kNow).churn();
}

TEST(DefaultChurn, GivenEachCriterionJustBelow_WhenEvaluated_ThenScoreIsZero) {
  const v1::ChurnResult churn = ChurnOf(Churning({}));
  EXPECT_FALSE(churn.at_risk());
  EXPECT_DOUBLE_EQ(churn.score(), 0.0);
  EXPECT_THAT(NamesOf(churn.criteria_met()), IsEmpty());
  EXPECT_THAT(
      InputsOf(churn.inputs()),
      ElementsAre(Pair(v1::METRIC_REVENUE_PREV_12M, 100.0), Pair(v1::METRIC_REVENUE_TREND, 0.5),
                  Pair(v1::METRIC_DAYS_SINCE_LAST_INTERACTION, 89.0),
                  Pair(v1::METRIC_AVG_SATISFACTION, 0.0),
                  Pair(v1::METRIC_OLDEST_OPEN_COMPLAINT_DAYS, 13.0)));
}

TEST(DefaultChurn, GivenEachCriterionAlone_WhenEvaluated_ThenItsWeightIsBelowRaiseAt) {
  struct Case {
    ChurnSignals signals;
    std::string criterion;
    double score;
  };
  const std::vector<Case> cases = {
      {{.silent = true}, "no interaction for 90 days", 2},
      {{.falling = true}, "falling transactions", 2},
      {{.complaint = true}, "unresolved complaint", 2},
      {{.satisfaction = 2}, "low satisfaction", 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.criterion);
    const v1::ChurnResult churn = ChurnOf(Churning(c.signals));
    EXPECT_FALSE(churn.at_risk());
    EXPECT_DOUBLE_EQ(churn.score(), c.score);
    EXPECT_THAT(NamesOf(churn.criteria_met()), ElementsAre(c.criterion));
  }
}

TEST(DefaultChurn, GivenSatisfactionAtThreeOrWithoutAnswers_WhenEvaluated_ThenNotLow) {
  EXPECT_DOUBLE_EQ(ChurnOf(Churning({.silent = true, .satisfaction = 3})).score(), 2.0);
  // No answers: AVG_SATISFACTION 0 is "unknown", not "low".
  const v1::ChurnResult churn = ChurnOf(Churning({.silent = true}));
  EXPECT_FALSE(churn.at_risk());
  EXPECT_THAT(NamesOf(churn.criteria_met()), ElementsAre("no interaction for 90 days"));
}

TEST(DefaultChurn, GivenNoPreviousRevenue_WhenRevenueIsZero_ThenNotFalling) {
  v1::CustomerInputs inputs = Customer();  // no transactions at all: trend 1, prev 0
  EXPECT_DOUBLE_EQ(ChurnOf(inputs).score(), 0.0);
  AddTransaction(inputs, 10000, 400);  // prev 100, now 0: trend 0
  EXPECT_THAT(NamesOf(ChurnOf(inputs).criteria_met()), ElementsAre("falling transactions"));
}

TEST(DefaultChurn, GivenScoreExactlyRaiseAt_WhenEvaluated_ThenAtRisk) {
  const v1::ChurnResult churn = ChurnOf(Churning({.silent = true, .satisfaction = 1}));
  EXPECT_TRUE(churn.at_risk());
  EXPECT_DOUBLE_EQ(churn.score(), 3.0);
  EXPECT_THAT(NamesOf(churn.criteria_met()),
              ElementsAre("no interaction for 90 days", "low satisfaction"));
}

TEST(DefaultChurn, GivenCombinations_WhenEvaluated_ThenWeightsAddUpInCriteriaOrder) {
  const v1::ChurnResult two = ChurnOf(Churning({.falling = true, .complaint = true}));
  EXPECT_TRUE(two.at_risk());
  EXPECT_DOUBLE_EQ(two.score(), 4.0);
  EXPECT_THAT(NamesOf(two.criteria_met()),
              ElementsAre("falling transactions", "unresolved complaint"));

  const v1::ChurnResult all =
      ChurnOf(Churning({.silent = true, .falling = true, .complaint = true, .satisfaction = 2}));
  EXPECT_TRUE(all.at_risk());
  EXPECT_DOUBLE_EQ(all.score(), 7.0);
  EXPECT_THAT(NamesOf(all.criteria_met()),
              ElementsAre("no interaction for 90 days", "falling transactions",
                          "unresolved complaint", "low satisfaction"));
}

TEST(DefaultChurn, GivenANewCustomerWithoutInteractions_WhenRegisteredLongAgo_ThenSilenceCounts) {
  v1::CustomerInputs inputs = Customer();
  inputs.clear_interactions();
  *inputs.mutable_registered_at() = TimeAgo(absl::Hours(24 * 90));
  EXPECT_THAT(NamesOf(ChurnOf(inputs).criteria_met()), ElementsAre("no interaction for 90 days"));
  *inputs.mutable_registered_at() = TimeAgo(absl::Hours(24 * 89));
  EXPECT_THAT(NamesOf(ChurnOf(inputs).criteria_met()), IsEmpty());
}

TEST(Churn, GivenRaiseAtZero_WhenEvaluated_ThenNeverAtRisk) {
  v1::RuleSet rules = DefaultRuleSet();
  rules.mutable_churn()->set_raise_at(0);
  const v1::ChurnResult churn = ChurnOf(Churning({.silent = true, .falling = true}), rules);
  EXPECT_DOUBLE_EQ(churn.score(), 4.0);
  EXPECT_FALSE(churn.at_risk());
}

// ============================== Evaluate ====================================

TEST(Evaluate, GivenInputs_WhenEvaluated_ThenCustomerFieldsAndVersionsAreCarried) {
  v1::RuleSet rules = DefaultRuleSet();
  rules.set_version(7);
  const v1::Classification result = Evaluate(Profile(100), rules, kNow);
  EXPECT_EQ(result.customer_id(), "c-1");
  EXPECT_EQ(result.owner(), "rep-1");
  EXPECT_EQ(result.region(), "north");
  EXPECT_EQ(result.industry(), "energy");
  EXPECT_EQ(FromProtoTimestamp(result.evaluated_at()), kNow);
  EXPECT_EQ(result.version(), 0u);
  ASSERT_EQ(result.schemes_size(), 4);
  EXPECT_EQ(result.schemes(0).scheme(), v1::SCHEME_TIER);
  EXPECT_EQ(result.schemes(1).scheme(), v1::SCHEME_ABCD);
  EXPECT_EQ(result.schemes(2).scheme(), v1::SCHEME_VALUE);
  EXPECT_EQ(result.schemes(3).scheme(), v1::SCHEME_LARGE_ACCOUNT);
  for (const v1::SchemeResult& scheme : result.schemes()) {
    EXPECT_EQ(scheme.rule_set_version(), 7u);
    EXPECT_FALSE(scheme.has_since());
  }
  EXPECT_EQ(result.credit().rule_set_version(), 7u);
  EXPECT_EQ(result.churn().rule_set_version(), 7u);
  EXPECT_FALSE(result.churn().has_since());
}

TEST(Evaluate, GivenRulesWithoutDescription_WhenTheyDecide_ThenTheConditionsAreTheRule) {
  v1::RuleSet rules;
  v1::SchemeRules* scheme = rules.add_schemes();
  scheme->set_scheme(v1::SCHEME_ABCD);
  scheme->set_default_class("D");
  v1::ClassRule* industry_rule = scheme->add_rules();
  industry_rule->set_class_name("A");
  v1::Condition* in = industry_rule->add_all_of();
  in->add_industry_in("mining");
  in->add_industry_in("energy");
  v1::Condition* employees = industry_rule->add_all_of();
  employees->set_metric(v1::METRIC_EMPLOYEES);
  employees->set_op(v1::OP_GT);
  employees->set_value(100);
  v1::ClassRule* always = scheme->add_rules();
  always->set_class_name("C");

  const v1::SchemeResult a = SchemeOf(Evaluate(Profile(0, 0, 101), rules, kNow), v1::SCHEME_ABCD);
  EXPECT_EQ(a.class_name(), "A");
  EXPECT_EQ(a.rule_index(), 0);
  EXPECT_EQ(a.rule(), "industry in {mining, energy} and EMPLOYEES > 100");
  EXPECT_THAT(InputsOf(a.inputs()), ElementsAre(Pair(v1::METRIC_EMPLOYEES, 101.0)));

  const v1::SchemeResult c = SchemeOf(Evaluate(Profile(0, 0, 100), rules, kNow), v1::SCHEME_ABCD);
  EXPECT_EQ(c.class_name(), "C");
  EXPECT_EQ(c.rule_index(), 1);
  EXPECT_EQ(c.rule(), "always");
}

TEST(Evaluate, GivenAnUnnormalizedRuleSet_WhenEvaluated_ThenDefaultsApply) {
  v1::RuleSet rules = DefaultRuleSet();
  rules.clear_currency_code();
  rules.set_default_margin(0);
  rules.mutable_credit()->set_payment_grace_days(0);
  v1::CustomerInputs inputs = Profile(100'000'000);
  AddTransaction(inputs, 100, 31, std::nullopt);
  const v1::Classification result = Evaluate(inputs, rules, kNow);
  EXPECT_EQ(SchemeOf(result, v1::SCHEME_TIER).class_name(), "important");
  EXPECT_EQ(SchemeOf(result, v1::SCHEME_VALUE).class_name(), "A");
  EXPECT_EQ(result.credit().currency_code(), "CNY");
  EXPECT_EQ(result.credit().rating(), "AA");  // one unpaid overdue after 30 days
}

TEST(Evaluate, GivenRulesOnPipelineAndWins_WhenEvaluated_ThenTheyDecideWithTheirValuesShown) {
  v1::RuleSet rules;
  rules.set_version(3);
  v1::SchemeRules* scheme = rules.add_schemes();
  scheme->set_scheme(v1::SCHEME_ABCD);
  scheme->set_default_class("D");
  auto add_rule = [&](const std::string& class_name, v1::Metric metric, double value) {
    v1::ClassRule* rule = scheme->add_rules();
    rule->set_class_name(class_name);
    v1::Condition* condition = rule->add_all_of();
    condition->set_metric(metric);
    condition->set_op(v1::OP_GE);
    condition->set_value(value);
  };
  add_rule("A", v1::METRIC_WON_AMOUNT_12M, 1'000'000);
  add_rule("B", v1::METRIC_WEIGHTED_PIPELINE_AMOUNT, 500'000);
  add_rule("C", v1::METRIC_OPEN_PIPELINE_AMOUNT, 100'000);
  add_rule("C", v1::METRIC_WINS_12M, 1);
  absl::StatusOr<v1::RuleSet> validated = ValidateRuleSet(rules);
  ASSERT_TRUE(validated.ok()) << validated.status();

  v1::CustomerInputs inputs = Customer();
  AddOpportunity(inputs, 4, 60, "CNY", 100'000'000);  // 1,000,000.00 at 60%
  AddWin(inputs, "USD", 500'000'000, absl::Hours(24 * 100));
  const v1::SchemeResult b = SchemeOf(Evaluate(inputs, *validated, kNow), v1::SCHEME_ABCD);
  EXPECT_EQ(b.class_name(), "B");
  EXPECT_EQ(b.rule_index(), 1);
  EXPECT_EQ(b.rule(), "WEIGHTED_PIPELINE_AMOUNT >= 500000");
  EXPECT_THAT(InputsOf(b.inputs()),
              ElementsAre(Pair(v1::METRIC_OPEN_PIPELINE_AMOUNT, 1'000'000.0),
                          Pair(v1::METRIC_WEIGHTED_PIPELINE_AMOUNT, 600'000.0),
                          Pair(v1::METRIC_WINS_12M, 1.0), Pair(v1::METRIC_WON_AMOUNT_12M, 0.0)));

  inputs.mutable_opportunities(0)->set_probability(49);  // 490,000.00: below B
  const v1::SchemeResult c = SchemeOf(Evaluate(inputs, *validated, kNow), v1::SCHEME_ABCD);
  EXPECT_EQ(c.class_name(), "C");
  EXPECT_EQ(c.rule_index(), 2);
  EXPECT_EQ(c.rule(), "OPEN_PIPELINE_AMOUNT >= 100000");
}

TEST(Evaluate, GivenTheSameArguments_WhenEvaluatedTwice_ThenSerializationsAreIdentical) {
  v1::CustomerInputs inputs = Churning({.silent = true, .complaint = true, .satisfaction = 2});
  AddTransaction(inputs, 123'456'789, 20, 45);
  AddInteraction(inputs, absl::Hours(24 * 100), 4, 3);
  v1::RuleSet rules = DefaultRuleSet();
  (*rules.mutable_industry_margins())["energy"] = 0.3;
  (*rules.mutable_industry_margins())["mining"] = 0.4;
  const std::string first = Evaluate(inputs, rules, kNow).SerializeAsString();
  const std::string second = Evaluate(inputs, rules, kNow).SerializeAsString();
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, second);
}

// ============================ ValidateRuleSet ===============================

TEST(ValidateRuleSet, GivenTheDefaultRuleSet_WhenValidated_ThenItIsUnchanged) {
  absl::StatusOr<v1::RuleSet> validated = ValidateRuleSet(DefaultRuleSet());
  ASSERT_TRUE(validated.ok()) << validated.status();
  EXPECT_EQ(validated->SerializeAsString(), DefaultRuleSet().SerializeAsString());
}

TEST(ValidateRuleSet, GivenMissingDefaults_WhenValidated_ThenTheyAreFilledIn) {
  v1::RuleSet candidate;
  v1::SchemeRules* scheme = candidate.add_schemes();
  scheme->set_scheme(v1::SCHEME_TIER);
  scheme->set_default_class("potential");
  absl::StatusOr<v1::RuleSet> validated = ValidateRuleSet(candidate);
  ASSERT_TRUE(validated.ok()) << validated.status();
  EXPECT_EQ(validated->currency_code(), "CNY");
  EXPECT_DOUBLE_EQ(validated->default_margin(), 1.0);
  EXPECT_EQ(validated->credit().payment_grace_days(), 30);
  EXPECT_EQ(validated->schemes_size(), 1);

  candidate.set_currency_code("EUR");
  candidate.set_default_margin(0.4);
  candidate.mutable_credit()->set_payment_grace_days(15);
  validated = ValidateRuleSet(candidate);
  ASSERT_TRUE(validated.ok()) << validated.status();
  EXPECT_EQ(validated->currency_code(), "EUR");
  EXPECT_DOUBLE_EQ(validated->default_margin(), 0.4);
  EXPECT_EQ(validated->credit().payment_grace_days(), 15);
}

TEST(ValidateRuleSet, GivenEachKindOfMistake_WhenValidated_ThenInvalidArgumentNamesTheField) {
  struct Case {
    std::string expected_prefix;
    std::function<void(v1::RuleSet&)> mutate;
  };
  const std::vector<Case> cases = {
      {"schemes: at least one is required", [](v1::RuleSet& r) { r.clear_schemes(); }},
      {"schemes[1].scheme: unknown value 9",
       [](v1::RuleSet& r) { r.mutable_schemes(1)->set_scheme(static_cast<v1::Scheme>(9)); }},
      {"schemes[1].scheme: required",
       [](v1::RuleSet& r) { r.mutable_schemes(1)->set_scheme(v1::SCHEME_UNSPECIFIED); }},
      {"schemes[2].scheme: duplicate SCHEME_TIER",
       [](v1::RuleSet& r) { r.mutable_schemes(2)->set_scheme(v1::SCHEME_TIER); }},
      {"schemes[0].rules[2].class_name: required",
       [](v1::RuleSet& r) { r.mutable_schemes(0)->mutable_rules(2)->clear_class_name(); }},
      {"schemes[0].default_class: required",
       [](v1::RuleSet& r) { r.mutable_schemes(0)->clear_default_class(); }},
      {"schemes[0].rules[1].all_of[0].metric: required",
       [](v1::RuleSet& r) {
         r.mutable_schemes(0)->mutable_rules(1)->mutable_all_of(0)->clear_metric();
       }},
      {"schemes[0].rules[1].all_of[0].metric: unknown value 77",
       [](v1::RuleSet& r) {
         r.mutable_schemes(0)->mutable_rules(1)->mutable_all_of(0)->set_metric(
             static_cast<v1::Metric>(77));
       }},
      {"schemes[0].rules[1].all_of[0].op: required",
       [](v1::RuleSet& r) {
         r.mutable_schemes(0)->mutable_rules(1)->mutable_all_of(0)->clear_op();
       }},
      {"credit.grades[0].rating: required",
       [](v1::RuleSet& r) { r.mutable_credit()->mutable_grades(0)->clear_rating(); }},
      {"credit.grades[0].credit_limit_minor: must be >= 0",
       [](v1::RuleSet& r) { r.mutable_credit()->mutable_grades(0)->set_credit_limit_minor(-1); }},
      {"credit.grades[1].all_of[0].op: required",
       [](v1::RuleSet& r) {
         r.mutable_credit()->mutable_grades(1)->mutable_all_of(0)->clear_op();
       }},
      {"credit.default_grade.rating: required",
       [](v1::RuleSet& r) { r.mutable_credit()->mutable_default_grade()->clear_rating(); }},
      {"credit.payment_grace_days: must be >= 0",
       [](v1::RuleSet& r) { r.mutable_credit()->set_payment_grace_days(-1); }},
      {"churn.criteria[0].name: required",
       [](v1::RuleSet& r) { r.mutable_churn()->mutable_criteria(0)->clear_name(); }},
      {"churn.criteria[1].weight: must be > 0",
       [](v1::RuleSet& r) { r.mutable_churn()->mutable_criteria(1)->set_weight(0); }},
      {"churn.raise_at: must be > 0", [](v1::RuleSet& r) { r.mutable_churn()->set_raise_at(0); }},
      {"churn.raise_at: must be > 0", [](v1::RuleSet& r) { r.mutable_churn()->set_raise_at(-1); }},
      {"industry_margins[x]: must be 0..1",
       [](v1::RuleSet& r) { (*r.mutable_industry_margins())["x"] = 1.5; }},
      {"industry_margins[b]: must be 0..1",
       [](v1::RuleSet& r) {
         (*r.mutable_industry_margins())["c"] = -0.5;
         (*r.mutable_industry_margins())["b"] = -0.1;
         (*r.mutable_industry_margins())["a"] = 0.5;
       }},
      {"default_margin: must be 0..1", [](v1::RuleSet& r) { r.set_default_margin(2); }},
      {"currency_code: not an ISO 4217 code", [](v1::RuleSet& r) { r.set_currency_code("yuan"); }},
      {"currency_code: not an ISO 4217 code", [](v1::RuleSet& r) { r.set_currency_code("cny"); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expected_prefix);
    v1::RuleSet candidate = DefaultRuleSet();
    c.mutate(candidate);
    absl::StatusOr<v1::RuleSet> validated = ValidateRuleSet(candidate);
    ASSERT_FALSE(validated.ok());
    EXPECT_EQ(validated.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(validated.status().message(), c.expected_prefix))
        << validated.status();
  }
}

TEST(ValidateRuleSet, GivenIndustryConditionsAndNoChurnOrCredit_WhenValidated_ThenAccepted) {
  v1::RuleSet candidate;
  v1::SchemeRules* scheme = candidate.add_schemes();
  scheme->set_scheme(v1::SCHEME_LARGE_ACCOUNT);
  scheme->set_default_class("ordinary");
  v1::ClassRule* rule = scheme->add_rules();
  rule->set_class_name("strategic");
  rule->add_all_of()->add_industry_in("energy");  // metric and op unused
  absl::StatusOr<v1::RuleSet> validated = ValidateRuleSet(candidate);
  ASSERT_TRUE(validated.ok()) << validated.status();

  const v1::Classification result = Evaluate(Profile(0), *validated, kNow);
  EXPECT_EQ(SchemeOf(result, v1::SCHEME_LARGE_ACCOUNT).class_name(), "strategic");
  EXPECT_EQ(SchemeOf(result, v1::SCHEME_LARGE_ACCOUNT).rule(), "industry in {energy}");
  EXPECT_FALSE(result.churn().at_risk());
  EXPECT_EQ(result.credit().rating(), "");
}

// ============================ Diff and Apply ================================

v1::Classification Fold(const v1::Classification& start,
                        const std::vector<v1::ClassificationEvent>& events, uint64_t first_version,
                        absl::Time at) {
  v1::Classification state = start;
  uint64_t version = first_version;
  for (const v1::ClassificationEvent& event : events) Apply(state, event, version++, at);
  return state;
}

// Class per scheme, credit and churn flag: what Diff compares.
struct Classes {
  std::vector<std::pair<v1::Scheme, std::string>> schemes;
  std::string rating;
  int64_t limit;
  int32_t terms;
  bool at_risk;
  bool operator==(const Classes&) const = default;
};

Classes ClassesOf(const v1::Classification& c) {
  Classes out{{},
              c.credit().rating(),
              c.credit().credit_limit_minor(),
              c.credit().payment_terms_days(),
              c.churn().at_risk()};
  for (const v1::SchemeResult& s : c.schemes())
    out.schemes.emplace_back(s.scheme(), s.class_name());
  return out;
}

TEST(Diff, GivenACustomerNeverClassified_WhenDiffed_ThenEverySchemeAndTheCreditAreAnnounced) {
  const v1::Classification next = Evaluate(Payer(0), DefaultRuleSet(), kNow);
  const std::vector<v1::ClassificationEvent> events = Diff(v1::Classification{}, next);
  ASSERT_EQ(events.size(), 5u);
  for (const v1::ClassificationEvent& event : events) EXPECT_EQ(event.customer_id(), "c-1");

  const v1::CustomerClassified& tier = events[0].classified();
  EXPECT_EQ(EventType(events[0]), "crm.classification.v1.CustomerClassified");
  EXPECT_EQ(tier.scheme(), v1::SCHEME_TIER);
  EXPECT_EQ(tier.old_class(), "");
  EXPECT_EQ(tier.new_class(), "important");
  EXPECT_EQ(tier.reason(), "revenue of at least 1,000,000 in 12 months");
  EXPECT_EQ(tier.rule_set_version(), 0u);
  EXPECT_THAT(InputsOf(tier.inputs()), ElementsAre(Pair(v1::METRIC_REVENUE_12M, 1'000'000.0),
                                                   Pair(v1::METRIC_TRANSACTIONS_12M, 20.0),
                                                   Pair(v1::METRIC_COOPERATION_INTENT, 0.0)));
  EXPECT_EQ(events[1].classified().scheme(), v1::SCHEME_ABCD);
  EXPECT_EQ(events[1].classified().new_class(), "B");
  EXPECT_EQ(events[2].classified().scheme(), v1::SCHEME_VALUE);
  EXPECT_EQ(events[2].classified().new_class(), "A");
  EXPECT_EQ(events[3].classified().scheme(), v1::SCHEME_LARGE_ACCOUNT);
  EXPECT_EQ(events[3].classified().new_class(), "ordinary");
  EXPECT_EQ(events[3].classified().reason(), "default");

  EXPECT_EQ(EventType(events[4]), "crm.classification.v1.CreditRated");
  const v1::CreditRated& rated = events[4].credit_rated();
  EXPECT_EQ(rated.old_rating(), "");
  EXPECT_EQ(rated.rating(), "AAA");
  EXPECT_EQ(rated.credit_limit_minor(), 100'000'000);
  EXPECT_EQ(rated.currency_code(), "CNY");
  EXPECT_EQ(rated.payment_terms_days(), 90);
  EXPECT_EQ(rated.reason(), next.credit().rule());
  EXPECT_EQ(InputsOf(rated.inputs()), InputsOf(next.credit().inputs()));
}

TEST(Diff,
     GivenARatedCustomerWithoutPaymentHistory_WhenRulesRateFromHistory_ThenUnratedIsAnnounced) {
  v1::RuleSet old_rules = DefaultRuleSet();
  old_rules.mutable_credit()->set_rate_without_payment_history(true);
  const v1::Classification old = Evaluate(Customer(), old_rules, kNow);
  const v1::Classification current =
      Fold(v1::Classification{}, Diff(v1::Classification{}, old), 1, kNow);
  ASSERT_EQ(current.credit().rating(), "AA");
  const v1::Classification next = Evaluate(Customer(), DefaultRuleSet(), kNow);
  const std::vector<v1::ClassificationEvent> events = Diff(current, next);
  ASSERT_EQ(events.size(), 1u);
  const v1::CreditRated& rated = events[0].credit_rated();
  EXPECT_EQ(rated.old_rating(), "AA");
  EXPECT_EQ(rated.rating(), "");
  EXPECT_EQ(rated.credit_limit_minor(), 0);
  EXPECT_EQ(rated.currency_code(), "");
  EXPECT_EQ(rated.payment_terms_days(), 0);
  EXPECT_EQ(rated.grade_index(), -1);
  EXPECT_EQ(rated.reason(), "no payment history");
  v1::Classification state = current;
  Apply(state, events[0], 9, kNow);
  EXPECT_EQ(ClassesOf(state), ClassesOf(next));
  EXPECT_EQ(state.credit().rule(), "no payment history");
}

TEST(Diff, GivenANewCustomerWithoutPaymentHistory_WhenFirstDiffed_ThenNoCreditIsAnnounced) {
  const std::vector<v1::ClassificationEvent> events =
      Diff(v1::Classification{}, Evaluate(Customer(), DefaultRuleSet(), kNow));
  ASSERT_EQ(events.size(), 4u);
  for (const v1::ClassificationEvent& event : events) EXPECT_TRUE(event.has_classified());
}

TEST(Diff, GivenANewCustomerAtRisk_WhenFirstDiffed_ThenChurnRiskIsRaised) {
  v1::CustomerInputs inputs = Churning({.silent = true, .complaint = true});
  const v1::Classification next = Evaluate(inputs, DefaultRuleSet(), kNow);
  const std::vector<v1::ClassificationEvent> events = Diff(v1::Classification{}, next);
  ASSERT_FALSE(events.empty());
  const v1::ClassificationEvent& last = events.back();
  EXPECT_EQ(EventType(last), "crm.classification.v1.ChurnRiskRaised");
  EXPECT_EQ(last.customer_id(), "c-1");
  EXPECT_DOUBLE_EQ(last.churn_risk_raised().score(), 4.0);
  EXPECT_THAT(NamesOf(last.churn_risk_raised().criteria()),
              ElementsAre("no interaction for 90 days", "unresolved complaint"));
  EXPECT_EQ(last.churn_risk_raised().reason(),
            "criteria met: no interaction for 90 days, unresolved complaint (score 4 >= 3)");
  EXPECT_EQ(last.churn_risk_raised().owner(), "rep-1");
  EXPECT_EQ(last.churn_risk_raised().region(), "north");
  EXPECT_EQ(InputsOf(last.churn_risk_raised().inputs()), InputsOf(next.churn().inputs()));

  // Not at risk the first time: no churn event at all.
  const std::vector<v1::ClassificationEvent> calm =
      Diff(v1::Classification{}, Evaluate(Churning({}), DefaultRuleSet(), kNow));
  for (const v1::ClassificationEvent& event : calm) {
    EXPECT_FALSE(event.has_churn_risk_raised());
    EXPECT_FALSE(event.has_churn_risk_cleared());
  }
}

TEST(Diff, GivenNothingChanged_WhenDiffed_ThenNoEvents) {
  const v1::Classification a = Evaluate(Payer(0), DefaultRuleSet(), kNow);
  EXPECT_THAT(Diff(a, a), IsEmpty());
  // A day later the metric values moved (days, inputs) but no class did.
  const v1::Classification later = Evaluate(Payer(0), DefaultRuleSet(), kNow + absl::Hours(24));
  EXPECT_NE(later.SerializeAsString(), a.SerializeAsString());
  EXPECT_THAT(Diff(a, later), IsEmpty());
}

TEST(Diff, GivenOneClassChanged_WhenDiffed_ThenOnlyThatSchemeIsAnnounced) {
  const v1::Classification a = Evaluate(Profile(49'999'999), DefaultRuleSet(), kNow);
  const v1::Classification b = Evaluate(Profile(50'000'000), DefaultRuleSet(), kNow);
  const std::vector<v1::ClassificationEvent> events = Diff(a, b);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].customer_id(), "c-1");
  const v1::CustomerClassified& classified = events[0].classified();
  EXPECT_EQ(classified.scheme(), v1::SCHEME_ABCD);
  EXPECT_EQ(classified.old_class(), "C");
  EXPECT_EQ(classified.new_class(), "B");
  EXPECT_EQ(classified.reason(), "revenue of at least 500,000 in 12 months");
  EXPECT_THAT(
      InputsOf(classified.inputs()),
      ElementsAre(Pair(v1::METRIC_REVENUE_12M, 500'000.0), Pair(v1::METRIC_TRANSACTIONS_12M, 1.0),
                  Pair(v1::METRIC_COOPERATION_INTENT, 0.0), Pair(v1::METRIC_EMPLOYEES, 10.0)));

  // Crossing 1,000,000 moves several schemes and the credit grade at once.
  const std::vector<v1::ClassificationEvent> several =
      Diff(Evaluate(Profile(99'999'999), DefaultRuleSet(), kNow),
           Evaluate(Profile(100'000'000), DefaultRuleSet(), kNow));
  ASSERT_EQ(several.size(), 3u);
  EXPECT_EQ(several[0].classified().scheme(), v1::SCHEME_TIER);
  EXPECT_EQ(several[0].classified().old_class(), "ordinary");
  EXPECT_EQ(several[0].classified().new_class(), "important");
  EXPECT_EQ(several[1].classified().scheme(), v1::SCHEME_VALUE);
  EXPECT_EQ(several[1].classified().new_class(), "A");
  EXPECT_EQ(several[2].credit_rated().old_rating(), "AA");
  EXPECT_EQ(several[2].credit_rated().rating(), "AAA");
}

TEST(Diff, GivenTheCreditGradeChanged_WhenDiffed_ThenCreditRatedCarriesOldAndNew) {
  const v1::Classification a = Evaluate(Payer(2), DefaultRuleSet(), kNow);
  const v1::Classification b = Evaluate(Payer(1), DefaultRuleSet(), kNow);
  const std::vector<v1::ClassificationEvent> events = Diff(a, b);
  ASSERT_EQ(events.size(), 1u);
  const v1::CreditRated& rated = events[0].credit_rated();
  EXPECT_EQ(rated.old_rating(), "AA");
  EXPECT_EQ(rated.rating(), "AAA");
  EXPECT_EQ(rated.credit_limit_minor(), 100'000'000);
  EXPECT_EQ(rated.payment_terms_days(), 90);
}

TEST(Diff, GivenOnlyTheTermsChanged_WhenDiffed_ThenCreditIsRatedAgain) {
  const v1::Classification a = Evaluate(Payer(0), DefaultRuleSet(), kNow);
  v1::RuleSet rules = DefaultRuleSet();
  rules.set_version(2);
  rules.mutable_credit()->mutable_grades(0)->set_payment_terms_days(120);
  const v1::Classification b = Evaluate(Payer(0), rules, kNow);
  const std::vector<v1::ClassificationEvent> events = Diff(a, b);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].credit_rated().old_rating(), "AAA");
  EXPECT_EQ(events[0].credit_rated().rating(), "AAA");
  EXPECT_EQ(events[0].credit_rated().payment_terms_days(), 120);
  EXPECT_EQ(events[0].credit_rated().rule_set_version(), 2u);
}

TEST(Diff, GivenChurnRiskRaisedThenGone_WhenDiffed_ThenRaisedThenCleared) {
  const v1::Classification calm = Evaluate(Churning({}), DefaultRuleSet(), kNow);
  const v1::Classification risky =
      Evaluate(Churning({.silent = true, .satisfaction = 2}), DefaultRuleSet(), kNow);
  const std::vector<v1::ClassificationEvent> raised = Diff(calm, risky);
  ASSERT_EQ(raised.size(), 1u);
  EXPECT_EQ(EventType(raised[0]), "crm.classification.v1.ChurnRiskRaised");
  EXPECT_EQ(raised[0].churn_risk_raised().reason(),
            "criteria met: no interaction for 90 days, low satisfaction (score 3 >= 3)");

  const v1::Classification better = Evaluate(Churning({.satisfaction = 2}), DefaultRuleSet(), kNow);
  const std::vector<v1::ClassificationEvent> cleared = Diff(risky, better);
  ASSERT_EQ(cleared.size(), 1u);
  EXPECT_EQ(EventType(cleared[0]), "crm.classification.v1.ChurnRiskCleared");
  EXPECT_EQ(cleared[0].customer_id(), "c-1");
  EXPECT_DOUBLE_EQ(cleared[0].churn_risk_cleared().score(), 1.0);
  EXPECT_EQ(cleared[0].churn_risk_cleared().reason(), "score 1 below 3");
  EXPECT_EQ(cleared[0].churn_risk_cleared().rule_set_version(), 0u);

  // Still at risk with another score: nothing.
  const v1::Classification worse = Evaluate(
      Churning({.silent = true, .complaint = true, .satisfaction = 2}), DefaultRuleSet(), kNow);
  EXPECT_THAT(Diff(risky, worse), IsEmpty());
}

TEST(Apply, GivenTheDiffOfAToB_WhenFoldedOntoA_ThenTheClassesAreBs) {
  const v1::Classification a = Evaluate(Churning({.complaint = true}), DefaultRuleSet(), kNow);
  v1::CustomerInputs b_inputs = Payer(5, 3);
  b_inputs.clear_interactions();
  AddInteraction(b_inputs, absl::Hours(24 * 200), 1, 4);
  b_inputs.set_employees(5000);
  const v1::Classification b = Evaluate(b_inputs, DefaultRuleSet(), kNow);
  ASSERT_NE(ClassesOf(a), ClassesOf(b));

  const v1::Classification state_a =
      Fold(v1::Classification{}, Diff(v1::Classification{}, a), 1, kNow);
  EXPECT_EQ(ClassesOf(state_a), ClassesOf(a));
  const std::vector<v1::ClassificationEvent> events = Diff(state_a, b);
  const v1::Classification state_b = Fold(state_a, events, 100, kNow + absl::Hours(1));
  EXPECT_EQ(ClassesOf(state_b), ClassesOf(b));
  EXPECT_THAT(Diff(state_b, b), IsEmpty());
  EXPECT_EQ(state_b.version(), 100 + events.size() - 1);
  EXPECT_EQ(state_b.customer_id(), "c-1");
}

TEST(Apply, GivenEachEventKind_WhenApplied_ThenTheResultAndItsSinceAreSet) {
  const absl::Time at = kNow + absl::Minutes(5);
  v1::Classification state;

  v1::ClassificationEvent classified;
  classified.set_customer_id("c-1");
  classified.mutable_classified()->set_scheme(v1::SCHEME_VALUE);
  classified.mutable_classified()->set_new_class("B");
  classified.mutable_classified()->set_reason("profit of at least 200,000");
  classified.mutable_classified()->set_rule_set_version(3);
  v1::MetricValue* profit = classified.mutable_classified()->add_inputs();
  profit->set_metric(v1::METRIC_PROFIT_12M);
  profit->set_value(250000);
  Apply(state, classified, 1, at);
  EXPECT_EQ(state.customer_id(), "c-1");
  EXPECT_EQ(state.version(), 1u);
  EXPECT_EQ(FromProtoTimestamp(state.evaluated_at()), at);
  ASSERT_EQ(state.schemes_size(), 1);
  EXPECT_EQ(state.schemes(0).class_name(), "B");
  EXPECT_EQ(state.schemes(0).rule(), "profit of at least 200,000");
  EXPECT_EQ(state.schemes(0).rule_set_version(), 3u);
  EXPECT_EQ(FromProtoTimestamp(state.schemes(0).since()), at);
  EXPECT_THAT(InputsOf(state.schemes(0).inputs()),
              ElementsAre(Pair(v1::METRIC_PROFIT_12M, 250000.0)));

  classified.mutable_classified()->set_old_class("B");
  classified.mutable_classified()->set_new_class("C");
  classified.mutable_classified()->set_reason("default");
  classified.mutable_classified()->set_rule_index(-1);
  Apply(state, classified, 2, at + absl::Hours(1));
  ASSERT_EQ(state.schemes_size(), 1);
  EXPECT_EQ(state.schemes(0).class_name(), "C");
  EXPECT_EQ(state.schemes(0).rule_index(), -1);
  EXPECT_EQ(FromProtoTimestamp(state.schemes(0).since()), at + absl::Hours(1));

  v1::ClassificationEvent rated;
  rated.set_customer_id("c-1");
  rated.mutable_credit_rated()->set_rating("A");
  rated.mutable_credit_rated()->set_credit_limit_minor(10'000'000);
  rated.mutable_credit_rated()->set_currency_code("CNY");
  rated.mutable_credit_rated()->set_payment_terms_days(30);
  rated.mutable_credit_rated()->set_reason("at most 2 unpaid overdue transactions");
  Apply(state, rated, 3, at);
  EXPECT_EQ(state.credit().rating(), "A");
  EXPECT_EQ(state.credit().credit_limit_minor(), 10'000'000);
  EXPECT_EQ(state.credit().currency_code(), "CNY");
  EXPECT_EQ(state.credit().payment_terms_days(), 30);
  EXPECT_EQ(state.credit().rule(), "at most 2 unpaid overdue transactions");

  v1::ClassificationEvent raised;
  raised.set_customer_id("c-1");
  raised.mutable_churn_risk_raised()->set_score(4);
  raised.mutable_churn_risk_raised()->add_criteria("falling transactions");
  raised.mutable_churn_risk_raised()->set_owner("rep-2");
  Apply(state, raised, 4, at + absl::Hours(2));
  EXPECT_TRUE(state.churn().at_risk());
  EXPECT_DOUBLE_EQ(state.churn().score(), 4.0);
  EXPECT_THAT(NamesOf(state.churn().criteria_met()), ElementsAre("falling transactions"));
  EXPECT_EQ(FromProtoTimestamp(state.churn().since()), at + absl::Hours(2));
  EXPECT_EQ(state.owner(), "rep-2");

  v1::ClassificationEvent cleared;
  cleared.set_customer_id("c-1");
  cleared.mutable_churn_risk_cleared()->set_score(1);
  Apply(state, cleared, 5, at + absl::Hours(3));
  EXPECT_FALSE(state.churn().at_risk());
  EXPECT_DOUBLE_EQ(state.churn().score(), 1.0);
  EXPECT_THAT(NamesOf(state.churn().criteria_met()), IsEmpty());
  EXPECT_EQ(FromProtoTimestamp(state.churn().since()), at + absl::Hours(3));

  const std::string before = state.churn().SerializeAsString();
  v1::ClassificationEvent published;
  *published.mutable_rule_set_published()->mutable_rule_set() = DefaultRuleSet();
  EXPECT_EQ(EventType(published), "crm.classification.v1.RuleSetPublished");
  Apply(state, published, 6, at + absl::Hours(4));
  EXPECT_EQ(state.version(), 6u);
  EXPECT_EQ(state.churn().SerializeAsString(), before);
  EXPECT_EQ(state.schemes_size(), 1);
  EXPECT_EQ(state.credit().rating(), "A");
}

TEST(EventType, GivenEachKind_WhenNamed_ThenTheFullMessageName) {
  v1::ClassificationEvent event;
  EXPECT_EQ(EventType(event), "");
  event.mutable_credit_rated();
  EXPECT_EQ(EventType(event), "crm.classification.v1.CreditRated");
  event.mutable_churn_risk_cleared();
  EXPECT_EQ(EventType(event), "crm.classification.v1.ChurnRiskCleared");
}

}  // namespace
}  // namespace crm::classification
