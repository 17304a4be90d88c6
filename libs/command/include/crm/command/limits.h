// The checks the command pipeline makes of every request before it loads or
// writes anything, and the helpers it names commands with: bounds on ids and
// repeated fields, the field to blame for an oversized event, a request's
// fingerprint and a command id's key scoped to caller and RPC.
//
//   RETURN_IF_ERROR(CheckBounds(request, limits));   // INVALID_ARGUMENT naming the field
//   std::string field = LargestField(request);       // "contact.personal.hobbies"
//
// All functions are pure and thread-safe; each costs time linear in the size of
// the message it is given.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace crm::command {

struct Limits {
  // Largest serialized payload of one event. Kafka's default message limit is
  // 1 MB; a record also carries its key and headers, so this stays well under.
  size_t max_event_bytes = 256 << 10;
  // Most bytes of an id: a string field named "id" or "<something>_id".
  size_t max_id_bytes = 256;
  // Most elements of any repeated field of a request (domains set tighter ones).
  size_t max_repeated = 1000;
};

// Every id field at most limits.max_id_bytes, every repeated field at most
// limits.max_repeated elements, at any depth. INVALID_ARGUMENT "<path>: at most
// N bytes" / "<path>: at most N items", the path as clients write it
// ("contacts[2].contact_id").
absl::Status CheckBounds(const google::protobuf::Message& request, const Limits& limits);

// The path of the field that contributes most to the message's encoded size:
// the largest field, into the largest element of a repeated message field when
// that element holds most of it, down to a scalar or string ("" for an empty
// message). Names the field at fault when an event would be too large.
std::string LargestField(const google::protobuf::Message& message);

// A digest of the request (SHA-256 of its deterministic serialization): a replay
// under the same command id must carry the same request.
std::string Fingerprint(const google::protobuf::Message& request);

// The idempotency key of a command id: scoped to the RPC and to the caller, so
// the same id from another caller or for another RPC is another command.
// Subjects longer than 256 bytes are represented by their digest.
std::string ScopedCommandKey(std::string_view rpc, std::string_view subject,
                             std::string_view command_id);

// A list request's page_size: `default_size` when 0 (unset), else 1..kMaxPageSize;
// INVALID_ARGUMENT "page_size: must be 1..500" otherwise. One rule for every list.
inline constexpr int kMaxPageSize = 500;
absl::StatusOr<size_t> PageSize(int requested, size_t default_size);

}  // namespace crm::command
