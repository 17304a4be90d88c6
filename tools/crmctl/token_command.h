// `crmctl token`: mints a JWT for local use (dev secret or a test key), so that
// the other commands and curl-like tools can call the services.
//
//   export CRM_TOKEN=$(crmctl token --sub alice --roles sales_rep --region north)
//
// Production tokens come from the identity provider; this only signs with a
// key file you hold.
#pragma once

#include "CLI/CLI.hpp"

namespace crm::crmctl {

// Adds the `token` command to `app`. It prints the token alone on stdout; on
// failure it prints "error: ..." to stderr and exits 1 (2 for bad flags).
void AddTokenCommand(CLI::App& app);

}  // namespace crm::crmctl
