// Reads a topic's records directly, without a consumer group: every partition,
// from the beginning or from the end. For tools (`crmctl events tail`) and tests.
//
//   ASSIGN_OR_RETURN(auto reader, TopicReader::Open(brokers, "crm.customer.v1.events",
//                                                   /*from_beginning=*/true));
//   while (true) {
//     ASSIGN_OR_RETURN(std::optional<TopicRecord> r, reader->Next(absl::Seconds(1)));
//     if (!r) break;  // nothing new within a second
//     ...
//   }
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/messaging/cloudevents.h"

namespace crm::messaging {

struct TopicRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  KafkaRecord record;
};

// Thread safety: one thread at a time.
class TopicReader {
 public:
  // NOT_FOUND when the topic does not exist, UNAVAILABLE when the brokers cannot
  // be reached within `timeout`.
  static absl::StatusOr<std::unique_ptr<TopicReader>> Open(
      const std::string& brokers, const std::string& topic, bool from_beginning,
      absl::Duration timeout = absl::Seconds(10),
      const std::vector<std::pair<std::string, std::string>>& kafka_properties = {});
  virtual ~TopicReader() = default;

  // The next record, or std::nullopt when none arrived within `timeout`.
  virtual absl::StatusOr<std::optional<TopicRecord>> Next(absl::Duration timeout) = 0;
  // Partitions of the topic.
  virtual int partitions() const = 0;
};

}  // namespace crm::messaging
