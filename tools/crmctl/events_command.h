// `crmctl events tail`: prints a topic's events as JSON lines.
#pragma once

#include "CLI/CLI.hpp"

namespace crm::crmctl {

// Adds the `events` command group to `app`.
void AddEventsCommands(CLI::App& app);

}  // namespace crm::crmctl
