// An aggregate as it was at a past time: its stream's events up to then, folded
// with the aggregate's own apply (the same fold as the live rows), for `as_of`
// reads and reports.
//
//   ASSIGN_OR_RETURN(v1::Customer past, command::StateAsOf(Customers(), store, id, when));
//   if (past.version() == 0) ... // it did not exist yet
//
// A report taken at one time, over rows of the read model:
//
//   ASSIGN_OR_RETURN(command::ReportTime when, command::ReportTimeOf(req, clock.Now()));
//   ForEachRow(store, [&](const v1::Opportunity& row) -> absl::Status {
//     v1::Opportunity past;
//     ASSIGN_OR_RETURN(const v1::Opportunity* o,
//                      command::RowAsOf(Opportunities(), store, row.opportunity_id(), row,
//                                       FromProtoTimestamp(row.created_at()), when.as_of, past));
//     if (o != nullptr) report.Add(*o);
//     return absl::OkStatus();
//   });
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "crm/common/field_errors.h"
#include "crm/common/proto_time.h"
#include "crm/domain/aggregate.h"
#include "crm/domain/validation.h"
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
    aggregate.apply(
        state, event,
        domain::EventMeta{e.stream_version(), FromProtoTimestamp(e.occurred_at()), e.actor()});
  }
  return state;
}

// StateAsOf of an aggregate that must have existed then: NOT_FOUND "<aggregate
// name> <id> did not exist at the given time" otherwise (a GetX with as_of).
template <typename A>
absl::StatusOr<typename A::State> ExistingStateAsOf(const A& aggregate,
                                                    eventstore::EventStore& store,
                                                    const std::string& id, absl::Time as_of) {
  absl::StatusOr<typename A::State> state = StateAsOf(aggregate, store, id, as_of);
  if (state.ok() && state->version() == 0) {
    return absl::NotFoundError(
        absl::StrCat(aggregate.name, " ", id, " did not exist at the given time"));
  }
  return state;
}

// The time a report is taken at: the request's as_of, else now.
struct ReportTime {
  std::optional<absl::Time> as_of;  // set when the request names a time
  absl::Time at;                    // *as_of, else now
};

// A report request's `as_of` (a google.protobuf.Timestamp, optional): a valid
// timestamp not after `now`. INVALID_ARGUMENT "as_of: not a valid timestamp",
// "as_of: must not be in the future".
template <typename Req>
absl::StatusOr<ReportTime> ReportTimeOf(const Req& request, absl::Time now) {
  if (!request.has_as_of()) return ReportTime{.as_of = std::nullopt, .at = now};
  if (absl::Status s = domain::ValidateTimestamp("as_of", request.as_of()); !s.ok()) return s;
  const absl::Time as_of = FromProtoTimestamp(request.as_of());
  if (as_of > now) return InvalidField("as_of", "must not be in the future");
  return ReportTime{.as_of = as_of, .at = as_of};
}

// One read-model row of aggregate `id` as it was at `as_of` (std::nullopt: now,
// the row as it is), for a report over many rows that replays only those that
// changed since: `&row` when it has not changed since (its updated_at ≤ as_of);
// nullptr when it did not exist yet (`created_at`, the time of its first event,
// is after as_of); else its events up to as_of folded into `past` (StateAsOf),
// `&past`, or nullptr when there were none.
template <typename A>
absl::StatusOr<const typename A::State*> RowAsOf(const A& aggregate, eventstore::EventStore& store,
                                                 const std::string& id,
                                                 const typename A::State& row,
                                                 absl::Time created_at,
                                                 std::optional<absl::Time> as_of,
                                                 typename A::State& past) {
  if (!as_of || FromProtoTimestamp(row.updated_at()) <= *as_of) return &row;
  if (created_at > *as_of) return nullptr;
  absl::StatusOr<typename A::State> then = StateAsOf(aggregate, store, id, *as_of);
  if (!then.ok()) return then.status();
  if (then->version() == 0) return nullptr;
  past = *std::move(then);
  return &past;
}

}  // namespace crm::command
