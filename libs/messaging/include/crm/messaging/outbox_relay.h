// The outbox relay: publishes a service's events from its event store's outbox
// to Kafka, in global-position order, and marks them published only after Kafka
// acknowledged them.
//
//   ASSIGN_OR_RETURN(auto relay, OutboxRelay::Start(*store, {
//       .brokers = flags.kafka_brokers, .topic = std::string(kCustomerTopic),
//       .source = "crm-customer"}));
//   // Every synced group commit wakes the relay (it listens to the store).
//   ... on shutdown: relay->Flush(absl::Seconds(10)); relay.reset();
//
// Records: key = the event's partition key (the customer id), value = the payload,
// CloudEvents binary-mode headers (see cloudevents.h). The producer is idempotent
// (enable.idempotence, acks=all) with no local delivery timeout: while the broker
// is down records wait, appends keep succeeding, the outbox grows, and publishing
// resumes by itself. A failed delivery rewinds to the published cursor and sends
// again, so a record may reach Kafka twice; consumers drop such duplicates (the
// consumer runner does, by position per key).
//
// Metrics (in options.metrics): crm_outbox_backlog{topic},
// crm_outbox_published_total{topic}, crm_outbox_delivery_errors_total{topic}.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/eventstore/event_store.h"
#include "crm/runtime/metrics.h"

namespace crm::messaging {

struct OutboxRelayOptions {
  std::string brokers;  // bootstrap servers, "host:port,..."
  std::string topic;    // e.g. "crm.customer.v1.events"
  std::string source;   // ce_source, e.g. "crm-customer"
  // Records handed to the producer but not yet acknowledged, at most.
  size_t max_in_flight = 20000;
  // Outbox entries read per store read.
  size_t read_batch = 1000;
  // How often an idle relay looks at the outbox without a Notify().
  absl::Duration idle_interval = absl::Milliseconds(50);
  // Wait before sending again after a failed delivery.
  absl::Duration retry_backoff = absl::Milliseconds(500);
  // Extra librdkafka properties, applied last (e.g. security settings).
  std::vector<std::pair<std::string, std::string>> kafka_properties;
  runtime::MetricsRegistry* metrics = &runtime::MetricsRegistry::Default();
};

// Lifecycle: Start() runs a background thread until Stop() or destruction.
// Thread safety: Notify, Flush, Backlog and Stop may be called from any thread.
// `store` must outlive the relay.
class OutboxRelay {
 public:
  // INVALID_ARGUMENT for missing options or a property librdkafka refuses.
  static absl::StatusOr<std::unique_ptr<OutboxRelay>> Start(eventstore::EventStore& store,
                                                            OutboxRelayOptions options);
  virtual ~OutboxRelay() = default;

  // Tells the relay new entries may be in the outbox. The relay registers itself
  // as the store's commit listener and calls this on every commit, so writers
  // never need to.
  virtual void Notify() = 0;
  // Waits until everything committed before the call is published.
  // DEADLINE_EXCEEDED when `timeout` passes first.
  virtual absl::Status Flush(absl::Duration timeout) = 0;
  // Outbox entries not yet published.
  virtual uint64_t Backlog() const = 0;
  // Stops the thread; records in flight stay in the outbox and go out next start.
  virtual void Stop() = 0;
};

// For service binaries: starts a relay publishing to `topic` when `brokers` is set;
// with no brokers logs that events stay in the outbox and returns nullptr.
absl::StatusOr<std::unique_ptr<OutboxRelay>> StartRelayIfConfigured(eventstore::EventStore& store,
                                                                    const std::string& brokers,
                                                                    std::string_view topic,
                                                                    std::string_view source);

// On shutdown: publishes what is left (up to `timeout`, logging when it cannot)
// and stops the relay. Safe on nullptr.
void FlushAndStop(std::unique_ptr<OutboxRelay>& relay, absl::Duration timeout);

}  // namespace crm::messaging
