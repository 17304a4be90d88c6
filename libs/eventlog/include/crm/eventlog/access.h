// Who may read a service's whole event log (EventLogService.StreamEvents, and
// crm-customer's CustomerService.StreamEvents): callers with the `admin` role
// only. A `service` token does not (issue 18, least privilege: the log holds every
// customer's events); a consumer's catch-up (--catch_up_from) shows an admin
// token (--catch_up_token_file). Pure; no gRPC here, so an app layer can ask too.
//
//   RETURN_IF_ERROR(eventlog::CheckAccess(who));
#pragma once

#include "absl/status/status.h"
#include "crm/auth/principal.h"

namespace crm::eventlog {

// PERMISSION_DENIED "the event log is for admin callers" unless `who` has the
// admin role.
absl::Status CheckAccess(const auth::Principal& who);

}  // namespace crm::eventlog
