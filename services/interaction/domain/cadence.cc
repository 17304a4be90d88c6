#include "crm/interaction/domain/cadence.h"

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "crm/common/text.h"

namespace crm::interaction {
namespace {

namespace cv1 = ::crm::classification::v1;

constexpr size_t kMaxClassNameLength = 32;
constexpr char kDefaultKey[] = "default";

std::string ClassOf(const std::map<cv1::Scheme, std::string>& classes, cv1::Scheme scheme) {
  const auto it = classes.find(scheme);
  return it == classes.end() ? std::string() : it->second;
}

int DaysOf(const CadenceConfig& config, const std::string& cadence_class) {
  const auto it = config.days_by_class.find(cadence_class);
  return it == config.days_by_class.end() ? config.default_days : it->second;
}

absl::Status BadPart(std::string_view part, std::string_view what) {
  std::string message = "cadence part \"";
  message += part;
  message += "\": ";
  message += what;
  return absl::InvalidArgumentError(message);
}

bool IsClassName(std::string_view name) {
  if (name.empty() || name.size() > kMaxClassNameLength) return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<int> ParseDays(std::string_view value) {
  if (value.empty() || value.size() > 9) return std::nullopt;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;  // no sign, no fraction
  }
  int days = 0;
  if (!absl::SimpleAtoi(absl::string_view(value.data(), value.size()), &days)) return std::nullopt;
  if (days < kMinCadenceDays || days > kMaxCadenceDays) return std::nullopt;
  return days;
}

}  // namespace

Cadence CadenceFor(const std::map<cv1::Scheme, std::string>& classes_by_scheme,
                   const CadenceConfig& config) {
  if (ClassOf(classes_by_scheme, cv1::SCHEME_TIER) == kKeyTierClass) {
    return {.cadence_class = config.tier_key_follows,
            .days = DaysOf(config, config.tier_key_follows)};
  }
  const std::string abcd = ClassOf(classes_by_scheme, cv1::SCHEME_ABCD);
  if (abcd.empty()) return {.cadence_class = "", .days = config.default_days};
  return {.cadence_class = abcd, .days = DaysOf(config, abcd)};
}

absl::Time NextDue(std::optional<absl::Time> last_done, absl::Time now, const Cadence& cadence) {
  const int days = cadence.days > 0 ? cadence.days : 1;
  return last_done.value_or(now) + absl::Hours(24) * days;
}

absl::StatusOr<CadenceConfig> ParseCadenceConfig(std::string_view spec) {
  CadenceConfig config;
  if (IsBlank(spec)) return config;
  std::set<std::string> seen;
  std::string key_part;  // the "key=..." part, to name it if its class is unknown
  const std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(spec.data(), spec.size()), ',');
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string_view part = TrimSpace(std::string_view(parts[i].data(), parts[i].size()));
    if (part.empty()) {
      return absl::InvalidArgumentError("cadence part " + std::to_string(i + 1) +
                                        ": empty (two commas in a row, or a trailing comma)");
    }
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) return BadPart(part, "expected NAME=VALUE");
    const std::string name(TrimSpace(part.substr(0, eq)));
    const std::string_view value = TrimSpace(part.substr(eq + 1));
    if (name.empty()) return BadPart(part, "name required");
    if (!IsClassName(name)) {
      return BadPart(part, "name must be 1..32 letters, digits, '_' or '-'");
    }
    if (!seen.insert(name).second) return BadPart(part, name + " given twice");
    if (name == kKeyTierClass) {
      if (!IsClassName(value)) {
        return BadPart(part, "class must be 1..32 letters, digits, '_' or '-'");
      }
      config.tier_key_follows = std::string(value);
      key_part = std::string(part);
      continue;
    }
    const std::optional<int> days = ParseDays(value);
    if (!days) {
      return BadPart(part, "days must be a whole number in " + std::to_string(kMinCadenceDays) +
                               ".." + std::to_string(kMaxCadenceDays));
    }
    if (name == kDefaultKey) {
      config.default_days = *days;
    } else {
      config.days_by_class[name] = *days;
    }
  }
  if (config.days_by_class.count(config.tier_key_follows) == 0) {
    return BadPart(key_part.empty() ? "key=" + config.tier_key_follows : key_part,
                   "no cadence for class " + config.tier_key_follows);
  }
  return config;
}

}  // namespace crm::interaction
