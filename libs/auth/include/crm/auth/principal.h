// Who is calling: the authenticated subject, its roles and its region, as taken
// from a verified token (see jwt.h). Access decisions (access.h) read only this.
//
//   crm::auth::Principal p{.subject = "u-42", .roles = {crm::auth::Role::kSalesRep},
//                          .region = "east"};
//   if (p.Has(crm::auth::Role::kSalesRep)) { ... }
//   std::optional<crm::auth::Role> r = crm::auth::ParseRole("regional_manager");
//
// Role names on the wire are the snake_case strings of ARCHITECTURE.md
// ("sales_rep", "service_agent", "regional_manager", "executive", "admin",
// "service", "general_manager", "marketing_director"). A role name this build does not know is ignored, not an error, so
// an identity provider can add roles before every service understands them.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace crm::auth {

enum class Role {
  kSalesRep,         // Sales staff: the customers they own.
  kServiceAgent,     // Service staff: the customers they own.
  kRegionalManager,  // Every customer of their region.
  kExecutive,        // All customers; may grant access to others.
  kAdmin,            // All customers; may grant access to others.
  kService,          // Another system or one of the suite's own services: all customers.
  // Approve or deny access requests (CustomerService.ApproveAccessRequest); no
  // customers of their own (seed 004 §7). Set by the identity provider.
  kGeneralManager,
  kMarketingDirector,
};

// Every role, in declaration order.
inline constexpr Role kAllRoles[] = {Role::kSalesRep,       Role::kServiceAgent,
                                     Role::kRegionalManager, Role::kExecutive,
                                     Role::kAdmin,           Role::kService,
                                     Role::kGeneralManager,  Role::kMarketingDirector};

// The wire name, e.g. "regional_manager".
std::string_view RoleName(Role role);

// Inverse of RoleName (exact, case-sensitive match); nullopt for any other string.
std::optional<Role> ParseRole(std::string_view name);

// The known roles among `names`; unknown names and duplicates are dropped.
std::set<Role> ParseRoles(const std::vector<std::string>& names);

// An authenticated caller. A plain value: copy it freely, no thread-safety concerns.
struct Principal {
  std::string subject;   // The token's `sub`; never empty for a verified token.
  std::set<Role> roles;  // May be empty: such a caller reaches customers only via grants.
  std::string region;    // The token's `region`; empty when absent.

  bool Has(Role role) const { return roles.contains(role); }
};

}  // namespace crm::auth
