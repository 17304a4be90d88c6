// Debian's Abseil 20220623 is built with its own absl::string_view (not an
// alias of std::string_view), and the two do not convert implicitly. The
// suite's APIs take std::string_view; this bridges them at absl call sites.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace crm::runtime::internal {

inline absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view StdView(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace crm::runtime::internal
