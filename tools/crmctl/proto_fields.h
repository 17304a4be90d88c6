// Filling protobuf requests from command-line strings and printing responses,
// generically through reflection, so that one table of (flag -> field path)
// drives every RPC of a service.
//
//   crm::customer::v1::ChangeLifecycleRequest request;
//   RETURN_IF_ERROR(MergeJson(R"({"customer_id": "c-1"})", request));
//   RETURN_IF_ERROR(SetField(request, "lifecycle", "following"));  // LIFECYCLE_FOLLOWING
//   RETURN_IF_ERROR(SetField(request, "options.expected_version", "3"));
//   std::cout << ToJson(request) << "\n";
//
// All functions are stateless and thread-safe.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace crm::crmctl {

// Sets the singular field at dotted `path` (e.g. "contact.personal.email"),
// creating the parent messages on the way, from `value` converted by the
// field's type: strings as they are; integers in decimal; bools as
// true/false/1/0; enums by ParseEnumValue; google.protobuf.Timestamp as
// RFC 3339 ("2026-12-31T00:00:00Z") or a date ("2026-12-31", midnight UTC).
// INVALID_ARGUMENT when the path names no such field, passes through a
// repeated or non-message field, or the value does not convert.
absl::Status SetField(google::protobuf::Message& message, std::string_view path,
                      std::string_view value);

// Replaces the repeated scalar field at `path` with `values` (converted as by
// SetField). INVALID_ARGUMENT as for SetField, or when the field is not repeated.
absl::Status SetRepeatedField(google::protobuf::Message& message, std::string_view path,
                              const std::vector<std::string>& values);

// Replaces the repeated message field at `path` with one element per entry of
// `elements`, each setting (as by SetField) the (sub-path, value) pairs it
// lists: SetRepeatedMessages(request, "record.findings",
// {{{"department", "product"}, {"description", "late delivery"}}}).
// INVALID_ARGUMENT as for SetField, or when the field is not a repeated message.
absl::Status SetRepeatedMessages(
    google::protobuf::Message& message, std::string_view path,
    const std::vector<std::vector<std::pair<std::string, std::string>>>& elements);

// Appends `value` to the repeated string field at `path` unless it is already there.
absl::Status AddUniqueString(google::protobuf::Message& message, std::string_view path,
                             const std::string& value);

// Whether the field at `path` holds a non-default value (or, for a message,
// is present). False when the path does not exist.
bool FieldIsSet(const google::protobuf::Message& message, std::string_view path);

// The enum value named by `text`: the full name ("LIFECYCLE_FOLLOWING"), the
// name without the enum's prefix in any case, with '-' for '_' ("following",
// "legal-review"), an unambiguous start of such a name ("own" for
// TRANSACTION_PARTY_OWN_COMPANY), or the number. The prefix is the name of the
// value 0 without "UNSPECIFIED" (when the value 0 has another name, e.g.
// OPPORTUNITY_STATUS_ANY, the start up to '_' every value's name shares:
// "OPPORTUNITY_STATUS_"). INVALID_ARGUMENT listing the short names otherwise.
absl::StatusOr<int> ParseEnumValue(const google::protobuf::EnumDescriptor& type,
                                   std::string_view text);

// The short lower-case name of an enum value ("following"); the number as
// text for a value the descriptor does not know.
std::string EnumShortName(const google::protobuf::EnumDescriptor& type, int number);

// The short names of all values except the value 0 (UNSPECIFIED), joined by '|'.
std::string EnumShortNames(const google::protobuf::EnumDescriptor& type);

// An amount in major units ("1200.50", "-3", "0.5") in minor units at two
// decimals (120050, -300, 50). INVALID_ARGUMENT for more than two decimals,
// anything but digits and one '.', or an overflow.
absl::StatusOr<int64_t> ParseMajorUnits(std::string_view amount);

// Merges the proto3 JSON object `json` into `message` (fields use their proto
// or lowerCamel names; enums their full names or numbers). INVALID_ARGUMENT
// with the parser's message when it does not parse or names unknown fields.
absl::Status MergeJson(std::string_view json, google::protobuf::Message& message);

// `message` as one line of proto3 JSON with the proto field names
// ("customer_id"), fields at their default value left out.
std::string ToJson(const google::protobuf::Message& message);

// Writes the set fields of `message` as "name: value" lines, descending into
// sub-messages without a prefix (a response's WriteResponse becomes
// "version: 3" and "event_ids: e-1, e-2"). Enums by short name, timestamps in
// RFC 3339, repeated messages as their count.
void PrintFields(const google::protobuf::Message& message, std::ostream& out);

}  // namespace crm::crmctl
