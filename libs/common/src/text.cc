#include "crm/common/text.h"

#include <cstdint>

namespace crm {
namespace {

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Length in bytes of the white-space character starting `text`, 0 if none.
size_t LeadingSpaceLength(std::string_view text) {
  if (text.empty()) return 0;
  if (IsAsciiSpace(text[0])) return 1;
  if (text.substr(0, 2) == "\xC2\xA0") return 2;      // U+00A0
  if (text.substr(0, 3) == "\xE3\x80\x80") return 3;  // U+3000
  return 0;
}

// Length in bytes of the white-space character ending `text`, 0 if none. Safe
// on valid UTF-8 because 0xC2 and 0xE3 are lead bytes, never continuations.
size_t TrailingSpaceLength(std::string_view text) {
  if (text.empty()) return 0;
  if (IsAsciiSpace(text.back())) return 1;
  if (text.size() >= 2 && text.substr(text.size() - 2) == "\xC2\xA0") return 2;
  if (text.size() >= 3 && text.substr(text.size() - 3) == "\xE3\x80\x80") return 3;
  return 0;
}

}  // namespace

std::optional<size_t> Utf8Length(std::string_view text) {
  size_t count = 0;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t extra;
    uint32_t code_point;
    if (c < 0x80) {
      extra = 0;
      code_point = c;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      code_point = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      code_point = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      code_point = c & 0x07;
    } else {
      return std::nullopt;  // continuation byte, overlong C0/C1, or F5..FF
    }
    if (i + extra >= text.size()) return std::nullopt;  // truncated sequence
    for (size_t k = 1; k <= extra; ++k) {
      const unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return std::nullopt;
      code_point = (code_point << 6) | (cc & 0x3F);
    }
    // Reject overlong encodings, UTF-16 surrogates and values above U+10FFFF.
    if ((extra == 2 && code_point < 0x800) || (extra == 3 && code_point < 0x10000) ||
        (code_point >= 0xD800 && code_point <= 0xDFFF) || code_point > 0x10FFFF) {
      return std::nullopt;
    }
    i += extra + 1;
    ++count;
  }
  return count;
}

std::string_view TrimSpace(std::string_view text) {
  while (size_t n = LeadingSpaceLength(text)) text.remove_prefix(n);
  while (size_t n = TrailingSpaceLength(text)) text.remove_suffix(n);
  return text;
}

std::string Trimmed(std::string_view text) { return std::string(TrimSpace(text)); }

bool IsBlank(std::string_view text) { return TrimSpace(text).empty(); }

}  // namespace crm
