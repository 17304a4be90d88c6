// What every service's domain shares about aggregates: the metadata an appended
// event carries (EventMeta, handed to Apply) and the customer an aggregate of
// another service belongs to (CustomerRef: id, owner, region, the fields access
// and scoping read).
//
//   void Apply(v1::Interaction& state, const v1::InteractionEvent& event,
//              const domain::EventMeta& meta);   // meta.version, occurred_at, actor
//   DecidePlanVisit(request, id, domain::CustomerRef{"c-1", "alice", "north"}, ctx);
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace crm::domain {

// Who appended an event, when, and the stream version it got.
struct EventMeta {
  uint64_t version = 0;
  absl::Time occurred_at;
  std::string actor;
};

// A customer as far as access and scoping go. For an aggregate of another
// service (an interaction, a ticket) it is the customer it was created for, as
// the service resolved it (it exists and the caller may see it); owner and region
// are copied into the creating event for scoping.
struct CustomerRef {
  std::string customer_id;
  std::string owner;
  std::string region;
};

}  // namespace crm::domain
