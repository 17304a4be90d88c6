// JWKS key sets: parsing (jwks.h), choosing the key by `kid`, and the file's
// reload on change (TokenVerifier with VerifierConfig::jwks_file).
#include "jwks.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "auth/testing/jwk.h"
#include "base64url.h"
#include "common/testing/fake_clock.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/jwt.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "test_keys.h"

namespace crm::auth {
namespace {

using json = nlohmann::json;
using testing::Jwks;
using testing::JwkTestKey;
using testing::PublicJwk;
using testing::SignWithKid;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

// Keys are slow to make: one of each per process.
const JwkTestKey& RsaA() {
  static const JwkTestKey* key = new JwkTestKey(testing::NewRsaKey());
  return *key;
}
const JwkTestKey& EcB() {
  static const JwkTestKey* key = new JwkTestKey(testing::NewP256Key());
  return *key;
}
const JwkTestKey& EcC() {
  static const JwkTestKey* key = new JwkTestKey(testing::NewP256Key());
  return *key;
}

Claims ClaimsAt(absl::Time now) {
  return {.sub = "u-1",
          .roles = {"sales_rep"},
          .region = "east",
          .issued_at = now,
          .expires_at = now + absl::Hours(1)};
}

std::vector<std::string> Kids(const internal::KeySet& set) {
  std::vector<std::string> kids;
  for (const auto& [kid, key] : set.keys) kids.push_back(kid);
  return kids;
}

// ------------------------------------------------------------ parsing

TEST(AuthJwksTest, ParsesRsaAndEcKeysByKid) {
  absl::StatusOr<internal::KeySet> set =
      internal::ParseJwks(Jwks({PublicJwk(RsaA().public_pem, "a"), PublicJwk(EcB().public_pem, "b")})
                              .dump());
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_THAT(Kids(*set), UnorderedElementsAre("a", "b"));
  EXPECT_EQ(internal::AlgorithmName(set->keys.at("a")->algorithm()), "RS256");
  EXPECT_EQ(internal::AlgorithmName(set->keys.at("b")->algorithm()), "ES256");
  EXPECT_TRUE(set->skipped.empty());
}

TEST(AuthJwksTest, OptionalAlgAndUseMayBeAbsent) {
  json jwk = PublicJwk(EcB().public_pem, "b");
  jwk.erase("alg");
  jwk.erase("use");
  absl::StatusOr<internal::KeySet> set = internal::ParseJwks(Jwks({jwk}).dump());
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_THAT(Kids(*set), UnorderedElementsAre("b"));
}

TEST(AuthJwksTest, SkipsKeysNotMeantForSigningWithOurAlgorithms) {
  json enc = PublicJwk(RsaA().public_pem, "enc");
  enc["use"] = "enc";
  json rs512 = PublicJwk(RsaA().public_pem, "rs512");
  rs512["alg"] = "RS512";
  json p384 = PublicJwk(EcB().public_pem, "p384");
  p384["crv"] = "P-384";
  json okp = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
              {"kid", "ed"}};
  json encrypt_only = PublicJwk(EcB().public_pem, "ops");
  encrypt_only.erase("use");
  encrypt_only["key_ops"] = {"encrypt"};
  absl::StatusOr<internal::KeySet> set = internal::ParseJwks(
      Jwks({enc, rs512, p384, okp, encrypt_only, PublicJwk(EcB().public_pem, "b")}).dump());
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_THAT(Kids(*set), UnorderedElementsAre("b"));
  EXPECT_EQ(set->skipped.size(), 5u);
}

TEST(AuthJwksTest, RejectsBadSets) {
  const json a = PublicJwk(RsaA().public_pem, "a");
  const json b = PublicJwk(EcB().public_pem, "b");
  json no_kid = b;
  no_kid.erase("kid");
  json dup = PublicJwk(EcC().public_pem, "b");
  json private_ec = b;
  private_ec["d"] = "AAAA";
  json bad_n = a;
  bad_n["n"] = "not base64url!";
  json short_x = b;
  short_x["x"] = internal::Base64UrlEncode(std::string(31, '\x01'));
  json off_curve = b;
  off_curve["y"] = internal::Base64UrlEncode(std::string(32, '\x01'));
  json no_e = a;
  no_e.erase("e");
  json enc_only = a;
  enc_only["use"] = "enc";
  const json weak = PublicJwk(testing::NewRsaKey(1024).public_pem, "weak");

  struct Case {
    std::string name;
    std::string text;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"not json", "{keys:", "not a JSON object"},
      {"array", "[]", "not a JSON object"},
      {"no keys", "{}", "no \"keys\" array"},
      {"keys not array", R"({"keys": {}})", "no \"keys\" array"},
      {"empty", R"({"keys": []})", "no usable key"},
      {"key not object", R"({"keys": [1]})", "not an object"},
      {"no kty", R"({"keys": [{"kid": "x"}]})", "\"kty\" missing"},
      {"no kid", Jwks({no_kid}).dump(), "\"kid\" missing"},
      {"duplicate kid", Jwks({b, dup}).dump(), "kid used twice"},
      {"private key", Jwks({private_ec}).dump(), "private key material"},
      {"bad n", Jwks({bad_n}).dump(), "\"n\" is not base64url"},
      {"no e", Jwks({no_e}).dump(), "\"e\" missing"},
      {"short x", Jwks({short_x}).dump(), "32 bytes"},
      {"point off the curve", Jwks({off_curve}).dump(), "not a valid P-256 public key"},
      {"RSA 1024", Jwks({weak}).dump(), "at least 2048 bits"},
      {"only skipped keys", Jwks({enc_only}).dump(), "no usable key"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<internal::KeySet> set = internal::ParseJwks(c.text);
    ASSERT_FALSE(set.ok());
    EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(set.status().message()), HasSubstr(c.reason));
  }
}

// ------------------------------------------------------------ the verifier

class AuthJwksVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override { Write(Jwks({PublicJwk(RsaA().public_pem, "a"), PublicJwk(EcB().public_pem, "b")})); }

  void Write(const json& jwks) { WriteText(jwks.dump(2)); }
  void WriteText(const std::string& text) {
    // Through a rename, as a rotation would, so a reader never sees half a file.
    std::string tmp = path_ + ".tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, path_);
  }

  std::unique_ptr<TokenVerifier> MakeVerifier() {
    absl::StatusOr<std::unique_ptr<TokenVerifier>> verifier =
        TokenVerifier::Create({.jwks_file = path_, .clock = &clock_});
    EXPECT_TRUE(verifier.ok()) << verifier.status();
    return verifier.ok() ? *std::move(verifier) : nullptr;
  }

  std::string Token(const JwkTestKey& key, const std::string& kid) {
    return SignWithKid(key, kid, ClaimsAt(clock_.Now()));
  }

  void ExpectRejected(const TokenVerifier& verifier, const std::string& token,
                      const std::string& reason) {
    SCOPED_TRACE("expecting \"" + reason + "\"");
    absl::StatusOr<Principal> who = verifier.Verify(token);
    ASSERT_FALSE(who.ok()) << "accepted";
    EXPECT_EQ(who.status().code(), absl::StatusCode::kUnauthenticated) << who.status();
    EXPECT_THAT(std::string(who.status().message()), HasSubstr(reason));
  }

  crm::testing::FakeClock clock_{kNow};
  crm::testing::TempDir dir_;
  std::string path_ = dir_.path() + "/jwks.json";
};

TEST_F(AuthJwksVerifierTest, TheKidChoosesTheKey) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier();
  ASSERT_NE(verifier, nullptr);
  EXPECT_EQ(verifier->algorithm(), "JWKS");
  absl::StatusOr<Principal> a = verifier->Verify(Token(RsaA(), "a"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->subject, "u-1");
  EXPECT_TRUE(verifier->Verify(Token(EcB(), "b")).ok());
  EXPECT_TRUE(verifier->VerifyClaims(Token(EcB(), "b")).ok());
}

TEST_F(AuthJwksVerifierTest, UnknownOrMissingKidIsUnauthenticated) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier();
  ExpectRejected(*verifier, Token(EcC(), "c"), "kid) not known");
  ExpectRejected(*verifier, Token(EcB(), ""), "kid missing");
  ExpectRejected(*verifier, testing::HsToken({{"alg", "ES256"}, {"kid", 7}}, {{"sub", "x"}}),
                 "kid missing");
}

TEST_F(AuthJwksVerifierTest, TheAlgorithmMustMatchTheKidsKey) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier();
  // An ES256 token naming the RSA key, and an RS256 one naming the EC key.
  ExpectRejected(*verifier, Token(EcB(), "a"), "token algorithm not accepted");
  ExpectRejected(*verifier, Token(RsaA(), "b"), "token algorithm not accepted");
  // HS256 with the public key as the secret (algorithm confusion) and alg none.
  ExpectRejected(*verifier,
                 testing::HsToken({{"alg", "HS256"}, {"kid", "a"}},
                                  {{"sub", "x"}, {"exp", absl::ToUnixSeconds(kNow) + 60}},
                                  RsaA().public_pem),
                 "token algorithm not accepted");
  ExpectRejected(*verifier,
                 absl::StrCat(internal::Base64UrlEncode(R"({"alg":"none","kid":"a"})"), ".",
                              internal::Base64UrlEncode(R"({"sub":"x"})"), ".AAAA"),
                 "token algorithm not accepted");
  // The right algorithm and kid, another key's signature.
  ExpectRejected(*verifier, Token(EcC(), "b"), "token signature invalid");
}

TEST_F(AuthJwksVerifierTest, ReloadsWhenTheFileChangesAndForgetsRemovedKeys) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier();
  const std::string token_a = Token(RsaA(), "a");
  const std::string token_c = Token(EcC(), "c");
  ASSERT_TRUE(verifier->Verify(token_a).ok());  // now in the verified-token cache
  ExpectRejected(*verifier, token_c, "not known");

  Write(Jwks({PublicJwk(EcC().public_pem, "c")}));
  // Checked at most once per second: not yet.
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_TRUE(verifier->Verify(token_a).ok());
  ExpectRejected(*verifier, token_c, "not known");

  clock_.Advance(absl::Milliseconds(500));
  EXPECT_TRUE(verifier->Verify(token_c).ok());
  // Cached before the reload, and its key is gone: refused.
  ExpectRejected(*verifier, token_a, "not known");
  ExpectRejected(*verifier, Token(EcB(), "b"), "not known");
}

TEST_F(AuthJwksVerifierTest, SeesARewriteOfTheSameSize) {
  // Same kid, same key type and size, another key: same length, maybe same mtime.
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier();
  Write(Jwks({PublicJwk(EcB().public_pem, "k")}));
  clock_.Advance(absl::Seconds(1));
  const std::string token_b = Token(EcB(), "k");
  ASSERT_TRUE(verifier->Verify(token_b).ok());
  std::ofstream(path_) << Jwks({PublicJwk(EcC().public_pem, "k")}).dump(2);  // in place
  clock_.Advance(absl::Seconds(1));
  ExpectRejected(*verifier, token_b, "token signature invalid");
  EXPECT_TRUE(verifier->Verify(Token(EcC(), "k")).ok());
}

TEST_F(AuthJwksVerifierTest, ABadNewFileKeepsTheOldKeys) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier();
  const std::string token_a = Token(RsaA(), "a");
  const std::string token_b = Token(EcB(), "b");
  ASSERT_TRUE(verifier->Verify(token_a).ok());
  json private_key = PublicJwk(EcC().public_pem, "c");
  private_key["d"] = "AAAA";
  for (const std::string& bad :
       {std::string("{\"keys\": ["), Jwks({}).dump(), Jwks({private_key}).dump()}) {
    SCOPED_TRACE(bad);
    WriteText(bad);
    clock_.Advance(absl::Seconds(1));
    EXPECT_TRUE(verifier->Verify(token_a).ok());
    EXPECT_TRUE(verifier->VerifyClaims(token_b).ok());
    ExpectRejected(*verifier, Token(EcC(), "c"), "not known");
  }
  // A missing file too.
  std::filesystem::remove(path_);
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(verifier->Verify(token_b).ok());
  // Then a good file takes over.
  Write(Jwks({PublicJwk(EcC().public_pem, "c")}));
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(verifier->Verify(Token(EcC(), "c")).ok());
  ExpectRejected(*verifier, token_a, "not known");
}

TEST_F(AuthJwksVerifierTest, CreateNeedsAReadableValidFile) {
  absl::StatusOr<std::unique_ptr<TokenVerifier>> missing =
      TokenVerifier::Create({.jwks_file = dir_.path() + "/missing.json", .clock = &clock_});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  WriteText("{}");
  absl::StatusOr<std::unique_ptr<TokenVerifier>> bad =
      TokenVerifier::Create({.jwks_file = path_, .clock = &clock_});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr(path_));
  Write(Jwks({PublicJwk(EcB().public_pem, "b")}));
  EXPECT_EQ(TokenVerifier::Create({.public_key_pem = EcB().public_pem, .jwks_file = path_})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AuthJwksVerifierTest, ConcurrentVerifiesDuringRotation) {
  std::unique_ptr<TokenVerifier> verifier = MakeVerifier();
  const std::string token_b = Token(EcB(), "b");
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        absl::StatusOr<Principal> who = verifier->Verify(token_b);
        // Either outcome may be seen during the rotation, but nothing else.
        if (!who.ok() && who.status().code() != absl::StatusCode::kUnauthenticated) ++wrong;
      }
    });
  }
  for (int round = 0; round < 20; ++round) {
    Write(round % 2 == 0 ? Jwks({PublicJwk(EcC().public_pem, "c")})
                         : Jwks({PublicJwk(EcB().public_pem, "b")}));
    clock_.Advance(absl::Seconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  // The last file holds b only; once re-read, b verifies and c is unknown.
  Write(Jwks({PublicJwk(EcB().public_pem, "b")}));
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(verifier->Verify(token_b).ok());
  ExpectRejected(*verifier, Token(EcC(), "c"), "not known");
}

TEST(AuthJwksSignerTest, WritesTheKidHeader) {
  const std::string token = SignWithKid(EcB(), "key-2026", ClaimsAt(absl::Now()));
  std::optional<std::string> header =
      internal::Base64UrlDecode(token.substr(0, token.find('.')));
  ASSERT_TRUE(header.has_value());
  json h = json::parse(*header);
  EXPECT_EQ(h.value("kid", ""), "key-2026");
  EXPECT_EQ(h.value("alg", ""), "ES256");
  const std::string no_kid = SignWithKid(EcB(), "", ClaimsAt(absl::Now()));
  EXPECT_FALSE(json::parse(*internal::Base64UrlDecode(no_kid.substr(0, no_kid.find('.'))))
                   .contains("kid"));
}

}  // namespace
}  // namespace crm::auth
