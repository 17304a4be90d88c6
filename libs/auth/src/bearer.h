// Parsing the value of an `authorization` header (RFC 6750 §2.1). Internal to
// crm::auth; split from grpc_auth.cc so that it can be tested without a call.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"

namespace crm::auth::internal {

// The token in "Bearer <token>". The scheme is case-insensitive; spaces or
// tabs around the value and between scheme and token are tolerated. The token
// itself must be non-empty and contain no whitespace. UNAUTHENTICATED
// otherwise: "missing bearer token" for an empty value or a bare scheme,
// "authorization is not a bearer token" for another scheme or a bare token,
// "malformed bearer token" for whitespace inside the token. The result points
// into `header`.
absl::StatusOr<std::string_view> ParseBearer(std::string_view header);

}  // namespace crm::auth::internal
