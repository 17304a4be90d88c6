// An EventHandler for messaging tests: per partition key it keeps a count, the
// last global position and a hash chained over the event ids in the order they
// were applied, plus a total. Two runs over the same events yield the same rows
// only if they applied the same events, each once, in the same per-key order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crm/messaging/consumer_runner.h"

namespace crm::messaging::testing {

inline constexpr char kTestProjection[] = "test_rows";

class ChainingHandler final : public EventHandler {
 public:
  absl::Status Handle(const ConsumedEvent& e, const BatchView& view,
                      std::vector<eventstore::ProjectionWrite>& out) override {
    const std::string row_key = "key/" + e.event.partition_key();
    auto row = view.Get(kTestProjection, row_key);
    if (!row.ok()) return row.status();
    uint64_t count = 0, last = 0, hash = 14695981039346656037ull;
    if (row->has_value()) {
      std::vector<std::string> f = absl::StrSplit(**row, ':');
      if (f.size() != 3 || !absl::SimpleAtoi(f[0], &count) || !absl::SimpleAtoi(f[1], &last) ||
          !absl::SimpleAtoi(f[2], &hash)) {
        return absl::DataLossError("bad test row");
      }
    }
    if (e.event.global_position() <= last) {
      return absl::InternalError(absl::StrCat("out of order for ", row_key));
    }
    // FNV-1a: stable across processes (absl::Hash is seeded per process).
    for (char c : e.event.event_id()) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    out.push_back(eventstore::ProjectionWrite::Put(
        kTestProjection, row_key, absl::StrCat(count + 1, ":", e.event.global_position(), ":", hash)));
    auto total = view.Get(kTestProjection, "total");
    if (!total.ok()) return total.status();
    uint64_t n = 0;
    if (total->has_value() && !absl::SimpleAtoi(**total, &n)) return absl::DataLossError("total");
    out.push_back(eventstore::ProjectionWrite::Put(kTestProjection, "total", absl::StrCat(n + 1)));
    return absl::OkStatus();
  }
};

// The ChainingHandler's total of applied events in `store` (0 before the first;
// UINT64_MAX when the row cannot be read).
inline uint64_t ChainedTotal(eventstore::EventStore& store) {
  auto row = store.GetProjection(kTestProjection, "total");
  uint64_t n = 0;
  if (!row.ok() || (row->has_value() && !absl::SimpleAtoi(**row, &n))) return UINT64_MAX;
  return n;
}

// Events applied per partition key, from the ChainingHandler's rows (a row that
// cannot be read counts UINT64_MAX).
inline std::map<std::string, uint64_t> ChainedCountsByKey(eventstore::EventStore& store) {
  std::map<std::string, uint64_t> out;
  auto rows = store.ScanProjection(kTestProjection, "key/", "", SIZE_MAX);
  if (!rows.ok()) return out;
  for (const auto& [key, row] : *rows) {
    std::vector<std::string> f = absl::StrSplit(row, ':');
    uint64_t n = 0;
    out[key.substr(4)] = absl::SimpleAtoi(f[0], &n) ? n : UINT64_MAX;
  }
  return out;
}

}  // namespace crm::messaging::testing
