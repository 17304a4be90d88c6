// Keys and hand-built tokens for the auth tests.
#pragma once

#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace crm::auth::testing {

struct KeyPair {
  std::string private_pem;  // PKCS#8 "PRIVATE KEY".
  std::string public_pem;   // SubjectPublicKeyInfo "PUBLIC KEY".
};

// Fresh keys from libcrypto. The 2048-bit RSA and P-256 pairs are generated
// once per process and reused (RSA generation is slow); the *Other variants
// are a second, independent pair of the same kind.
const KeyPair& Rsa2048();
const KeyPair& Rsa2048Other();
const KeyPair& P256();
const KeyPair& P256Other();
KeyPair GenerateRsa(int bits);
KeyPair GenerateEc(const char* curve);  // "P-256", "P-384", ...
KeyPair GenerateEd25519();

// A 32+ byte HS256 secret.
inline constexpr std::string_view kSecret = "test-secret-0123456789-abcdefghijklmnop";

// base64url(header) "." base64url(payload) "." base64url(HMAC-SHA256(secret)),
// from raw JSON text, to build tokens the signer would refuse to make.
std::string HsTokenRaw(std::string_view header_json, std::string_view payload_json,
                       std::string_view secret = kSecret);
std::string HsToken(const nlohmann::json& header, const nlohmann::json& payload,
                    std::string_view secret = kSecret);

}  // namespace crm::auth::testing
