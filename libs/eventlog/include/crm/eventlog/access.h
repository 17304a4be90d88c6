// Who may read a service's whole event log (EventLogService.StreamEvents, and
// crm-customer's CustomerService.StreamEvents): callers with the `service` or
// `admin` role. Pure; no gRPC here, so an app layer can ask too.
//
//   RETURN_IF_ERROR(eventlog::CheckAccess(who));
#pragma once

#include "absl/status/status.h"
#include "crm/auth/principal.h"

namespace crm::eventlog {

// PERMISSION_DENIED "the event log is for service and admin callers" unless
// `who` has the service or the admin role.
absl::Status CheckAccess(const auth::Principal& who);

}  // namespace crm::eventlog
