#include "campaign_command.h"

#include <cstdint>
#include <map>
#include <memory>
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
namespace customer_v1 = crm::customer::v1;
using Service = v1::CampaignService;
using Stub = Service::StubInterface;
using Env = std::shared_ptr<const CampaignCommandEnv>;

// ----------------------------------------------------------------- the table

// --id: an existing campaign; --customer_id: one of its targets.
FieldFlag IdFlag() { return {"id", "campaign_id", "Campaign id"}; }
FieldFlag TargetFlag() { return {"customer_id", "customer_id", "The target customer (required)"}; }
FieldFlag NoteFlag(const std::string& what) { return {"note", "note", what}; }
FieldFlag AsOfFlag(const std::string& what) {
  return {"as_of", "as_of", what + ": RFC 3339 time (2026-12-01T00:00:00Z) or YYYY-MM-DD"};
}

// The details of plan and update.
std::vector<FieldFlag> DetailsFlags() {
  return Concat({{{"name", "details.name", "Name, 1..200 characters (required)"},
                  {"type", "details.type", EnumHelp<v1::CampaignType>() + " (required)"},
                  {"start_date", "details.start_date", "First day YYYY-MM-DD (required)"},
                  {"end_date", "details.end_date", "Last day YYYY-MM-DD, not before start_date"}},
                 MoneyFlags("details.budget", "Budget (optional)", "budget"),
                 {{"description", "details.description", "Description, up to 2000 characters"}}});
}

// The target selection of plan and update: a customer is a target when it
// matches every filter given (each: any of its values) or is named by --customer.
std::vector<FieldFlag> SelectionFlags() {
  return {{"class",
           "selection.classes",
           "A class under a scheme, SCHEME:CLASS (abcd:A, tier:key, value:B, "
           "large_account:strategic; schemes " +
               EnumHelp<cv1::Scheme>() + "); repeat for more",
           FlagKind::kPairList,
           {},
           {"scheme", "class_name"},
           ':'},
          {"region", "selection.regions", "Regions, comma-separated or repeated", FlagKind::kList},
          {"industry", "selection.industries", "Industries, comma-separated or repeated",
           FlagKind::kList},
          {"lifecycle", "selection.lifecycles",
           "Lifecycles (" + EnumHelp<customer_v1::Lifecycle>() + "), comma-separated or repeated",
           FlagKind::kList},
          {"customer", "selection.customer_ids",
           "Explicit customer ids (targets whatever the filters), comma-separated or repeated",
           FlagKind::kList}};
}

void PrintCampaign(const pb::Message& m, std::ostream& out);
void PrintHistory(const pb::Message& m, std::ostream& out);
void PrintCampaignList(const pb::Message& m, std::ostream& out);
void PrintTargets(const pb::Message& m, std::ostream& out);
void PrintReport(const pb::Message& m, std::ostream& out);

std::vector<RpcSpec> Rpcs(const Env& env) {
  return {
      {.command = "plan",
       .help = "Plan a campaign (status planned): details and the target selection",
       .write = true,
       .create = true,
       .flags =
           Concat({DetailsFlags(),
                   SelectionFlags(),
                   {{"owner", "owner", "Owner (default: the caller; another one: managers)"}}}),
       .run = Unary(env, &Stub::PlanCampaign)},
      {.command = "update",
       .help = "Replace details and target selection of a planned campaign (all of them: give "
               "every flag, or start from --json)",
       .write = true,
       .flags = Concat({{IdFlag()}, DetailsFlags(), SelectionFlags()}),
       .run = Unary(env, &Stub::UpdateCampaign)},
      {.command = "start",
       .help = "Start a planned campaign: the target list is resolved from the selection and "
               "frozen",
       .write = true,
       .flags = {IdFlag()},
       .run = Unary(env, &Stub::StartCampaign)},
      {.command = "cost",
       .help = "Record a cost entry (planned or running campaign)",
       .write = true,
       .flags = Concat(
           {{IdFlag()},
            MoneyFlags("cost.amount", "Cost, > 0"),
            {{"description", "cost.description", "What it was for, 1..500 characters (required)"},
             {"incurred_on", "cost.incurred_on", "YYYY-MM-DD (default today)"}}}),
       .run = Unary(env, &Stub::RecordCampaignCost)},
      {.command = "invite",
       .help = "Record invitations sent to targets (running campaign; one already invited "
               "stays as it is)",
       .write = true,
       .flags = {IdFlag(),
                 {"customer", "customer_ids",
                  "Target customer ids, 1..1000, comma-separated or repeated", FlagKind::kList}},
       .run = Unary(env, &Stub::RecordCampaignInvitations)},
      {.command = "respond",
       .help = "Record a target's response (running campaign; a later one replaces it)",
       .write = true,
       .flags = {IdFlag(),
                 TargetFlag(),
                 {"response", "response", EnumHelp<v1::CampaignResponse>() + " (required)"},
                 NoteFlag("Note, up to 2000 characters")},
       .run = Unary(env, &Stub::RecordCampaignResponse)},
      {.command = "attend",
       .help = "Record whether a target attended (running campaign)",
       .write = true,
       .flags = {IdFlag(),
                 TargetFlag(),
                 {"attended", "attended",
                  "The customer attended; --attended=false (or no flag): did not",
                  FlagKind::kSwitch}},
       .run = Unary(env, &Stub::RecordCampaignAttendance)},
      {.command = "outcome",
       .help = "Add an outcome note (running campaign)",
       .write = true,
       .flags = {IdFlag(), NoteFlag("The note, 1..2000 characters (required)")},
       .run = Unary(env, &Stub::RecordCampaignOutcome)},
      {.command = "close",
       .help = "Close a running campaign",
       .write = true,
       .flags = {IdFlag(), NoteFlag("Closing note, up to 2000 characters")},
       .run = Unary(env, &Stub::CloseCampaign)},
      {.command = "get",
       .help = "Show one campaign (details, selection, counts, costs, outcome notes), as it is "
               "or as it was at --as_of",
       .flags = {IdFlag(), AsOfFlag("The campaign as it was at")},
       .run = Unary(env, &Stub::GetCampaign),
       .text = &PrintCampaign},
      {.command = "history",
       .help = "Every change of one campaign with actor and time, oldest first (one page)",
       .flags = Concat({{IdFlag()}, PageFlags("100", "1000")}),
       .run = Unary(env, &Stub::GetCampaignHistory),
       .text = &PrintHistory},
      {.command = "list",
       .help = "The campaigns the caller may see, newest first (one page)",
       .flags = Concat({{{"status", "status", EnumHelp<v1::CampaignStatus>() + " (default any)"},
                         {"type", "type", EnumHelp<v1::CampaignType>() + " (default any)"},
                         {"owner", "owner", "Owner"}},
                        PageFlags("50", "1000")}),
       .run = Unary(env, &Stub::ListCampaigns),
       .text = &PrintCampaignList},
      {.command = "targets",
       .help = "The frozen target list with each target's invitation, response and attendance, "
               "in customer id order (one page)",
       .flags = Concat({{IdFlag()}, PageFlags("100", "1000")}),
       .run = Unary(env, &Stub::ListCampaignTargets),
       .text = &PrintTargets},
      {.command = "report",
       .help = "Targets, invited, responded, attended, opportunities sourced and won, cost, "
               "return and ROI of one campaign, now or as of --as_of",
       .flags = {IdFlag(), AsOfFlag("Report as of (server default now)")},
       .run = Unary(env, &Stub::GetCampaignReport),
       .text = &PrintReport},
  };
}

// ------------------------------------------------------------------ text forms

std::string Dates(const v1::CampaignDetails& d) {
  return OrDash(d.start_date()) + " .. " + OrDash(d.end_date());
}

// "abcd A, tier key; regions north, south; industries ...; lifecycles ...; customers N".
std::string SelectionText(const v1::TargetSelection& s) {
  std::vector<std::string> parts;
  if (!s.classes().empty()) {
    std::vector<std::string> classes;
    for (const v1::SchemeClass& c : s.classes()) {
      classes.push_back(EnumText(c.scheme()) + " " + OrDash(c.class_name()));
    }
    parts.push_back("classes " + absl::StrJoin(classes, ", "));
  }
  if (!s.regions().empty()) parts.push_back("regions " + absl::StrJoin(s.regions(), ", "));
  if (!s.industries().empty()) {
    parts.push_back("industries " + absl::StrJoin(s.industries(), ", "));
  }
  if (!s.lifecycles().empty()) {
    std::vector<std::string> lifecycles;
    for (int l : s.lifecycles()) lifecycles.push_back(EnumText(customer_v1::Lifecycle(l)));
    parts.push_back("lifecycles " + absl::StrJoin(lifecycles, ", "));
  }
  if (!s.customer_ids().empty()) {
    parts.push_back("customers " + absl::StrJoin(s.customer_ids(), ", "));
  }
  return parts.empty() ? "(none)" : absl::StrJoin(parts, "; ");
}

std::string CountsText(const v1::Campaign& c) {
  return std::to_string(c.target_count()) + " targets, " + std::to_string(c.invited_count()) +
         " invited, " + std::to_string(c.responded_count()) + " responded, " +
         std::to_string(c.attended_count()) + " attended";
}

// The costs added up per currency: "12000.00 CNY, 300.00 USD".
std::string CostTotals(const pb::RepeatedPtrField<v1::CampaignCost>& costs) {
  std::map<std::string, int64_t> totals;
  for (const v1::CampaignCost& c : costs)
    totals[c.amount().currency_code()] += c.amount().amount_minor();
  std::vector<std::string> parts;
  for (const auto& [currency, minor] : totals) {
    parts.push_back(FormatMinor(minor) + " " + OrDash(currency));
  }
  return absl::StrJoin(parts, ", ");
}

void PrintCampaign(const pb::Message& m, std::ostream& out) {
  const v1::Campaign& c = dynamic_cast<const v1::GetCampaignResponse&>(m).campaign();
  const v1::CampaignDetails& d = c.details();
  auto line = [&out](std::string_view key, const std::string& value) {
    PrintKeyValue(out, key, value);
  };
  line("name", OrDash(d.name()));
  line("campaign_id", c.campaign_id());
  line("version", std::to_string(c.version()));
  line("status", EnumText(c.status()));
  line("type", EnumText(d.type()));
  line("dates", Dates(d));
  line("budget", FormatMoney(d.budget()));
  line("owner", OrDash(c.owner()));
  line("region", OrDash(c.region()));
  if (!d.description().empty()) line("description", d.description());
  line("selection", SelectionText(c.selection()));
  line("targets", CountsText(c));
  // The costs: id  incurred_on  amount currency  description  recorded at by who.
  line("costs", std::to_string(c.costs_size()) + (c.costs_size() == 1 ? " entry" : " entries") +
                    (c.costs().empty() ? "" : ", total " + CostTotals(c.costs())));
  for (const v1::CampaignCost& k : c.costs()) {
    out << "  " << k.cost_id() << "  " << OrDash(k.incurred_on()) << "  " << FormatMoney(k.amount())
        << "  " << k.description() << "  recorded " << FormatTime(k.recorded_at()) << " by "
        << OrDash(k.recorded_by()) << "\n";
  }
  line("outcome_notes", std::to_string(c.outcome_notes_size()));
  for (const v1::CampaignOutcomeNote& n : c.outcome_notes()) {
    out << "  " << FormatTime(n.recorded_at()) << "  " << OrDash(n.recorded_by()) << "  "
        << n.note() << "\n";
  }
  line("created", FormatTime(c.created_at()) + " by " + OrDash(c.created_by()));
  if (c.has_started_at()) line("started", FormatTime(c.started_at()));
  if (c.status() == v1::CAMPAIGN_STATUS_CLOSED) {
    line("closed", FormatTime(c.closed_at()) + " by " + OrDash(c.closed_by()) +
                       (c.closing_note().empty() ? "" : "  -- " + c.closing_note()));
  }
  line("updated_at", FormatTime(c.updated_at()));
}

// What a campaign event changed, after its type on a history line.
std::string EventDetail(const v1::InteractionEvent& e) {
  const std::string customer = e.customer_id().empty() ? "" : "customer " + e.customer_id() + ": ";
  switch (e.kind_case()) {
    case v1::InteractionEvent::kCampaignPlanned: {
      const v1::CampaignPlanned& p = e.campaign_planned();
      return EnumText(p.details().type()) + " \"" + p.details().name() + "\", owner " +
             OrDash(p.owner());
    }
    case v1::InteractionEvent::kCampaignUpdated:
      return EnumText(e.campaign_updated().details().type()) + " \"" +
             e.campaign_updated().details().name() + "\"";
    case v1::InteractionEvent::kCampaignStarted:
      return std::to_string(e.campaign_started().target_count()) + " targets";
    case v1::InteractionEvent::kCampaignTargetsFrozen:
      return std::to_string(e.campaign_targets_frozen().targets_size()) + " targets frozen";
    case v1::InteractionEvent::kCampaignCostRecorded: {
      const v1::CampaignCost& k = e.campaign_cost_recorded().cost();
      return "cost " + k.cost_id() + ": " + FormatMoney(k.amount()) + " " + k.description();
    }
    case v1::InteractionEvent::kCampaignInvitationsSent:
      return std::to_string(e.campaign_invitations_sent().customer_ids_size()) + " invited";
    case v1::InteractionEvent::kCampaignResponseRecorded: {
      const v1::CampaignResponseRecorded& r = e.campaign_response_recorded();
      return customer + EnumText(r.response()) + (r.note().empty() ? "" : " -- " + r.note());
    }
    case v1::InteractionEvent::kCampaignAttendanceRecorded:
      return customer +
             (e.campaign_attendance_recorded().attended() ? "attended" : "did not attend");
    case v1::InteractionEvent::kCampaignOutcomeRecorded:
      return e.campaign_outcome_recorded().note().note();
    case v1::InteractionEvent::kCampaignClosed:
      return e.campaign_closed().note().empty() ? "" : "-- " + e.campaign_closed().note();
    default:
      return "";
  }
}

// version  occurred_at  actor  event_type  (what it changed)
void PrintHistory(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::GetCampaignHistoryResponse&>(m);
  for (const v1::EventHistoryEntry& e : r.entries()) {
    PrintHistoryEntryStart(e, out);
    if (std::string detail = EventDetail(e.event()); !detail.empty()) out << "  (" << detail << ")";
    out << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

// id  status  type  start .. end  owner  T targets, I invited, R responded, A attended  name
void PrintCampaignList(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::ListCampaignsResponse&>(m);
  for (const v1::Campaign& c : r.campaigns()) {
    out << c.campaign_id() << "  " << EnumText(c.status()) << "  " << EnumText(c.details().type())
        << "  " << Dates(c.details()) << "  " << OrDash(c.owner()) << "  " << CountsText(c) << "  "
        << c.details().name() << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

// customer_id  owner  region  invited <time>|not invited  response|no response  attended|-
void PrintTargets(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::ListCampaignTargetsResponse&>(m);
  for (const v1::CampaignTarget& t : r.targets()) {
    out << t.customer_id() << "  " << OrDash(t.owner()) << "  " << OrDash(t.region()) << "  "
        << (t.has_invited_at() ? "invited " + FormatTime(t.invited_at()) : "not invited") << "  "
        << (t.response() == v1::CAMPAIGN_RESPONSE_UNSPECIFIED ? "no response"
                                                              : EnumText(t.response()))
        << "  " << (t.attended() ? "attended" : "-");
    if (!t.response_note().empty()) out << "  -- " << t.response_note();
    out << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

void PrintReport(const pb::Message& m, std::ostream& out) {
  const v1::CampaignReport& r = dynamic_cast<const v1::GetCampaignReportResponse&>(m).report();
  PrintKeyValue(out, "campaign_id", r.campaign_id());
  PrintKeyValue(out, "name", OrDash(r.name()));
  PrintKeyValue(out, "status", EnumText(r.status()));
  PrintKeyValue(out, "as_of", FormatTime(r.as_of()));
  if (r.partial()) {
    PrintKeyValue(out, "partial", "only the targets you may see; no budget, cost or ROI");
  }
  PrintKeyValue(out, "targets", std::to_string(r.targets()));
  PrintKeyValue(out, "invited", std::to_string(r.invited()));
  PrintKeyValue(out, "responded",
                std::to_string(r.responded()) + " (" + std::to_string(r.accepted()) + " accepted)");
  PrintKeyValue(out, "attended", std::to_string(r.attended()));
  PrintKeyValue(out, "opportunities",
                std::to_string(r.opportunities_sourced()) + " sourced, " +
                    std::to_string(r.opportunities_won()) + " won, " +
                    std::to_string(r.opportunities_open()) + " open");
  if (!r.partial()) PrintKeyValue(out, "budget", FormatMoney(r.budget()));
  out << "\n";
  PrintRow(out, "currency", {"cost", "won", "roi"});
  if (r.money().empty()) out << "(no costs and nothing won)\n";
  for (const v1::CampaignMoney& c : r.money()) {
    PrintRow(out, OrDash(c.currency_code()),
             {FormatMinor(c.cost_minor()), FormatMinor(c.won_minor()),
              c.has_roi_percent() ? Fixed2(c.roi_percent()) + "%" : "-"});
  }
}

}  // namespace

void AddCampaignCommands(CLI::App& app, Env env) {
  if (env == nullptr) env = std::make_shared<CampaignCommandEnv>();
  AddRpcGroup(app,
              {.name = "campaign",
               .help = "Call crm.interaction.v1.CampaignService (marketing campaigns: plan, "
                       "targets, costs, invitations, responses, attendance, outcome, the "
                       "campaign report with its return; one subcommand per RPC)",
               .entity = "campaign",
               .addr_env = "CRM_INTERACTION_ADDR",
               .default_addr = "127.0.0.1:50052",
               .enum_examples = "seminar, holiday-greeting, accepted, running, abcd:A"},
              Rpcs(env), env->out, env->err);
}

}  // namespace crm::crmctl
