#include "crm/auth/access.h"

#include "absl/strings/str_cat.h"

namespace crm::auth {

bool GrantAllows(const AccessGrant& grant, std::string_view subject, std::string_view customer_id,
                 absl::Time now) {
  return !subject.empty() && !customer_id.empty() && grant.subject == subject &&
         grant.customer_id == customer_id && now < grant.expires_at;
}

bool ListScope::Allows(const CustomerScope& customer) const {
  if (all) return true;
  if (!region.empty() && customer.region == region) return true;
  if (!owner.empty() && customer.owner == owner) return true;
  return false;
}

ListScope ScopeFor(const Principal& principal) {
  ListScope scope;
  scope.subject = principal.subject;
  scope.all = principal.Has(Role::kExecutive) || principal.Has(Role::kAdmin) ||
              principal.Has(Role::kService);
  if (principal.Has(Role::kRegionalManager)) scope.region = principal.region;
  if (principal.Has(Role::kSalesRep) || principal.Has(Role::kServiceAgent)) {
    scope.owner = principal.subject;
  }
  if (principal.Has(Role::kServiceAgent)) scope.serving_agent = principal.subject;
  return scope;
}

absl::Status CheckCustomerAccess(const Principal& principal, const CustomerScope& customer,
                                 absl::Time now,
                                 const std::vector<AccessGrant>& grants_for_customer) {
  if (ScopeFor(principal).Allows(customer)) return absl::OkStatus();
  for (const AccessGrant& grant : grants_for_customer) {
    if (GrantAllows(grant, principal.subject, customer.customer_id, now)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("caller may not access customer ", customer.customer_id));
}

bool ServesCustomer(const Principal& principal,
                    const std::vector<std::string>& open_ticket_assignees) {
  if (!principal.Has(Role::kServiceAgent) || principal.subject.empty()) return false;
  for (const std::string& assignee : open_ticket_assignees) {
    if (assignee == principal.subject) return true;
  }
  return false;
}

bool CanGrantAccess(const Principal& principal) {
  return principal.Has(Role::kExecutive) || principal.Has(Role::kAdmin);
}

bool IsService(const Principal& principal) { return principal.Has(Role::kService); }

}  // namespace crm::auth
