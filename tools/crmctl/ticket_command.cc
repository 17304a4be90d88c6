#include "ticket_command.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto_fields.h"

namespace crm::crmctl {
namespace {

namespace pb = google::protobuf;
namespace v1 = crm::ticket::v1;
using Service = v1::TicketService;
using Stub = Service::StubInterface;
using Env = std::shared_ptr<const TicketCommandEnv>;

// ----------------------------------------------------------------- the table

std::string EnumHelp(const pb::EnumDescriptor* type) { return EnumShortNames(*type); }

// --id: an existing ticket; --customer_id: the customer a new one is for.
FieldFlag IdFlag() { return {"id", "ticket_id", "Ticket id"}; }
FieldFlag CustomerFlag() { return {"customer_id", "customer_id", "Customer id"}; }
FieldFlag ReasonFlag(std::string help) { return {"reason", "reason", std::move(help)}; }

std::vector<FieldFlag> PageFlags(std::string_view default_size) {
  return {{"page_size", "page_size", "1..500 (server default " + std::string(default_size) + ")"},
          {"page_token", "page_token", "next_page_token of the previous page"}};
}

// `kpis` covers the last 30 days unless --from / --to (or --json) say otherwise.
std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", t, absl::UTCTimeZone());
}

void PrintOpened(const pb::Message& m, std::ostream& out);
void PrintWrite(const pb::Message& m, std::ostream& out);
void PrintTicket(const pb::Message& m, std::ostream& out);
void PrintTicketList(const pb::Message& m, std::ostream& out);
void PrintKpis(const pb::Message& m, std::ostream& out);
void PrintGetSlaConfig(const pb::Message& m, std::ostream& out);
void PrintSetSlaConfig(const pb::Message& m, std::ostream& out);

std::vector<RpcSpec> Rpcs(const Env& env) {
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 1);
  return {
      {.command = "open",
       .help = "Open a ticket (service request or complaint); prints the promised handling time",
       .write = true,
       .create = true,
       .flags = {CustomerFlag(),
                 {"type", "type", EnumHelp(v1::TicketType_descriptor())},
                 {"channel", "channel", EnumHelp(v1::TicketChannel_descriptor())},
                 {"priority", "priority",
                  EnumHelp(v1::Priority_descriptor()) + " (server default normal)"},
                 {"subject", "subject", "Subject, 1..200 characters"},
                 {"description", "description", "Description, up to 10000 characters"}},
       .run = Unary(env, &Stub::OpenTicket),
       .text = &PrintOpened},
      {.command = "assign",
       .help = "Assign (or reassign) the ticket to a specialist",
       .write = true,
       .flags = {IdFlag(),
                 {"assignee", "assignee", "The specialist's subject (required)"},
                 {"team", "team", "Team"},
                 {"note", "note", "Note"}},
       .run = Unary(env, &Stub::AssignTicket),
       .text = &PrintWrite},
      {.command = "investigate",
       .help = "The assignee starts investigating (StartInvestigation)",
       .write = true,
       .flags = {IdFlag()},
       .run = Unary(env, &Stub::StartInvestigation),
       .text = &PrintWrite},
      {.command = "findings",
       .help = "Record investigation findings (RecordFindings)",
       .write = true,
       .flags = {IdFlag(),
                 {"details", "findings.details", "What was found (required)"},
                 {"evidence", "findings.evidence_refs",
                  "Evidence references (document ids, URLs), comma-separated or repeated",
                  FlagKind::kList},
                 {"cause", "findings.cause", "Cause"},
                 {"responsibility", "findings.responsibility",
                  "Who is responsible (a department, a supplier, the customer ...)"}},
       .run = Unary(env, &Stub::RecordFindings),
       .text = &PrintWrite},
      {.command = "propose",
       .help = "Propose a resolution to the customer (ProposeResolution)",
       .write = true,
       .flags = {IdFlag(), {"resolution", "resolution", "The proposed resolution (required)"}},
       .run = Unary(env, &Stub::ProposeResolution),
       .text = &PrintWrite},
      {.command = "answer",
       .help = "Record whether the customer agreed to the proposed resolution (AnswerResolution)",
       .write = true,
       .flags = {IdFlag(),
                 {"agreed", "agreed", "true: the customer agreed; false (the default): declined"},
                 {"comment", "comment", "The customer's comment"}},
       .run = Unary(env, &Stub::AnswerResolution),
       .text = &PrintWrite},
      {.command = "resolve",
       .help = "Mark the agreed resolution carried out (ResolveTicket)",
       .write = true,
       .flags = {IdFlag(), {"summary", "summary", "What was done (required)"}},
       .run = Unary(env, &Stub::ResolveTicket),
       .text = &PrintWrite},
      {.command = "feedback",
       .help = "Record the customer's opinion; --satisfied false reopens the ticket "
               "(RecordFeedback)",
       .write = true,
       .flags = {IdFlag(),
                 {"satisfied", "satisfied", "true: satisfied; false (the default): reopens"},
                 {"score", "score", "Score 1..5"},
                 {"comment", "comment", "Comment"}},
       .run = Unary(env, &Stub::RecordFeedback),
       .text = &PrintWrite},
      {.command = "close",
       .help = "Close a resolved ticket (CloseTicket)",
       .write = true,
       .flags = {IdFlag(), ReasonFlag("Why")},
       .run = Unary(env, &Stub::CloseTicket),
       .text = &PrintWrite},
      {.command = "reopen",
       .help = "Reopen a resolved or closed ticket (ReopenTicket)",
       .write = true,
       .flags = {IdFlag(), ReasonFlag("Why (required)")},
       .run = Unary(env, &Stub::ReopenTicket),
       .text = &PrintWrite},
      {.command = "comment",
       .help = "Add a comment, in any status (AddComment)",
       .write = true,
       .flags = {IdFlag(),
                 {"text", "text", "The comment, 1..10000 characters"},
                 {"customer_visible", "customer_visible",
                  "Told to the customer (counts as a first response)", FlagKind::kSwitch}},
       .run = Unary(env, &Stub::AddComment),
       .text = &PrintWrite},
      {.command = "wait",
       .help = "Wait on the customer: pause the SLA clocks (SetWaitingOnCustomer waiting=true)",
       .write = true,
       .flags = {IdFlag(), ReasonFlag("What the customer is asked for")},
       .run = Unary(env, &Stub::SetWaitingOnCustomer),
       .text = &PrintWrite,
       .fixed = {{"waiting", "true"}}},
      {.command = "resume",
       .help = "Stop waiting on the customer: resume the SLA clocks (SetWaitingOnCustomer "
               "waiting=false)",
       .write = true,
       .flags = {IdFlag(), ReasonFlag("What the customer answered")},
       .run = Unary(env, &Stub::SetWaitingOnCustomer),
       .text = &PrintWrite,
       .fixed = {{"waiting", "false"}}},
      {.command = "get",
       .help = "Show one ticket",
       .flags = {IdFlag()},
       .run = Unary(env, &Stub::GetTicket),
       .text = &PrintTicket},
      {.command = "list",
       .help = "List the tickets the caller may see, newest first (one page)",
       .flags = Concat(
           {{{"status", "statuses",
              "Any of " + EnumHelp(v1::TicketStatus_descriptor()) + ", comma-separated or repeated",
              FlagKind::kList},
             {"type", "type", EnumHelp(v1::TicketType_descriptor())},
             {"assignee", "assignee", "Assignee"},
             CustomerFlag(),
             {"region", "region", "Region of the customer"},
             {"priority", "priority", EnumHelp(v1::Priority_descriptor())},
             {"breached", "breached",
              "true: only tickets with a breached SLA target; false: only without"},
             {"from", "opened_from", "opened_at at or after: RFC 3339 time or YYYY-MM-DD"},
             {"to", "opened_to", "opened_at before: RFC 3339 time or YYYY-MM-DD"}},
            PageFlags("50")}),
       .run = Unary(env, &Stub::ListTickets),
       .text = &PrintTicketList},
      {.command = "kpis",
       .help = "Quality KPIs over [--from, --to), one row per group and the total",
       .flags = {{"from", "from", "RFC 3339 time or YYYY-MM-DD; default 30 days ago",
                  FlagKind::kValue, Rfc3339(now - absl::Hours(24 * 30))},
                 {"to", "to", "RFC 3339 time or YYYY-MM-DD; default now", FlagKind::kValue,
                  Rfc3339(now)},
                 {"group_by", "group_by",
                  EnumHelp(v1::KpiGrouping_descriptor()) + " (default: one row for all)"},
                 {"region", "region", "Only this region"},
                 {"type", "type", "Only this type: " + EnumHelp(v1::TicketType_descriptor())}},
       .run = Unary(env, &Stub::GetKpis),
       .text = &PrintKpis},
      {.command = "sla-config",
       .help = "Show the current SLA configuration (GetSlaConfig); --output json gives a file "
               "set-sla-config takes back",
       .run = Unary(env, &Stub::GetSlaConfig),
       .text = &PrintGetSlaConfig},
      {.command = "set-sla-config",
       .help = "Replace the SLA configuration (executive or admin) from --json '{\"config\": "
               "{...}}' (@FILE, - for stdin); open tickets' deadlines are recomputed",
       .flags = {{"expected_version", "expected_version",
                  "Fail with ABORTED unless the configuration is at this version"},
                 {"command_id", "command_id",
                  "Idempotency key: a retry by the same caller gets the first answer"}},
       .run = Unary(env, &Stub::SetSlaConfig),
       .text = &PrintSetSlaConfig},
  };
}

// ------------------------------------------------------------------ text forms

template <typename Enum>
std::string Short(const pb::EnumDescriptor* type, Enum value) {
  return EnumShortName(*type, static_cast<int>(value));
}

std::string Type(v1::TicketType t) { return Short(v1::TicketType_descriptor(), t); }
std::string Status(v1::TicketStatus s) { return Short(v1::TicketStatus_descriptor(), s); }
std::string Prio(v1::Priority p) { return Short(v1::Priority_descriptor(), p); }

bool IsSet(const pb::Timestamp& ts) { return ts.seconds() != 0 || ts.nanos() != 0; }

bool Breached(const v1::Ticket& t) {
  return t.sla().first_response().breached() || t.sla().resolution().breached();
}

// When the ticket is due: the resolution deadline, "paused" while the clocks
// stand still, else the promised handling time.
std::string DueOf(const v1::Ticket& t) {
  if (IsSet(t.resolved_at())) return "resolved " + FormatTime(t.resolved_at());
  if (t.sla().paused() || t.waiting_on_customer()) return "paused";
  const v1::SlaTimer& resolution = t.sla().resolution();
  if (IsSet(resolution.due_at())) return "due " + FormatTime(resolution.due_at());
  return "due " + FormatTime(t.promised_by());
}

void PrintWriteOf(const v1::WriteResponse& w, std::ostream& out) {
  const v1::Ticket& t = w.ticket();
  if (!t.ticket_id().empty()) PrintKeyValue(out, "ticket_id", t.ticket_id());
  PrintKeyValue(out, "version", std::to_string(w.version()));
  if (!t.ticket_id().empty()) {
    PrintKeyValue(out, "status",
                  Status(t.status()) + (t.waiting_on_customer() ? " (waiting)" : ""));
    if (!t.assignee().empty()) PrintKeyValue(out, "assignee", t.assignee());
  }
  PrintKeyValue(out, "event_ids", w.event_ids().empty() ? "-" : absl::StrJoin(w.event_ids(), ", "));
}

void PrintOpened(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::OpenTicketResponse&>(m);
  PrintKeyValue(out, "ticket_id", r.ticket_id());
  PrintKeyValue(out, "promised_by", FormatTime(r.promised_by()));
  PrintKeyValue(out, "version", std::to_string(r.write().version()));
  PrintKeyValue(out, "status", Status(r.write().ticket().status()));
  PrintKeyValue(out, "event_ids",
                r.write().event_ids().empty() ? "-" : absl::StrJoin(r.write().event_ids(), ", "));
}

void PrintWrite(const pb::Message& m, std::ostream& out) {
  PrintWriteOf(dynamic_cast<const v1::WriteResponse&>(m), out);
}

// id  type  status  priority  assignee  due ...  [BREACHED]  subject
void PrintTicketList(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::ListTicketsResponse&>(m);
  for (const v1::Ticket& t : r.tickets()) {
    out << t.ticket_id() << "  " << Type(t.type()) << "  " << Status(t.status()) << "  "
        << Prio(t.priority()) << "  " << OrDash(t.assignee()) << "  " << DueOf(t)
        << (Breached(t) ? "  BREACHED" : "") << "  " << t.subject() << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

// "due 2026-12-01T10:00:00Z (120 min), met ..., warned, breached, escalated"
std::string TimerLine(const v1::SlaTimer& timer) {
  if (timer.target_minutes() == 0 && !IsSet(timer.due_at()) && !IsSet(timer.met_at())) return "-";
  std::vector<std::string> parts;
  parts.push_back(std::to_string(timer.target_minutes()) + " business min");
  if (IsSet(timer.due_at())) parts.push_back("due " + FormatTime(timer.due_at()));
  if (IsSet(timer.met_at())) parts.push_back("met " + FormatTime(timer.met_at()));
  if (timer.warned()) parts.push_back("warned");
  if (timer.breached()) parts.push_back("BREACHED");
  if (timer.escalated()) parts.push_back("escalated");
  return absl::StrJoin(parts, ", ");
}

void PrintTicket(const pb::Message& m, std::ostream& out) {
  const v1::Ticket& t = dynamic_cast<const v1::GetTicketResponse&>(m).ticket();
  auto line = [&out](std::string_view key, const std::string& value) {
    PrintKeyValue(out, key, value);
  };
  // Optional details: only when set.
  auto detail = [&line](std::string_view key, const std::string& value) {
    if (!value.empty() && value != "-") line(key, value);
  };
  line("subject", t.subject());
  line("ticket_id", t.ticket_id());
  line("version", std::to_string(t.version()));
  line("status", Status(t.status()) + (t.waiting_on_customer() ? " (waiting on customer)" : ""));
  line("type", Type(t.type()));
  line("channel", Short(v1::TicketChannel_descriptor(), t.channel()));
  line("priority", Prio(t.priority()));
  line("customer_id", t.customer_id());
  line("owner", OrDash(t.owner()));
  line("region", OrDash(t.region()));
  line("assignee", OrDash(t.assignee()));
  detail("team", t.team());
  line("opened", FormatTime(t.opened_at()) + " by " + OrDash(t.opened_by()));
  line("promised_by", FormatTime(t.promised_by()));
  const v1::Sla& sla = t.sla();
  line("sla", "policy " + (sla.policy_id().empty() ? std::string("(default)") : sla.policy_id()) +
                  ", tier " + OrDash(sla.tier()) + ", calendar " + OrDash(sla.calendar()) +
                  (sla.paused() ? ", paused" : ""));
  line("first_response", TimerLine(sla.first_response()));
  line("resolution", TimerLine(sla.resolution()));
  detail("description", t.description());
  if (!t.findings().empty()) line("findings", std::to_string(t.findings_size()));
  for (const v1::Findings& f : t.findings()) {
    out << "  " << FormatTime(f.recorded_at()) << "  " << OrDash(f.recorded_by()) << "  "
        << f.details() << "\n";
    if (!f.cause().empty()) out << "    cause: " << f.cause() << "\n";
    if (!f.responsibility().empty()) out << "    responsibility: " << f.responsibility() << "\n";
    if (!f.evidence_refs().empty()) {
      out << "    evidence: " << absl::StrJoin(f.evidence_refs(), ", ") << "\n";
    }
  }
  detail("proposed", t.proposed_resolution());
  detail("resolution_sum", t.resolution_summary());
  if (IsSet(t.resolved_at())) {
    line("resolved_at",
         FormatTime(t.resolved_at()) + (t.resolved_on_time() ? " (on time)" : " (late)"));
  }
  if (t.has_feedback()) {
    const v1::Feedback& f = t.feedback();
    line("feedback", std::string(f.satisfied() ? "satisfied" : "not satisfied") + ", score " +
                         std::to_string(f.score()) +
                         (f.comment().empty() ? "" : ": " + f.comment()));
  }
  if (t.reopen_count() != 0) line("reopened", std::to_string(t.reopen_count()) + " times");
  if (!t.comments().empty()) line("comments", std::to_string(t.comments_size()));
  for (const v1::Comment& c : t.comments()) {
    out << "  " << FormatTime(c.created_at()) << "  " << OrDash(c.author())
        << (c.customer_visible() ? "  (to customer)" : "") << "  " << c.text() << "\n";
  }
  if (!t.pauses().empty()) line("pauses", std::to_string(t.pauses_size()));
  for (const v1::Pause& p : t.pauses()) {
    out << "  " << FormatTime(p.from()) << " .. "
        << (IsSet(p.to()) ? FormatTime(p.to()) : std::string("(waiting)")) << "  "
        << OrDash(p.reason()) << "\n";
  }
  if (!t.escalations().empty()) line("escalations", std::to_string(t.escalations_size()));
  for (const v1::Escalation& e : t.escalations()) {
    out << "  " << FormatTime(e.escalated_at()) << "  "
        << Short(v1::SlaTarget_descriptor(), e.target()) << "  to " << e.to()
        << (e.to_queue() ? " (queue)" : "") << "  " << e.reason() << "\n";
  }
  detail("closed_at", FormatTime(t.closed_at()));
  line("updated_at", FormatTime(t.updated_at()));
}

// A KPI table: key, counts, rates as percentages, mean satisfaction.
std::string Percent(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", rate * 100.0);
  return buf;
}

void PrintKpiRow(std::ostream& out, const std::string& key, const std::vector<std::string>& cells) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-20s", key.c_str());
  out << buf;
  for (const std::string& cell : cells) {
    std::snprintf(buf, sizeof buf, " %9s", cell.c_str());
    out << buf;
  }
  out << "\n";
}

void PrintKpiRow(std::ostream& out, const std::string& key, const v1::KpiRow& r) {
  char avg[32];
  std::snprintf(avg, sizeof avg, "%.2f", r.average_satisfaction());
  PrintKpiRow(out, key,
              {std::to_string(r.opened()), std::to_string(r.resolved()), Percent(r.on_time_rate()),
               Percent(r.resolution_rate()), Percent(r.reopen_rate()),
               r.feedback_count() == 0 ? "-" : std::string(avg), std::to_string(r.open_backlog()),
               std::to_string(r.breaches())});
}

void PrintKpis(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::GetKpisResponse&>(m);
  PrintKpiRow(
      out, "key",
      {"opened", "resolved", "on_time%", "resolved%", "reopen%", "avg_sat", "backlog", "breaches"});
  for (const v1::KpiRow& row : r.rows()) PrintKpiRow(out, OrDash(row.key()), row);
  PrintKpiRow(out, "TOTAL", r.total());
}

std::string Minutes(int minute) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minute / 60, minute % 60);
  return buf;
}

void PrintSlaConfig(const v1::SlaConfig& c, std::ostream& out) {
  auto line = [&out](std::string_view key, const std::string& value) {
    PrintKeyValue(out, key, value);
  };
  line("version", std::to_string(c.version()));
  line("changed", FormatTime(c.changed_at()) + " by " + OrDash(c.changed_by()));
  char share[32];
  std::snprintf(share, sizeof share, "%g", c.warning_share() == 0 ? 0.8 : c.warning_share());
  line("warning_share", std::string(share) + (c.warning_share() == 0 ? " (default)" : ""));
  line("default_queue", OrDash(c.default_escalation_queue()));
  line("calendars", std::to_string(c.calendars_size()));
  for (const v1::Calendar& cal : c.calendars()) {
    std::vector<std::string> hours;
    for (const v1::BusinessHours& h : cal.hours()) {
      hours.push_back(std::to_string(h.weekday()) + " " + Minutes(h.start_minute()) + "-" +
                      Minutes(h.end_minute()));
    }
    out << "  " << cal.name() << "  " << (cal.time_zone().empty() ? "UTC" : cal.time_zone()) << "  "
        << (hours.empty() ? "-" : absl::StrJoin(hours, ", ")) << "  holidays "
        << cal.holidays_size() << ", working days " << cal.working_days_size() << "\n";
  }
  line("policies", std::to_string(c.policies_size()));
  for (const v1::SlaPolicy& p : c.policies()) {
    auto any = [](const std::string& s) { return s.empty() ? std::string("*") : s; };
    out << "  " << p.policy_id() << "  type "
        << (p.type() == v1::TICKET_TYPE_UNSPECIFIED ? "*" : Type(p.type())) << "  priority "
        << (p.priority() == v1::PRIORITY_UNSPECIFIED ? "*" : Prio(p.priority())) << "  tier "
        << any(p.tier()) << "  calendar " << OrDash(p.calendar()) << "  first_response "
        << p.first_response_minutes() << " min  resolution " << p.resolution_minutes()
        << " min  queue " << OrDash(p.escalation_queue()) << "\n";
  }
  line("tiers", std::to_string(c.tiers_size()));
  for (const v1::TierRule& t : c.tiers()) {
    out << "  " << t.customer_class() << " -> " << t.tier() << "  rank " << t.rank() << "\n";
  }
  line("managers", std::to_string(c.managers_size()));
  std::vector<std::pair<std::string, std::string>> managers(c.managers().begin(),
                                                            c.managers().end());
  std::sort(managers.begin(), managers.end());
  for (const auto& [agent, manager] : managers) out << "  " << agent << " -> " << manager << "\n";
}

void PrintGetSlaConfig(const pb::Message& m, std::ostream& out) {
  PrintSlaConfig(dynamic_cast<const v1::GetSlaConfigResponse&>(m).config(), out);
}

void PrintSetSlaConfig(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::SetSlaConfigResponse&>(m);
  PrintSlaConfig(r.config(), out);
  PrintKeyValue(out, "recomputed", std::to_string(r.recomputed_tickets()) + " open tickets");
}

}  // namespace

void AddTicketCommands(CLI::App& app, Env env) {
  if (env == nullptr) env = std::make_shared<TicketCommandEnv>();
  AddRpcGroup(app,
              {.name = "ticket",
               .help = "Call crm.ticket.v1.TicketService (one subcommand per RPC)",
               .entity = "ticket",
               .addr_env = "CRM_TICKET_ADDR",
               .default_addr = "127.0.0.1:50053",
               .enum_examples = "complaint, phone, urgent, investigating, agent"},
              Rpcs(env), env->out, env->err);
}

}  // namespace crm::crmctl
