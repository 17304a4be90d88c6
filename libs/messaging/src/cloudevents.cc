#include "crm/messaging/cloudevents.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "crm/common/proto_time.h"
#include "crm/messaging/dedupe.h"

namespace crm::messaging {
namespace {

constexpr char kTimeFormat[] = "%Y-%m-%d%ET%H:%M:%E*SZ";

std::string FormatTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FormatTime(kTimeFormat, FromProtoTimestamp(t), absl::UTCTimeZone());
}

absl::Status MissingHeader(std::string_view name) {
  return absl::InvalidArgumentError(absl::StrCat("header ", std::string(name), ": missing"));
}

absl::Status BadHeader(std::string_view name, const std::string& value) {
  return absl::InvalidArgumentError(
      absl::StrCat("header ", std::string(name), ": malformed value '", value, "'"));
}

}  // namespace

const std::string* FindHeader(const KafkaRecord& record, std::string_view name) {
  for (const auto& [key, value] : record.headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

KafkaRecord ToKafkaRecord(const EventEnvelope& event, std::string_view source) {
  KafkaRecord record;
  record.key = event.partition_key();
  record.value = event.payload();
  auto add = [&](std::string name, std::string value) {
    record.headers.emplace_back(std::move(name), std::move(value));
  };
  add("ce_specversion", "1.0");
  add("ce_id", event.event_id());
  add("ce_source", std::string(source));
  add("ce_type", event.event_type());
  add("ce_subject", event.partition_key());
  add("ce_time", FormatTimestamp(event.occurred_at()));
  add("content-type", std::string(kContentType));
  add("ce_crmstream", event.stream_id());
  add("ce_crmversion", absl::StrCat(event.stream_version()));
  add("ce_crmposition", absl::StrCat(event.global_position()));
  add("ce_crmschema", absl::StrCat(event.schema_version()));
  if (!event.actor().empty()) add("ce_crmactor", event.actor());
  if (!event.correlation_id().empty()) add("ce_crmcorrelation", event.correlation_id());
  if (!event.causation_id().empty()) add("ce_crmcausation", event.causation_id());
  if (!event.command_id().empty()) add("ce_crmcommand", event.command_id());
  if (!event.incarnation().empty()) add("ce_crmincarnation", event.incarnation());
  return record;
}

absl::StatusOr<EventEnvelope> FromKafkaRecord(const KafkaRecord& record) {
  auto required = [&](std::string_view name) -> absl::StatusOr<const std::string*> {
    const std::string* v = FindHeader(record, name);
    if (v == nullptr) return MissingHeader(name);
    return v;
  };
  auto number = [&](std::string_view name) -> absl::StatusOr<uint64_t> {
    absl::StatusOr<const std::string*> v = required(name);
    if (!v.ok()) return v.status();
    uint64_t n = 0;
    if (!absl::SimpleAtoi(**v, &n)) return BadHeader(name, **v);
    return n;
  };
  auto optional = [&](std::string_view name) -> std::string {
    const std::string* v = FindHeader(record, name);
    return v == nullptr ? std::string() : *v;
  };

  EventEnvelope e;
  const std::string* spec = FindHeader(record, "ce_specversion");
  if (spec == nullptr) return MissingHeader("ce_specversion");
  if (*spec != "1.0") return BadHeader("ce_specversion", *spec);
  for (auto [name, setter] :
       std::initializer_list<std::pair<std::string_view, void (EventEnvelope::*)(const std::string&)>>{
           {"ce_id", &EventEnvelope::set_event_id},
           {"ce_type", &EventEnvelope::set_event_type},
           {"ce_crmstream", &EventEnvelope::set_stream_id}}) {
    absl::StatusOr<const std::string*> v = required(name);
    if (!v.ok()) return v.status();
    (e.*setter)(**v);
  }
  absl::StatusOr<uint64_t> version = number("ce_crmversion");
  if (!version.ok()) return version.status();
  absl::StatusOr<uint64_t> position = number("ce_crmposition");
  if (!position.ok()) return position.status();
  absl::StatusOr<uint64_t> schema = number("ce_crmschema");
  if (!schema.ok()) return schema.status();
  e.set_stream_version(*version);
  e.set_global_position(*position);
  e.set_schema_version(static_cast<uint32_t>(*schema));

  absl::StatusOr<const std::string*> time = required("ce_time");
  if (!time.ok()) return time.status();
  absl::Time at;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, **time, &at, &error)) return BadHeader("ce_time", **time);
  *e.mutable_occurred_at() = ToProtoTimestamp(at);

  e.set_partition_key(record.key);
  e.set_payload(record.value);
  e.set_actor(optional("ce_crmactor"));
  e.set_correlation_id(optional("ce_crmcorrelation"));
  e.set_causation_id(optional("ce_crmcausation"));
  e.set_command_id(optional("ce_crmcommand"));
  // Absent in records of producers from before incarnations: incarnation "".
  e.set_incarnation(optional("ce_crmincarnation"));
  if (!IsValidIncarnation(e.incarnation())) return BadHeader("ce_crmincarnation", e.incarnation());
  return e;
}

}  // namespace crm::messaging
