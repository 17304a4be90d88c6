// librdkafka helpers shared by the relay and the consumer runner (private).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/messaging/cloudevents.h"
#include "librdkafka/rdkafka.h"

namespace crm::messaging::internal {

using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// A configuration with bootstrap servers, librdkafka's log lines routed to the
// suite's JSON log, then `defaults`, `overrides` and the process's security
// properties (UseKafkaSecurity, kafka_security.h) applied in that order. Every
// librdkafka configuration of the library is built here.
// INVALID_ARGUMENT names a property librdkafka refused.
absl::StatusOr<ConfPtr> MakeConf(const std::string& brokers, const KafkaProperties& defaults,
                                 const KafkaProperties& overrides);

// The key, value and headers of a consumed message.
KafkaRecord RecordOf(const rd_kafka_message_t* msg);

}  // namespace crm::messaging::internal
