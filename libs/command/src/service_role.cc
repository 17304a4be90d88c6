#include "crm/command/service_role.h"

#include <algorithm>
#include <iterator>

namespace crm::command {

std::string RpcName(std::string_view service_class, std::string_view method) {
  constexpr std::string_view kImpl = "Impl";
  if (service_class.size() > kImpl.size() &&
      service_class.substr(service_class.size() - kImpl.size()) == kImpl) {
    service_class.remove_suffix(kImpl.size());
  }
  std::string name(service_class);
  name.append(".").append(method);
  return name;
}

bool ServiceRoleMayCall(std::string_view rpc) {
  return std::find(std::begin(kServiceRoleRpcs), std::end(kServiceRoleRpcs), rpc) !=
         std::end(kServiceRoleRpcs);
}

absl::Status LimitServiceRole(auth::Principal& who, std::string_view rpc) {
  if (!who.Has(auth::Role::kService) || ServiceRoleMayCall(rpc)) return absl::OkStatus();
  who.roles.erase(auth::Role::kService);
  if (who.roles.empty()) {
    std::string message = "the service role may not call ";
    message.append(rpc);
    return absl::PermissionDeniedError(message);
  }
  return absl::OkStatus();
}

}  // namespace crm::command
