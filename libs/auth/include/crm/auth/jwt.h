// JSON Web Tokens (RFC 7519) in compact JWS form (RFC 7515): verifying the
// bearer tokens callers send, and signing tokens for the dev token command and
// for tests. Three algorithms: HS256 (shared secret, dev only), RS256 and ES256
// (public keys, production: one PEM key, or a JWKS file of several keys named
// by `kid`, re-read when it changes). Built on OpenSSL libcrypto, which stays
// out of this header.
//
//   ASSIGN_OR_RETURN(crm::auth::VerifierConfig config,
//                    crm::auth::LoadVerifierConfig("", "/etc/crm/jwt_public.pem"));
//   config.issuer = "https://id.example.com";
//   config.audience = "crm";
//   ASSIGN_OR_RETURN(std::unique_ptr<crm::auth::TokenVerifier> verifier,
//                    crm::auth::TokenVerifier::Create(config));
//   ASSIGN_OR_RETURN(crm::auth::Principal who, verifier->Verify(token));
//
//   ASSIGN_OR_RETURN(auto signer, crm::auth::TokenSigner::Create({.hs256_secret = secret}));
//   ASSIGN_OR_RETURN(std::string token,
//                    signer->Sign({.sub = "u-42", .roles = {"sales_rep"}, .region = "east",
//                                  .issued_at = now, .expires_at = now + absl::Hours(1)}));
//
// A token is checked against exactly one key, and its `alg` header must name
// that key's algorithm. That rules out `alg: none` and algorithm confusion (an
// RS256 public key reused as an HS256 secret). With a single key (secret or
// PEM) that key is the only key and `kid` is ignored; with a JWKS file the
// token's `kid` must name one of the file's keys. Header parameters that point
// at keys elsewhere (`jku`, `jwk`, `x5u`, `x5c`) are always ignored. A header
// with `crit` is rejected (no extension is understood).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/auth/principal.h"
#include "crm/common/clock.h"

namespace crm::auth {

namespace internal {
class SigningKey;     // src/jws.h: the secret or OpenSSL key.
class VerifiedCache;  // src/jwt.cc: tokens whose signature and claims verified.
class JwksFile;       // src/jwks.h: a JWKS file, re-read when it changes.
struct KeySet;        // src/jwks.h: the keys of one JWKS, by kid.
}  // namespace internal

// The claims this suite reads and writes.
//   sub    -> sub            roles -> roles (array of strings)   region -> region
//   iat    -> issued_at      exp   -> expires_at                 nbf    -> not_before
//   iss    -> issuer         aud   -> audience
// On signing, times are written as whole Unix seconds (rounded down); empty
// strings and infinite times are left out (except `sub` and `exp`, required).
// On verifying, `roles` keeps every string, known or not; a multi-valued `aud`
// yields its first element.
struct Claims {
  std::string sub;
  std::vector<std::string> roles;
  std::string region;
  absl::Time issued_at = absl::InfinitePast();
  absl::Time expires_at = absl::InfiniteFuture();
  std::string issuer;
  std::string audience;
  absl::Time not_before = absl::InfinitePast();
};

// How to verify. Exactly one of `hs256_secret`, `public_key_pem` and
// `jwks_file` is set. TokenVerifier leaves `issuer` and `audience` optional
// (for tests and tools); MakeVerifier (crm/auth/flags.h), which every service
// uses, requires both with a public key or a JWKS file.
struct VerifierConfig {
  // Shared secret for HS256, used byte for byte; at least 32 bytes (RFC 7518 §3.2).
  std::string hs256_secret;
  // A PEM "PUBLIC KEY" (SubjectPublicKeyInfo): RSA of at least 2048 bits means
  // RS256, EC P-256 means ES256.
  std::string public_key_pem;
  // A JWKS file (RFC 7517 §5): RSA (`n`, `e`; RS256) and EC P-256 (`x`, `y`;
  // ES256) keys, each with a `kid`. Tokens must carry a `kid` naming one of
  // them, and an `alg` matching that key. The file is re-read when its bytes
  // change (checked at most once per `jwks_check_interval`, on the verify
  // path); a file that does not read or parse keeps the previous keys and logs
  // an error; on a successful reload the cache of verified tokens starts over,
  // so a token whose key was removed stops verifying.
  std::string jwks_file;
  absl::Duration jwks_check_interval = absl::Seconds(1);
  // When non-empty, `iss` must equal it.
  std::string issuer;
  // When non-empty, `aud` (a string, or an array of strings) must contain it.
  std::string audience;
  // Clock skew tolerated for `exp`, `nbf` and `iat`. Must not be negative.
  absl::Duration leeway = absl::Seconds(30);
  // Time source for the checks; nullptr means SystemClock(). Must outlive the verifier.
  const Clock* clock = nullptr;
};

// Reads the key files into a VerifierConfig (other fields keep their defaults).
// Pass an empty path for the one not used; exactly one must be non-empty, else
// INVALID_ARGUMENT. The secret is the file's text with surrounding whitespace
// trimmed (it is not base64-decoded). NOT_FOUND when a file cannot be read,
// INVALID_ARGUMENT when it is empty.
absl::StatusOr<VerifierConfig> LoadVerifierConfig(std::string_view secret_file,
                                                  std::string_view public_key_file);

// Verifies tokens against one key or a JWKS file's keys. Its configuration is
// fixed once created (only the JWKS file's keys change, on reload); Verify may
// be called from any number of threads at once.
class TokenVerifier {
 public:
  // INVALID_ARGUMENT when not exactly one key is given, the secret is too
  // short, the PEM or JWKS does not parse, the key type or size is not
  // supported, or the leeway is negative; NOT_FOUND when the JWKS file cannot
  // be read.
  static absl::StatusOr<std::unique_ptr<TokenVerifier>> Create(const VerifierConfig& config);

  ~TokenVerifier();
  TokenVerifier(const TokenVerifier&) = delete;
  TokenVerifier& operator=(const TokenVerifier&) = delete;

  // The caller described by `token`. Checks, in order: three base64url
  // segments, header JSON, `kid` naming a key (JWKS only), `alg` equal to
  // that key's algorithm, `crit` absent, the
  // signature, payload JSON, `sub` (non-empty string), `exp` (required),
  // `nbf` and `iat` (when present; `iat` must not lie in the future), `iss`
  // and `aud` (when configured), and the types of `roles` and `region`.
  // Every failure is UNAUTHENTICATED with a short reason such as
  // "token expired"; the token and its claim values are never echoed.
  //
  // A token that verified is remembered (up to 4096 distinct tokens, then the
  // cache starts over), so that a caller sending the same token on every call
  // pays the signature and JSON once; the time claims (`exp`, `nbf`, `iat`)
  // are checked against the clock on every call all the same. Thread-safe.
  absl::StatusOr<Principal> Verify(std::string_view token) const;

  // As Verify, returning the raw claims (all role strings, known or not).
  // Never cached.
  absl::StatusOr<Claims> VerifyClaims(std::string_view token) const;

  // "HS256", "RS256" or "ES256" for a single key; "JWKS" for a key set (each
  // key has its own).
  std::string_view algorithm() const;

 private:
  TokenVerifier(std::unique_ptr<internal::SigningKey> key,
                std::unique_ptr<internal::JwksFile> jwks, const VerifierConfig& config);
  absl::Status CheckTimes(const Claims& claims) const;
  // `keys` is the JWKS snapshot to pick from, or nullptr for the single key.
  absl::StatusOr<Claims> VerifyWith(std::string_view token, const internal::KeySet* keys) const;
  std::shared_ptr<const internal::KeySet> CurrentKeys() const;

  std::unique_ptr<internal::SigningKey> key_;  // single key; null with a JWKS
  std::unique_ptr<internal::JwksFile> jwks_;   // null with a single key
  std::unique_ptr<internal::VerifiedCache> cache_;
  std::string issuer_;
  std::string audience_;
  absl::Duration leeway_;
  const Clock* clock_;
};

// How to sign. Exactly one of the two is set.
struct SignerConfig {
  // Shared secret for HS256, used byte for byte; at least 32 bytes.
  std::string hs256_secret;
  // A PEM private key (PKCS#8 "PRIVATE KEY", or the traditional RSA / EC
  // forms), unencrypted: RSA of at least 2048 bits means RS256, EC P-256 ES256.
  std::string private_key_pem;
  // When non-empty, written as the `kid` header: the key's id in the
  // verifier's JWKS.
  std::string kid;
};

// As LoadVerifierConfig, for a signer: secret file or private key file.
absl::StatusOr<SignerConfig> LoadSignerConfig(std::string_view secret_file,
                                              std::string_view private_key_file);

// Signs tokens with one key, for the dev token command and tests (production
// tokens come from the identity provider). Immutable once created; Sign may
// be called from any thread.
class TokenSigner {
 public:
  // INVALID_ARGUMENT under the same conditions as TokenVerifier::Create.
  static absl::StatusOr<std::unique_ptr<TokenSigner>> Create(const SignerConfig& config);

  ~TokenSigner();
  TokenSigner(const TokenSigner&) = delete;
  TokenSigner& operator=(const TokenSigner&) = delete;

  // A compact JWS with header {"alg":..., "typ":"JWT"} (and "kid" when
  // configured). INVALID_ARGUMENT when
  // `sub` is empty or `expires_at` is not finite; INTERNAL if OpenSSL fails.
  absl::StatusOr<std::string> Sign(const Claims& claims) const;

  // "HS256", "RS256" or "ES256".
  std::string_view algorithm() const;

 private:
  TokenSigner(std::unique_ptr<internal::SigningKey> key, std::string kid);

  std::unique_ptr<internal::SigningKey> key_;
  std::string kid_;
};

}  // namespace crm::auth
