#include "classification_command.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "proto_fields.h"

namespace crm::crmctl {
namespace {

namespace pb = google::protobuf;
namespace v1 = crm::classification::v1;
using Service = v1::ClassificationService;
using Stub = Service::StubInterface;
using Env = std::shared_ptr<const ClassificationCommandEnv>;

// ----------------------------------------------------------------- the table

std::string EnumHelp(const pb::EnumDescriptor* type) { return EnumShortNames(*type); }

FieldFlag CustomerFlag() { return {"customer_id", "customer_id", "Customer id"}; }

std::vector<FieldFlag> PageFlags(std::string_view default_size) {
  return {{"page_size", "page_size", "1..500 (server default " + std::string(default_size) + ")"},
          {"page_token", "page_token", "next_page_token of the previous page"}};
}

void PrintGetClassification(const pb::Message& m, std::ostream& out);
void PrintHistory(const pb::Message& m, std::ostream& out);
void PrintGetRuleSet(const pb::Message& m, std::ostream& out);
void PrintPublishRuleSet(const pb::Message& m, std::ostream& out);
void PrintSimulation(const pb::Message& m, std::ostream& out);
void PrintReport(const pb::Message& m, std::ostream& out);
void PrintChurnRisks(const pb::Message& m, std::ostream& out);

std::vector<RpcSpec> Rpcs(const Env& env) {
  return {
      {.command = "get",
       .help = "Show a customer's classes per scheme (with the deciding rule and its inputs), "
               "credit rating and churn risk",
       .flags = {CustomerFlag()},
       .run = Unary(env, &Stub::GetClassification),
       .text = &PrintGetClassification},
      {.command = "history",
       .help = "Every change of a customer's classification with its reason, oldest first "
               "(one page)",
       .flags = Concat({{CustomerFlag()}, PageFlags("100")}),
       .run = Unary(env, &Stub::GetClassificationHistory),
       .text = &PrintHistory},
      {.command = "rule-set",
       .help = "Show the current rule set (GetRuleSet); --output json gives a file "
               "publish-rule-set and simulate take back",
       .run = Unary(env, &Stub::GetRuleSet),
       .text = &PrintGetRuleSet},
      {.command = "publish-rule-set",
       .help = "Make a new rule set current (executive or admin) from --json '{\"rule_set\": "
               "{...}}' (@FILE, - for stdin); every customer is reclassified under it",
       .flags = {{"expected_version", "expected_version",
                  "Fail with ABORTED unless the current rule set is at this version"},
                 {"description", "rule_set.description", "Description of the new rule set"},
                 {"command_id", "command_id",
                  "Idempotency key: a retry by the same caller gets the first answer"}},
       .run = Unary(env, &Stub::PublishRuleSet),
       .text = &PrintPublishRuleSet},
      {.command = "simulate",
       .help = "Report, without changing anything, who would change class under the candidate "
               "rule set in --json '{\"rule_set\": {...}}' (@FILE, - for stdin)",
       .flags = {{"max_customers", "max_customers",
                  "How many changed customers to list, 0..1000 (server default 100)"}},
       .run = Unary(env, &Stub::SimulateRuleSet),
       .text = &PrintSimulation},
      {.command = "report",
       .help = "Composition per class, by industry and region, churn and conversion, "
               "complaints and satisfaction per class (GetReport)",
       .flags = {{"as_of", "as_of",
                  "Classes as of: RFC 3339 time or YYYY-MM-DD (server default now)"},
                 {"from", "from",
                  "Period start for churn, conversion and complaints: RFC 3339 time or "
                  "YYYY-MM-DD (server default 365 days before as_of)"},
                 {"to", "to", "Period end (exclusive; server default as_of)"},
                 {"region", "region", "Only this region (within the caller's scope)"},
                 {"scheme", "scheme",
                  "Scheme of the per-class service rows: " + EnumHelp(v1::Scheme_descriptor()) +
                      " (server default tier)"}},
       .run = Unary(env, &Stub::GetReport),
       .text = &PrintReport},
      {.command = "churn-risks",
       .help = "Customers at churn risk in the caller's scope (one page)",
       .flags = Concat({{{"region", "region", "Only this region"},
                         {"owner", "owner", "Only customers of this owner"}},
                        PageFlags("50")}),
       .run = Unary(env, &Stub::ListChurnRisks),
       .text = &PrintChurnRisks},
  };
}

// ------------------------------------------------------------------ text forms

template <typename Enum>
std::string Short(const pb::EnumDescriptor* type, Enum value) {
  return EnumShortName(*type, static_cast<int>(value));
}

std::string SchemeName(v1::Scheme s) { return Short(v1::Scheme_descriptor(), s); }
std::string MetricName(v1::Metric m) { return Short(v1::Metric_descriptor(), m); }

bool IsSet(const pb::Timestamp& ts) { return ts.seconds() != 0 || ts.nanos() != 0; }

// A double without trailing zeros: 5e+06 is written 5000000.
std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  if (std::string_view(buf).find('e') != std::string_view::npos) {
    std::snprintf(buf, sizeof buf, "%.2f", v);
  }
  return buf;
}

std::string Fixed2(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string Percent(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", rate * 100.0);
  return buf;
}

std::string OpSymbol(v1::Op op) {
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

// "revenue_12m >= 5000000" or "industry in (retail, energy)".
std::string ConditionText(const v1::Condition& c) {
  if (!c.industry_in().empty()) {
    return "industry in (" + absl::StrJoin(c.industry_in(), ", ") + ")";
  }
  return MetricName(c.metric()) + " " + OpSymbol(c.op()) + " " + Num(c.value());
}

std::string ConditionsText(const pb::RepeatedPtrField<v1::Condition>& all_of) {
  if (all_of.empty()) return "always";
  std::vector<std::string> parts;
  for (const v1::Condition& c : all_of) parts.push_back(ConditionText(c));
  return absl::StrJoin(parts, " and ");
}

// "revenue_12m=5200000, days_since_last_transaction=12"
std::string InputsText(const pb::RepeatedPtrField<v1::MetricValue>& inputs) {
  std::vector<std::string> parts;
  for (const v1::MetricValue& v : inputs) parts.push_back(MetricName(v.metric()) + "=" + Num(v.value()));
  return parts.empty() ? "-" : absl::StrJoin(parts, ", ");
}

// "rule set v3"; v0 is the built-in default.
std::string RuleSetVersion(uint64_t version) { return "rule set v" + std::to_string(version); }

void PrintClassification(const v1::Classification& c, std::ostream& out) {
  auto line = [&out](std::string_view key, const std::string& value) {
    PrintKeyValue(out, key, value);
  };
  line("customer_id", c.customer_id());
  line("owner", OrDash(c.owner()));
  line("region", OrDash(c.region()));
  line("industry", OrDash(c.industry()));
  line("version", std::to_string(c.version()));
  line("evaluated_at", FormatTime(c.evaluated_at()));
  for (const v1::SchemeResult& s : c.schemes()) {
    std::string value = OrDash(s.class_name()) + "  (" +
                        (s.rule_index() < 0 ? std::string("default class")
                                            : "rule " + std::to_string(s.rule_index())) +
                        (s.rule().empty() ? "" : ": " + s.rule()) + "; " +
                        RuleSetVersion(s.rule_set_version());
    if (IsSet(s.since())) value += "; since " + FormatTime(s.since());
    line(SchemeName(s.scheme()), value + ")");
    out << "  inputs: " << InputsText(s.inputs()) << "\n";
  }
  if (c.has_credit()) {
    const v1::CreditResult& cr = c.credit();
    line("credit", OrDash(cr.rating()) + "  limit " + FormatMinor(cr.credit_limit_minor()) +
                       (cr.currency_code().empty() ? "" : " " + cr.currency_code()) + ", terms " +
                       std::to_string(cr.payment_terms_days()) + " days  (" +
                       (cr.grade_index() < 0 ? std::string("default grade")
                                             : "grade " + std::to_string(cr.grade_index())) +
                       (cr.rule().empty() ? "" : ": " + cr.rule()) + "; " +
                       RuleSetVersion(cr.rule_set_version()) + ")");
    out << "  inputs: " << InputsText(cr.inputs()) << "\n";
  }
  if (!c.has_churn()) {
    line("churn", "not at risk");
  } else {
    const v1::ChurnResult& ch = c.churn();
    std::string value = std::string(ch.at_risk() ? "AT RISK" : "not at risk") + ", score " +
                        Num(ch.score());
    if (!ch.criteria_met().empty()) {
      value += " (" + absl::StrJoin(ch.criteria_met(), ", ") + ")";
    }
    if (ch.at_risk() && IsSet(ch.since())) value += ", since " + FormatTime(ch.since());
    line("churn", value + "  (" + RuleSetVersion(ch.rule_set_version()) + ")");
    out << "  inputs: " << InputsText(ch.inputs()) << "\n";
  }
}

// metrics:  N, then "  name  value" per metric (money in major units of the
// rule set's currency), in the response's order (by metric number).
void PrintMetrics(const pb::RepeatedPtrField<v1::MetricValue>& metrics, std::ostream& out) {
  PrintKeyValue(out, "metrics",
                metrics.empty()
                    ? std::string("- (no inputs kept)")
                    : std::to_string(metrics.size()) + " (now, under the rule set in force)");
  char buf[128];
  for (const v1::MetricValue& v : metrics) {
    std::snprintf(buf, sizeof buf, "  %-32s %s", MetricName(v.metric()).c_str(),
                  Num(v.value()).c_str());
    out << buf << "\n";
  }
}

void PrintGetClassification(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::GetClassificationResponse&>(m);
  PrintClassification(r.classification(), out);
  PrintMetrics(r.metrics(), out);
}

// What one event says, on one line.
std::string EventText(const v1::ClassificationEvent& e) {
  switch (e.kind_case()) {
    case v1::ClassificationEvent::kClassified: {
      const v1::CustomerClassified& c = e.classified();
      return "classified  " + SchemeName(c.scheme()) + ": " +
             (c.old_class().empty() ? std::string("(none)") : c.old_class()) + " -> " +
             c.new_class() + "  " + RuleSetVersion(c.rule_set_version()) +
             (c.reason().empty() ? "" : "  -- " + c.reason());
    }
    case v1::ClassificationEvent::kCreditRated: {
      const v1::CreditRated& c = e.credit_rated();
      return "credit_rated  " + (c.old_rating().empty() ? std::string("(none)") : c.old_rating()) +
             " -> " + c.rating() + ", limit " + FormatMinor(c.credit_limit_minor()) +
             (c.currency_code().empty() ? "" : " " + c.currency_code()) + ", terms " +
             std::to_string(c.payment_terms_days()) + " days  " +
             RuleSetVersion(c.rule_set_version()) + (c.reason().empty() ? "" : "  -- " + c.reason());
    }
    case v1::ClassificationEvent::kChurnRiskRaised: {
      const v1::ChurnRiskRaised& c = e.churn_risk_raised();
      return "churn_risk_raised  score " + Num(c.score()) +
             (c.criteria().empty() ? "" : " (" + absl::StrJoin(c.criteria(), ", ") + ")") + "  " +
             RuleSetVersion(c.rule_set_version()) + (c.reason().empty() ? "" : "  -- " + c.reason());
    }
    case v1::ClassificationEvent::kChurnRiskCleared: {
      const v1::ChurnRiskCleared& c = e.churn_risk_cleared();
      return "churn_risk_cleared  score " + Num(c.score()) + "  " +
             RuleSetVersion(c.rule_set_version()) + (c.reason().empty() ? "" : "  -- " + c.reason());
    }
    case v1::ClassificationEvent::kRuleSetPublished:
      return "rule_set_published  v" + std::to_string(e.rule_set_published().rule_set().version());
    default:
      return "(unknown event kind)";
  }
}

// version  at  what happened
void PrintHistory(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::GetClassificationHistoryResponse&>(m);
  for (const v1::HistoryEntry& e : r.entries()) {
    out << e.version() << "  " << FormatTime(e.at()) << "  " << EventText(e.event()) << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

void PrintRuleSet(const v1::RuleSet& rs, std::ostream& out) {
  auto line = [&out](std::string_view key, const std::string& value) {
    PrintKeyValue(out, key, value);
  };
  line("version", rs.version() == 0 ? std::string("0 (built-in default)")
                                    : std::to_string(rs.version()));
  if (!rs.description().empty()) line("description", rs.description());
  if (rs.version() != 0) {
    line("published", FormatTime(rs.published_at()) + " by " + OrDash(rs.published_by()));
  }
  line("currency", rs.currency_code().empty() ? std::string("CNY (default)") : rs.currency_code());
  line("default_margin",
       rs.default_margin() == 0 ? std::string("1 (default)") : Num(rs.default_margin()));
  if (!rs.industry_margins().empty()) {
    std::vector<std::pair<std::string, double>> margins(rs.industry_margins().begin(),
                                                        rs.industry_margins().end());
    std::sort(margins.begin(), margins.end());
    std::vector<std::string> parts;
    for (const auto& [industry, margin] : margins) parts.push_back(industry + "=" + Num(margin));
    line("industry_margins", absl::StrJoin(parts, ", "));
  }
  line("schemes", std::to_string(rs.schemes_size()));
  for (const v1::SchemeRules& s : rs.schemes()) {
    out << "  " << SchemeName(s.scheme()) << "  (default class " << OrDash(s.default_class())
        << ")\n";
    for (int i = 0; i < s.rules_size(); ++i) {
      const v1::ClassRule& rule = s.rules(i);
      out << "    " << i << "  " << rule.class_name() << "  if " << ConditionsText(rule.all_of())
          << (rule.description().empty() ? "" : "  -- " + rule.description()) << "\n";
    }
  }
  const v1::CreditRules& credit = rs.credit();
  line("credit", std::to_string(credit.grades_size()) + " grades, payment grace " +
                     std::to_string(credit.payment_grace_days() == 0
                                        ? 30
                                        : credit.payment_grace_days()) +
                     " days");
  const std::string currency = rs.currency_code().empty() ? "CNY" : rs.currency_code();
  auto grade = [&out, &currency](const std::string& label, const v1::CreditGrade& g,
                                 bool with_conditions) {
    out << "    " << label << "  " << OrDash(g.rating()) << "  limit "
        << FormatMinor(g.credit_limit_minor()) << " " << currency << ", terms "
        << g.payment_terms_days() << " days";
    if (with_conditions) out << "  if " << ConditionsText(g.all_of());
    if (!g.description().empty()) out << "  -- " << g.description();
    out << "\n";
  };
  for (int i = 0; i < credit.grades_size(); ++i) grade(std::to_string(i), credit.grades(i), true);
  if (credit.has_default_grade()) grade("default", credit.default_grade(), false);
  const v1::ChurnRules& churn = rs.churn();
  line("churn", std::to_string(churn.criteria_size()) + " criteria, at risk when score >= " +
                    Num(churn.raise_at()));
  for (const v1::ChurnCriterion& c : churn.criteria()) {
    out << "    " << OrDash(c.name()) << "  weight " << Num(c.weight()) << "  if "
        << ConditionsText(c.all_of()) << "\n";
  }
}

void PrintGetRuleSet(const pb::Message& m, std::ostream& out) {
  PrintRuleSet(dynamic_cast<const v1::GetRuleSetResponse&>(m).rule_set(), out);
}

void PrintPublishRuleSet(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::PublishRuleSetResponse&>(m);
  PrintRuleSet(r.rule_set(), out);
  PrintKeyValue(out, "queued", std::to_string(r.customers_queued()) + " customers to reclassify");
}

// A table row: the key column, then right-aligned cells.
void PrintRow(std::ostream& out, const std::string& key, const std::vector<std::string>& cells,
              int key_width = 24) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%-*s", key_width, key.c_str());
  out << buf;
  for (const std::string& cell : cells) {
    std::snprintf(buf, sizeof buf, " %12s", cell.c_str());
    out << buf;
  }
  out << "\n";
}

void PrintSimulation(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::SimulateRuleSetResponse&>(m);
  PrintKeyValue(out, "evaluated", std::to_string(r.customers_evaluated()) + " customers");
  PrintKeyValue(out, "changing", std::to_string(r.customers_changing()) + " customers");
  PrintKeyValue(out, "credit_changes", std::to_string(r.credit_changes()));
  PrintKeyValue(out, "churn_changes", std::to_string(r.churn_risk_changes()));
  if (!r.changes().empty()) {
    out << "changes:\n";
    for (const v1::ClassChangeCount& c : r.changes()) {
      out << "  " << SchemeName(c.scheme()) << "  "
          << (c.from_class().empty() ? std::string("(none)") : c.from_class()) << " -> "
          << c.to_class() << "  " << c.customers() << "\n";
    }
  }
  if (!r.examples().empty()) {
    out << "examples:\n";
    for (const v1::SimulatedChange& c : r.examples()) {
      out << "  " << c.customer_id() << "  " << SchemeName(c.scheme()) << "  "
          << (c.from_class().empty() ? std::string("(none)") : c.from_class()) << " -> "
          << c.to_class() << "\n";
    }
  }
}

void PrintDimension(std::ostream& out, const std::string& title,
                    const pb::RepeatedPtrField<v1::DimensionRow>& rows) {
  out << "\n";
  PrintRow(out, title, {"customers", "revenue", "revenue%"});
  for (const v1::DimensionRow& d : rows) {
    PrintRow(out, OrDash(d.key()),
             {std::to_string(d.customers()), Fixed2(d.revenue()), Percent(d.revenue_share())});
  }
}

void PrintReport(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::GetReportResponse&>(m);
  PrintKeyValue(out, "as_of", FormatTime(r.as_of()));
  PrintKeyValue(out, "period", FormatTime(r.from()) + " .. " + FormatTime(r.to()));
  PrintKeyValue(out, "customers", std::to_string(r.customers()));
  PrintKeyValue(out, "churn", std::to_string(r.churned()) + " of " +
                                  std::to_string(r.cooperating_at_start()) +
                                  " cooperating at the start = " + Percent(r.churn_rate()));
  PrintKeyValue(out, "conversion", std::to_string(r.converted()) + " of " +
                                       std::to_string(r.prospects_at_start()) +
                                       " prospects at the start = " + Percent(r.conversion_rate()));
  out << "\n";
  PrintRow(out, "scheme/class",
           {"customers", "customers%", "revenue", "revenue%", "profit", "profit%"});
  for (const v1::CompositionRow& c : r.composition()) {
    PrintRow(out, SchemeName(c.scheme()) + "/" + OrDash(c.class_name()),
             {std::to_string(c.customers()), Percent(c.customer_share()), Fixed2(c.revenue()),
              Percent(c.revenue_share()), Fixed2(c.profit()), Percent(c.profit_share())});
  }
  PrintDimension(out, "industry", r.by_industry());
  PrintDimension(out, "region", r.by_region());
  out << "\n";
  PrintRow(out, "class", {"complaints", "resolved", "open", "avg_sat", "answers"});
  for (const v1::ClassServiceRow& c : r.per_class()) {
    PrintRow(out, OrDash(c.class_name()),
             {std::to_string(c.complaints()), std::to_string(c.complaints_resolved()),
              std::to_string(c.open_complaints()),
              c.satisfaction_answers() == 0 ? "-" : Fixed2(c.average_satisfaction()),
              std::to_string(c.satisfaction_answers())});
  }
}

// customer_id  region  owner  score  criteria  since
void PrintChurnRisks(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::ListChurnRisksResponse&>(m);
  for (const v1::Classification& c : r.customers()) {
    const v1::ChurnResult& ch = c.churn();
    out << c.customer_id() << "  " << OrDash(c.region()) << "  " << OrDash(c.owner())
        << "  score " << Num(ch.score()) << "  "
        << (ch.criteria_met().empty() ? std::string("-") : absl::StrJoin(ch.criteria_met(), ", "))
        << "  since " << FormatTime(ch.since()) << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

}  // namespace

void AddClassificationCommands(CLI::App& app, Env env) {
  if (env == nullptr) env = std::make_shared<ClassificationCommandEnv>();
  AddRpcGroup(app,
              {.name = "classification",
               .help = "Call crm.classification.v1.ClassificationService (one subcommand per RPC)",
               .entity = "rule set",
               .addr_env = "CRM_CLASSIFICATION_ADDR",
               .default_addr = "127.0.0.1:50054",
               .enum_examples = "tier, abcd, value, large_account"},
              Rpcs(env), env->out, env->err);
}

}  // namespace crm::crmctl
