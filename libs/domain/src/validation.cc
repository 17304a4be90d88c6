#include "crm/domain/validation.h"

#include <algorithm>
#include <iterator>
#include <string>

#include "crm/common/field_errors.h"
#include "crm/common/text.h"

namespace crm::domain {
namespace {

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2) {
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return leap ? 29 : 28;
  }
  return kDays[month - 1];
}

// Parses a run of ASCII digits (all of `text`).
std::optional<int> ParseDigits(std::string_view text) {
  int value = 0;
  for (char c : text) {
    if (!IsAsciiDigit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// "MM-DD" month and day, checked against the longest month (02-29 allowed).
bool IsMonthDay(std::string_view value) {
  if (value.size() != 5 || value[2] != '-') return false;
  const std::optional<int> month = ParseDigits(value.substr(0, 2));
  const std::optional<int> day = ParseDigits(value.substr(3, 2));
  if (!month || !day || *month < 1 || *month > 12) return false;
  return *day >= 1 && *day <= DaysInMonth(2000, *month);  // 2000 is a leap year
}

constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31T23:59:59Z

}  // namespace

absl::Status ValidateText(std::string_view field, std::string_view value, size_t max_chars) {
  const std::optional<size_t> length = Utf8Length(value);
  if (!length) return InvalidField(field, "not valid UTF-8");
  if (*length > max_chars)
    return InvalidField(field, "at most " + std::to_string(max_chars) + " characters");
  return absl::OkStatus();
}

absl::Status ValidateRequiredText(std::string_view field, std::string_view value,
                                  size_t max_chars) {
  if (!Utf8Length(value)) return InvalidField(field, "not valid UTF-8");
  if (IsBlank(value)) return InvalidField(field, "required");
  return ValidateText(field, TrimSpace(value), max_chars);
}

absl::Status ValidateEmail(std::string_view field, std::string_view value) {
  if (value.empty()) return absl::OkStatus();
  const absl::Status bad = InvalidField(field, "not an e-mail address");
  if (value.size() > kMaxEmailLength || !Utf8Length(value)) return bad;
  for (char c : value) {
    if (IsAsciiSpace(c) || static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return bad;
  }
  if (value.find("\xC2\xA0") != std::string_view::npos ||
      value.find("\xE3\x80\x80") != std::string_view::npos) {
    return bad;
  }
  const size_t at = value.find('@');
  if (at == std::string_view::npos || value.find('@', at + 1) != std::string_view::npos) {
    return bad;
  }
  const std::string_view local = value.substr(0, at);
  const std::string_view domain = value.substr(at + 1);
  if (local.empty() || domain.empty()) return bad;
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return bad;
  }
  return absl::OkStatus();
}

absl::Status ValidatePhone(std::string_view field, std::string_view value) {
  if (value.empty()) return absl::OkStatus();
  const absl::Status bad = InvalidField(
      field, "not a phone number (5..30 characters: digits, spaces, + - ( ), 5 digits or more)");
  if (value.size() < 5 || value.size() > 30) return bad;
  int digits = 0;
  for (char c : value) {
    if (IsAsciiDigit(c)) {
      ++digits;
    } else if (c != ' ' && c != '+' && c != '-' && c != '(' && c != ')') {
      return bad;
    }
  }
  if (digits < 5) return bad;
  return absl::OkStatus();
}

absl::Status ValidateUrl(std::string_view field, std::string_view value) {
  if (value.empty()) return absl::OkStatus();
  auto starts_with_ci = [&](std::string_view prefix) {
    if (value.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      char c = value[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != prefix[i]) return false;
    }
    return true;
  };
  size_t scheme_length = 0;
  if (starts_with_ci("http://")) {
    scheme_length = 7;
  } else if (starts_with_ci("https://")) {
    scheme_length = 8;
  }
  if (scheme_length == 0 || value.size() == scheme_length) {
    return InvalidField(field, "must start with http:// or https://");
  }
  if (!Utf8Length(value)) return InvalidField(field, "not valid UTF-8");
  for (char c : value) {
    if (IsAsciiSpace(c) || static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return InvalidField(field, "must not contain white space");
    }
  }
  return ValidateText(field, value, kMaxTextLength);
}

std::optional<absl::CivilDay> ParseDate(std::string_view value) {
  if (value.size() != 10 || value[4] != '-' || value[7] != '-') return std::nullopt;
  const std::optional<int> year = ParseDigits(value.substr(0, 4));
  const std::optional<int> month = ParseDigits(value.substr(5, 2));
  const std::optional<int> day = ParseDigits(value.substr(8, 2));
  if (!year || !month || !day) return std::nullopt;
  if (*year < 1 || *month < 1 || *month > 12) return std::nullopt;
  if (*day < 1 || *day > DaysInMonth(*year, *month)) return std::nullopt;
  return absl::CivilDay(*year, *month, *day);
}

absl::CivilDay LatestDateAt(absl::Time now) {
  return absl::ToCivilDay(now, absl::FixedTimeZone(14 * 60 * 60));
}

absl::CivilDay UtcDayOf(absl::Time t) { return absl::ToCivilDay(t, absl::UTCTimeZone()); }

std::string UtcDateOf(absl::Time t) { return absl::FormatCivilTime(UtcDayOf(t)); }

absl::Status ValidateDate(std::string_view field, std::string_view value) {
  if (value.empty()) return absl::OkStatus();
  if (!ParseDate(value)) return InvalidField(field, "not a valid date (YYYY-MM-DD)");
  return absl::OkStatus();
}

absl::StatusOr<absl::CivilDay> ParseRequiredDate(std::string_view field, std::string_view value) {
  if (value.empty()) return InvalidField(field, "required");
  const std::optional<absl::CivilDay> day = ParseDate(value);
  if (!day) return InvalidField(field, "not a valid date (YYYY-MM-DD)");
  return *day;
}

absl::Status ValidatePastDate(std::string_view field, std::string_view value, absl::Time now) {
  if (value.empty()) return absl::OkStatus();
  const std::optional<absl::CivilDay> date = ParseDate(value);
  if (!date) return InvalidField(field, "not a valid date (YYYY-MM-DD)");
  if (*date > LatestDateAt(now)) return InvalidField(field, "must not be in the future");
  return absl::OkStatus();
}

absl::Status ValidateBirthday(std::string_view field, std::string_view value) {
  if (value.empty() || IsMonthDay(value) || ParseDate(value)) return absl::OkStatus();
  return InvalidField(field, "not a valid birthday (MM-DD or YYYY-MM-DD)");
}

absl::Status ValidateCurrencyCode(std::string_view field, std::string_view code) {
  if (code.empty()) return InvalidField(field, "required");
  if (code.size() != 3) return InvalidField(field, "must be 3 upper-case letters (ISO 4217)");
  for (char c : code) {
    if (c < 'A' || c > 'Z') return InvalidField(field, "must be 3 upper-case letters (ISO 4217)");
  }
  return absl::OkStatus();
}

bool IsIso4217Currency(std::string_view code) {
  // ISO 4217 list one (current currencies), sorted; plus gold, silver and SDR.
  static constexpr std::string_view kCodes[] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD",
    "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN",
    "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF",
    "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
    "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW",
    "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA",
    "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN",
    "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
    "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT",
    "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VED",
    "VES", "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XCD", "XDR", "XOF", "XPF", "YER",
    "ZAR", "ZMW", "ZWL",
  };
  return std::binary_search(std::begin(kCodes), std::end(kCodes), code);
}

absl::Status ValidateMoney(std::string_view field, std::string_view currency_code,
                           int64_t amount_minor, MoneyRule rule) {
  const bool present = !currency_code.empty() || amount_minor != 0;
  if (!present) {
    if (rule.required) return InvalidField(field, "required");
    return absl::OkStatus();
  }
  const std::string prefix(field);
  if (absl::Status s = ValidateCurrencyCode(prefix + ".currency_code", currency_code); !s.ok()) {
    return s;
  }
  if (rule.known_currency && !IsIso4217Currency(currency_code)) {
    return InvalidField(prefix + ".currency_code", "not an ISO 4217 currency");
  }
  if (rule.non_negative && amount_minor < 0) {
    return InvalidField(prefix + ".amount_minor", "must not be negative");
  }
  if (rule.positive && amount_minor <= 0) {
    return InvalidField(prefix + ".amount_minor", "must be more than 0");
  }
  if (amount_minor > rule.max_amount_minor) {
    return InvalidField(prefix + ".amount_minor",
                        "must be at most " + std::to_string(rule.max_amount_minor));
  }
  return absl::OkStatus();
}

absl::Status ValidateEnum(std::string_view field, int value, bool (*is_valid)(int),
                          Presence presence) {
  if (!is_valid(value)) return InvalidField(field, "unknown value " + std::to_string(value));
  if (value == 0 && presence == Presence::kRequired) return InvalidField(field, "required");
  return absl::OkStatus();
}

absl::Status ValidateNonNegative(std::string_view field, int64_t value) {
  if (value < 0) return InvalidField(field, "must not be negative");
  return absl::OkStatus();
}

absl::Status ValidateCount(std::string_view field, int64_t size, int64_t max) {
  if (size > max) return InvalidField(field, "at most " + std::to_string(max) + " items");
  return absl::OkStatus();
}

absl::Status ValidateTimestamp(std::string_view field, const google::protobuf::Timestamp& ts) {
  if (ts.seconds() < kMinTimestampSeconds || ts.seconds() > kMaxTimestampSeconds ||
      ts.nanos() < 0 || ts.nanos() > 999999999) {
    return InvalidField(field, "not a valid timestamp");
  }
  return absl::OkStatus();
}

std::string ShortName(const std::string& full_name, std::string_view prefix, int value) {
  if (full_name.empty()) return std::to_string(value);
  std::string_view name(full_name);
  if (name.substr(0, prefix.size()) == prefix) name.remove_prefix(prefix.size());
  return std::string(name);
}

absl::Status ValidateId(std::string_view field, std::string_view value, Presence presence) {
  if (value.empty()) {
    return presence == Presence::kRequired ? InvalidField(field, "required") : absl::OkStatus();
  }
  if (value.size() > kMaxIdLength) {
    return InvalidField(field, "at most " + std::to_string(kMaxIdLength) + " bytes");
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidField(field, "must not contain control characters");
    }
  }
  return ValidateText(field, value, kMaxIdLength);
}

int64_t PercentOf(int64_t amount_minor, int64_t percent) {
  const __int128 product = static_cast<__int128>(amount_minor) * percent;
  return static_cast<int64_t>(product >= 0 ? (product + 50) / 100 : -((-product + 50) / 100));
}

double RatioPercent(int64_t part, int64_t whole) {
  if (whole <= 0) return 0;
  // In hundredths of a percent: part × 10000 / whole, exact in 128 bits.
  const __int128 num = static_cast<__int128>(part) * 10000;
  const __int128 den = whole;
  __int128 q = num / den;
  const __int128 r = num % den;
  if (2 * (r < 0 ? -r : r) >= den) q += num < 0 ? -1 : 1;
  return static_cast<double>(q) / 100.0;
}

}  // namespace crm::domain
