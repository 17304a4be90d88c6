// How a stored event becomes a Kafka record and back: CloudEvents Kafka protocol
// binding, binary mode (https://github.com/cloudevents/spec, kafka-protocol-binding).
//
//   KafkaRecord record = ToKafkaRecord(envelope, "crm-customer");
//   // record.key == envelope.partition_key() (the customer id)
//   // record.value == envelope.payload()      (the serialized domain event)
//   // record.headers: ce_specversion, ce_id, ce_source, ce_type, ce_subject,
//   //                 ce_time, content-type, and the crm extensions below
//   ASSIGN_OR_RETURN(EventEnvelope back, FromKafkaRecord(record));
//
// Extension attributes carry the rest of the envelope so that a consumer can
// rebuild it exactly: ce_crmstream, ce_crmversion, ce_crmposition, ce_crmactor,
// ce_crmcorrelation, ce_crmcausation, ce_crmschema, ce_crmcommand, and
// ce_crmincarnation (the producing store's incarnation; absent = "", records
// from before incarnations; a malformed one, see IsValidIncarnation in dedupe.h,
// makes the record undecodable).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/events/v1/envelope.pb.h"

namespace crm::messaging {

using ::crm::events::v1::EventEnvelope;

// The suite's topics, one per producing service.
inline constexpr std::string_view kCustomerTopic = "crm.customer.v1.events";
inline constexpr std::string_view kInteractionTopic = "crm.interaction.v1.events";
inline constexpr std::string_view kClassificationTopic = "crm.classification.v1.events";
inline constexpr std::string_view kTicketTopic = "crm.ticket.v1.events";

inline constexpr std::string_view kContentType = "application/protobuf";

struct KafkaRecord {
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The record the outbox relay produces for `event`; `source` is the ce_source
// (the producing service, e.g. "crm-customer").
KafkaRecord ToKafkaRecord(const EventEnvelope& event, std::string_view source);

// Rebuilds the envelope from a record produced by ToKafkaRecord.
// Errors: INVALID_ARGUMENT naming the missing or malformed header (a record from a
// producer that does not follow the binding).
absl::StatusOr<EventEnvelope> FromKafkaRecord(const KafkaRecord& record);

// Value of header `name` in `record`, or nullptr.
const std::string* FindHeader(const KafkaRecord& record, std::string_view name);

}  // namespace crm::messaging
