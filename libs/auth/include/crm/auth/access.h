// Who may see which customer: the scope rules of DOMAIN.md §5 as pure functions
// (no I/O, no clock), so every path of every service (get, list, search,
// reports, streams) applies the same rules.
//
//   // Single customer (get, update, stream subscribe):
//   RETURN_IF_ERROR(crm::auth::CheckCustomerAccess(principal, scope_of(customer),
//                                                  clock.Now(), grants_for(customer_id)));
//
//   // Lists and searches filter server-side, so unreachable customers are never
//   // returned (not even counted):
//   crm::auth::ListScope scope = crm::auth::ScopeFor(principal);
//   // query: WHERE all OR region = scope.region OR owner = scope.owner
//   //        OR id IN (ids granted to scope.subject, checked with GrantAllows)
//
// The rules, for a caller with any combination of roles (the union applies):
//   executive, admin, service     -> every customer;
//   regional_manager              -> customers whose region equals the caller's region;
//   sales_rep, service_agent      -> customers whose owner equals the caller's subject;
//   anyone (even with no role)    -> a customer for which they hold an unexpired grant;
//   service_agent                 -> also a customer with an open (not closed) ticket
//                                    assigned to the caller (seed 004 §7.1; ServesCustomer).
// An empty caller region or subject never matches anything (a customer with no
// region is not "in" the region of a manager whose token has none).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "crm/auth/principal.h"

namespace crm::auth {

// What a service knows about a customer that matters for access.
struct CustomerScope {
  std::string customer_id;
  std::string owner;  // Subject of the responsible sales rep / service agent.
  std::string region;
};

// An approval, given by an executive or admin, letting `subject` reach one
// customer until `expires_at` (exclusive).
struct AccessGrant {
  std::string subject;
  std::string customer_id;
  absl::Time expires_at;
};

// True when `grant` lets `subject` reach `customer_id` at `now`: both match
// exactly, neither is empty, and now < expires_at.
bool GrantAllows(const AccessGrant& grant, std::string_view subject, std::string_view customer_id,
                 absl::Time now);

// OK when `principal` may access `customer` at `now` under the rules above.
// `grants_for_customer` are the grants recorded for this customer (grants for
// other customers or subjects are ignored, so passing more is harmless).
// Otherwise PERMISSION_DENIED("caller may not access customer <id>"). Whether a
// denial should be reported as NOT_FOUND instead, to hide that the customer
// exists, is the calling service's decision.
absl::Status CheckCustomerAccess(const Principal& principal, const CustomerScope& customer,
                                 absl::Time now,
                                 const std::vector<AccessGrant>& grants_for_customer);

// What a caller may list, without grants: a customer is listed when
//   all || (!region.empty() && customer.region == region)
//       || (!owner.empty() && customer.owner == owner)
// For a caller with a single role exactly one of these applies ("all", "region
// R" or "owner S"); with several roles they add up. A caller with no such role
// has none of them and sees only granted customers. The service adds grants on
// top by looking up the grants of `subject`. A plain value.
struct ListScope {
  bool all = false;
  std::string region;   // Non-empty: customers of this region.
  std::string owner;    // Non-empty: customers owned by this subject.
  std::string subject;  // The caller, for the service's grant lookup.
  // Non-empty (the caller's subject, for a service_agent): the service also lists
  // the customers with an open ticket assigned to this subject (ServesCustomer).
  std::string serving_agent;

  // True when the role-based part of the scope covers `customer` (grants not included).
  bool Allows(const CustomerScope& customer) const;
  // True when only grants can give this caller anything.
  bool Empty() const { return !all && region.empty() && owner.empty(); }
};

// The role-based list scope of `principal`. Consistent with CheckCustomerAccess:
// CheckCustomerAccess(p, c, now, {}) is OK exactly when ScopeFor(p).Allows(c).
ListScope ScopeFor(const Principal& principal);

// Seed 004 §7.1, service staff see the customers they serve: true when `principal`
// is a service_agent (non-empty subject) among `open_ticket_assignees`, the
// assignees of the customer's tickets that are not closed. Read access only: the
// services allow it on reads (get, history, lists), never on writes.
bool ServesCustomer(const Principal& principal,
                    const std::vector<std::string>& open_ticket_assignees);

// Executives and admins may grant access to a customer to someone else.
bool CanGrantAccess(const Principal& principal);

// Other systems and the suite's own services.
bool IsService(const Principal& principal);

}  // namespace crm::auth
