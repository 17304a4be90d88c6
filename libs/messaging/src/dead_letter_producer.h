// The consumer runner's producer of dead letters to its dead-letter topic
// (private to libs/messaging; see dead_letters.h for the contract).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/events/v1/dead_letter.pb.h"
#include "kafka_util.h"

namespace crm::messaging::internal {

// Lifecycle: Open, then Produce from one thread at a time (the runner's).
class DeadLetterProducer {
 public:
  // An idempotent producer (acks=all) to `topic` whose records fail after
  // `timeout` (message.timeout.ms); `overrides` are applied last.
  // INVALID_ARGUMENT for a property librdkafka refuses.
  static absl::StatusOr<std::unique_ptr<DeadLetterProducer>> Open(const std::string& brokers,
                                                                  const std::string& client_id,
                                                                  std::string topic,
                                                                  absl::Duration timeout,
                                                                  const KafkaProperties& overrides);
  ~DeadLetterProducer();
  DeadLetterProducer(const DeadLetterProducer&) = delete;
  DeadLetterProducer& operator=(const DeadLetterProducer&) = delete;

  // Produces every letter (key and value as consumed, its headers plus
  // crm_dlq_reason/topic/partition/offset) and waits for all delivery reports.
  // UNAVAILABLE when one failed (at the latest after the timeout given to Open)
  // or `stopping` became true first; the letters may then still reach the topic
  // (at least once).
  absl::Status Produce(const std::vector<events::v1::DeadLetter>& letters,
                       const std::atomic<bool>& stopping);

  const std::string& topic() const { return topic_; }

 private:
  DeadLetterProducer(rd_kafka_t* producer, std::string topic, absl::Duration timeout)
      : producer_(producer), topic_(std::move(topic)), timeout_(timeout) {}
  static void DeliveryReport(rd_kafka_t*, const rd_kafka_message_t* msg, void*);

  rd_kafka_t* producer_;
  std::string topic_;
  absl::Duration timeout_;
};

}  // namespace crm::messaging::internal
