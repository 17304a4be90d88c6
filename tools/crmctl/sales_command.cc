#include "sales_command.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proto_fields.h"

namespace crm::crmctl {
namespace {

namespace pb = google::protobuf;
namespace v1 = crm::interaction::v1;
using Service = v1::SalesService;
using Stub = Service::StubInterface;
using Env = std::shared_ptr<const SalesCommandEnv>;

// ----------------------------------------------------------------- the table

// --id: an existing opportunity; --customer_id: the customer a new one is for.
FieldFlag IdFlag() { return {"id", "opportunity_id", "Opportunity id"}; }
FieldFlag CustomerFlag() { return {"customer_id", "customer_id", "Customer id"}; }

// The details of create-opportunity and update-opportunity.
std::vector<FieldFlag> DetailsFlags() {
  return Concat(
      {{{"title", "details.title", "Title, 1..200 characters (required)"},
        {"source", "details.source", "Where it came from: " + EnumHelp<v1::OpportunitySource>()},
        {"campaign_id", "details.campaign_id", "The campaign (required for campaign)"}},
       MoneyFlags("details.expected_amount", "Expected amount"),
       {{"expected_close_date", "details.expected_close_date",
         "Expected close date YYYY-MM-DD (required)"},
        {"contact", "details.contact", "The customer's contact (contact id or name)"},
        {"description", "details.description", "Description"}}});
}

FieldFlag ProbabilityFlag(const std::string& unset) {
  return {"probability", "probability", "0..100; not given: " + unset};
}

void PrintOpportunity(const pb::Message& m, std::ostream& out);
void PrintHistory(const pb::Message& m, std::ostream& out);
void PrintOpportunityList(const pb::Message& m, std::ostream& out);
void PrintOverdueSteps(const pb::Message& m, std::ostream& out);
void PrintReport(const pb::Message& m, std::ostream& out);

std::vector<RpcSpec> Rpcs(const Env& env) {
  const std::string stages = EnumHelp<v1::OpportunityStage>();
  return {
      {.command = "create-opportunity",
       .help = "Create an opportunity for a customer (stage qualification; owner defaults to "
               "the customer's)",
       .write = true,
       .create = true,
       .flags = Concat({{CustomerFlag()},
                        DetailsFlags(),
                        {{"owner", "owner", "Owner (default: the customer's owner)"}}}),
       .run = Unary(env, &Stub::CreateOpportunity)},
      {.command = "update-opportunity",
       .help = "Replace the details (all of them: give every flag, or start from --json)",
       .write = true,
       .flags = Concat({{IdFlag()}, DetailsFlags()}),
       .run = Unary(env, &Stub::UpdateOpportunity)},
      {.command = "assign-opportunity",
       .help =
           "Give the opportunity another owner (regional_manager of its region, executive, admin)",
       .write = true,
       .flags = {IdFlag(),
                 {"owner", "owner", "The new owner (required)"},
                 {"reason", "reason", "Why"}},
       .run = Unary(env, &Stub::AssignOpportunity)},
      {.command = "move-stage",
       .help = "Move an open opportunity to another open stage, forward or back",
       .write = true,
       .flags = {IdFlag(),
                 {"stage", "stage", "qualification|needs_analysis|proposal|negotiation"},
                 ProbabilityFlag("the new stage's default")},
       .run = Unary(env, &Stub::MoveOpportunityStage)},
      {.command = "set-probability",
       .help = "Override the probability of the current stage, or (without --probability) "
               "return it to the stage's default",
       .write = true,
       .flags = {IdFlag(), ProbabilityFlag("back to the current stage's default")},
       .run = Unary(env, &Stub::SetOpportunityProbability)},
      {.command = "win",
       .help = "Close an open opportunity as won, with the final amount",
       .write = true,
       .flags = Concat({{IdFlag()}, MoneyFlags("final_amount", "Final amount")}),
       .run = Unary(env, &Stub::WinOpportunity)},
      {.command = "lose",
       .help = "Close an open opportunity as lost, with the reason",
       .write = true,
       .flags = {IdFlag(),
                 {"reason", "reason", EnumHelp<v1::LostReason>()},
                 {"reason_text", "reason_text", "Free text (required for other)"},
                 {"competitor", "competitor", "Who won instead"}},
       .run = Unary(env, &Stub::LoseOpportunity)},
      {.command = "reopen",
       .help =
           "Reopen a won or lost opportunity (regional_manager of its region, executive, admin)",
       .write = true,
       .flags = {IdFlag(),
                 {"stage", "stage",
                  "Open stage to reopen at (default: the one it was closed from): "
                  "qualification|needs_analysis|proposal|negotiation"},
                 {"reason", "reason", "Why (required)"}},
       .run = Unary(env, &Stub::ReopenOpportunity)},
      {.command = "add-step",
       .help = "Add a step to the development plan of an open opportunity",
       .write = true,
       .flags = {IdFlag(),
                 {"planned_date", "planned_date", "YYYY-MM-DD (required)"},
                 {"action", "action", "What is to be done (required)"},
                 {"responsible", "responsible", "Who (default: the opportunity's owner)"}},
       .run = Unary(env, &Stub::AddPlanStep)},
      {.command = "complete-step",
       .help = "Complete a planned step with its result (and the visit or follow-up that did it)",
       .write = true,
       .flags = {IdFlag(),
                 {"step_id", "step_id", "Step id (\"1\", \"2\", ...)"},
                 {"result", "result", "The result (required)"},
                 {"interaction_id", "interaction_id",
                  "The visit or follow-up of the same customer that carried it out"}},
       .run = Unary(env, &Stub::CompletePlanStep)},
      {.command = "get",
       .help = "Show one opportunity, as it is or as it was at --as_of",
       .flags = {IdFlag(),
                 {"as_of", "as_of", "RFC 3339 time (2026-12-01T00:00:00Z) or YYYY-MM-DD"}},
       .run = Unary(env, &Stub::GetOpportunity),
       .text = &PrintOpportunity},
      {.command = "history",
       .help = "Every change of one opportunity with actor and time, oldest first (one page)",
       .flags = Concat({{IdFlag()}, PageFlags("100")}),
       .run = Unary(env, &Stub::GetOpportunityHistory),
       .text = &PrintHistory},
      {.command = "list",
       .help = "The opportunities the caller may see, by expected close date (one page)",
       .flags = Concat({{CustomerFlag(),
                         {"owner", "owner", "Owner"},
                         {"region", "region", "Region"},
                         {"stage", "stage", stages},
                         {"status", "status", "open|closed (default any)"},
                         {"close_from", "close_from", "Expected close on or after YYYY-MM-DD"},
                         {"close_to", "close_to", "Expected close on or before YYYY-MM-DD"}},
                        PageFlags("50")}),
       .run = Unary(env, &Stub::ListOpportunities),
       .text = &PrintOpportunityList},
      {.command = "overdue-steps",
       .help = "Overdue plan steps of one responsible person, oldest first (one page)",
       .flags = Concat({{{"responsible", "responsible", "Whose to-do list (default: the caller)"}},
                        PageFlags("50")}),
       .run = Unary(env, &Stub::ListOverduePlanSteps),
       .text = &PrintOverdueSteps},
      {.command = "report",
       .help = "The pipeline per stage, owner and region, the forecast, win rate, sales cycle "
               "and lost reasons, now or as of --as_of",
       .flags = {{"as_of", "as_of",
                  "Report as of: RFC 3339 time or YYYY-MM-DD (server default now)"},
                 {"period_from", "period_from",
                  "First day of the period YYYY-MM-DD (default: the month of as_of)"},
                 {"period_to", "period_to", "Last day of the period YYYY-MM-DD (inclusive)"},
                 {"owner", "owner", "Only this owner"},
                 {"region", "region", "Only this region"}},
       .run = Unary(env, &Stub::GetPipelineReport),
       .text = &PrintReport},
  };
}

// ------------------------------------------------------------------ text forms

std::string Stage(v1::OpportunityStage s) { return EnumText(s); }

bool IsOpen(v1::OpportunityStage s) {
  return s != v1::OPPORTUNITY_STAGE_WON && s != v1::OPPORTUNITY_STAGE_LOST;
}

// A plan step's state: done, planned, or overdue (planned, its date passed, the
// opportunity open; "reported" once PlanStepOverdue was emitted).
std::string StepStatus(const v1::PlanStep& step, bool open, const std::string& today) {
  if (step.status() == v1::PLAN_STEP_STATUS_DONE) return "done";
  std::string status = EnumText(step.status());
  if (step.status() == v1::PLAN_STEP_STATUS_PLANNED && open && step.planned_date() < today) {
    status = "OVERDUE";
  }
  if (step.overdue_reported()) status += " (reported)";
  return status;
}

void PrintOpportunity(const pb::Message& m, std::ostream& out) {
  const v1::Opportunity& o = dynamic_cast<const v1::GetOpportunityResponse&>(m).opportunity();
  auto line = [&out](std::string_view key, const std::string& value) {
    PrintKeyValue(out, key, value);
  };
  const v1::OpportunityDetails& d = o.details();
  line("title", OrDash(d.title()));
  line("opportunity_id", o.opportunity_id());
  line("customer_id", o.customer_id());
  line("version", std::to_string(o.version()));
  line("stage", Stage(o.stage()));
  line("probability", std::to_string(o.probability()) + "%" +
                          (o.probability_overridden() ? " (set by hand)" : " (stage default)"));
  line("source", EnumText(d.source()) +
                     (d.campaign_id().empty() ? "" : " (campaign " + d.campaign_id() + ")"));
  line("expected", FormatMoney(d.expected_amount()) + ", close " + OrDash(d.expected_close_date()));
  if (o.stage() == v1::OPPORTUNITY_STAGE_WON) line("final_amount", FormatMoney(o.final_amount()));
  if (o.stage() == v1::OPPORTUNITY_STAGE_LOST) {
    line("lost_reason", EnumText(o.lost_reason()) +
                            (o.lost_reason_text().empty() ? "" : " -- " + o.lost_reason_text()));
    if (!o.competitor().empty()) line("competitor", o.competitor());
  }
  if (!IsOpen(o.stage()))
    line("closed", FormatTime(o.closed_at()) + " by " + OrDash(o.closed_by()));
  if (o.reopened_count() > 0) line("reopened", std::to_string(o.reopened_count()) + " times");
  line("owner", OrDash(o.owner()));
  line("region", OrDash(o.region()));
  if (!d.contact().empty()) line("contact", d.contact());
  if (!d.description().empty()) line("description", d.description());
  // The development plan: id  planned_date  status  responsible  action [-> result].
  line("plan", std::to_string(o.plan_size()) + (o.plan_size() == 1 ? " step" : " steps"));
  const std::string today = Today();
  for (const v1::PlanStep& s : o.plan()) {
    out << "  " << s.step_id() << "  " << OrDash(s.planned_date()) << "  "
        << StepStatus(s, IsOpen(o.stage()), today) << "  " << OrDash(s.responsible()) << "  "
        << s.action();
    if (s.status() == v1::PLAN_STEP_STATUS_DONE) {
      out << "  -> " << OrDash(s.result());
      if (!s.interaction_id().empty()) out << " (interaction " << s.interaction_id() << ")";
      out << "  " << FormatTime(s.done_at()) << " by " << OrDash(s.done_by());
    }
    out << "\n";
  }
  if (!o.owner_history().empty()) {
    line("owners", std::to_string(o.owner_history_size()) + " changes");
    for (const v1::OwnerChange& c : o.owner_history()) {
      out << "  " << OrDash(c.from_owner()) << " -> " << c.to_owner() << "  "
          << FormatTime(c.changed_at()) << " by " << OrDash(c.changed_by())
          << (c.reason().empty() ? "" : "  -- " + c.reason()) << "\n";
    }
  }
  line("stages", std::to_string(o.stage_history_size()) + " changes");
  for (const v1::StageChange& c : o.stage_history()) {
    out << "  " << Stage(c.from()) << " -> " << Stage(c.to()) << "  " << c.probability() << "%  "
        << FormatTime(c.changed_at()) << " by " << OrDash(c.changed_by()) << "\n";
  }
  line("created", FormatTime(o.created_at()) + " by " + OrDash(o.created_by()));
  line("updated_at", FormatTime(o.updated_at()));
}

// version  occurred_at  actor  event_type  (stage probability% after it)
void PrintHistory(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::GetOpportunityHistoryResponse&>(m);
  for (const v1::OpportunityHistoryEntry& e : r.entries()) {
    PrintHistoryEntryStart(e, out);
    if (e.event().has_opportunity_figures()) {
      const v1::OpportunityFigures& f = e.event().opportunity_figures();
      out << "  (" << Stage(f.stage()) << " " << f.probability() << "%)";
    }
    out << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

// id  stage  probability%  expected amount  close date  owner  region  title
void PrintOpportunityList(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::ListOpportunitiesResponse&>(m);
  for (const v1::Opportunity& o : r.opportunities()) {
    out << o.opportunity_id() << "  " << Stage(o.stage()) << "  " << o.probability() << "%  "
        << FormatMoney(o.stage() == v1::OPPORTUNITY_STAGE_WON ? o.final_amount()
                                                              : o.details().expected_amount())
        << "  close " << OrDash(o.details().expected_close_date()) << "  " << OrDash(o.owner())
        << "  " << OrDash(o.region()) << "  " << o.details().title() << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

// planned_date  opportunity_id  step N  responsible  customer_id  title: action
void PrintOverdueSteps(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::ListOverduePlanStepsResponse&>(m);
  for (const v1::OverduePlanStep& s : r.steps()) {
    out << s.step().planned_date() << "  " << s.opportunity_id() << "  step " << s.step().step_id()
        << "  " << OrDash(s.step().responsible()) << "  " << s.customer_id() << "  " << s.title()
        << ": " << s.step().action() << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

// One row per currency of a group (the key and count on the first only).
void PrintCurrencyRows(std::ostream& out, const std::string& key, int count,
                       const pb::RepeatedPtrField<v1::CurrencyFigures>& amounts) {
  if (amounts.empty()) {
    PrintRow(out, key, {std::to_string(count), "-", "-", "-"});
    return;
  }
  bool first = true;
  for (const v1::CurrencyFigures& c : amounts) {
    PrintRow(out, first ? key : "",
             {first ? std::to_string(count) : "", c.currency_code(), FormatMinor(c.amount_minor()),
              FormatMinor(c.weighted_minor())});
    first = false;
  }
}

void PrintGroups(std::ostream& out, const std::string& title,
                 const pb::RepeatedPtrField<v1::PipelineGroup>& groups) {
  out << "\n";
  PrintRow(out, title, {"count", "currency", "amount", "weighted"});
  if (groups.empty()) out << "(no open opportunities)\n";
  for (const v1::PipelineGroup& g : groups) {
    PrintCurrencyRows(out, OrDash(g.key()), g.count(), g.amounts());
  }
}

void PrintReport(const pb::Message& m, std::ostream& out) {
  const v1::PipelineReport& r = dynamic_cast<const v1::GetPipelineReportResponse&>(m).report();
  PrintKeyValue(out, "as_of", FormatTime(r.as_of()));
  PrintKeyValue(out, "period", OrDash(r.period_from()) + " .. " + OrDash(r.period_to()));
  PrintKeyValue(out, "open", std::to_string(r.open_count()) + " opportunities");
  for (const v1::CurrencyFigures& c : r.open_amounts()) {
    out << "  " << c.currency_code() << "  " << c.count() << "  amount "
        << FormatMinor(c.amount_minor()) << "  weighted " << FormatMinor(c.weighted_minor())
        << "\n";
  }
  PrintKeyValue(out, "closed",
                std::to_string(r.won_count()) + " won, " + std::to_string(r.lost_count()) +
                    " lost in the period");
  PrintKeyValue(out, "win_rate", Fixed2(r.win_rate_percent()) + "%");
  PrintKeyValue(out, "sales_cycle", Fixed2(r.average_sales_cycle_days()) + " days (mean, won)");
  PrintGroups(out, "stage", r.by_stage());
  PrintGroups(out, "owner", r.by_owner());
  PrintGroups(out, "region", r.by_region());
  out << "\n";
  PrintRow(out, "forecast", {"open", "open_weighted", "won", "won_amount", "total"});
  if (r.forecast().empty()) out << "(nothing closing or won in the period)\n";
  for (const v1::ForecastFigures& f : r.forecast()) {
    PrintRow(
        out, f.currency_code(),
        {std::to_string(f.open_count()), FormatMinor(f.open_weighted_minor()),
         std::to_string(f.won_count()), FormatMinor(f.won_minor()), FormatMinor(f.total_minor())});
  }
  out << "\n";
  PrintRow(out, "lost_reason", {"count", "currency", "amount"});
  if (r.lost_reasons().empty()) out << "(none lost in the period)\n";
  for (const v1::LostReasonFigures& l : r.lost_reasons()) {
    const std::string reason = EnumText(l.reason());
    if (l.amounts().empty()) {
      PrintRow(out, reason, {std::to_string(l.count()), "-", "-"});
      continue;
    }
    bool first = true;
    for (const v1::CurrencyFigures& c : l.amounts()) {
      PrintRow(out, first ? reason : "",
               {first ? std::to_string(l.count()) : "", c.currency_code(),
                FormatMinor(c.amount_minor())});
      first = false;
    }
  }
}

}  // namespace

void AddSalesCommands(CLI::App& app, Env env) {
  if (env == nullptr) env = std::make_shared<SalesCommandEnv>();
  AddRpcGroup(app,
              {.name = "sales",
               .help = "Call crm.interaction.v1.SalesService (opportunities, development plans, "
                       "the pipeline report; one subcommand per RPC)",
               .entity = "opportunity",
               .addr_env = "CRM_INTERACTION_ADDR",
               .default_addr = "127.0.0.1:50052",
               .enum_examples = "proposal, needs-analysis, exhibition, price"},
              Rpcs(env), env->out, env->err);
}

}  // namespace crm::crmctl
