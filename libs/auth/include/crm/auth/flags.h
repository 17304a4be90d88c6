// The bearer-token flags every service binary takes, and the verifier built from
// them, so that all services read tokens the same way.
//
//   crm::auth::AuthFlags auth_flags;
//   ParseServiceFlags(argc, argv, "crm-x", [&](CLI::App& app) { AddAuthFlags(app, &auth_flags); });
//   ASSIGN_OR_RETURN(std::unique_ptr<TokenVerifier> verifier, MakeVerifier(auth_flags));
#pragma once

#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "crm/auth/jwt.h"

namespace crm::auth {

struct AuthFlags {
  std::string jwt_secret_file;      // HS256 shared secret (development)
  std::string jwt_public_key_file;  // RS256/ES256 public key (production)
  std::string jwt_issuer;           // required `iss`, if set
  std::string jwt_audience;         // required `aud`, if set
};

// --jwt_secret_file, --jwt_public_key_file, --jwt_issuer, --jwt_audience (each with
// its CRM_* environment fallback).
void AddAuthFlags(CLI::App& app, AuthFlags* flags);

// A verifier for the configured key, checking expiry against real time.
// Errors as LoadVerifierConfig and TokenVerifier::Create.
absl::StatusOr<std::unique_ptr<TokenVerifier>> MakeVerifier(const AuthFlags& flags);

}  // namespace crm::auth
