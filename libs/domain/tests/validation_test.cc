// Unit tests of the field validators (crm/domain/validation.h).
#include "crm/domain/validation.h"

#include <string>

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace crm::domain {
namespace {

// A money message as the services' protos have it.
struct Money {
  std::string currency_code_;
  int64_t amount_minor_ = 0;
  const std::string& currency_code() const { return currency_code_; }
  int64_t amount_minor() const { return amount_minor_; }
};

// An enum with the values 0..4, as a generated <Enum>_IsValid sees it.
bool IsValidLifecycle(int value) { return value >= 0 && value <= 4; }

// 2024-03-15T08:00:00Z: at UTC+14 it is 22:00 on 2024-03-15.
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2024, 3, 15, 8, 0, 0), absl::UTCTimeZone());

void ExpectInvalid(const absl::Status& status, const std::string& message) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(std::string(status.message()), message);
}

TEST(TextTest, LengthLimitsInCharacters) {
  EXPECT_TRUE(ValidateText("f", std::string(2000, 'a')).ok());
  ExpectInvalid(ValidateText("f", std::string(2001, 'a')), "f: at most 2000 characters");
  std::string chinese;
  for (int i = 0; i < 200; ++i) chinese += "\xE5\x8D\x8E";
  EXPECT_TRUE(ValidateRequiredText("name", chinese, kMaxNameLength).ok());
  ExpectInvalid(ValidateRequiredText("name", chinese + "a", kMaxNameLength),
                "name: at most 200 characters");
  ExpectInvalid(ValidateText("f", "a\xFF"), "f: not valid UTF-8");
}

TEST(TextTest, RequiredTextTrimsBeforeCounting) {
  ExpectInvalid(ValidateRequiredText("name", "", 10), "name: required");
  ExpectInvalid(ValidateRequiredText("name", " \t ", 10), "name: required");
  EXPECT_TRUE(ValidateRequiredText("name", "   0123456789   ", 10).ok());
}

TEST(EmailTest, Valid) {
  for (const char* email :
       {"", "a@b.co", "li.lei+crm@example.com.cn", "\xE6\x9D\x8E@\xE4\xBE\x8B\xE5\xAD\x90.cn"}) {
    EXPECT_TRUE(ValidateEmail("e", email).ok()) << email;
  }
}

TEST(EmailTest, Invalid) {
  const std::string too_long = std::string(64, 'a') + "@" + std::string(186, 'b') + ".com";
  ASSERT_EQ(too_long.size(), 255u);
  for (const std::string& email :
       {std::string("plain"), std::string("a@@b.com"), std::string("a@b@c.com"),
        std::string("@b.com"), std::string("a@"), std::string("a@localhost"), std::string("a@.com"),
        std::string("a@b.com."), std::string("a@b..com"), std::string("a b@c.com"),
        std::string("a@b.com "), std::string("a\t@b.com"), std::string("a\xE3\x80\x80@b.com"),
        too_long}) {
    ExpectInvalid(ValidateEmail("e", email), "e: not an e-mail address");
  }
}

TEST(PhoneTest, ValidAndInvalid) {
  for (const char* phone :
       {"", "12345", "+86 (10) 8888-6666", "010-12345678", "123456789012345678901234567890"}) {
    EXPECT_TRUE(ValidatePhone("p", phone).ok()) << phone;
  }
  for (const char* phone :
       {"1234", "123-4", "(12) 3-4", "12ab5678", "1234567890123456789012345678901",
        "+86 10 8888 6666 ext 5", "12345\xEF\xBC\x91"}) {
    const absl::Status status = ValidatePhone("p", phone);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << phone;
    EXPECT_EQ(std::string(status.message()).rfind("p: not a phone number", 0), 0u) << status;
  }
}

TEST(UrlTest, ValidAndInvalid) {
  for (const char* url :
       {"", "http://a.cn", "https://www.example.com/x?y=1", "HTTPS://EXAMPLE.COM"}) {
    EXPECT_TRUE(ValidateUrl("w", url).ok()) << url;
  }
  for (const char* url : {"www.example.com", "ftp://example.com", "https://", "http:/x.com"}) {
    ExpectInvalid(ValidateUrl("w", url), "w: must start with http:// or https://");
  }
  ExpectInvalid(ValidateUrl("w", "https://a b.com"), "w: must not contain white space");
}

TEST(DateTest, ParseDate) {
  EXPECT_EQ(ParseDate("2024-02-29"), absl::CivilDay(2024, 2, 29));
  EXPECT_EQ(ParseDate("2000-02-29"), absl::CivilDay(2000, 2, 29));
  EXPECT_EQ(ParseDate("0001-01-01"), absl::CivilDay(1, 1, 1));
  for (const char* bad : {"2023-02-29", "1900-02-29", "2024-04-31", "2024-13-01", "2024-00-10",
                          "2024-01-00", "0000-01-01", "2024/01/01", "2024-1-01", "24-01-01",
                          "2024-01-01T00:00", "2024-0a-01", ""}) {
    EXPECT_EQ(ParseDate(bad), std::nullopt) << bad;
  }
}

TEST(DateTest, FutureMeansAfterTodayEverywhere) {
  EXPECT_EQ(LatestDateAt(kNow), absl::CivilDay(2024, 3, 15));
  // 11:00Z is already the next day at UTC+14.
  EXPECT_EQ(LatestDateAt(kNow + absl::Hours(3)), absl::CivilDay(2024, 3, 16));
  EXPECT_TRUE(ValidatePastDate("d", "2024-03-15", kNow).ok());
  EXPECT_TRUE(ValidatePastDate("d", "", kNow).ok());
  ExpectInvalid(ValidatePastDate("d", "2024-03-16", kNow), "d: must not be in the future");
  ExpectInvalid(ValidatePastDate("d", "2024-03-32", kNow), "d: not a valid date (YYYY-MM-DD)");
  EXPECT_TRUE(ValidateDate("d", "2099-12-31").ok());
}

TEST(DateTest, RequiredDateAndUtcDay) {
  EXPECT_EQ(*ParseRequiredDate("d", "2024-02-29"), absl::CivilDay(2024, 2, 29));
  ExpectInvalid(ParseRequiredDate("d", "").status(), "d: required");
  ExpectInvalid(ParseRequiredDate("d", "2024-02-30").status(), "d: not a valid date (YYYY-MM-DD)");
  // 23:30 at UTC-5 is already the next day in UTC.
  const absl::Time late = absl::FromCivil(absl::CivilSecond(2024, 3, 15, 23, 30, 0),
                                          absl::FixedTimeZone(-5 * 60 * 60));
  EXPECT_EQ(UtcDayOf(late), absl::CivilDay(2024, 3, 16));
  EXPECT_EQ(UtcDateOf(late), "2024-03-16");
  EXPECT_EQ(UtcDateOf(kNow), "2024-03-15");
}

TEST(DateTest, Birthday) {
  for (const char* ok : {"", "02-29", "12-31", "01-01", "1990-06-15", "2000-02-29"}) {
    EXPECT_TRUE(ValidateBirthday("b", ok).ok()) << ok;
  }
  for (const char* bad : {"13-01", "00-10", "02-30", "04-31", "1-1", "1990-02-29", "1990/06/15",
                          "06-15-1990", "0615"}) {
    ExpectInvalid(ValidateBirthday("b", bad), "b: not a valid birthday (MM-DD or YYYY-MM-DD)");
  }
}

TEST(MoneyTest, CurrencyAndSign) {
  const MoneyRule optional{.required = false, .non_negative = true};
  const MoneyRule required{.required = true, .non_negative = true};
  EXPECT_TRUE(ValidateMoney("m", "", 0, optional).ok());
  EXPECT_TRUE(ValidateMoney("m", "CNY", 0, required).ok());
  EXPECT_TRUE(ValidateMoney("m", "USD", 12345, required).ok());
  ExpectInvalid(ValidateMoney("m", "", 0, required), "m: required");
  ExpectInvalid(ValidateMoney("m", "", 100, optional), "m.currency_code: required");
  for (const char* bad : {"cny", "CN", "CNYY", "C1Y", "\xEF\xBC\xA3NY"}) {
    ExpectInvalid(ValidateMoney("m", bad, 1, optional),
                  "m.currency_code: must be 3 upper-case letters (ISO 4217)");
  }
  ExpectInvalid(ValidateMoney("m", "CNY", -1, optional), "m.amount_minor: must not be negative");
  EXPECT_TRUE(ValidateMoney("m", "CNY", -1, {.required = false, .non_negative = false}).ok());
  const Money money{.currency_code_ = "EUR", .amount_minor_ = -5};
  ExpectInvalid(ValidateMoney("x.amount", money, optional),
                "x.amount.amount_minor: must not be negative");
}

TEST(EnumTest, UnknownAndRequired) {
  EXPECT_TRUE(ValidateEnum("l", 0, IsValidLifecycle, Presence::kOptional).ok());
  EXPECT_TRUE(ValidateEnum("l", 4, IsValidLifecycle, Presence::kRequired).ok());
  ExpectInvalid(ValidateEnum("l", 0, IsValidLifecycle, Presence::kRequired), "l: required");
  ExpectInvalid(ValidateEnum("l", 5, IsValidLifecycle, Presence::kOptional),
                "l: unknown value 5");
  ExpectInvalid(ValidateEnum("l", -1, IsValidLifecycle, Presence::kRequired),
                "l: unknown value -1");
}

TEST(NumberTest, NonNegative) {
  EXPECT_TRUE(ValidateNonNegative("n", 0).ok());
  ExpectInvalid(ValidateNonNegative("n", -1), "n: must not be negative");
}

TEST(TimestampTest, RangeAndRoundTrip) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(1710489600);
  ts.set_nanos(5);
  EXPECT_TRUE(ValidateTimestamp("t", ts).ok());
  EXPECT_EQ(FromProtoTimestamp(ts), absl::FromUnixSeconds(1710489600) + absl::Nanoseconds(5));
  const google::protobuf::Timestamp back = ToProtoTimestamp(FromProtoTimestamp(ts));
  EXPECT_EQ(back.seconds(), ts.seconds());
  EXPECT_EQ(back.nanos(), ts.nanos());
  // Before the epoch the nanos stay positive.
  const google::protobuf::Timestamp before = ToProtoTimestamp(absl::FromUnixMillis(-1500));
  EXPECT_EQ(before.seconds(), -2);
  EXPECT_EQ(before.nanos(), 500000000);
  ts.set_nanos(-1);
  ExpectInvalid(ValidateTimestamp("t", ts), "t: not a valid timestamp");
  ts.set_nanos(1000000000);
  ExpectInvalid(ValidateTimestamp("t", ts), "t: not a valid timestamp");
  ts.set_nanos(0);
  ts.set_seconds(253402300800);
  ExpectInvalid(ValidateTimestamp("t", ts), "t: not a valid timestamp");
}

TEST(MoneyTest, KnownCurrencyIsCheckedOnlyWhenAsked) {
  EXPECT_TRUE(IsIso4217Currency("CNY"));
  EXPECT_TRUE(IsIso4217Currency("USD"));
  EXPECT_TRUE(IsIso4217Currency("ZWL"));
  EXPECT_FALSE(IsIso4217Currency("XYZ"));
  EXPECT_FALSE(IsIso4217Currency("cny"));
  EXPECT_TRUE(ValidateMoney("amount", "XYZ", 5, {.required = true}).ok());
  const absl::Status s = ValidateMoney("amount", "XYZ", 5, {.required = true, .known_currency = true});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "amount.currency_code: not an ISO 4217 currency");
  EXPECT_TRUE(ValidateMoney("amount", "EUR", 5, {.required = true, .known_currency = true}).ok());
}

TEST(MoneyTest, PositiveAndAtMost) {
  const MoneyRule rule{.required = true, .positive = true, .max_amount_minor = 1000};
  EXPECT_TRUE(ValidateMoney("m", "CNY", 1, rule).ok());
  EXPECT_TRUE(ValidateMoney("m", "CNY", 1000, rule).ok());
  ExpectInvalid(ValidateMoney("m", "CNY", 0, rule), "m.amount_minor: must be more than 0");
  ExpectInvalid(ValidateMoney("m", "CNY", -1, rule), "m.amount_minor: must not be negative");
  ExpectInvalid(ValidateMoney("m", "CNY", 1001, rule), "m.amount_minor: must be at most 1000");
  EXPECT_TRUE(ValidateMoney("m", "CNY", 0, {.required = true}).ok());
}

TEST(CountTest, AtMostItems) {
  EXPECT_TRUE(ValidateCount("ids", 0, 3).ok());
  EXPECT_TRUE(ValidateCount("ids", 3, 3).ok());
  ExpectInvalid(ValidateCount("ids", 4, 3), "ids: at most 3 items");
}

TEST(IdTest, BytesAndNoControlCharacters) {
  EXPECT_TRUE(ValidateId("id", "", Presence::kOptional).ok());
  ExpectInvalid(ValidateId("id", "", Presence::kRequired), "id: required");
  EXPECT_TRUE(ValidateId("id", std::string(256, 'a'), Presence::kRequired).ok());
  ExpectInvalid(ValidateId("id", std::string(257, 'a'), Presence::kRequired),
                "id: at most 256 bytes");
  ExpectInvalid(ValidateId("id", std::string("a\0b", 3), Presence::kRequired),
                "id: must not contain control characters");
  ExpectInvalid(ValidateId("id", "a\nb", Presence::kRequired),
                "id: must not contain control characters");
  ExpectInvalid(ValidateId("id", "\xff", Presence::kRequired), "id: not valid UTF-8");
}

TEST(PercentOfTest, RoundsHalfAwayFromZero) {
  EXPECT_EQ(PercentOf(1000000, 25), 250000);
  EXPECT_EQ(PercentOf(1, 50), 1);
  EXPECT_EQ(PercentOf(1, 49), 0);
  EXPECT_EQ(PercentOf(-1, 50), -1);
  EXPECT_EQ(PercentOf(INT64_MAX, 100), INT64_MAX);
}

TEST(RatioPercentTest, RoundsHalfAwayFromZeroToTwoDecimals) {
  EXPECT_EQ(RatioPercent(0, 0), 0);
  EXPECT_EQ(RatioPercent(1, 0), 0);
  EXPECT_EQ(RatioPercent(2, 5), 40);
  EXPECT_EQ(RatioPercent(1, 6), 16.67);
  EXPECT_EQ(RatioPercent(1, 8), 12.5);
  EXPECT_EQ(RatioPercent(1, 800), 0.13);   // 0.125 up
  EXPECT_EQ(RatioPercent(1, 1600), 0.06);  // 0.0625 down
  EXPECT_EQ(RatioPercent(1, -3), 0);
  EXPECT_EQ(RatioPercent(2, 3), 66.67);
  EXPECT_EQ(RatioPercent(1, 3), 33.33);
  EXPECT_EQ(RatioPercent(1, 32), 3.13);     // 3.125 up
  EXPECT_EQ(RatioPercent(-1, 32), -3.13);   // away from zero
  EXPECT_EQ(RatioPercent(9, 200000), 0);    // 0.0045
  EXPECT_EQ(RatioPercent(3, 3), 100);
  EXPECT_EQ(RatioPercent(INT64_MAX, INT64_MAX), 100);
}

}  // namespace
}  // namespace crm::domain
