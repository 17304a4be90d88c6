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
  std::string jwt_jwks_file;        // JWKS of RS256/ES256 keys by kid (production, rotation)
  std::string jwt_issuer;           // required `iss` (mandatory with a public key / JWKS)
  std::string jwt_audience;         // required `aud` (mandatory with a public key / JWKS)
};

// --jwt_secret_file, --jwt_public_key_file, --jwt_jwks_file, --jwt_issuer,
// --jwt_audience (each with its CRM_* environment fallback).
void AddAuthFlags(CLI::App& app, AuthFlags* flags);

// A verifier for the configured key, checking expiry against real time; a JWKS
// file is re-read when it changes (at most once per second).
// INVALID_ARGUMENT naming the flags when not exactly one of the three key flags
// is set, or when --jwt_issuer or --jwt_audience is missing with
// --jwt_public_key_file / --jwt_jwks_file (only the HS256 dev secret may go
// without them); otherwise the errors of LoadVerifierConfig and
// TokenVerifier::Create.
absl::StatusOr<std::unique_ptr<TokenVerifier>> MakeVerifier(const AuthFlags& flags);

}  // namespace crm::auth
