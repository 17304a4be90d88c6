// Paging through an index projection: rows whose keys start with a prefix, in key
// order, resumed from an opaque page token. One implementation for every list RPC,
// and the sealed page tokens of every paged read (lists and histories alike).
//
//   ASSIGN_OR_RETURN(std::string next, WalkIndex(store, "customer_index", prefix,
//       {.page_size = 50, .page_token = req.page_token(),
//        .binding = command::PageBinding("ListCustomers", req, who)},
//       [&](const std::string& key) -> absl::StatusOr<WalkStep> {
//         ... load the row the key points to, filter ...
//         return WalkStep::kKept;   // or kSkipped, or kStop
//       }));
//
// A page token is sealed (AES-256-GCM with the store's PageTokenKey): its
// plaintext is the position to resume after, its associated data the list's
// binding (the RPC, its filters and the caller: command::PageBinding) and what the
// walk covers. A token is opaque to the caller and only opens for the same list,
// filters, caller and store; any other (foreign, altered, truncated, of another
// caller) is INVALID_ARGUMENT "page_token: not a token of this list", and the
// token is never echoed. docs/adr/0010-sealed-page-tokens.md.
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
  // What the token is bound to: the list, its filters and the caller
  // (command::PageBinding); a token made under another binding does not open.
  // Callers that page for themselves (a worker's scan) name their scan.
  std::string binding;
  // Keys visited per call at most, so a call stays cheap when few rows match;
  // the page may then be short, with a next token.
  size_t max_examined = 5000;
};

// Visits keys of `projection` starting with `prefix` after the token until
// `page_size` rows were kept, `max_examined` keys were visited, the prefix is
// exhausted or `visit` says kStop. Returns the next page token ("" when the walk
// is complete), sealed under options.binding, the projection and the prefix. Its
// position is the key of the last row returned when the page is full; when
// `max_examined` cut the page short it is the last key examined, so that a sparse
// list still moves on (that key stays inside the sealed token). INVALID_ARGUMENT
// "page_token: not a token of this list" for any token that does not open.
absl::StatusOr<std::string> WalkIndex(
    EventStore& store, std::string_view projection, const std::string& prefix,
    const WalkOptions& options,
    const std::function<absl::StatusOr<WalkStep>(const std::string& key)>& visit);

// One page of a stream's events, oldest first, for the history reads.
struct StreamPage {
  std::vector<EventEnvelope> events;
  std::string next_page_token;  // "" on the last page
};

// Reads up to options.page_size events of `stream` after the token's position
// (the version of the last event of the previous page). The next token is sealed
// under options.binding and the stream. INVALID_ARGUMENT as WalkIndex.
absl::StatusOr<StreamPage> ReadStreamPage(EventStore& store, std::string_view stream,
                                          const WalkOptions& options);

// The sealing itself, for a paged read that walks in its own way (a merge of
// several indexes): `position` sealed with the store's key under `binding` (the
// caller's binding and whatever else the position depends on). Web-safe base64,
// about 40 bytes longer than the position. INTERNAL only if OpenSSL fails.
absl::StatusOr<std::string> SealPageToken(const EventStore& store, std::string_view binding,
                                          std::string_view position);

// The position sealed in `token` under `binding`. INVALID_ARGUMENT "page_token:
// not a token of this list" for a token that does not open: sealed under another
// binding or by another store, altered, truncated, or not a token at all.
absl::StatusOr<std::string> OpenPageToken(const EventStore& store, std::string_view binding,
                                          std::string_view token);

// The writes that move an index from `old_keys` to `new_keys` (values ""): a
// delete for each old key no longer there, a put for each new one. Appended to
// `out`. For the index rows a projection keeps next to its state rows.
void IndexKeyWrites(std::string_view projection, const std::vector<std::string>& old_keys,
                    const std::vector<std::string>& new_keys, std::vector<ProjectionWrite>& out);

// `t` as 8 big-endian bytes that sort like the time (microseconds, biased to be
// unsigned); newest_first inverts the order. For time-ordered index keys.
std::string TimeKey(absl::Time t, bool newest_first = false);

}  // namespace crm::eventstore
