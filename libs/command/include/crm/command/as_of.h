// An aggregate as it was at a past time: its stream's events up to then, folded
// with the aggregate's own apply (the same fold as the live rows), for `as_of`
// reads and reports.
//
//   ASSIGN_OR_RETURN(v1::Customer past, command::StateAsOf(Customers(), store, id, when));
//   if (past.version() == 0) ... // it did not exist yet
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "crm/common/proto_time.h"
#include "crm/domain/aggregate.h"
#include "crm/eventstore/event_store.h"

namespace crm::command {

// The state of aggregate `id` folded from the events that occurred at or before
// `as_of` (version 0 when none did). DATA_LOSS for an event that does not parse.
// A has the members of command::Aggregate.
template <typename A>
absl::StatusOr<typename A::State> StateAsOf(const A& aggregate, eventstore::EventStore& store,
                                            const std::string& id, absl::Time as_of) {
  absl::StatusOr<std::vector<eventstore::EventEnvelope>> events =
      store.ReadStreamAsOf(aggregate.stream_prefix + id, as_of);
  if (!events.ok()) return events.status();
  typename A::State state;
  for (const eventstore::EventEnvelope& e : *events) {
    typename A::Event event;
    if (!event.ParseFromString(e.payload())) {
      return absl::DataLossError(absl::StrCat("corrupt ", aggregate.name, " event"));
    }
    aggregate.apply(state, event,
                    domain::EventMeta{e.stream_version(), FromProtoTimestamp(e.occurred_at()),
                                      e.actor()});
  }
  return state;
}

}  // namespace crm::command
