// Least privilege for the `service` role (issue 18; the table is in
// libs/auth/README.md, "Role x RPC"). A token with role `service` is what one of
// the suite's services shows another; through that role it may make only the
// calls some in-repo caller needs:
//   CustomerService.GetCustomer  the customer lookups of crm-interaction and
//                                crm-ticket (libs/directory, NewGrpcCustomerLookup).
// Every other RPC of every service is refused to a caller whose only role is
// `service` (PERMISSION_DENIED), and for a caller with more roles the `service`
// role is dropped before the app decides, so its other roles alone count.
// EventLogService.StreamEvents (and crm-customer's CustomerService.StreamEvents)
// is admin only (libs/eventlog CheckAccess); AdminService is admin only.
// The services' own reactions run as in-process principals with the service
// role; they do not come through here.
//
//   // In command::Serve, after authentication and admission:
//   RETURN_IF_ERROR(command::LimitServiceRole(who, "CustomerServiceImpl", "AssignOwner"));
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "crm/auth/principal.h"

namespace crm::command {

// The RPCs the service role reaches, "<Service>.<Method>" (the proto names).
inline constexpr std::string_view kServiceRoleRpcs[] = {"CustomerService.GetCustomer"};

// "<Service>.<Method>" of an adapter class and method name: a trailing "Impl" of the
// class dropped ("CustomerServiceImpl", "GetCustomer" -> "CustomerService.GetCustomer").
std::string RpcName(std::string_view service_class, std::string_view method);

// True when the service role may make `rpc` ("<Service>.<Method>").
bool ServiceRoleMayCall(std::string_view rpc);

// For a call of `rpc` by `who`: OK and `who` unchanged when `who` has no service
// role or the service role may make the call; otherwise, when `service` is the
// only role, PERMISSION_DENIED "the service role may not call <rpc>"; otherwise OK
// with the service role removed from `who`.
absl::Status LimitServiceRole(auth::Principal& who, std::string_view rpc);

}  // namespace crm::command
