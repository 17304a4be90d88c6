// Identifier generation.
//
//   std::string id = crm::NewId();  // "0190c2a4-7b1e-7c3d-8f00-1a2b3c4d5e6f"
#pragma once

#include <string>

#include "absl/time/time.h"

namespace crm {

// Returns a new UUID version 7 (RFC 9562): 48 bits of Unix milliseconds followed
// by random bits, so ids sort roughly by creation time. Thread-safe.
std::string NewId();

// As NewId, with the timestamp part taken from `now` (for injected clocks).
std::string NewIdAt(absl::Time now);

}  // namespace crm
