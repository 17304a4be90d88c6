// Feeding consumed events to an EventHandler in unit tests without a broker: the
// store's committed rows as the runner's batch view (single-event batches), and
// one call that handles an event and commits its writes, as the runner would.
//
//   messaging::testing::HandleAndCommit(handler, *store, messaging::kCustomerTopic,
//                                       event.SerializeAsString(), ++position);
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/proto_time.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/consumer_runner.h"

namespace crm::messaging::testing {

class StoreView final : public BatchView {
 public:
  explicit StoreView(eventstore::EventStore& store) : store_(store) {}
  absl::StatusOr<std::optional<std::string>> Get(std::string_view projection,
                                                 std::string_view key) const override {
    return store_.GetProjection(projection, key);
  }

 private:
  eventstore::EventStore& store_;
};

// Handles one event (payload on `topic` at global `position`, occurred at
// `occurred_at` when given) and writes what the handler asked for; the handler's
// error otherwise.
inline absl::Status HandleAndCommit(EventHandler& handler, eventstore::EventStore& store,
                                    std::string_view topic, const std::string& payload,
                                    uint64_t position,
                                    std::optional<absl::Time> occurred_at = std::nullopt) {
  ConsumedEvent e;
  e.topic = std::string(topic);
  e.event.set_payload(payload);
  e.event.set_global_position(position);
  if (occurred_at) *e.event.mutable_occurred_at() = ToProtoTimestamp(*occurred_at);
  std::vector<eventstore::ProjectionWrite> writes;
  if (absl::Status s = handler.Handle(e, StoreView(store), writes); !s.ok()) return s;
  if (writes.empty()) return absl::OkStatus();
  return store.WriteProjections(writes);
}

}  // namespace crm::messaging::testing
