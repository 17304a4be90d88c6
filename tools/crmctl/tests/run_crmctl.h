// Runs a crmctl command line in a test as main.cc does: an app with the command
// groups `add` puts in it, parsed from `args` ("crmctl" first), its output and
// usage errors into `out` / `err`; returns the exit code.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "grpc_client.h"

namespace crm::crmctl {

inline int RunCrmctl(const std::function<void(CLI::App&)>& add,
                     const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{"crmctl"};
  app.require_subcommand(1);
  add(app);
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e, out, err);
    if (rc == 0 || e.get_name() == "RuntimeError") return rc;
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace crm::crmctl
