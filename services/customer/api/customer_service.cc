#include "crm/customer/api/customer_service.h"

#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "crm/auth/access.h"
#include "crm/auth/authenticated_call.h"
#include "crm/auth/grpc_auth.h"
#include "crm/common/ids.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/customer/domain/customer_aggregate.h"
#include "crm/customer/projection/customer_projection.h"
#include "crm/runtime/status.h"

namespace crm::customer {
namespace {

using auth::Principal;
using auth::Role;
using eventstore::AppendResult;
using eventstore::ExpectedVersion;

constexpr int kMaxContentionRetries = 5;
constexpr int kMaxPageSize = 500;

absl::Status ValidateOptions(const v1::WriteOptions& o) {
  if (o.command_id().size() > 256) return absl::InvalidArgumentError("options.command_id: longer than 256");
  return absl::OkStatus();
}

absl::StatusOr<int> PageSize(int requested, int default_size) {
  if (requested == 0) return default_size;
  if (requested < 0 || requested > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("page_size: must be 1..", kMaxPageSize));
  }
  return requested;
}

void FillWrite(const AppendResult& r, v1::WriteResponse* out) {
  out->set_version(r.last_version);
  for (const std::string& id : r.event_ids) out->add_event_ids(id);
}

std::vector<auth::AccessGrant> GrantsOf(const v1::Customer& c) {
  std::vector<auth::AccessGrant> out;
  for (const v1::AccessGrant& g : c.access_grants()) {
    out.push_back({g.subject(), c.customer_id(), FromProtoTimestamp(g.expires_at())});
  }
  return out;
}

bool IsManagerOrAbove(const Principal& p) {
  return p.Has(Role::kRegionalManager) || p.Has(Role::kExecutive) || p.Has(Role::kAdmin) ||
         p.Has(Role::kService);
}

bool SeesEverything(const Principal& p) {
  return p.Has(Role::kExecutive) || p.Has(Role::kAdmin) || p.Has(Role::kService);
}

}  // namespace

// The service's logic over absl::Status; the CallbackService methods only move
// calls onto the pool and map the result.
class CustomerServiceImpl::Handler {
 public:
  explicit Handler(const CustomerServiceOptions& o) : o_(o) {}

  using DecideFn = std::function<absl::StatusOr<std::vector<v1::CustomerEvent>>(
      const v1::Customer&, const DecideContext&)>;
  enum class Access { kScope, kGrant, kTransfer };

  // Load, check access, decide, append; a write that raced another one is decided
  // again on the fresh state unless the caller pinned an expected version.
  absl::StatusOr<AppendResult> Mutate(const Principal& who, const std::string& customer_id,
                                      const v1::WriteOptions& options, Access access,
                                      const DecideFn& decide) {
    RETURN_IF_ERROR(ValidateOptions(options));
    if (customer_id.empty()) return absl::InvalidArgumentError("customer_id: required");
    ASSIGN_OR_RETURN(std::optional<AppendResult> first, Retried(options));
    if (first) return *first;
    for (int attempt = 0; attempt < kMaxContentionRetries; ++attempt) {
      ASSIGN_OR_RETURN(v1::Customer state, LoadVisible(who, customer_id));
      if (access == Access::kGrant && !auth::CanGrantAccess(who)) {
        return absl::PermissionDeniedError("only executives and admins grant or revoke access");
      }
      if (access == Access::kTransfer && !IsManagerOrAbove(who)) {
        return absl::PermissionDeniedError("only managers, executives and admins transfer ownership");
      }
      if (options.has_expected_version() && options.expected_version() != state.version()) {
        return absl::AbortedError(absl::StrCat("customer ", customer_id, " is at version ",
                                               state.version(), ", expected ",
                                               options.expected_version()));
      }
      const DecideContext ctx = Context(who);
      ASSIGN_OR_RETURN(std::vector<v1::CustomerEvent> events, decide(state, ctx));
      if (events.empty()) {  // nothing changes: nothing to append
        AppendResult unchanged;
        unchanged.last_version = state.version();
        return unchanged;
      }
      absl::StatusOr<AppendResult> r =
          AppendEvents(who, state, events, options.command_id(), ctx.now);
      if (r.status().code() == absl::StatusCode::kAborted && !options.has_expected_version()) {
        continue;
      }
      return r;
    }
    return absl::AbortedError("customer is being changed concurrently; retry");
  }

  absl::Status Register(const Principal& who, const v1::RegisterCustomerRequest& req,
                        v1::RegisterCustomerResponse* resp) {
    RETURN_IF_ERROR(ValidateOptions(req.options()));
    ASSIGN_OR_RETURN(std::optional<AppendResult> first, Retried(req.options()));
    if (first) {
      resp->set_customer_id(first->stream_id.substr(StreamFor("").size()));
      FillWrite(*first, resp->mutable_write());
      return absl::OkStatus();
    }
    v1::RegisterCustomerRequest resolved = req;
    RETURN_IF_ERROR(ResolveOwnerAndRegion(who, resolved));
    ASSIGN_OR_RETURN(std::optional<DuplicateMatch> match, FindDuplicate(*o_.store, req.basic()));
    if (match && !req.confirm_duplicate()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "possible duplicate of customer ", match->customer_id, " (same ", match->matched_on,
          "); set confirm_duplicate to register anyway"));
    }
    const std::string id = NewId();
    const DecideContext ctx = Context(who);
    ASSIGN_OR_RETURN(std::vector<v1::CustomerEvent> events, DecideRegister(resolved, id, ctx));
    if (match) events.front().mutable_registered()->set_confirmed_duplicate_of(match->customer_id);
    ASSIGN_OR_RETURN(AppendResult r,
                     AppendEvents(who, v1::Customer(), events, req.options().command_id(), ctx.now));
    resp->set_customer_id(id);
    FillWrite(r, resp->mutable_write());
    return absl::OkStatus();
  }

  absl::Status Get(const Principal& who, const v1::GetCustomerRequest& req,
                   v1::GetCustomerResponse* resp) {
    if (req.customer_id().empty()) return absl::InvalidArgumentError("customer_id: required");
    ASSIGN_OR_RETURN(v1::Customer current, LoadVisible(who, req.customer_id()));
    if (!req.has_as_of()) {
      *resp->mutable_customer() = std::move(current);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(auto events, o_.store->ReadStreamAsOf(StreamFor(req.customer_id()),
                                                           FromProtoTimestamp(req.as_of())));
    if (events.empty()) {
      return absl::NotFoundError(absl::StrCat("customer ", req.customer_id(),
                                              " did not exist at the given time"));
    }
    v1::Customer past;
    for (const eventstore::EventEnvelope& e : events) {
      v1::CustomerEvent event;
      if (!event.ParseFromString(e.payload())) return absl::DataLossError("corrupt customer event");
      Apply(past, event,
            {e.stream_version(), FromProtoTimestamp(e.occurred_at()), e.actor()});
    }
    *resp->mutable_customer() = std::move(past);
    return absl::OkStatus();
  }

  absl::Status List(const Principal& who, const v1::ListCustomersRequest& req,
                    v1::ListCustomersResponse* resp) {
    ASSIGN_OR_RETURN(int page_size, PageSize(req.page_size(), 50));
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
    // Walk the narrowest index the filters or the caller's scope allow.
    const std::string owner = !req.owner().empty() ? req.owner() : scope.owner;
    const std::string region = !req.region().empty() ? req.region() : scope.region;
    if (!owner.empty()) {
      q.index = ListQuery::Index::kOwner;
      q.index_value = owner;
    } else if (!region.empty()) {
      q.index = ListQuery::Index::kRegion;
      q.index_value = region;
    }
    ASSIGN_OR_RETURN(ListPage page, customer::ListCustomers(*o_.store, q, [&](const v1::Customer& c) {
                       return scope.Allows({c.customer_id(), c.owner(), c.region()});
                     }));
    for (v1::Customer& c : page.customers) *resp->add_customers() = std::move(c);
    resp->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  }

  absl::Status History(const Principal& who, const v1::GetCustomerHistoryRequest& req,
                       v1::GetCustomerHistoryResponse* resp) {
    if (req.customer_id().empty()) return absl::InvalidArgumentError("customer_id: required");
    ASSIGN_OR_RETURN(int page_size, PageSize(req.page_size(), 100));
    uint64_t from = 1;
    if (!req.page_token().empty() && (!absl::SimpleAtoi(req.page_token(), &from) || from == 0)) {
      return absl::InvalidArgumentError("page_token: not a token of this query");
    }
    RETURN_IF_ERROR(LoadVisible(who, req.customer_id()).status());
    ASSIGN_OR_RETURN(auto events, o_.store->ReadStream(StreamFor(req.customer_id()), from,
                                                       static_cast<size_t>(page_size) + 1));
    for (size_t i = 0; i < events.size() && i < static_cast<size_t>(page_size); ++i) {
      const eventstore::EventEnvelope& e = events[i];
      v1::HistoryEntry* entry = resp->add_entries();
      entry->set_version(e.stream_version());
      entry->set_event_id(e.event_id());
      entry->set_event_type(e.event_type());
      entry->set_actor(e.actor());
      *entry->mutable_occurred_at() = e.occurred_at();
      if (!entry->mutable_event()->ParseFromString(e.payload())) {
        return absl::DataLossError("corrupt customer event");
      }
    }
    if (events.size() > static_cast<size_t>(page_size)) {
      resp->set_next_page_token(absl::StrCat(events.back().stream_version()));
    }
    return absl::OkStatus();
  }

  const CustomerServiceOptions& options() const { return o_; }

 private:
  DecideContext Context(const Principal& who) const {
    return DecideContext{who.subject, o_.clock->Now(), [] { return NewId(); }};
  }

  // The first result of a retried command, if the command id was used before.
  absl::StatusOr<std::optional<AppendResult>> Retried(const v1::WriteOptions& options) {
    if (options.command_id().empty()) return std::nullopt;
    return o_.store->LookupCommand(options.command_id());
  }

  // The current record, if it exists and the caller may see it.
  absl::StatusOr<v1::Customer> LoadVisible(const Principal& who, const std::string& id) {
    ASSIGN_OR_RETURN(std::optional<v1::Customer> c, LoadCustomer(*o_.store, id));
    if (!c) return absl::NotFoundError(absl::StrCat("customer ", id, " not found"));
    RETURN_IF_ERROR(auth::CheckCustomerAccess(who, {c->customer_id(), c->owner(), c->region()},
                                              o_.clock->Now(), GrantsOf(*c)));
    return *std::move(c);
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

  absl::StatusOr<AppendResult> AppendEvents(const Principal& who, const v1::Customer& before,
                                            const std::vector<v1::CustomerEvent>& events,
                                            const std::string& command_id, absl::Time now) {
    const std::string customer_id = events.front().customer_id();
    v1::Customer after = before;
    eventstore::AppendRequest req;
    req.stream_id = StreamFor(customer_id);
    req.expected_version = before.version() == 0 ? ExpectedVersion::NoStream()
                                                 : ExpectedVersion::Exactly(before.version());
    req.command_id = command_id;
    for (const v1::CustomerEvent& e : events) {
      Apply(after, e, {after.version() + 1, now, who.subject});
      req.events.push_back({.event_type = EventType(e), .partition_key = customer_id,
                            .payload = e.SerializeAsString(), .actor = who.subject,
                            .occurred_at = now});
    }
    req.projection_writes = RowWrites(before, after);
    ASSIGN_OR_RETURN(AppendResult r, o_.store->Append(req));
    if (o_.relay != nullptr) o_.relay->Notify();
    return r;
  }

  const CustomerServiceOptions o_;
};

namespace {

// An unauthenticated or refused stream ends at once with its status.
class FinishedWriter final : public grpc::ServerWriteReactor<v1::StreamedEvent> {
 public:
  explicit FinishedWriter(const grpc::Status& s) { Finish(s); }
  void OnDone() override { delete this; }
};

// Sends the log from a position, batch by batch, until caught up.
class EventStreamer final : public grpc::ServerWriteReactor<v1::StreamedEvent> {
 public:
  EventStreamer(eventstore::EventStore& store, uint64_t from, uint64_t max)
      : store_(store), next_(std::max<uint64_t>(from, 1)), remaining_(max == 0 ? UINT64_MAX : max) {
    WriteNext();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
    WriteNext();
  }
  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    if (remaining_ == 0) return Finish(grpc::Status::OK);
    if (index_ == batch_.size()) {
      auto batch = store_.ReadAll(next_, 256);
      if (!batch.ok()) return Finish(runtime::ToGrpcStatus(batch.status()));
      if (batch->empty()) return Finish(grpc::Status::OK);
      batch_ = *std::move(batch);
      index_ = 0;
    }
    const eventstore::EventEnvelope& e = batch_[index_++];
    next_ = e.global_position() + 1;
    --remaining_;
    current_.Clear();
    current_.set_global_position(e.global_position());
    current_.set_event_id(e.event_id());
    current_.set_event_type(e.event_type());
    current_.set_customer_id(e.partition_key());
    current_.set_version(e.stream_version());
    current_.set_actor(e.actor());
    *current_.mutable_occurred_at() = e.occurred_at();
    if (!current_.mutable_event()->ParseFromString(e.payload())) {
      return Finish(grpc::Status(grpc::StatusCode::DATA_LOSS, "corrupt customer event"));
    }
    StartWrite(&current_);
  }

  eventstore::EventStore& store_;
  uint64_t next_;
  uint64_t remaining_;
  std::vector<eventstore::EventEnvelope> batch_;
  size_t index_ = 0;
  v1::StreamedEvent current_;
};

}  // namespace

CustomerServiceImpl::CustomerServiceImpl(CustomerServiceOptions options)
    : options_(options), handler_(std::make_unique<Handler>(options)), pool_(options.worker_threads) {}

CustomerServiceImpl::~CustomerServiceImpl() = default;

// Authenticates, runs `body` (which sees `who`, a const Principal*) on the pool and
// finishes the call with its status.
#define CRM_CUSTOMER_UNARY(ctx, body)                                                 \
  return auth::ServeAuthenticated(pool_, *options_.verifier, ctx,                      \
                                  [this, req, resp](const Principal& who_ref) -> absl::Status { \
                                    const Principal* who = &who_ref;                    \
                                    body                                              \
                                  })

grpc::ServerUnaryReactor* CustomerServiceImpl::RegisterCustomer(
    grpc::CallbackServerContext* ctx, const v1::RegisterCustomerRequest* req,
    v1::RegisterCustomerResponse* resp) {
  CRM_CUSTOMER_UNARY(ctx, { return handler_->Register(*who, *req, resp); });
}

grpc::ServerUnaryReactor* CustomerServiceImpl::UpdateCustomer(grpc::CallbackServerContext* ctx,
                                                              const v1::UpdateCustomerRequest* req,
                                                              v1::WriteResponse* resp) {
  CRM_CUSTOMER_UNARY(ctx, {
    ASSIGN_OR_RETURN(AppendResult r,
                     handler_->Mutate(*who, req->customer_id(), req->options(), Handler::Access::kScope,
                                      [&](const v1::Customer& s, const DecideContext& c) {
                                        return DecideUpdate(s, *req, c);
                                      }));
    FillWrite(r, resp);
    return absl::OkStatus();
  });
}

// Writes whose response is just a WriteResponse differ only in the decide call.
#define CRM_CUSTOMER_SIMPLE_WRITE(Method, Request, Decide, AccessKind)                        \
  grpc::ServerUnaryReactor* CustomerServiceImpl::Method(                                     \
      grpc::CallbackServerContext* ctx, const v1::Request* req, v1::WriteResponse* resp) {    \
    CRM_CUSTOMER_UNARY(ctx, {                                                                \
      ASSIGN_OR_RETURN(AppendResult r,                                                       \
                       handler_->Mutate(*who, req->customer_id(), req->options(),            \
                                        Handler::Access::AccessKind,                         \
                                        [&](const v1::Customer& s, const DecideContext& c) { \
                                          return Decide(s, *req, c);                         \
                                        }));                                                 \
      FillWrite(r, resp);                                                                    \
      return absl::OkStatus();                                                               \
    });                                                                                      \
  }

CRM_CUSTOMER_SIMPLE_WRITE(UpdateContact, UpdateContactRequest, DecideUpdateContact, kScope)
CRM_CUSTOMER_SIMPLE_WRITE(RemoveContact, RemoveContactRequest, DecideRemoveContact, kScope)
CRM_CUSTOMER_SIMPLE_WRITE(ChangeAgreementStatus, ChangeAgreementStatusRequest,
                          DecideChangeAgreementStatus, kScope)
CRM_CUSTOMER_SIMPLE_WRITE(ChangeLifecycle, ChangeLifecycleRequest, DecideChangeLifecycle, kScope)
CRM_CUSTOMER_SIMPLE_WRITE(AssignOwner, AssignOwnerRequest, DecideAssignOwner, kTransfer)
CRM_CUSTOMER_SIMPLE_WRITE(SetVerification, SetVerificationRequest, DecideSetVerification, kScope)
CRM_CUSTOMER_SIMPLE_WRITE(GrantAccess, GrantAccessRequest, DecideGrantAccess, kGrant)
CRM_CUSTOMER_SIMPLE_WRITE(RevokeAccess, RevokeAccessRequest, DecideRevokeAccess, kGrant)

// Writes that also return the id the domain assigned to the new part.
#define CRM_CUSTOMER_CREATE_PART(Method, Request, Response, Decide, Event, Part, IdField)     \
  grpc::ServerUnaryReactor* CustomerServiceImpl::Method(                                     \
      grpc::CallbackServerContext* ctx, const v1::Request* req, v1::Response* resp) {         \
    CRM_CUSTOMER_UNARY(ctx, {                                                                \
      std::string assigned;                                                                  \
      ASSIGN_OR_RETURN(AppendResult r,                                                       \
                       handler_->Mutate(*who, req->customer_id(), req->options(),            \
                                        Handler::Access::kScope,                             \
                                        [&](const v1::Customer& s, const DecideContext& c)   \
                                            -> absl::StatusOr<std::vector<v1::CustomerEvent>> { \
                                          ASSIGN_OR_RETURN(auto events, Decide(s, *req, c)); \
                                          for (const auto& e : events) {                     \
                                            if (e.has_##Event()) assigned = e.Event().Part().IdField(); \
                                          }                                                  \
                                          return events;                                     \
                                        }));                                                 \
      resp->set_##IdField(assigned);                                                         \
      FillWrite(r, resp->mutable_write());                                                   \
      return absl::OkStatus();                                                               \
    });                                                                                      \
  }

CRM_CUSTOMER_CREATE_PART(AddContact, AddContactRequest, AddContactResponse, DecideAddContact,
                         contact_added, contact, contact_id)
CRM_CUSTOMER_CREATE_PART(RecordTransaction, RecordTransactionRequest, RecordTransactionResponse,
                         DecideRecordTransaction, transaction_recorded, transaction, transaction_id)
CRM_CUSTOMER_CREATE_PART(RecordAgreement, RecordAgreementRequest, RecordAgreementResponse,
                         DecideRecordAgreement, agreement_recorded, agreement, agreement_id)

grpc::ServerUnaryReactor* CustomerServiceImpl::GetCustomer(grpc::CallbackServerContext* ctx,
                                                           const v1::GetCustomerRequest* req,
                                                           v1::GetCustomerResponse* resp) {
  CRM_CUSTOMER_UNARY(ctx, { return handler_->Get(*who, *req, resp); });
}

grpc::ServerUnaryReactor* CustomerServiceImpl::ListCustomers(grpc::CallbackServerContext* ctx,
                                                             const v1::ListCustomersRequest* req,
                                                             v1::ListCustomersResponse* resp) {
  CRM_CUSTOMER_UNARY(ctx, { return handler_->List(*who, *req, resp); });
}

grpc::ServerUnaryReactor* CustomerServiceImpl::GetCustomerHistory(
    grpc::CallbackServerContext* ctx, const v1::GetCustomerHistoryRequest* req,
    v1::GetCustomerHistoryResponse* resp) {
  CRM_CUSTOMER_UNARY(ctx, { return handler_->History(*who, *req, resp); });
}

grpc::ServerWriteReactor<v1::StreamedEvent>* CustomerServiceImpl::StreamEvents(
    grpc::CallbackServerContext* ctx, const v1::StreamEventsRequest* req) {
  absl::StatusOr<Principal> who = auth::Authenticate(*ctx, *options_.verifier);
  if (!who.ok()) return new FinishedWriter(runtime::ToGrpcStatus(who.status()));
  if (!who->Has(Role::kService) && !who->Has(Role::kAdmin)) {
    return new FinishedWriter(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                           "the event log is for service and admin callers"));
  }
  return new EventStreamer(*options_.store, req->from_position(), req->max_events());
}

}  // namespace crm::customer
