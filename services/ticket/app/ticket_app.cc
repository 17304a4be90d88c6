#include "crm/domain/not_found.h"
#include "crm/ticket/app/ticket_app.h"

#include <functional>
#include <map>
#include <mutex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crm/auth/access.h"
#include "crm/command/document.h"
#include "crm/command/page.h"
#include "crm/command/rebuild.h"
#include "crm/command/serve.h"
#include "crm/common/ids.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/ticket/domain/sla_engine.h"
#include "crm/ticket/domain/ticket_aggregate.h"
#include "crm/ticket/projection/ticket_projection.h"

namespace crm::ticket {
namespace {

using auth::Principal;
using eventstore::ProjectionWrite;

constexpr absl::Duration kMaxKpiRange = absl::Hours(24 * 3660);

// Who the background duties act as (and what their events record as actor).
const Principal& Service() {
  static const Principal* const kService =
      new Principal{.subject = "crm-ticket", .roles = {auth::Role::kService}};
  return *kService;
}

// KPI counters of one group.
struct Tally {
  int64_t opened = 0, resolved = 0, on_time = 0, reopened = 0, feedback = 0, breaches = 0,
          backlog = 0, score_sum = 0;
  void Add(const Tally& o) {
    opened += o.opened;
    resolved += o.resolved;
    on_time += o.on_time;
    reopened += o.reopened;
    feedback += o.feedback;
    breaches += o.breaches;
    backlog += o.backlog;
    score_sum += o.score_sum;
  }
  v1::KpiRow Row(const std::string& key) const {
    v1::KpiRow r;
    r.set_key(key);
    r.set_opened(opened);
    r.set_resolved(resolved);
    r.set_resolved_on_time(on_time);
    r.set_reopened(reopened);
    r.set_feedback_count(feedback);
    r.set_breaches(breaches);
    r.set_open_backlog(backlog);
    auto ratio = [](int64_t a, int64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / b; };
    r.set_on_time_rate(ratio(on_time, resolved));
    r.set_resolution_rate(ratio(resolved, opened));
    r.set_reopen_rate(ratio(reopened, resolved));
    r.set_average_satisfaction(ratio(score_sum, feedback));
    return r;
  }
};

using Engine = std::shared_ptr<const sla::SlaEngine>;

// What a ticket command decides with besides the ticket: the SLA configuration in
// force, the customer's tier (workers; commands use the ticket's), and the
// customer (opening).
struct TicketContext {
  Engine engine;
  std::string tier;
  CustomerRef customer;
};
using Target = command::Target<v1::Ticket, TicketContext>;
using Outcome = command::Outcome<v1::Ticket, v1::TicketEvent>;

DecideContext Context(const command::Decision& d, const TicketContext& c) {
  return DecideContext{d.actor, d.now, c.engine.get(), c.tier};
}

template <typename Req>
command::WriteOptions OptionsOf(const Req& r) {
  return command::WriteOptions::Of(r.options());
}

// The answer of a write: version, event ids, the ticket after it.
void Written(const Outcome& outcome, v1::WriteResponse& w) {
  command::FillWrite(outcome, w);
  *w.mutable_ticket() = outcome.after;
}

// What a worker command answers: how many events it appended.
struct Applied {
  size_t events = 0;
};

// The worker commands' requests.
struct SlaCheck {
  std::string ticket_id;
};
struct Recompute {
  std::string ticket_id;
  std::string reason;
};

// What a configuration change decides with: the open tickets it recomputes.
struct ConfigContext {
  int64_t open_tickets = 0;
};

}  // namespace

const TicketAggregate& Tickets() {
  static const TicketAggregate* const kTickets = new TicketAggregate{
      .name = "ticket",
      .stream_prefix = StreamFor(""),
      .state_projection = std::string(kTicketsProjection),
      .apply = [](v1::Ticket& s, const v1::TicketEvent& e,
                  const domain::EventMeta& m) { Apply(s, e, m); },
      .event_type = [](const v1::TicketEvent& e) { return EventType(e); },
      .partition_key = [](const v1::TicketEvent& e) { return e.customer_id(); },
      .rows = [](const v1::Ticket& before, const v1::Ticket& after, const Events& events,
                 absl::Time now) { return RowWrites(before, after, events, now); }};
  return *kTickets;
}

const SlaConfigAggregate& SlaConfigs() {
  static const SlaConfigAggregate* const kSlaConfigs =
      new SlaConfigAggregate(command::DocumentAggregate<v1::SlaConfig, v1::TicketEvent>(
          "SLA configuration", std::string(kSlaConfigStream), std::string(kSlaConfigProjection),
          [](const v1::TicketEvent& e) {
            return e.has_sla_config_changed() ? &e.sla_config_changed().config() : nullptr;
          },
          &EventType));
  return *kSlaConfigs;
}

std::unique_ptr<eventstore::ProjectionSetProjector> NewRebuildProjector() {
  return std::make_unique<command::Projectors>(
      std::vector<std::shared_ptr<const eventstore::ProjectionSetProjector>>{
          std::make_shared<command::AggregateProjector<TicketAggregate>>(Tickets()),
          std::make_shared<command::AggregateProjector<SlaConfigAggregate>>(SlaConfigs())});
}

std::vector<std::string> RebuildTargets() {
  return {std::string(kTicketsProjection),    std::string(kTicketIndexProjection),
          std::string(kOpenTicketsProjection), std::string(kSlaDueProjection),
          std::string(kKpiFactsProjection),    std::string(kSlaConfigProjection)};
}

class TicketApp::Impl {
 public:
  Impl(TicketAppOptions o, Engine engine)
      : o_(std::move(o)), store_(o_.pipeline->store()), engine_(std::move(engine)) {}

  Engine CurrentEngine() const {
    std::lock_guard<std::mutex> lock(engine_mu_);
    return engine_;
  }

  absl::Time Now() const { return o_.pipeline->clock().Now(); }

  absl::StatusOr<CustomerRef> VisibleCustomer(const Principal& who,
                                              const std::string& customer_id) const {
    return directory::VisibleCustomer(store_, o_.customers, who, customer_id, Now());
  }

  absl::Status CheckTicketAccess(const Principal& who, const v1::Ticket& t) const {
    if (!t.assignee().empty() && t.assignee() == who.subject) return absl::OkStatus();
    return VisibleCustomer(who, t.customer_id()).status();
  }

  absl::StatusOr<v1::Ticket> LoadVisible(const Principal& who, const std::string& id) const {
    if (id.empty()) return absl::InvalidArgumentError("ticket_id: required");
    ASSIGN_OR_RETURN(std::optional<v1::Ticket> t, LoadTicket(store_, id));
    // A ticket whose customer the caller may not see answers like an absent one.
    if (!t) return domain::ObjectNotFound("ticket", id);
    RETURN_IF_ERROR(domain::HiddenObject(CheckTicketAccess(who, *t), "ticket", id));
    return *std::move(t);
  }

  // The customer's SLA tier under `engine`, from the classes consumed so far.
  absl::StatusOr<std::string> TierOf(const sla::SlaEngine& engine,
                                     const std::string& customer_id) const {
    ASSIGN_OR_RETURN(auto classes, directory::LoadClasses(store_, customer_id));
    std::vector<std::string> names;
    for (const auto& [scheme, name] : classes) names.push_back(name);
    return engine.TierFor(names);
  }

  // The configuration in force: the current row (after a change, or a replay of
  // one). Only ever moves forward: two changes finishing in either order leave
  // the newer one in force.
  absl::Status ReloadEngine() {
    ASSIGN_OR_RETURN(std::optional<v1::SlaConfig> config,
                     command::ReadCurrentDocument<v1::SlaConfig>(store_, kSlaConfigProjection));
    if (!config || config->version() <= CurrentEngine()->config().version()) {
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(sla::SlaEngine engine, sla::SlaEngine::Create(*config));
    std::lock_guard<std::mutex> lock(engine_mu_);
    if (config->version() > engine_->config().version()) {
      engine_ = std::make_shared<const sla::SlaEngine>(std::move(engine));
    }
    return absl::OkStatus();
  }

  // A command on a ticket the caller can see.
  template <typename Req>
  command::Command<TicketAggregate, Req, v1::WriteResponse, TicketContext> OnTicket(
      std::string rpc,
      absl::StatusOr<Events> (*decide)(const v1::Ticket&, const Req&, const DecideContext&)) {
    return {.aggregate = &Tickets(),
            .rpc = std::move(rpc),
            .options = OptionsOf<Req>,
            .load = [this](const Principal& who, const Req& req) -> absl::StatusOr<Target> {
              ASSIGN_OR_RETURN(v1::Ticket state, LoadVisible(who, req.ticket_id()));
              const std::string tier = state.sla().tier();
              return Target{.id = req.ticket_id(),
                            .state = std::move(state),
                            .context = {.engine = CurrentEngine(), .tier = tier}};
            },
            .decide = [decide](const Target& t, const Req& req, const command::Decision& d) {
              return decide(t.state, req, Context(d, t.context));
            },
            .respond = [](const Target&, const Outcome& outcome, v1::WriteResponse& r) {
              Written(outcome, r);
            }};
  }

  // The service's own decision on a ticket, whoever may see it, on the
  // customer's current tier.
  template <typename Req>
  command::Command<TicketAggregate, Req, Applied, TicketContext> Maintaining(
      std::string rpc, std::function<absl::StatusOr<Events>(const v1::Ticket&, const Req&,
                                                            const DecideContext&)>
                           decide) {
    return {.aggregate = &Tickets(),
            .rpc = std::move(rpc),
            .load = [this](const Principal&, const Req& req) -> absl::StatusOr<Target> {
              ASSIGN_OR_RETURN(std::optional<v1::Ticket> t, LoadTicket(store_, req.ticket_id));
              if (!t) return absl::NotFoundError(absl::StrCat("ticket ", req.ticket_id, " not found"));
              Engine engine = CurrentEngine();
              ASSIGN_OR_RETURN(std::string tier, TierOf(*engine, t->customer_id()));
              return Target{.id = req.ticket_id,
                            .state = *std::move(t),
                            .context = {.engine = std::move(engine), .tier = std::move(tier)}};
            },
            .decide = [decide](const Target& t, const Req& req, const command::Decision& d) {
              return decide(t.state, req, Context(d, t.context));
            },
            .respond = [](const Target&, const Outcome& outcome, Applied& a) {
              a.events = outcome.events.size();
            }};
  }

  // Runs a worker's command; 0 when the ticket is gone.
  template <typename C>
  absl::StatusOr<int> Maintain(const C& command, const typename C::Request& req) {
    absl::StatusOr<Applied> applied = o_.pipeline->Execute(command, Service(), req);
    if (absl::IsNotFound(applied.status())) return 0;
    RETURN_IF_ERROR(applied.status());
    return static_cast<int>(applied->events);
  }

  absl::StatusOr<int> RecomputeQueued() {
    std::lock_guard<std::mutex> lock(recompute_mu_);
    // A configuration committed a moment ago queued "config/N" with it: recompute
    // under that configuration, not the one this process swapped in before.
    RETURN_IF_ERROR(ReloadEngine());
    ASSIGN_OR_RETURN(auto queued, store_.ScanProjection(kRecomputeQueueProjection, "", "", 1000));
    int changed = 0;
    for (const auto& [key, unused] : queued) {
      std::vector<std::string> ids;
      std::string reason;
      if (absl::StartsWith(key, "config/")) {
        reason = absl::StrCat("SLA configuration version ", key.substr(7));
        ASSIGN_OR_RETURN(auto rows, store_.ScanProjection(kOpenTicketsProjection, "", "", SIZE_MAX));
        for (const auto& [open_key, unused_value] : rows) {
          ids.push_back(open_key.substr(open_key.find('/') + 1));
        }
      } else {
        reason = "customer class changed";
        ASSIGN_OR_RETURN(ids, OpenTicketIds(store_, key.substr(0, key.find('/'))));
      }
      for (const std::string& id : ids) {
        ASSIGN_OR_RETURN(int n, Maintain(recompute, Recompute{id, reason}));
        if (n > 0) ++changed;
      }
      RETURN_IF_ERROR(store_.WriteProjections(
          {ProjectionWrite::Delete(std::string(kRecomputeQueueProjection), key)}));
    }
    return changed;
  }

  absl::StatusOr<int> CheckSla() {
    const absl::Time now = Now();
    int fired = 0;
    std::string token;
    do {
      Query q{.index = Index::kSlaDue,
              .page_size = 200,
              .page_token = token,
              .binding = "CheckSla",
              .due_until = now};
      ASSIGN_OR_RETURN(Page page, ticket::ListTickets(store_, q, [](const v1::Ticket&) { return true; }));
      for (const v1::Ticket& t : page.tickets) {
        ASSIGN_OR_RETURN(int n, Maintain(sla_check, SlaCheck{t.ticket_id()}));
        fired += n;
      }
      token = page.next_page_token;
    } while (!token.empty());
    return fired;
  }

  absl::Status SetSlaConfig(const Principal& who, const v1::SetSlaConfigRequest& req,
                            v1::SetSlaConfigResponse* resp) {
    ASSIGN_OR_RETURN(*resp, o_.pipeline->Execute(set_sla_config, who, req));
    RETURN_IF_ERROR(ReloadEngine());
    return RecomputeQueued().status();
  }

  absl::Status GetKpis(const Principal& who, const v1::GetKpisRequest& req,
                       v1::GetKpisResponse* resp) {
    if (!req.has_from()) return absl::InvalidArgumentError("from: required");
    if (!req.has_to()) return absl::InvalidArgumentError("to: required");
    const absl::Time from = FromProtoTimestamp(req.from()), to = FromProtoTimestamp(req.to());
    if (to <= from) return absl::InvalidArgumentError("to: must be after from");
    if (to - from > kMaxKpiRange) return absl::InvalidArgumentError("to: range longer than 3660 days");
    if (!v1::KpiGrouping_IsValid(req.group_by())) {
      return absl::InvalidArgumentError(absl::StrCat("group_by: unknown value ", req.group_by()));
    }
    if (!v1::TicketType_IsValid(req.type())) {
      return absl::InvalidArgumentError(absl::StrCat("type: unknown value ", req.type()));
    }
    const auth::ListScope scope = auth::ScopeFor(who);
    if (scope.Empty()) return absl::PermissionDeniedError("GetKpis: the caller's roles cover no tickets");
    auto in_scope = [&](const std::string& region, const std::string& assignee, v1::TicketType type) {
      if (!req.region().empty() && region != req.region()) return false;
      if (req.type() != v1::TICKET_TYPE_UNSPECIFIED && type != req.type()) return false;
      return scope.all || (!scope.region.empty() && region == scope.region) ||
             (!scope.owner.empty() && assignee == scope.owner);
    };
    const bool by_person = req.group_by() == v1::KPI_GROUPING_AGENT ||
                           req.group_by() == v1::KPI_GROUPING_TEAM;
    auto key_of = [&](const std::string& assignee, const std::string& team, const std::string& region,
                      v1::TicketType type) -> std::string {
      switch (req.group_by()) {
        case v1::KPI_GROUPING_AGENT:
          return assignee;
        case v1::KPI_GROUPING_TEAM:
          return team;
        case v1::KPI_GROUPING_REGION:
          return region;
        case v1::KPI_GROUPING_TYPE:
          return TypeName(type);
        default:
          return "";
      }
    };
    std::map<std::string, Tally> groups;
    RETURN_IF_ERROR(ForEachFact(store_, from, to, [&](const KpiFact& f) {
      if (!in_scope(f.region, f.assignee, f.type)) return;
      Tally& t = groups[key_of(f.assignee, f.team, f.region, f.type)];
      switch (f.kind) {
        case KpiFact::Kind::kOpened:
          if (!by_person) ++t.opened;
          break;
        case KpiFact::Kind::kAssigned:
          if (by_person) ++t.opened;
          break;
        case KpiFact::Kind::kResolved:
          ++t.resolved;
          if (f.on_time) ++t.on_time;
          break;
        case KpiFact::Kind::kReopened:
          ++t.reopened;
          break;
        case KpiFact::Kind::kFeedback:
          ++t.feedback;
          t.score_sum += f.score;
          break;
        case KpiFact::Kind::kBreached:
          ++t.breaches;
          break;
      }
    }));
    // The backlog is as of now: every open ticket in scope, by its current group.
    ASSIGN_OR_RETURN(auto open_rows, store_.ScanProjection(kOpenTicketsProjection, "", "", SIZE_MAX));
    for (const auto& [key, unused] : open_rows) {
      ASSIGN_OR_RETURN(std::optional<v1::Ticket> t, LoadTicket(store_, key.substr(key.find('/') + 1)));
      if (!t || !in_scope(t->region(), t->assignee(), t->type())) continue;
      ++groups[key_of(t->assignee(), t->team(), t->region(), t->type())].backlog;
    }
    Tally total;
    for (const auto& [key, tally] : groups) {
      *resp->add_rows() = tally.Row(key);
      total.Add(tally);
    }
    *resp->mutable_total() = total.Row("");
    return absl::OkStatus();
  }

  absl::Status ListTickets(const Principal& who, const v1::ListTicketsRequest& req,
                           v1::ListTicketsResponse* resp) {
    ASSIGN_OR_RETURN(size_t page_size, command::PageSize(req.page_size(), 50));
    for (int i = 0; i < req.statuses_size(); ++i) {
      if (!v1::TicketStatus_IsValid(req.statuses(i)) || req.statuses(i) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("statuses[", i, "]: unknown value ", req.statuses(i)));
      }
    }
    if (!v1::TicketType_IsValid(req.type())) {
      return absl::InvalidArgumentError(absl::StrCat("type: unknown value ", req.type()));
    }
    if (!v1::Priority_IsValid(req.priority())) {
      return absl::InvalidArgumentError(absl::StrCat("priority: unknown value ", req.priority()));
    }
    const bool has_from = req.has_opened_from(), has_to = req.has_opened_to();
    const absl::Time from = FromProtoTimestamp(req.opened_from()),
                     to = FromProtoTimestamp(req.opened_to());
    if (has_from && has_to && to <= from) {
      return absl::InvalidArgumentError("opened_to: must be after opened_from");
    }
    Query q{.page_size = page_size,
            .page_token = req.page_token(),
            .binding = command::PageBinding("ListTickets", req, who)};
    if (!req.customer_id().empty()) {
      RETURN_IF_ERROR(VisibleCustomer(who, req.customer_id()).status());
      q.index = Index::kCustomer;
      q.value = req.customer_id();
    } else if (!req.assignee().empty()) {
      q.index = Index::kAssignee;
      q.value = req.assignee();
    } else if (!req.region().empty()) {
      q.index = Index::kRegion;
      q.value = req.region();
    }
    // The rule of CheckTicketAccess, with the customer part asked once per customer.
    directory::VisibilityCache customers(store_, o_.customers, who, Now());
    auto visible = [&](const v1::Ticket& t) {
      return (!t.assignee().empty() && t.assignee() == who.subject) ||
             customers.Visible(t.customer_id());
    };
    auto breached = [](const v1::Ticket& t) {
      return t.sla().first_response().breached() || t.sla().resolution().breached();
    };
    ASSIGN_OR_RETURN(Page page, ticket::ListTickets(store_, q, [&](const v1::Ticket& t) {
      const absl::Time opened = FromProtoTimestamp(t.opened_at());
      bool status_ok = req.statuses().empty();
      for (int s : req.statuses()) status_ok = status_ok || t.status() == s;
      return status_ok && (req.type() == 0 || t.type() == req.type()) &&
             (req.priority() == 0 || t.priority() == req.priority()) &&
             (req.assignee().empty() || t.assignee() == req.assignee()) &&
             (req.region().empty() || t.region() == req.region()) &&
             (!req.has_breached() || breached(t) == req.breached()) &&
             (!has_from || opened >= from) && (!has_to || opened < to) && visible(t);
    }));
    for (v1::Ticket& t : page.tickets) *resp->add_tickets() = std::move(t);
    resp->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  }

  const TicketAppOptions o_;
  eventstore::EventStore& store_;

 private:
  mutable std::mutex engine_mu_;
  Engine engine_;
  std::mutex recompute_mu_;

 public:
  const command::Command<TicketAggregate, v1::OpenTicketRequest, v1::OpenTicketResponse,
                         TicketContext>
      open{.aggregate = &Tickets(),
           .rpc = "OpenTicket",
           .options = OptionsOf<v1::OpenTicketRequest>,
           .load = [this](const Principal& who,
                          const v1::OpenTicketRequest& req) -> absl::StatusOr<Target> {
             ASSIGN_OR_RETURN(CustomerRef customer, VisibleCustomer(who, req.customer_id()));
             Engine engine = CurrentEngine();
             ASSIGN_OR_RETURN(std::string tier, TierOf(*engine, customer.customer_id));
             return Target{.id = NewId(),
                           .context = {.engine = std::move(engine),
                                       .tier = std::move(tier),
                                       .customer = std::move(customer)}};
           },
           .decide = [](const Target& t, const v1::OpenTicketRequest& req,
                        const command::Decision& d) {
             return DecideOpen(req, t.id, t.context.customer, Context(d, t.context));
           },
           .respond = [](const Target& t, const Outcome& outcome, v1::OpenTicketResponse& r) {
             r.set_ticket_id(t.id);
             *r.mutable_promised_by() = outcome.after.promised_by();
             Written(outcome, *r.mutable_write());
           }};
  const command::Command<TicketAggregate, v1::AssignTicketRequest, v1::WriteResponse,
                         TicketContext>
      assign = OnTicket<v1::AssignTicketRequest>("AssignTicket", DecideAssign);
  const command::Command<TicketAggregate, v1::StartInvestigationRequest, v1::WriteResponse,
                         TicketContext>
      start_investigation = OnTicket<v1::StartInvestigationRequest>("StartInvestigation",
                                                                    DecideStartInvestigation);
  const command::Command<TicketAggregate, v1::RecordFindingsRequest, v1::WriteResponse,
                         TicketContext>
      record_findings =
          OnTicket<v1::RecordFindingsRequest>("RecordFindings", DecideRecordFindings);
  const command::Command<TicketAggregate, v1::ProposeResolutionRequest, v1::WriteResponse,
                         TicketContext>
      propose_resolution = OnTicket<v1::ProposeResolutionRequest>("ProposeResolution",
                                                                  DecideProposeResolution);
  const command::Command<TicketAggregate, v1::AnswerResolutionRequest, v1::WriteResponse,
                         TicketContext>
      answer_resolution =
          OnTicket<v1::AnswerResolutionRequest>("AnswerResolution", DecideAnswerResolution);
  const command::Command<TicketAggregate, v1::ResolveTicketRequest, v1::WriteResponse,
                         TicketContext>
      resolve = OnTicket<v1::ResolveTicketRequest>("ResolveTicket", DecideResolve);
  const command::Command<TicketAggregate, v1::RecordFeedbackRequest, v1::WriteResponse,
                         TicketContext>
      record_feedback =
          OnTicket<v1::RecordFeedbackRequest>("RecordFeedback", DecideRecordFeedback);
  const command::Command<TicketAggregate, v1::CloseTicketRequest, v1::WriteResponse,
                         TicketContext>
      close = OnTicket<v1::CloseTicketRequest>("CloseTicket", DecideClose);
  const command::Command<TicketAggregate, v1::ReopenTicketRequest, v1::WriteResponse,
                         TicketContext>
      reopen = OnTicket<v1::ReopenTicketRequest>("ReopenTicket", DecideReopen);
  const command::Command<TicketAggregate, v1::AddCommentRequest, v1::WriteResponse,
                         TicketContext>
      add_comment = OnTicket<v1::AddCommentRequest>("AddComment", DecideAddComment);
  const command::Command<TicketAggregate, v1::SetWaitingOnCustomerRequest, v1::WriteResponse,
                         TicketContext>
      set_waiting =
          OnTicket<v1::SetWaitingOnCustomerRequest>("SetWaitingOnCustomer", DecideSetWaiting);

  const command::Command<TicketAggregate, Recompute, Applied, TicketContext> recompute =
      Maintaining<Recompute>("RecomputeSla", [](const v1::Ticket& t, const Recompute& r,
                                                const DecideContext& ctx) {
        return DecideRecomputeSla(t, r.reason, ctx);
      });
  const command::Command<TicketAggregate, SlaCheck, Applied, TicketContext> sla_check =
      Maintaining<SlaCheck>("CheckSla", [](const v1::Ticket& t, const SlaCheck&,
                                           const DecideContext& ctx) {
        return DecideSlaCheck(t, ctx);
      });

  const command::Command<SlaConfigAggregate, v1::SetSlaConfigRequest, v1::SetSlaConfigResponse,
                         ConfigContext>
      set_sla_config{
          .aggregate = &SlaConfigs(),
          .rpc = "SetSlaConfig",
          .options = command::WriteOptions::OfRequest<v1::SetSlaConfigRequest>,
          .load = [this](const Principal& who, const v1::SetSlaConfigRequest&)
              -> absl::StatusOr<command::Target<v1::SlaConfig, ConfigContext>> {
            if (!who.Has(auth::Role::kExecutive) && !who.Has(auth::Role::kAdmin)) {
              return absl::PermissionDeniedError("SetSlaConfig needs the executive or admin role");
            }
            ASSIGN_OR_RETURN(std::optional<v1::SlaConfig> current,
                             command::ReadCurrentDocument<v1::SlaConfig>(store_,
                                                                         kSlaConfigProjection));
            return command::Target<v1::SlaConfig, ConfigContext>{
                .state = std::move(current).value_or(v1::SlaConfig())};
          },
          // After the replay check: the tickets the new configuration recomputes.
          .prepare = [this](command::Target<v1::SlaConfig, ConfigContext>& t,
                            const v1::SetSlaConfigRequest&) -> absl::Status {
            ASSIGN_OR_RETURN(auto rows,
                             store_.ScanProjection(kOpenTicketsProjection, "", "", SIZE_MAX));
            t.context.open_tickets = static_cast<int64_t>(rows.size());
            return absl::OkStatus();
          },
          .decide = [](const command::Target<v1::SlaConfig, ConfigContext>& t,
                       const v1::SetSlaConfigRequest& req,
                       const command::Decision& d) -> absl::StatusOr<Events> {
            absl::StatusOr<sla::SlaEngine> validated = sla::SlaEngine::Create(req.config());
            if (!validated.ok()) {
              return absl::Status(validated.status().code(),
                                  absl::StrCat("config.", validated.status().message()));
            }
            v1::TicketEvent e;
            e.set_customer_id(std::string(kSlaConfigStream));
            v1::SlaConfig& config = *e.mutable_sla_config_changed()->mutable_config();
            config = req.config();
            config.set_version(t.state.version() + 1);
            config.set_changed_by(d.actor);
            *config.mutable_changed_at() = ToProtoTimestamp(d.now);
            return Events{std::move(e)};
          },
          .respond =
              [](const command::Target<v1::SlaConfig, ConfigContext>& t,
                 const command::Outcome<v1::SlaConfig, v1::TicketEvent>& outcome,
                 v1::SetSlaConfigResponse& r) {
                *r.mutable_config() = outcome.after;
                r.set_recomputed_tickets(t.context.open_tickets);
              },
          // Every open ticket gets its deadlines recomputed for the new version.
          .extra_rows = [](const command::Target<v1::SlaConfig, ConfigContext>&,
                           const Events& events, std::vector<ProjectionWrite>& out) {
            for (const v1::TicketEvent& e : events) {
              out.push_back(ProjectionWrite::Put(
                  std::string(kRecomputeQueueProjection),
                  absl::StrCat("config/", e.sla_config_changed().config().version()), ""));
            }
          }};
};

TicketApp::TicketApp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TicketApp::~TicketApp() = default;

absl::StatusOr<std::unique_ptr<TicketApp>> TicketApp::Create(TicketAppOptions options) {
  if (options.pipeline == nullptr) return absl::InvalidArgumentError("pipeline: required");
  ASSIGN_OR_RETURN(std::optional<v1::SlaConfig> config,
                   command::ReadCurrentDocument<v1::SlaConfig>(options.pipeline->store(),
                                                               kSlaConfigProjection));
  Engine engine;
  if (config) {
    ASSIGN_OR_RETURN(sla::SlaEngine e, sla::SlaEngine::Create(*config));
    engine = std::make_shared<const sla::SlaEngine>(std::move(e));
  } else {
    engine = std::make_shared<const sla::SlaEngine>(sla::SlaEngine::Default());
  }
  return std::unique_ptr<TicketApp>(
      new TicketApp(std::make_unique<Impl>(std::move(options), std::move(engine))));
}

#define CRM_TICKET_COMMAND(Method, Request, Response, member)                                 \
  void TicketApp::Method(const Principal& who, const v1::Request& req, v1::Response* resp,     \
                         command::Done done) {                                                \
    impl_->o_.pipeline->Run(impl_->member, who, req, resp, std::move(done));                   \
  }
CRM_TICKET_COMMAND(OpenTicket, OpenTicketRequest, OpenTicketResponse, open)
CRM_TICKET_COMMAND(AssignTicket, AssignTicketRequest, WriteResponse, assign)
CRM_TICKET_COMMAND(StartInvestigation, StartInvestigationRequest, WriteResponse,
                   start_investigation)
CRM_TICKET_COMMAND(RecordFindings, RecordFindingsRequest, WriteResponse, record_findings)
CRM_TICKET_COMMAND(ProposeResolution, ProposeResolutionRequest, WriteResponse, propose_resolution)
CRM_TICKET_COMMAND(AnswerResolution, AnswerResolutionRequest, WriteResponse, answer_resolution)
CRM_TICKET_COMMAND(ResolveTicket, ResolveTicketRequest, WriteResponse, resolve)
CRM_TICKET_COMMAND(RecordFeedback, RecordFeedbackRequest, WriteResponse, record_feedback)
CRM_TICKET_COMMAND(CloseTicket, CloseTicketRequest, WriteResponse, close)
CRM_TICKET_COMMAND(ReopenTicket, ReopenTicketRequest, WriteResponse, reopen)
CRM_TICKET_COMMAND(AddComment, AddCommentRequest, WriteResponse, add_comment)
CRM_TICKET_COMMAND(SetWaitingOnCustomer, SetWaitingOnCustomerRequest, WriteResponse, set_waiting)
#undef CRM_TICKET_COMMAND

void TicketApp::SetSlaConfig(const Principal& who, const v1::SetSlaConfigRequest& req,
                             v1::SetSlaConfigResponse* resp, command::Done done) {
  command::RunOn(impl_->o_.slow_queries, std::move(done),
                 [this, who, &req, resp] { return impl_->SetSlaConfig(who, req, resp); });
}

void TicketApp::GetKpis(const Principal& who, const v1::GetKpisRequest& req,
                        v1::GetKpisResponse* resp, command::Done done) {
  command::RunOn(impl_->o_.slow_queries, std::move(done),
                 [this, who, &req, resp] { return impl_->GetKpis(who, req, resp); });
}

absl::Status TicketApp::GetTicket(const Principal& who, const v1::GetTicketRequest& req,
                                  v1::GetTicketResponse* resp) {
  ASSIGN_OR_RETURN(*resp->mutable_ticket(), impl_->LoadVisible(who, req.ticket_id()));
  return absl::OkStatus();
}

absl::Status TicketApp::ListTickets(const Principal& who, const v1::ListTicketsRequest& req,
                                    v1::ListTicketsResponse* resp) {
  return impl_->ListTickets(who, req, resp);
}

absl::Status TicketApp::GetSlaConfig(const Principal&, const v1::GetSlaConfigRequest&,
                                     v1::GetSlaConfigResponse* resp) {
  *resp->mutable_config() = impl_->CurrentEngine()->config();
  return absl::OkStatus();
}

absl::StatusOr<int> TicketApp::RecomputeQueued() { return impl_->RecomputeQueued(); }
absl::StatusOr<int> TicketApp::CheckSla() { return impl_->CheckSla(); }

}  // namespace crm::ticket
