#include "crm/messaging/dead_letters.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crm/common/status_macros.h"
#include "crm/eventstore/index_walk.h"
#include "google/protobuf/descriptor.h"

namespace crm::messaging {

std::string DeadLetterTopicFor(std::string_view group_id) {
  std::string service(group_id);
  if (absl::StartsWith(service, "crm-")) service.erase(0, 4);
  return absl::StrCat("crm.", service, ".v1.dlq");
}

bool IsPermanentHandlerError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnimplemented:
      return true;
    default:
      return false;
  }
}

absl::Status ParsePayload(const ConsumedEvent& event, google::protobuf::Message& out) {
  const google::protobuf::Descriptor* type = out.GetDescriptor();
  if (!out.ParseFromString(event.event.payload())) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload: does not parse as ", type->full_name()));
  }
  const google::protobuf::OneofDescriptor* kind = type->FindOneofByName("kind");
  if (kind != nullptr && !out.GetReflection()->HasOneof(out, kind)) {
    return absl::UnimplementedError(absl::StrCat(
        "event type ", event.event.event_type(), ": unknown to this consumer (the ",
        type->full_name(),
        " payload has no kind it knows; from a newer producer? replay it after upgrading)"));
  }
  return absl::OkStatus();
}

std::string DeadLetterKey(std::string_view topic, int32_t partition, int64_t offset) {
  return absl::StrCat(std::string(topic), "/", absl::Dec(partition, absl::kZeroPad10), "/",
                      absl::Dec(offset, absl::kZeroPad20));
}

std::string DeadLetterId(const events::v1::DeadLetter& letter) {
  return absl::StrCat(letter.topic(), "/", letter.partition(), "/", letter.offset());
}

absl::StatusOr<std::string> DeadLetterKeyOfId(std::string_view id) {
  // The topic holds no '/', so the last two parts are the numbers.
  const std::vector<std::string> parts = absl::StrSplit(std::string(id), '/');
  int32_t partition = 0;
  int64_t offset = 0;
  if (parts.size() != 3 || parts[0].empty() || !absl::SimpleAtoi(parts[1], &partition) ||
      !absl::SimpleAtoi(parts[2], &offset) || partition < 0 || offset < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ids: '", std::string(id.substr(0, 300)),
                     "' is not a dead letter id (<topic>/<partition>/<offset>)"));
  }
  return DeadLetterKey(parts[0], partition, offset);
}

absl::StatusOr<DeadLetterPage> ListDeadLetters(eventstore::EventStore& store,
                                               std::string_view topic, size_t page_size,
                                               const std::string& page_token,
                                               const std::string& binding) {
  if (std::string(topic).find('/') != std::string::npos)
    return absl::InvalidArgumentError("topic: no '/' allowed");
  const std::string prefix = topic.empty() ? "" : absl::StrCat(std::string(topic), "/");
  eventstore::WalkOptions options;
  options.page_size = page_size == 0 ? 50 : page_size;
  options.page_token = page_token;
  options.binding = binding;
  DeadLetterPage page;
  ASSIGN_OR_RETURN(
      page.next_page_token,
      eventstore::WalkIndex(store, kDeadLettersProjection, prefix, options,
                            [&](const std::string& key) -> absl::StatusOr<eventstore::WalkStep> {
                              ASSIGN_OR_RETURN(std::optional<std::string> row,
                                               store.GetProjection(kDeadLettersProjection, key));
                              if (!row)
                                return eventstore::WalkStep::kSkipped;  // replayed meanwhile
                              events::v1::DeadLetter letter;
                              if (!letter.ParseFromString(*row)) {
                                return absl::DataLossError(
                                    absl::StrCat("corrupt dead-letter row ", key));
                              }
                              page.dead_letters.push_back(std::move(letter));
                              return eventstore::WalkStep::kKept;
                            }));
  return page;
}

}  // namespace crm::messaging
