// Tests of the revisit cadence (crm/interaction/domain/cadence.h): which class's
// cadence applies, when the next revisit is due, and the configuration syntax.
#include "crm/interaction/domain/cadence.h"

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace crm::interaction {

// Found by argument-dependent lookup when gtest prints a Cadence.
void PrintTo(const Cadence& c, std::ostream* os) {
  *os << "{\"" << c.cadence_class << "\", " << c.days << "}";
}

namespace {

using ::crm::classification::v1::SCHEME_ABCD;
using ::crm::classification::v1::SCHEME_LARGE_ACCOUNT;
using ::crm::classification::v1::SCHEME_TIER;
using ::crm::classification::v1::SCHEME_VALUE;
using Classes = std::map<classification::v1::Scheme, std::string>;

struct CadenceCase {
  std::string name;
  Classes classes;
  Cadence expected;
};

TEST(CadenceForTest, DefaultPolicy) {
  const std::vector<CadenceCase> cases = {
      {"A quarterly", {{SCHEME_ABCD, "A"}}, {"A", 91}},
      {"B half-yearly", {{SCHEME_ABCD, "B"}}, {"B", 182}},
      {"C yearly", {{SCHEME_ABCD, "C"}}, {"C", 365}},
      {"D gets the default", {{SCHEME_ABCD, "D"}}, {"D", 365}},
      {"unknown class gets the default", {{SCHEME_ABCD, "E"}}, {"E", 365}},
      {"class names are exact", {{SCHEME_ABCD, "a"}}, {"a", 365}},
      {"not classified", {}, {"", 365}},
      {"empty ABCD class", {{SCHEME_ABCD, ""}}, {"", 365}},
      {"key tier overrides C", {{SCHEME_TIER, "key"}, {SCHEME_ABCD, "C"}}, {"A", 91}},
      {"key tier overrides D", {{SCHEME_TIER, "key"}, {SCHEME_ABCD, "D"}}, {"A", 91}},
      {"key tier without ABCD", {{SCHEME_TIER, "key"}}, {"A", 91}},
      {"important tier follows ABCD", {{SCHEME_TIER, "important"}, {SCHEME_ABCD, "B"}}, {"B", 182}},
      {"ordinary tier alone", {{SCHEME_TIER, "ordinary"}}, {"", 365}},
      {"tier name is exact", {{SCHEME_TIER, "Key"}, {SCHEME_ABCD, "C"}}, {"C", 365}},
      {"value scheme is ignored", {{SCHEME_VALUE, "A"}}, {"", 365}},
      {"large account is ignored",
       {{SCHEME_LARGE_ACCOUNT, "strategic"}, {SCHEME_ABCD, "B"}},
       {"B", 182}},
  };
  for (const CadenceCase& c : cases) {
    EXPECT_EQ(CadenceFor(c.classes, CadenceConfig()), c.expected) << c.name;
  }
}

TEST(CadenceForTest, FollowsTheConfiguration) {
  CadenceConfig config;
  config.days_by_class = {{"A", 30}, {"B", 60}, {"D", 730}};
  config.tier_key_follows = "B";
  config.default_days = 400;
  EXPECT_EQ(CadenceFor({{SCHEME_ABCD, "A"}}, config), (Cadence{"A", 30}));
  EXPECT_EQ(CadenceFor({{SCHEME_ABCD, "C"}}, config), (Cadence{"C", 400}));
  EXPECT_EQ(CadenceFor({{SCHEME_ABCD, "D"}}, config), (Cadence{"D", 730}));
  EXPECT_EQ(CadenceFor({{SCHEME_TIER, "key"}, {SCHEME_ABCD, "A"}}, config), (Cadence{"B", 60}));
  EXPECT_EQ(CadenceFor({}, config), (Cadence{"", 400}));
}

TEST(NextDueTest, FromTheLastRevisitOrFromNow) {
  const absl::Time now = absl::FromUnixSeconds(1710489600);  // 2024-03-15T08:00:00Z
  const absl::Time last = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(NextDue(last, now, {"A", 91}), last + absl::Hours(24 * 91));
  EXPECT_EQ(NextDue(std::nullopt, now, {"A", 91}), now + absl::Hours(24 * 91));
  EXPECT_EQ(NextDue(std::nullopt, now, {"C", 365}),
            absl::FromCivil(absl::CivilSecond(2025, 3, 15, 8, 0, 0), absl::UTCTimeZone()));
  // Already overdue when the last revisit is older than the cadence: the caller
  // schedules it anyway and the overdue check reports it.
  EXPECT_LT(NextDue(last, now, {"A", 91}), now);
  // A broken cadence never schedules in the past of its starting point.
  EXPECT_EQ(NextDue(last, now, {"A", 0}), last + absl::Hours(24));
  EXPECT_EQ(NextDue(last, now, {"A", -5}), last + absl::Hours(24));
}

TEST(ParseCadenceConfigTest, TheDefaultSpelledOut) {
  const absl::StatusOr<CadenceConfig> config =
      ParseCadenceConfig("A=91,B=182,C=365,key=A,default=365");
  ASSERT_TRUE(config.ok()) << config.status();
  const CadenceConfig defaults;
  EXPECT_EQ(config->days_by_class, defaults.days_by_class);
  EXPECT_EQ(config->tier_key_follows, "A");
  EXPECT_EQ(config->default_days, 365);
}

TEST(ParseCadenceConfigTest, EmptyGivesTheDefaults) {
  for (const char* spec : {"", "  "}) {
    const absl::StatusOr<CadenceConfig> config = ParseCadenceConfig(spec);
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->days_by_class, CadenceConfig().days_by_class);
    EXPECT_EQ(config->tier_key_follows, "A");
    EXPECT_EQ(config->default_days, 365);
  }
}

TEST(ParseCadenceConfigTest, PartsOverrideTheDefaults) {
  const absl::StatusOr<CadenceConfig> config =
      ParseCadenceConfig(" A = 30 , D=730,key=B , default=400");
  ASSERT_TRUE(config.ok()) << config.status();
  const std::map<std::string, int> expected = {{"A", 30}, {"B", 182}, {"C", 365}, {"D", 730}};
  EXPECT_EQ(config->days_by_class, expected);
  EXPECT_EQ(config->tier_key_follows, "B");
  EXPECT_EQ(config->default_days, 400);
  EXPECT_EQ(CadenceFor({{SCHEME_TIER, "key"}}, *config), (Cadence{"B", 182}));
}

TEST(ParseCadenceConfigTest, BoundsAreInclusive) {
  const absl::StatusOr<CadenceConfig> config = ParseCadenceConfig("A=1,B=3660,default=1");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->days_by_class.at("A"), 1);
  EXPECT_EQ(config->days_by_class.at("B"), 3660);
  EXPECT_EQ(config->default_days, 1);
}

TEST(ParseCadenceConfigTest, BadSpecsNameTheBadPart) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"A=x", "cadence part \"A=x\": days must be a whole number in 1..3660"},
      {"A=91,B=0", "cadence part \"B=0\": days must be a whole number in 1..3660"},
      {"A=3661", "cadence part \"A=3661\": days must be a whole number in 1..3660"},
      {"A=-1", "cadence part \"A=-1\": days must be a whole number in 1..3660"},
      {"A=+1", "cadence part \"A=+1\": days must be a whole number in 1..3660"},
      {"A=9.5", "cadence part \"A=9.5\": days must be a whole number in 1..3660"},
      {"A=", "cadence part \"A=\": days must be a whole number in 1..3660"},
      {"A=99999999999", "cadence part \"A=99999999999\": days must be a whole number in 1..3660"},
      {"default=0", "cadence part \"default=0\": days must be a whole number in 1..3660"},
      {"B", "cadence part \"B\": expected NAME=VALUE"},
      {"=91", "cadence part \"=91\": name required"},
      {"A B=3", "cadence part \"A B=3\": name must be 1..32 letters, digits, '_' or '-'"},
      {"A=91,A=30", "cadence part \"A=30\": A given twice"},
      {"key=A,key=B", "cadence part \"key=B\": key given twice"},
      {"key=", "cadence part \"key=\": class must be 1..32 letters, digits, '_' or '-'"},
      {"key=Z", "cadence part \"key=Z\": no cadence for class Z"},
      {"A=91,,B=3", "cadence part 2: empty (two commas in a row, or a trailing comma)"},
      {"A=91,", "cadence part 2: empty (two commas in a row, or a trailing comma)"},
  };
  for (const auto& [spec, message] : cases) {
    const absl::StatusOr<CadenceConfig> config = ParseCadenceConfig(spec);
    ASSERT_FALSE(config.ok()) << spec;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << spec;
    EXPECT_EQ(config.status().message(), message) << spec;
  }
}

TEST(ParseCadenceConfigTest, KeyMustFollowAConfiguredClass) {
  // Without a "key" part the default "A" must still have a cadence... which it
  // always has, since parts only override; a key naming a new class works when
  // that class is given too.
  const absl::StatusOr<CadenceConfig> config = ParseCadenceConfig("key=S,S=60");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(CadenceFor({{SCHEME_TIER, "key"}}, *config), (Cadence{"S", 60}));
}

}  // namespace
}  // namespace crm::interaction
