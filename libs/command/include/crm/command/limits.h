// The checks made of every request before it is read or written with, and the
// helpers the pipeline names commands with: bounds on ids, strings and repeated
// fields (the bounds table: docs/limits.md), the field to blame for an oversized
// event, a request's fingerprint and a command id's key scoped to caller and RPC.
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
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace crm::command {

struct Limits {
  // Largest serialized payload of one event. Kafka's default message limit is
  // 1 MB; a record also carries its key and headers, so this stays well under.
  size_t max_event_bytes = 256 << 10;
  // Most bytes of an id (IsIdField): ids, subjects and regions end up in index
  // keys, error messages and other services' requests.
  size_t max_id_bytes = 256;
  // Most elements of a repeated field without a (crm.common.v1.max_items) of
  // its own (proto/crm/common/v1/bounds.proto).
  size_t max_repeated = 1000;
  // Most bytes of a page token (a field named `page_token` or `*_token`): a
  // sealed position, a few hundred bytes.
  size_t max_token_bytes = 4096;
  // Most bytes of any other string or bytes field. Above every text limit of
  // the domains (the longest, 10,000 characters, is at most 40,000 bytes), so
  // it only stops what no domain would take.
  size_t max_string_bytes = 64 << 10;
};

// True for a string field that holds an id: named `id`, `ids`, `key`, `*_id`, `*_ids`,
// `*_key`, `owner`, `region`, `regions`, `assignee` or `responsible`, or marked
// [(crm.common.v1.id) = true].
bool IsIdField(const google::protobuf::FieldDescriptor& field);

// The most elements `field` (a repeated field) may have: its
// (crm.common.v1.max_items), else limits.max_repeated.
size_t MaxItems(const google::protobuf::FieldDescriptor& field, const Limits& limits);

// Every field of the request at any depth within its bound: ids at most
// limits.max_id_bytes, page tokens at most limits.max_token_bytes, other strings
// at most limits.max_string_bytes, repeated fields at most MaxItems. The count of
// a repeated field is checked before any of its elements is looked at, so the
// cost is linear in the number of fields and elements set (string contents are
// never read). INVALID_ARGUMENT "<path>: at most N bytes" / "<path>: at most N
// items", the path as clients write it ("contacts[2].contact_id").
// command::Serve runs it on every request after authentication; the pipeline
// again for commands that do not come from an RPC.
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
