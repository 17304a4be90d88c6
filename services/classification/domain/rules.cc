// The classification rules (rules/README.md): metrics, validation, evaluation,
// events. Pure: no I/O, no clock reads.
#include "crm/classification/domain/rules.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "crm/domain/validation.h"
#include "crm/common/field_errors.h"
#include "crm/common/proto_time.h"

namespace crm::classification {
namespace {

constexpr char kDefaultCurrency[] = "CNY";
constexpr double kDefaultMargin = 1.0;
constexpr int32_t kDefaultGraceDays = 30;
constexpr char kDefaultRule[] = "default";

const absl::Duration kDay = absl::Hours(24);

// crm.interaction.v1.OpportunityStage numbers (OpportunityInput.stage).
constexpr int32_t kStageQualification = 1;
constexpr int32_t kStageNegotiation = 4;
constexpr int32_t kStageWon = 5;

// The credit rule of a customer without payment history.
constexpr char kUnratedRule[] = "no payment history";

bool IsOpenStage(int32_t stage) {
  return stage >= kStageQualification && stage <= kStageNegotiation;
}


// ---- Rule set defaults (Evaluate also accepts an un-normalized rule set) ----

std::string CurrencyOf(const v1::RuleSet& rules) {
  return rules.currency_code().empty() ? std::string(kDefaultCurrency) : rules.currency_code();
}

double MarginFor(const v1::RuleSet& rules, const std::string& industry) {
  auto it = rules.industry_margins().find(industry);
  if (it != rules.industry_margins().end()) return it->second;
  return rules.default_margin() == 0 ? kDefaultMargin : rules.default_margin();
}

int32_t GraceDaysOf(const v1::RuleSet& rules) {
  return rules.credit().payment_grace_days() == 0 ? kDefaultGraceDays
                                                  : rules.credit().payment_grace_days();
}

// ---- Time helpers ----

// "YYYY-MM-DD" as a civil day; nullopt when not a valid date.
std::optional<absl::CivilDay> ParseDay(const std::string& text) {
  if (text.size() != 10) return std::nullopt;
  absl::CivilDay day;
  if (!absl::ParseCivilTime(text, &day)) return std::nullopt;
  return day;
}

absl::Time StartOf(absl::CivilDay day) { return absl::FromCivil(day, absl::UTCTimeZone()); }

// floor((now - t) / 24h), never negative.
int64_t DaysBetween(absl::Time t, absl::Time now) {
  if (t >= now) return 0;
  absl::Duration remainder;
  return absl::IDivDuration(absl::Floor(now - t, kDay), kDay, &remainder);
}

// ---- Formatting ----

// Integral values without decimals, others in the shortest form that round-trips.
std::string FormatNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buffer, sizeof(buffer), "%.0f", value);
    return buffer;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

const char* OpSymbol(v1::Op op) {
  switch (op) {
    case v1::OP_GE:
      return ">=";
    case v1::OP_GT:
      return ">";
    case v1::OP_LE:
      return "<=";
    case v1::OP_LT:
      return "<";
    case v1::OP_EQ:
      return "==";
    case v1::OP_NE:
      return "!=";
    default:
      return "?";
  }
}

std::string EnumSuffix(const std::string& full_name, const std::string& prefix, int number) {
  if (full_name.empty()) return std::to_string(number);
  if (full_name.rfind(prefix, 0) == 0) return full_name.substr(prefix.size());
  return full_name;
}

// ---- Explanations ----

std::string DescribeAll(const google::protobuf::RepeatedPtrField<v1::Condition>& all_of) {
  if (all_of.empty()) return "always";
  std::vector<std::string> parts;
  parts.reserve(all_of.size());
  for (const v1::Condition& condition : all_of) parts.push_back(Describe(condition));
  return absl::StrJoin(parts, " and ");
}

bool AllHold(const google::protobuf::RepeatedPtrField<v1::Condition>& all_of,
             const Metrics& metrics, const std::string& industry) {
  for (const v1::Condition& condition : all_of) {
    if (!Holds(condition, metrics, industry)) return false;
  }
  return true;
}

void CollectMetrics(const google::protobuf::RepeatedPtrField<v1::Condition>& all_of,
                    std::set<v1::Metric>& used) {
  for (const v1::Condition& condition : all_of) {
    if (condition.industry_in_size() > 0) continue;
    if (condition.metric() == v1::METRIC_UNSPECIFIED) continue;
    used.insert(condition.metric());
  }
}

// The values of `used` (sorted by metric number) into `out`.
void AddInputs(const std::set<v1::Metric>& used, const Metrics& metrics,
               google::protobuf::RepeatedPtrField<v1::MetricValue>* out) {
  for (v1::Metric metric : used) {
    v1::MetricValue* value = out->Add();
    value->set_metric(metric);
    auto it = metrics.find(metric);
    value->set_value(it == metrics.end() ? 0.0 : it->second);
  }
}

// ---- Validation ----

bool ValidEnumMetric(int value) { return v1::Metric_IsValid(value); }

absl::Status ValidateCondition(const std::string& path, const v1::Condition& condition) {
  if (condition.industry_in_size() > 0) {
    for (int i = 0; i < condition.industry_in_size(); ++i) {
      if (condition.industry_in(i).empty()) {
        return InvalidField(Indexed(path + ".industry_in", i), "required");
      }
    }
    return absl::OkStatus();
  }
  if (condition.metric() == v1::METRIC_UNSPECIFIED)
    return InvalidField(path + ".metric", "required");
  if (!ValidEnumMetric(condition.metric())) {
    return InvalidField(path + ".metric",
                        absl::StrCat("unknown value ", static_cast<int>(condition.metric())));
  }
  if (condition.op() == v1::OP_UNSPECIFIED) return InvalidField(path + ".op", "required");
  if (!v1::Op_IsValid(condition.op())) {
    return InvalidField(path + ".op",
                        absl::StrCat("unknown value ", static_cast<int>(condition.op())));
  }
  if (!std::isfinite(condition.value())) return InvalidField(path + ".value", "must be finite");
  return absl::OkStatus();
}

absl::Status ValidateConditions(const std::string& path,
                                const google::protobuf::RepeatedPtrField<v1::Condition>& all_of) {
  for (int i = 0; i < all_of.size(); ++i) {
    absl::Status status = ValidateCondition(Indexed(path + ".all_of", i), all_of.Get(i));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ValidateGrade(const std::string& path, const v1::CreditGrade& grade) {
  if (grade.rating().empty()) return InvalidField(path + ".rating", "required");
  if (grade.credit_limit_minor() < 0) {
    return InvalidField(path + ".credit_limit_minor", "must be >= 0");
  }
  if (grade.payment_terms_days() < 0) {
    return InvalidField(path + ".payment_terms_days", "must be >= 0");
  }
  return absl::OkStatus();
}

bool IsCurrencyCode(const std::string& code) {
  if (code.size() != 3) return false;
  for (char c : code) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

// ---- Default rule set builders ----

v1::Condition Cond(v1::Metric metric, v1::Op op, double value) {
  v1::Condition condition;
  condition.set_metric(metric);
  condition.set_op(op);
  condition.set_value(value);
  return condition;
}

void AddRule(v1::SchemeRules& scheme, const std::string& class_name,
             std::vector<v1::Condition> all_of, const std::string& description) {
  v1::ClassRule* rule = scheme.add_rules();
  rule->set_class_name(class_name);
  for (v1::Condition& condition : all_of) *rule->add_all_of() = std::move(condition);
  rule->set_description(description);
}

void FillGrade(v1::CreditGrade& grade, const std::string& rating, std::vector<v1::Condition> all_of,
               int64_t limit_minor, int32_t terms_days, const std::string& description) {
  grade.set_rating(rating);
  for (v1::Condition& condition : all_of) *grade.add_all_of() = std::move(condition);
  grade.set_credit_limit_minor(limit_minor);
  grade.set_payment_terms_days(terms_days);
  grade.set_description(description);
}

void AddCriterion(v1::ChurnRules& churn, const std::string& name, std::vector<v1::Condition> all_of,
                  double weight) {
  v1::ChurnCriterion* criterion = churn.add_criteria();
  criterion->set_name(name);
  for (v1::Condition& condition : all_of) *criterion->add_all_of() = std::move(condition);
  criterion->set_weight(weight);
}

const v1::SchemeResult* FindScheme(const v1::Classification& classification, v1::Scheme scheme) {
  for (const v1::SchemeResult& result : classification.schemes()) {
    if (result.scheme() == scheme) return &result;
  }
  return nullptr;
}

}  // namespace

// ---- Metrics ----

Metrics ComputeMetrics(const v1::CustomerInputs& inputs, const v1::RuleSet& rules, absl::Time now) {
  const std::string currency = CurrencyOf(rules);
  const int32_t grace_days = GraceDaysOf(rules);
  const absl::Time year_ago = now - 365 * kDay;
  const absl::Time two_years_ago = now - 730 * kDay;
  const bool registered = inputs.has_registered_at();
  const absl::Time registered_at = FromProtoTimestamp(inputs.registered_at());
  const int64_t days_since_registration = registered ? DaysBetween(registered_at, now) : 0;

  // Transactions: own company, the rule set's currency, a valid date not after now.
  int64_t revenue_minor = 0;
  int64_t prev_revenue_minor = 0;
  int64_t transactions = 0;
  std::optional<absl::Time> last_transaction;
  int64_t paid = 0;
  int64_t late = 0;
  int64_t days_to_pay_sum = 0;
  int64_t unpaid_overdue = 0;
  int64_t payment_history = 0;
  for (const v1::TransactionInput& transaction : inputs.transactions()) {
    if (!transaction.own_company() || transaction.currency_code() != currency) continue;
    std::optional<absl::CivilDay> day = ParseDay(transaction.date());
    if (!day) continue;
    const absl::Time start = StartOf(*day);
    if (start > now) continue;
    if (!last_transaction || start > *last_transaction) last_transaction = start;
    const bool in_year = start > year_ago;
    if (in_year) {
      revenue_minor += transaction.amount_minor();
      ++transactions;
    } else if (start > two_years_ago) {
      prev_revenue_minor += transaction.amount_minor();
    }
    // Payment: paid when paid_date is a valid day not after now; an invalid
    // paid_date leaves the transaction out of the payment metrics.
    std::optional<absl::CivilDay> paid_day;
    if (!transaction.paid_date().empty()) {
      paid_day = ParseDay(transaction.paid_date());
      if (!paid_day) continue;
      if (StartOf(*paid_day) > now) paid_day.reset();
    }
    if (paid_day) {
      ++payment_history;
      if (in_year) {
        const int64_t days_to_pay = *paid_day - *day;
        ++paid;
        days_to_pay_sum += days_to_pay;
        if (days_to_pay > grace_days) ++late;
      }
    } else if (DaysBetween(start, now) > grace_days) {
      ++unpaid_overdue;
      ++payment_history;
    }
  }

  // Opportunities: the latest known state of each; one created after now is not
  // seen, a win counts when it happened in the last 365 days.
  int64_t open_pipeline_minor = 0;
  int64_t weighted_pipeline_minor = 0;
  int64_t wins_12m = 0;
  int64_t won_12m_minor = 0;
  for (const v1::OpportunityInput& opportunity : inputs.opportunities()) {
    if (opportunity.has_created_at() && FromProtoTimestamp(opportunity.created_at()) > now) {
      continue;
    }
    if (IsOpenStage(opportunity.stage())) {
      if (opportunity.currency_code() != currency) continue;
      const int64_t probability = std::clamp<int64_t>(opportunity.probability(), 0, 100);
      open_pipeline_minor += opportunity.expected_amount_minor();
      weighted_pipeline_minor += domain::PercentOf(opportunity.expected_amount_minor(), probability);
    } else if (opportunity.stage() == kStageWon && opportunity.has_closed_at()) {
      const absl::Time won_at = FromProtoTimestamp(opportunity.closed_at());
      if (won_at > now || won_at <= year_ago) continue;
      ++wins_12m;
      if (opportunity.won_currency_code() == currency)
        won_12m_minor += opportunity.won_amount_minor();
    }
  }

  // Interactions not after now.
  std::optional<absl::Time> last_interaction;
  int64_t interactions_90d = 0;
  int64_t satisfaction_sum = 0;
  int64_t satisfaction_count = 0;
  std::optional<absl::Time> intent_at;
  int32_t intent = 0;
  for (const v1::InteractionInput& interaction : inputs.interactions()) {
    const absl::Time at = FromProtoTimestamp(interaction.at());
    if (at > now) continue;
    if (!last_interaction || at > *last_interaction) last_interaction = at;
    if (at > now - 90 * kDay) ++interactions_90d;
    if (interaction.satisfaction() >= 1 && interaction.satisfaction() <= 5) {
      satisfaction_sum += interaction.satisfaction();
      ++satisfaction_count;
    }
    if (interaction.intent() >= 1 && interaction.intent() <= 4 &&
        (!intent_at || at >= *intent_at)) {
      intent_at = at;
      intent = interaction.intent();
    }
  }

  // Tickets opened not after now (unset opened_at: age unknown, counted as 0 days).
  int64_t open_complaints = 0;
  int64_t oldest_open_days = 0;
  int64_t complaints_12m = 0;
  for (const v1::TicketInput& ticket : inputs.tickets()) {
    const bool has_opened = ticket.has_opened_at();
    const absl::Time opened_at = FromProtoTimestamp(ticket.opened_at());
    if (has_opened && opened_at > now) continue;
    if (ticket.satisfaction() >= 1 && ticket.satisfaction() <= 5) {
      satisfaction_sum += ticket.satisfaction();
      ++satisfaction_count;
    }
    if (!ticket.complaint()) continue;
    if (has_opened && opened_at > year_ago) ++complaints_12m;
    const bool resolved =
        ticket.has_resolved_at() && FromProtoTimestamp(ticket.resolved_at()) <= now;
    if (resolved) continue;
    ++open_complaints;
    if (has_opened) oldest_open_days = std::max(oldest_open_days, DaysBetween(opened_at, now));
  }

  const double revenue = static_cast<double>(revenue_minor) / 100.0;
  const double prev_revenue = static_cast<double>(prev_revenue_minor) / 100.0;
  double trend;
  if (prev_revenue_minor == 0) {
    trend = revenue_minor == 0 ? 1.0 : 10.0;
  } else {
    trend = revenue / prev_revenue;
  }

  Metrics metrics;
  metrics[v1::METRIC_REVENUE_12M] = revenue;
  metrics[v1::METRIC_REVENUE_PREV_12M] = prev_revenue;
  metrics[v1::METRIC_REVENUE_TREND] = trend;
  metrics[v1::METRIC_PROFIT_12M] = revenue * MarginFor(rules, inputs.industry());
  metrics[v1::METRIC_TRANSACTIONS_12M] = static_cast<double>(transactions);
  metrics[v1::METRIC_DAYS_SINCE_LAST_TRANSACTION] = static_cast<double>(
      last_transaction ? DaysBetween(*last_transaction, now) : days_since_registration);
  metrics[v1::METRIC_DAYS_SINCE_LAST_INTERACTION] = static_cast<double>(
      last_interaction ? DaysBetween(*last_interaction, now) : days_since_registration);
  metrics[v1::METRIC_INTERACTIONS_90D] = static_cast<double>(interactions_90d);
  metrics[v1::METRIC_AVG_SATISFACTION] =
      satisfaction_count == 0
          ? 0.0
          : static_cast<double>(satisfaction_sum) / static_cast<double>(satisfaction_count);
  metrics[v1::METRIC_COOPERATION_INTENT] = static_cast<double>(intent);
  metrics[v1::METRIC_OPEN_COMPLAINTS] = static_cast<double>(open_complaints);
  metrics[v1::METRIC_OLDEST_OPEN_COMPLAINT_DAYS] = static_cast<double>(oldest_open_days);
  metrics[v1::METRIC_COMPLAINTS_12M] = static_cast<double>(complaints_12m);
  metrics[v1::METRIC_EMPLOYEES] = static_cast<double>(inputs.employees());
  metrics[v1::METRIC_ANNUAL_REVENUE] = static_cast<double>(inputs.annual_revenue_minor()) / 100.0;
  metrics[v1::METRIC_LATE_PAYMENT_SHARE] =
      paid == 0 ? 0.0 : static_cast<double>(late) / static_cast<double>(paid);
  metrics[v1::METRIC_AVG_DAYS_TO_PAY] =
      paid == 0 ? 0.0 : static_cast<double>(days_to_pay_sum) / static_cast<double>(paid);
  metrics[v1::METRIC_UNPAID_OVERDUE] = static_cast<double>(unpaid_overdue);
  metrics[v1::METRIC_CUSTOMER_AGE_DAYS] = static_cast<double>(days_since_registration);
  metrics[v1::METRIC_LIFECYCLE] = static_cast<double>(inputs.lifecycle());
  metrics[v1::METRIC_OPEN_PIPELINE_AMOUNT] = static_cast<double>(open_pipeline_minor) / 100.0;
  metrics[v1::METRIC_WEIGHTED_PIPELINE_AMOUNT] =
      static_cast<double>(weighted_pipeline_minor) / 100.0;
  metrics[v1::METRIC_WINS_12M] = static_cast<double>(wins_12m);
  metrics[v1::METRIC_WON_AMOUNT_12M] = static_cast<double>(won_12m_minor) / 100.0;
  metrics[v1::METRIC_PAYMENT_HISTORY] = static_cast<double>(payment_history);
  return metrics;
}

// ---- Conditions ----

bool Holds(const v1::Condition& condition, const Metrics& metrics, const std::string& industry) {
  if (condition.industry_in_size() > 0) {
    return std::find(condition.industry_in().begin(), condition.industry_in().end(), industry) !=
           condition.industry_in().end();
  }
  auto it = metrics.find(condition.metric());
  if (it == metrics.end()) return false;
  const double value = it->second;
  const double threshold = condition.value();
  switch (condition.op()) {
    case v1::OP_GE:
      return value >= threshold;
    case v1::OP_GT:
      return value > threshold;
    case v1::OP_LE:
      return value <= threshold;
    case v1::OP_LT:
      return value < threshold;
    case v1::OP_EQ:
      return value == threshold;
    case v1::OP_NE:
      return value != threshold;
    default:
      return false;
  }
}

std::string Describe(const v1::Condition& condition) {
  if (condition.industry_in_size() > 0) {
    return absl::StrCat("industry in {", absl::StrJoin(condition.industry_in(), ", "), "}");
  }
  return absl::StrCat(MetricName(condition.metric()), " ", OpSymbol(condition.op()), " ",
                      FormatNumber(condition.value()));
}

// ---- Validation ----

absl::StatusOr<v1::RuleSet> ValidateRuleSet(const v1::RuleSet& candidate) {
  v1::RuleSet rules = candidate;
  if (rules.currency_code().empty()) rules.set_currency_code(kDefaultCurrency);
  if (!IsCurrencyCode(rules.currency_code())) {
    return InvalidField("currency_code", "not an ISO 4217 code");
  }

  if (rules.schemes_size() == 0) return InvalidField("schemes", "at least one is required");
  std::set<int> seen_schemes;
  for (int s = 0; s < rules.schemes_size(); ++s) {
    const v1::SchemeRules& scheme = rules.schemes(s);
    const std::string path = Indexed("schemes", s);
    const int number = static_cast<int>(scheme.scheme());
    if (number == v1::SCHEME_UNSPECIFIED) return InvalidField(path + ".scheme", "required");
    if (!v1::Scheme_IsValid(number)) {
      return InvalidField(path + ".scheme", absl::StrCat("unknown value ", number));
    }
    if (!seen_schemes.insert(number).second) {
      return InvalidField(path + ".scheme",
                          absl::StrCat("duplicate ", v1::Scheme_Name(scheme.scheme())));
    }
    for (int r = 0; r < scheme.rules_size(); ++r) {
      const v1::ClassRule& rule = scheme.rules(r);
      const std::string rule_path = Indexed(path + ".rules", r);
      if (rule.class_name().empty()) return InvalidField(rule_path + ".class_name", "required");
      absl::Status status = ValidateConditions(rule_path, rule.all_of());
      if (!status.ok()) return status;
    }
    if (scheme.default_class().empty()) return InvalidField(path + ".default_class", "required");
  }

  v1::CreditRules* credit = rules.mutable_credit();
  for (int g = 0; g < credit->grades_size(); ++g) {
    const std::string path = Indexed("credit.grades", g);
    absl::Status status = ValidateGrade(path, credit->grades(g));
    if (status.ok()) status = ValidateConditions(path, credit->grades(g).all_of());
    if (!status.ok()) return status;
  }
  if (credit->grades_size() > 0 || credit->has_default_grade()) {
    absl::Status status = ValidateGrade("credit.default_grade", credit->default_grade());
    if (!status.ok()) return status;
    if (credit->default_grade().all_of_size() > 0) {
      return InvalidField("credit.default_grade.all_of", "must be empty");
    }
  }
  if (credit->payment_grace_days() < 0) {
    return InvalidField("credit.payment_grace_days", "must be >= 0");
  }
  if (credit->payment_grace_days() == 0) credit->set_payment_grace_days(kDefaultGraceDays);

  const v1::ChurnRules& churn = rules.churn();
  std::set<std::string> names;
  for (int c = 0; c < churn.criteria_size(); ++c) {
    const v1::ChurnCriterion& criterion = churn.criteria(c);
    const std::string path = Indexed("churn.criteria", c);
    if (criterion.name().empty()) return InvalidField(path + ".name", "required");
    if (!names.insert(criterion.name()).second) {
      return InvalidField(path + ".name", absl::StrCat("duplicate ", criterion.name()));
    }
    if (!std::isfinite(criterion.weight()) || criterion.weight() <= 0) {
      return InvalidField(path + ".weight", "must be > 0");
    }
    absl::Status status = ValidateConditions(path, criterion.all_of());
    if (!status.ok()) return status;
  }
  if (churn.criteria_size() > 0 || churn.raise_at() != 0) {
    if (!std::isfinite(churn.raise_at()) || churn.raise_at() <= 0) {
      return InvalidField("churn.raise_at", "must be > 0");
    }
  }

  // Margins: report the first bad industry in name order (map order is unspecified).
  std::vector<std::pair<std::string, double>> margins(rules.industry_margins().begin(),
                                                      rules.industry_margins().end());
  std::sort(margins.begin(), margins.end());
  for (const auto& [industry, margin] : margins) {
    if (!(margin >= 0 && margin <= 1)) {
      return InvalidField(absl::StrCat("industry_margins[", industry, "]"), "must be 0..1");
    }
  }
  if (rules.default_margin() == 0) rules.set_default_margin(kDefaultMargin);
  if (!(rules.default_margin() > 0 && rules.default_margin() <= 1)) {
    return InvalidField("default_margin", "must be 0..1");
  }
  return rules;
}

// ---- Default rule set ----

v1::RuleSet DefaultRuleSet() {
  using v1::OP_EQ;
  using v1::OP_GE;
  using v1::OP_GT;
  using v1::OP_LE;
  using v1::OP_LT;
  v1::RuleSet rules;
  rules.set_version(0);
  rules.set_description("built-in default rule set");
  rules.set_currency_code(kDefaultCurrency);
  rules.set_default_margin(kDefaultMargin);

  v1::SchemeRules& tier = *rules.add_schemes();
  tier.set_scheme(v1::SCHEME_TIER);
  AddRule(tier, "key",
          {Cond(v1::METRIC_REVENUE_12M, OP_GE, 5'000'000),
           Cond(v1::METRIC_COOPERATION_INTENT, OP_GE, 3)},
          "revenue of at least 5,000,000 in 12 months and at least moderate cooperation intent");
  AddRule(tier, "important", {Cond(v1::METRIC_REVENUE_12M, OP_GE, 1'000'000)},
          "revenue of at least 1,000,000 in 12 months");
  AddRule(tier, "ordinary", {Cond(v1::METRIC_TRANSACTIONS_12M, OP_GE, 1)},
          "at least one transaction in 12 months");
  tier.set_default_class("potential");

  v1::SchemeRules& abcd = *rules.add_schemes();
  abcd.set_scheme(v1::SCHEME_ABCD);
  AddRule(abcd, "A", {Cond(v1::METRIC_REVENUE_12M, OP_GE, 2'000'000)},
          "revenue of at least 2,000,000 in 12 months");
  AddRule(abcd, "A",
          {Cond(v1::METRIC_COOPERATION_INTENT, OP_GE, 4), Cond(v1::METRIC_EMPLOYEES, OP_GE, 1000)},
          "strong cooperation intent and at least 1000 employees");
  AddRule(abcd, "B", {Cond(v1::METRIC_REVENUE_12M, OP_GE, 500'000)},
          "revenue of at least 500,000 in 12 months");
  AddRule(abcd, "B", {Cond(v1::METRIC_COOPERATION_INTENT, OP_GE, 3)},
          "at least moderate cooperation intent");
  AddRule(abcd, "C", {Cond(v1::METRIC_TRANSACTIONS_12M, OP_GE, 1)},
          "at least one transaction in 12 months");
  abcd.set_default_class("D");

  v1::SchemeRules& value = *rules.add_schemes();
  value.set_scheme(v1::SCHEME_VALUE);
  AddRule(value, "A", {Cond(v1::METRIC_PROFIT_12M, OP_GE, 1'000'000)},
          "profit contribution of at least 1,000,000 in 12 months");
  AddRule(value, "B", {Cond(v1::METRIC_PROFIT_12M, OP_GE, 200'000)},
          "profit contribution of at least 200,000 in 12 months");
  value.set_default_class("C");

  v1::SchemeRules& large = *rules.add_schemes();
  large.set_scheme(v1::SCHEME_LARGE_ACCOUNT);
  AddRule(large, "strategic", {Cond(v1::METRIC_REVENUE_12M, OP_GE, 10'000'000)},
          "revenue of at least 10,000,000 in 12 months");
  AddRule(large, "focus", {Cond(v1::METRIC_REVENUE_12M, OP_GE, 3'000'000)},
          "revenue of at least 3,000,000 in 12 months");
  large.set_default_class("ordinary");

  v1::CreditRules& credit = *rules.mutable_credit();
  FillGrade(
      *credit.add_grades(), "AAA",
      {Cond(v1::METRIC_UNPAID_OVERDUE, OP_EQ, 0), Cond(v1::METRIC_LATE_PAYMENT_SHARE, OP_LE, 0.05),
       Cond(v1::METRIC_REVENUE_12M, OP_GE, 1'000'000)},
      100'000'000, 90,
      "no unpaid overdue transaction, at most 5% paid late and revenue of at least "
      "1,000,000 in 12 months");
  FillGrade(*credit.add_grades(), "AA", {Cond(v1::METRIC_LATE_PAYMENT_SHARE, OP_LE, 0.2)},
            30'000'000, 60, "at most 20% paid late");
  FillGrade(*credit.add_grades(), "A", {Cond(v1::METRIC_UNPAID_OVERDUE, OP_LE, 2)}, 10'000'000, 30,
            "at most 2 unpaid overdue transactions");
  FillGrade(*credit.mutable_default_grade(), "C", {}, 0, 0, "");
  credit.set_payment_grace_days(kDefaultGraceDays);

  v1::ChurnRules& churn = *rules.mutable_churn();
  AddCriterion(churn, "no interaction for 90 days",
               {Cond(v1::METRIC_DAYS_SINCE_LAST_INTERACTION, OP_GE, 90)}, 2);
  AddCriterion(
      churn, "falling transactions",
      {Cond(v1::METRIC_REVENUE_PREV_12M, OP_GT, 0), Cond(v1::METRIC_REVENUE_TREND, OP_LT, 0.5)}, 2);
  AddCriterion(churn, "unresolved complaint",
               {Cond(v1::METRIC_OLDEST_OPEN_COMPLAINT_DAYS, OP_GE, 14)}, 2);
  AddCriterion(
      churn, "low satisfaction",
      {Cond(v1::METRIC_AVG_SATISFACTION, OP_GT, 0), Cond(v1::METRIC_AVG_SATISFACTION, OP_LT, 3)},
      1);
  churn.set_raise_at(3);
  return rules;
}

// ---- Evaluation ----

v1::Classification Evaluate(const v1::CustomerInputs& inputs, const v1::RuleSet& rules,
                            absl::Time now) {
  const Metrics metrics = ComputeMetrics(inputs, rules, now);
  const std::string& industry = inputs.industry();

  v1::Classification out;
  out.set_customer_id(inputs.customer_id());
  out.set_owner(inputs.owner());
  out.set_region(inputs.region());
  out.set_industry(inputs.industry());
  *out.mutable_evaluated_at() = ToProtoTimestamp(now);

  for (const v1::SchemeRules& scheme : rules.schemes()) {
    v1::SchemeResult* result = out.add_schemes();
    result->set_scheme(scheme.scheme());
    result->set_class_name(scheme.default_class());
    result->set_rule_index(-1);
    result->set_rule(kDefaultRule);
    std::set<v1::Metric> used;
    for (int r = 0; r < scheme.rules_size(); ++r) {
      const v1::ClassRule& rule = scheme.rules(r);
      CollectMetrics(rule.all_of(), used);
      if (result->rule_index() >= 0 || !AllHold(rule.all_of(), metrics, industry)) continue;
      result->set_class_name(rule.class_name());
      result->set_rule_index(r);
      result->set_rule(rule.description().empty() ? DescribeAll(rule.all_of())
                                                  : rule.description());
    }
    AddInputs(used, metrics, result->mutable_inputs());
    result->set_rule_set_version(rules.version());
  }

  {
    const v1::CreditRules& credit_rules = rules.credit();
    v1::CreditResult* credit = out.mutable_credit();
    const v1::CreditGrade* decided = &credit_rules.default_grade();
    int grade_index = -1;
    std::set<v1::Metric> used;
    for (int g = 0; g < credit_rules.grades_size(); ++g) {
      const v1::CreditGrade& grade = credit_rules.grades(g);
      CollectMetrics(grade.all_of(), used);
      if (grade_index >= 0 || !AllHold(grade.all_of(), metrics, industry)) continue;
      decided = &grade;
      grade_index = g;
    }
    // Rated from payment history: without any, unrated unless the rule set says
    // otherwise (only when it has credit rules at all).
    const bool has_credit_rules =
        credit_rules.grades_size() > 0 || credit_rules.has_default_grade();
    const bool unrated = has_credit_rules && !credit_rules.rate_without_payment_history() &&
                         metrics.at(v1::METRIC_PAYMENT_HISTORY) == 0;
    if (unrated) {
      used.insert(v1::METRIC_PAYMENT_HISTORY);
      credit->set_grade_index(-1);
      credit->set_rule(kUnratedRule);
    } else {
      credit->set_rating(decided->rating());
      credit->set_credit_limit_minor(decided->credit_limit_minor());
      credit->set_currency_code(CurrencyOf(rules));
      credit->set_payment_terms_days(decided->payment_terms_days());
      credit->set_grade_index(grade_index);
      if (grade_index < 0) {
        credit->set_rule(kDefaultRule);
      } else {
        credit->set_rule(decided->description().empty() ? DescribeAll(decided->all_of())
                                                        : decided->description());
      }
    }
    AddInputs(used, metrics, credit->mutable_inputs());
    credit->set_rule_set_version(rules.version());
  }

  {
    const v1::ChurnRules& churn_rules = rules.churn();
    v1::ChurnResult* churn = out.mutable_churn();
    double score = 0;
    std::set<v1::Metric> used;
    for (const v1::ChurnCriterion& criterion : churn_rules.criteria()) {
      CollectMetrics(criterion.all_of(), used);
      if (!AllHold(criterion.all_of(), metrics, industry)) continue;
      score += criterion.weight();
      churn->add_criteria_met(criterion.name());
    }
    churn->set_score(score);
    churn->set_at_risk(churn_rules.raise_at() > 0 && score >= churn_rules.raise_at());
    churn->set_raise_at(churn_rules.raise_at());
    AddInputs(used, metrics, churn->mutable_inputs());
    churn->set_rule_set_version(rules.version());
  }
  return out;
}

// ---- Events ----

std::vector<v1::ClassificationEvent> Diff(const v1::Classification& current,
                                          const v1::Classification& next) {
  std::vector<v1::ClassificationEvent> events;
  const std::string& customer_id =
      next.customer_id().empty() ? current.customer_id() : next.customer_id();

  for (const v1::SchemeResult& result : next.schemes()) {
    const v1::SchemeResult* before = FindScheme(current, result.scheme());
    const std::string old_class = before == nullptr ? "" : before->class_name();
    if (before != nullptr && old_class == result.class_name()) continue;
    v1::ClassificationEvent& event = events.emplace_back();
    event.set_customer_id(customer_id);
    v1::CustomerClassified* classified = event.mutable_classified();
    classified->set_scheme(result.scheme());
    classified->set_old_class(old_class);
    classified->set_new_class(result.class_name());
    classified->set_reason(result.rule());
    classified->set_rule_set_version(result.rule_set_version());
    *classified->mutable_inputs() = result.inputs();
    classified->set_rule_index(result.rule_index());
  }

  const v1::CreditResult& old_credit = current.credit();
  const v1::CreditResult& new_credit = next.credit();
  if (old_credit.rating() != new_credit.rating() ||
      old_credit.credit_limit_minor() != new_credit.credit_limit_minor() ||
      old_credit.currency_code() != new_credit.currency_code() ||
      old_credit.payment_terms_days() != new_credit.payment_terms_days()) {
    // A never-rated customer that is still unrated (no credit rules, or no payment
    // history) stays silent.
    const bool nothing = new_credit.rating().empty() && new_credit.credit_limit_minor() == 0 &&
                         new_credit.payment_terms_days() == 0 && old_credit.rating().empty() &&
                         old_credit.credit_limit_minor() == 0 &&
                         old_credit.payment_terms_days() == 0;
    if (!nothing) {
      v1::ClassificationEvent& event = events.emplace_back();
      event.set_customer_id(customer_id);
      v1::CreditRated* rated = event.mutable_credit_rated();
      rated->set_old_rating(old_credit.rating());
      rated->set_rating(new_credit.rating());
      rated->set_credit_limit_minor(new_credit.credit_limit_minor());
      rated->set_currency_code(new_credit.currency_code());
      rated->set_payment_terms_days(new_credit.payment_terms_days());
      rated->set_reason(new_credit.rule());
      rated->set_rule_set_version(new_credit.rule_set_version());
      *rated->mutable_inputs() = new_credit.inputs();
      rated->set_grade_index(new_credit.grade_index());
    }
  }

  const v1::ChurnResult& old_churn = current.churn();
  const v1::ChurnResult& new_churn = next.churn();
  if (old_churn.at_risk() != new_churn.at_risk()) {
    v1::ClassificationEvent& event = events.emplace_back();
    event.set_customer_id(customer_id);
    if (new_churn.at_risk()) {
      v1::ChurnRiskRaised* raised = event.mutable_churn_risk_raised();
      raised->set_score(new_churn.score());
      *raised->mutable_criteria() = new_churn.criteria_met();
      raised->set_reason(
          absl::StrCat("criteria met: ", absl::StrJoin(new_churn.criteria_met(), ", "), " (score ",
                       FormatNumber(new_churn.score()), " >= ", FormatNumber(new_churn.raise_at()), ")"));
      raised->set_rule_set_version(new_churn.rule_set_version());
      *raised->mutable_inputs() = new_churn.inputs();
      raised->set_owner(next.owner());
      raised->set_region(next.region());
    } else {
      v1::ChurnRiskCleared* cleared = event.mutable_churn_risk_cleared();
      cleared->set_score(new_churn.score());
      cleared->set_reason(
          absl::StrCat("score ", FormatNumber(new_churn.score()), " below ",
                       FormatNumber(new_churn.raise_at())));
      cleared->set_rule_set_version(new_churn.rule_set_version());
    }
  }
  return events;
}

void Apply(v1::Classification& state, const v1::ClassificationEvent& event, uint64_t version,
           absl::Time at) {
  state.set_version(version);
  *state.mutable_evaluated_at() = ToProtoTimestamp(at);
  if (state.customer_id().empty() &&
      event.kind_case() != v1::ClassificationEvent::kRuleSetPublished) {
    state.set_customer_id(event.customer_id());
  }
  switch (event.kind_case()) {
    case v1::ClassificationEvent::kClassified: {
      const v1::CustomerClassified& classified = event.classified();
      v1::SchemeResult* result = nullptr;
      for (v1::SchemeResult& existing : *state.mutable_schemes()) {
        if (existing.scheme() == classified.scheme()) result = &existing;
      }
      if (result == nullptr) result = state.add_schemes();
      result->set_scheme(classified.scheme());
      result->set_class_name(classified.new_class());
      result->set_rule_index(classified.rule_index());
      result->set_rule(classified.reason());
      *result->mutable_inputs() = classified.inputs();
      result->set_rule_set_version(classified.rule_set_version());
      *result->mutable_since() = ToProtoTimestamp(at);
      break;
    }
    case v1::ClassificationEvent::kCreditRated: {
      const v1::CreditRated& rated = event.credit_rated();
      v1::CreditResult* credit = state.mutable_credit();
      credit->set_rating(rated.rating());
      credit->set_credit_limit_minor(rated.credit_limit_minor());
      credit->set_currency_code(rated.currency_code());
      credit->set_payment_terms_days(rated.payment_terms_days());
      credit->set_grade_index(rated.grade_index());
      credit->set_rule(rated.reason());
      *credit->mutable_inputs() = rated.inputs();
      credit->set_rule_set_version(rated.rule_set_version());
      break;
    }
    case v1::ClassificationEvent::kChurnRiskRaised: {
      const v1::ChurnRiskRaised& raised = event.churn_risk_raised();
      v1::ChurnResult* churn = state.mutable_churn();
      churn->set_at_risk(true);
      churn->set_score(raised.score());
      *churn->mutable_criteria_met() = raised.criteria();
      *churn->mutable_inputs() = raised.inputs();
      churn->set_rule_set_version(raised.rule_set_version());
      *churn->mutable_since() = ToProtoTimestamp(at);
      if (!raised.owner().empty()) state.set_owner(raised.owner());
      if (!raised.region().empty()) state.set_region(raised.region());
      break;
    }
    case v1::ClassificationEvent::kChurnRiskCleared: {
      const v1::ChurnRiskCleared& cleared = event.churn_risk_cleared();
      v1::ChurnResult* churn = state.mutable_churn();
      churn->set_at_risk(false);
      churn->set_score(cleared.score());
      churn->clear_criteria_met();
      churn->clear_inputs();
      churn->set_rule_set_version(cleared.rule_set_version());
      *churn->mutable_since() = ToProtoTimestamp(at);
      break;
    }
    default:
      break;
  }
}

std::string EventType(const v1::ClassificationEvent& event) {
  switch (event.kind_case()) {
    case v1::ClassificationEvent::kClassified:
      return v1::CustomerClassified::descriptor()->full_name();
    case v1::ClassificationEvent::kCreditRated:
      return v1::CreditRated::descriptor()->full_name();
    case v1::ClassificationEvent::kChurnRiskRaised:
      return v1::ChurnRiskRaised::descriptor()->full_name();
    case v1::ClassificationEvent::kChurnRiskCleared:
      return v1::ChurnRiskCleared::descriptor()->full_name();
    case v1::ClassificationEvent::kRuleSetPublished:
      return v1::RuleSetPublished::descriptor()->full_name();
    default:
      return "";
  }
}

std::string SchemeName(v1::Scheme scheme) {
  return EnumSuffix(v1::Scheme_Name(scheme), "SCHEME_", static_cast<int>(scheme));
}

std::string MetricName(v1::Metric metric) {
  return EnumSuffix(v1::Metric_Name(metric), "METRIC_", static_cast<int>(metric));
}

}  // namespace crm::classification
