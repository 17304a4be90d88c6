// Authenticating gRPC calls: the server takes the caller's Principal from the
// `authorization: Bearer <jwt>` metadata entry; the client writes that entry.
//
//   // Server, at the top of each handler (callback API):
//   absl::StatusOr<crm::auth::Principal> who = crm::auth::Authenticate(*context, *verifier);
//   if (!who.ok()) return reactor->Finish(crm::runtime::ToGrpcStatus(who.status()));
//
//   // Client:
//   grpc::ClientContext context;
//   context.AddMetadata(std::string(crm::auth::kAuthorizationKey),
//                       crm::auth::BearerHeader(token));
//
// grpc++ is forward-declared here and used only in the .cc.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crm/auth/jwt.h"
#include "crm/auth/principal.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace crm::auth {

// The metadata key (gRPC keys are lower case).
inline constexpr std::string_view kAuthorizationKey = "authorization";

// Verifies the bearer token of the call described by `context` (any server
// context: callback, sync or async). UNAUTHENTICATED("missing bearer token")
// when there is no authorization entry, UNAUTHENTICATED for a malformed or
// repeated entry, otherwise whatever `verifier.Verify` returns. Thread-safe.
absl::StatusOr<Principal> Authenticate(const grpc::ServerContextBase& context,
                                       const TokenVerifier& verifier);

// "Bearer <token>", the value of the authorization entry a client sends.
std::string BearerHeader(std::string_view token);

}  // namespace crm::auth
