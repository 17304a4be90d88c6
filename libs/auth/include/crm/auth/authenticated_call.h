// Serving one unary RPC of a callback service: the caller is authenticated, the
// handler runs on a worker pool (it may wait on a synced disk write, which must not
// block gRPC's threads), and the call finishes with the handler's status mapped to
// a gRPC code. Every service's adapter goes through here.
//
//   grpc::ServerUnaryReactor* MyService::GetThing(grpc::CallbackServerContext* ctx,
//                                                 const GetThingRequest* req,
//                                                 GetThingResponse* resp) {
//     return ServeAuthenticated(pool_, *verifier_, ctx, [=](const Principal& who) {
//       return logic_->GetThing(who, *req, resp);   // absl::Status
//     });
//   }
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "crm/auth/grpc_auth.h"
#include "crm/auth/principal.h"
#include "crm/common/thread_pool.h"
#include "crm/runtime/status.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/server_context.h"

namespace crm::auth {

// `handle(const Principal&) -> absl::Status` fills the response itself. The
// context, request and response stay valid until the call finishes, so the
// handler may capture them. `pool` and `verifier` must outlive the call.
template <typename Handle>
grpc::ServerUnaryReactor* ServeAuthenticated(ThreadPool& pool, const TokenVerifier& verifier,
                                             grpc::CallbackServerContext* ctx, Handle handle) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  pool.Submit([&verifier, ctx, reactor, handle = std::move(handle)]() mutable {
    absl::StatusOr<Principal> who = Authenticate(*ctx, verifier);
    const absl::Status status = who.ok() ? handle(*who) : who.status();
    reactor->Finish(runtime::ToGrpcStatus(status));
  });
  return reactor;
}

}  // namespace crm::auth
