#include "crm/auth/principal.h"

namespace crm::auth {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kSalesRep:
      return "sales_rep";
    case Role::kServiceAgent:
      return "service_agent";
    case Role::kRegionalManager:
      return "regional_manager";
    case Role::kExecutive:
      return "executive";
    case Role::kAdmin:
      return "admin";
    case Role::kService:
      return "service";
    case Role::kGeneralManager:
      return "general_manager";
    case Role::kMarketingDirector:
      return "marketing_director";
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role role : kAllRoles) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

std::set<Role> ParseRoles(const std::vector<std::string>& names) {
  std::set<Role> roles;
  for (const std::string& name : names) {
    if (std::optional<Role> role = ParseRole(name)) roles.insert(*role);
  }
  return roles;
}

}  // namespace crm::auth
