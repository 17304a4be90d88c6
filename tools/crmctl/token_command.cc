#include "token_command.h"

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crm/auth/jwt.h"
#include "crm/auth/principal.h"
#include "grpc_client.h"

#ifndef CRM_DEV_SECRET_FILE
#error "CRM_DEV_SECRET_FILE must name libs/auth/dev/dev_hs256.secret (set in CMakeLists.txt)"
#endif

namespace crm::crmctl {
namespace {

struct TokenOptions {
  std::string sub;
  std::vector<std::string> roles;
  std::string region;
  std::string ttl = "8h";
  std::string secret_file;
  std::string private_key_file;
  std::string issuer;
  std::string audience;
  std::string kid;
};

// --secret_file, else --private_key_file, else $CRM_JWT_SECRET_FILE, else the
// repository's dev secret. (Not CLI11's envname: an environment secret must
// not clash with an explicit --private_key_file.)
std::string SecretFile(const TokenOptions& o) {
  if (!o.secret_file.empty() || !o.private_key_file.empty()) return o.secret_file;
  if (const char* env = std::getenv("CRM_JWT_SECRET_FILE"); env != nullptr && *env != '\0') {
    return env;
  }
  return CRM_DEV_SECRET_FILE;
}

int Mint(const TokenOptions& o) {
  absl::Duration ttl;
  if (!absl::ParseDuration(o.ttl, &ttl) || ttl <= absl::ZeroDuration()) {
    std::cerr << "error: --ttl: not a positive duration such as 8h, 30m: " << o.ttl << "\n";
    return kExitUsage;
  }
  for (const std::string& role : o.roles) {
    if (!auth::ParseRole(role).has_value()) {
      std::vector<std::string> known;
      for (auth::Role r : auth::kAllRoles) known.emplace_back(auth::RoleName(r));
      std::cerr << "warning: unknown role '" << role
                << "' (services ignore it; known: " << absl::StrJoin(known, ", ") << ")\n";
    }
  }
  absl::StatusOr<auth::SignerConfig> config =
      auth::LoadSignerConfig(SecretFile(o), o.private_key_file);
  if (!config.ok()) return ReportError(config.status(), std::cerr);
  config->kid = o.kid;
  absl::StatusOr<std::unique_ptr<auth::TokenSigner>> signer = auth::TokenSigner::Create(*config);
  if (!signer.ok()) return ReportError(signer.status(), std::cerr);

  const absl::Time now = absl::Now();
  absl::StatusOr<std::string> token = (*signer)->Sign({.sub = o.sub,
                                                       .roles = o.roles,
                                                       .region = o.region,
                                                       .issued_at = now,
                                                       .expires_at = now + ttl,
                                                       .issuer = o.issuer,
                                                       .audience = o.audience});
  if (!token.ok()) return ReportError(token.status(), std::cerr);
  std::cout << *token << std::endl;
  return kExitOk;
}

}  // namespace

void AddTokenCommand(CLI::App& app) {
  auto o = std::make_shared<TokenOptions>();
  CLI::App* cmd = app.add_subcommand(
      "token",
      "Mint a JWT for local use (prints the token alone). Default key: $CRM_JWT_SECRET_FILE, "
      "else the repository's dev HS256 secret");
  cmd->add_option("--sub", o->sub, "Subject (user id), e.g. alice")->required();
  cmd->add_option("--roles", o->roles,
                  "Roles, comma-separated: sales_rep, service_agent, regional_manager, executive, "
                  "admin, service")
      ->delimiter(',');
  cmd->add_option("--region", o->region, "Region claim, e.g. north");
  cmd->add_option("--ttl", o->ttl, "Lifetime, e.g. 8h, 30m")->capture_default_str();
  CLI::Option* secret =
      cmd->add_option("--secret_file", o->secret_file, "HS256 secret file (at least 32 bytes)");
  CLI::Option* key = cmd->add_option("--private_key_file", o->private_key_file,
                                     "PEM private key: RSA (RS256) or EC P-256 (ES256)");
  secret->excludes(key);
  cmd->add_option("--issuer", o->issuer, "`iss` claim, when the service requires one");
  cmd->add_option("--audience", o->audience, "`aud` claim, when the service requires one");
  cmd->add_option("--kid", o->kid,
                  "`kid` header: the key's id in the JWKS of a service started with "
                  "--jwt_jwks_file");
  cmd->callback([o] {
    if (int rc = Mint(*o); rc != kExitOk) throw CLI::RuntimeError(rc);
  });
}

}  // namespace crm::crmctl
