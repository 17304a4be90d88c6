// Early-return helpers for absl::Status and absl::StatusOr.
//
// Abseil 20220623 ships no status macros, so the suite defines them once here.
//
//   absl::Status Save(const Customer& c) {
//     RETURN_IF_ERROR(Validate(c));
//     ASSIGN_OR_RETURN(auto version, store->Append(...));
//     ...
//   }
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CRM_STATUS_CONCAT_INNER_(a, b) a##b
#define CRM_STATUS_CONCAT_(a, b) CRM_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                                \
  do {                                                       \
    if (absl::Status crm_status_ = (expr); !crm_status_.ok()) \
      return crm_status_;                                    \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, otherwise
// moves the value into `lhs` (which may be a declaration such as `auto x`).
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  CRM_ASSIGN_OR_RETURN_IMPL_(CRM_STATUS_CONCAT_(crm_statusor_, __LINE__), lhs, rexpr)

#define CRM_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
