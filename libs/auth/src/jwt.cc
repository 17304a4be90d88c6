#include "crm/auth/jwt.h"

#include <atomic>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base64url.h"
#include "jwks.h"
#include "jws.h"
#include "nlohmann/json.hpp"

namespace crm::auth {
namespace {

using json = nlohmann::json;
using internal::SigningKey;

// Bounds the work an unauthenticated caller can cause; real tokens are < 2 KiB.
constexpr size_t kMaxTokenBytes = 16 * 1024;
// NumericDate values beyond year 9999 are treated as malformed.
constexpr int64_t kMaxUnixSeconds = 253402300799;

absl::Status Unauthenticated(std::string_view reason) {
  return absl::UnauthenticatedError(absl::string_view(reason.data(), reason.size()));
}

absl::StatusOr<std::string> ReadFile(std::string_view path) {
  return internal::ReadKeyFile(path);
}

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(kSpace);
  return s.substr(begin, end - begin + 1);
}

// Reads exactly one of two key files: (secret, "") or ("", PEM text).
absl::StatusOr<std::pair<std::string, std::string>> LoadOneOf(std::string_view secret_file,
                                                              std::string_view key_file) {
  if (secret_file.empty() == key_file.empty()) {
    return absl::InvalidArgumentError("give exactly one of a secret file and a key file");
  }
  std::string_view path = secret_file.empty() ? key_file : secret_file;
  absl::StatusOr<std::string> contents = ReadFile(path);
  if (!contents.ok()) return contents.status();
  if (Trim(*contents).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(path), " is empty"));
  }
  if (!secret_file.empty()) return std::make_pair(std::string(Trim(*contents)), std::string());
  return std::make_pair(std::string(), *std::move(contents));
}

// Key material for exactly one algorithm, from a secret or a PEM.
absl::StatusOr<std::unique_ptr<SigningKey>> MakeKey(std::string_view secret, std::string_view pem,
                                                    bool is_private) {
  std::string_view pem_name = is_private ? "private_key_pem" : "public_key_pem";
  if (secret.empty() == pem.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("exactly one of hs256_secret and ", std::string(pem_name), " is required"));
  }
  if (!secret.empty()) return SigningKey::FromSecret(secret);
  return is_private ? SigningKey::FromPrivateKeyPem(pem) : SigningKey::FromPublicKeyPem(pem);
}

std::optional<json> ParseObject(std::string_view b64) {
  std::optional<std::string> text = internal::Base64UrlDecode(b64);
  if (!text.has_value()) return std::nullopt;
  json value = json::parse(*text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

// RFC 7519 §2 NumericDate: seconds since the epoch, possibly fractional.
std::optional<absl::Time> NumericDate(const json& value) {
  if (value.is_number_unsigned()) {
    uint64_t seconds = value.get<uint64_t>();
    if (seconds > static_cast<uint64_t>(kMaxUnixSeconds)) return std::nullopt;
    return absl::FromUnixSeconds(static_cast<int64_t>(seconds));
  }
  if (value.is_number_integer()) {
    int64_t seconds = value.get<int64_t>();
    if (seconds < -kMaxUnixSeconds || seconds > kMaxUnixSeconds) return std::nullopt;
    return absl::FromUnixSeconds(seconds);
  }
  if (value.is_number_float()) {
    double seconds = value.get<double>();
    if (!std::isfinite(seconds) || std::fabs(seconds) > static_cast<double>(kMaxUnixSeconds)) {
      return std::nullopt;
    }
    return absl::FromUnixMicros(std::llround(seconds * 1e6));
  }
  return std::nullopt;
}

// Reads an optional NumericDate claim; absent leaves `out` untouched.
absl::Status ReadDate(const json& payload, const char* name, absl::Time* out) {
  auto it = payload.find(name);
  if (it == payload.end()) return absl::OkStatus();
  std::optional<absl::Time> t = NumericDate(*it);
  if (!t.has_value()) {
    return Unauthenticated(absl::StrCat("malformed token: ", name, " is not a NumericDate"));
  }
  *out = *t;
  return absl::OkStatus();
}

std::string StringOr(const json& payload, const char* name) {
  auto it = payload.find(name);
  return it != payload.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool AudienceContains(const json& aud, const std::string& wanted) {
  if (aud.is_string()) return aud.get<std::string>() == wanted;
  if (aud.is_array()) {
    for (const json& entry : aud) {
      if (entry.is_string() && entry.get<std::string>() == wanted) return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<VerifierConfig> LoadVerifierConfig(std::string_view secret_file,
                                                  std::string_view public_key_file) {
  auto loaded = LoadOneOf(secret_file, public_key_file);
  if (!loaded.ok()) return loaded.status();
  VerifierConfig config;
  config.hs256_secret = std::move(loaded->first);
  config.public_key_pem = std::move(loaded->second);
  return config;
}

absl::StatusOr<SignerConfig> LoadSignerConfig(std::string_view secret_file,
                                              std::string_view private_key_file) {
  auto loaded = LoadOneOf(secret_file, private_key_file);
  if (!loaded.ok()) return loaded.status();
  SignerConfig config;
  config.hs256_secret = std::move(loaded->first);
  config.private_key_pem = std::move(loaded->second);
  return config;
}

// ---------------------------------------------------------------- TokenVerifier

namespace internal {

// Verified tokens by their exact text. Bounded: when full it starts over, which
// costs one full verification per caller and keeps no stale entry forever.
// With a JWKS, entries belong to one generation of the key set: Sync() to a
// newer generation drops them all, and Insert() of a token verified against an
// older snapshot is refused, so a removed key's tokens are not served from here.
class VerifiedCache {
 public:
  static constexpr size_t kMaxEntries = 4096;

  void Sync(uint64_t generation) {
    if (generation_.load(std::memory_order_acquire) >= generation) return;
    absl::MutexLock lock(&mu_);
    if (generation_.load(std::memory_order_relaxed) < generation) {
      claims_.clear();
      generation_.store(generation, std::memory_order_release);
    }
  }

  std::optional<Claims> Find(std::string_view token) const {
    absl::ReaderMutexLock lock(&mu_);
    auto it = claims_.find(absl::string_view(token.data(), token.size()));
    if (it == claims_.end()) return std::nullopt;
    return it->second;
  }

  void Insert(std::string_view token, const Claims& claims, uint64_t generation) {
    absl::MutexLock lock(&mu_);
    if (generation != generation_.load(std::memory_order_relaxed)) return;
    if (claims_.size() >= kMaxEntries) claims_.clear();
    claims_.emplace(std::string(token), claims);
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Claims> claims_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};  // written under mu_
};

}  // namespace internal

TokenVerifier::TokenVerifier(std::unique_ptr<SigningKey> key,
                             std::unique_ptr<internal::JwksFile> jwks, const VerifierConfig& config)
    : key_(std::move(key)),
      jwks_(std::move(jwks)),
      cache_(std::make_unique<internal::VerifiedCache>()),
      issuer_(config.issuer),
      audience_(config.audience),
      leeway_(config.leeway),
      clock_(config.clock != nullptr ? config.clock : &SystemClock()) {}

TokenVerifier::~TokenVerifier() = default;

absl::StatusOr<std::unique_ptr<TokenVerifier>> TokenVerifier::Create(const VerifierConfig& config) {
  if (config.leeway < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("leeway must not be negative");
  }
  if (!config.jwks_file.empty()) {
    if (!config.hs256_secret.empty() || !config.public_key_pem.empty()) {
      return absl::InvalidArgumentError(
          "exactly one of hs256_secret, public_key_pem and jwks_file is required");
    }
    if (config.jwks_check_interval < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("jwks_check_interval must not be negative");
    }
    const Clock* clock = config.clock != nullptr ? config.clock : &SystemClock();
    auto jwks = internal::JwksFile::Open(config.jwks_file, clock, config.jwks_check_interval);
    if (!jwks.ok()) return jwks.status();
    return std::unique_ptr<TokenVerifier>(new TokenVerifier(nullptr, *std::move(jwks), config));
  }
  auto key = MakeKey(config.hs256_secret, config.public_key_pem, /*is_private=*/false);
  if (!key.ok()) return key.status();
  return std::unique_ptr<TokenVerifier>(new TokenVerifier(*std::move(key), nullptr, config));
}

std::string_view TokenVerifier::algorithm() const {
  return key_ != nullptr ? AlgorithmName(key_->algorithm()) : "JWKS";
}

std::shared_ptr<const internal::KeySet> TokenVerifier::CurrentKeys() const {
  return jwks_ != nullptr ? jwks_->Current() : nullptr;
}

absl::StatusOr<Claims> TokenVerifier::VerifyClaims(std::string_view token) const {
  std::shared_ptr<const internal::KeySet> keys = CurrentKeys();
  return VerifyWith(token, keys.get());
}

absl::StatusOr<Claims> TokenVerifier::VerifyWith(std::string_view token,
                                                 const internal::KeySet* keys) const {
  if (token.empty()) return Unauthenticated("empty token");
  if (token.size() > kMaxTokenBytes) return Unauthenticated("token too large");

  // Structure: exactly three non-empty segments.
  size_t first_dot = token.find('.');
  size_t second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    return Unauthenticated("malformed token: expected three segments");
  }
  std::string_view header_b64 = token.substr(0, first_dot);
  std::string_view payload_b64 = token.substr(first_dot + 1, second_dot - first_dot - 1);
  std::string_view signature_b64 = token.substr(second_dot + 1);
  if (header_b64.empty() || payload_b64.empty() || signature_b64.empty()) {
    return Unauthenticated("malformed token: empty segment");
  }

  // Header: the algorithm must be the key's, whatever the token says.
  std::optional<json> header = ParseObject(header_b64);
  if (!header.has_value()) return Unauthenticated("malformed token: header is not a JSON object");
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) {
    return Unauthenticated("malformed token: alg missing");
  }
  const SigningKey* key = key_.get();
  if (keys != nullptr) {  // A JWKS: the token names its key.
    auto kid = header->find("kid");
    if (kid == header->end() || !kid->is_string() || kid->get<std::string>().empty()) {
      return Unauthenticated("malformed token: kid missing");
    }
    auto found = keys->keys.find(kid->get<std::string>());
    if (found == keys->keys.end()) return Unauthenticated("token key id (kid) not known");
    key = found->second.get();
  }
  if (alg->get<std::string>() != AlgorithmName(key->algorithm())) {
    return Unauthenticated("token algorithm not accepted");
  }
  if (header->contains("crit")) return Unauthenticated("token has unsupported critical headers");

  // Signature, before looking at the claims.
  std::optional<std::string> signature = internal::Base64UrlDecode(signature_b64);
  if (!signature.has_value()) return Unauthenticated("malformed token: signature is not base64url");
  if (!key->Verify(token.substr(0, second_dot), *signature)) {
    return Unauthenticated("token signature invalid");
  }

  // Claims.
  std::optional<json> payload = ParseObject(payload_b64);
  if (!payload.has_value()) return Unauthenticated("malformed token: payload is not a JSON object");
  Claims claims;
  auto sub = payload->find("sub");
  if (sub == payload->end() || !sub->is_string() || sub->get<std::string>().empty()) {
    return Unauthenticated("malformed token: sub missing");
  }
  claims.sub = sub->get<std::string>();
  if (!payload->contains("exp")) return Unauthenticated("malformed token: exp missing");
  if (absl::Status s = ReadDate(*payload, "exp", &claims.expires_at); !s.ok()) return s;
  if (absl::Status s = ReadDate(*payload, "nbf", &claims.not_before); !s.ok()) return s;
  if (absl::Status s = ReadDate(*payload, "iat", &claims.issued_at); !s.ok()) return s;

  if (absl::Status s = CheckTimes(claims); !s.ok()) return s;

  claims.issuer = StringOr(*payload, "iss");
  if (!issuer_.empty() && claims.issuer != issuer_) {
    return Unauthenticated("token issuer not accepted");
  }
  auto aud = payload->find("aud");
  if (aud != payload->end()) {
    if (aud->is_string()) {
      claims.audience = aud->get<std::string>();
    } else if (aud->is_array() && !aud->empty() && aud->front().is_string()) {
      claims.audience = aud->front().get<std::string>();
    }
  }
  if (!audience_.empty() && (aud == payload->end() || !AudienceContains(*aud, audience_))) {
    return Unauthenticated("token audience not accepted");
  }

  auto roles = payload->find("roles");
  if (roles != payload->end()) {
    if (!roles->is_array()) return Unauthenticated("malformed token: roles is not an array");
    for (const json& role : *roles) {
      if (!role.is_string())
        return Unauthenticated("malformed token: roles is not an array of strings");
      claims.roles.push_back(role.get<std::string>());
    }
  }
  auto region = payload->find("region");
  if (region != payload->end()) {
    if (!region->is_string()) return Unauthenticated("malformed token: region is not a string");
    claims.region = region->get<std::string>();
  }
  return claims;
}

absl::Status TokenVerifier::CheckTimes(const Claims& claims) const {
  absl::Time now = clock_->Now();
  if (now >= claims.expires_at + leeway_) return Unauthenticated("token expired");
  if (now + leeway_ < claims.not_before) return Unauthenticated("token not yet valid");
  if (claims.issued_at != absl::InfinitePast() && claims.issued_at > now + leeway_) {
    return Unauthenticated("token issued in the future");
  }
  return absl::OkStatus();
}

absl::StatusOr<Principal> TokenVerifier::Verify(std::string_view token) const {
  // First the keys (a reload drops the cache), then the cache.
  std::shared_ptr<const internal::KeySet> keys = CurrentKeys();
  const uint64_t generation = keys != nullptr ? keys->generation : 0;
  cache_->Sync(generation);
  absl::StatusOr<Claims> claims;
  if (std::optional<Claims> cached = cache_->Find(token)) {
    if (absl::Status s = CheckTimes(*cached); !s.ok()) return s;
    claims = *std::move(cached);
  } else {
    claims = VerifyWith(token, keys.get());
    if (!claims.ok()) return claims.status();
    cache_->Insert(token, *claims, generation);
  }
  Principal principal;
  principal.subject = std::move(claims->sub);
  principal.roles = ParseRoles(claims->roles);
  principal.region = std::move(claims->region);
  return principal;
}

// ---------------------------------------------------------------- TokenSigner

TokenSigner::TokenSigner(std::unique_ptr<SigningKey> key, std::string kid)
    : key_(std::move(key)), kid_(std::move(kid)) {}

TokenSigner::~TokenSigner() = default;

absl::StatusOr<std::unique_ptr<TokenSigner>> TokenSigner::Create(const SignerConfig& config) {
  auto key = MakeKey(config.hs256_secret, config.private_key_pem, /*is_private=*/true);
  if (!key.ok()) return key.status();
  return std::unique_ptr<TokenSigner>(new TokenSigner(*std::move(key), config.kid));
}

std::string_view TokenSigner::algorithm() const { return AlgorithmName(key_->algorithm()); }

absl::StatusOr<std::string> TokenSigner::Sign(const Claims& claims) const {
  if (claims.sub.empty()) return absl::InvalidArgumentError("claims.sub must not be empty");
  if (claims.expires_at == absl::InfiniteFuture() || claims.expires_at == absl::InfinitePast()) {
    return absl::InvalidArgumentError("claims.expires_at must be set");
  }
  json header = {{"alg", std::string(algorithm())}, {"typ", "JWT"}};
  if (!kid_.empty()) header["kid"] = kid_;
  json payload = {{"sub", claims.sub}, {"exp", absl::ToUnixSeconds(claims.expires_at)}};
  if (!claims.roles.empty()) payload["roles"] = claims.roles;
  if (!claims.region.empty()) payload["region"] = claims.region;
  if (!claims.issuer.empty()) payload["iss"] = claims.issuer;
  if (!claims.audience.empty()) payload["aud"] = claims.audience;
  for (auto [name, time] : {std::pair{"iat", claims.issued_at}, {"nbf", claims.not_before}}) {
    if (time != absl::InfinitePast() && time != absl::InfiniteFuture()) {
      payload[name] = absl::ToUnixSeconds(time);
    }
  }
  std::string signing_input;
  try {
    signing_input = absl::StrCat(internal::Base64UrlEncode(header.dump()), ".",
                                 internal::Base64UrlEncode(payload.dump()));
  } catch (const json::exception&) {  // Only thrown for strings that are not UTF-8.
    return absl::InvalidArgumentError("claims must be valid UTF-8");
  }
  absl::StatusOr<std::string> signature = key_->Sign(signing_input);
  if (!signature.ok()) return signature.status();
  return absl::StrCat(signing_input, ".", internal::Base64UrlEncode(*signature));
}

}  // namespace crm::auth
