#include "crm/eventstore/index_walk.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "crm/common/status_macros.h"

namespace crm::eventstore {

void IndexKeyWrites(std::string_view projection, const std::vector<std::string>& old_keys,
                    const std::vector<std::string>& new_keys, std::vector<ProjectionWrite>& out) {
  const auto contains = [](const std::vector<std::string>& v, const std::string& k) {
    return std::find(v.begin(), v.end(), k) != v.end();
  };
  for (const std::string& k : old_keys) {
    if (!contains(new_keys, k)) out.push_back(ProjectionWrite::Delete(std::string(projection), k));
  }
  for (const std::string& k : new_keys) {
    if (!contains(old_keys, k)) out.push_back(ProjectionWrite::Put(std::string(projection), k, ""));
  }
}

std::string TimeKey(absl::Time t, bool newest_first) {
  uint64_t v = static_cast<uint64_t>(absl::ToUnixMicros(t)) ^ (uint64_t{1} << 63);
  if (newest_first) v = ~v;
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xFF);
  return out;
}

absl::StatusOr<std::string> WalkIndex(
    EventStore& store, std::string_view projection, const std::string& prefix,
    const WalkOptions& options,
    const std::function<absl::StatusOr<WalkStep>(const std::string& key)>& visit) {
  std::string after;
  if (!options.page_token.empty() &&
      (!absl::WebSafeBase64Unescape(options.page_token, &after) ||
       !absl::StartsWith(after, prefix))) {
    return absl::InvalidArgumentError("page_token: not a token of this query");
  }
  size_t kept = 0, examined = 0;
  const size_t chunk = std::max<size_t>(options.page_size * 2, 64);
  while (kept < options.page_size && examined < options.max_examined) {
    ASSIGN_OR_RETURN(auto rows, store.ScanProjection(projection, prefix, after, chunk));
    for (const auto& [key, unused] : rows) {
      ASSIGN_OR_RETURN(WalkStep step, visit(key));
      if (step == WalkStep::kStop) return std::string();
      after = key;
      ++examined;
      if (step == WalkStep::kKept) ++kept;
      if (kept == options.page_size || examined >= options.max_examined) break;
    }
    // A short chunk read to its end: the prefix holds nothing more.
    if (rows.size() < chunk && (rows.empty() || after == rows.back().first) &&
        kept < options.page_size && examined < options.max_examined) {
      return std::string();
    }
  }
  return absl::WebSafeBase64Escape(after);
}

}  // namespace crm::eventstore
