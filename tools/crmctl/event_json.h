// Turning consumed event records into JSON lines for people and scripts.
#pragma once

#include <string>
#include <string_view>

#include "crm/messaging/topic_reader.h"
#include "nlohmann/json.hpp"

namespace crm::crmctl {

// The protobuf message type of each topic's record values ("" when unknown).
std::string PayloadTypeForTopic(std::string_view topic);

// One JSON object for a record: topic, partition, offset, key, the CloudEvents
// attributes and envelope extensions, and "event" with the payload decoded from
// protobuf when its type is linked into this binary, else "payload_base64".
nlohmann::json RecordToJson(const messaging::TopicRecord& record);

}  // namespace crm::crmctl
