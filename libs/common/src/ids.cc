#include "crm/common/ids.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/time/clock.h"

namespace crm {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void PutHex(std::string& out, uint64_t value, int nibbles) {
  for (int i = nibbles - 1; i >= 0; --i) out.push_back(kHex[(value >> (i * 4)) & 0xF]);
}

}  // namespace

std::string NewIdAt(absl::Time now) {
  // absl::BitGen is not thread-safe; one generator per thread.
  thread_local absl::BitGen gen;
  const uint64_t millis = static_cast<uint64_t>(absl::ToUnixMillis(now)) & 0xFFFFFFFFFFFFull;
  const uint64_t rand_a = absl::Uniform<uint64_t>(gen) & 0xFFF;             // 12 bits
  const uint64_t rand_b = absl::Uniform<uint64_t>(gen) & 0x3FFFFFFFFFFFFFFFull;  // 62 bits
  std::string out;
  out.reserve(36);
  PutHex(out, millis >> 16, 8);
  out.push_back('-');
  PutHex(out, millis & 0xFFFF, 4);
  out.push_back('-');
  PutHex(out, 0x7000 | rand_a, 4);
  out.push_back('-');
  PutHex(out, 0x8000 | (rand_b >> 48), 4);
  out.push_back('-');
  PutHex(out, rand_b & 0xFFFFFFFFFFFFull, 12);
  return out;
}

std::string NewId() { return NewIdAt(absl::Now()); }

}  // namespace crm
