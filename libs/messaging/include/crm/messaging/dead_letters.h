// Dead letters: consumed records a consumer could not apply and will never be
// able to as it is (a poison record), parked so that consumption goes on.
//
//   // In a handler: a payload that does not parse, or of a kind this binary does
//   // not know, is a permanent error: the runner dead-letters the record.
//   customer::v1::CustomerEvent e;
//   RETURN_IF_ERROR(messaging::ParsePayload(event, e));
//
//   // For operators (libs/admin): the parked records, page by page.
//   ASSIGN_OR_RETURN(DeadLetterPage page, ListDeadLetters(store, "", 50, token, binding));
//
// The consumer runner (consumer_runner.h) dead-letters a record that does not
// decode (FromKafkaRecord fails) or that its handler refuses with a permanent
// error (IsPermanentHandlerError). It then
//   1. produces the record to the group's dead-letter topic (DeadLetterTopicFor:
//      "crm-ticket" -> "crm.ticket.v1.dlq"): key and value as consumed, the
//      original headers plus crm_dlq_reason, crm_dlq_topic, crm_dlq_partition,
//      crm_dlq_offset; idempotent producer, acks=all, waited for;
//   2. commits a row of projection "$dead_letters" (events::v1::DeadLetter: the
//      record's bytes, headers, reason and time) in the SAME write as the batch's
//      other records and the offset past it. A failed produce fails the batch
//      (nothing committed; retried), so a committed offset past a dead letter
//      always has its row, and its record on the topic at least once.
// ConsumerRunner::ReplayDeadLetters handles the rows again.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/events/v1/dead_letter.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/consumer_runner.h"
#include "google/protobuf/message.h"

namespace crm::messaging {

// The projection of a consumer's dead letters.
inline constexpr std::string_view kDeadLettersProjection = "$dead_letters";

// Headers the runner adds to a record it copies to the dead-letter topic.
inline constexpr std::string_view kDlqReasonHeader = "crm_dlq_reason";
inline constexpr std::string_view kDlqTopicHeader = "crm_dlq_topic";
inline constexpr std::string_view kDlqPartitionHeader = "crm_dlq_partition";
inline constexpr std::string_view kDlqOffsetHeader = "crm_dlq_offset";

// The dead-letter topic of a consumer group: the group's name without "crm-",
// "crm-ticket" -> "crm.ticket.v1.dlq" ("g" -> "crm.g.v1.dlq").
std::string DeadLetterTopicFor(std::string_view group_id);

// True when a handler's error says the record itself is wrong, so that no retry
// can succeed: INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, DATA_LOSS and
// UNIMPLEMENTED. The runner dead-letters the record and goes on. Every other
// code (UNAVAILABLE and INTERNAL from store I/O, ABORTED, RESOURCE_EXHAUSTED,
// NOT_FOUND, ...) is transient: the runner retries with backoff. Handlers must
// not return a permanent code for a failure of their own store reads.
bool IsPermanentHandlerError(const absl::Status& status);

// Parses `event`'s payload into `out`, the topic's event message (one with a
// oneof `kind`, e.g. customer::v1::CustomerEvent). Errors, both permanent:
// INVALID_ARGUMENT "payload: does not parse as <type>" when the bytes do not
// parse; UNIMPLEMENTED "event type <ce_type>: unknown to this consumer ..." when
// they parse but set no kind this binary knows (an event kind added by a newer
// producer: dead-lettered, replayable once the consumer is upgraded).
absl::Status ParsePayload(const ConsumedEvent& event, google::protobuf::Message& out);

// The row key of a dead letter: "<topic>/<partition, 10 digits>/<offset, 20
// digits>", so that rows sort by topic, partition and offset.
std::string DeadLetterKey(std::string_view topic, int32_t partition, int64_t offset);
// The id operators see and pass back: "<topic>/<partition>/<offset>".
std::string DeadLetterId(const events::v1::DeadLetter& letter);
// The row key of an id (or of a key). INVALID_ARGUMENT "ids: ..." when it is
// neither.
absl::StatusOr<std::string> DeadLetterKeyOfId(std::string_view id);

struct DeadLetterPage {
  std::vector<events::v1::DeadLetter> dead_letters;  // by topic, partition, offset
  std::string next_page_token;                       // "" on the last page
};

// A page of `store`'s dead letters of `topic` ("" = every topic), in id order
// (topic, partition, offset: oldest first within a partition). `page_size` 0
// means 50. The page token is sealed under `binding` (the list, its filter and
// the caller: command::PageBinding); INVALID_ARGUMENT for a token that does not
// open under it.
absl::StatusOr<DeadLetterPage> ListDeadLetters(eventstore::EventStore& store,
                                               std::string_view topic, size_t page_size,
                                               const std::string& page_token,
                                               const std::string& binding);

}  // namespace crm::messaging
