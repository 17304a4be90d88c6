// MakeVerifier: the token flags every service binary takes.
#include "crm/auth/flags.h"

#include <fstream>
#include <string>

#include "absl/time/clock.h"
#include "auth/testing/jwk.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::auth {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class AuthFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(public_file_) << key_.public_pem;
    std::ofstream(jwks_file_) << testing::Jwks({testing::PublicJwk(key_.public_pem, "k1")}).dump();
  }

  std::string Message(const AuthFlags& flags) {
    absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier = MakeVerifier(flags);
    EXPECT_FALSE(verifier.ok());
    EXPECT_EQ(verifier.status().code(), absl::StatusCode::kInvalidArgument) << verifier.status();
    return std::string(verifier.status().message());
  }

  std::string Token(const std::string& kid, const std::string& iss, const std::string& aud) {
    return testing::SignWithKid(key_, kid,
                                {.sub = "u-1",
                                 .issued_at = absl::Now(),
                                 .expires_at = absl::Now() + absl::Minutes(5),
                                 .issuer = iss,
                                 .audience = aud});
  }

  crm::testing::TempDir dir_;
  const std::string public_file_ = dir_.path() + "/public.pem";
  const std::string jwks_file_ = dir_.path() + "/jwks.json";
  const testing::JwkTestKey key_ = testing::NewP256Key();
};

TEST_F(AuthFlagsTest, PublicKeysRequireIssuerAndAudience) {
  for (const AuthFlags& keyed : {AuthFlags{.jwt_public_key_file = public_file_},
                                 AuthFlags{.jwt_jwks_file = jwks_file_}}) {
    EXPECT_THAT(Message(keyed), AllOf(HasSubstr("--jwt_issuer"), HasSubstr("--jwt_audience"),
                                      HasSubstr("required with --jwt_")));
    AuthFlags only_issuer = keyed;
    only_issuer.jwt_issuer = "https://id.example.com";
    EXPECT_THAT(Message(only_issuer),
                AllOf(HasSubstr("--jwt_audience"), Not(HasSubstr("--jwt_issuer"))));
    AuthFlags only_audience = keyed;
    only_audience.jwt_audience = "crm";
    EXPECT_THAT(Message(only_audience),
                AllOf(HasSubstr("--jwt_issuer"), Not(HasSubstr("--jwt_audience"))));
    AuthFlags both = only_issuer;
    both.jwt_audience = "crm";
    EXPECT_TRUE(MakeVerifier(both).ok());
  }
  EXPECT_THAT(Message({.jwt_jwks_file = jwks_file_}), HasSubstr("--jwt_jwks_file"));
  EXPECT_THAT(Message({.jwt_public_key_file = public_file_}), HasSubstr("--jwt_public_key_file"));
}

TEST_F(AuthFlagsTest, TheDevSecretMayGoWithoutIssuerAndAudience) {
  EXPECT_TRUE(MakeVerifier({.jwt_secret_file = CRM_AUTH_DEV_SECRET_FILE}).ok());
}

TEST_F(AuthFlagsTest, ExactlyOneKeyFlag) {
  EXPECT_THAT(Message({}), HasSubstr("exactly one of --jwt_secret_file"));
  EXPECT_THAT(Message({.jwt_public_key_file = public_file_,
                       .jwt_jwks_file = jwks_file_,
                       .jwt_issuer = "i",
                       .jwt_audience = "a"}),
              HasSubstr("exactly one of"));
  EXPECT_THAT(Message({.jwt_secret_file = CRM_AUTH_DEV_SECRET_FILE, .jwt_jwks_file = jwks_file_}),
              HasSubstr("exactly one of"));
}

TEST_F(AuthFlagsTest, AJwksFileThatDoesNotParseIsNamed) {
  std::ofstream(jwks_file_) << "{}";
  EXPECT_THAT(Message({.jwt_jwks_file = jwks_file_, .jwt_issuer = "i", .jwt_audience = "a"}),
              AllOf(HasSubstr("--jwt_jwks_file"), HasSubstr("\"keys\"")));
}

TEST_F(AuthFlagsTest, AnotherIssuerOrAudienceIsUnauthenticated) {
  absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier = MakeVerifier(
      {.jwt_jwks_file = jwks_file_, .jwt_issuer = "https://id.example.com", .jwt_audience = "crm"});
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_TRUE((*verifier)->Verify(Token("k1", "https://id.example.com", "crm")).ok());
  absl::StatusOr<Principal> other_aud =
      (*verifier)->Verify(Token("k1", "https://id.example.com", "billing"));
  EXPECT_EQ(other_aud.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(other_aud.status().message()), HasSubstr("audience not accepted"));
  absl::StatusOr<Principal> other_iss =
      (*verifier)->Verify(Token("k1", "https://evil.example.com", "crm"));
  EXPECT_EQ(other_iss.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(other_iss.status().message()), HasSubstr("issuer not accepted"));
  absl::StatusOr<Principal> none = (*verifier)->Verify(Token("k1", "", ""));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace crm::auth
