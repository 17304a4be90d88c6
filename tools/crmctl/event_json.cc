#include "event_json.h"

#include <memory>

#include "absl/strings/escaping.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"

namespace crm::crmctl {

std::string PayloadTypeForTopic(std::string_view topic) {
  // crm.<domain>.v1.events carries crm.<domain>.v1.<Domain>Event.
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {"crm.customer.v1.events", "crm.customer.v1.CustomerEvent"},
      {"crm.interaction.v1.events", "crm.interaction.v1.InteractionEvent"},
      {"crm.classification.v1.events", "crm.classification.v1.ClassificationEvent"},
      {"crm.ticket.v1.events", "crm.ticket.v1.TicketEvent"},
  };
  for (const auto& [t, type] : kTypes) {
    if (t == topic) return std::string(type);
  }
  return "";
}

nlohmann::json RecordToJson(const messaging::TopicRecord& r) {
  nlohmann::json out = {{"topic", r.topic},
                        {"partition", r.partition},
                        {"offset", r.offset},
                        {"key", r.record.key}};
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, value] : r.record.headers) headers[name] = value;
  out["headers"] = headers;

  const google::protobuf::Descriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
          PayloadTypeForTopic(r.topic));
  if (descriptor != nullptr) {
    google::protobuf::DynamicMessageFactory factory;
    std::unique_ptr<google::protobuf::Message> message(factory.GetPrototype(descriptor)->New());
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (message->ParseFromString(r.record.value) &&
        google::protobuf::util::MessageToJsonString(*message, &json, options).ok()) {
      out["event"] = nlohmann::json::parse(json);
      return out;
    }
  }
  out["payload_base64"] = absl::Base64Escape(r.record.value);
  return out;
}

}  // namespace crm::crmctl
