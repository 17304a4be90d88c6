#include "churn_command.h"

#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_join.h"
#include "proto_fields.h"

namespace crm::crmctl {
namespace {

namespace pb = google::protobuf;
namespace v1 = crm::interaction::v1;
namespace cv1 = crm::classification::v1;
using Service = v1::ChurnService;
using Stub = Service::StubInterface;
using Env = std::shared_ptr<const ChurnCommandEnv>;

// ----------------------------------------------------------------- the table

// --id: an existing churn case (cases are opened by crm-interaction, not by an RPC).
FieldFlag IdFlag() { return {"id", "case_id", "Churn case id"}; }
FieldFlag NoteFlag(const std::string& what) {
  return {"note", "note", what + " (optional, up to 2000 characters)"};
}
FieldFlag AsOfFlag(const std::string& what) {
  return {"as_of", "as_of", what + ": RFC 3339 time (2026-12-01T00:00:00Z) or YYYY-MM-DD"};
}

void PrintCase(const pb::Message& m, std::ostream& out);
void PrintHistory(const pb::Message& m, std::ostream& out);
void PrintCaseList(const pb::Message& m, std::ostream& out);
void PrintReport(const pb::Message& m, std::ostream& out);

std::vector<RpcSpec> Rpcs(const Env& env) {
  return {
      {.command = "measure",
       .help = "Record a retention measure on an open case (what was done, when, by whom)",
       .write = true,
       .flags = {IdFlag(),
                 {"action", "measure.action", "What was done, 1..2000 characters (required)"},
                 {"taken_on", "measure.taken_on", "The day it was done YYYY-MM-DD (default today)"},
                 {"taken_by", "measure.taken_by", "Who did it (default: the caller)"},
                 {"interaction_id", "measure.interaction_id",
                  "The visit or follow-up of the case's customer that carried it out"}},
       .run = Unary(env, &Stub::RecordRetentionMeasure)},
      {.command = "postpone",
       .help = "Postpone the loss to a review date (the case is overdue after it while open)",
       .write = true,
       .flags = {IdFlag(),
                 {"review_date", "review_date", "YYYY-MM-DD, after today (required)"},
                 NoteFlag("Why")},
       .run = Unary(env, &Stub::PostponeChurn)},
      {.command = "retain",
       .help = "Close an open case: the customer stayed",
       .write = true,
       .flags = {IdFlag(), NoteFlag("Closing note")},
       .run = Unary(env, &Stub::RetainChurnCase)},
      {.command = "confirm",
       .help = "Close an open case: the loss is confirmed with its reason (crm-customer then "
               "makes the customer churned with it)",
       .write = true,
       .flags = {IdFlag(),
                 {"reason", "reason", EnumHelp<v1::ChurnLossReason>() + " (required)"},
                 {"reason_text", "reason_text", "Free text (required for other)"},
                 NoteFlag("Closing note")},
       .run = Unary(env, &Stub::ConfirmChurn)},
      {.command = "get",
       .help = "Show one case (warnings, measures, review date, outcome), as it is or as it "
               "was at --as_of",
       .flags = {IdFlag(), AsOfFlag("The case as it was at")},
       .run = Unary(env, &Stub::GetChurnCase),
       .text = &PrintCase},
      {.command = "history",
       .help = "Every change of one case with actor and time, oldest first (one page)",
       .flags = Concat({{IdFlag()}, PageFlags("100", "1000")}),
       .run = Unary(env, &Stub::GetChurnCaseHistory),
       .text = &PrintHistory},
      {.command = "list",
       .help = "The cases the caller may see, newest first (one page)",
       .flags = Concat({{{"customer_id", "customer_id", "Customer id"},
                         {"owner", "owner", "Owner of the case (its customer's owner; follows reassignments of open cases)"},
                         {"region", "region", "Region"},
                         {"status", "status", EnumHelp<v1::ChurnCaseStatus>() + " (default any)"},
                         {"overdue_only", "overdue_only", "Only open cases past their review date",
                          FlagKind::kSwitch}},
                        PageFlags("50", "1000")}),
       .run = Unary(env, &Stub::ListChurnCases),
       .text = &PrintCaseList},
      {.command = "report",
       .help = "Churn analysis: cases opened, retained and lost in a period, by reason, class "
               "at the time of the warning, owner and region, and the retention rate; now or "
               "as of --as_of",
       .flags = {AsOfFlag("Report as of (server default now)"),
                 {"period_from", "period_from",
                  "First day of the period YYYY-MM-DD (default: the month of as_of)"},
                 {"period_to", "period_to", "Last day of the period YYYY-MM-DD (inclusive)"},
                 {"owner", "owner", "Only this owner"},
                 {"region", "region", "Only this region"},
                 {"scheme", "scheme",
                  "Scheme of the by-class table: " + EnumHelp<cv1::Scheme>() +
                      " (server default abcd)"}},
       .run = Unary(env, &Stub::GetChurnReport),
       .text = &PrintReport},
  };
}

// ------------------------------------------------------------------ text forms

std::string Number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// The case is open and its review date has passed (crm-interaction reports it
// once: "reported").
bool Overdue(const v1::ChurnCase& c, const std::string& today) {
  return c.status() == v1::CHURN_CASE_STATUS_OPEN && !c.review_date().empty() &&
         c.review_date() < today;
}

std::string StatusText(const v1::ChurnCase& c) {
  std::string status = EnumText(c.status());
  if (c.status() == v1::CHURN_CASE_STATUS_RETAINED && c.retained_by_risk_cleared()) {
    status += " (risk cleared)";
  }
  return status;
}

std::string ClassesText(const pb::RepeatedPtrField<v1::SchemeClass>& classes) {
  std::vector<std::string> parts;
  for (const v1::SchemeClass& c : classes) {
    parts.push_back(EnumText(c.scheme()) + " " + OrDash(c.class_name()));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, ", ");
}

// raised_at  score S  criteria a, b  rule set vN  -- reason
std::string WarningText(const v1::ChurnWarning& w) {
  std::string text = FormatTime(w.raised_at()) + "  score " + Number(w.score());
  if (!w.criteria().empty()) text += "  criteria " + absl::StrJoin(w.criteria(), ", ");
  text += "  rule set v" + std::to_string(w.rule_set_version());
  if (!w.reason().empty()) text += "  -- " + w.reason();
  return text;
}

void PrintCase(const pb::Message& m, std::ostream& out) {
  const v1::ChurnCase& c = dynamic_cast<const v1::GetChurnCaseResponse&>(m).churn_case();
  auto line = [&out](std::string_view key, const std::string& value) {
    PrintKeyValue(out, key, value);
  };
  line("case_id", c.case_id());
  line("customer_id", c.customer_id());
  line("version", std::to_string(c.version()));
  line("status", StatusText(c));
  line("owner", OrDash(c.owner()));
  line("region", OrDash(c.region()));
  line("opened", FormatTime(c.opened_at()));
  line("classes", ClassesText(c.classes()));
  line("warnings", std::to_string(c.warning_count()) +
                       (c.warning_count() > c.warnings_size()
                            ? " (the newest " + std::to_string(c.warnings_size()) + " shown)"
                            : ""));
  for (const v1::ChurnWarning& w : c.warnings()) out << "  " << WarningText(w) << "\n";
  if (!c.review_date().empty()) {
    std::string review = c.review_date();
    if (Overdue(c, Today())) review += " OVERDUE";
    if (c.review_overdue_reported()) review += " (reported)";
    if (!c.review_note().empty()) review += "  -- " + c.review_note();
    line("review_date", review);
  }
  // The measures: id  taken_on  taken_by  action  (interaction id)  recorded at by who.
  line("measures", std::to_string(c.measures_size()));
  for (const v1::RetentionMeasure& r : c.measures()) {
    out << "  " << r.measure_id() << "  " << OrDash(r.taken_on()) << "  " << OrDash(r.taken_by())
        << "  " << r.action();
    if (!r.interaction_id().empty()) out << "  (interaction " << r.interaction_id() << ")";
    out << "  recorded " << FormatTime(r.recorded_at()) << " by " << OrDash(r.recorded_by())
        << "\n";
  }
  if (c.status() != v1::CHURN_CASE_STATUS_OPEN) {
    line("closed", FormatTime(c.closed_at()) + " by " + OrDash(c.closed_by()));
  }
  if (c.status() == v1::CHURN_CASE_STATUS_LOST) {
    line("loss_reason", EnumText(c.loss_reason()) +
                            (c.loss_reason_text().empty() ? "" : " -- " + c.loss_reason_text()));
  }
  if (!c.closing_note().empty()) line("closing_note", c.closing_note());
  if (c.has_win_back()) {
    const v1::WinBack& w = c.win_back();
    line("won_back",
         EnumText(w.lifecycle()) + "  " + FormatTime(w.at()) + " by " + OrDash(w.actor()));
  }
  line("updated_at", FormatTime(c.updated_at()));
}

// What a churn event changed, after its type on a history line.
std::string EventDetail(const v1::InteractionEvent& e) {
  switch (e.kind_case()) {
    case v1::InteractionEvent::kChurnCaseOpened: {
      const v1::ChurnCaseOpened& o = e.churn_case_opened();
      return "owner " + OrDash(o.owner()) + ", region " + OrDash(o.region()) + ", score " +
             Number(o.warning().score());
    }
    case v1::InteractionEvent::kChurnWarningAdded:
      return "score " + Number(e.churn_warning_added().warning().score());
    case v1::InteractionEvent::kRetentionMeasureRecorded: {
      const v1::RetentionMeasure& r = e.retention_measure_recorded().measure();
      return "measure " + r.measure_id() + " on " + OrDash(r.taken_on()) + ": " + r.action();
    }
    case v1::InteractionEvent::kChurnReviewScheduled: {
      const v1::ChurnReviewScheduled& r = e.churn_review_scheduled();
      return "review " + r.review_date() + (r.note().empty() ? "" : " -- " + r.note());
    }
    case v1::InteractionEvent::kChurnCaseReviewOverdue:
      return "review " + e.churn_case_review_overdue().review_date() + " passed";
    case v1::InteractionEvent::kChurnCaseRetained: {
      const v1::ChurnCaseRetained& r = e.churn_case_retained();
      if (r.risk_cleared()) return "risk cleared, score " + Number(r.score());
      return r.note().empty() ? "" : "-- " + r.note();
    }
    case v1::InteractionEvent::kChurnLossConfirmed: {
      const v1::ChurnLossConfirmed& l = e.churn_loss_confirmed();
      return EnumText(l.reason()) + (l.reason_text().empty() ? "" : " -- " + l.reason_text());
    }
    case v1::InteractionEvent::kChurnCaseWonBack:
      return EnumText(e.churn_case_won_back().win_back().lifecycle());
    case v1::InteractionEvent::kChurnCaseReassigned: {
      const v1::ChurnCaseReassigned& r = e.churn_case_reassigned();
      return r.from_owner() + " -> " + r.to_owner() + ", " + r.from_region() + " -> " +
             r.to_region();
    }
    default:
      return "";
  }
}

// version  occurred_at  actor  event_type  (what it changed)
void PrintHistory(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::GetChurnCaseHistoryResponse&>(m);
  for (const v1::EventHistoryEntry& e : r.entries()) {
    PrintHistoryEntryStart(e, out);
    if (std::string detail = EventDetail(e.event()); !detail.empty()) out << "  (" << detail << ")";
    out << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

// case_id  status  customer_id  owner  region  opened <time>  review <date> [OVERDUE]  N warnings
void PrintCaseList(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::ListChurnCasesResponse&>(m);
  const std::string today = Today();
  for (const v1::ChurnCase& c : r.cases()) {
    out << c.case_id() << "  " << StatusText(c) << "  " << c.customer_id() << "  "
        << OrDash(c.owner()) << "  " << OrDash(c.region()) << "  opened "
        << FormatTime(c.opened_at()) << "  review " << OrDash(c.review_date())
        << (Overdue(c, today) ? " OVERDUE" : "") << "  " << c.warning_count()
        << (c.warning_count() == 1 ? " warning" : " warnings") << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

void PrintGroupRow(std::ostream& out, const std::string& key, const v1::ChurnGroup& g) {
  PrintRow(out, key,
           {std::to_string(g.opened()), std::to_string(g.retained()), std::to_string(g.lost()),
            Fixed2(g.retention_rate_percent()) + "%"});
}

void PrintGroups(std::ostream& out, const std::string& title,
                 const pb::RepeatedPtrField<v1::ChurnGroup>& groups, const std::string& none) {
  out << "\n";
  PrintRow(out, title, {"opened", "retained", "lost", "retention"});
  if (groups.empty()) out << "(" << none << ")\n";
  for (const v1::ChurnGroup& g : groups) PrintGroupRow(out, OrDash(g.key()), g);
}

void PrintReport(const pb::Message& m, std::ostream& out) {
  const v1::ChurnReport& r = dynamic_cast<const v1::GetChurnReportResponse&>(m).report();
  const v1::ChurnGroup& t = r.total();
  PrintKeyValue(out, "as_of", FormatTime(r.as_of()));
  PrintKeyValue(out, "period", OrDash(r.period_from()) + " .. " + OrDash(r.period_to()));
  PrintKeyValue(out, "opened", std::to_string(t.opened()) + " cases in the period");
  PrintKeyValue(out, "closed",
                std::to_string(t.retained()) + " retained, " + std::to_string(t.lost()) +
                    " lost in the period");
  PrintKeyValue(out, "retention_rate", Fixed2(t.retention_rate_percent()) + "%");
  PrintKeyValue(out, "open_now",
                std::to_string(r.open_now()) + " (" + std::to_string(r.overdue_now()) +
                    " past their review date)");
  PrintKeyValue(out, "won_back", std::to_string(r.won_back()) + " of the lost");
  PrintGroups(out, "lost_reason", r.by_reason(), "none lost in the period");
  PrintGroups(out, "class", r.by_class(), "no cases");
  PrintGroups(out, "owner", r.by_owner(), "no cases");
  PrintGroups(out, "region", r.by_region(), "no cases");
}

}  // namespace

void AddChurnCommands(CLI::App& app, Env env) {
  if (env == nullptr) env = std::make_shared<ChurnCommandEnv>();
  AddRpcGroup(app,
              {.name = "churn",
               .help = "Call crm.interaction.v1.ChurnService (churn cases opened by churn "
                       "warnings: retention measures, postpone, retain, confirm the loss, the "
                       "churn report; one subcommand per RPC)",
               .entity = "churn case",
               .addr_env = "CRM_INTERACTION_ADDR",
               .default_addr = "127.0.0.1:50052",
               .enum_examples = "competitor, service-quality, open, abcd"},
              Rpcs(env), env->out, env->err);
}

}  // namespace crm::crmctl
