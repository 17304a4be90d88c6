// Which consumed events are new: the one dedupe decision of every consumer (the
// Kafka consumer runner and the StreamEvents catch-up).
//
// A producing store numbers its events with gap-free global positions, and it
// has an incarnation (EventStore::Incarnation) that changes when the store is
// restored from a backup: the restored store reuses the positions after its
// checkpoint. So a consumer keeps, per (group, topic, key), the last position it
// applied for each incarnation it has seen (a row of "$dedupe"), and applies an
// event iff its position is above the last one of ITS incarnation. Replays and
// duplicates of an incarnation are dropped; a restored producer's new events are
// applied.
//
//   ASSIGN_OR_RETURN(std::optional<ProjectionWrite> record,
//                    DecideDedupe(view, "crm-ticket", topic, event));
//   if (!record) return;                        // seen: skip
//   ... handle the event, then commit *record with the handler's writes ...
//
// The row keeps the last kMaxDedupeIncarnations incarnations (the most recently
// applied last); an older one is forgotten, and its replays would apply again.
// Rows written before incarnations ("<position>") read as incarnation "".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/consumer_runner.h"

namespace crm::messaging {

inline constexpr size_t kMaxDedupeIncarnations = 8;
inline constexpr size_t kMaxIncarnationBytes = 64;

// Whether `incarnation` can be an incarnation: "" (events from before
// incarnations) or up to 64 bytes of [0-9A-Za-z._-] (a UUIDv7 in practice).
bool IsValidIncarnation(std::string_view incarnation);

// The positions one dedupe row holds: (incarnation, last applied position),
// the most recently applied last.
class DedupeRow {
 public:
  // Parses a stored row (std::nullopt = no row). DATA_LOSS for a corrupt one.
  static absl::StatusOr<DedupeRow> Parse(const std::optional<std::string>& row);

  // Whether an event at `position` of `incarnation` is above the last one applied.
  bool IsNew(std::string_view incarnation, uint64_t position) const;
  // Records `position` as the last applied of `incarnation` (most recent now),
  // forgetting the oldest incarnation beyond kMaxDedupeIncarnations.
  void Record(std::string_view incarnation, uint64_t position);
  // The row's stored form: "<position>[@<incarnation>]" entries joined by ','.
  std::string Serialize() const;

  const std::vector<std::pair<std::string, uint64_t>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, uint64_t>> entries_;
};

// The key of the dedupe row of `group` for `topic` and partition key `key`.
std::string DedupeKey(std::string_view group, std::string_view topic, std::string_view key);

// The decision for `event` (its incarnation, global_position and partition_key)
// consumed by `group` from `topic`, reading the row through `view`: std::nullopt
// when it was applied before (skip it), else the "$dedupe" write that records it,
// to be committed together with the handler's writes.
// Errors: DATA_LOSS for a corrupt row, INVALID_ARGUMENT for a malformed
// incarnation, a read error as is.
absl::StatusOr<std::optional<eventstore::ProjectionWrite>> DecideDedupe(
    const BatchView& view, std::string_view group, std::string_view topic,
    const eventstore::EventEnvelope& event);

}  // namespace crm::messaging
