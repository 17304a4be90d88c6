// The classification rules (DOMAIN.md §3) as pure functions: metrics computed
// from a customer's inputs at an evaluation time, rule sets (data: thresholds and
// weights) validated and evaluated into an explained Classification, and the
// events that take a customer from one classification to the next.
//
//   ASSIGN_OR_RETURN(RuleSet rules, ValidateRuleSet(candidate));  // normalized
//   v1::Classification next = Evaluate(inputs, rules, now);
//   std::vector<v1::ClassificationEvent> events = Diff(current, next);
//
// No I/O, no clock reads: deterministic in (inputs, rule set, now).
// Thread safety: pure and reentrant.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/classification/v1/classification.pb.h"
#include "crm/classification/v1/classification_events.pb.h"

namespace crm::classification {

// Every metric's value for one customer at `now` (METRIC_UNSPECIFIED absent).
// Dates ("YYYY-MM-DD") are days in UTC; a transaction dated D is "in the last 365
// days" when now - 365 days < D 00:00 UTC <= now. Transactions in another currency
// than rules.currency_code() and competitors' transactions are not counted; nor
// are opportunity amounts in another currency (the pipeline and won amounts),
// while WINS_12M counts wins in every currency. A reopened opportunity is open
// again and no longer a win.
using Metrics = std::map<v1::Metric, double>;
Metrics ComputeMetrics(const v1::CustomerInputs& inputs, const v1::RuleSet& rules, absl::Time now);

// True when the condition holds for these metrics and this industry.
bool Holds(const v1::Condition& condition, const Metrics& metrics, const std::string& industry);

// The condition in words, e.g. "REVENUE_12M >= 5000000" or "industry in {energy, mining}".
std::string Describe(const v1::Condition& condition);

// Checks a candidate rule set and returns it normalized (defaults filled in:
// currency_code "CNY", default_margin 1, payment_grace_days 30). INVALID_ARGUMENT
// whose message starts with the field path: "schemes[1].scheme: unknown value 9",
// "schemes[2].scheme: duplicate SCHEME_TIER", "schemes[0].rules[3].class_name:
// required", "schemes[0].default_class: required",
// "schemes[0].rules[1].all_of[0].metric: required", "...op: required",
// "credit.grades[0].rating: required", "credit.grades[0].credit_limit_minor: must
// be >= 0", "churn.criteria[0].name: required", "churn.raise_at: must be > 0",
// "industry_margins[x]: must be 0..1", "currency_code: not an ISO 4217 code".
// At least one scheme is required ("schemes: at least one is required").
absl::StatusOr<v1::RuleSet> ValidateRuleSet(const v1::RuleSet& candidate);

// The built-in rule set (version 0), documented in domain/README.md:
//   TIER: key (revenue_12m >= 5,000,000 and intent >= 3), important (revenue_12m
//     >= 1,000,000), ordinary (transactions_12m >= 1), default potential;
//   ABCD: A (revenue_12m >= 2,000,000 or strong intent with >= 1000 employees —
//     as two rules), B (revenue_12m >= 500,000 or intent >= 3), C (transactions_12m
//     >= 1), default D;
//   VALUE: A (profit_12m >= 1,000,000), B (>= 200,000), default C;
//   LARGE_ACCOUNT: strategic (revenue_12m >= 10,000,000), focus (>= 3,000,000),
//     default ordinary;
//   credit: AAA (no overdue, late share <= 0.05, revenue_12m >= 1,000,000; limit
//     1,000,000.00, 90 days), AA (late share <= 0.2; 300,000.00, 60 days), A
//     (unpaid overdue <= 2; 100,000.00, 30 days), default C (0, cash on delivery = 0 days);
//     a customer without payment history (PAYMENT_HISTORY 0) is unrated (rating "",
//     no limit) as in every rule set without credit.rate_without_payment_history;
//   churn: "no interaction for 90 days" (DAYS_SINCE_LAST_INTERACTION >= 90,
//     weight 2), "falling transactions" (REVENUE_PREV_12M > 0 and REVENUE_TREND <
//     0.5, weight 2), "unresolved complaint" (OLDEST_OPEN_COMPLAINT_DAYS >= 14,
//     weight 2), "low satisfaction" (AVG_SATISFACTION > 0 and < 3, weight 1);
//     raise_at 3; currency CNY.
v1::RuleSet DefaultRuleSet();

// Evaluates every scheme, the credit grade and churn risk (credit: unrated, rule
// "no payment history", when the rule set has credit rules, does not set
// rate_without_payment_history and PAYMENT_HISTORY is 0). The result carries
// customer_id, owner, region, industry from the inputs, evaluated_at = now, and
// per result the rule set's version, the deciding rule in words and the values of
// every metric the scheme's (or credit's, churn's) conditions use. `since` and
// `version` are left unset (the caller's state knows them).
v1::Classification Evaluate(const v1::CustomerInputs& inputs, const v1::RuleSet& rules,
                            absl::Time now);

// The events that take `current` (empty for a customer never classified) to
// `next`: CustomerClassified per scheme whose class changed (old_class "" the first
// time; reason = the deciding rule), CreditRated when the rating, limit or terms
// changed, ChurnRiskRaised / ChurnRiskCleared when at_risk flips (first time: only
// Raised when at risk). customer_id set on each. Empty when nothing changed.
// Changes of explanations alone (same classes, other metric values) emit nothing.
// Churn reasons: "criteria met: a, b (score 4 >= 3)" / "score 1 below 3"
// (raise_at from ChurnResult.raise_at).
std::vector<v1::ClassificationEvent> Diff(const v1::Classification& current,
                                          const v1::Classification& next);

// Folds one event into a classification: version = `version`, evaluated_at =
// `at`; CustomerClassified sets that scheme's result (class, rule = reason,
// inputs, rule_set_version, since = at), CreditRated the credit result,
// ChurnRiskRaised / Cleared the churn result (since = at). The explanation kept is
// the one of the last change. Never fails; other kinds only move the version
// (and evaluated_at); rule_index / grade_index come from the events.
void Apply(v1::Classification& state, const v1::ClassificationEvent& event, uint64_t version,
           absl::Time at);

// "crm.classification.v1.<Message>" of the set kind.
std::string EventType(const v1::ClassificationEvent& event);

// "TIER", "ABCD", ... and "REVENUE_12M", ... (enum names without prefix).
std::string SchemeName(v1::Scheme scheme);
std::string MetricName(v1::Metric metric);

}  // namespace crm::classification
