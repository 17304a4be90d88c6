#include "crm/interaction/app/campaign_app.h"

#include <map>
#include <optional>
#include <set>
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
#include "crm/interaction/app/sales_app.h"
#include "crm/interaction/domain/campaign_report.h"
#include "crm/interaction/domain/interaction_aggregate.h"
#include "crm/interaction/projection/campaign_projection.h"
#include "crm/interaction/projection/opportunity_projection.h"

namespace crm::interaction {
namespace {

using auth::Principal;
using auth::Role;

// May plan for another owner, and manages campaigns (of its region, for a
// regional manager).
bool IsManagerRole(const Principal& who) {
  return who.Has(Role::kRegionalManager) || who.Has(Role::kExecutive) || who.Has(Role::kAdmin) ||
         who.Has(Role::kService);
}

bool Manages(const Principal& who, const v1::Campaign& c) {
  if (!who.subject.empty() && c.owner() == who.subject) return true;
  if (who.Has(Role::kExecutive) || who.Has(Role::kAdmin) || who.Has(Role::kService)) return true;
  return who.Has(Role::kRegionalManager) && !who.region.empty() && who.region == c.region();
}

constexpr char kManagersOnly[] =
    "only the campaign's owner or a manager may do this (regional_manager of the campaign's "
    "region, executive, admin or service)";

using Target = command::Target<v1::Campaign>;
using PlanTarget = command::Target<v1::Campaign, std::string>;  // the planner's region
struct StartContext {
  Principal who;
  std::vector<v1::CampaignTarget> targets;
};
using StartTarget = command::Target<v1::Campaign, StartContext>;
using OneTarget = command::Target<v1::Campaign, std::optional<v1::CampaignTarget>>;
using ManyTargets = command::Target<v1::Campaign, std::vector<std::optional<v1::CampaignTarget>>>;
using Outcome = command::Outcome<v1::Campaign, v1::InteractionEvent>;

// `status` with "<field>: " in front of its message (same code).
absl::Status Prefixed(const std::string& field, const absl::Status& status) {
  return absl::Status(status.code(), FieldMessage(field, std::string(status.message())));
}

// The campaign and its target records folded from its stream up to `as_of`: one
// fold for the report and the reads of someone who does not manage it, now or
// in the past.
struct Folded {
  v1::Campaign state;
  std::map<std::string, v1::CampaignTarget> targets;
};

absl::StatusOr<Folded> FoldCampaign(eventstore::EventStore& store, const std::string& id,
                                    absl::Time as_of) {
  ASSIGN_OR_RETURN(std::vector<eventstore::EventEnvelope> events,
                   store.ReadStreamAsOf(CampaignStreamFor(id), as_of));
  Folded f;
  v1::InteractionEvent event;
  for (const eventstore::EventEnvelope& e : events) {
    if (!event.ParseFromString(e.payload())) return absl::DataLossError("corrupt campaign event");
    const domain::EventMeta meta{e.stream_version(), FromProtoTimestamp(e.occurred_at()),
                                 e.actor()};
    ApplyCampaign(f.state, event, meta);
    ApplyCampaignTargets(f.targets, event, meta);
  }
  return f;
}

// Keeps the explicit customers `visible` says the reader may see.
void KeepVisibleIds(google::protobuf::RepeatedPtrField<std::string>* ids,
                    const std::function<bool(const std::string&)>& visible) {
  google::protobuf::RepeatedPtrField<std::string> kept;
  for (std::string& id : *ids) {
    if (visible(id)) kept.Add(std::move(id));
  }
  ids->Swap(&kept);
}

// What a reader who does not manage the campaign sees of it: no budget, no
// costs, only visible explicit customers.
void RedactCampaign(v1::Campaign& c, const std::function<bool(const std::string&)>& visible) {
  c.mutable_details()->clear_budget();
  c.clear_costs();
  KeepVisibleIds(c.mutable_selection()->mutable_customer_ids(), visible);
}

// The same for one event of its history; false: the event is left out (a cost,
// or a record of a customer the reader may not see). The start keeps no count.
bool RedactEvent(v1::InteractionEvent& e, const std::function<bool(const std::string&)>& visible) {
  if (!e.customer_id().empty() && !visible(e.customer_id())) return false;
  switch (e.kind_case()) {
    case v1::InteractionEvent::kCampaignPlanned:
      e.mutable_campaign_planned()->mutable_details()->clear_budget();
      KeepVisibleIds(e.mutable_campaign_planned()->mutable_selection()->mutable_customer_ids(),
                     visible);
      return true;
    case v1::InteractionEvent::kCampaignUpdated:
      e.mutable_campaign_updated()->mutable_details()->clear_budget();
      KeepVisibleIds(e.mutable_campaign_updated()->mutable_selection()->mutable_customer_ids(),
                     visible);
      return true;
    case v1::InteractionEvent::kCampaignTargetsFrozen: {
      google::protobuf::RepeatedPtrField<v1::CampaignTarget> kept;
      for (v1::CampaignTarget& t : *e.mutable_campaign_targets_frozen()->mutable_targets()) {
        if (visible(t.customer_id())) kept.Add(std::move(t));
      }
      e.mutable_campaign_targets_frozen()->mutable_targets()->Swap(&kept);
      return true;
    }
    case v1::InteractionEvent::kCampaignInvitationsSent:
      KeepVisibleIds(e.mutable_campaign_invitations_sent()->mutable_customer_ids(), visible);
      return !e.campaign_invitations_sent().customer_ids().empty();
    case v1::InteractionEvent::kCampaignStarted:
      // The whole list's size: GetCampaign counts only the visible targets.
      e.mutable_campaign_started()->clear_target_count();
      return true;
    case v1::InteractionEvent::kCampaignCostRecorded:
      return false;
    default:
      return true;
  }
}

}  // namespace

const CampaignAggregate& Campaigns() {
  static const CampaignAggregate* const kCampaigns = new CampaignAggregate{
      .name = "campaign",
      .stream_prefix = CampaignStreamFor(""),
      .state_projection = std::string(kCampaignsProjection),
      .apply = [](v1::Campaign& s, const v1::InteractionEvent& e,
                  const domain::EventMeta& m) { ApplyCampaign(s, e, m); },
      .event_type = [](const v1::InteractionEvent& e) { return EventType(e); },
      .partition_key =
          [](const v1::InteractionEvent& e) {
            return e.customer_id().empty() ? e.campaign_id() : e.customer_id();
          },
      .rows = [](const v1::Campaign& before, const v1::Campaign& after, const Events& events,
                 absl::Time now) { return CampaignRowWrites(before, after, events, now); }};
  return *kCampaigns;
}

struct CampaignApp::Parts : AppParts {
  explicit Parts(const CampaignAppOptions& o) : AppParts(*o.pipeline, o.customers), o(o) {}

  const CampaignAppOptions& o;

  static CampaignContext Context(const command::Decision& d) {
    return CampaignContext{.actor = d.actor, .now = d.now};
  }

  absl::StatusOr<v1::Campaign> Load(const std::string& id) const {
    RETURN_IF_ERROR(domain::ValidateId("campaign_id", id, domain::Presence::kRequired));
    ASSIGN_OR_RETURN(std::optional<v1::Campaign> c, LoadCampaign(store, id));
    if (!c) return absl::NotFoundError(absl::StrCat("campaign ", id, " not found"));
    return *std::move(c);
  }

  absl::StatusOr<v1::Campaign> LoadManaged(const Principal& who, const std::string& id) const {
    ASSIGN_OR_RETURN(v1::Campaign c, Load(id));
    if (!Manages(who, c)) return absl::PermissionDeniedError(kManagersOnly);
    return c;
  }

  // The reach walks of someone who does not manage a campaign: the customers it
  // owns (sales_rep, service_agent) and its region (regional_manager).
  static std::vector<CampaignWalk> ReaderWalks(const Principal& who) {
    const auth::ListScope scope = auth::ScopeFor(who);
    std::vector<CampaignWalk> walks;
    if (!scope.owner.empty()) walks.push_back({CampaignWalk::kReachOwner, scope.owner});
    if (!scope.region.empty()) walks.push_back({CampaignWalk::kReachRegion, scope.region});
    return walks;
  }

  absl::StatusOr<bool> Reaches(const Principal& who, const v1::Campaign& c) const {
    for (const CampaignWalk& w : ReaderWalks(who)) {
      ASSIGN_OR_RETURN(bool under, CampaignUnder(store, c, w));
      if (under) return true;
    }
    return false;
  }

  struct Readable {
    v1::Campaign campaign;
    bool manages = false;
  };
  // The campaign when `who` manages it or it reaches `who`.
  absl::StatusOr<Readable> LoadReadable(const Principal& who, const std::string& id) const {
    ASSIGN_OR_RETURN(v1::Campaign c, Load(id));
    if (Manages(who, c)) return Readable{std::move(c), true};
    ASSIGN_OR_RETURN(bool reached, Reaches(who, c));
    if (!reached) {
      return absl::PermissionDeniedError(absl::StrCat("caller may not see campaign ", id));
    }
    return Readable{std::move(c), false};
  }

  // Each explicit customer of a selection exists and `who` may see it.
  absl::Status CheckExplicitVisible(const Principal& who, const v1::TargetSelection& s) const {
    for (int i = 0; i < s.customer_ids_size(); ++i) {
      absl::Status visible = VisibleCustomer(who, s.customer_ids(i)).status();
      if (!visible.ok()) return Prefixed(Indexed("selection.customer_ids", i), visible);
    }
    return absl::OkStatus();
  }

  // The directory customers matching `s` that `who` may see, in id order.
  absl::StatusOr<std::vector<v1::CampaignTarget>> ResolveTargets(
      const Principal& who, const v1::TargetSelection& s) const {
    const std::set<std::string> named(s.customer_ids().begin(), s.customer_ids().end());
    const std::set<std::string> regions(s.regions().begin(), s.regions().end());
    const std::set<std::string> industries(s.industries().begin(), s.industries().end());
    const std::set<int> lifecycles(s.lifecycles().begin(), s.lifecycles().end());
    std::map<int, std::set<std::string>> classes;
    for (const v1::SchemeClass& c : s.classes()) classes[c.scheme()].insert(c.class_name());
    const bool filtered =
        !classes.empty() || !regions.empty() || !industries.empty() || !lifecycles.empty();
    const absl::Time now = Now();
    std::vector<v1::CampaignTarget> out;
    // A matching directory row: a target when `who` may see it.
    const auto add = [&](const customer::v1::Customer& c) -> absl::Status {
      if (!directory::VisibleIn(c, who, now)) return absl::OkStatus();
      if (out.size() == static_cast<size_t>(kMaxCampaignTargets)) {
        return RefusedField("selection",
                            absl::StrCat("matches more than ", kMaxCampaignTargets, " customers"));
      }
      v1::CampaignTarget& t = out.emplace_back();
      t.set_customer_id(c.customer_id());
      t.set_owner(c.owner());
      t.set_region(c.region());
      return absl::OkStatus();
    };
    if (!filtered) {
      // Named customers only: each looked up (in id order, as the walk goes),
      // not the whole directory walked for them.
      for (const std::string& id : named) {
        ASSIGN_OR_RETURN(std::optional<customer::v1::Customer> c,
                         directory::LoadDirectoryEntry(store, id));
        if (c) RETURN_IF_ERROR(add(*c));
      }
      return out;
    }
    RETURN_IF_ERROR(directory::ForEachDirectoryEntry(
        store, [&](const customer::v1::Customer& c) -> absl::Status {
          bool match = named.contains(c.customer_id());
          if (!match) {
            match = (regions.empty() || regions.contains(c.region())) &&
                    (industries.empty() || industries.contains(c.basic().industry())) &&
                    (lifecycles.empty() || lifecycles.contains(c.lifecycle()));
            if (match && !classes.empty()) {
              ASSIGN_OR_RETURN(auto of, directory::LoadClasses(store, c.customer_id()));
              match = false;
              for (const auto& [scheme, names] : classes) {
                auto it = of.find(scheme);
                if (it != of.end() && names.contains(it->second)) {
                  match = true;
                  break;
                }
              }
            }
          }
          return match ? add(c) : absl::OkStatus();
        }));
    return out;
  }

  // A per-customer record: the campaign's manager, or someone who may see the customer.
  absl::Status CheckCustomer(const Principal& who, const v1::Campaign& c, const std::string& field,
                             const std::string& customer_id) const {
    if (Manages(who, c)) return absl::OkStatus();
    absl::Status visible =
        directory::VisibleCustomer(store, nullptr, who, customer_id, Now()).status();
    return visible.ok() ? visible : Prefixed(field, visible);
  }

  template <typename Req>
  command::Command<CampaignAggregate, Req, v1::WriteResponse> OnManaged(
      std::string rpc,
      absl::StatusOr<Events> (*decide)(const v1::Campaign&, const Req&, const CampaignContext&)) {
    return {
        .aggregate = &Campaigns(),
        .rpc = std::move(rpc),
        .options = OptionsOf<Req>,
        .load = [this](const Principal& who, const Req& req) -> absl::StatusOr<Target> {
          ASSIGN_OR_RETURN(v1::Campaign state, LoadManaged(who, req.campaign_id()));
          return Target{.id = req.campaign_id(), .state = std::move(state)};
        },
        .decide = [decide](const Target& t, const Req& req,
                           const command::Decision& d) { return decide(t.state, req, Context(d)); },
        .respond = [](const Target&, const Outcome& outcome,
                      v1::WriteResponse& r) { command::FillWrite(outcome, r); }};
  }

  // A record of one target (response, attendance).
  template <typename Req>
  command::Command<CampaignAggregate, Req, v1::WriteResponse, std::optional<v1::CampaignTarget>>
  OnTarget(std::string rpc,
           absl::StatusOr<Events> (*decide)(const v1::Campaign&, const Req&,
                                            const std::optional<v1::CampaignTarget>&,
                                            const CampaignContext&)) {
    return {.aggregate = &Campaigns(),
            .rpc = std::move(rpc),
            .options = OptionsOf<Req>,
            .load = [this](const Principal& who, const Req& req) -> absl::StatusOr<OneTarget> {
              ASSIGN_OR_RETURN(v1::Campaign state, Load(req.campaign_id()));
              RETURN_IF_ERROR(domain::ValidateId("customer_id", req.customer_id(),
                                                 domain::Presence::kRequired));
              RETURN_IF_ERROR(CheckCustomer(who, state, "customer_id", req.customer_id()));
              ASSIGN_OR_RETURN(std::optional<v1::CampaignTarget> target,
                               LoadCampaignTarget(store, req.campaign_id(), req.customer_id()));
              return OneTarget{
                  .id = req.campaign_id(), .state = std::move(state), .context = std::move(target)};
            },
            .decide =
                [decide](const OneTarget& t, const Req& req, const command::Decision& d) {
                  return decide(t.state, req, t.context, Context(d));
                },
            .respond = [](const OneTarget&, const Outcome& outcome,
                          v1::WriteResponse& r) { command::FillWrite(outcome, r); }};
  }

  const command::Command<CampaignAggregate, v1::PlanCampaignRequest, v1::PlanCampaignResponse,
                         std::string>
      plan{.aggregate = &Campaigns(),
           .rpc = "PlanCampaign",
           .options = OptionsOf<v1::PlanCampaignRequest>,
           .load = [this](const Principal& who,
                          const v1::PlanCampaignRequest& req) -> absl::StatusOr<PlanTarget> {
             RETURN_IF_ERROR(ValidateSelection("selection", req.selection()));
             RETURN_IF_ERROR(domain::ValidateId("owner", req.owner(), domain::Presence::kOptional));
             const bool other_owner = !req.owner().empty() && req.owner() != who.subject;
             if (!IsManagerRole(who)) {
               if (other_owner) {
                 return absl::PermissionDeniedError(
                     "owner: only managers may plan a campaign for another owner");
               }
               if (!who.Has(Role::kSalesRep) && !who.Has(Role::kServiceAgent)) {
                 return absl::PermissionDeniedError(
                     "only sales_rep, service_agent or managers may plan campaigns");
               }
             }
             RETURN_IF_ERROR(CheckExplicitVisible(who, req.selection()));
             return PlanTarget{.id = NewId(), .context = who.region};
           },
           .decide =
               [](const PlanTarget& t, const v1::PlanCampaignRequest& req,
                  const command::Decision& d) {
                 return DecidePlanCampaign(req, t.id, t.context, Context(d));
               },
           .respond =
               [](const PlanTarget& t, const Outcome& outcome, v1::PlanCampaignResponse& r) {
                 r.set_campaign_id(t.id);
                 command::FillWrite(outcome, *r.mutable_write());
               }};
  const command::Command<CampaignAggregate, v1::UpdateCampaignRequest, v1::WriteResponse> update{
      .aggregate = &Campaigns(),
      .rpc = "UpdateCampaign",
      .options = OptionsOf<v1::UpdateCampaignRequest>,
      .load = [this](const Principal& who,
                     const v1::UpdateCampaignRequest& req) -> absl::StatusOr<Target> {
        ASSIGN_OR_RETURN(v1::Campaign state, LoadManaged(who, req.campaign_id()));
        RETURN_IF_ERROR(ValidateSelection("selection", req.selection()));
        RETURN_IF_ERROR(CheckExplicitVisible(who, req.selection()));
        return Target{.id = req.campaign_id(), .state = std::move(state)};
      },
      .decide =
          [](const Target& t, const v1::UpdateCampaignRequest& req, const command::Decision& d) {
            return DecideUpdateCampaign(t.state, req, Context(d));
          },
      .respond = [](const Target&, const Outcome& outcome,
                    v1::WriteResponse& r) { command::FillWrite(outcome, r); }};
  const command::Command<CampaignAggregate, v1::StartCampaignRequest, v1::WriteResponse,
                         StartContext>
      start{.aggregate = &Campaigns(),
            .rpc = "StartCampaign",
            .options = OptionsOf<v1::StartCampaignRequest>,
            .load = [this](const Principal& who,
                           const v1::StartCampaignRequest& req) -> absl::StatusOr<StartTarget> {
              ASSIGN_OR_RETURN(v1::Campaign state, LoadManaged(who, req.campaign_id()));
              return StartTarget{
                  .id = req.campaign_id(), .state = std::move(state), .context = {.who = who}};
            },
            // After the replay check: a replayed start does not walk the directory.
            .prepare = [this](StartTarget& t, const v1::StartCampaignRequest&) -> absl::Status {
              if (t.state.status() != v1::CAMPAIGN_STATUS_PLANNED) return absl::OkStatus();
              ASSIGN_OR_RETURN(t.context.targets,
                               ResolveTargets(t.context.who, t.state.selection()));
              return absl::OkStatus();
            },
            .decide =
                [](const StartTarget& t, const v1::StartCampaignRequest&,
                   const command::Decision& d) {
                  return DecideStartCampaign(t.state, t.context.targets, Context(d));
                },
            .respond = [](const StartTarget&, const Outcome& outcome,
                          v1::WriteResponse& r) { command::FillWrite(outcome, r); }};
  const command::Command<CampaignAggregate, v1::RecordCampaignCostRequest,
                         v1::RecordCampaignCostResponse>
      cost{.aggregate = &Campaigns(),
           .rpc = "RecordCampaignCost",
           .options = OptionsOf<v1::RecordCampaignCostRequest>,
           .load = [this](const Principal& who,
                          const v1::RecordCampaignCostRequest& req) -> absl::StatusOr<Target> {
             ASSIGN_OR_RETURN(v1::Campaign state, LoadManaged(who, req.campaign_id()));
             return Target{.id = req.campaign_id(), .state = std::move(state)};
           },
           .decide =
               [](const Target& t, const v1::RecordCampaignCostRequest& req,
                  const command::Decision& d) {
                 return DecideRecordCampaignCost(t.state, req, Context(d));
               },
           .respond =
               [](const Target&, const Outcome& outcome, v1::RecordCampaignCostResponse& r) {
                 if (!outcome.after.costs().empty()) {
                   r.set_cost_id(outcome.after.costs().rbegin()->cost_id());
                 }
                 command::FillWrite(outcome, *r.mutable_write());
               }};
  const command::Command<CampaignAggregate, v1::RecordCampaignInvitationsRequest, v1::WriteResponse,
                         std::vector<std::optional<v1::CampaignTarget>>>
      invitations{
          .aggregate = &Campaigns(),
          .rpc = "RecordCampaignInvitations",
          .options = OptionsOf<v1::RecordCampaignInvitationsRequest>,
          .load = [this](const Principal& who, const v1::RecordCampaignInvitationsRequest& req)
              -> absl::StatusOr<ManyTargets> {
            ASSIGN_OR_RETURN(v1::Campaign state, Load(req.campaign_id()));
            ManyTargets t{.id = req.campaign_id()};
            for (int i = 0; i < req.customer_ids_size(); ++i) {
              const std::string field = Indexed("customer_ids", i);
              RETURN_IF_ERROR(
                  domain::ValidateId(field, req.customer_ids(i), domain::Presence::kRequired));
              RETURN_IF_ERROR(CheckCustomer(who, state, field, req.customer_ids(i)));
              ASSIGN_OR_RETURN(std::optional<v1::CampaignTarget> target,
                               LoadCampaignTarget(store, req.campaign_id(), req.customer_ids(i)));
              t.context.push_back(std::move(target));
            }
            t.state = std::move(state);
            return t;
          },
          .decide =
              [](const ManyTargets& t, const v1::RecordCampaignInvitationsRequest& req,
                 const command::Decision& d) {
                return DecideRecordCampaignInvitations(t.state, req, t.context, Context(d));
              },
          .respond = [](const ManyTargets&, const Outcome& outcome,
                        v1::WriteResponse& r) { command::FillWrite(outcome, r); }};
  const command::Command<CampaignAggregate, v1::RecordCampaignResponseRequest, v1::WriteResponse,
                         std::optional<v1::CampaignTarget>>
      response = OnTarget<v1::RecordCampaignResponseRequest>("RecordCampaignResponse",
                                                             DecideRecordCampaignResponse);
  const command::Command<CampaignAggregate, v1::RecordCampaignAttendanceRequest, v1::WriteResponse,
                         std::optional<v1::CampaignTarget>>
      attendance = OnTarget<v1::RecordCampaignAttendanceRequest>("RecordCampaignAttendance",
                                                                 DecideRecordCampaignAttendance);
  const command::Command<CampaignAggregate, v1::RecordCampaignOutcomeRequest, v1::WriteResponse>
      outcome = OnManaged<v1::RecordCampaignOutcomeRequest>("RecordCampaignOutcome",
                                                            DecideRecordCampaignOutcome);
  const command::Command<CampaignAggregate, v1::CloseCampaignRequest, v1::WriteResponse> close =
      OnManaged<v1::CloseCampaignRequest>("CloseCampaign", DecideCloseCampaign);
};

CampaignApp::CampaignApp(CampaignAppOptions options)
    : o_(std::move(options)), parts_(std::make_unique<Parts>(o_)) {}

CampaignApp::~CampaignApp() = default;

#define CRM_CAMPAIGN_COMMAND(Method, Request, Response, member)                              \
  void CampaignApp::Method(const Principal& who, const v1::Request& req, v1::Response* resp, \
                           command::Done done) {                                             \
    o_.pipeline->Run(parts_->member, who, req, resp, std::move(done));                       \
  }
CRM_CAMPAIGN_COMMAND(PlanCampaign, PlanCampaignRequest, PlanCampaignResponse, plan)
CRM_CAMPAIGN_COMMAND(UpdateCampaign, UpdateCampaignRequest, WriteResponse, update)
CRM_CAMPAIGN_COMMAND(RecordCampaignCost, RecordCampaignCostRequest, RecordCampaignCostResponse,
                     cost)
CRM_CAMPAIGN_COMMAND(RecordCampaignInvitations, RecordCampaignInvitationsRequest, WriteResponse,
                     invitations)
CRM_CAMPAIGN_COMMAND(RecordCampaignResponse, RecordCampaignResponseRequest, WriteResponse, response)
CRM_CAMPAIGN_COMMAND(RecordCampaignAttendance, RecordCampaignAttendanceRequest, WriteResponse,
                     attendance)
CRM_CAMPAIGN_COMMAND(RecordCampaignOutcome, RecordCampaignOutcomeRequest, WriteResponse, outcome)
CRM_CAMPAIGN_COMMAND(CloseCampaign, CloseCampaignRequest, WriteResponse, close)
#undef CRM_CAMPAIGN_COMMAND

void CampaignApp::StartCampaign(const Principal& who, const v1::StartCampaignRequest& req,
                                v1::WriteResponse* resp, command::Done done) {
  command::RunOn(o_.slow_queries, std::move(done), [this, who, &req, resp] {
    return command::RunAndWait([&](command::Done finished) {
      o_.pipeline->Run(parts_->start, who, req, resp, std::move(finished));
    });
  });
}

absl::Status CampaignApp::GetCampaign(const Principal& who, const v1::GetCampaignRequest& req,
                                      v1::GetCampaignResponse* resp) {
  if (req.has_as_of()) RETURN_IF_ERROR(domain::ValidateTimestamp("as_of", req.as_of()));
  ASSIGN_OR_RETURN(Parts::Readable current, parts_->LoadReadable(who, req.campaign_id()));
  const auto not_yet = [&] {
    return absl::NotFoundError(
        absl::StrCat("campaign ", req.campaign_id(), " did not exist at the given time"));
  };
  if (current.manages) {
    if (!req.has_as_of()) {
      *resp->mutable_campaign() = std::move(current.campaign);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(v1::Campaign past,
                     command::ExistingStateAsOf(Campaigns(), parts_->store, req.campaign_id(),
                                                FromProtoTimestamp(req.as_of())));
    *resp->mutable_campaign() = std::move(past);
    return absl::OkStatus();
  }
  // Someone it reaches: the counts of the targets it may see.
  ASSIGN_OR_RETURN(Folded f,
                   FoldCampaign(parts_->store, req.campaign_id(),
                                req.has_as_of() ? FromProtoTimestamp(req.as_of()) : parts_->Now()));
  if (f.state.version() == 0) return not_yet();
  auto visible = parts_->CustomerFilter(who);
  int32_t targets = 0, invited = 0, responded = 0, attended = 0;
  for (const auto& [id, t] : f.targets) {
    if (!visible(id)) continue;
    ++targets;
    invited += t.has_invited_at();
    responded += t.response() != v1::CAMPAIGN_RESPONSE_UNSPECIFIED;
    attended += t.attended();
  }
  v1::Campaign& c = f.state;
  RedactCampaign(c, visible);
  c.set_target_count(targets);
  c.set_invited_count(invited);
  c.set_responded_count(responded);
  c.set_attended_count(attended);
  *resp->mutable_campaign() = std::move(c);
  return absl::OkStatus();
}

absl::Status CampaignApp::GetCampaignHistory(const Principal& who,
                                             const v1::GetCampaignHistoryRequest& req,
                                             v1::GetCampaignHistoryResponse* resp) {
  RETURN_IF_ERROR(command::PageSize(req.page_size(), command::kHistoryPageSize).status());
  ASSIGN_OR_RETURN(Parts::Readable readable, parts_->LoadReadable(who, req.campaign_id()));
  RETURN_IF_ERROR(command::ReadHistoryPage(parts_->store, CampaignStreamFor(req.campaign_id()),
                                           "GetCampaignHistory", req, who, resp));
  if (readable.manages) return absl::OkStatus();
  auto visible = parts_->CustomerFilter(who);
  google::protobuf::RepeatedPtrField<v1::EventHistoryEntry> kept;
  for (v1::EventHistoryEntry& entry : *resp->mutable_entries()) {
    if (RedactEvent(*entry.mutable_event(), visible)) kept.Add(std::move(entry));
  }
  resp->mutable_entries()->Swap(&kept);
  return absl::OkStatus();
}

absl::Status CampaignApp::ListCampaigns(const Principal& who, const v1::ListCampaignsRequest& req,
                                        v1::ListCampaignsResponse* resp) {
  ASSIGN_OR_RETURN(size_t page_size, command::PageSize(req.page_size(), 50));
  RETURN_IF_ERROR(domain::ValidateEnum("status", req.status(), v1::CampaignStatus_IsValid,
                                       domain::Presence::kOptional));
  RETURN_IF_ERROR(domain::ValidateEnum("type", req.type(), v1::CampaignType_IsValid,
                                       domain::Presence::kOptional));
  RETURN_IF_ERROR(domain::ValidateId("owner", req.owner(), domain::Presence::kOptional));
  CampaignQuery q{.page_size = page_size,
                  .page_token = req.page_token(),
                  .binding = command::PageBinding("ListCampaigns", req, who)};
  const bool all = auth::ScopeFor(who).all;
  if (all) {
    q.walks.push_back(req.owner().empty() ? CampaignWalk{CampaignWalk::kAll, ""}
                                          : CampaignWalk{CampaignWalk::kOwner, req.owner()});
  } else {
    // Its own campaigns, and those reaching it.
    q.walks = Parts::ReaderWalks(who);
    if (!who.subject.empty() &&
        (q.walks.empty() || q.walks.front().kind != CampaignWalk::kReachOwner ||
         q.walks.front().value != who.subject)) {
      q.walks.push_back({CampaignWalk::kReachOwner, who.subject});
    }
  }
  absl::Status failure;
  std::set<std::string> managed;
  ASSIGN_OR_RETURN(CampaignPage page,
                   interaction::ListCampaigns(parts_->store, q, [&](const v1::Campaign& c) {
                     if ((req.status() != 0 && c.status() != req.status()) ||
                         (req.type() != 0 && c.details().type() != req.type()) ||
                         (!req.owner().empty() && c.owner() != req.owner())) {
                       return false;
                     }
                     if (Manages(who, c)) {
                       managed.insert(c.campaign_id());
                       return true;
                     }
                     absl::StatusOr<bool> reached = parts_->Reaches(who, c);
                     if (!reached.ok()) failure.Update(reached.status());
                     return reached.ok() && *reached;
                   }));
  RETURN_IF_ERROR(failure);
  std::function<bool(const std::string&)> visible;
  for (v1::Campaign& c : page.campaigns) {
    c.clear_costs();
    c.clear_outcome_notes();
    if (!managed.contains(c.campaign_id())) {
      if (!visible) visible = parts_->CustomerFilter(who);
      RedactCampaign(c, visible);
      c.clear_target_count();
      c.clear_invited_count();
      c.clear_responded_count();
      c.clear_attended_count();
    }
    *resp->add_campaigns() = std::move(c);
  }
  resp->set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

absl::Status CampaignApp::ListCampaignTargets(const Principal& who,
                                              const v1::ListCampaignTargetsRequest& req,
                                              v1::ListCampaignTargetsResponse* resp) {
  ASSIGN_OR_RETURN(size_t page_size, command::PageSize(req.page_size(), 100));
  ASSIGN_OR_RETURN(Parts::Readable readable, parts_->LoadReadable(who, req.campaign_id()));
  std::function<bool(const std::string&)> keep = [](const std::string&) { return true; };
  if (!readable.manages) keep = parts_->CustomerFilter(who);
  ASSIGN_OR_RETURN(CampaignTargetPage page,
                   interaction::ListCampaignTargets(parts_->store, req.campaign_id(), page_size,
                                                    req.page_token(),
                                                    command::PageBinding("ListCampaignTargets", req, who),
                                                    keep));
  for (v1::CampaignTarget& t : page.targets) *resp->add_targets() = std::move(t);
  resp->set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

void CampaignApp::GetCampaignReport(const Principal& who, const v1::GetCampaignReportRequest& req,
                                    v1::GetCampaignReportResponse* resp, command::Done done) {
  command::RunOn(o_.slow_queries, std::move(done),
                 [this, who, &req, resp] { return CampaignReport(who, req, resp); });
}

absl::Status CampaignApp::CampaignReport(const Principal& who,
                                         const v1::GetCampaignReportRequest& req,
                                         v1::GetCampaignReportResponse* resp) {
  ASSIGN_OR_RETURN(const command::ReportTime when, command::ReportTimeOf(req, parts_->Now()));
  ASSIGN_OR_RETURN(Parts::Readable readable, parts_->LoadReadable(who, req.campaign_id()));
  ASSIGN_OR_RETURN(Folded f, FoldCampaign(parts_->store, req.campaign_id(), when.at));
  if (f.state.version() == 0) {
    return absl::NotFoundError(
        absl::StrCat("campaign ", req.campaign_id(), " did not exist at the given time"));
  }
  const bool partial = !readable.manages;
  std::function<bool(const std::string&)> visible = [](const std::string&) { return true; };
  if (partial) visible = parts_->CustomerFilter(who);
  CampaignReportBuilder report(f.state, when.at, partial);
  for (const auto& [id, t] : f.targets) {
    if (visible(id)) report.AddTarget(t);
  }
  RETURN_IF_ERROR(ForEachCampaignOpportunity(
      parts_->store, req.campaign_id(), [&](const v1::Opportunity& row) -> absl::Status {
        if (!visible(row.customer_id())) return absl::OkStatus();
        v1::Opportunity past;
        ASSIGN_OR_RETURN(const v1::Opportunity* o,
                         command::RowAsOf(Opportunities(), parts_->store, row.opportunity_id(), row,
                                          FromProtoTimestamp(row.created_at()), when.as_of, past));
        // As it was then, when its source was this campaign then.
        if (o == nullptr || o->details().source() != v1::OPPORTUNITY_SOURCE_CAMPAIGN ||
            o->details().campaign_id() != req.campaign_id()) {
          return absl::OkStatus();
        }
        report.AddOpportunity(*o);
        return absl::OkStatus();
      }));
  *resp->mutable_report() = report.Finish();
  return absl::OkStatus();
}

}  // namespace crm::interaction
