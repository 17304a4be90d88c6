#include "bearer.h"

#include <cctype>

namespace crm::auth::internal {
namespace {

constexpr std::string_view kWhitespace = " \t";
constexpr std::string_view kScheme = "bearer";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view TrimWhitespace(std::string_view s) {
  size_t begin = s.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kWhitespace) - begin + 1);
}

}  // namespace

absl::StatusOr<std::string_view> ParseBearer(std::string_view header) {
  std::string_view value = TrimWhitespace(header);
  if (value.empty()) return absl::UnauthenticatedError("missing bearer token");
  size_t space = value.find_first_of(kWhitespace);
  std::string_view scheme = value.substr(0, space);
  if (!EqualsIgnoreCase(scheme, kScheme)) {
    return absl::UnauthenticatedError("authorization is not a bearer token");
  }
  if (space == std::string_view::npos) return absl::UnauthenticatedError("missing bearer token");
  std::string_view token = TrimWhitespace(value.substr(space));
  if (token.empty()) return absl::UnauthenticatedError("missing bearer token");
  if (token.find_first_of(kWhitespace) != std::string_view::npos) {
    return absl::UnauthenticatedError("malformed bearer token");
  }
  return token;
}

}  // namespace crm::auth::internal
