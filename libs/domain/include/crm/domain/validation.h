// Field validators shared by every service's domain: text length and UTF-8,
// e-mail, phone, dates, URLs, money, enums, timestamps.
//
//   RETURN_IF_ERROR(ValidateEmail("contact.personal.email", c.personal().email()));
//   RETURN_IF_ERROR(ValidateMoney("transaction.amount", t.amount(),
//                                 {.required = true, .non_negative = true}));
//
// Every validator returns OK or absl::InvalidArgumentError whose message starts
// with `field` followed by ": " (e.g. "contact.personal.email: not an e-mail
// address"), the convention of the suite's APIs. Validators of optional values
// accept "" (not set); the Required* variants reject it with "<field>: required".
// Lengths are counted in Unicode code points, so a 200-character Chinese company
// name is as valid as a 200-character English one.
//
// All functions are pure and thread-safe.
#pragma once

#include "crm/common/proto_time.h"  // ToProtoTimestamp, FromProtoTimestamp

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace crm::domain {

// Company and person names, titles: 1..200 characters after trimming.
inline constexpr size_t kMaxNameLength = 200;
// Any other free text.
inline constexpr size_t kMaxTextLength = 2000;
// Subjects (user ids), owners, regions, ids.
inline constexpr size_t kMaxIdLength = 256;
// RFC 5321 path limit.
inline constexpr size_t kMaxEmailLength = 254;

// --- Text -------------------------------------------------------------------

// Utf8Length, TrimSpace, Trimmed and IsBlank live in crm/common/text.h.

// Optional text: valid UTF-8 (protobuf cannot parse back a string that is not)
// and at most `max_chars` characters. Errors: "<field>: not valid UTF-8",
// "<field>: at most N characters".
absl::Status ValidateText(std::string_view field, std::string_view value,
                          size_t max_chars = kMaxTextLength);
// As ValidateText, and not blank: "<field>: required". The length limit applies
// to the trimmed value.
absl::Status ValidateRequiredText(std::string_view field, std::string_view value,
                                  size_t max_chars = kMaxTextLength);

// --- Ids ---------------------------------------------------------------------

enum class Presence;

// An id or a subject (they end up in index keys): at most kMaxIdLength bytes,
// valid UTF-8, no control characters. Errors: "<field>: required" (when required
// and empty), "<field>: at most 256 bytes", "<field>: must not contain control
// characters", "<field>: not valid UTF-8".
absl::Status ValidateId(std::string_view field, std::string_view value, Presence presence);

// --- Contact data ------------------------------------------------------------

// Optional e-mail: exactly one '@', a non-empty local part, a domain containing a
// '.' (not at either end, no empty label), no white space or control characters,
// at most 254 bytes. Error: "<field>: not an e-mail address".
absl::Status ValidateEmail(std::string_view field, std::string_view value);
// Optional phone or fax number: 5..30 characters out of digits, space, "+", "-",
// "(", ")", with at least 5 digits. Error: "<field>: not a phone number ...".
absl::Status ValidatePhone(std::string_view field, std::string_view value);
// Optional URL starting with "http://" or "https://" (scheme case-insensitive),
// with a host part and no white space. Error: "<field>: must start with http://
// or https://" or "<field>: must not contain white space".
absl::Status ValidateUrl(std::string_view field, std::string_view value);

// --- Dates -------------------------------------------------------------------

// Parses a calendar date "YYYY-MM-DD" (year 0001..9999, real month and day, leap
// years honoured); std::nullopt when it is not one.
std::optional<absl::CivilDay> ParseDate(std::string_view value);
// The latest date it can be anywhere on Earth at `now` (the date at UTC+14).
// Dates carry no time zone, so a date is "in the future" only when it is after
// this day; a user in UTC+8 entering today's date just after midnight is not
// refused.
absl::CivilDay LatestDateAt(absl::Time now);
// The UTC calendar day of `t`, and the same as "YYYY-MM-DD": the day a date
// defaulted from a server time (today's measure, a cost entered today) carries,
// and the day reports group times by.
absl::CivilDay UtcDayOf(absl::Time t);
std::string UtcDateOf(absl::Time t);

// Optional date "YYYY-MM-DD". Error: "<field>: not a valid date (YYYY-MM-DD)".
absl::Status ValidateDate(std::string_view field, std::string_view value);
// A required date "YYYY-MM-DD", parsed. Errors: "<field>: required", "<field>: not
// a valid date (YYYY-MM-DD)".
absl::StatusOr<absl::CivilDay> ParseRequiredDate(std::string_view field, std::string_view value);
// As ValidateDate, and not after LatestDateAt(now): "<field>: must not be in the
// future".
absl::Status ValidatePastDate(std::string_view field, std::string_view value, absl::Time now);
// Optional birthday "MM-DD" (02-29 allowed) or "YYYY-MM-DD". Error: "<field>:
// not a valid birthday (MM-DD or YYYY-MM-DD)".
absl::Status ValidateBirthday(std::string_view field, std::string_view value);

// --- Money -------------------------------------------------------------------

struct MoneyRule {
  // "<field>: required" when the amount is absent (no currency and amount 0).
  bool required = false;
  // "<field>.amount_minor: must not be negative".
  bool non_negative = true;
  // "<field>.currency_code: not an ISO 4217 currency" for a well-formed code
  // that ISO 4217 does not list (IsIso4217Currency).
  bool known_currency = false;
  // "<field>.amount_minor: must be more than 0" (an amount that is present).
  bool positive = false;
  // "<field>.amount_minor: must be at most N".
  int64_t max_amount_minor = std::numeric_limits<int64_t>::max();
};

// True for a code of ISO 4217's list of current currencies (and XAU, XAG, XDR).
bool IsIso4217Currency(std::string_view code);

// ISO 4217 form: three upper-case ASCII letters. Error: "<field>: required" when
// empty, "<field>: must be 3 upper-case letters (ISO 4217)" otherwise.
absl::Status ValidateCurrencyCode(std::string_view field, std::string_view code);
// A money amount is present when its currency or its amount is set; then the
// currency must be valid ("<field>.currency_code: ...").
absl::Status ValidateMoney(std::string_view field, std::string_view currency_code,
                           int64_t amount_minor, MoneyRule rule);
// The same for a money message of any service (currency_code, amount_minor).
template <typename Money>
absl::Status ValidateMoney(std::string_view field, const Money& money, MoneyRule rule) {
  return ValidateMoney(field, money.currency_code(), money.amount_minor(), rule);
}

// --- Enums and numbers -------------------------------------------------------

enum class Presence { kOptional, kRequired };

// round(amount_minor × percent / 100), half away from zero, in minor units: the
// probability-weighted amount of the suite's reports and metrics (exact for any
// int64 amount and percent 0..100).
int64_t PercentOf(int64_t amount_minor, int64_t percent);
// part / whole × 100, rounded half away from zero to 2 decimals, exactly (no
// floating-point error before the result): the rates and ROIs of the suite's
// reports (a win rate, a retention rate, a campaign's ROI). 0 when whole ≤ 0.
double RatioPercent(int64_t part, int64_t whole);

// `value` of a proto enum whose generated validity check is `is_valid` (e.g.
// customer::v1::Lifecycle_IsValid). Errors: "<field>: unknown value N" for an undefined
// number, "<field>: required" for 0 (UNSPECIFIED) when required.
absl::Status ValidateEnum(std::string_view field, int value, bool (*is_valid)(int),
                          Presence presence);
// "<field>: must not be negative".
absl::Status ValidateNonNegative(std::string_view field, int64_t value);
// A repeated field of `size` elements holds at most `max`: "<field>: at most N
// items" (the wording of the command pipeline's bounds).
absl::Status ValidateCount(std::string_view field, int64_t size, int64_t max);

// --- Timestamps --------------------------------------------------------------

// A google.protobuf.Timestamp within 0001-01-01..9999-12-31 with nanos in
// 0..999999999. Error: "<field>: not a valid timestamp".
absl::Status ValidateTimestamp(std::string_view field, const google::protobuf::Timestamp& ts);

// --- Messages ---------------------------------------------------------------

// An enum value's name without its prefix, for messages: ("LIFECYCLE_CHURNED",
// "LIFECYCLE_", 4) -> "CHURNED"; the number when the value has no name ("").
std::string ShortName(const std::string& full_name, std::string_view prefix, int value);

}  // namespace crm::domain
