#include "crm/domain/not_found.h"
#include "crm/interaction/app/sales_app.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crm/auth/access.h"
#include "crm/command/as_of.h"
#include "crm/command/history.h"
#include "crm/command/page.h"
#include "crm/command/serve.h"
#include "crm/common/field_errors.h"
#include "crm/common/ids.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/domain/validation.h"
#include "crm/interaction/app/app_parts.h"
#include "crm/interaction/domain/interaction_aggregate.h"
#include "crm/interaction/domain/pipeline_report.h"
#include "crm/interaction/projection/campaign_projection.h"
#include "crm/interaction/projection/interaction_projection.h"
#include "crm/interaction/projection/opportunity_projection.h"

namespace crm::interaction {
namespace {

using auth::Principal;
using auth::Role;
using domain::CustomerRef;

// Managers and above: executives, admins and services anywhere; a regional
// manager in the opportunity's region.
bool IsManagerIn(const Principal& who, const std::string& region) {
  if (who.Has(Role::kExecutive) || who.Has(Role::kAdmin) || who.Has(Role::kService)) return true;
  return who.Has(Role::kRegionalManager) && !who.region.empty() && who.region == region;
}
bool IsManagerOf(const Principal& who, const v1::Opportunity& o) {
  return IsManagerIn(who, o.region());
}

constexpr char kManagersOnly[] =
    "only managers may do this (regional_manager of the opportunity's region, executive, admin "
    "or service)";

// The opportunity's owner sees it as a rep sees the customers it owns: with a
// role whose scope is "own" (sales_rep, service_agent; libs/auth ListScope).
bool OwnsIt(const Principal& who, const v1::Opportunity& o) {
  const std::string& own = auth::ScopeFor(who).owner;
  return !own.empty() && o.owner() == own;
}

using Target = command::Target<v1::Opportunity>;
using CreateTarget = command::Target<v1::Opportunity, CustomerRef>;
// The customer's region now (assignments take it over).
using AssignTarget = command::Target<v1::Opportunity, std::string>;
using Outcome = command::Outcome<v1::Opportunity, v1::InteractionEvent>;

// The overdue reporter's request.
struct Overdue {
  std::string opportunity_id;
  std::string step_id;
};

}  // namespace

const OpportunityAggregate& Opportunities() {
  static const OpportunityAggregate* const kOpportunities = new OpportunityAggregate{
      .name = "opportunity",
      .stream_prefix = OpportunityStreamFor(""),
      .state_projection = std::string(kOpportunitiesProjection),
      .apply = [](v1::Opportunity& s, const v1::InteractionEvent& e,
                  const domain::EventMeta& m) { ApplyOpportunity(s, e, m); },
      .event_type = [](const v1::InteractionEvent& e) { return EventType(e); },
      .partition_key = [](const v1::InteractionEvent& e) { return e.customer_id(); },
      .rows = [](const v1::Opportunity& before, const v1::Opportunity& after, const Events&,
                 absl::Time) { return OpportunityRowWrites(before, after); }};
  return *kOpportunities;
}

struct SalesApp::Parts : AppParts {
  explicit Parts(const SalesAppOptions& o) : AppParts(*o.pipeline, o.customers), o(o) {}

  const SalesAppOptions& o;

  SalesContext Context(const command::Decision& d) const {
    return SalesContext{.actor = d.actor, .now = d.now, .stages = &o.stages};
  }

  // The opportunity, when it exists and `who` may see it: through its customer,
  // or as its owner.
  absl::StatusOr<v1::Opportunity> LoadVisible(const Principal& who, const std::string& id) const {
    RETURN_IF_ERROR(domain::ValidateId("opportunity_id", id, domain::Presence::kRequired));
    ASSIGN_OR_RETURN(std::optional<v1::Opportunity> o, LoadOpportunity(store, id));
    // One whose customer the caller may not see answers like an absent one.
    if (!o) return domain::ObjectNotFound("opportunity", id);
    if (OwnsIt(who, *o)) return *std::move(o);
    RETURN_IF_ERROR(
        domain::HiddenObject(VisibleCustomer(who, o->customer_id()).status(), "opportunity", id));
    return *std::move(o);
  }

  // A campaign named as the source must exist (a malformed id is the decision's
  // INVALID_ARGUMENT).
  absl::Status CheckSourceCampaign(const v1::OpportunityDetails& d) const {
    if (d.source() != v1::OPPORTUNITY_SOURCE_CAMPAIGN || d.campaign_id().empty() ||
        !domain::ValidateId("details.campaign_id", d.campaign_id(), domain::Presence::kRequired)
             .ok()) {
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::optional<v1::Campaign> campaign, LoadCampaign(store, d.campaign_id()));
    if (!campaign) {
      return FieldNotFound("details.campaign_id",
                           absl::StrCat("campaign ", d.campaign_id(), " not found"));
    }
    return absl::OkStatus();
  }

  // For lists and reports: one check per customer, the directory only (a list
  // never waits for crm-customer).
  std::function<bool(const v1::Opportunity&)> VisibleFilter(const Principal& who) const {
    return [customers = CustomerFilter(who), who](const v1::Opportunity& o) {
      return OwnsIt(who, o) || customers(o.customer_id());
    };
  }

  template <typename Req>
  command::Command<OpportunityAggregate, Req, v1::WriteResponse> OnOpportunity(
      std::string rpc,
      absl::StatusOr<Events> (*decide)(const v1::Opportunity&, const Req&, const SalesContext&),
      bool managers_only = false) {
    return {.aggregate = &Opportunities(),
            .rpc = std::move(rpc),
            .options = OptionsOf<Req>,
            .load = [this, managers_only](const Principal& who,
                                          const Req& req) -> absl::StatusOr<Target> {
              ASSIGN_OR_RETURN(v1::Opportunity state, LoadVisible(who, req.opportunity_id()));
              if (managers_only && !IsManagerOf(who, state)) {
                return absl::PermissionDeniedError(kManagersOnly);
              }
              return Target{.id = req.opportunity_id(), .state = std::move(state)};
            },
            .decide = [this, decide](const Target& t, const Req& req, const command::Decision& d) {
              return decide(t.state, req, Context(d));
            },
            .respond = [](const Target&, const Outcome& outcome, v1::WriteResponse& r) {
              command::FillWrite(outcome, r);
            }};
  }

  const command::Command<OpportunityAggregate, v1::CreateOpportunityRequest,
                         v1::CreateOpportunityResponse, CustomerRef>
      create{.aggregate = &Opportunities(),
             .rpc = "CreateOpportunity",
             .options = OptionsOf<v1::CreateOpportunityRequest>,
             .load = [this](const Principal& who, const v1::CreateOpportunityRequest& req)
                 -> absl::StatusOr<CreateTarget> {
               ASSIGN_OR_RETURN(CustomerRef customer, VisibleCustomer(who, req.customer_id()));
               RETURN_IF_ERROR(CheckSourceCampaign(req.details()));
               // Another owner than the customer's is an assignment.
               if (!req.owner().empty() && req.owner() != customer.owner &&
                   !IsManagerIn(who, customer.region)) {
                 return absl::PermissionDeniedError(absl::StrCat("owner: ", kManagersOnly));
               }
               return CreateTarget{.id = NewId(), .context = std::move(customer)};
             },
             .decide = [this](const CreateTarget& t, const v1::CreateOpportunityRequest& req,
                              const command::Decision& d) {
               return DecideCreateOpportunity(req, t.id, t.context, Context(d));
             },
             .respond = [](const CreateTarget& t, const Outcome& outcome,
                           v1::CreateOpportunityResponse& r) {
               r.set_opportunity_id(t.id);
               command::FillWrite(outcome, *r.mutable_write());
             }};
  const command::Command<OpportunityAggregate, v1::UpdateOpportunityRequest, v1::WriteResponse>
      update{.aggregate = &Opportunities(),
             .rpc = "UpdateOpportunity",
             .options = OptionsOf<v1::UpdateOpportunityRequest>,
             .load = [this](const Principal& who, const v1::UpdateOpportunityRequest& req)
                 -> absl::StatusOr<Target> {
               ASSIGN_OR_RETURN(v1::Opportunity state, LoadVisible(who, req.opportunity_id()));
               RETURN_IF_ERROR(CheckSourceCampaign(req.details()));
               return Target{.id = req.opportunity_id(), .state = std::move(state)};
             },
             .decide = [this](const Target& t, const v1::UpdateOpportunityRequest& req,
                              const command::Decision& d) {
               return DecideUpdateOpportunity(t.state, req, Context(d));
             },
             .respond = [](const Target&, const Outcome& outcome, v1::WriteResponse& r) {
               command::FillWrite(outcome, r);
             }};
  const command::Command<OpportunityAggregate, v1::AssignOpportunityRequest, v1::WriteResponse,
                         std::string>
      assign{.aggregate = &Opportunities(),
             .rpc = "AssignOpportunity",
             .options = OptionsOf<v1::AssignOpportunityRequest>,
             .load = [this](const Principal& who, const v1::AssignOpportunityRequest& req)
                 -> absl::StatusOr<AssignTarget> {
               ASSIGN_OR_RETURN(v1::Opportunity state, LoadVisible(who, req.opportunity_id()));
               if (!IsManagerOf(who, state)) return absl::PermissionDeniedError(kManagersOnly);
               ASSIGN_OR_RETURN(std::optional<customer::v1::Customer> entry,
                                directory::LoadDirectoryEntry(store, state.customer_id()));
               return AssignTarget{.id = req.opportunity_id(),
                                   .state = std::move(state),
                                   .context = entry ? entry->region() : std::string()};
             },
             .decide = [this](const AssignTarget& t, const v1::AssignOpportunityRequest& req,
                              const command::Decision& d) {
               return DecideAssignOpportunity(t.state, req, t.context, Context(d));
             },
             .respond = [](const AssignTarget&, const Outcome& outcome, v1::WriteResponse& r) {
               command::FillWrite(outcome, r);
             }};
  const command::Command<OpportunityAggregate, v1::MoveOpportunityStageRequest, v1::WriteResponse>
      move = OnOpportunity<v1::MoveOpportunityStageRequest>("MoveOpportunityStage",
                                                            DecideMoveStage);
  const command::Command<OpportunityAggregate, v1::SetOpportunityProbabilityRequest,
                         v1::WriteResponse>
      set_probability = OnOpportunity<v1::SetOpportunityProbabilityRequest>(
          "SetOpportunityProbability", DecideSetProbability);
  const command::Command<OpportunityAggregate, v1::WinOpportunityRequest, v1::WriteResponse> win =
      OnOpportunity<v1::WinOpportunityRequest>("WinOpportunity", DecideWin);
  const command::Command<OpportunityAggregate, v1::LoseOpportunityRequest, v1::WriteResponse>
      lose = OnOpportunity<v1::LoseOpportunityRequest>("LoseOpportunity", DecideLose);
  const command::Command<OpportunityAggregate, v1::ReopenOpportunityRequest, v1::WriteResponse>
      reopen = OnOpportunity<v1::ReopenOpportunityRequest>("ReopenOpportunity", DecideReopen,
                                                           /*managers_only=*/true);
  const command::Command<OpportunityAggregate, v1::AddPlanStepRequest, v1::AddPlanStepResponse>
      add_step{.aggregate = &Opportunities(),
               .rpc = "AddPlanStep",
               .options = OptionsOf<v1::AddPlanStepRequest>,
               .load = [this](const Principal& who,
                              const v1::AddPlanStepRequest& req) -> absl::StatusOr<Target> {
                 ASSIGN_OR_RETURN(v1::Opportunity state, LoadVisible(who, req.opportunity_id()));
                 return Target{.id = req.opportunity_id(), .state = std::move(state)};
               },
               .decide = [this](const Target& t, const v1::AddPlanStepRequest& req,
                                const command::Decision& d) {
                 return DecideAddPlanStep(t.state, req, Context(d));
               },
               .respond = [](const Target&, const Outcome& outcome, v1::AddPlanStepResponse& r) {
                 if (!outcome.after.plan().empty()) {
                   r.set_step_id(outcome.after.plan().rbegin()->step_id());
                 }
                 command::FillWrite(outcome, *r.mutable_write());
               }};
  const command::Command<OpportunityAggregate, v1::CompletePlanStepRequest, v1::WriteResponse>
      complete_step{
          .aggregate = &Opportunities(),
          .rpc = "CompletePlanStep",
          .options = OptionsOf<v1::CompletePlanStepRequest>,
          .load = [this](const Principal& who,
                         const v1::CompletePlanStepRequest& req) -> absl::StatusOr<Target> {
            ASSIGN_OR_RETURN(v1::Opportunity state, LoadVisible(who, req.opportunity_id()));
            // The visit or follow-up that carried the step out: of the same customer.
            RETURN_IF_ERROR(
                CheckCarriedOutBy("interaction_id", req.interaction_id(), state.customer_id()));
            return Target{.id = req.opportunity_id(), .state = std::move(state)};
          },
          .decide = [this](const Target& t, const v1::CompletePlanStepRequest& req,
                           const command::Decision& d) {
            return DecideCompletePlanStep(t.state, req, Context(d));
          },
          .respond = [](const Target&, const Outcome& outcome, v1::WriteResponse& r) {
            command::FillWrite(outcome, r);
          }};
  // The overdue reporter's: decided on the opportunity's current state.
  const command::Command<OpportunityAggregate, Overdue, Applied> report_overdue{
      .aggregate = &Opportunities(),
      .rpc = "ReportStepOverdue",
      .load = [this](const Principal&, const Overdue& r) -> absl::StatusOr<Target> {
        ASSIGN_OR_RETURN(std::optional<v1::Opportunity> o, LoadOpportunity(store, r.opportunity_id));
        if (!o) return absl::NotFoundError(absl::StrCat("opportunity ", r.opportunity_id, " not found"));
        return Target{.id = r.opportunity_id, .state = *std::move(o)};
      },
      .decide = [this](const Target& t, const Overdue& r, const command::Decision& d) {
        return DecideReportStepOverdue(t.state, r.step_id, Context(d));
      },
      .respond = [](const Target&, const Outcome& outcome, Applied& a) {
        a.events = outcome.events.size();
      }};
};

SalesApp::SalesApp(SalesAppOptions options)
    : o_(std::move(options)), parts_(std::make_unique<Parts>(o_)) {}

SalesApp::~SalesApp() = default;

#define CRM_SALES_COMMAND(Method, Request, Response, member)                                \
  void SalesApp::Method(const Principal& who, const v1::Request& req, v1::Response* resp, \
                        command::Done done) {                                             \
    o_.pipeline->Run(parts_->member, who, req, resp, std::move(done));                    \
  }
CRM_SALES_COMMAND(CreateOpportunity, CreateOpportunityRequest, CreateOpportunityResponse, create)
CRM_SALES_COMMAND(UpdateOpportunity, UpdateOpportunityRequest, WriteResponse, update)
CRM_SALES_COMMAND(AssignOpportunity, AssignOpportunityRequest, WriteResponse, assign)
CRM_SALES_COMMAND(MoveOpportunityStage, MoveOpportunityStageRequest, WriteResponse, move)
CRM_SALES_COMMAND(SetOpportunityProbability, SetOpportunityProbabilityRequest, WriteResponse,
                  set_probability)
CRM_SALES_COMMAND(WinOpportunity, WinOpportunityRequest, WriteResponse, win)
CRM_SALES_COMMAND(LoseOpportunity, LoseOpportunityRequest, WriteResponse, lose)
CRM_SALES_COMMAND(ReopenOpportunity, ReopenOpportunityRequest, WriteResponse, reopen)
CRM_SALES_COMMAND(AddPlanStep, AddPlanStepRequest, AddPlanStepResponse, add_step)
CRM_SALES_COMMAND(CompletePlanStep, CompletePlanStepRequest, WriteResponse, complete_step)
#undef CRM_SALES_COMMAND

absl::Status SalesApp::GetOpportunity(const Principal& who, const v1::GetOpportunityRequest& req,
                                      v1::GetOpportunityResponse* resp) {
  ASSIGN_OR_RETURN(v1::Opportunity current, parts_->LoadVisible(who, req.opportunity_id()));
  if (!req.has_as_of()) {
    *resp->mutable_opportunity() = std::move(current);
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(domain::ValidateTimestamp("as_of", req.as_of()));
  ASSIGN_OR_RETURN(v1::Opportunity past,
                   command::ExistingStateAsOf(Opportunities(), parts_->store, req.opportunity_id(),
                                              FromProtoTimestamp(req.as_of())));
  *resp->mutable_opportunity() = std::move(past);
  return absl::OkStatus();
}

absl::Status SalesApp::GetOpportunityHistory(const Principal& who,
                                             const v1::GetOpportunityHistoryRequest& req,
                                             v1::GetOpportunityHistoryResponse* resp) {
  RETURN_IF_ERROR(command::PageSize(req.page_size(), command::kHistoryPageSize).status());
  RETURN_IF_ERROR(parts_->LoadVisible(who, req.opportunity_id()).status());
  return command::ReadHistoryPage(parts_->store, OpportunityStreamFor(req.opportunity_id()),
                                  "GetOpportunityHistory", req, who, resp);
}

absl::Status SalesApp::ListOpportunities(const Principal& who,
                                         const v1::ListOpportunitiesRequest& req,
                                         v1::ListOpportunitiesResponse* resp) {
  ASSIGN_OR_RETURN(size_t page_size, command::PageSize(req.page_size(), 50));
  RETURN_IF_ERROR(domain::ValidateEnum("stage", req.stage(), v1::OpportunityStage_IsValid,
                                       domain::Presence::kOptional));
  RETURN_IF_ERROR(domain::ValidateEnum("status", req.status(), v1::OpportunityStatus_IsValid,
                                       domain::Presence::kOptional));
  RETURN_IF_ERROR(domain::ValidateId("customer_id", req.customer_id(), domain::Presence::kOptional));
  RETURN_IF_ERROR(domain::ValidateId("owner", req.owner(), domain::Presence::kOptional));
  RETURN_IF_ERROR(domain::ValidateId("region", req.region(), domain::Presence::kOptional));
  RETURN_IF_ERROR(domain::ValidateDate("close_from", req.close_from()));
  RETURN_IF_ERROR(domain::ValidateDate("close_to", req.close_to()));
  if (!req.close_from().empty() && !req.close_to().empty() && req.close_to() < req.close_from()) {
    return InvalidField("close_to", "must not be before close_from");
  }
  OpportunityQuery q{.page_size = page_size,
                     .page_token = req.page_token(),
                     .binding = command::PageBinding("ListOpportunities", req, who)};
  if (!req.customer_id().empty()) {
    RETURN_IF_ERROR(parts_->VisibleCustomer(who, req.customer_id()).status());
    q.index = OpportunityIndex::kCustomer;
    q.value = req.customer_id();
  } else if (!req.owner().empty()) {
    q.index = OpportunityIndex::kOwner;
    q.value = req.owner();
  } else if (!req.region().empty()) {
    q.index = OpportunityIndex::kRegion;
    q.value = req.region();
  }
  auto visible = parts_->VisibleFilter(who);
  ASSIGN_OR_RETURN(
      OpportunityPage page,
      interaction::ListOpportunities(parts_->store, q, [&](const v1::Opportunity& o) {
        const std::string& close = o.details().expected_close_date();
        const bool open = IsOpenStage(o.stage());
        return (req.owner().empty() || o.owner() == req.owner()) &&
               (req.region().empty() || o.region() == req.region()) &&
               (req.stage() == 0 || o.stage() == req.stage()) &&
               (req.status() != v1::OPPORTUNITY_STATUS_OPEN || open) &&
               (req.status() != v1::OPPORTUNITY_STATUS_CLOSED || !open) &&
               (req.close_from().empty() || close >= req.close_from()) &&
               (req.close_to().empty() || close <= req.close_to()) && visible(o);
      }));
  for (v1::Opportunity& o : page.opportunities) {
    o.clear_plan();
    o.clear_owner_history();
    o.clear_stage_history();
    *resp->add_opportunities() = std::move(o);
  }
  resp->set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

absl::Status SalesApp::ListOverduePlanSteps(const Principal& who,
                                            const v1::ListOverduePlanStepsRequest& req,
                                            v1::ListOverduePlanStepsResponse* resp) {
  ASSIGN_OR_RETURN(size_t page_size, command::PageSize(req.page_size(), 50));
  const std::string responsible = req.responsible().empty() ? who.subject : req.responsible();
  RETURN_IF_ERROR(domain::ValidateId("responsible", responsible, domain::Presence::kRequired));
  auto visible = parts_->VisibleFilter(who);
  std::map<std::string, std::optional<v1::Opportunity>> seen;
  absl::Status failure;
  ASSIGN_OR_RETURN(
      TodoPage page,
      ListTodo(parts_->store, responsible, domain::UtcDateOf(parts_->Now()), page_size, req.page_token(),
               command::PageBinding("ListOverduePlanSteps", req, who),
               [&](const std::string& opportunity_id) {
                 auto [it, inserted] = seen.try_emplace(opportunity_id);
                 if (inserted) {
                   absl::StatusOr<std::optional<v1::Opportunity>> o =
                       LoadOpportunity(parts_->store, opportunity_id);
                   if (!o.ok()) {
                     failure.Update(o.status());
                   } else if (*o && visible(**o)) {
                     it->second = **o;
                   }
                 }
                 return it->second.has_value();
               }));
  RETURN_IF_ERROR(failure);
  for (const StepRef& ref : page.steps) {
    const v1::Opportunity& o = *seen[ref.opportunity_id];
    for (const v1::PlanStep& s : o.plan()) {
      if (s.step_id() != ref.step_id) continue;
      v1::OverduePlanStep* out = resp->add_steps();
      out->set_opportunity_id(o.opportunity_id());
      out->set_customer_id(o.customer_id());
      out->set_title(o.details().title());
      *out->mutable_step() = s;
    }
  }
  resp->set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

void SalesApp::GetPipelineReport(const Principal& who, const v1::GetPipelineReportRequest& req,
                                 v1::GetPipelineReportResponse* resp, command::Done done) {
  command::RunOn(o_.slow_queries, std::move(done),
                 [this, who, &req, resp] { return PipelineReport(who, req, resp); });
}

absl::Status SalesApp::PipelineReport(const Principal& who,
                                      const v1::GetPipelineReportRequest& req,
                                      v1::GetPipelineReportResponse* resp) {
  ASSIGN_OR_RETURN(const command::ReportTime when, command::ReportTimeOf(req, parts_->Now()));
  ASSIGN_OR_RETURN(const ReportPeriod period,
                   ParseReportPeriod(req.period_from(), req.period_to(), when.at));
  RETURN_IF_ERROR(domain::ValidateId("owner", req.owner(), domain::Presence::kOptional));
  RETURN_IF_ERROR(domain::ValidateId("region", req.region(), domain::Presence::kOptional));

  PipelineReportBuilder report(when.at, period);
  auto visible = parts_->VisibleFilter(who);
  RETURN_IF_ERROR(ForEachOpportunity(parts_->store, [&](const v1::Opportunity& row) -> absl::Status {
    if (!visible(row)) return absl::OkStatus();  // (on the current row: before any replay)
    v1::Opportunity past;
    ASSIGN_OR_RETURN(const v1::Opportunity* o,
                     command::RowAsOf(Opportunities(), parts_->store, row.opportunity_id(), row,
                                      FromProtoTimestamp(row.created_at()), when.as_of, past));
    if (o == nullptr) return absl::OkStatus();
    if ((!req.owner().empty() && o->owner() != req.owner()) ||
        (!req.region().empty() && o->region() != req.region())) {
      return absl::OkStatus();
    }
    report.Add(*o);
    return absl::OkStatus();
  }));
  *resp->mutable_report() = report.Finish();
  return absl::OkStatus();
}

absl::StatusOr<int> SalesApp::ReportOverdueSteps() {
  const std::string today = domain::UtcDateOf(parts_->Now());
  return ReportInRounds<StepRef>(
      [&] { return StepsPlannedBefore(parts_->store, today, 500); },
      [&](const StepRef& ref) -> absl::StatusOr<bool> {
        ASSIGN_OR_RETURN(Applied applied,
                         o_.pipeline->Execute(parts_->report_overdue, ServicePrincipal(),
                                              Overdue{ref.opportunity_id, ref.step_id}));
        return applied.events > 0;
      });
}

}  // namespace crm::interaction
