#include "crm/customer/app/customer_app.h"

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
#include "crm/command/rebuild.h"
#include "crm/common/ids.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/customer/domain/customer_aggregate.h"
#include "crm/customer/projection/customer_projection.h"
#include "crm/customer/projection/ticket_agents.h"
#include "crm/domain/not_found.h"
#include "crm/eventlog/access.h"
#include "crm/eventstore/index_walk.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/runtime/log.h"

namespace crm::customer {
namespace {

using auth::Principal;
using auth::Role;

std::vector<auth::AccessGrant> GrantsOf(const v1::Customer& c) {
  std::vector<auth::AccessGrant> out;
  for (const v1::AccessGrant& g : c.access_grants()) {
    out.push_back({g.subject(), c.customer_id(), FromProtoTimestamp(g.expires_at())});
  }
  return out;
}

// Not the service role: nobody transfers ownership with a service token (issue 18).
bool IsManagerOrAbove(const Principal& p) {
  return p.Has(Role::kRegionalManager) || p.Has(Role::kExecutive) || p.Has(Role::kAdmin);
}

// The approvers of access requests (seed 004 §7); roles the identity provider sets.
bool DecidesAccessRequests(const Principal& p) {
  return p.Has(Role::kGeneralManager) || p.Has(Role::kMarketingDirector);
}

absl::Status CheckDecidesAccessRequests(const Principal& p) {
  if (DecidesAccessRequests(p)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      "only the general manager and the marketing director decide and list access requests");
}

// The write options of a request that carries `command_id` itself (no expected
// version: a request for access must not tell a customer's version).
template <typename Req>
command::WriteOptions CommandIdOf(const Req& r) {
  command::WriteOptions o;
  o.command_id = r.command_id();
  o.command_id_field = "command_id";
  return o;
}

bool SeesEverything(const Principal& p) {
  return p.Has(Role::kExecutive) || p.Has(Role::kAdmin) || p.Has(Role::kService);
}

// What a command on an existing customer needs of its caller besides seeing it.
enum class Access { kScope, kGrant, kTransfer };

// What registration decides with: the request with owner and region resolved,
// and the duplicate the caller confirmed (if any), and whether the caller may see it.
struct Registration {
  v1::RegisterCustomerRequest resolved;
  std::optional<DuplicateMatch> duplicate;
  bool duplicate_visible = false;
  Principal registrant;  // the caller, for the duplicate's visibility
};

using Target = command::Target<v1::Customer>;
using Events = std::vector<v1::CustomerEvent>;

// What the conversion decides with besides the customer: the won opportunity.
// A reaction to a consumed crm-interaction event: the event as queued, decoded.
using ReactionTarget = command::Target<v1::Customer, interaction::v1::InteractionEvent>;

// A reaction runs as the consumed event's actor (the envelope's actor of the
// LifecycleChanged), with the service's role: it is this service's reaction.
Principal OnBehalfOf(const eventstore::EventEnvelope& cause) {
  return Principal{cause.actor().empty() ? std::string("crm-customer") : cause.actor(),
                   {Role::kService}, ""};
}

// "COMPETITOR: moved to Acme": the churn reason a confirmed loss gives the customer.
std::string ChurnReasonOf(const interaction::v1::ChurnLossConfirmed& loss) {
  std::string reason(interaction::v1::ChurnLossReason_Name(loss.reason()));
  constexpr std::string_view kPrefix = "CHURN_LOSS_REASON_";
  if (reason.rfind(kPrefix, 0) == 0) reason.erase(0, kPrefix.size());
  if (reason.empty()) reason = "UNSPECIFIED";
  if (!loss.reason_text().empty()) absl::StrAppend(&reason, ": ", loss.reason_text());
  return reason;
}

// A reaction that can never apply: drop its queue row rather than retry.
bool Permanent(const absl::Status& s) {
  return absl::IsInvalidArgument(s) || absl::IsNotFound(s) || absl::IsFailedPrecondition(s) ||
         absl::IsOutOfRange(s) || absl::IsPermissionDenied(s);
}

DecideContext Context(const command::Decision& d) {
  return DecideContext{d.actor, d.now, [] { return NewId(); }};
}

template <typename Req>
command::WriteOptions OptionsOf(const Req& r) {
  return command::WriteOptions::Of(r.options());
}

// Fills in owner and region, and checks the caller may register there.
absl::Status ResolveOwnerAndRegion(const Principal& who, v1::RegisterCustomerRequest& req) {
  if (req.owner().empty() && !who.Has(Role::kService)) req.set_owner(who.subject);
  if (req.region().empty()) req.set_region(who.region);
  if (SeesEverything(who)) return absl::OkStatus();
  if (who.Has(Role::kRegionalManager)) {
    if (req.region() != who.region) {
      return absl::PermissionDeniedError("regional managers register customers of their region");
    }
    return absl::OkStatus();
  }
  if (who.Has(Role::kSalesRep) || who.Has(Role::kServiceAgent)) {
    if (req.owner() != who.subject) {
      return absl::PermissionDeniedError("sales reps and service agents register customers they own");
    }
    if (!who.region.empty() && req.region() != who.region) {
      return absl::PermissionDeniedError("customers are registered in the caller's region");
    }
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError("caller has no role that may register customers");
}

}  // namespace

const CustomerAggregate& Customers() {
  static const CustomerAggregate* const kCustomers = new CustomerAggregate{
      .name = "customer",
      .stream_prefix = StreamFor(""),
      .state_projection = std::string(kCustomersProjection),
      .apply = [](v1::Customer& s, const v1::CustomerEvent& e,
                  const domain::EventMeta& m) { Apply(s, e, m); },
      .event_type = [](const v1::CustomerEvent& e) { return EventType(e); },
      .partition_key = [](const v1::CustomerEvent& e) { return e.customer_id(); },
      .rows = [](const v1::Customer& before, const v1::Customer& after, const Events& events,
                 absl::Time) {
        std::vector<eventstore::ProjectionWrite> writes = RowWrites(before, after);
        for (eventstore::ProjectionWrite& w : AccessRequestWrites(events)) {
          writes.push_back(std::move(w));
        }
        return writes;
      }};
  return *kCustomers;
}

std::unique_ptr<eventstore::ProjectionSetProjector> NewRebuildProjector() {
  return std::make_unique<command::AggregateProjector<CustomerAggregate>>(Customers());
}

// One command per write RPC; every one but registration acts on a customer the
// caller can see.
struct CustomerApp::Commands {
  explicit Commands(eventstore::EventStore& store, const Clock& clock)
      : store(store), clock(clock) {}

  eventstore::EventStore& store;
  const Clock& clock;

  // The current record, if it exists and the caller may see it. A customer the
  // caller may not see is NOT_FOUND exactly like one that does not exist
  // (domain::CustomerNotFound): code and message tell nothing apart.
  absl::StatusOr<v1::Customer> LoadVisible(const Principal& who, const std::string& id) const {
    ASSIGN_OR_RETURN(std::optional<v1::Customer> c, LoadCustomer(store, id));
    if (!c || !Visible(who, *c)) return domain::CustomerNotFound(id);
    return *std::move(c);
  }

  // For reads (get, history): also a customer whose open ticket is assigned to
  // the caller as a service agent (seed 004 §7.1); writes use LoadVisible.
  absl::StatusOr<v1::Customer> LoadReadable(const Principal& who, const std::string& id) const {
    ASSIGN_OR_RETURN(std::optional<v1::Customer> c, LoadCustomer(store, id));
    if (!c) return domain::CustomerNotFound(id);
    if (Visible(who, *c)) return *std::move(c);
    if (who.Has(Role::kServiceAgent)) {
      ASSIGN_OR_RETURN(std::vector<std::string> agents, OpenTicketAgents(store, id));
      if (auth::ServesCustomer(who, agents)) return *std::move(c);
    }
    return domain::CustomerNotFound(id);
  }

  bool Visible(const Principal& who, const v1::Customer& c) const {
    return auth::CheckCustomerAccess(who, {c.customer_id(), c.owner(), c.region()}, clock.Now(),
                                     GrantsOf(c))
        .ok();
  }

  // The duplicate check of a registration. A duplicate the caller may see is named
  // (ALREADY_EXISTS with its id); one the caller may not see is still refused with
  // ALREADY_EXISTS, but without its id, and a confirmed registration does not
  // record its id in the event (the caller would read it in the history).
  absl::Status CheckDuplicate(const Principal& who, const v1::RegisterCustomerRequest& req,
                              Registration& r) const {
    ASSIGN_OR_RETURN(r.duplicate, FindDuplicate(store, req.basic()));
    if (!r.duplicate) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::optional<v1::Customer> dup, LoadCustomer(store, r.duplicate->customer_id));
    r.duplicate_visible = dup && Visible(who, *dup);
    if (req.confirm_duplicate()) return absl::OkStatus();
    if (!r.duplicate_visible) {
      return absl::AlreadyExistsError(absl::StrCat(
          "possible duplicate of a customer you cannot see (same ", r.duplicate->matched_on,
          "); set confirm_duplicate to register anyway"));
    }
    return absl::AlreadyExistsError(absl::StrCat(
        "possible duplicate of customer ", r.duplicate->customer_id, " (same ",
        r.duplicate->matched_on, "); set confirm_duplicate to register anyway"));
  }

  // A command on an existing customer: load with access, decide with the domain.
  template <typename Req, typename Resp = v1::WriteResponse>
  command::Command<CustomerAggregate, Req, Resp> OnCustomer(
      std::string rpc, Access access,
      absl::StatusOr<Events> (*decide)(const v1::Customer&, const Req&, const DecideContext&),
      std::function<void(const Target&, const command::Outcome<v1::Customer, v1::CustomerEvent>&,
                         Resp&)>
          respond) const {
    return {.aggregate = &Customers(),
            .rpc = std::move(rpc),
            .options = OptionsOf<Req>,
            .load = [this, access](const Principal& who, const Req& req) -> absl::StatusOr<Target> {
              if (req.customer_id().empty()) {
                return absl::InvalidArgumentError("customer_id: required");
              }
              ASSIGN_OR_RETURN(v1::Customer state, LoadVisible(who, req.customer_id()));
              if (access == Access::kGrant && !auth::CanGrantAccess(who)) {
                return absl::PermissionDeniedError(
                    "only executives and admins grant or revoke access");
              }
              if (access == Access::kTransfer && !IsManagerOrAbove(who)) {
                return absl::PermissionDeniedError(
                    "only managers, executives and admins transfer ownership");
              }
              return Target{.id = req.customer_id(), .state = std::move(state)};
            },
            .decide = [decide](const Target& t, const Req& req, const command::Decision& d) {
              return decide(t.state, req, Context(d));
            },
            .respond = std::move(respond)};
  }

  template <typename Req>
  command::Command<CustomerAggregate, Req, v1::WriteResponse> Write(
      std::string rpc, Access access,
      absl::StatusOr<Events> (*decide)(const v1::Customer&, const Req&, const DecideContext&)) const {
    return OnCustomer<Req, v1::WriteResponse>(std::move(rpc), access, decide,
                           [](const Target&, const auto& outcome, v1::WriteResponse& r) {
                             command::FillWrite(outcome, r);
                           });
  }

  // A command that adds a part and answers with the id the domain gave it.
  template <typename Req, typename Resp>
  command::Command<CustomerAggregate, Req, Resp> AddPart(
      std::string rpc,
      absl::StatusOr<Events> (*decide)(const v1::Customer&, const Req&, const DecideContext&),
      std::string (*assigned)(const Events&), void (Resp::*set_id)(const std::string&)) const {
    return OnCustomer<Req, Resp>(
        std::move(rpc), Access::kScope, decide,
        [assigned, set_id](const Target&, const auto& outcome, Resp& r) {
          (r.*set_id)(assigned(outcome.events));
          command::FillWrite(outcome, *r.mutable_write());
        });
  }

  const command::Command<CustomerAggregate, v1::RegisterCustomerRequest,
                         v1::RegisterCustomerResponse, Registration>
      register_customer{
          .aggregate = &Customers(),
          .rpc = "RegisterCustomer",
          .options = OptionsOf<v1::RegisterCustomerRequest>,
          .load = [](const Principal& who, const v1::RegisterCustomerRequest& req)
              -> absl::StatusOr<command::Target<v1::Customer, Registration>> {
            command::Target<v1::Customer, Registration> t{.id = NewId()};
            t.context.resolved = req;
            t.context.registrant = who;
            RETURN_IF_ERROR(ResolveOwnerAndRegion(who, t.context.resolved));
            return t;
          },
          // After the replay check: a replay would find its own customer.
          .prepare = [this](command::Target<v1::Customer, Registration>& t,
                            const v1::RegisterCustomerRequest& req) -> absl::Status {
            return CheckDuplicate(t.context.registrant, req, t.context);
          },
          .decide = [](const command::Target<v1::Customer, Registration>& t,
                       const v1::RegisterCustomerRequest&,
                       const command::Decision& d) -> absl::StatusOr<Events> {
            ASSIGN_OR_RETURN(Events events, DecideRegister(t.context.resolved, t.id, Context(d)));
            if (t.context.duplicate && t.context.duplicate_visible) {
              events.front().mutable_registered()->set_confirmed_duplicate_of(
                  t.context.duplicate->customer_id);
            }
            return events;
          },
          .respond = [](const command::Target<v1::Customer, Registration>& t, const auto& outcome,
                        v1::RegisterCustomerResponse& r) {
            r.set_customer_id(t.id);
            command::FillWrite(outcome, *r.mutable_write());
          }};

  const command::Command<CustomerAggregate, v1::UpdateCustomerRequest, v1::WriteResponse>
      update_customer = Write("UpdateCustomer", Access::kScope, DecideUpdate);
  const command::Command<CustomerAggregate, v1::AddContactRequest, v1::AddContactResponse>
      add_contact = AddPart<v1::AddContactRequest, v1::AddContactResponse>(
          "AddContact", DecideAddContact,
          [](const Events& events) {
            for (const auto& e : events) {
              if (e.has_contact_added()) return e.contact_added().contact().contact_id();
            }
            return std::string();
          },
          &v1::AddContactResponse::set_contact_id);
  const command::Command<CustomerAggregate, v1::UpdateContactRequest, v1::WriteResponse>
      update_contact = Write("UpdateContact", Access::kScope, DecideUpdateContact);
  const command::Command<CustomerAggregate, v1::RemoveContactRequest, v1::WriteResponse>
      remove_contact = Write("RemoveContact", Access::kScope, DecideRemoveContact);
  const command::Command<CustomerAggregate, v1::RecordTransactionRequest,
                         v1::RecordTransactionResponse>
      record_transaction =
          AddPart<v1::RecordTransactionRequest, v1::RecordTransactionResponse>(
              "RecordTransaction", DecideRecordTransaction,
              [](const Events& events) {
                for (const auto& e : events) {
                  if (e.has_transaction_recorded()) {
                    return e.transaction_recorded().transaction().transaction_id();
                  }
                }
                return std::string();
              },
              &v1::RecordTransactionResponse::set_transaction_id);
  const command::Command<CustomerAggregate, v1::RecordAgreementRequest,
                         v1::RecordAgreementResponse>
      record_agreement = AddPart<v1::RecordAgreementRequest, v1::RecordAgreementResponse>(
          "RecordAgreement", DecideRecordAgreement,
          [](const Events& events) {
            for (const auto& e : events) {
              if (e.has_agreement_recorded()) {
                return e.agreement_recorded().agreement().agreement_id();
              }
            }
            return std::string();
          },
          &v1::RecordAgreementResponse::set_agreement_id);
  const command::Command<CustomerAggregate, v1::ChangeAgreementStatusRequest, v1::WriteResponse>
      change_agreement_status =
          Write("ChangeAgreementStatus", Access::kScope, DecideChangeAgreementStatus);
  const command::Command<CustomerAggregate, v1::ChangeLifecycleRequest, v1::WriteResponse>
      change_lifecycle = Write("ChangeLifecycle", Access::kScope, DecideChangeLifecycle);
  const command::Command<CustomerAggregate, v1::AssignOwnerRequest, v1::WriteResponse>
      assign_owner = Write("AssignOwner", Access::kTransfer, DecideAssignOwner);
  const command::Command<CustomerAggregate, v1::SetVerificationRequest, v1::WriteResponse>
      set_verification = Write("SetVerification", Access::kScope, DecideSetVerification);
  const command::Command<CustomerAggregate, v1::GrantAccessRequest, v1::WriteResponse>
      grant_access = Write("GrantAccess", Access::kGrant, DecideGrantAccess);
  const command::Command<CustomerAggregate, v1::RevokeAccessRequest, v1::WriteResponse>
      revoke_access = Write("RevokeAccess", Access::kGrant, DecideRevokeAccess);

  // Access requests. Anyone asks: the customer is loaded without an access check,
  // and an absent one decides nothing, so the answer (a new request id) is the same.
  const command::Command<CustomerAggregate, v1::RequestAccessRequest, v1::RequestAccessResponse,
                         std::string>
      request_access{
          .aggregate = &Customers(),
          .rpc = "RequestAccess",
          .options = CommandIdOf<v1::RequestAccessRequest>,
          .load = [this](const Principal&, const v1::RequestAccessRequest& req)
              -> absl::StatusOr<command::Target<v1::Customer, std::string>> {
            if (req.customer_id().empty()) {
              return absl::InvalidArgumentError("customer_id: required");
            }
            ASSIGN_OR_RETURN(std::optional<v1::Customer> c, LoadCustomer(store, req.customer_id()));
            return command::Target<v1::Customer, std::string>{
                .id = req.customer_id(), .state = c ? *std::move(c) : v1::Customer(),
                .context = NewId()};
          },
          .decide = [](const command::Target<v1::Customer, std::string>& t,
                       const v1::RequestAccessRequest& req, const command::Decision& d) {
            return DecideRequestAccess(t.state, req, t.context, Context(d));
          },
          .respond = [](const command::Target<v1::Customer, std::string>& t, const auto&,
                        v1::RequestAccessResponse& r) { r.set_request_id(t.context); }};

  using RequestTarget = command::Target<v1::Customer, v1::AccessRequest>;
  // A decision on a request: approvers only (before anything is read), then the
  // request and its customer.
  template <typename Req>
  command::Command<CustomerAggregate, Req, v1::WriteResponse, v1::AccessRequest> Decide(
      std::string rpc,
      absl::StatusOr<Events> (*decide)(const v1::Customer&, const v1::AccessRequest&, const Req&,
                                       const DecideContext&)) const {
    return {.aggregate = &Customers(),
            .rpc = std::move(rpc),
            .options = CommandIdOf<Req>,
            .load = [this](const Principal& who, const Req& req) -> absl::StatusOr<RequestTarget> {
              RETURN_IF_ERROR(CheckDecidesAccessRequests(who));
              if (req.request_id().empty()) {
                return absl::InvalidArgumentError("request_id: required");
              }
              ASSIGN_OR_RETURN(std::optional<v1::AccessRequest> r,
                               LoadAccessRequest(store, req.request_id()));
              if (!r) {
                return absl::NotFoundError(
                    absl::StrCat("access request ", req.request_id(), " not found"));
              }
              ASSIGN_OR_RETURN(std::optional<v1::Customer> c, LoadCustomer(store, r->customer_id()));
              if (!c) return domain::CustomerNotFound(r->customer_id());
              std::string id = r->customer_id();
              return RequestTarget{.id = std::move(id), .state = *std::move(c), .context = *std::move(r)};
            },
            .decide = [decide](const RequestTarget& t, const Req& req, const command::Decision& d) {
              return decide(t.state, t.context, req, Context(d));
            },
            .respond = [](const RequestTarget&, const auto& outcome, v1::WriteResponse& r) {
              command::FillWrite(outcome, r);
            }};
  }
  const command::Command<CustomerAggregate, v1::ApproveAccessRequestRequest, v1::WriteResponse,
                         v1::AccessRequest>
      approve_access_request = Decide<v1::ApproveAccessRequestRequest>(
          "ApproveAccessRequest", DecideApproveAccessRequest);
  const command::Command<CustomerAggregate, v1::DenyAccessRequestRequest, v1::WriteResponse,
                         v1::AccessRequest>
      deny_access_request =
          Decide<v1::DenyAccessRequestRequest>("DenyAccessRequest", DecideDenyAccessRequest);

  // The reaction worker's commands; the request is the consumed crm-interaction
  // event (the queue row), the command id that event's id.
  using Reaction = command::Command<CustomerAggregate, eventstore::EventEnvelope,
                                    v1::WriteResponse, interaction::v1::InteractionEvent>;
  Reaction React(std::string rpc, interaction::v1::InteractionEvent::KindCase kind,
                 absl::StatusOr<Events> (*decide)(const ReactionTarget&, const DecideContext&)) {
    return {
        .aggregate = &Customers(),
        .rpc = std::move(rpc),
        .options = [](const eventstore::EventEnvelope& cause) {
          command::WriteOptions o;
          o.command_id = cause.event_id();
          o.command_id_field = "event_id";
          o.causation_id = cause.event_id();
          o.correlation_id =
              cause.correlation_id().empty() ? cause.event_id() : cause.correlation_id();
          return o;
        },
        // No access check: the service reacts to a fact another service recorded.
        .load = [this, kind](const Principal&, const eventstore::EventEnvelope& cause)
            -> absl::StatusOr<ReactionTarget> {
          interaction::v1::InteractionEvent e;
          if (!e.ParseFromString(cause.payload()) || e.kind_case() != kind) {
            return absl::InvalidArgumentError(
                absl::StrCat("payload: not a ", cause.event_type().empty() ? "known event"
                                                                           : cause.event_type()));
          }
          if (e.customer_id().empty()) return absl::InvalidArgumentError("customer_id: required");
          ASSIGN_OR_RETURN(std::optional<v1::Customer> c, LoadCustomer(store, e.customer_id()));
          if (!c) return domain::CustomerNotFound(e.customer_id());
          std::string id = e.customer_id();
          return ReactionTarget{.id = std::move(id), .state = *std::move(c), .context = std::move(e)};
        },
        .decide = [decide](const ReactionTarget& t, const eventstore::EventEnvelope&,
                           const command::Decision& d) { return decide(t, Context(d)); },
        .respond = [](const ReactionTarget&, const auto& outcome, v1::WriteResponse& r) {
          command::FillWrite(outcome, r);
        }};
  }
  // A won opportunity converts its customer.
  const Reaction convert_on_won = React(
      "ConvertOnOpportunityWon", interaction::v1::InteractionEvent::kOpportunityWon,
      [](const ReactionTarget& t, const DecideContext& ctx) {
        return DecideConvertOnOpportunityWon(t.state, t.context.opportunity_id(), ctx);
      });
  // A churn case closed as lost churns its customer.
  const Reaction churn_on_loss = React(
      "ChurnOnLossConfirmed", interaction::v1::InteractionEvent::kChurnLossConfirmed,
      [](const ReactionTarget& t, const DecideContext& ctx) {
        return DecideChurnOnLossConfirmed(t.state, t.context.churn_case_id(),
                                          ChurnReasonOf(t.context.churn_loss_confirmed()), ctx);
      });
};

CustomerApp::CustomerApp(command::Pipeline& pipeline)
    : pipeline_(pipeline),
      commands_(std::make_unique<Commands>(pipeline.store(), pipeline.clock())) {}

CustomerApp::~CustomerApp() = default;

// Every write RPC runs its command on the pipeline.
#define CRM_CUSTOMER_COMMAND(Method, Request, Response, member)                             \
  void CustomerApp::Method(const Principal& who, const v1::Request& req, v1::Response* resp, \
                           command::Done done) {                                            \
    pipeline_.Run(commands_->member, who, req, resp, std::move(done));                      \
  }
CRM_CUSTOMER_COMMAND(RegisterCustomer, RegisterCustomerRequest, RegisterCustomerResponse,
                     register_customer)
CRM_CUSTOMER_COMMAND(UpdateCustomer, UpdateCustomerRequest, WriteResponse, update_customer)
CRM_CUSTOMER_COMMAND(AddContact, AddContactRequest, AddContactResponse, add_contact)
CRM_CUSTOMER_COMMAND(UpdateContact, UpdateContactRequest, WriteResponse, update_contact)
CRM_CUSTOMER_COMMAND(RemoveContact, RemoveContactRequest, WriteResponse, remove_contact)
CRM_CUSTOMER_COMMAND(RecordTransaction, RecordTransactionRequest, RecordTransactionResponse,
                     record_transaction)
CRM_CUSTOMER_COMMAND(RecordAgreement, RecordAgreementRequest, RecordAgreementResponse,
                     record_agreement)
CRM_CUSTOMER_COMMAND(ChangeAgreementStatus, ChangeAgreementStatusRequest, WriteResponse,
                     change_agreement_status)
CRM_CUSTOMER_COMMAND(ChangeLifecycle, ChangeLifecycleRequest, WriteResponse, change_lifecycle)
CRM_CUSTOMER_COMMAND(AssignOwner, AssignOwnerRequest, WriteResponse, assign_owner)
CRM_CUSTOMER_COMMAND(SetVerification, SetVerificationRequest, WriteResponse, set_verification)
CRM_CUSTOMER_COMMAND(GrantAccess, GrantAccessRequest, WriteResponse, grant_access)
CRM_CUSTOMER_COMMAND(RevokeAccess, RevokeAccessRequest, WriteResponse, revoke_access)
CRM_CUSTOMER_COMMAND(RequestAccess, RequestAccessRequest, RequestAccessResponse, request_access)
CRM_CUSTOMER_COMMAND(ApproveAccessRequest, ApproveAccessRequestRequest, WriteResponse,
                     approve_access_request)
CRM_CUSTOMER_COMMAND(DenyAccessRequest, DenyAccessRequestRequest, WriteResponse,
                     deny_access_request)
#undef CRM_CUSTOMER_COMMAND

namespace {

// What a caller whose only role is `service` gets of a customer: what the
// lookups of crm-interaction and crm-ticket decide access with (id, owner,
// region, version), none of its personal or commercial data.
v1::Customer ForServiceLookup(const v1::Customer& c) {
  v1::Customer slim;
  slim.set_customer_id(c.customer_id());
  slim.set_version(c.version());
  slim.set_owner(c.owner());
  slim.set_region(c.region());
  return slim;
}

bool OnlyService(const Principal& who) {
  return who.roles.size() == 1 && who.Has(Role::kService);
}

}  // namespace

absl::Status CustomerApp::GetCustomer(const Principal& who, const v1::GetCustomerRequest& req,
                                      v1::GetCustomerResponse* resp) {
  if (req.customer_id().empty()) return absl::InvalidArgumentError("customer_id: required");
  ASSIGN_OR_RETURN(v1::Customer current, commands_->LoadReadable(who, req.customer_id()));
  if (!req.has_as_of()) {
    *resp->mutable_customer() = OnlyService(who) ? ForServiceLookup(current) : std::move(current);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(v1::Customer past,
                   command::ExistingStateAsOf(Customers(), pipeline_.store(), req.customer_id(),
                                              FromProtoTimestamp(req.as_of())));
  *resp->mutable_customer() = OnlyService(who) ? ForServiceLookup(past) : std::move(past);
  return absl::OkStatus();
}

absl::Status CustomerApp::ListCustomers(const Principal& who, const v1::ListCustomersRequest& req,
                                        v1::ListCustomersResponse* resp) {
  ASSIGN_OR_RETURN(size_t page_size, command::PageSize(req.page_size(), 50));
  if (!v1::Lifecycle_IsValid(req.lifecycle())) {
    return absl::InvalidArgumentError(absl::StrCat("lifecycle: unknown value ", req.lifecycle()));
  }
  const auth::ListScope scope = auth::ScopeFor(who);
  if (scope.Empty()) return absl::OkStatus();  // reaches customers only through grants
  ListQuery q;
  q.owner = req.owner();
  q.region = req.region();
  q.industry = req.industry();
  q.customer_class = req.customer_class();
  q.lifecycle = req.lifecycle();
  q.name_prefix = req.name_prefix();
  q.page_size = static_cast<size_t>(page_size);
  q.page_token = req.page_token();
  q.binding = command::PageBinding("ListCustomers", req, who);
  // A service agent also lists the customers whose open tickets it is assigned
  // (seed 004 §7.1); they are outside its owner index, so the scope's index is not walked.
  std::set<std::string> served;
  if (!scope.serving_agent.empty()) {
    ASSIGN_OR_RETURN(served, CustomersServedBy(pipeline_.store(), scope.serving_agent));
  }
  // Walk the narrowest index the filters or the caller's scope allow.
  const std::string owner =
      !req.owner().empty() ? req.owner() : (served.empty() ? scope.owner : std::string());
  const std::string region =
      !req.region().empty() ? req.region() : (served.empty() ? scope.region : std::string());
  if (!owner.empty()) {
    q.index = ListQuery::Index::kOwner;
    q.index_value = owner;
  } else if (!region.empty()) {
    q.index = ListQuery::Index::kRegion;
    q.index_value = region;
  }
  ASSIGN_OR_RETURN(ListPage page,
                   customer::ListCustomers(pipeline_.store(), q, [&](const v1::Customer& c) {
                     return scope.Allows({c.customer_id(), c.owner(), c.region()}) ||
                            served.contains(c.customer_id());
                   }));
  for (v1::Customer& c : page.customers) *resp->add_customers() = std::move(c);
  resp->set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

absl::Status CustomerApp::GetCustomerHistory(const Principal& who,
                                             const v1::GetCustomerHistoryRequest& req,
                                             v1::GetCustomerHistoryResponse* resp) {
  if (req.customer_id().empty()) return absl::InvalidArgumentError("customer_id: required");
  RETURN_IF_ERROR(command::PageSize(req.page_size(), command::kHistoryPageSize).status());
  RETURN_IF_ERROR(commands_->LoadReadable(who, req.customer_id()).status());
  return command::ReadHistoryPage(pipeline_.store(), StreamFor(req.customer_id()),
                                  "GetCustomerHistory", req, who, resp);
}

absl::Status CustomerApp::ListAccessRequests(const Principal& who,
                                             const v1::ListAccessRequestsRequest& req,
                                             v1::ListAccessRequestsResponse* resp) {
  // The approvers, and admins (who read every customer's history, which holds
  // the same events anyway); nobody else.
  if (!who.Has(Role::kAdmin)) RETURN_IF_ERROR(CheckDecidesAccessRequests(who));
  ASSIGN_OR_RETURN(size_t page_size, command::PageSize(req.page_size(), 50));
  if (!v1::AccessRequestStatus_IsValid(req.status())) {
    return absl::InvalidArgumentError(absl::StrCat("status: unknown value ", req.status()));
  }
  eventstore::EventStore& store = pipeline_.store();
  ASSIGN_OR_RETURN(
      std::string next,
      eventstore::WalkIndex(
          store, kAccessRequestIndexProjection, AccessRequestIndexPrefix(req.status()),
          {.page_size = page_size,
           .page_token = req.page_token(),
           .binding = command::PageBinding("ListAccessRequests", req, who)},
          [&](const std::string& key) -> absl::StatusOr<eventstore::WalkStep> {
            const size_t slash = key.find('/');
            if (slash == std::string::npos) return eventstore::WalkStep::kSkipped;
            ASSIGN_OR_RETURN(std::optional<v1::AccessRequest> r,
                             LoadAccessRequest(store, key.substr(slash + 1)));
            if (!r) return eventstore::WalkStep::kSkipped;
            *resp->add_requests() = *std::move(r);
            return eventstore::WalkStep::kKept;
          }));
  resp->set_next_page_token(std::move(next));
  return absl::OkStatus();
}

absl::StatusOr<int> CustomerApp::ReactToInteractionEvents() {
  constexpr size_t kBatch = 500;
  eventstore::EventStore& store = pipeline_.store();
  int applied_count = 0;
  // A row that fails for a reason that may pass (the store, a race lost too often)
  // stays for the next run, and the rows after it are still worked on.
  absl::Status retry_later;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(auto queued, store.ScanProjection(kReactionQueueProjection, "", after, kBatch));
    for (const auto& [key, value] : queued) {
      after = key;
      eventstore::EventEnvelope cause;
      absl::StatusOr<v1::WriteResponse> applied =
          absl::InvalidArgumentError("corrupt reaction queue row");
      interaction::v1::InteractionEvent e;
      if (cause.ParseFromString(value) && e.ParseFromString(cause.payload())) {
        applied = e.has_churn_loss_confirmed()
                      ? pipeline_.Execute(commands_->churn_on_loss, OnBehalfOf(cause), cause)
                      : pipeline_.Execute(commands_->convert_on_won, OnBehalfOf(cause), cause);
      }
      if (applied.ok()) {
        if (applied->event_ids_size() > 0) ++applied_count;
      } else if (Permanent(applied.status())) {
        runtime::Log(runtime::LogLevel::kWarn, "interaction_event_not_applied",
                     {{"queued", key}, {"error", applied.status().ToString()}});
      } else {
        runtime::Log(runtime::LogLevel::kWarn, "interaction_event_retry_later",
                     {{"queued", key}, {"error", applied.status().ToString()}});
        retry_later.Update(applied.status());
        continue;
      }
      RETURN_IF_ERROR(store.WriteProjections(
          {eventstore::ProjectionWrite::Delete(std::string(kReactionQueueProjection), key)}));
    }
    if (queued.size() < kBatch) break;
  }
  RETURN_IF_ERROR(retry_later);
  return applied_count;
}

absl::Status CustomerApp::CheckStreamAccess(const Principal& who) {
  return eventlog::CheckAccess(who);
}

}  // namespace crm::customer
