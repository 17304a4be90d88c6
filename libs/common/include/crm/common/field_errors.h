// Errors that name the request field at fault, in one format for every service:
// the message starts with the field path ("contact.personal.email: not an e-mail
// address"), which is what clients and tests match on.
//
//   return crm::InvalidField("basic.name", "required");
//   return crm::RefusedField("lifecycle", "already COOPERATING");
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace crm {

// "<field>: <what>".
inline std::string FieldMessage(std::string_view field, std::string_view what) {
  std::string message(field);
  message += ": ";
  message += what;
  return message;
}

// INVALID_ARGUMENT: the value is wrong whatever the state.
inline absl::Status InvalidField(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(FieldMessage(field, what));
}

// NOT_FOUND: the field names something that does not exist.
inline absl::Status FieldNotFound(std::string_view field, std::string_view what) {
  return absl::NotFoundError(FieldMessage(field, what));
}

// FAILED_PRECONDITION: the current state does not allow it.
inline absl::Status RefusedField(std::string_view field, std::string_view what) {
  return absl::FailedPreconditionError(FieldMessage(field, what));
}

// "<prefix>[<index>]", the path of a repeated field's element.
inline std::string Indexed(std::string_view prefix, int index) {
  return std::string(prefix) + "[" + std::to_string(index) + "]";
}

}  // namespace crm
