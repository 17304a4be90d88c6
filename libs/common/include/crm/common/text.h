// Text helpers for validating and normalising user input (UTF-8).
//
//   if (!crm::Utf8Length(name)) return InvalidField("name", "not valid UTF-8");
//   record.set_name(crm::Trimmed(name));   // "\u3000华为 " -> "华为"
//
// White space here means ASCII white space (space, \t, \n, \r, \f, \v), U+00A0
// (no-break space) and U+3000 (ideographic space, common in Chinese input).
//
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace crm {

// Number of code points, or std::nullopt when `text` is not valid UTF-8
// (stray continuation bytes, truncated sequences, overlong forms, UTF-16
// surrogates, values above U+10FFFF).
std::optional<size_t> Utf8Length(std::string_view text);

// `text` without leading and trailing white space (as defined above).
std::string_view TrimSpace(std::string_view text);
// TrimSpace as an owned string.
std::string Trimmed(std::string_view text);
// True when `text` is empty or only white space.
bool IsBlank(std::string_view text);

}  // namespace crm
