#include "crm/domain/not_found.h"
#include "crm/interaction/app/churn_app.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crm/auth/access.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/command/as_of.h"
#include "crm/command/history.h"
#include "crm/command/page.h"
#include "crm/command/limits.h"
#include "crm/command/serve.h"
#include "crm/common/field_errors.h"
#include "crm/common/ids.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/domain/validation.h"
#include "crm/interaction/app/app_parts.h"
#include "crm/interaction/domain/churn_report.h"
#include "crm/interaction/projection/churn_projection.h"
#include "crm/interaction/projection/interaction_projection.h"
#include "crm/runtime/log.h"

namespace crm::interaction {
namespace {

using auth::Principal;
using domain::CustomerRef;
using eventstore::EventEnvelope;

// The event types a queued signal may have.
constexpr char kRiskRaised[] = "crm.classification.v1.ChurnRiskRaised";
constexpr char kRiskCleared[] = "crm.classification.v1.ChurnRiskCleared";
constexpr char kLifecycleChanged[] = "crm.customer.v1.LifecycleChanged";
constexpr char kOwnerAssigned[] = "crm.customer.v1.OwnerAssigned";

// The duties' command names (they scope the command ids).
constexpr char kOnRaised[] = "OpenOnChurnRiskRaised";
constexpr char kOnCleared[] = "RetainOnChurnRiskCleared";
constexpr char kOnWinBack[] = "WinBackOnLifecycleChanged";
constexpr char kOnReassigned[] = "ReassignOnOwnerAssigned";

using Target = command::Target<v1::ChurnCase>;
using Outcome = command::Outcome<v1::ChurnCase, v1::InteractionEvent>;

// What a ChurnRiskRaised brings to the decision.
struct Raised {
  std::string customer_id;
  std::string owner;
  std::string region;
  v1::ChurnWarning warning;
  std::vector<v1::SchemeClass> classes;
};
using RaisedTarget = command::Target<v1::ChurnCase, Raised>;
// The ChurnRiskCleared's score.
using ClearedTarget = command::Target<v1::ChurnCase, double>;
using WinBackTarget = command::Target<v1::ChurnCase, v1::WinBack>;
// The OwnerAssigned's new owner and region.
struct NewOwner {
  std::string owner;
  std::string region;
};
using ReassignTarget = command::Target<v1::ChurnCase, NewOwner>;

// A consumed event's command: its id is the command id (and the cause of what
// the command appends).
command::WriteOptions OptionsOfSignal(const EventEnvelope& cause) {
  command::WriteOptions o;
  o.command_id = cause.event_id();
  o.command_id_field = "event_id";
  o.causation_id = cause.event_id();
  o.correlation_id = cause.correlation_id().empty() ? cause.event_id() : cause.correlation_id();
  return o;
}

// The customer of a churn signal queue row: its key is "<customer>/<occurred_at
// micros>/<event id>" (churn_projection.h); the whole key for another shape.
std::string QueuedCustomer(const std::string& key, const EventEnvelope& cause) {
  const std::string tail = absl::StrCat("/", cause.event_id());
  if (cause.event_id().empty() || !absl::EndsWith(key, tail)) return key;
  const std::string_view rest = std::string_view(key).substr(0, key.size() - tail.size());
  const size_t slash = rest.rfind('/');
  return std::string(slash == std::string_view::npos ? rest : rest.substr(0, slash));
}

// A queued signal that can never apply: drop its row rather than retry.
bool Permanent(const absl::Status& s) {
  return absl::IsInvalidArgument(s) || absl::IsNotFound(s) || absl::IsFailedPrecondition(s) ||
         absl::IsOutOfRange(s) || absl::IsPermissionDenied(s);
}

absl::StatusOr<classification::v1::ClassificationEvent> ClassificationPayload(
    const EventEnvelope& cause, classification::v1::ClassificationEvent::KindCase kind) {
  classification::v1::ClassificationEvent e;
  if (!e.ParseFromString(cause.payload()) || e.kind_case() != kind) {
    return absl::InvalidArgumentError(absl::StrCat("payload: not a ", cause.event_type()));
  }
  RETURN_IF_ERROR(domain::ValidateId("customer_id", e.customer_id(), domain::Presence::kRequired));
  return e;
}

// A customer event that wins a churned customer back: LifecycleChanged from
// CHURNED to FOLLOWING or COOPERATING.
bool IsWinBack(const customer::v1::CustomerEvent& e) {
  if (!e.has_lifecycle_changed()) return false;
  const customer::v1::LifecycleChanged& l = e.lifecycle_changed();
  return l.from() == customer::v1::LIFECYCLE_CHURNED &&
         (l.to() == customer::v1::LIFECYCLE_FOLLOWING ||
          l.to() == customer::v1::LIFECYCLE_COOPERATING);
}

}  // namespace

const ChurnCaseAggregate& ChurnCases() {
  static const ChurnCaseAggregate* const kChurnCases = new ChurnCaseAggregate{
      .name = "churn case",
      .stream_prefix = ChurnCaseStreamFor(""),
      .state_projection = std::string(kChurnCasesProjection),
      .apply = [](v1::ChurnCase& s, const v1::InteractionEvent& e,
                  const domain::EventMeta& m) { ApplyChurnCase(s, e, m); },
      .event_type = [](const v1::InteractionEvent& e) { return EventType(e); },
      .partition_key = [](const v1::InteractionEvent& e) { return e.customer_id(); },
      .rows = [](const v1::ChurnCase& before, const v1::ChurnCase& after, const Events&,
                 absl::Time) { return ChurnCaseRowWrites(before, after); }};
  return *kChurnCases;
}

struct ChurnApp::Parts : AppParts {
  explicit Parts(const ChurnAppOptions& o) : AppParts(*o.pipeline, o.customers), o(o) {}

  const ChurnAppOptions& o;

  static ChurnContext Context(const command::Decision& d) {
    return ChurnContext{.actor = d.actor, .now = d.now};
  }

  // The case, when it exists and `who` may see its customer.
  absl::StatusOr<v1::ChurnCase> LoadVisible(const Principal& who, const std::string& id) const {
    RETURN_IF_ERROR(domain::ValidateId("case_id", id, domain::Presence::kRequired));
    ASSIGN_OR_RETURN(std::optional<v1::ChurnCase> c, LoadChurnCase(store, id));
    // A case whose customer the caller may not see answers like an absent one.
    if (!c) return domain::ObjectNotFound("churn case", id);
    RETURN_IF_ERROR(
        domain::HiddenObject(VisibleCustomer(who, c->customer_id()).status(), "churn case", id));
    return *std::move(c);
  }

  // For lists and reports: one check per customer, the directory only (a list
  // never waits for crm-customer).
  std::function<bool(const v1::ChurnCase&)> VisibleFilter(const Principal& who) const {
    return [customers = CustomerFilter(who)](const v1::ChurnCase& c) {
      return customers(c.customer_id());
    };
  }

  template <typename Req>
  command::Command<ChurnCaseAggregate, Req, v1::WriteResponse> OnCase(
      std::string rpc,
      absl::StatusOr<Events> (*decide)(const v1::ChurnCase&, const Req&, const ChurnContext&)) {
    return {.aggregate = &ChurnCases(),
            .rpc = std::move(rpc),
            .options = OptionsOf<Req>,
            .load = [this](const Principal& who, const Req& req) -> absl::StatusOr<Target> {
              ASSIGN_OR_RETURN(v1::ChurnCase state, LoadVisible(who, req.case_id()));
              return Target{.id = req.case_id(), .state = std::move(state)};
            },
            .decide = [decide](const Target& t, const Req& req, const command::Decision& d) {
              return decide(t.state, req, Context(d));
            },
            .respond = [](const Target&, const Outcome& outcome, v1::WriteResponse& r) {
              command::FillWrite(outcome, r);
            }};
  }

  const command::Command<ChurnCaseAggregate, v1::RecordRetentionMeasureRequest,
                         v1::RecordRetentionMeasureResponse>
      record_measure{
          .aggregate = &ChurnCases(),
          .rpc = "RecordRetentionMeasure",
          .options = OptionsOf<v1::RecordRetentionMeasureRequest>,
          .load = [this](const Principal& who, const v1::RecordRetentionMeasureRequest& req)
              -> absl::StatusOr<Target> {
            ASSIGN_OR_RETURN(v1::ChurnCase state, LoadVisible(who, req.case_id()));
            // The follow-up or recorded visit that carried it out: of the case's customer.
            RETURN_IF_ERROR(CheckCarriedOutBy("measure.interaction_id",
                                              req.measure().interaction_id(),
                                              state.customer_id()));
            return Target{.id = req.case_id(), .state = std::move(state)};
          },
          .decide = [](const Target& t, const v1::RecordRetentionMeasureRequest& req,
                       const command::Decision& d) {
            return DecideRecordMeasure(t.state, req, Context(d));
          },
          .respond = [](const Target&, const Outcome& outcome,
                        v1::RecordRetentionMeasureResponse& r) {
            for (const v1::InteractionEvent& e : outcome.events) {
              if (e.has_retention_measure_recorded()) {
                r.set_measure_id(e.retention_measure_recorded().measure().measure_id());
              }
            }
            command::FillWrite(outcome, *r.mutable_write());
          }};
  const command::Command<ChurnCaseAggregate, v1::PostponeChurnRequest, v1::WriteResponse>
      postpone = OnCase<v1::PostponeChurnRequest>("PostponeChurn", DecidePostponeChurn);
  const command::Command<ChurnCaseAggregate, v1::RetainChurnCaseRequest, v1::WriteResponse>
      retain = OnCase<v1::RetainChurnCaseRequest>("RetainChurnCase", DecideRetainChurnCase);
  const command::Command<ChurnCaseAggregate, v1::ConfirmChurnRequest, v1::WriteResponse>
      confirm = OnCase<v1::ConfirmChurnRequest>("ConfirmChurn", DecideConfirmChurn);

  // --- The signal worker's commands: the request is the queued envelope. No
  // access check: the service reacts to a fact another service recorded. A
  // signal with nothing to act on (no open case, no lost case) still runs on a
  // new, empty stream, so that its command id is recorded and a later replay of
  // it cannot act on a case opened since.

  // The customer's open case, else a new one.
  absl::StatusOr<Target> OpenCaseOrNew(const std::string& customer_id) const {
    ASSIGN_OR_RETURN(std::optional<std::string> open, OpenCaseOf(store, customer_id));
    if (open) {
      ASSIGN_OR_RETURN(std::optional<v1::ChurnCase> c, LoadChurnCase(store, *open));
      if (!c) return absl::DataLossError(absl::StrCat("open churn case ", *open, " has no row"));
      return Target{.id = *open, .state = *std::move(c)};
    }
    return Target{.id = NewId()};
  }

  const command::Command<ChurnCaseAggregate, EventEnvelope, v1::WriteResponse, Raised> on_raised{
      .aggregate = &ChurnCases(),
      .rpc = kOnRaised,
      .options = OptionsOfSignal,
      .load = [this](const Principal&, const EventEnvelope& cause) -> absl::StatusOr<RaisedTarget> {
        ASSIGN_OR_RETURN(
            classification::v1::ClassificationEvent e,
            ClassificationPayload(cause, classification::v1::ClassificationEvent::kChurnRiskRaised));
        const classification::v1::ChurnRiskRaised& r = e.churn_risk_raised();
        ASSIGN_OR_RETURN(Target target, OpenCaseOrNew(e.customer_id()));
        Raised raised{.customer_id = e.customer_id(), .owner = r.owner(), .region = r.region()};
        v1::ChurnWarning& w = raised.warning;
        w.set_event_id(cause.event_id());
        w.set_score(r.score());
        *w.mutable_criteria() = r.criteria();
        w.set_reason(r.reason());
        w.set_rule_set_version(r.rule_set_version());
        *w.mutable_raised_at() = cause.occurred_at();
        if (target.state.version() == 0) {
          // Whom to ask: the customer's owner and region now, as the directory knows them.
          ASSIGN_OR_RETURN(std::optional<customer::v1::Customer> entry,
                           directory::LoadDirectoryEntry(store, e.customer_id()));
          if (entry && !entry->owner().empty()) raised.owner = entry->owner();
          if (entry && !entry->region().empty()) raised.region = entry->region();
          ASSIGN_OR_RETURN(auto classes, directory::LoadClasses(store, e.customer_id()));
          for (const auto& [scheme, name] : classes) {
            v1::SchemeClass& c = raised.classes.emplace_back();
            c.set_scheme(static_cast<classification::v1::Scheme>(scheme));
            c.set_class_name(name);
          }
        }
        return RaisedTarget{.id = target.id, .state = std::move(target.state),
                            .context = std::move(raised)};
      },
      .decide = [](const RaisedTarget& t, const EventEnvelope&, const command::Decision& d) {
        const Raised& r = t.context;
        return DecideOpenOrAddWarning(t.state, t.id, r.customer_id, r.owner, r.region, r.warning,
                                      r.classes, Context(d));
      },
      .respond = [](const RaisedTarget&, const Outcome& outcome, v1::WriteResponse& r) {
        command::FillWrite(outcome, r);
      }};

  const command::Command<ChurnCaseAggregate, EventEnvelope, v1::WriteResponse, double> on_cleared{
      .aggregate = &ChurnCases(),
      .rpc = kOnCleared,
      .options = OptionsOfSignal,
      .load = [this](const Principal&,
                     const EventEnvelope& cause) -> absl::StatusOr<ClearedTarget> {
        ASSIGN_OR_RETURN(classification::v1::ClassificationEvent e,
                         ClassificationPayload(
                             cause, classification::v1::ClassificationEvent::kChurnRiskCleared));
        ASSIGN_OR_RETURN(Target target, OpenCaseOrNew(e.customer_id()));
        return ClearedTarget{.id = std::move(target.id),
                             .state = std::move(target.state),
                             .context = e.churn_risk_cleared().score()};
      },
      .decide = [](const ClearedTarget& t, const EventEnvelope&, const command::Decision& d) {
        return DecideRetainOnRiskCleared(t.state, t.context, Context(d));
      },
      .respond = [](const ClearedTarget&, const Outcome& outcome, v1::WriteResponse& r) {
        command::FillWrite(outcome, r);
      }};

  // The customer's most recently closed LOST case not yet won back.
  absl::StatusOr<std::optional<v1::ChurnCase>> LatestLostCase(const std::string& customer_id) const {
    ASSIGN_OR_RETURN(std::vector<std::string> ids, LostCasesOf(store, customer_id));
    std::optional<v1::ChurnCase> latest;
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(std::optional<v1::ChurnCase> c, LoadChurnCase(store, id));
      if (!c) continue;
      if (!latest || FromProtoTimestamp(c->closed_at()) >= FromProtoTimestamp(latest->closed_at())) {
        latest = std::move(c);
      }
    }
    return latest;
  }

  const command::Command<ChurnCaseAggregate, EventEnvelope, v1::WriteResponse, v1::WinBack>
      on_win_back{
          .aggregate = &ChurnCases(),
          .rpc = kOnWinBack,
          .options = OptionsOfSignal,
          .load = [this](const Principal&,
                         const EventEnvelope& cause) -> absl::StatusOr<WinBackTarget> {
            customer::v1::CustomerEvent e;
            if (!e.ParseFromString(cause.payload()) || !IsWinBack(e)) {
              return absl::InvalidArgumentError(
                  "payload: not a LifecycleChanged from CHURNED to FOLLOWING or COOPERATING");
            }
            RETURN_IF_ERROR(
                domain::ValidateId("customer_id", e.customer_id(), domain::Presence::kRequired));
            WinBackTarget t;
            t.context.set_lifecycle(e.lifecycle_changed().to());
            *t.context.mutable_at() = cause.occurred_at();
            t.context.set_event_id(cause.event_id());
            t.context.set_actor(cause.actor());
            ASSIGN_OR_RETURN(std::optional<v1::ChurnCase> lost, LatestLostCase(e.customer_id()));
            if (lost) {
              t.id = lost->case_id();
              t.state = *std::move(lost);
            } else {
              t.id = NewId();
            }
            return t;
          },
          .decide = [](const WinBackTarget& t, const EventEnvelope&, const command::Decision& d) {
            return DecideChurnWonBack(t.state, t.context, Context(d));
          },
          .respond = [](const WinBackTarget&, const Outcome& outcome, v1::WriteResponse& r) {
            command::FillWrite(outcome, r);
          }};

  // The customer's open case follows an OwnerAssigned. An assignment that a later
  // one already replaced in the directory (consumed in the customer's order, and
  // queued too) acts on nothing: the case goes to the latest owner only, whatever
  // order the queue's occurred_at times put the two in.
  const command::Command<ChurnCaseAggregate, EventEnvelope, v1::WriteResponse, NewOwner>
      on_reassigned{
          .aggregate = &ChurnCases(),
          .rpc = kOnReassigned,
          .options = OptionsOfSignal,
          .load = [this](const Principal&,
                         const EventEnvelope& cause) -> absl::StatusOr<ReassignTarget> {
            customer::v1::CustomerEvent e;
            if (!e.ParseFromString(cause.payload()) || !e.has_owner_assigned()) {
              return absl::InvalidArgumentError("payload: not an OwnerAssigned");
            }
            RETURN_IF_ERROR(
                domain::ValidateId("customer_id", e.customer_id(), domain::Presence::kRequired));
            const customer::v1::OwnershipChange& change = e.owner_assigned().change();
            ReassignTarget t;
            t.context = NewOwner{.owner = change.to_owner(), .region = change.to_region()};
            ASSIGN_OR_RETURN(std::optional<customer::v1::Customer> entry,
                             directory::LoadDirectoryEntry(store, e.customer_id()));
            const bool replaced = entry && (entry->owner() != change.to_owner() ||
                                            entry->region() != change.to_region());
            Target target{.id = NewId()};  // replaced, or no open case: nothing to act on
            if (!replaced) {
              ASSIGN_OR_RETURN(target, OpenCaseOrNew(e.customer_id()));
            }
            t.id = std::move(target.id);
            t.state = std::move(target.state);
            return t;
          },
          .decide =
              [](const ReassignTarget& t, const EventEnvelope&, const command::Decision& d) {
                return DecideReassignChurnCase(t.state, t.context.owner, t.context.region,
                                               Context(d));
              },
          .respond = [](const ReassignTarget&, const Outcome& outcome,
                        v1::WriteResponse& r) { command::FillWrite(outcome, r); }};

  // The overdue reporter's: decided on the case's current state.
  const command::Command<ChurnCaseAggregate, std::string, Applied> report_overdue{
      .aggregate = &ChurnCases(),
      .rpc = "ReportChurnReviewOverdue",
      .load = [this](const Principal&, const std::string& id) -> absl::StatusOr<Target> {
        ASSIGN_OR_RETURN(std::optional<v1::ChurnCase> c, LoadChurnCase(store, id));
        if (!c) return absl::NotFoundError(absl::StrCat("churn case ", id, " not found"));
        return Target{.id = id, .state = *std::move(c)};
      },
      .decide = [](const Target& t, const std::string&, const command::Decision& d) {
        return DecideReportReviewOverdue(t.state, Context(d));
      },
      .respond = [](const Target&, const Outcome& outcome, Applied& a) {
        a.events = outcome.events.size();
      }};

  // Runs one queued signal (a row that is no churn signal: nothing, OK).
  absl::StatusOr<v1::WriteResponse> ApplySignal(const EventEnvelope& cause) {
    // Its id is the command id: without one a redelivery would apply again.
    if (cause.event_id().empty()) return InvalidField("event_id", "required");
    if (cause.event_type() == kRiskRaised) {
      return o.pipeline->Execute(on_raised, ServicePrincipal(), cause);
    }
    if (cause.event_type() == kRiskCleared) {
      return o.pipeline->Execute(on_cleared, ServicePrincipal(), cause);
    }
    if (cause.event_type() == kLifecycleChanged) {
      customer::v1::CustomerEvent e;
      if (!e.ParseFromString(cause.payload())) {
        return absl::InvalidArgumentError("payload: not a crm.customer.v1.CustomerEvent");
      }
      if (!IsWinBack(e)) return v1::WriteResponse();  // another lifecycle change
      return o.pipeline->Execute(on_win_back, ServicePrincipal(), cause);
    }
    if (cause.event_type() == kOwnerAssigned) {
      return o.pipeline->Execute(on_reassigned, ServicePrincipal(), cause);
    }
    return v1::WriteResponse();
  }

  // True when the signal's command id was recorded before (a redelivery, a
  // replay): only to count, the pipeline itself answers a recorded command id.
  absl::StatusOr<bool> AppliedBefore(const EventEnvelope& cause) const {
    const char* rpc = cause.event_type() == kRiskRaised         ? kOnRaised
                      : cause.event_type() == kRiskCleared      ? kOnCleared
                      : cause.event_type() == kLifecycleChanged ? kOnWinBack
                      : cause.event_type() == kOwnerAssigned    ? kOnReassigned
                                                                : nullptr;
    if (rpc == nullptr || cause.event_id().empty()) return false;
    ASSIGN_OR_RETURN(std::optional<eventstore::AppendResult> recorded,
                     store.LookupCommand(
                         command::ScopedCommandKey(rpc, ServicePrincipal().subject, cause.event_id())));
    return recorded.has_value();
  }
};

ChurnApp::ChurnApp(ChurnAppOptions options)
    : o_(std::move(options)), parts_(std::make_unique<Parts>(o_)) {}

ChurnApp::~ChurnApp() = default;

#define CRM_CHURN_COMMAND(Method, Request, Response, member)                                \
  void ChurnApp::Method(const Principal& who, const v1::Request& req, v1::Response* resp, \
                        command::Done done) {                                             \
    o_.pipeline->Run(parts_->member, who, req, resp, std::move(done));                    \
  }
CRM_CHURN_COMMAND(RecordRetentionMeasure, RecordRetentionMeasureRequest,
                  RecordRetentionMeasureResponse, record_measure)
CRM_CHURN_COMMAND(PostponeChurn, PostponeChurnRequest, WriteResponse, postpone)
CRM_CHURN_COMMAND(RetainChurnCase, RetainChurnCaseRequest, WriteResponse, retain)
CRM_CHURN_COMMAND(ConfirmChurn, ConfirmChurnRequest, WriteResponse, confirm)
#undef CRM_CHURN_COMMAND

absl::Status ChurnApp::GetChurnCase(const Principal& who, const v1::GetChurnCaseRequest& req,
                                    v1::GetChurnCaseResponse* resp) {
  if (req.has_as_of()) RETURN_IF_ERROR(domain::ValidateTimestamp("as_of", req.as_of()));
  ASSIGN_OR_RETURN(v1::ChurnCase current, parts_->LoadVisible(who, req.case_id()));
  if (!req.has_as_of()) {
    *resp->mutable_churn_case() = std::move(current);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(v1::ChurnCase past,
                   command::ExistingStateAsOf(ChurnCases(), parts_->store, req.case_id(),
                                              FromProtoTimestamp(req.as_of())));
  *resp->mutable_churn_case() = std::move(past);
  return absl::OkStatus();
}

absl::Status ChurnApp::GetChurnCaseHistory(const Principal& who,
                                           const v1::GetChurnCaseHistoryRequest& req,
                                           v1::GetChurnCaseHistoryResponse* resp) {
  RETURN_IF_ERROR(command::PageSize(req.page_size(), command::kHistoryPageSize).status());
  RETURN_IF_ERROR(parts_->LoadVisible(who, req.case_id()).status());
  return command::ReadHistoryPage(parts_->store, ChurnCaseStreamFor(req.case_id()),
                                  "GetChurnCaseHistory", req, who, resp);
}

absl::Status ChurnApp::ListChurnCases(const Principal& who, const v1::ListChurnCasesRequest& req,
                                      v1::ListChurnCasesResponse* resp) {
  ASSIGN_OR_RETURN(size_t page_size, command::PageSize(req.page_size(), 50));
  RETURN_IF_ERROR(domain::ValidateEnum("status", req.status(), v1::ChurnCaseStatus_IsValid,
                                       domain::Presence::kOptional));
  RETURN_IF_ERROR(domain::ValidateId("customer_id", req.customer_id(), domain::Presence::kOptional));
  RETURN_IF_ERROR(domain::ValidateId("owner", req.owner(), domain::Presence::kOptional));
  RETURN_IF_ERROR(domain::ValidateId("region", req.region(), domain::Presence::kOptional));
  ChurnCaseQuery q{.page_size = page_size,
                   .page_token = req.page_token(),
                   .binding = command::PageBinding("ListChurnCases", req, who)};
  if (!req.customer_id().empty()) {
    RETURN_IF_ERROR(parts_->VisibleCustomer(who, req.customer_id()).status());
    q.index = ChurnIndex::kCustomer;
    q.value = req.customer_id();
  } else if (!req.owner().empty()) {
    q.index = ChurnIndex::kOwner;
    q.value = req.owner();
  } else if (!req.region().empty()) {
    q.index = ChurnIndex::kRegion;
    q.value = req.region();
  }
  const std::string today = domain::UtcDateOf(parts_->Now());
  auto visible = parts_->VisibleFilter(who);
  ASSIGN_OR_RETURN(
      ChurnCasePage page,
      interaction::ListChurnCases(parts_->store, q, [&](const v1::ChurnCase& c) {
        return (req.customer_id().empty() || c.customer_id() == req.customer_id()) &&
               (req.owner().empty() || c.owner() == req.owner()) &&
               (req.region().empty() || c.region() == req.region()) &&
               (req.status() == v1::CHURN_CASE_STATUS_UNSPECIFIED || c.status() == req.status()) &&
               (!req.overdue_only() || (IsOpenCase(c) && !c.review_date().empty() &&
                                        c.review_date() < today)) &&
               visible(c);
      }));
  for (v1::ChurnCase& c : page.cases) {
    if (c.warnings_size() > 1) c.mutable_warnings()->DeleteSubrange(1, c.warnings_size() - 1);
    c.clear_measures();
    c.clear_classes();
    *resp->add_cases() = std::move(c);
  }
  resp->set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

void ChurnApp::GetChurnReport(const Principal& who, const v1::GetChurnReportRequest& req,
                              v1::GetChurnReportResponse* resp, command::Done done) {
  command::RunOn(o_.slow_queries, std::move(done),
                 [this, who, &req, resp] { return ChurnReport(who, req, resp); });
}

absl::Status ChurnApp::ChurnReport(const Principal& who, const v1::GetChurnReportRequest& req,
                                   v1::GetChurnReportResponse* resp) {
  ASSIGN_OR_RETURN(const command::ReportTime when, command::ReportTimeOf(req, parts_->Now()));
  ASSIGN_OR_RETURN(const ReportPeriod period,
                   ParseReportPeriod(req.period_from(), req.period_to(), when.at));
  RETURN_IF_ERROR(domain::ValidateId("owner", req.owner(), domain::Presence::kOptional));
  RETURN_IF_ERROR(domain::ValidateId("region", req.region(), domain::Presence::kOptional));
  RETURN_IF_ERROR(domain::ValidateEnum("scheme", req.scheme(), classification::v1::Scheme_IsValid,
                                       domain::Presence::kOptional));
  const classification::v1::Scheme scheme = req.scheme() == classification::v1::SCHEME_UNSPECIFIED
                                                ? classification::v1::SCHEME_ABCD
                                                : req.scheme();

  ChurnReportBuilder report(when.at, period, scheme);
  auto visible = parts_->VisibleFilter(who);
  RETURN_IF_ERROR(ForEachChurnCase(parts_->store, [&](const v1::ChurnCase& row) -> absl::Status {
    // The customer never changes on a case: check access before any replay. Owner
    // and region do (ChurnCaseReassigned): filter on the case as it was.
    if (!visible(row)) return absl::OkStatus();
    v1::ChurnCase past;
    ASSIGN_OR_RETURN(const v1::ChurnCase* c,
                     command::RowAsOf(ChurnCases(), parts_->store, row.case_id(), row,
                                      FromProtoTimestamp(row.opened_at()), when.as_of, past));
    if (c == nullptr || (!req.owner().empty() && c->owner() != req.owner()) ||
        (!req.region().empty() && c->region() != req.region())) {
      return absl::OkStatus();
    }
    report.Add(*c);
    return absl::OkStatus();
  }));
  *resp->mutable_report() = report.Finish();
  return absl::OkStatus();
}

absl::StatusOr<int> ChurnApp::ApplyChurnSignals() {
  constexpr size_t kBatch = 500;
  eventstore::EventStore& store = parts_->store;
  int applied_count = 0;
  // A row that fails for a reason that may pass (the store, a race lost too
  // often) stays for the next run, and the rows of other customers after it are
  // still worked on. The same customer's later rows stay too: its signals apply
  // in the order they happened (a clear never before the warning it clears).
  absl::Status retry_later;
  std::set<std::string> held;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(auto queued,
                     store.ScanProjection(kChurnSignalQueueProjection, "", after, kBatch));
    for (const auto& [key, value] : queued) {
      after = key;
      EventEnvelope cause;
      bool again = false;
      absl::StatusOr<v1::WriteResponse> applied =
          absl::InvalidArgumentError("corrupt churn signal queue row");
      if (cause.ParseFromString(value)) {
        if (held.contains(QueuedCustomer(key, cause))) continue;
        ASSIGN_OR_RETURN(again, parts_->AppliedBefore(cause));
        applied = parts_->ApplySignal(cause);
      }
      if (applied.ok()) {
        if (!again && applied->event_ids_size() > 0) ++applied_count;
      } else if (Permanent(applied.status())) {
        runtime::Log(runtime::LogLevel::kWarn, "churn_signal_not_applied",
                     {{"queued", key}, {"event_type", cause.event_type()},
                      {"error", applied.status().ToString()}});
      } else {
        runtime::Log(runtime::LogLevel::kWarn, "churn_signal_retry_later",
                     {{"queued", key}, {"event_type", cause.event_type()},
                      {"error", applied.status().ToString()}});
        retry_later.Update(applied.status());
        held.insert(QueuedCustomer(key, cause));
        continue;
      }
      RETURN_IF_ERROR(store.WriteProjections(
          {eventstore::ProjectionWrite::Delete(std::string(kChurnSignalQueueProjection), key)}));
    }
    if (queued.size() < kBatch) break;
  }
  RETURN_IF_ERROR(retry_later);
  return applied_count;
}

absl::StatusOr<int> ChurnApp::ReportOverdueReviews() {
  const std::string today = domain::UtcDateOf(parts_->Now());
  return ReportInRounds<std::string>(
      [&] { return CasesReviewDueBefore(parts_->store, today, 500); },
      [&](const std::string& id) -> absl::StatusOr<bool> {
        ASSIGN_OR_RETURN(Applied applied,
                         o_.pipeline->Execute(parts_->report_overdue, ServicePrincipal(), id));
        return applied.events > 0;
      });
}

}  // namespace crm::interaction
