#include "crm/auth/flags.h"

#include "crm/common/status_macros.h"
#include "crm/runtime/flags.h"

namespace crm::auth {

void AddAuthFlags(CLI::App& app, AuthFlags* flags) {
  runtime::AddFlag(app, "jwt_secret_file", &flags->jwt_secret_file,
                   "HS256 shared secret for bearer tokens (development)");
  runtime::AddFlag(app, "jwt_public_key_file", &flags->jwt_public_key_file,
                   "RS256/ES256 public key (PEM) for bearer tokens (production)");
  runtime::AddFlag(app, "jwt_issuer", &flags->jwt_issuer, "Required `iss` claim, if set");
  runtime::AddFlag(app, "jwt_audience", &flags->jwt_audience, "Required `aud` claim, if set");
}

absl::StatusOr<std::unique_ptr<TokenVerifier>> MakeVerifier(const AuthFlags& flags) {
  ASSIGN_OR_RETURN(VerifierConfig config,
                   LoadVerifierConfig(flags.jwt_secret_file, flags.jwt_public_key_file));
  config.issuer = flags.jwt_issuer;
  config.audience = flags.jwt_audience;
  config.clock = &SystemClock();  // token expiry follows real time, even under a test clock
  return TokenVerifier::Create(config);
}

}  // namespace crm::auth
