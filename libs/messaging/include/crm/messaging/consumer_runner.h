// The consumer runner: feeds other services' events from Kafka into this
// service's projections, effectively once.
//
//   class RevisitCadence : public EventHandler { ... };
//   RevisitCadence handler;
//   ASSIGN_OR_RETURN(auto runner, ConsumerRunner::Start(*store, handler, {
//       .brokers = flags.kafka_brokers, .group_id = "crm-interaction",
//       .topics = {std::string(kClassificationTopic)}}));
//
// For each polled batch the runner decodes every record into an EventEnvelope,
// asks the handler for the projection writes it causes, and commits those writes
// TOGETHER with the consumed offsets (as rows of the projection "$consumer") in
// one synced RocksDB write. On start and on every partition assignment it seeks
// to the offsets stored there, so the store, not Kafka, is the source of truth.
// Redelivered records (offset already stored) are skipped; so are records whose
// global position is not above the last one applied for the same topic, key and
// producer incarnation (rows of "$dedupe", dedupe.h), which drops the duplicates
// an outbox relay may produce after a rewind or a crash, and applies the new
// events of a producer restored from a backup.
//
// Failures (dead_letters.h): a record that does not decode, or that the handler
// refuses with a permanent error (IsPermanentHandlerError), is a dead letter:
// copied to the group's dead-letter topic and kept as a "$dead_letters" row in
// the same commit as the offset past it; none of its handler's writes are
// committed and consumption goes on with the next record. Any other error is
// transient: what the batch applied before the failing record is committed, and
// the rest is consumed again after a backoff (options.retry_backoff doubling up
// to max_retry_backoff); after unready_after_failures consecutive failures the
// runner blocks readiness "consumer/<group>" until a batch succeeds.
//
// Metrics (in options.metrics): crm_consumer_processed_total{group,topic},
// crm_consumer_skipped_total{group,topic}, crm_consumer_lag{group},
// crm_consumer_dead_letters_total{group,topic},
// crm_consumer_dead_letters_replayed_total{group}, crm_consumer_retrying{group}
// (1 while failing), crm_consumer_consecutive_failures{group}.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/eventstore/event_store.h"
#include "crm/runtime/metrics.h"
#include "crm/runtime/readiness.h"

namespace crm::messaging {

// One record as the handler sees it.
struct ConsumedEvent {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  eventstore::EventEnvelope event;
};

// A key unique to the consumed event across every topic, for handlers' queue rows:
// its event id (a UUIDv7 the producing store assigned), else "<topic>@<global
// position>". Global positions alone repeat across topics: each producing service
// numbers its own log, so two events of different topics can share one.
std::string EventToken(const ConsumedEvent& event);

// What a handler keeps of a consumed event in a work queue row, for a follow-up
// command that uses the event id as its command id: what every delivery of the
// event has alike (event_id = EventToken, event_type, occurred_at, actor,
// correlation_id, payload), not where it was read from, so that a redelivery is
// the same request.
eventstore::EventEnvelope QueuedCopy(const ConsumedEvent& event);

// Projection rows as they are, including the writes of earlier events of the
// batch being handled.
class BatchView {
 public:
  virtual ~BatchView() = default;
  virtual absl::StatusOr<std::optional<std::string>> Get(std::string_view projection,
                                                         std::string_view key) const = 0;
};

// The batch view the runner hands its handler: the batch's pending writes over
// the committed rows of `store` (over nothing when null). Tests use it to feed a
// handler batches the way the runner does, without a broker.
class PendingWritesView final : public BatchView {
 public:
  explicit PendingWritesView(eventstore::EventStore* store) : store_(store) {}
  absl::StatusOr<std::optional<std::string>> Get(std::string_view projection,
                                                 std::string_view key) const override;
  // Later reads of the batch see these writes (a delete reads as absent).
  void Apply(const eventstore::ProjectionWrite& write);
  void Apply(const std::vector<eventstore::ProjectionWrite>& writes);
  // The pending rows by (projection, key); std::nullopt = deleted.
  const std::map<std::pair<std::string, std::string>, std::optional<std::string>>& pending() const {
    return pending_;
  }

 private:
  eventstore::EventStore* store_;
  std::map<std::pair<std::string, std::string>, std::optional<std::string>> pending_;
};

// A service's reaction to consumed events. Must be deterministic (same events,
// same writes), so that a replay or a rebuild yields the same projection.
class EventHandler {
 public:
  virtual ~EventHandler() = default;
  // Appends to `out` the projection writes `event` causes. A permanent error
  // (IsPermanentHandlerError: the record is wrong) makes it a dead letter and
  // drops what it appended; any other error stops the batch at this record, which
  // is consumed again after a backoff (the records before it are committed).
  virtual absl::Status Handle(const ConsumedEvent& event, const BatchView& view,
                              std::vector<eventstore::ProjectionWrite>& out) = 0;
};

struct ConsumerOptions {
  std::string brokers;
  std::string group_id;             // one per consuming service, e.g. "crm-interaction"
  std::vector<std::string> topics;  // at least one
  size_t max_batch = 500;           // records per commit, at most
  absl::Duration poll_timeout = absl::Milliseconds(100);
  // After a transient failure the batch is consumed again after retry_backoff,
  // doubling per consecutive failure up to max_retry_backoff.
  absl::Duration retry_backoff = absl::Milliseconds(100);
  absl::Duration max_retry_backoff = absl::Seconds(30);
  // Consecutive failures after which readiness is blocked ("consumer/<group>").
  int unready_after_failures = 3;
  // Where dead letters are produced; "" = DeadLetterTopicFor(group_id).
  std::string dead_letter_topic;
  // How long a dead letter's delivery may take before its batch counts as failed.
  absl::Duration dead_letter_timeout = absl::Seconds(30);
  std::vector<std::pair<std::string, std::string>> kafka_properties;  // applied last
  runtime::MetricsRegistry* metrics = &runtime::MetricsRegistry::Default();
  runtime::Readiness* readiness = &runtime::Readiness::Default();
  // Called on the runner's thread after a batch that handled at least one record
  // was committed, e.g. to wake the worker that acts on the handler's rows at once
  // instead of at its next interval. Must be quick and must not call Stop().
  std::function<void()> on_committed;
};

// What ConsumerRunner::ReplayDeadLetters did. Ids are listed up to 1,000 each.
struct DeadLetterReplay {
  uint64_t replayed = 0;  // applied; their rows deleted
  uint64_t failed = 0;    // still dead letters, with the replay's reason
  std::vector<std::string> replayed_ids;
  std::vector<std::pair<std::string, std::string>> failures;  // id, reason
  std::vector<std::string> not_found_ids;                     // asked for, no row
};

// What ConsumerRunner::ResetOffsets did.
struct OffsetReset {
  uint64_t offsets_deleted = 0;                   // "$consumer" rows of the topic deleted
  std::vector<int32_t> partitions_rewound;        // assigned partitions now read from the start
  std::vector<int32_t> partitions_resumed;        // of those, the ones that had stalled
};

// Lifecycle: Start() runs a background thread until Stop() or destruction.
// Thread safety: every method may be called from any thread. `store` and `handler`
// must outlive the runner; the handler is called from the runner's thread only.
class ConsumerRunner {
 public:
  static absl::StatusOr<std::unique_ptr<ConsumerRunner>> Start(eventstore::EventStore& store,
                                                               EventHandler& handler,
                                                               ConsumerOptions options);
  virtual ~ConsumerRunner() = default;

  // Records handled and committed since start (duplicates not counted).
  virtual uint64_t Processed() const = 0;
  // Handles stored dead letters again (ids as DeadLetterId, or row keys; every
  // row when `all`), on the runner's thread between batches, through the same
  // decode and handler as consumed records. A success commits the handler's
  // writes and deletes the row in one write; a permanent failure keeps the row
  // with the new reason. A replayed record is applied even if later events of its
  // key were applied meanwhile (dead-lettering does not hold them back); the
  // key's "$dedupe" row is only ever raised. Errors: INVALID_ARGUMENT for a bad
  // id or neither ids nor all; UNAVAILABLE when stopping or on a transient
  // failure (what was replayed before it stays committed); DEADLINE_EXCEEDED when
  // not done within `timeout` (it may still finish).
  virtual absl::StatusOr<DeadLetterReplay> ReplayDeadLetters(const std::vector<std::string>& ids,
                                                             bool all, absl::Duration timeout) = 0;
  // Forgets the stored offsets of `topic` (every partition's "$consumer" row of
  // this group) and consumes its assigned partitions again from their beginning,
  // resuming the ones stalled because their offsets went backwards (below). The
  // "$dedupe" rows stay, so the replay applies only events not applied before.
  // Runs on the runner's thread between batches. Errors: NOT_FOUND when the
  // runner does not consume `topic`; UNAVAILABLE when stopping;
  // DEADLINE_EXCEEDED when not done within `timeout` (it may still finish).
  //
  // A partition stalls when its stored next offset is beyond its end (found at
  // assignment: the topic was recreated or the broker lost records) or when a
  // record below the stored offset arrives: the runner pauses it (the others go
  // on), sets crm_consumer_stalled{group,topic,partition} to 1, blocks readiness
  // "consumer/<topic>/<partition>" and logs consumer_partition_stalled with the
  // fix (crmctl admin reset-consumer-offsets), instead of skipping records.
  virtual absl::StatusOr<OffsetReset> ResetOffsets(std::string_view topic,
                                                   absl::Duration timeout) = 0;
  // Stops consuming; committed work stays, the rest is consumed on the next start.
  virtual void Stop() = 0;
};

// For service binaries: starts a runner consuming `topics` as member of `group_id`
// when `brokers` is set, with the group's session timeout at `session_timeout_ms`
// (--kafka_session_timeout_ms); returns nullptr when `brokers` is empty.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<ConsumerRunner> consumer,
//                    StartConsumerIfConfigured(*store, handler, flags.kafka_brokers,
//                                              "crm-ticket", {kCustomerTopic},
//                                              flags.kafka_session_timeout_ms));
// `on_committed` as in ConsumerOptions.
absl::StatusOr<std::unique_ptr<ConsumerRunner>> StartConsumerIfConfigured(
    eventstore::EventStore& store, EventHandler& handler, const std::string& brokers,
    std::string_view group_id, const std::vector<std::string_view>& topics, int session_timeout_ms,
    std::function<void()> on_committed = nullptr);

// The projection and key under which the runner stores a partition's next offset.
inline constexpr std::string_view kConsumerOffsetsProjection = "$consumer";
inline constexpr std::string_view kConsumerDedupeProjection = "$dedupe";

}  // namespace crm::messaging
