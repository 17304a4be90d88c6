// Paging through an index projection: rows whose keys start with a prefix, in key
// order, resumed from an opaque page token. One implementation for every list RPC.
//
//   ASSIGN_OR_RETURN(std::string next, WalkIndex(store, "customer_index", prefix,
//       {.page_size = 50, .page_token = req.page_token()},
//       [&](const std::string& key) -> absl::StatusOr<WalkStep> {
//         ... load the row the key points to, filter ...
//         return WalkStep::kKept;   // or kSkipped, or kStop
//       }));
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/eventstore/event_store.h"

namespace crm::eventstore {

enum class WalkStep {
  kSkipped,  // the row did not match: go on
  kKept,     // the row is on the page
  kStop,     // nothing after this key can match: the walk is complete
};

struct WalkOptions {
  size_t page_size = 50;
  std::string page_token;  // "" = from the start
  // Keys visited per call at most, so a call stays cheap when few rows match;
  // the page may then be short, with a next token.
  size_t max_examined = 5000;
};

// Visits keys of `projection` starting with `prefix` after the token until
// `page_size` rows were kept, `max_examined` keys were visited, the prefix is
// exhausted or `visit` says kStop. Returns the next page token ("" when the walk
// is complete). INVALID_ARGUMENT "page_token: ..." for a token of another prefix.
absl::StatusOr<std::string> WalkIndex(
    EventStore& store, std::string_view projection, const std::string& prefix,
    const WalkOptions& options,
    const std::function<absl::StatusOr<WalkStep>(const std::string& key)>& visit);

// The writes that move an index from `old_keys` to `new_keys` (values ""): a
// delete for each old key no longer there, a put for each new one. Appended to
// `out`. For the index rows a projection keeps next to its state rows.
void IndexKeyWrites(std::string_view projection, const std::vector<std::string>& old_keys,
                    const std::vector<std::string>& new_keys, std::vector<ProjectionWrite>& out);

// `t` as 8 big-endian bytes that sort like the time (microseconds, biased to be
// unsigned); newest_first inverts the order. For time-ordered index keys.
std::string TimeKey(absl::Time t, bool newest_first = false);

}  // namespace crm::eventstore
