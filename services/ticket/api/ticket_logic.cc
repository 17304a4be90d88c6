#include "crm/ticket/api/ticket_logic.h"

#include <functional>
#include <map>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crm/auth/access.h"
#include "crm/common/ids.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/ticket/domain/ticket_aggregate.h"
#include "crm/ticket/projection/ticket_projection.h"
#include "google/protobuf/util/message_differencer.h"

namespace crm::ticket {
namespace {

using auth::Principal;
using eventstore::AppendResult;
using eventstore::ExpectedVersion;
using eventstore::ProjectionWrite;

constexpr int kMaxContentionRetries = 5;
constexpr char kServiceActor[] = "crm-ticket";
constexpr char kConfigKey[] = "current";
constexpr absl::Duration kMaxKpiRange = absl::Hours(24 * 3660);

absl::StatusOr<size_t> PageSize(int requested) {
  if (requested == 0) return size_t{50};
  if (requested < 0 || requested > 500) return absl::InvalidArgumentError("page_size: must be 1..500");
  return static_cast<size_t>(requested);
}

absl::Status ValidateOptions(const v1::WriteOptions& o) {
  if (o.command_id().size() > 256) {
    return absl::InvalidArgumentError("options.command_id: longer than 256");
  }
  return absl::OkStatus();
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

}  // namespace

class TicketLogic::Impl {
 public:
  Impl(TicketLogicOptions o, std::shared_ptr<const sla::SlaEngine> engine)
      : o_(std::move(o)), engine_(std::move(engine)) {}

  using MutateFn = std::function<absl::StatusOr<Events>(const v1::Ticket&, const DecideContext&)>;

  std::shared_ptr<const sla::SlaEngine> Engine() const {
    std::lock_guard<std::mutex> lock(engine_mu_);
    return engine_;
  }

  absl::StatusOr<directory::CustomerRef> VisibleCustomer(const Principal& who,
                                                         const std::string& customer_id) {
    return directory::VisibleCustomer(*o_.store, o_.customers, who, customer_id, o_.clock->Now());
  }

  absl::Status CheckTicketAccess(const Principal& who, const v1::Ticket& t) {
    if (!t.assignee().empty() && t.assignee() == who.subject) return absl::OkStatus();
    return VisibleCustomer(who, t.customer_id()).status();
  }

  absl::StatusOr<v1::Ticket> LoadVisible(const Principal& who, const std::string& id) {
    if (id.empty()) return absl::InvalidArgumentError("ticket_id: required");
    ASSIGN_OR_RETURN(std::optional<v1::Ticket> t, LoadTicket(*o_.store, id));
    if (!t) return absl::NotFoundError(absl::StrCat("ticket ", id, " not found"));
    RETURN_IF_ERROR(CheckTicketAccess(who, *t));
    return *std::move(t);
  }

  // The customer's SLA tier under `engine`, from the classes consumed so far.
  absl::StatusOr<std::string> TierOf(const sla::SlaEngine& engine, const std::string& customer_id) {
    ASSIGN_OR_RETURN(auto classes, directory::LoadClasses(*o_.store, customer_id));
    std::vector<std::string> names;
    for (const auto& [scheme, name] : classes) names.push_back(name);
    return engine.TierFor(names);
  }

  absl::StatusOr<AppendResult> Append(const std::string& actor, const v1::Ticket& before,
                                      const Events& events, const std::string& command_id,
                                      absl::Time now, v1::Ticket* after_out) {
    v1::Ticket after = before;
    eventstore::AppendRequest req;
    req.stream_id = StreamFor(events.front().ticket_id());
    req.expected_version = before.version() == 0 ? ExpectedVersion::NoStream()
                                                 : ExpectedVersion::Exactly(before.version());
    req.command_id = command_id;
    for (const v1::TicketEvent& e : events) {
      Apply(after, e, {after.version() + 1, now, actor});
      req.events.push_back({.event_type = EventType(e), .partition_key = e.customer_id(),
                            .payload = e.SerializeAsString(), .actor = actor, .occurred_at = now});
    }
    req.projection_writes = RowWrites(before, after, events, now);
    ASSIGN_OR_RETURN(AppendResult r, o_.store->Append(req));
    if (o_.relay != nullptr) o_.relay->Notify();
    if (after_out != nullptr) *after_out = std::move(after);
    return r;
  }

  // Answers a retried command with its first result and the ticket as it is now.
  absl::StatusOr<std::optional<v1::WriteResponse>> Replayed(const std::string& command_id) {
    if (command_id.empty()) return std::nullopt;
    ASSIGN_OR_RETURN(std::optional<AppendResult> first, o_.store->LookupCommand(command_id));
    if (!first) return std::nullopt;
    v1::WriteResponse resp;
    resp.set_version(first->last_version);
    for (const std::string& id : first->event_ids) resp.add_event_ids(id);
    const std::string ticket_id = first->stream_id.substr(StreamFor("").size());
    ASSIGN_OR_RETURN(std::optional<v1::Ticket> t, LoadTicket(*o_.store, ticket_id));
    if (t) *resp.mutable_ticket() = *std::move(t);
    return resp;
  }

  static v1::WriteResponse Written(const AppendResult& r, v1::Ticket after) {
    v1::WriteResponse resp;
    resp.set_version(r.last_version);
    for (const std::string& id : r.event_ids) resp.add_event_ids(id);
    *resp.mutable_ticket() = std::move(after);
    return resp;
  }

  absl::StatusOr<v1::OpenTicketResponse> Open(const Principal& who, const v1::OpenTicketRequest& req) {
    RETURN_IF_ERROR(ValidateOptions(req.options()));
    v1::OpenTicketResponse resp;
    ASSIGN_OR_RETURN(std::optional<v1::WriteResponse> replayed, Replayed(req.options().command_id()));
    if (replayed) {
      resp.set_ticket_id(replayed->ticket().ticket_id());
      *resp.mutable_promised_by() = replayed->ticket().promised_by();
      *resp.mutable_write() = *std::move(replayed);
      return resp;
    }
    ASSIGN_OR_RETURN(directory::CustomerRef c, VisibleCustomer(who, req.customer_id()));
    std::shared_ptr<const sla::SlaEngine> engine = Engine();
    ASSIGN_OR_RETURN(std::string tier, TierOf(*engine, c.customer_id));
    const std::string id = NewId();
    const DecideContext ctx{who.subject, o_.clock->Now(), engine.get(), tier};
    ASSIGN_OR_RETURN(Events events, DecideOpen(req, id, {c.customer_id, c.owner, c.region}, ctx));
    v1::Ticket after;
    ASSIGN_OR_RETURN(AppendResult r,
                     Append(who.subject, v1::Ticket(), events, req.options().command_id(), ctx.now,
                            &after));
    resp.set_ticket_id(id);
    *resp.mutable_promised_by() = after.promised_by();
    *resp.mutable_write() = Written(r, std::move(after));
    return resp;
  }

  absl::StatusOr<v1::WriteResponse> Mutate(const Principal& who, const std::string& id,
                                           const v1::WriteOptions& options, const MutateFn& decide) {
    RETURN_IF_ERROR(ValidateOptions(options));
    ASSIGN_OR_RETURN(std::optional<v1::WriteResponse> replayed, Replayed(options.command_id()));
    if (replayed) return *std::move(replayed);
    for (int attempt = 0; attempt < kMaxContentionRetries; ++attempt) {
      ASSIGN_OR_RETURN(v1::Ticket state, LoadVisible(who, id));
      if (options.has_expected_version() && options.expected_version() != state.version()) {
        return absl::AbortedError(absl::StrCat("ticket ", id, " is at version ", state.version(),
                                               ", expected ", options.expected_version()));
      }
      std::shared_ptr<const sla::SlaEngine> engine = Engine();
      const DecideContext ctx{who.subject, o_.clock->Now(), engine.get(), state.sla().tier()};
      ASSIGN_OR_RETURN(Events events, decide(state, ctx));
      if (events.empty()) {
        v1::WriteResponse resp;
        resp.set_version(state.version());
        *resp.mutable_ticket() = std::move(state);
        return resp;
      }
      v1::Ticket after;
      absl::StatusOr<AppendResult> r =
          Append(who.subject, state, events, options.command_id(), ctx.now, &after);
      if (r.status().code() == absl::StatusCode::kAborted && !options.has_expected_version()) continue;
      RETURN_IF_ERROR(r.status());
      return Written(*r, std::move(after));
    }
    return absl::AbortedError("ticket is being changed concurrently; retry");
  }

  // A decision of the service itself on one ticket, retried on contention.
  absl::StatusOr<int> Maintain(const std::string& ticket_id,
                               const std::function<absl::StatusOr<Events>(const v1::Ticket&,
                                                                          const DecideContext&)>& decide) {
    for (int attempt = 0; attempt < kMaxContentionRetries; ++attempt) {
      ASSIGN_OR_RETURN(std::optional<v1::Ticket> t, LoadTicket(*o_.store, ticket_id));
      if (!t) return 0;
      std::shared_ptr<const sla::SlaEngine> engine = Engine();
      ASSIGN_OR_RETURN(std::string tier, TierOf(*engine, t->customer_id()));
      const DecideContext ctx{kServiceActor, o_.clock->Now(), engine.get(), tier};
      ASSIGN_OR_RETURN(Events events, decide(*t, ctx));
      if (events.empty()) return 0;
      absl::StatusOr<AppendResult> r = Append(kServiceActor, *t, events, "", ctx.now, nullptr);
      if (r.status().code() == absl::StatusCode::kAborted) continue;
      RETURN_IF_ERROR(r.status());
      return static_cast<int>(events.size());
    }
    return absl::AbortedError(absl::StrCat("ticket ", ticket_id, " is being changed concurrently"));
  }

  absl::StatusOr<int> RecomputeQueued() {
    std::lock_guard<std::mutex> lock(recompute_mu_);
    ASSIGN_OR_RETURN(auto queued, o_.store->ScanProjection(kRecomputeQueueProjection, "", "", 1000));
    int changed = 0;
    for (const auto& [key, unused] : queued) {
      std::vector<std::string> ids;
      std::string reason;
      if (absl::StartsWith(key, "config/")) {
        reason = absl::StrCat("SLA configuration version ", key.substr(7));
        ASSIGN_OR_RETURN(auto rows, o_.store->ScanProjection(kOpenTicketsProjection, "", "", SIZE_MAX));
        for (const auto& [open_key, unused_value] : rows) {
          ids.push_back(open_key.substr(open_key.find('/') + 1));
        }
      } else {
        reason = "customer class changed";
        ASSIGN_OR_RETURN(ids, OpenTicketIds(*o_.store, key.substr(0, key.find('/'))));
      }
      for (const std::string& id : ids) {
        ASSIGN_OR_RETURN(int n, Maintain(id, [&](const v1::Ticket& t, const DecideContext& ctx) {
                           return DecideRecomputeSla(t, reason, ctx);
                         }));
        if (n > 0) ++changed;
      }
      RETURN_IF_ERROR(
          o_.store->WriteProjections({ProjectionWrite::Delete(std::string(kRecomputeQueueProjection), key)}));
    }
    return changed;
  }

  absl::StatusOr<int> CheckSla() {
    const absl::Time now = o_.clock->Now();
    int fired = 0;
    std::string token;
    do {
      Query q{.index = Index::kSlaDue, .page_size = 200, .page_token = token, .due_until = now};
      ASSIGN_OR_RETURN(Page page, ticket::ListTickets(*o_.store, q, [](const v1::Ticket&) { return true; }));
      for (const v1::Ticket& t : page.tickets) {
        ASSIGN_OR_RETURN(int n, Maintain(t.ticket_id(), [](const v1::Ticket& s, const DecideContext& ctx) {
                           return DecideSlaCheck(s, ctx);
                         }));
        fired += n;
      }
      token = page.next_page_token;
    } while (!token.empty());
    return fired;
  }

  absl::StatusOr<v1::SetSlaConfigResponse> SetSlaConfig(const Principal& who,
                                                        const v1::SetSlaConfigRequest& req) {
    if (!who.Has(auth::Role::kExecutive) && !who.Has(auth::Role::kAdmin)) {
      return absl::PermissionDeniedError("SetSlaConfig needs the executive or admin role");
    }
    absl::StatusOr<sla::SlaEngine> validated = sla::SlaEngine::Create(req.config());
    if (!validated.ok()) {
      return absl::Status(validated.status().code(),
                          absl::StrCat("config.", validated.status().message()));
    }
    v1::SlaConfig config = req.config();
    v1::SetSlaConfigResponse resp;
    {
      std::lock_guard<std::mutex> lock(config_mu_);
      ASSIGN_OR_RETURN(uint64_t current, o_.store->StreamVersion(kSlaConfigStream));
      if (req.has_expected_version() && req.expected_version() != current) {
        return absl::AbortedError(absl::StrCat("SLA configuration is at version ", current,
                                               ", expected ", req.expected_version()));
      }
      const absl::Time now = o_.clock->Now();
      config.set_version(current + 1);
      config.set_changed_by(who.subject);
      *config.mutable_changed_at() = ToProtoTimestamp(now);
      ASSIGN_OR_RETURN(sla::SlaEngine engine, sla::SlaEngine::Create(config));
      v1::TicketEvent e;
      e.set_customer_id(std::string(kSlaConfigStream));
      *e.mutable_sla_config_changed()->mutable_config() = config;
      eventstore::AppendRequest append;
      append.stream_id = std::string(kSlaConfigStream);
      append.expected_version =
          current == 0 ? ExpectedVersion::NoStream() : ExpectedVersion::Exactly(current);
      append.events.push_back({.event_type = EventType(e), .partition_key = e.customer_id(),
                               .payload = e.SerializeAsString(), .actor = who.subject,
                               .occurred_at = now});
      append.projection_writes = {
          ProjectionWrite::Put(std::string(kSlaConfigProjection), kConfigKey, config.SerializeAsString()),
          ProjectionWrite::Put(std::string(kRecomputeQueueProjection),
                               absl::StrCat("config/", config.version()), "")};
      RETURN_IF_ERROR(o_.store->Append(append).status());
      if (o_.relay != nullptr) o_.relay->Notify();
      std::lock_guard<std::mutex> engine_lock(engine_mu_);
      engine_ = std::make_shared<const sla::SlaEngine>(std::move(engine));
    }
    ASSIGN_OR_RETURN(int changed, RecomputeQueued());
    *resp.mutable_config() = std::move(config);
    resp.set_recomputed_tickets(changed);
    return resp;
  }

  absl::StatusOr<v1::GetKpisResponse> GetKpis(const Principal& who, const v1::GetKpisRequest& req) {
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
    RETURN_IF_ERROR(ForEachFact(*o_.store, from, to, [&](const KpiFact& f) {
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
    ASSIGN_OR_RETURN(auto open_rows, o_.store->ScanProjection(kOpenTicketsProjection, "", "", SIZE_MAX));
    for (const auto& [key, unused] : open_rows) {
      ASSIGN_OR_RETURN(std::optional<v1::Ticket> t, LoadTicket(*o_.store, key.substr(key.find('/') + 1)));
      if (!t || !in_scope(t->region(), t->assignee(), t->type())) continue;
      ++groups[key_of(t->assignee(), t->team(), t->region(), t->type())].backlog;
    }
    v1::GetKpisResponse resp;
    Tally total;
    for (const auto& [key, tally] : groups) {
      *resp.add_rows() = tally.Row(key);
      total.Add(tally);
    }
    *resp.mutable_total() = total.Row("");
    return resp;
  }

  const TicketLogicOptions o_;

 private:
  mutable std::mutex engine_mu_;
  std::shared_ptr<const sla::SlaEngine> engine_;
  std::mutex config_mu_;
  std::mutex recompute_mu_;
};

TicketLogic::TicketLogic(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TicketLogic::~TicketLogic() = default;

absl::StatusOr<std::unique_ptr<TicketLogic>> TicketLogic::Create(TicketLogicOptions options) {
  if (options.store == nullptr) return absl::InvalidArgumentError("store: required");
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   options.store->GetProjection(kSlaConfigProjection, kConfigKey));
  std::shared_ptr<const sla::SlaEngine> engine;
  if (row) {
    v1::SlaConfig config;
    if (!config.ParseFromString(*row)) return absl::DataLossError("corrupt SLA configuration row");
    ASSIGN_OR_RETURN(sla::SlaEngine e, sla::SlaEngine::Create(config));
    engine = std::make_shared<const sla::SlaEngine>(std::move(e));
  } else {
    engine = std::make_shared<const sla::SlaEngine>(sla::SlaEngine::Default());
  }
  return std::unique_ptr<TicketLogic>(
      new TicketLogic(std::make_unique<Impl>(std::move(options), std::move(engine))));
}

absl::StatusOr<v1::OpenTicketResponse> TicketLogic::OpenTicket(const Principal& who,
                                                               const v1::OpenTicketRequest& req) {
  return impl_->Open(who, req);
}

// Commands on an existing ticket differ only in their decide function.
#define CRM_TICKET_MUTATE(Method, Request, Decide)                                             \
  absl::StatusOr<v1::WriteResponse> TicketLogic::Method(const Principal& who,                   \
                                                        const v1::Request& req) {               \
    return impl_->Mutate(who, req.ticket_id(), req.options(),                                  \
                         [&](const v1::Ticket& s, const DecideContext& ctx) {                   \
                           return Decide(s, req, ctx);                                         \
                         });                                                                   \
  }

CRM_TICKET_MUTATE(AssignTicket, AssignTicketRequest, DecideAssign)
CRM_TICKET_MUTATE(StartInvestigation, StartInvestigationRequest, DecideStartInvestigation)
CRM_TICKET_MUTATE(RecordFindings, RecordFindingsRequest, DecideRecordFindings)
CRM_TICKET_MUTATE(ProposeResolution, ProposeResolutionRequest, DecideProposeResolution)
CRM_TICKET_MUTATE(AnswerResolution, AnswerResolutionRequest, DecideAnswerResolution)
CRM_TICKET_MUTATE(ResolveTicket, ResolveTicketRequest, DecideResolve)
CRM_TICKET_MUTATE(RecordFeedback, RecordFeedbackRequest, DecideRecordFeedback)
CRM_TICKET_MUTATE(CloseTicket, CloseTicketRequest, DecideClose)
CRM_TICKET_MUTATE(ReopenTicket, ReopenTicketRequest, DecideReopen)
CRM_TICKET_MUTATE(AddComment, AddCommentRequest, DecideAddComment)
CRM_TICKET_MUTATE(SetWaitingOnCustomer, SetWaitingOnCustomerRequest, DecideSetWaiting)
#undef CRM_TICKET_MUTATE

absl::StatusOr<v1::GetTicketResponse> TicketLogic::GetTicket(const Principal& who,
                                                             const v1::GetTicketRequest& req) {
  ASSIGN_OR_RETURN(v1::Ticket t, impl_->LoadVisible(who, req.ticket_id()));
  v1::GetTicketResponse resp;
  *resp.mutable_ticket() = std::move(t);
  return resp;
}

absl::StatusOr<v1::ListTicketsResponse> TicketLogic::ListTickets(const Principal& who,
                                                                 const v1::ListTicketsRequest& req) {
  ASSIGN_OR_RETURN(size_t page_size, PageSize(req.page_size()));
  for (int i = 0; i < req.statuses_size(); ++i) {
    if (!v1::TicketStatus_IsValid(req.statuses(i)) || req.statuses(i) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("statuses[", i, "]: unknown value ", req.statuses(i)));
    }
  }
  if (!v1::TicketType_IsValid(req.type())) {
    return absl::InvalidArgumentError(absl::StrCat("type: unknown value ", req.type()));
  }
  if (!v1::Priority_IsValid(req.priority())) {
    return absl::InvalidArgumentError(absl::StrCat("priority: unknown value ", req.priority()));
  }
  const bool has_from = req.has_opened_from(), has_to = req.has_opened_to();
  const absl::Time from = FromProtoTimestamp(req.opened_from()), to = FromProtoTimestamp(req.opened_to());
  if (has_from && has_to && to <= from) return absl::InvalidArgumentError("opened_to: must be after opened_from");
  Query q{.page_size = page_size, .page_token = req.page_token()};
  if (!req.customer_id().empty()) {
    RETURN_IF_ERROR(impl_->VisibleCustomer(who, req.customer_id()).status());
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
  directory::VisibilityCache customers(*impl_->o_.store, impl_->o_.customers, who,
                                       impl_->o_.clock->Now());
  auto visible = [&](const v1::Ticket& t) {
    return (!t.assignee().empty() && t.assignee() == who.subject) ||
           customers.Visible(t.customer_id());
  };
  auto breached = [](const v1::Ticket& t) {
    return t.sla().first_response().breached() || t.sla().resolution().breached();
  };
  ASSIGN_OR_RETURN(Page page, ticket::ListTickets(*impl_->o_.store, q, [&](const v1::Ticket& t) {
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
  v1::ListTicketsResponse resp;
  for (v1::Ticket& t : page.tickets) *resp.add_tickets() = std::move(t);
  resp.set_next_page_token(page.next_page_token);
  return resp;
}

absl::StatusOr<v1::GetKpisResponse> TicketLogic::GetKpis(const Principal& who,
                                                         const v1::GetKpisRequest& req) {
  return impl_->GetKpis(who, req);
}

absl::StatusOr<v1::GetSlaConfigResponse> TicketLogic::GetSlaConfig(const Principal&,
                                                                   const v1::GetSlaConfigRequest&) {
  v1::GetSlaConfigResponse resp;
  *resp.mutable_config() = impl_->Engine()->config();
  return resp;
}

absl::StatusOr<v1::SetSlaConfigResponse> TicketLogic::SetSlaConfig(const Principal& who,
                                                                   const v1::SetSlaConfigRequest& req) {
  return impl_->SetSlaConfig(who, req);
}

absl::StatusOr<int> TicketLogic::RecomputeQueued() { return impl_->RecomputeQueued(); }
absl::StatusOr<int> TicketLogic::CheckSla() { return impl_->CheckSla(); }

}  // namespace crm::ticket
