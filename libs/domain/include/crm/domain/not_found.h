// The one answer for a customer a caller may not see and for one that does not
// exist (issue 18: no existence leaks). Every per-customer read and write of every
// service, and the lookups one service makes of another, answer an invisible
// customer with exactly this status, so code and message cannot tell the two apart.
//
//   if (!c || !visible) return domain::CustomerNotFound(id);
//   // An object of a customer (a ticket): absent, or its customer hidden, alike.
//   if (!t) return domain::ObjectNotFound("ticket", id);
//   RETURN_IF_ERROR(domain::HiddenObject(VisibleCustomer(...).status(), "ticket", id));
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace crm::domain {

// NOT_FOUND "customer <id> not found".
inline absl::Status CustomerNotFound(std::string_view customer_id) {
  std::string message = "customer ";
  message.append(customer_id).append(" not found");
  return absl::NotFoundError(message);
}

// NOT_FOUND "<kind> <id> not found" ("ticket t-1 not found"): an absent object of
// another service.
inline absl::Status ObjectNotFound(std::string_view kind, std::string_view id) {
  std::string message(kind);
  message.append(" ").append(id).append(" not found");
  return absl::NotFoundError(message);
}

// An object that belongs to a customer (a ticket, an interaction, an opportunity,
// a churn case), read through its customer's visibility (`customer_visibility`,
// e.g. directory::VisibleCustomer's status): a customer the caller may not see
// (NOT_FOUND there) makes the object answer ObjectNotFound, as if it did not
// exist, so neither the object nor its customer's id shows. Other statuses
// (OK, UNAVAILABLE, ...) pass through.
inline absl::Status HiddenObject(absl::Status customer_visibility, std::string_view kind,
                                 std::string_view id) {
  if (absl::IsNotFound(customer_visibility)) return ObjectNotFound(kind, id);
  return customer_visibility;
}

}  // namespace crm::domain
