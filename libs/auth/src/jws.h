// The cryptographic half of JWS (RFC 7515 / 7518): one key, one algorithm,
// signing and verifying the bytes "<header>.<payload>". Internal to crm::auth;
// jwt.cc adds the JSON and the claim checks.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

typedef struct evp_pkey_st EVP_PKEY;  // openssl/types.h

namespace crm::auth::internal {

enum class Algorithm { kHs256, kRs256, kEs256 };

// "HS256", "RS256", "ES256".
std::string_view AlgorithmName(Algorithm alg);

// An HMAC secret or an OpenSSL key, with the single algorithm it is used for.
// Immutable after creation; Sign and Verify are safe to call concurrently.
class SigningKey {
 public:
  // HS256. INVALID_ARGUMENT when shorter than 32 bytes.
  static absl::StatusOr<std::unique_ptr<SigningKey>> FromSecret(std::string_view secret);
  // RS256 (RSA >= 2048 bits) or ES256 (EC P-256) from a PEM "PUBLIC KEY".
  // INVALID_ARGUMENT when it does not parse or is another kind of key.
  static absl::StatusOr<std::unique_ptr<SigningKey>> FromPublicKeyPem(std::string_view pem);
  // RS256 from the big-endian bytes of an RSA modulus and public exponent (a
  // JWK's decoded `n` and `e`). INVALID_ARGUMENT when OpenSSL refuses them or
  // the modulus has fewer than 2048 bits.
  static absl::StatusOr<std::unique_ptr<SigningKey>> FromRsaPublic(std::string_view n,
                                                                   std::string_view e);
  // ES256 from the 32-byte big-endian coordinates of a P-256 point (a JWK's
  // decoded `x` and `y`). INVALID_ARGUMENT when a coordinate is not 32 bytes or
  // the point is not on the curve.
  static absl::StatusOr<std::unique_ptr<SigningKey>> FromP256Public(std::string_view x,
                                                                    std::string_view y);
  // As FromPublicKeyPem, from an unencrypted PEM private key (never prompts).
  static absl::StatusOr<std::unique_ptr<SigningKey>> FromPrivateKeyPem(std::string_view pem);

  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  Algorithm algorithm() const { return alg_; }

  // The JWS signature of `input` (for ES256 the raw 64-byte R||S form).
  // FAILED_PRECONDITION for a public key, INTERNAL when OpenSSL fails.
  absl::StatusOr<std::string> Sign(std::string_view input) const;

  // True when `signature` (JWS form) is valid for `input`. Comparisons of MACs
  // are constant-time.
  bool Verify(std::string_view input, std::string_view signature) const;

 private:
  SigningKey(Algorithm alg, std::string secret, EVP_PKEY* pkey, bool is_private);

  static absl::StatusOr<std::unique_ptr<SigningKey>> FromPkey(EVP_PKEY* pkey, bool is_private);

  const Algorithm alg_;
  std::string secret_;    // HS256 only; wiped on destruction.
  EVP_PKEY* const pkey_;  // RS256 / ES256 only; owned.
  const bool is_private_;
};

}  // namespace crm::auth::internal
