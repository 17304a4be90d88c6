#include "crm/domain/not_found.h"
#include "crm/interaction/app/interaction_app.h"

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crm/auth/access.h"
#include "crm/command/page.h"
#include "crm/command/rebuild.h"
#include "crm/command/serve.h"
#include "crm/common/ids.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/interaction/app/app_parts.h"
#include "crm/interaction/app/campaign_app.h"
#include "crm/interaction/app/churn_app.h"
#include "crm/interaction/app/sales_app.h"
#include "crm/interaction/projection/campaign_projection.h"
#include "crm/interaction/projection/churn_projection.h"
#include "crm/interaction/projection/interaction_projection.h"
#include "crm/interaction/projection/opportunity_projection.h"

namespace crm::interaction {
namespace {

using auth::Principal;
using eventstore::ProjectionWrite;

using Target = command::Target<v1::Interaction>;
using CreateTarget = command::Target<v1::Interaction, CustomerRef>;
using Outcome = command::Outcome<v1::Interaction, v1::InteractionEvent>;

DecideContext Context(const command::Decision& d) { return DecideContext{d.actor, d.now}; }

void CountEvents(const Target&, const Outcome& outcome, Applied& a) {
  a.events = outcome.events.size();
}

// The worker commands' requests.
struct Schedule {
  std::string interaction_id;
  CustomerRef customer;
  absl::Time due_at;
  Cadence cadence;
};
struct Replan {
  std::string interaction_id;
  std::string replaced_by;
  std::string new_class;
};
struct Overdue {
  std::string interaction_id;
};

}  // namespace

const InteractionAggregate& Interactions() {
  static const InteractionAggregate* const kInteractions = new InteractionAggregate{
      .name = "interaction",
      .stream_prefix = StreamFor(""),
      .state_projection = std::string(kInteractionsProjection),
      .apply = [](v1::Interaction& s, const v1::InteractionEvent& e,
                  const domain::EventMeta& m) { Apply(s, e, m); },
      .event_type = [](const v1::InteractionEvent& e) { return EventType(e); },
      .partition_key = [](const v1::InteractionEvent& e) { return e.customer_id(); },
      .rows = [](const v1::Interaction& before, const v1::Interaction& after,
                 const Events&, absl::Time) { return RowWrites(before, after); }};
  return *kInteractions;
}

std::unique_ptr<eventstore::ProjectionSetProjector> NewRebuildProjector() {
  return std::make_unique<command::Projectors>(
      std::vector<std::shared_ptr<const eventstore::ProjectionSetProjector>>{
          std::make_shared<command::AggregateProjector<InteractionAggregate>>(Interactions()),
          std::make_shared<command::AggregateProjector<OpportunityAggregate>>(Opportunities()),
          std::make_shared<command::AggregateProjector<ChurnCaseAggregate>>(ChurnCases()),
          std::make_shared<command::AggregateProjector<CampaignAggregate>>(Campaigns())});
}

std::vector<std::string> RebuildTargets() {
  return {std::string(kInteractionsProjection),    std::string(kInteractionIndexProjection),
          std::string(kOpenRevisitProjection),     std::string(kOpportunitiesProjection),
          std::string(kOpportunityIndexProjection), std::string(kPlanDueProjection),
          std::string(kPlanTodoProjection),        std::string(kCampaignOpportunitiesProjection),
          std::string(kChurnCasesProjection),      std::string(kChurnOpenProjection),
          std::string(kChurnIndexProjection),      std::string(kChurnReviewDueProjection),
          std::string(kChurnLostProjection),       std::string(kCampaignsProjection),
          std::string(kCampaignIndexProjection),   std::string(kCampaignReachProjection),
          std::string(kCampaignTargetsProjection), std::string(kCampaignTargetFactsProjection)};
}

// The commands, built once.
struct InteractionApp::Parts : AppParts {
  explicit Parts(const InteractionAppOptions& o) : AppParts(*o.pipeline, o.customers), o(o) {}

  const InteractionAppOptions& o;

  absl::StatusOr<v1::Interaction> LoadVisible(const Principal& who, const std::string& id) const {
    if (id.empty()) return absl::InvalidArgumentError("interaction_id: required");
    ASSIGN_OR_RETURN(std::optional<v1::Interaction> i, LoadInteraction(store, id));
    // An interaction whose customer the caller may not see answers like an absent one.
    if (!i) return domain::ObjectNotFound("interaction", id);
    RETURN_IF_ERROR(
        domain::HiddenObject(VisibleCustomer(who, i->customer_id()).status(), "interaction", id));
    return *std::move(i);
  }

  // Visibility of a listed interaction: through its customer's current scope.
  std::function<bool(const v1::Interaction&)> VisibleFilter(const Principal& who) const {
    auto cache = std::make_shared<directory::VisibilityCache>(store, o.customers, who, Now());
    return [cache](const v1::Interaction& i) { return cache->Visible(i.customer_id()); };
  }

  // A command that creates an interaction for a customer the caller can see.
  template <typename Req>
  command::Command<InteractionAggregate, Req, v1::CreateResponse, CustomerRef> Creating(
      std::string rpc, absl::StatusOr<Events> (*decide)(const Req&, std::string_view,
                                                        const CustomerRef&, const DecideContext&)) {
    return {.aggregate = &Interactions(),
            .rpc = std::move(rpc),
            .options = OptionsOf<Req>,
            .load = [this](const Principal& who, const Req& req) -> absl::StatusOr<CreateTarget> {
              ASSIGN_OR_RETURN(CustomerRef customer, VisibleCustomer(who, req.customer_id()));
              return CreateTarget{.id = NewId(), .context = std::move(customer)};
            },
            .decide = [decide](const CreateTarget& t, const Req& req,
                               const command::Decision& d) {
              return decide(req, t.id, t.context, Context(d));
            },
            .respond = [](const CreateTarget& t, const Outcome& outcome, v1::CreateResponse& r) {
              r.set_interaction_id(t.id);
              command::FillWrite(outcome, *r.mutable_write());
            }};
  }

  // A command on an interaction the caller can see (through its customer).
  template <typename Req>
  command::Command<InteractionAggregate, Req, v1::WriteResponse> OnInteraction(
      std::string rpc, absl::StatusOr<Events> (*decide)(const v1::Interaction&, const Req&,
                                                        const DecideContext&)) {
    return {.aggregate = &Interactions(),
            .rpc = std::move(rpc),
            .options = OptionsOf<Req>,
            .load = [this](const Principal& who, const Req& req) -> absl::StatusOr<Target> {
              ASSIGN_OR_RETURN(v1::Interaction state, LoadVisible(who, req.interaction_id()));
              return Target{.id = req.interaction_id(), .state = std::move(state)};
            },
            .decide = [decide](const Target& t, const Req& req, const command::Decision& d) {
              return decide(t.state, req, Context(d));
            },
            .respond = [](const Target&, const Outcome& outcome, v1::WriteResponse& r) {
              command::FillWrite(outcome, r);
            },
            // A completed revisit queues its customer, so the next one gets planned.
            .extra_rows = [](const Target& t, const Events& events,
                             std::vector<ProjectionWrite>& out) {
              if (events.empty() || !events.front().has_revisit_completed()) return;
              out.push_back(ProjectionWrite::Put(
                  std::string(kPlanQueueProjection),
                  absl::StrCat(t.state.customer_id(), "/done-", t.state.interaction_id()), ""));
            }};
  }

  // A worker's command on an interaction, whoever may see it.
  template <typename Req>
  command::Command<InteractionAggregate, Req, Applied> Maintaining(
      std::string rpc,
      std::function<absl::StatusOr<Events>(const v1::Interaction&, const Req&, const DecideContext&)>
          decide) {
    return {.aggregate = &Interactions(),
            .rpc = std::move(rpc),
            .load = [this](const Principal&, const Req& req) -> absl::StatusOr<Target> {
              ASSIGN_OR_RETURN(std::optional<v1::Interaction> i,
                               LoadInteraction(store, req.interaction_id));
              if (!i) return absl::NotFoundError(absl::StrCat("interaction ", req.interaction_id,
                                                              " not found"));
              return Target{.id = req.interaction_id, .state = *std::move(i)};
            },
            .decide = [decide](const Target& t, const Req& req, const command::Decision& d) {
              return decide(t.state, req, Context(d));
            },
            .respond = CountEvents};
  }

  const command::Command<InteractionAggregate, v1::PlanVisitRequest, v1::CreateResponse,
                         CustomerRef>
      plan_visit = Creating<v1::PlanVisitRequest>("PlanVisit", DecidePlanVisit);
  const command::Command<InteractionAggregate, v1::LogFollowUpRequest, v1::CreateResponse,
                         CustomerRef>
      log_follow_up = Creating<v1::LogFollowUpRequest>("LogFollowUp", DecideLogFollowUp);
  const command::Command<InteractionAggregate, v1::PlanCareRequest, v1::CreateResponse,
                         CustomerRef>
      plan_care = Creating<v1::PlanCareRequest>("PlanCare", DecidePlanCare);
  const command::Command<InteractionAggregate, v1::RecordSatisfactionRequest,
                         v1::CreateResponse, CustomerRef>
      record_satisfaction = Creating<v1::RecordSatisfactionRequest>("RecordSatisfaction",
                                                                    DecideRecordSatisfaction);
  const command::Command<InteractionAggregate, v1::RescheduleVisitRequest, v1::WriteResponse>
      reschedule_visit =
          OnInteraction<v1::RescheduleVisitRequest>("RescheduleVisit", DecideRescheduleVisit);
  const command::Command<InteractionAggregate, v1::CancelVisitRequest, v1::WriteResponse>
      cancel_visit = OnInteraction<v1::CancelVisitRequest>("CancelVisit", DecideCancelVisit);
  const command::Command<InteractionAggregate, v1::RecordVisitRequest, v1::WriteResponse>
      record_visit = OnInteraction<v1::RecordVisitRequest>("RecordVisit", DecideRecordVisit);
  const command::Command<InteractionAggregate, v1::RecordRevisitRequest, v1::WriteResponse>
      record_revisit =
          OnInteraction<v1::RecordRevisitRequest>("RecordRevisit", DecideRecordRevisit);
  const command::Command<InteractionAggregate, v1::CompleteCareRequest, v1::WriteResponse>
      complete_care = OnInteraction<v1::CompleteCareRequest>("CompleteCare", DecideCompleteCare);
  const command::Command<InteractionAggregate, v1::EvaluateCareRequest, v1::WriteResponse>
      evaluate_care = OnInteraction<v1::EvaluateCareRequest>("EvaluateCare", DecideEvaluateCare);

  // The planner's: schedule a revisit (a new stream), replace one, report one overdue.
  const command::Command<InteractionAggregate, Schedule, Applied> schedule_revisit{
      .aggregate = &Interactions(),
      .rpc = "ScheduleRevisit",
      .load = [](const Principal&, const Schedule& s) -> absl::StatusOr<Target> {
        return Target{.id = s.interaction_id};
      },
      .decide = [](const Target&, const Schedule& s, const command::Decision& d) {
        return DecideScheduleRevisit(s.interaction_id, s.customer, s.due_at, s.cadence, Context(d));
      },
      .respond = CountEvents};
  const command::Command<InteractionAggregate, Replan, Applied> replan_revisit =
      Maintaining<Replan>("ReplanRevisit", [](const v1::Interaction& state, const Replan& r,
                                              const DecideContext& ctx) {
        return DecideReplanRevisit(state, r.replaced_by, r.new_class, ctx);
      });
  const command::Command<InteractionAggregate, Overdue, Applied> report_overdue =
      Maintaining<Overdue>("ReportOverdue",
                           [](const v1::Interaction& state, const Overdue&,
                              const DecideContext& ctx) { return DecideReportOverdue(state, ctx); });
};

InteractionApp::InteractionApp(InteractionAppOptions options)
    : o_(std::move(options)), parts_(std::make_unique<Parts>(o_)) {}

InteractionApp::~InteractionApp() = default;

#define CRM_INTERACTION_COMMAND(Method, Request, Response, member)                    \
  void InteractionApp::Method(const Principal& who, const v1::Request& req,             \
                              v1::Response* resp, command::Done done) {                 \
    o_.pipeline->Run(parts_->member, who, req, resp, std::move(done));                  \
  }
CRM_INTERACTION_COMMAND(PlanVisit, PlanVisitRequest, CreateResponse, plan_visit)
CRM_INTERACTION_COMMAND(LogFollowUp, LogFollowUpRequest, CreateResponse, log_follow_up)
CRM_INTERACTION_COMMAND(PlanCare, PlanCareRequest, CreateResponse, plan_care)
CRM_INTERACTION_COMMAND(RecordSatisfaction, RecordSatisfactionRequest, CreateResponse,
                        record_satisfaction)
CRM_INTERACTION_COMMAND(RescheduleVisit, RescheduleVisitRequest, WriteResponse, reschedule_visit)
CRM_INTERACTION_COMMAND(CancelVisit, CancelVisitRequest, WriteResponse, cancel_visit)
CRM_INTERACTION_COMMAND(RecordVisit, RecordVisitRequest, WriteResponse, record_visit)
CRM_INTERACTION_COMMAND(RecordRevisit, RecordRevisitRequest, WriteResponse, record_revisit)
CRM_INTERACTION_COMMAND(CompleteCare, CompleteCareRequest, WriteResponse, complete_care)
CRM_INTERACTION_COMMAND(EvaluateCare, EvaluateCareRequest, WriteResponse, evaluate_care)
#undef CRM_INTERACTION_COMMAND

absl::Status InteractionApp::GetInteraction(const Principal& who,
                                            const v1::GetInteractionRequest& req,
                                            v1::GetInteractionResponse* resp) {
  ASSIGN_OR_RETURN(*resp->mutable_interaction(), parts_->LoadVisible(who, req.interaction_id()));
  return absl::OkStatus();
}

absl::Status InteractionApp::ListInteractions(const Principal& who,
                                              const v1::ListInteractionsRequest& req,
                                              v1::ListInteractionsResponse* resp) {
  ASSIGN_OR_RETURN(size_t page_size, command::PageSize(req.page_size(), 50));
  if (!v1::InteractionType_IsValid(req.type())) {
    return absl::InvalidArgumentError(absl::StrCat("type: unknown value ", req.type()));
  }
  Query q{.page_size = page_size,
          .page_token = req.page_token(),
          .binding = command::PageBinding("ListInteractions", req, who)};
  if (!req.customer_id().empty()) {
    RETURN_IF_ERROR(parts_->VisibleCustomer(who, req.customer_id()).status());
    q.index = Index::kCustomerNewest;
    q.value = req.customer_id();
  } else if (!req.owner().empty()) {
    q.index = Index::kOwner;
    q.value = req.owner();
  } else if (!req.region().empty()) {
    q.index = Index::kRegion;
    q.value = req.region();
  }
  const bool has_from = req.has_from(), has_to = req.has_to();
  const absl::Time from = FromProtoTimestamp(req.from()), to = FromProtoTimestamp(req.to());
  if (has_from && has_to && to <= from) return absl::InvalidArgumentError("to: must be after from");
  auto visible = parts_->VisibleFilter(who);
  ASSIGN_OR_RETURN(Page page, interaction::ListInteractions(
                                  parts_->store, q, [&](const v1::Interaction& i) {
                                    const absl::Time at = FromProtoTimestamp(i.occurs_at());
                                    return (req.type() == 0 || i.type() == req.type()) &&
                                           (req.owner().empty() || i.owner() == req.owner()) &&
                                           (req.region().empty() || i.region() == req.region()) &&
                                           (!has_from || at >= from) && (!has_to || at < to) &&
                                           visible(i);
                                  }));
  for (v1::Interaction& i : page.interactions) *resp->add_interactions() = std::move(i);
  resp->set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

absl::Status InteractionApp::ListDueRevisits(const Principal& who,
                                             const v1::ListDueRevisitsRequest& req,
                                             v1::ListDueRevisitsResponse* resp) {
  ASSIGN_OR_RETURN(size_t page_size, command::PageSize(req.page_size(), 50));
  if (req.within_days() < 0 || req.within_days() > 3660) {
    return absl::InvalidArgumentError("within_days: must be 0..3660");
  }
  Query q{.index = Index::kDue,
          .page_size = page_size,
          .page_token = req.page_token(),
          .binding = command::PageBinding("ListDueRevisits", req, who),
          .due_until = parts_->Now() + absl::Hours(24) * req.within_days()};
  auto visible = parts_->VisibleFilter(who);
  ASSIGN_OR_RETURN(Page page, interaction::ListInteractions(
                                  parts_->store, q, [&](const v1::Interaction& i) {
                                    return (req.owner().empty() || i.owner() == req.owner()) &&
                                           (req.region().empty() || i.region() == req.region()) &&
                                           visible(i);
                                  }));
  for (v1::Interaction& i : page.interactions) *resp->add_revisits() = std::move(i);
  resp->set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

absl::Status InteractionApp::GetTimeline(const Principal& who, const v1::GetTimelineRequest& req,
                                         v1::GetTimelineResponse* resp) {
  ASSIGN_OR_RETURN(size_t page_size, command::PageSize(req.page_size(), 100));
  RETURN_IF_ERROR(parts_->VisibleCustomer(who, req.customer_id()).status());
  Query q{.index = Index::kTimeline,
          .value = req.customer_id(),
          .page_size = page_size,
          .page_token = req.page_token(),
          .binding = command::PageBinding("GetTimeline", req, who)};
  ASSIGN_OR_RETURN(Page page, interaction::ListInteractions(
                                  parts_->store, q, [](const v1::Interaction&) { return true; }));
  for (v1::Interaction& i : page.interactions) *resp->add_interactions() = std::move(i);
  resp->set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

void InteractionApp::ListUpcomingBirthdays(const Principal& who,
                                           const v1::ListUpcomingBirthdaysRequest& req,
                                           v1::ListUpcomingBirthdaysResponse* resp,
                                           command::Done done) {
  command::RunOn(o_.slow_queries, std::move(done),
                 [this, who, &req, resp] { return UpcomingBirthdays(who, req, resp); });
}

absl::Status InteractionApp::UpcomingBirthdays(const Principal& who,
                                               const v1::ListUpcomingBirthdaysRequest& req,
                                               v1::ListUpcomingBirthdaysResponse* resp) {
  const int days = req.within_days() == 0 ? 30 : req.within_days();
  if (days < 1 || days > 366) return absl::InvalidArgumentError("within_days: must be 1..366");
  const absl::Time now = parts_->Now();
  const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
  // Walks the directory: O(customers); fine for the sizes this serves today.
  ASSIGN_OR_RETURN(auto rows, parts_->store.ScanProjection(directory::kDirectoryProjection, "", "",
                                                           SIZE_MAX));
  const auth::ListScope scope = auth::ScopeFor(who);
  for (const auto& [id, row] : rows) {
    customer::v1::Customer c;
    if (!c.ParseFromString(row)) return absl::DataLossError("corrupt directory row");
    if ((!req.owner().empty() && c.owner() != req.owner()) ||
        (!req.region().empty() && c.region() != req.region()) ||
        !scope.Allows({id, c.owner(), c.region()})) {
      continue;
    }
    for (const auto& contact : c.contacts()) {
      const std::string& b = contact.personal().birthday();
      if (b.size() < 5) continue;
      int month = 0, day = 0;
      if (sscanf(b.substr(b.size() - 5).c_str(), "%2d-%2d", &month, &day) != 2) continue;
      for (int year_offset = 0; year_offset <= 1; ++year_offset) {
        const absl::CivilDay next(today.year() + year_offset, month, day);
        if (next.month() != month) break;  // 02-29 outside leap years
        const auto ahead = next - today;
        if (ahead < 0) continue;
        if (ahead < days) {
          v1::UpcomingBirthday* u = resp->add_birthdays();
          u->set_customer_id(id);
          u->set_contact_id(contact.contact_id());
          u->set_contact_name(contact.personal().name());
          u->set_birthday(b.substr(b.size() - 5));
          *u->mutable_next_on() = ToProtoTimestamp(absl::FromCivil(next, absl::UTCTimeZone()));
        }
        break;
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> InteractionApp::PlanRevisits() {
  ASSIGN_OR_RETURN(auto queued, parts_->store.ScanProjection(kPlanQueueProjection, "", "", 1000));
  std::map<std::string, std::vector<std::string>> keys_by_customer;
  for (const auto& [key, unused] : queued) {
    keys_by_customer[key.substr(0, key.find('/'))].push_back(key);
  }
  int handled = 0;
  for (const auto& [customer_id, keys] : keys_by_customer) {
    RETURN_IF_ERROR(PlanFor(customer_id));
    std::vector<ProjectionWrite> done;
    for (const std::string& k : keys) {
      done.push_back(ProjectionWrite::Delete(std::string(kPlanQueueProjection), k));
    }
    RETURN_IF_ERROR(parts_->store.WriteProjections(done));
    ++handled;
  }
  return handled;
}

absl::Status InteractionApp::PlanFor(const std::string& customer_id) {
  ASSIGN_OR_RETURN(std::optional<customer::v1::Customer> entry,
                   directory::LoadDirectoryEntry(parts_->store, customer_id));
  if (!entry) return absl::OkStatus();  // planned once its registration is consumed
  ASSIGN_OR_RETURN(auto raw_classes, directory::LoadClasses(parts_->store, customer_id));
  std::map<classification::v1::Scheme, std::string> classes;
  for (const auto& [scheme, cls] : raw_classes) {
    classes[static_cast<classification::v1::Scheme>(scheme)] = cls;
  }
  const Cadence cadence = CadenceFor(classes, o_.cadence);
  const absl::Time now = parts_->Now();
  ASSIGN_OR_RETURN(std::vector<v1::Interaction> open, LoadOpenRevisits(parts_->store, customer_id));
  std::string keep;
  for (const v1::Interaction& r : open) {
    if (r.revisit().cadence_class() == cadence.cadence_class &&
        r.revisit().cadence_days() == cadence.days) {
      keep = r.interaction_id();
      break;
    }
  }
  if (keep.empty()) {
    keep = NewId();
    RETURN_IF_ERROR(
        o_.pipeline
            ->Execute(parts_->schedule_revisit, ServicePrincipal(),
                      Schedule{keep, {customer_id, entry->owner(), entry->region()},
                               NextDue(std::nullopt, now, cadence), cadence})
            .status());
  }
  for (const v1::Interaction& r : open) {
    if (r.interaction_id() == keep) continue;
    RETURN_IF_ERROR(o_.pipeline
                        ->Execute(parts_->replan_revisit, ServicePrincipal(),
                                  Replan{r.interaction_id(), keep, cadence.cadence_class})
                        .status());
  }
  return absl::OkStatus();
}

absl::StatusOr<int> InteractionApp::ReportOverdue() {
  int reported = 0;
  std::string token;
  do {
    Query q{.index = Index::kDue,
            .page_size = 200,
            .page_token = token,
            .binding = "ReportOverdue",
            .due_until = parts_->Now()};
    ASSIGN_OR_RETURN(Page page, interaction::ListInteractions(
                                    parts_->store, q, [](const v1::Interaction&) { return true; }));
    for (const v1::Interaction& r : page.interactions) {
      // Decided on the fresh state: nothing when completed or replanned meanwhile.
      ASSIGN_OR_RETURN(Applied applied, o_.pipeline->Execute(parts_->report_overdue, ServicePrincipal(),
                                                             Overdue{r.interaction_id()}));
      if (applied.events > 0) ++reported;
    }
    token = page.next_page_token;
  } while (!token.empty());
  return reported;
}

}  // namespace crm::interaction
