#include "crm/auth/grpc_auth.h"

#include "absl/strings/str_cat.h"
#include "bearer.h"
#include "grpcpp/server_context.h"

namespace crm::auth {

absl::StatusOr<Principal> Authenticate(const grpc::ServerContextBase& context,
                                       const TokenVerifier& verifier) {
  const auto& metadata = context.client_metadata();
  auto [begin, end] =
      metadata.equal_range(grpc::string_ref(kAuthorizationKey.data(), kAuthorizationKey.size()));
  if (begin == end) return absl::UnauthenticatedError("missing bearer token");
  // Two entries could be read differently by a proxy and by us: refuse.
  if (std::next(begin) != end) return absl::UnauthenticatedError("repeated authorization metadata");
  absl::StatusOr<std::string_view> token =
      internal::ParseBearer(std::string_view(begin->second.data(), begin->second.size()));
  if (!token.ok()) return token.status();
  return verifier.Verify(*token);
}

std::string BearerHeader(std::string_view token) {
  return absl::StrCat("Bearer ", absl::string_view(token.data(), token.size()));
}

}  // namespace crm::auth
