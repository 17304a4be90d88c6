// Catching a consumer up from a producer's event log over gRPC instead of Kafka:
// for a consumer that starts after the producer's Kafka retention dropped what
// it needs (a new consuming service, a rebuilt projection). It reads
// crm.events.v1.EventLogService.StreamEvents of the producing service and feeds
// every event through the same dedupe (dedupe.h) and handler as ConsumerRunner,
// committing the handler's writes together with the "$dedupe" rows of the same
// (group, topic, key), one synced write per batch. Then the consumer continues
// from Kafka: ConsumerRunner with the same group drops every record the catch-up
// applied (same dedupe rows) and applies the rest.
//
//   ASSIGN_OR_RETURN(CatchUpResult r, CatchUpFromStream(*store, handler,
//       grpc::CreateChannel("crm-customer:50051", creds),
//       {.group = "crm-ticket", .topic = std::string(kCustomerTopic), .token = token}));
//   ASSIGN_OR_RETURN(auto runner, ConsumerRunner::Start(*store, handler,
//       {.brokers = ..., .group_id = "crm-ticket", .topics = {std::string(kCustomerTopic)}}));
//
// Run it while no ConsumerRunner of the same group consumes the topic (both
// write the same dedupe rows). Target `crm::messaging_catchup` (gRPC), apart from
// `crm::messaging`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/consumer_runner.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace crm::messaging {

struct CatchUpOptions {
  std::string group;  // the consumer group whose rows it writes, e.g. "crm-ticket"
  std::string topic;  // the producer's topic the group consumes, e.g. kCustomerTopic
  std::string token;  // bearer token with the `service` (or `admin`) role
  // First global position to read. The default reads the whole log: what was
  // applied before is dropped by the dedupe rows, so a catch-up can be repeated.
  uint64_t from_position = 1;
  size_t max_batch = 500;                      // events per commit, at most
  absl::Duration timeout = absl::Minutes(30);  // deadline of the whole stream
  // Called after each committed batch that handled an event.
  std::function<void()> on_committed;
};

struct CatchUpResult {
  uint64_t received = 0;  // events streamed
  uint64_t applied = 0;   // handled and committed
  uint64_t skipped = 0;   // applied before (dedupe)
  // The position after the last event received (from_position when none): where
  // a later catch-up of the same producer incarnation may start.
  uint64_t next_position = 0;
};

// Streams the producer's log on `channel` from options.from_position until it is
// caught up, applying each new event as ConsumerRunner would. Stops at the first
// error, the events before it committed: the stream's status (e.g.
// PERMISSION_DENIED, UNAVAILABLE), a store error, or a handler error (a
// permanent one, e.g. an event kind this build does not know, names the event's
// position; Kafka consumption dead-letters such a record instead).
// INVALID_ARGUMENT when group or topic is empty or max_batch is 0.
absl::StatusOr<CatchUpResult> CatchUpFromStream(eventstore::EventStore& store,
                                                EventHandler& handler,
                                                std::shared_ptr<grpc::Channel> channel,
                                                const CatchUpOptions& options);

}  // namespace crm::messaging
