#include "jwks.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base64url.h"
#include "crm/runtime/log.h"
#include "nlohmann/json.hpp"

namespace crm::auth::internal {
namespace {

using json = nlohmann::json;

// JWK members that carry private or symmetric key material (RFC 7518 §6.2.2,
// §6.3.2, §6.4.1): a file of verification keys must not hold them.
constexpr const char* kSecretMembers[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

// Where a key is in the set, for messages: its kid, else keys[i].
std::string Label(const json& jwk, size_t index) {
  auto kid = jwk.find("kid");
  if (kid != jwk.end() && kid->is_string() && !kid->get<std::string>().empty()) {
    return absl::StrCat("kid \"", kid->get<std::string>(), "\"");
  }
  return absl::StrCat("keys[", index, "]");
}

// A required base64url member, decoded. INVALID_ARGUMENT naming it otherwise.
absl::StatusOr<std::string> Member(const json& jwk, const char* name, const std::string& label) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": \"", name, "\" missing"));
  }
  std::optional<std::string> bytes = Base64UrlDecode(it->get<std::string>());
  if (!bytes.has_value() || bytes->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": \"", name, "\" is not base64url"));
  }
  return *std::move(bytes);
}

// Why a well-formed JWK is not for us (nullopt when it is).
std::optional<std::string> NotForUs(const json& jwk, const std::string& kty) {
  auto use = jwk.find("use");
  if (use != jwk.end() && !(use->is_string() && use->get<std::string>() == "sig")) {
    return "use is not \"sig\"";
  }
  auto ops = jwk.find("key_ops");
  if (ops != jwk.end()) {
    bool verify = false;
    if (ops->is_array()) {
      for (const json& op : *ops) verify = verify || (op.is_string() && op == "verify");
    }
    if (!verify) return "key_ops has no \"verify\"";
  }
  std::string want_alg;
  if (kty == "RSA") {
    want_alg = "RS256";
  } else if (kty == "EC") {
    auto crv = jwk.find("crv");
    if (crv == jwk.end() || !crv->is_string() || crv->get<std::string>() != "P-256") {
      return "curve is not P-256";
    }
    want_alg = "ES256";
  } else {
    return absl::StrCat("kty \"", kty, "\" is not supported (RSA, EC)");
  }
  auto alg = jwk.find("alg");
  if (alg != jwk.end() && !(alg->is_string() && alg->get<std::string>() == want_alg)) {
    return absl::StrCat("alg is not ", want_alg);
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<SigningKey>> KeyFromJwk(const json& jwk, const std::string& kty,
                                                       const std::string& label) {
  absl::StatusOr<std::unique_ptr<SigningKey>> key;
  if (kty == "RSA") {
    absl::StatusOr<std::string> n = Member(jwk, "n", label);
    if (!n.ok()) return n.status();
    absl::StatusOr<std::string> e = Member(jwk, "e", label);
    if (!e.ok()) return e.status();
    key = SigningKey::FromRsaPublic(*n, *e);
  } else {
    absl::StatusOr<std::string> x = Member(jwk, "x", label);
    if (!x.ok()) return x.status();
    absl::StatusOr<std::string> y = Member(jwk, "y", label);
    if (!y.ok()) return y.status();
    key = SigningKey::FromP256Public(*x, *y);
  }
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": ", key.status().message()));
  }
  return key;
}

}  // namespace

absl::StatusOr<std::string> ReadKeyFile(std::string_view path) {
  std::error_code ignored;
  if (std::filesystem::is_directory(std::string(path), ignored)) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(path), " is a directory"));
  }
  std::ifstream in{std::string(path), std::ios::binary};
  std::stringstream contents;
  if (in) contents << in.rdbuf();
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", std::string(path)));
  return contents.str();
}

absl::StatusOr<KeySet> ParseJwks(std::string_view text) {
  json doc = json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("JWKS is not a JSON object");
  }
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) {
    return absl::InvalidArgumentError("JWKS has no \"keys\" array");
  }
  KeySet set;
  for (size_t i = 0; i < keys->size(); ++i) {
    const json& jwk = (*keys)[i];
    const std::string label = Label(jwk, i);
    if (!jwk.is_object()) return absl::InvalidArgumentError(absl::StrCat(label, ": not an object"));
    for (const char* secret : kSecretMembers) {
      if (jwk.contains(secret)) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, ": holds private key material (\"", secret,
                         "\"); a JWKS for verifying holds public keys only"));
      }
    }
    auto kty = jwk.find("kty");
    if (kty == jwk.end() || !kty->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(label, ": \"kty\" missing"));
    }
    if (std::optional<std::string> why = NotForUs(jwk, kty->get<std::string>())) {
      set.skipped.push_back(absl::StrCat(label, ": ", *why));
      continue;
    }
    auto kid = jwk.find("kid");
    if (kid == jwk.end() || !kid->is_string() || kid->get<std::string>().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, ": \"kid\" missing (tokens name their key by kid)"));
    }
    absl::StatusOr<std::unique_ptr<SigningKey>> key =
        KeyFromJwk(jwk, kty->get<std::string>(), label);
    if (!key.ok()) return key.status();
    if (!set.keys.emplace(kid->get<std::string>(), std::shared_ptr<const SigningKey>(
                                                       *std::move(key)))
             .second) {
      return absl::InvalidArgumentError(absl::StrCat(label, ": kid used twice"));
    }
  }
  if (set.keys.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWKS has no usable key (RS256 or ES256 with a kid)",
                     set.skipped.empty() ? "" : "; skipped: ", absl::StrJoin(set.skipped, "; ")));
  }
  return set;
}

// ---------------------------------------------------------------- JwksFile

JwksFile::JwksFile(std::string path, const Clock* clock, absl::Duration check_interval)
    : path_(std::move(path)), clock_(clock), check_interval_(check_interval) {}

absl::StatusOr<std::unique_ptr<JwksFile>> JwksFile::Open(std::string path, const Clock* clock,
                                                         absl::Duration check_interval) {
  std::unique_ptr<JwksFile> file(new JwksFile(std::move(path), clock, check_interval));
  absl::MutexLock lock(&file->reload_mu_);
  absl::Status loaded = file->Reload(/*first=*/true);
  if (!loaded.ok()) {
    return absl::Status(loaded.code(), absl::StrCat(file->path_, ": ", loaded.message()));
  }
  file->next_check_unix_nanos_.store(absl::ToUnixNanos(clock->Now() + check_interval));
  return file;
}

absl::Status JwksFile::Reload(bool first) {
  absl::StatusOr<std::string> text = ReadKeyFile(path_);
  absl::StatusOr<KeySet> parsed = absl::InternalError("not parsed");
  if (text.ok()) {
    if (!first && *text == last_text_) return absl::OkStatus();  // unchanged, or the same bad file
    last_text_ = *text;
    parsed = ParseJwks(*text);
  }
  const absl::Status error = !text.ok() ? text.status() : parsed.status();
  if (!error.ok()) {
    if (first) return error;
    const std::string message(error.message());
    if (message != last_error_) {
      last_error_ = message;
      runtime::Log(runtime::LogLevel::kError, "jwks_reload_failed",
                   {{"file", path_}, {"error", message}, {"action", "keeping the previous keys"}});
    }
    return absl::OkStatus();
  }
  last_error_.clear();
  parsed->generation = ++generation_;
  std::vector<std::string> kids;
  for (const auto& [kid, key] : parsed->keys) kids.push_back(kid);
  std::sort(kids.begin(), kids.end());
  runtime::Log(runtime::LogLevel::kInfo, first ? "jwks_loaded" : "jwks_reloaded",
               {{"file", path_}, {"kids", kids}, {"skipped", parsed->skipped}});
  auto keys = std::make_shared<const KeySet>(*std::move(parsed));
  absl::MutexLock lock(&mu_);
  keys_ = std::move(keys);
  return absl::OkStatus();
}

std::shared_ptr<const KeySet> JwksFile::Current() {
  const int64_t now = absl::ToUnixNanos(clock_->Now());
  if (now >= next_check_unix_nanos_.load(std::memory_order_relaxed) && reload_mu_.TryLock()) {
    if (now >= next_check_unix_nanos_.load(std::memory_order_relaxed)) {
      next_check_unix_nanos_.store(now + absl::ToInt64Nanoseconds(check_interval_),
                                   std::memory_order_relaxed);
      (void)Reload(/*first=*/false);
    }
    reload_mu_.Unlock();
  }
  absl::ReaderMutexLock lock(&mu_);
  return keys_;
}

}  // namespace crm::auth::internal
