// Rebuilding a service's read models from its own log: each aggregate's rows are
// exactly what its commands wrote, so replaying its events through the same
// Aggregate parts (apply, rows) gives them again. For EventStore::RebuildProjections
// (crm-<svc> --rebuild_projections).
//
//   AggregateProjector<CustomerAggregate> projector(kCustomerAggregate);
//   store.RebuildProjections(projector, {"customers", "customer_index", ...});
//   // several aggregates in one pass:
//   Projectors both({std::make_shared<AggregateProjector<TicketAggregate>>(kTicket),
//                    std::make_shared<AggregateProjector<SlaConfigAggregate>>(kSlaConfig)});
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crm/common/proto_time.h"
#include "crm/eventstore/event_store.h"

namespace crm::command {

// The rows of one aggregate's events (other streams write nothing): the state
// before each event is read back from the aggregate's state projection as rebuilt
// so far. A has the members of command::Aggregate.
template <typename A>
class AggregateProjector final : public eventstore::ProjectionSetProjector {
 public:
  // `aggregate` must outlive the projector.
  explicit AggregateProjector(const A& aggregate) : aggregate_(aggregate) {}

  absl::Status Project(const eventstore::EventEnvelope& e, const eventstore::ProjectionReader& rows,
                       std::vector<eventstore::ProjectionWrite>& out) const override {
    if (!absl::StartsWith(e.stream_id(), aggregate_.stream_prefix)) return absl::OkStatus();
    const std::string id = e.stream_id().substr(aggregate_.stream_prefix.size());
    typename A::Event event;
    if (!event.ParseFromString(e.payload())) {
      return absl::DataLossError(absl::StrCat("corrupt ", aggregate_.name, " event at position ",
                                              e.global_position()));
    }
    typename A::State before;
    if (!aggregate_.state_projection.empty()) {
      absl::StatusOr<std::optional<std::string>> row = rows.Get(aggregate_.state_projection, id);
      if (!row.ok()) return row.status();
      if (*row && !before.ParseFromString(**row)) {
        return absl::DataLossError(absl::StrCat("corrupt rebuilt row of ", aggregate_.name, " ", id));
      }
    }
    typename A::State after = before;
    const absl::Time at = FromProtoTimestamp(e.occurred_at());
    aggregate_.apply(after, event, {e.stream_version(), at, e.actor()});
    for (eventstore::ProjectionWrite& w : aggregate_.rows(before, after, {event}, at)) {
      out.push_back(std::move(w));
    }
    return absl::OkStatus();
  }

 private:
  const A& aggregate_;
};

// Several projectors in one pass over the log, each event through each of them.
class Projectors final : public eventstore::ProjectionSetProjector {
 public:
  explicit Projectors(std::vector<std::shared_ptr<const eventstore::ProjectionSetProjector>> all)
      : all_(std::move(all)) {}

  absl::Status Project(const eventstore::EventEnvelope& e, const eventstore::ProjectionReader& rows,
                       std::vector<eventstore::ProjectionWrite>& out) const override {
    for (const auto& p : all_) {
      if (absl::Status s = p->Project(e, rows, out); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  std::vector<std::shared_ptr<const eventstore::ProjectionSetProjector>> all_;
};

}  // namespace crm::command
