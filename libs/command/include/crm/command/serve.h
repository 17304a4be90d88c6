// The gRPC side of a service's app: one unary RPC served by one app method, on
// gRPC's own thread, with no pool in between. The caller is authenticated (a
// cached token check), then admitted (Enter: deadline, CPU load shedding,
// bounds, at most --max_in_flight calls at once, else RESOURCE_EXHAUSTED at
// once; an unauthenticated call is refused before it takes a place), then the method
// runs; it finishes the call through `done`, at once (reads, refused writes) or
// later from the event store's completion thread (a durable write), and the
// call's place is given back then. Every service's api/ adapter is a list of
// these.
//
//   // services/<svc>/app: the two shapes of an app method
//   void AddContact(const auth::Principal& who, const v1::AddContactRequest& req,
//                   v1::AddContactResponse* resp, command::Done done);      // writes
//   absl::Status GetCustomer(const auth::Principal& who, const v1::GetCustomerRequest& req,
//                            v1::GetCustomerResponse* resp);                // reads
//
//   // services/<svc>/api
//   grpc::ServerUnaryReactor* CustomerServiceImpl::AddContact(
//       grpc::CallbackServerContext* ctx, const v1::AddContactRequest* req,
//       v1::AddContactResponse* resp) {
//     return command::Serve(ctx, *verifier_, *app_, &CustomerApp::AddContact, req, resp,
//                           "CustomerService.AddContact");
//   }
//
//   // tests, tools: the same methods, waited for
//   absl::StatusOr<v1::AddContactResponse> r = command::Await(app, &CustomerApp::AddContact, who, req);
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/auth/grpc_auth.h"
#include "crm/auth/jwt.h"
#include "crm/auth/principal.h"
#include "crm/command/limits.h"
#include "crm/command/pipeline.h"
#include "crm/command/service_role.h"
#include "crm/runtime/admission.h"
#include "crm/runtime/overload.h"
#include "crm/runtime/status.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"

namespace crm::command {

// An app method that finishes through `done` (writes, and reads that hand
// their work to a pool of their own).
template <typename App, typename Req, typename Resp>
using AsyncMethod = void (App::*)(const auth::Principal&, const Req&, Resp*, Done);
// An app method that answers before it returns (reads).
template <typename App, typename Req, typename Resp>
using SyncMethod = absl::Status (App::*)(const auth::Principal&, const Req&, Resp*);

// Runs `work` on `pool` (the slow-query pool of calls that read much; on the
// calling thread when null) and finishes the call with its status; when the
// pool's queue is full, RESOURCE_EXHAUSTED at once (counted as rejected
// "queue_full"). What `work` uses must live until `done` runs (a call's request
// and response do).
template <typename Work>
void RunOn(ThreadPool* pool, Done done, Work work) {
  if (pool == nullptr) return done(work());
  if (!pool->Submit([done, work = std::move(work)]() mutable { done(work()); })) {
    done(runtime::Admission::Default().QueueFull("slow-query"));
  }
}

// What every RPC passes before its app method runs: the caller authenticated
// (UNAUTHENTICATED), then the request within its bounds (CheckBounds with the
// default Limits: INVALID_ARGUMENT naming the field), so that no app method, read
// or write, sees an oversized id, token, string or list. Linear in the number of
// fields set; string contents are not read.
inline absl::StatusOr<auth::Principal> Admit(grpc::CallbackServerContext& ctx,
                                             const auth::TokenVerifier& verifier,
                                             const google::protobuf::Message& request) {
  absl::StatusOr<auth::Principal> who = auth::Authenticate(ctx, verifier);
  if (!who.ok()) return who;
  if (absl::Status bounds = CheckBounds(request, Limits()); !bounds.ok()) return bounds;
  return who;
}

// Everything a unary call passes before its app method runs, cheapest first:
//   1. the caller authenticated (UNAUTHENTICATED; such a call never takes a place);
//   2. the caller's deadline not passed yet (DEADLINE_EXCEEDED: a call that
//      waited inside gRPC past it is not started, its answer would be lost);
//   3. not shed (RESOURCE_EXHAUSTED: the serving threads are saturated,
//      runtime::OverloadControl);
//   4. the request within its bounds (INVALID_ARGUMENT naming the field, CheckBounds);
//   5. a place among the calls in flight (RESOURCE_EXHAUSTED past --max_in_flight).
// The caller, or nullopt when the call was refused (then `reactor` is finished
// with the refusal). A caller who got a place gives it back with
// Admission::Default().Leave() when the call finishes.
inline std::optional<auth::Principal> Enter(grpc::CallbackServerContext& ctx,
                                            const auth::TokenVerifier& verifier,
                                            const google::protobuf::Message& request,
                                            grpc::ServerUnaryReactor* reactor) {
  runtime::NoteServingThread();  // what runtime::OverloadControl watches
  runtime::Admission& admission = runtime::Admission::Default();
  absl::StatusOr<auth::Principal> who = auth::Authenticate(ctx, verifier);
  absl::Status refused = who.status();
  if (refused.ok() && ctx.deadline() <= std::chrono::system_clock::now()) {
    refused = absl::DeadlineExceededError("the call's deadline passed before it started");
  }
  if (refused.ok() && admission.Shed()) refused = admission.Overloaded();
  if (refused.ok()) refused = CheckBounds(request, Limits());
  if (refused.ok() && !admission.TryEnter()) refused = admission.Busy();
  if (!refused.ok()) {
    reactor->Finish(runtime::ToGrpcStatus(refused));
    return std::nullopt;
  }
  return *std::move(who);
}

// `verifier` and `app` must outlive the call. `rpc` ("<Service>.<Method>") is what
// LimitServiceRole checks after admission: a caller whose only role is `service`
// reaches only the RPCs of kServiceRoleRpcs (PERMISSION_DENIED otherwise).
template <typename App, typename Req, typename Resp>
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx,
                                const auth::TokenVerifier& verifier, App& app,
                                AsyncMethod<App, Req, Resp> method, const Req* req, Resp* resp,
                                std::string_view rpc) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::optional<auth::Principal> who = Enter(*ctx, verifier, *req, reactor);
  if (!who) return reactor;
  if (absl::Status limited = LimitServiceRole(*who, rpc); !limited.ok()) {
    runtime::Admission::Default().Leave();
    reactor->Finish(runtime::ToGrpcStatus(limited));
    return reactor;
  }
  (app.*method)(*who, *req, resp, [reactor](absl::Status s) {
    runtime::Admission::Default().Leave();
    reactor->Finish(runtime::ToGrpcStatus(s));
  });
  return reactor;
}

template <typename App, typename Req, typename Resp>
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx,
                                const auth::TokenVerifier& verifier, App& app,
                                SyncMethod<App, Req, Resp> method, const Req* req, Resp* resp,
                                std::string_view rpc) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::optional<auth::Principal> who = Enter(*ctx, verifier, *req, reactor);
  if (!who) return reactor;
  absl::Status status = LimitServiceRole(*who, rpc);
  if (status.ok()) status = (app.*method)(*who, *req, resp);
  runtime::Admission::Default().Leave();
  reactor->Finish(runtime::ToGrpcStatus(status));
  return reactor;
}

// Calls an app method and waits for its outcome.
template <typename App, typename Req, typename Resp>
absl::StatusOr<Resp> Await(App& app, AsyncMethod<App, Req, Resp> method,
                           const auth::Principal& who, const Req& req) {
  Resp resp;
  absl::Status status =
      RunAndWait([&](Done done) { (app.*method)(who, req, &resp, std::move(done)); });
  if (!status.ok()) return status;
  return resp;
}

template <typename App, typename Req, typename Resp>
absl::StatusOr<Resp> Await(App& app, SyncMethod<App, Req, Resp> method,
                           const auth::Principal& who, const Req& req) {
  Resp resp;
  absl::Status status = (app.*method)(who, req, &resp);
  if (!status.ok()) return status;
  return resp;
}

}  // namespace crm::command

// A service adapter's RPC list: each unary RPC served by the app method of its
// name. The adapter class has members `app_` (a reference to its app) and
// `verifier_` (a const auth::TokenVerifier&).
//
//   #define CRM_TICKET_RPCS(X) X(OpenTicket, v1::OpenTicketRequest, v1::OpenTicketResponse) ...
//   class TicketServiceImpl : public v1::TicketService::CallbackService {
//     CRM_TICKET_RPCS(CRM_DECLARE_RPC)
//   };
//   #define CRM_DEFINE_TICKET_RPC(M, Req, Resp) CRM_DEFINE_RPC(TicketServiceImpl, M, Req, Resp)
//   CRM_TICKET_RPCS(CRM_DEFINE_TICKET_RPC)
#define CRM_DECLARE_RPC(Method, Request, Response)                                    \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx, const Request* req, \
                                   Response* resp) override;
#define CRM_DEFINE_RPC(Service, Method, Request, Response)                             \
  grpc::ServerUnaryReactor* Service::Method(grpc::CallbackServerContext* ctx,          \
                                            const Request* req, Response* resp) {      \
    static const std::string kRpc = ::crm::command::RpcName(#Service, #Method);        \
    return ::crm::command::Serve(ctx, verifier_, app_,                                 \
                                 &std::remove_reference_t<decltype(app_)>::Method, req, \
                                 resp, kRpc);                                          \
  }
