// Base64url without padding (RFC 4648 §5, as JWS uses it, RFC 7515 §2),
// written by hand: OpenSSL only offers the standard alphabet with padding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crm::auth::internal {

std::string Base64UrlEncode(std::string_view bytes);

// Strict: only the url alphabet, no padding, no whitespace, and the unused low
// bits of the last character must be zero, so each byte string has exactly one
// encoding (otherwise a token could be altered without touching its meaning).
// nullopt for anything else.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace crm::auth::internal
