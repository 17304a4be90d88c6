#include "interaction_command.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto_fields.h"

namespace crm::crmctl {
namespace {

namespace pb = google::protobuf;
namespace v1 = crm::interaction::v1;
using Service = v1::InteractionService;
using Stub = Service::StubInterface;
using Env = std::shared_ptr<const InteractionCommandEnv>;

// ----------------------------------------------------------------- the table

std::string EnumHelp(const pb::EnumDescriptor* type) { return EnumShortNames(*type); }

// --id: an existing interaction; --customer_id: the customer a new one is for.
FieldFlag IdFlag() { return {"id", "interaction_id", "Interaction id"}; }
FieldFlag CustomerFlag() { return {"customer_id", "customer_id", "Customer id"}; }

// --at: the time of whatever the subcommand records.
FieldFlag AtFlag(std::string path, std::string what) {
  return {"at", std::move(path), what + ": RFC 3339 time (2026-12-01T10:00:00Z) or YYYY-MM-DD"};
}

std::vector<FieldFlag> PageFlags(std::string_view default_size) {
  return {{"page_size", "page_size", "1..500 (server default " + std::string(default_size) + ")"},
          {"page_token", "page_token", "next_page_token of the previous page"}};
}

void PrintInteraction(const pb::Message& m, std::ostream& out);
void PrintInteractionList(const pb::Message& m, std::ostream& out);
void PrintDueRevisits(const pb::Message& m, std::ostream& out);
void PrintTimeline(const pb::Message& m, std::ostream& out);
void PrintBirthdays(const pb::Message& m, std::ostream& out);

std::vector<RpcSpec> Rpcs(const Env& env) {
  return {
      {.command = "plan-visit",
       .help = "Plan a visit to a customer",
       .write = true,
       .create = true,
       .flags = {CustomerFlag(),
                 {"purpose", "plan.purpose", "Purpose of the visit (required)"},
                 AtFlag("plan.scheduled_at", "When the visit takes place (required)"),
                 {"visitor", "plan.visitors",
                  "Who visits (at least one), comma-separated or repeated", FlagKind::kList},
                 {"agenda", "plan.agenda", "Agenda"},
                 {"material", "plan.materials",
                  "Preparation materials (titles or document references), comma-separated or "
                  "repeated",
                  FlagKind::kList},
                 {"confirmed", "plan.confirmed_with_customer",
                  "The customer confirmed the visit in advance", FlagKind::kSwitch}},
       .run = Unary(env, &Stub::PlanVisit)},
      {.command = "reschedule-visit",
       .help = "Move a planned visit to another time",
       .write = true,
       .flags = {IdFlag(), AtFlag("scheduled_at", "The new time"), {"reason", "reason", "Why"}},
       .run = Unary(env, &Stub::RescheduleVisit)},
      {.command = "cancel-visit",
       .help = "Cancel a planned visit",
       .write = true,
       .flags = {IdFlag(), {"reason", "reason", "Why (required)"}},
       .run = Unary(env, &Stub::CancelVisit)},
      {.command = "record-visit",
       .help = "Complete a planned visit with its record",
       .write = true,
       .flags = {IdFlag(),
                 {"summary", "record.summary", "What the visit found (required)"},
                 {"feedback", "record.customer_feedback", "The customer's feedback"},
                 {"intent", "record.cooperation_intent",
                  "Cooperation intent: " + EnumHelp(v1::CooperationIntent_descriptor())},
                 {"next_steps", "record.next_steps", "Next steps"},
                 AtFlag("record.visited_at", "When the visit happened (not in the future)")},
       .run = Unary(env, &Stub::RecordVisit)},
      {.command = "log-follow-up",
       .help = "Log a follow-up (phone, e-mail, on site, instant message, SMS)",
       .write = true,
       .create = true,
       .flags = {CustomerFlag(),
                 {"channel", "follow_up.channel", EnumHelp(v1::Channel_descriptor())},
                 {"content", "follow_up.content", "What was discussed (required)"},
                 {"feedback", "follow_up.customer_feedback", "The customer's feedback"},
                 {"problem_solved", "follow_up.problems_solved",
                  "Problems solved, comma-separated or repeated", FlagKind::kList},
                 {"by", "follow_up.performed_by", "Who followed up (default: the caller)"},
                 AtFlag("follow_up.performed_at", "When")},
       .run = Unary(env, &Stub::LogFollowUp)},
      {.command = "record-revisit",
       .help = "Complete a planned revisit (the service plans the next one on the class cadence)",
       .write = true,
       .flags = {IdFlag(),
                 {"progress", "record.progress", "Project progress"},
                 {"satisfaction", "record.satisfaction", "Satisfaction 1..5"},
                 {"changed_needs", "record.changed_needs", "Needs that changed"},
                 {"finding",
                  "record.findings",
                  "A finding for a department, DEPARTMENT=DESCRIPTION (e.g. "
                  "delivery=\"late parts\"); repeat for more",
                  FlagKind::kPairList,
                  {},
                  {"department", "description"}},
                 AtFlag("record.performed_at", "When the revisit took place")},
       .run = Unary(env, &Stub::RecordRevisit)},
      {.command = "plan-care",
       .help = "Plan a care activity (greeting, birthday wish, appreciation event, seminar)",
       .write = true,
       .create = true,
       .flags = {CustomerFlag(),
                 {"kind", "care.kind", EnumHelp(v1::CareKind_descriptor())},
                 {"title", "care.title", "Title, e.g. \"Spring Festival greeting\" (required)"},
                 AtFlag("care.planned_for", "When it is planned for"),
                 {"contact_id", "care.contact_id", "The contact it is for (birthday wishes)"}},
       .run = Unary(env, &Stub::PlanCare)},
      {.command = "complete-care",
       .help = "Mark a care activity done",
       .write = true,
       .flags = {IdFlag(),
                 AtFlag("done_at", "When it was done"),
                 {"outcome", "outcome", "Outcome"}},
       .run = Unary(env, &Stub::CompleteCare)},
      {.command = "evaluate-care",
       .help = "Evaluate a done care activity",
       .write = true,
       .flags = {IdFlag(),
                 {"score", "evaluation_score", "Evaluation 1..5"},
                 {"evaluation", "evaluation", "Evaluation note"}},
       .run = Unary(env, &Stub::EvaluateCare)},
      {.command = "record-satisfaction",
       .help = "Record a satisfaction survey answer",
       .write = true,
       .create = true,
       .flags = {CustomerFlag(),
                 {"score", "survey.score", "Score 1..5"},
                 {"comment", "survey.comment", "Comment"},
                 AtFlag("survey.surveyed_at", "When the survey was answered")},
       .run = Unary(env, &Stub::RecordSatisfaction)},
      {.command = "get",
       .help = "Show one interaction",
       .flags = {IdFlag()},
       .run = Unary(env, &Stub::GetInteraction),
       .text = &PrintInteraction},
      {.command = "list",
       .help = "List the interactions the caller may see, newest first (one page)",
       .flags = Concat({{CustomerFlag(),
                         {"type", "type", EnumHelp(v1::InteractionType_descriptor())},
                         {"owner", "owner", "Owner of the customer"},
                         {"region", "region", "Region of the customer"},
                         {"from", "from", "occurs_at at or after: RFC 3339 time or YYYY-MM-DD"},
                         {"to", "to", "occurs_at before: RFC 3339 time or YYYY-MM-DD"}},
                        PageFlags("50")}),
       .run = Unary(env, &Stub::ListInteractions),
       .text = &PrintInteractionList},
      {.command = "due-revisits",
       .help = "Planned revisits overdue or due within --within_days, overdue first (one page)",
       .flags =
           Concat({{{"within_days", "within_days", "Due within this many days (0: overdue only)"},
                    {"owner", "owner", "Owner"},
                    {"region", "region", "Region"}},
                   PageFlags("50")}),
       .run = Unary(env, &Stub::ListDueRevisits),
       .text = &PrintDueRevisits},
      {.command = "timeline",
       .help = "One customer's interactions, oldest first (one page)",
       .flags = Concat({{CustomerFlag()}, PageFlags("100")}),
       .run = Unary(env, &Stub::GetTimeline),
       .text = &PrintTimeline},
      {.command = "birthdays",
       .help = "Contacts whose birthday falls within the next --within_days days",
       .flags = {{"within_days", "within_days", "1..366 (server default 30)"},
                 {"owner", "owner", "Owner"},
                 {"region", "region", "Region"}},
       .run = Unary(env, &Stub::ListUpcomingBirthdays),
       .text = &PrintBirthdays},
  };
}

// ------------------------------------------------------------------ text forms

template <typename Enum>
std::string Short(const pb::EnumDescriptor* type, Enum value) {
  return EnumShortName(*type, static_cast<int>(value));
}

bool IsPast(const pb::Timestamp& ts) {
  return (ts.seconds() != 0 || ts.nanos() != 0) &&
         absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos()) < absl::Now();
}

// The state of an interaction in a word or two: a visit's, revisit's or care
// activity's status (a planned revisit past its due date is "overdue"), a
// follow-up's channel, a survey's score.
std::string StatusOf(const v1::Interaction& i) {
  switch (i.type()) {
    case v1::INTERACTION_TYPE_VISIT:
      return Short(v1::VisitStatus_descriptor(), i.visit().status());
    case v1::INTERACTION_TYPE_FOLLOW_UP:
      return Short(v1::Channel_descriptor(), i.follow_up().channel());
    case v1::INTERACTION_TYPE_REVISIT:
      if (i.revisit().status() == v1::REVISIT_STATUS_PLANNED && IsPast(i.revisit().due_at())) {
        return "overdue";
      }
      return Short(v1::RevisitStatus_descriptor(), i.revisit().status());
    case v1::INTERACTION_TYPE_CARE:
      return Short(v1::CareStatus_descriptor(), i.care().status());
    case v1::INTERACTION_TYPE_SATISFACTION:
      return "score " + std::to_string(i.survey().score());
    default:
      return "-";
  }
}

// id  type  customer  occurs_at  status
void PrintInteractionLines(const pb::RepeatedPtrField<v1::Interaction>& interactions,
                           const std::string& next_page_token, std::ostream& out) {
  for (const v1::Interaction& i : interactions) {
    out << i.interaction_id() << "  " << Short(v1::InteractionType_descriptor(), i.type()) << "  "
        << i.customer_id() << "  " << FormatTime(i.occurs_at()) << "  " << StatusOf(i) << "\n";
  }
  PrintNextPageToken(out, next_page_token);
}

void PrintInteractionList(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::ListInteractionsResponse&>(m);
  PrintInteractionLines(r.interactions(), r.next_page_token(), out);
}

void PrintDueRevisits(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::ListDueRevisitsResponse&>(m);
  PrintInteractionLines(r.revisits(), r.next_page_token(), out);
}

void PrintTimeline(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::GetTimelineResponse&>(m);
  PrintInteractionLines(r.interactions(), r.next_page_token(), out);
}

// MM-DD  next_on  customer_id  contact_id  contact_name
void PrintBirthdays(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::ListUpcomingBirthdaysResponse&>(m);
  for (const v1::UpcomingBirthday& b : r.birthdays()) {
    out << b.birthday() << "  " << FormatTime(b.next_on()) << "  " << b.customer_id() << "  "
        << b.contact_id() << "  " << OrDash(b.contact_name()) << "\n";
  }
}

std::string Join(const pb::RepeatedPtrField<std::string>& items) {
  return items.empty() ? "-" : absl::StrJoin(items, ", ");
}

void PrintInteraction(const pb::Message& m, std::ostream& out) {
  const v1::Interaction& i = dynamic_cast<const v1::GetInteractionResponse&>(m).interaction();
  auto line = [&out](std::string_view key, const std::string& value) {
    PrintKeyValue(out, key, value);
  };
  // Optional details: only when set.
  auto detail = [&line](std::string_view key, const std::string& value) {
    if (!value.empty() && value != "-") line(key, value);
  };
  line("interaction_id", i.interaction_id());
  line("type", Short(v1::InteractionType_descriptor(), i.type()));
  line("customer_id", i.customer_id());
  line("version", std::to_string(i.version()));
  line("status", StatusOf(i));
  line("occurs_at", FormatTime(i.occurs_at()));
  line("owner", OrDash(i.owner()));
  line("region", OrDash(i.region()));
  switch (i.type()) {
    case v1::INTERACTION_TYPE_VISIT: {
      const v1::Visit& v = i.visit();
      line("purpose", OrDash(v.plan().purpose()));
      line("scheduled_at", FormatTime(v.plan().scheduled_at()));
      line("visitors", Join(v.plan().visitors()));
      detail("agenda", v.plan().agenda());
      detail("materials", Join(v.plan().materials()));
      line("confirmed", v.plan().confirmed_with_customer() ? "yes" : "no");
      detail("cancel_reason", v.cancel_reason());
      if (v.has_record()) {
        line("summary", OrDash(v.record().summary()));
        detail("feedback", v.record().customer_feedback());
        if (v.record().cooperation_intent() != v1::COOPERATION_INTENT_UNSPECIFIED) {
          line("intent",
               Short(v1::CooperationIntent_descriptor(), v.record().cooperation_intent()));
        }
        detail("next_steps", v.record().next_steps());
        detail("visited_at", FormatTime(v.record().visited_at()));
      }
      break;
    }
    case v1::INTERACTION_TYPE_FOLLOW_UP: {
      const v1::FollowUp& f = i.follow_up();
      line("channel", Short(v1::Channel_descriptor(), f.channel()));
      line("content", OrDash(f.content()));
      detail("feedback", f.customer_feedback());
      detail("problems_solved", Join(f.problems_solved()));
      detail("performed_by", f.performed_by());
      detail("performed_at", FormatTime(f.performed_at()));
      break;
    }
    case v1::INTERACTION_TYPE_REVISIT: {
      const v1::Revisit& r = i.revisit();
      line("due_at", FormatTime(r.due_at()));
      line("cadence",
           OrDash(r.cadence_class()) + " (every " + std::to_string(r.cadence_days()) + " days)");
      if (r.overdue_reported()) line("overdue_reported", "yes");
      detail("replaced_by", r.replaced_by());
      if (r.has_record()) {
        detail("progress", r.record().progress());
        if (r.record().satisfaction() != 0) {
          line("satisfaction", std::to_string(r.record().satisfaction()));
        }
        detail("changed_needs", r.record().changed_needs());
        detail("performed_at", FormatTime(r.record().performed_at()));
        if (!r.record().findings().empty()) {
          line("findings", std::to_string(r.record().findings_size()));
        }
        for (const v1::Finding& f : r.record().findings()) {
          out << "  " << OrDash(f.department()) << "  " << f.description() << "\n";
        }
      }
      break;
    }
    case v1::INTERACTION_TYPE_CARE: {
      const v1::Care& c = i.care();
      line("kind", Short(v1::CareKind_descriptor(), c.kind()));
      line("title", OrDash(c.title()));
      line("planned_for", FormatTime(c.planned_for()));
      detail("contact_id", c.contact_id());
      detail("done_at", FormatTime(c.done_at()));
      detail("outcome", c.outcome());
      if (c.evaluation_score() != 0) line("evaluation", std::to_string(c.evaluation_score()));
      detail("evaluation_note", c.evaluation());
      break;
    }
    case v1::INTERACTION_TYPE_SATISFACTION: {
      const v1::Survey& s = i.survey();
      line("score", std::to_string(s.score()));
      detail("comment", s.comment());
      detail("surveyed_at", FormatTime(s.surveyed_at()));
      break;
    }
    default:
      break;
  }
  line("created_by", OrDash(i.created_by()));
  line("created_at", FormatTime(i.created_at()));
  line("updated_at", FormatTime(i.updated_at()));
}

}  // namespace

void AddInteractionCommands(CLI::App& app, Env env) {
  if (env == nullptr) env = std::make_shared<InteractionCommandEnv>();
  AddRpcGroup(app,
              {.name = "interaction",
               .help = "Call crm.interaction.v1.InteractionService (one subcommand per RPC)",
               .entity = "interaction",
               .addr_env = "CRM_INTERACTION_ADDR",
               .default_addr = "127.0.0.1:50052",
               .enum_examples = "phone, on-site, follow-up, birthday-wish"},
              Rpcs(env), env->out, env->err);
}

}  // namespace crm::crmctl
