#include "crm/auth/flags.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "crm/common/status_macros.h"
#include "crm/runtime/flags.h"

namespace crm::auth {

void AddAuthFlags(CLI::App& app, AuthFlags* flags) {
  runtime::AddFlag(app, "jwt_secret_file", &flags->jwt_secret_file,
                   "HS256 shared secret for bearer tokens (development)");
  runtime::AddFlag(app, "jwt_public_key_file", &flags->jwt_public_key_file,
                   "RS256/ES256 public key (PEM) for bearer tokens (production); needs "
                   "--jwt_issuer and --jwt_audience");
  runtime::AddFlag(app, "jwt_jwks_file", &flags->jwt_jwks_file,
                   "JWKS (RFC 7517) of RS256/ES256 keys by kid, re-read when it changes "
                   "(production, key rotation); needs --jwt_issuer and --jwt_audience");
  runtime::AddFlag(app, "jwt_issuer", &flags->jwt_issuer,
                   "Required `iss` claim (mandatory with a public key or JWKS)");
  runtime::AddFlag(app, "jwt_audience", &flags->jwt_audience,
                   "Required `aud` claim (mandatory with a public key or JWKS)");
}

absl::StatusOr<std::unique_ptr<TokenVerifier>> MakeVerifier(const AuthFlags& flags) {
  const int keys = static_cast<int>(!flags.jwt_secret_file.empty()) +
                   static_cast<int>(!flags.jwt_public_key_file.empty()) +
                   static_cast<int>(!flags.jwt_jwks_file.empty());
  if (keys != 1) {
    return absl::InvalidArgumentError(
        "give exactly one of --jwt_secret_file (HS256, development), --jwt_public_key_file "
        "and --jwt_jwks_file");
  }
  if (flags.jwt_secret_file.empty()) {
    // A public key verifies every token its identity provider signs, for any
    // application: without iss and aud, a token meant for another one passes.
    std::vector<std::string> missing;
    if (flags.jwt_issuer.empty()) missing.push_back("--jwt_issuer (CRM_JWT_ISSUER)");
    if (flags.jwt_audience.empty()) missing.push_back("--jwt_audience (CRM_JWT_AUDIENCE)");
    if (!missing.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          absl::StrJoin(missing, " and "), ": required with ",
          flags.jwt_jwks_file.empty() ? "--jwt_public_key_file" : "--jwt_jwks_file",
          " (a token the identity provider issued for another application must not be "
          "accepted)"));
    }
  }
  VerifierConfig config;
  if (!flags.jwt_jwks_file.empty()) {
    config.jwks_file = flags.jwt_jwks_file;
  } else {
    ASSIGN_OR_RETURN(config,
                     LoadVerifierConfig(flags.jwt_secret_file, flags.jwt_public_key_file));
  }
  config.issuer = flags.jwt_issuer;
  config.audience = flags.jwt_audience;
  config.clock = &SystemClock();  // token expiry follows real time, even under a test clock
  absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier = TokenVerifier::Create(config);
  if (!verifier.ok() && !flags.jwt_jwks_file.empty()) {
    return absl::Status(verifier.status().code(),
                        absl::StrCat("--jwt_jwks_file: ", verifier.status().message()));
  }
  return verifier;
}

}  // namespace crm::auth
