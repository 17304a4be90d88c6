// `crmctl admin backup`: operator commands of crm.admin.v1.AdminService.
#pragma once

#include "CLI/CLI.hpp"

namespace crm::crmctl {

// Adds the `admin` command group to `app`.
void AddAdminCommands(CLI::App& app);

}  // namespace crm::crmctl
