#include "crm/auth/jwt.h"

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base64url.h"
#include "common/testing/fake_clock.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jws.h"
#include "nlohmann/json.hpp"
#include "test_keys.h"

namespace crm::auth {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::HsToken;
using ::testing::IsEmpty;
using testing::kSecret;
using ::testing::Not;

constexpr int64_t kNow = 1700000000;
const absl::Time kNowTime = absl::FromUnixSeconds(kNow);

// The three segments of a compact token.
std::vector<std::string> Split(const std::string& token) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = token.find('.', start);
    parts.push_back(token.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) absl::StrAppend(&out, i == 0 ? "" : ".", parts[i]);
  return out;
}

json BasicPayload() {
  return {{"sub", "u-1"},
          {"roles", {"sales_rep"}},
          {"region", "east"},
          {"iat", kNow},
          {"exp", kNow + 3600}};
}

json HsHeader() { return {{"alg", "HS256"}, {"typ", "JWT"}}; }

Claims BasicClaims() {
  return {.sub = "u-1",
          .roles = {"sales_rep"},
          .region = "east",
          .issued_at = kNowTime,
          .expires_at = kNowTime + absl::Hours(1)};
}

// Checks a rejection: UNAUTHENTICATED, a message containing `reason`, and no
// part of the token echoed back.
void ExpectRejected(const TokenVerifier& verifier, const std::string& token,
                    const std::string& reason) {
  SCOPED_TRACE("expecting \"" + reason + "\"");
  absl::StatusOr<Principal> result = verifier.Verify(token);
  ASSERT_FALSE(result.ok()) << "accepted";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated) << result.status();
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(reason));
  for (const std::string& part : Split(token)) {
    if (part.size() >= 8) {
      EXPECT_THAT(std::string(result.status().message()), Not(HasSubstr(part)));
    }
  }
}

class AuthJwtTest : public ::testing::Test {
 protected:
  VerifierConfig HsConfig() { return {.hs256_secret = std::string(kSecret), .clock = &clock_}; }

  std::unique_ptr<TokenVerifier> MakeVerifier(const VerifierConfig& config) {
    absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier = TokenVerifier::Create(config);
    EXPECT_TRUE(verifier.ok()) << verifier.status();
    return verifier.ok() ? *std::move(verifier) : nullptr;
  }

  std::unique_ptr<TokenSigner> MakeSigner(const SignerConfig& config) {
    absl::StatusOr<std::unique_ptr<TokenSigner>> signer = TokenSigner::Create(config);
    EXPECT_TRUE(signer.ok()) << signer.status();
    return signer.ok() ? *std::move(signer) : nullptr;
  }

  std::string MustSign(const TokenSigner& signer, const Claims& claims) {
    absl::StatusOr<std::string> token = signer.Sign(claims);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }

  crm::testing::FakeClock clock_{kNowTime};
};

// ------------------------------------------------------------ every algorithm

struct AlgSetup {
  SignerConfig signer;
  VerifierConfig verifier;
  VerifierConfig other_key;  // Same algorithm, another key.
  size_t signature_bytes;
};

AlgSetup SetupFor(const std::string& alg) {
  if (alg == "HS256") {
    return {{.hs256_secret = std::string(kSecret)},
            {.hs256_secret = std::string(kSecret)},
            {.hs256_secret = std::string(kSecret) + "-other"},
            32};
  }
  if (alg == "RS256") {
    return {{.private_key_pem = testing::Rsa2048().private_pem},
            {.public_key_pem = testing::Rsa2048().public_pem},
            {.public_key_pem = testing::Rsa2048Other().public_pem},
            256};
  }
  return {{.private_key_pem = testing::P256().private_pem},
          {.public_key_pem = testing::P256().public_pem},
          {.public_key_pem = testing::P256Other().public_pem},
          64};  // Raw R||S, not DER.
}

class AuthJwtAlgTest : public AuthJwtTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    setup_ = SetupFor(GetParam());
    setup_.verifier.clock = &clock_;
    setup_.other_key.clock = &clock_;
    signer_ = MakeSigner(setup_.signer);
    verifier_ = MakeVerifier(setup_.verifier);
    ASSERT_NE(signer_, nullptr);
    ASSERT_NE(verifier_, nullptr);
  }

  AlgSetup setup_;
  std::unique_ptr<TokenSigner> signer_;
  std::unique_ptr<TokenVerifier> verifier_;
};

INSTANTIATE_TEST_SUITE_P(Algorithms, AuthJwtAlgTest, ::testing::Values("HS256", "RS256", "ES256"),
                         [](const auto& info) { return info.param; });

TEST_P(AuthJwtAlgTest, SignVerifyRoundTrip) {
  EXPECT_EQ(signer_->algorithm(), GetParam());
  EXPECT_EQ(verifier_->algorithm(), GetParam());
  Claims claims = BasicClaims();
  claims.roles = {"regional_manager", "executive"};
  claims.issuer = "https://id.example.com";
  claims.audience = "crm";
  claims.not_before = kNowTime - absl::Minutes(1);
  std::string token = MustSign(*signer_, claims);

  std::vector<std::string> parts = Split(token);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(json::parse(*internal::Base64UrlDecode(parts[0])),
            json({{"alg", GetParam()}, {"typ", "JWT"}}));
  EXPECT_EQ(internal::Base64UrlDecode(parts[2])->size(), setup_.signature_bytes);

  absl::StatusOr<Principal> principal = verifier_->Verify(token);
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->subject, "u-1");
  EXPECT_THAT(principal->roles, ElementsAre(Role::kRegionalManager, Role::kExecutive));
  EXPECT_EQ(principal->region, "east");

  absl::StatusOr<Claims> back = verifier_->VerifyClaims(token);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->sub, claims.sub);
  EXPECT_EQ(back->roles, claims.roles);
  EXPECT_EQ(back->region, claims.region);
  EXPECT_EQ(back->issuer, claims.issuer);
  EXPECT_EQ(back->audience, claims.audience);
  EXPECT_EQ(back->issued_at, claims.issued_at);
  EXPECT_EQ(back->expires_at, claims.expires_at);
  EXPECT_EQ(back->not_before, claims.not_before);
}

TEST_P(AuthJwtAlgTest, TamperedPayloadIsRejected) {
  std::vector<std::string> parts = Split(MustSign(*signer_, BasicClaims()));
  json payload = json::parse(*internal::Base64UrlDecode(parts[1]));
  payload["roles"] = {"admin"};
  parts[1] = internal::Base64UrlEncode(payload.dump());
  ExpectRejected(*verifier_, Join(parts), "token signature invalid");
}

TEST_P(AuthJwtAlgTest, TamperedHeaderIsRejected) {
  std::vector<std::string> parts = Split(MustSign(*signer_, BasicClaims()));
  parts[0] = internal::Base64UrlEncode(
      json({{"alg", GetParam()}, {"typ", "JWT"}, {"kid", "attacker"}}).dump());
  ExpectRejected(*verifier_, Join(parts), "token signature invalid");
}

TEST_P(AuthJwtAlgTest, TamperedSignatureIsRejected) {
  std::vector<std::string> parts = Split(MustSign(*signer_, BasicClaims()));
  std::string signature = *internal::Base64UrlDecode(parts[2]);
  for (size_t index : {size_t{0}, signature.size() / 2, signature.size() - 1}) {
    std::string flipped = signature;
    flipped[index] ^= 0x01;
    parts[2] = internal::Base64UrlEncode(flipped);
    ExpectRejected(*verifier_, Join(parts), "token signature invalid");
  }
  parts[2] = internal::Base64UrlEncode(signature.substr(0, signature.size() - 1));  // Truncated.
  ExpectRejected(*verifier_, Join(parts), "token signature invalid");
  parts[2] = internal::Base64UrlEncode(signature + "x");  // Extended.
  ExpectRejected(*verifier_, Join(parts), "token signature invalid");
}

TEST_P(AuthJwtAlgTest, WrongKeyIsRejected) {
  std::unique_ptr<TokenVerifier> other = MakeVerifier(setup_.other_key);
  ASSERT_NE(other, nullptr);
  ExpectRejected(*other, MustSign(*signer_, BasicClaims()), "token signature invalid");
}

TEST_P(AuthJwtAlgTest, OtherAlgorithmsAreRejected) {
  for (std::string alg : {"HS256", "RS256", "ES256"}) {
    if (alg == GetParam()) continue;
    AlgSetup other = SetupFor(alg);
    std::unique_ptr<TokenSigner> signer = MakeSigner(other.signer);
    ASSERT_NE(signer, nullptr);
    ExpectRejected(*verifier_, MustSign(*signer, BasicClaims()), "token algorithm not accepted");
  }
}

TEST_P(AuthJwtAlgTest, ConcurrentVerification) {
  std::string token = MustSign(*signer_, BasicClaims());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (!verifier_->Verify(token).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

// ------------------------------------------------------------ algorithm attacks

TEST_F(AuthJwtTest, AlgNoneIsRejected) {
  std::unique_ptr<TokenVerifier> hs = MakeVerifier(HsConfig());
  std::unique_ptr<TokenVerifier> rs =
      MakeVerifier({.public_key_pem = testing::Rsa2048().public_pem, .clock = &clock_});
  for (const char* none : {"none", "None", "NONE"}) {
    std::string unsigned_token =
        absl::StrCat(internal::Base64UrlEncode(json({{"alg", none}, {"typ", "JWT"}}).dump()), ".",
                     internal::Base64UrlEncode(BasicPayload().dump()), ".");
    for (const TokenVerifier* verifier : {hs.get(), rs.get()}) {
      ExpectRejected(*verifier, unsigned_token, "malformed token");
      // Even with something in the signature slot.
      ExpectRejected(*verifier, unsigned_token + "AAAA", "token algorithm not accepted");
    }
  }
}

TEST_F(AuthJwtTest, RsaPublicKeyUsedAsHmacSecretIsRejected) {
  // The classic confusion attack: the RS256 public key is public, so an
  // attacker can HMAC with it and hope the verifier treats it as a secret.
  const std::string& public_pem = testing::Rsa2048().public_pem;
  std::unique_ptr<TokenVerifier> verifier =
      MakeVerifier({.public_key_pem = public_pem, .clock = &clock_});
  std::unique_ptr<TokenSigner> attacker = MakeSigner({.hs256_secret = public_pem});
  ExpectRejected(*verifier, MustSign(*attacker, BasicClaims()), "token algorithm not accepted");
  // Lying about the algorithm does not help either.
  ExpectRejected(*verifier, HsToken(json({{"alg", "RS256"}}), BasicPayload(), public_pem),
                 "token signature invalid");
}

TEST_F(AuthJwtTest, CriticalHeaderIsRejected) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(HsConfig());
  json header = HsHeader();
  header["crit"] = {"exp"};
  ExpectRejected(*verifier, HsToken(header, BasicPayload()), "critical");
}

// ------------------------------------------------------------ times

TEST_F(AuthJwtTest, ExpiredTokenIsRejected) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(HsConfig());
  json payload = BasicPayload();
  payload["exp"] = kNow - 31;
  ExpectRejected(*verifier, HsToken(HsHeader(), payload), "token expired");
  payload["exp"] = kNow - 29;  // Within the 30 s leeway.
  EXPECT_TRUE(verifier->Verify(HsToken(HsHeader(), payload)).ok());
}

TEST_F(AuthJwtTest, ExpLeewayBoundary) {
  const absl::Duration kLeeway = absl::Seconds(30);
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(HsConfig());
  std::string token = HsToken(HsHeader(), BasicPayload());  // exp = kNow + 3600.
  const absl::Time exp = absl::FromUnixSeconds(kNow + 3600);
  clock_.Set(exp + kLeeway - absl::Nanoseconds(1));
  EXPECT_TRUE(verifier->Verify(token).ok());
  clock_.Set(exp + kLeeway);
  ExpectRejected(*verifier, token, "token expired");

  VerifierConfig strict = HsConfig();
  strict.leeway = absl::ZeroDuration();
  std::unique_ptr<TokenVerifier> strict_verifier = MakeVerifier(strict);
  clock_.Set(exp - absl::Nanoseconds(1));
  EXPECT_TRUE(strict_verifier->Verify(token).ok());
  clock_.Set(exp);
  ExpectRejected(*strict_verifier, token, "token expired");
}

// Verify remembers tokens that verified; a remembered token still meets the
// clock on every call, and a token differing in any byte is verified afresh.
TEST_F(AuthJwtTest, RememberedTokenIsStillCheckedAgainstTheClock) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(HsConfig());
  json payload = BasicPayload();
  payload["nbf"] = kNow;
  const std::string token = HsToken(HsHeader(), payload);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Principal> p = verifier->Verify(token);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->subject, "u-1");
    EXPECT_EQ(p->region, "east");
  }
  clock_.Set(absl::FromUnixSeconds(kNow - 31));
  ExpectRejected(*verifier, token, "token not yet valid");
  clock_.Set(absl::FromUnixSeconds(kNow + 3600 + 30));
  ExpectRejected(*verifier, token, "token expired");
  clock_.Set(kNowTime);
  EXPECT_TRUE(verifier->Verify(token).ok());

  std::string tampered = token;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  ExpectRejected(*verifier, tampered, "token signature invalid");
}

// More distinct tokens than the cache holds: each still verifies, and the
// first ones again after the cache started over.
TEST_F(AuthJwtTest, ManyDistinctTokensAllVerify) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(HsConfig());
  std::vector<std::string> tokens;
  for (int i = 0; i < 5000; ++i) {
    json payload = BasicPayload();
    payload["sub"] = "u-" + std::to_string(i);
    tokens.push_back(HsToken(HsHeader(), payload));
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 5000; ++i) {
      absl::StatusOr<Principal> p = verifier->Verify(tokens[i]);
      ASSERT_TRUE(p.ok()) << p.status();
      EXPECT_EQ(p->subject, "u-" + std::to_string(i));
    }
  }
}

TEST_F(AuthJwtTest, NotYetValidTokenIsRejected) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(HsConfig());
  json payload = BasicPayload();
  payload["nbf"] = kNow + 600;
  std::string token = HsToken(HsHeader(), payload);
  ExpectRejected(*verifier, token, "token not yet valid");
  // Boundary: valid from nbf - leeway on.
  clock_.Set(absl::FromUnixSeconds(kNow + 600) - absl::Seconds(30) - absl::Nanoseconds(1));
  ExpectRejected(*verifier, token, "token not yet valid");
  clock_.Set(absl::FromUnixSeconds(kNow + 600) - absl::Seconds(30));
  EXPECT_TRUE(verifier->Verify(token).ok());
}

TEST_F(AuthJwtTest, TokenIssuedInTheFutureIsRejected) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(HsConfig());
  json payload = BasicPayload();
  payload["iat"] = kNow + 31;
  ExpectRejected(*verifier, HsToken(HsHeader(), payload), "token issued in the future");
  payload["iat"] = kNow + 30;
  EXPECT_TRUE(verifier->Verify(HsToken(HsHeader(), payload)).ok());
  payload.erase("iat");  // Optional.
  EXPECT_TRUE(verifier->Verify(HsToken(HsHeader(), payload)).ok());
}

TEST_F(AuthJwtTest, FractionalNumericDatesAreAccepted) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(HsConfig());
  json payload = BasicPayload();
  payload["exp"] = static_cast<double>(kNow) + 100.25;
  absl::StatusOr<Claims> claims = verifier->VerifyClaims(HsToken(HsHeader(), payload));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->expires_at, kNowTime + absl::Milliseconds(100250));
}

TEST_F(AuthJwtTest, NullClockMeansSystemClock) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier({.hs256_secret = std::string(kSecret)});
  std::unique_ptr<TokenSigner> signer = MakeSigner({.hs256_secret = std::string(kSecret)});
  absl::Time now = absl::Now();
  Claims claims = BasicClaims();
  claims.issued_at = now;
  claims.expires_at = now + absl::Minutes(5);
  EXPECT_TRUE(verifier->Verify(MustSign(*signer, claims)).ok());
  ExpectRejected(*verifier, MustSign(*signer, BasicClaims()), "token expired");  // 2023.
}

// ------------------------------------------------------------ issuer, audience

TEST_F(AuthJwtTest, IssuerIsCheckedWhenConfigured) {
  VerifierConfig config = HsConfig();
  config.issuer = "https://id.example.com";
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(config);
  json payload = BasicPayload();
  ExpectRejected(*verifier, HsToken(HsHeader(), payload), "token issuer not accepted");  // None.
  payload["iss"] = "https://evil.example.com";
  ExpectRejected(*verifier, HsToken(HsHeader(), payload), "token issuer not accepted");
  payload["iss"] = json::array({"https://id.example.com"});
  ExpectRejected(*verifier, HsToken(HsHeader(), payload), "token issuer not accepted");
  payload["iss"] = "https://id.example.com";
  EXPECT_TRUE(verifier->Verify(HsToken(HsHeader(), payload)).ok());
  // Not configured: anything goes.
  payload["iss"] = "https://evil.example.com";
  EXPECT_TRUE(MakeVerifier(HsConfig())->Verify(HsToken(HsHeader(), payload)).ok());
}

TEST_F(AuthJwtTest, AudienceIsCheckedWhenConfigured) {
  VerifierConfig config = HsConfig();
  config.audience = "crm";
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(config);
  json payload = BasicPayload();
  ExpectRejected(*verifier, HsToken(HsHeader(), payload), "token audience not accepted");
  payload["aud"] = "billing";
  ExpectRejected(*verifier, HsToken(HsHeader(), payload), "token audience not accepted");
  payload["aud"] = json::array({"billing", "reports"});
  ExpectRejected(*verifier, HsToken(HsHeader(), payload), "token audience not accepted");
  payload["aud"] = 7;
  ExpectRejected(*verifier, HsToken(HsHeader(), payload), "token audience not accepted");
  payload["aud"] = "crm";
  EXPECT_TRUE(verifier->Verify(HsToken(HsHeader(), payload)).ok());
  payload["aud"] = json::array({"billing", "crm"});
  EXPECT_TRUE(verifier->Verify(HsToken(HsHeader(), payload)).ok());
}

// ------------------------------------------------------------ malformed tokens

TEST_F(AuthJwtTest, MalformedTokensAreRejected) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(HsConfig());
  std::string good = HsToken(HsHeader(), BasicPayload());
  ASSERT_TRUE(verifier->Verify(good).ok());
  std::vector<std::string> parts = Split(good);
  const std::string h = parts[0], p = parts[1], s = parts[2];

  const std::pair<std::string, std::string> cases[] = {
      {"", "empty token"},
      {"abc", "expected three segments"},
      {h + "." + p, "expected three segments"},
      {good + "." + s, "expected three segments"},
      {good + ".a.b", "expected three segments"},  // JWE-shaped.
      {"..", "empty segment"},
      {h + ".." + s, "empty segment"},
      {"." + p + "." + s, "empty segment"},
      {" " + good, "header is not a JSON object"},
      {good + "\n", "signature is not base64url"},
      {"eyJ+" + good.substr(4), "header is not a JSON object"},  // '+' is not base64url.
      {h + "=." + p + "." + s, "header is not a JSON object"},   // Padding.
      {h + "." + p + "." + s + "==", "signature is not base64url"},
      {h + "." + p + "." + s.substr(0, s.size() - 1) + "*", "signature is not base64url"},
      {internal::Base64UrlEncode("not json") + "." + p + "." + s, "header is not a JSON object"},
      {internal::Base64UrlEncode("[\"HS256\"]") + "." + p + "." + s, "header is not a JSON object"},
      {internal::Base64UrlEncode("{\"typ\":\"JWT\"}") + "." + p + "." + s, "alg missing"},
      {internal::Base64UrlEncode("{\"alg\":256}") + "." + p + "." + s, "alg missing"},
      {std::string(20000, 'a') + "." + p + "." + s, "token too large"},
  };
  for (const auto& [token, reason] : cases) {
    SCOPED_TRACE(token.substr(0, 80));
    ExpectRejected(*verifier, token, reason);
  }
}

TEST_F(AuthJwtTest, NonCanonicalSignatureEncodingIsRejected) {
  // A 32-byte HMAC is 43 characters whose last one carries 2 unused bits; a
  // decoder that ignored them would accept four spellings of one signature.
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(HsConfig());
  std::vector<std::string> parts = Split(HsToken(HsHeader(), BasicPayload()));
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  char& last = parts[2].back();
  last = alphabet[alphabet.find(last) ^ 1];
  ExpectRejected(*verifier, Join(parts), "signature is not base64url");
}

TEST_F(AuthJwtTest, MalformedClaimsAreRejected) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(HsConfig());
  auto with = [](const char* name, json value) {
    json payload = BasicPayload();
    payload[name] = std::move(value);
    return payload;
  };
  auto without = [](const char* name) {
    json payload = BasicPayload();
    payload.erase(name);
    return payload;
  };
  const std::pair<json, std::string> cases[] = {
      {without("exp"), "exp missing"},
      {with("exp", "tomorrow"), "exp is not a NumericDate"},
      {with("exp", json(nullptr)), "exp is not a NumericDate"},
      {with("exp", true), "exp is not a NumericDate"},
      {with("exp", json::array({kNow + 3600})), "exp is not a NumericDate"},
      {with("exp", 1e300), "exp is not a NumericDate"},
      {with("exp", UINT64_MAX), "exp is not a NumericDate"},
      {with("nbf", "now"), "nbf is not a NumericDate"},
      {with("iat", json::object()), "iat is not a NumericDate"},
      {without("sub"), "sub missing"},
      {with("sub", ""), "sub missing"},
      {with("sub", 42), "sub missing"},
      {with("roles", "admin"), "roles is not an array"},
      {with("roles", json::array({"sales_rep", 1})), "roles is not an array of strings"},
      {with("region", json::array({"east"})), "region is not a string"},
  };
  for (const auto& [payload, reason] : cases) {
    SCOPED_TRACE(payload.dump());
    ExpectRejected(*verifier, HsToken(HsHeader(), payload), reason);
  }
  // Payloads that are not JSON objects, correctly signed.
  for (const char* text : {"not json", "[1,2]", "\"sub\"", "{\"sub\":\"u-1\",", ""}) {
    SCOPED_TRACE(text);
    std::string token = testing::HsTokenRaw(HsHeader().dump(), text);
    if (std::string(text).empty()) {
      ExpectRejected(*verifier, token, "empty segment");
    } else {
      ExpectRejected(*verifier, token, "payload is not a JSON object");
    }
  }
}

// ------------------------------------------------------------ roles

TEST_F(AuthJwtTest, UnknownRolesAreIgnored) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(HsConfig());
  json payload = BasicPayload();
  payload["roles"] = {"sales_rep", "wizard", "admin", "SALES_REP", "sales_rep"};
  std::string token = HsToken(HsHeader(), payload);
  absl::StatusOr<Principal> principal = verifier->Verify(token);
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_THAT(principal->roles, ElementsAre(Role::kSalesRep, Role::kAdmin));
  absl::StatusOr<Claims> claims = verifier->VerifyClaims(token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_THAT(claims->roles, ElementsAre("sales_rep", "wizard", "admin", "SALES_REP", "sales_rep"));
}

TEST_F(AuthJwtTest, MissingRolesAndRegionMeanNone) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(HsConfig());
  json payload = BasicPayload();
  payload.erase("roles");
  payload.erase("region");
  absl::StatusOr<Principal> principal = verifier->Verify(HsToken(HsHeader(), payload));
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->subject, "u-1");
  EXPECT_THAT(principal->roles, IsEmpty());
  EXPECT_EQ(principal->region, "");
}

// ------------------------------------------------------------ configuration

TEST_F(AuthJwtTest, CreateRejectsBadConfigs) {
  const std::string short_secret(31, 'x');
  const std::pair<std::string, VerifierConfig> cases[] = {
      {"no key", {}},
      {"both keys",
       {.hs256_secret = std::string(kSecret), .public_key_pem = testing::P256().public_pem}},
      {"short secret", {.hs256_secret = short_secret}},
      {"garbage pem",
       {.public_key_pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}},
      {"private key as public", {.public_key_pem = testing::P256().private_pem}},
      {"RSA 1024", {.public_key_pem = testing::GenerateRsa(1024).public_pem}},
      {"P-384", {.public_key_pem = testing::GenerateEc("P-384").public_pem}},
      {"Ed25519", {.public_key_pem = testing::GenerateEd25519().public_pem}},
      {"negative leeway", {.hs256_secret = std::string(kSecret), .leeway = absl::Seconds(-1)}},
  };
  for (const auto& [name, config] : cases) {
    SCOPED_TRACE(name);
    absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier = TokenVerifier::Create(config);
    EXPECT_EQ(verifier.status().code(), absl::StatusCode::kInvalidArgument) << verifier.status();
  }
  EXPECT_TRUE(TokenVerifier::Create({.hs256_secret = std::string(32, 'x')}).ok());
}

TEST_F(AuthJwtTest, SignerRejectsBadConfigsAndClaims) {
  EXPECT_EQ(TokenSigner::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TokenSigner::Create({.private_key_pem = testing::P256().public_pem}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TokenSigner::Create({.hs256_secret = "short"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TokenSigner::Create({.private_key_pem = testing::GenerateRsa(1024).private_pem})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);

  std::unique_ptr<TokenSigner> signer = MakeSigner({.hs256_secret = std::string(kSecret)});
  Claims no_sub = BasicClaims();
  no_sub.sub = "";
  EXPECT_EQ(signer->Sign(no_sub).status().code(), absl::StatusCode::kInvalidArgument);
  Claims no_exp = BasicClaims();
  no_exp.expires_at = absl::InfiniteFuture();
  EXPECT_EQ(signer->Sign(no_exp).status().code(), absl::StatusCode::kInvalidArgument);
  Claims bad_utf8 = BasicClaims();
  bad_utf8.region = "\xff\xfe";
  EXPECT_EQ(signer->Sign(bad_utf8).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AuthJwtTest, SignerLeavesOutUnsetClaims) {
  std::unique_ptr<TokenSigner> signer = MakeSigner({.hs256_secret = std::string(kSecret)});
  std::string token =
      MustSign(*signer, {.sub = "svc-reports", .expires_at = kNowTime + absl::Minutes(5)});
  json payload = json::parse(*internal::Base64UrlDecode(Split(token)[1]));
  EXPECT_EQ(payload, json({{"sub", "svc-reports"}, {"exp", kNow + 300}}));
}

TEST_F(AuthJwtTest, LoadsTheDevSecret) {
  absl::StatusOr<VerifierConfig> config = LoadVerifierConfig(CRM_AUTH_DEV_SECRET_FILE, "");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->hs256_secret.size(), 64u);  // 48 random bytes, base64; newline trimmed.
  EXPECT_EQ(config->public_key_pem, "");
  config->clock = &clock_;
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(*config);
  absl::StatusOr<SignerConfig> signer_config = LoadSignerConfig(CRM_AUTH_DEV_SECRET_FILE, "");
  ASSERT_TRUE(signer_config.ok()) << signer_config.status();
  std::unique_ptr<TokenSigner> signer = MakeSigner(*signer_config);
  EXPECT_TRUE(verifier->Verify(MustSign(*signer, BasicClaims())).ok());
}

TEST_F(AuthJwtTest, LoadsKeyFiles) {
  crm::testing::TempDir dir;
  std::string public_file = dir.path() + "/public.pem";
  std::string private_file = dir.path() + "/private.pem";
  std::string empty_file = dir.path() + "/empty";
  std::ofstream(public_file) << testing::P256().public_pem;
  std::ofstream(private_file) << testing::P256().private_pem;
  std::ofstream(empty_file) << "\n";

  absl::StatusOr<VerifierConfig> config = LoadVerifierConfig("", public_file);
  ASSERT_TRUE(config.ok()) << config.status();
  config->clock = &clock_;
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier(*config);
  EXPECT_EQ(verifier->algorithm(), "ES256");
  absl::StatusOr<SignerConfig> signer_config = LoadSignerConfig("", private_file);
  ASSERT_TRUE(signer_config.ok()) << signer_config.status();
  std::unique_ptr<TokenSigner> signer = MakeSigner(*signer_config);
  EXPECT_TRUE(verifier->Verify(MustSign(*signer, BasicClaims())).ok());

  EXPECT_EQ(LoadVerifierConfig("", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadVerifierConfig(CRM_AUTH_DEV_SECRET_FILE, public_file).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadVerifierConfig(dir.path() + "/missing", "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(LoadVerifierConfig(empty_file, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadVerifierConfig(dir.path(), "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadSignerConfig("", dir.path() + "/missing").status().code(),
            absl::StatusCode::kNotFound);
}

// ------------------------------------------------------------ known answers

// RFC 7515 Appendix A: the payload {"iss":"joe","exp":1300819380,...} has no
// `sub`, so a correct verifier gets past the signature and stops at the claims.
constexpr char kRfcPayload[] =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q";
const absl::Time kRfcNow = absl::FromUnixSeconds(1300819000);

TEST_F(AuthJwtTest, Rfc7515HmacExample) {
  // A.1: HS256 with the JWK "k" below.
  std::string secret = *internal::Base64UrlDecode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  std::string input = absl::StrCat("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.", kRfcPayload);
  std::string signature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

  auto key = internal::SigningKey::FromSecret(secret);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(internal::Base64UrlEncode(*(*key)->Sign(input)), signature);

  clock_.Set(kRfcNow);
  std::unique_ptr<TokenVerifier> verifier =
      MakeVerifier({.hs256_secret = secret, .clock = &clock_});
  ExpectRejected(*verifier, input + "." + signature, "sub missing");
  ExpectRejected(*verifier, input + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXg",
                 "token signature invalid");
}

TEST_F(AuthJwtTest, Rfc7515EcdsaExample) {
  // A.3: ES256, public key (x, y) of the JWK as a PEM. Checks the R||S <-> DER
  // conversion against the specification rather than against ourselves.
  const std::string pem =
      "-----BEGIN PUBLIC KEY-----\n"
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV7\n"
      "6e8Tus9uPHvRVEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==\n"
      "-----END PUBLIC KEY-----\n";
  std::string input = absl::StrCat("eyJhbGciOiJFUzI1NiJ9.", kRfcPayload);
  std::string signature =
      "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

  auto key = internal::SigningKey::FromPublicKeyPem(pem);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE((*key)->Verify(input, *internal::Base64UrlDecode(signature)));

  clock_.Set(kRfcNow);
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier({.public_key_pem = pem, .clock = &clock_});
  EXPECT_EQ(verifier->algorithm(), "ES256");
  ExpectRejected(*verifier, input + "." + signature, "sub missing");
  std::string tampered = signature;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  ExpectRejected(*verifier, input + "." + tampered, "token signature invalid");
}

}  // namespace
}  // namespace crm::auth
