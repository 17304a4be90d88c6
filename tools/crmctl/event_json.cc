#include "event_json.h"

#include <memory>

#include "absl/strings/escaping.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/messaging/dead_letters.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/ticket/v1/ticket_events.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"

namespace crm::crmctl {
namespace {

// The generated pool knows a message type only when its .pb.cc is linked, and
// a static library's object is linked only when something uses it: the
// customer (and classification) service protos import their events protos,
// the interaction and ticket ones do not. Using the event types here keeps
// them in the binary whatever the command groups link.
void LinkEventTypes() {
  static const bool linked = [] {
    (void)interaction::v1::InteractionEvent::descriptor();
    (void)ticket::v1::TicketEvent::descriptor();
    (void)classification::v1::ClassificationEvent::descriptor();
    return true;
  }();
  (void)linked;
}

}  // namespace

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

  LinkEventTypes();
  std::string type = PayloadTypeForTopic(r.topic);
  // A dead-letter topic's record: decoded as a record of the topic it came from.
  const std::string* consumed_from = messaging::FindHeader(r.record, messaging::kDlqTopicHeader);
  if (type.empty() && consumed_from != nullptr) type = PayloadTypeForTopic(*consumed_from);
  const google::protobuf::Descriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
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
