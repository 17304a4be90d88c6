// runtime_test_server: the smallest real service binary, run as a child
// process by server_test.cc's SIGTERM test. Same shape as a service main.
#include "crm/common/status_macros.h"
#include "crm/runtime/flags.h"
#include "crm/runtime/log.h"
#include "crm/runtime/server.h"
#include "echo_service.h"

namespace {

absl::Status Run(int argc, char** argv) {
  ASSIGN_OR_RETURN(crm::runtime::ServiceFlags flags,
                   crm::runtime::ParseServiceFlags(argc, argv, "runtime-test-server"));
  crm::runtime::testing::EchoServiceImpl echo;
  crm::runtime::ServiceRuntime runtime("runtime-test-server", flags);
  runtime.AddService(&echo);
  runtime.OnShutdown([] { crm::runtime::Log(crm::runtime::LogLevel::kInfo, "hook_ran"); });
  RETURN_IF_ERROR(runtime.Start());
  runtime.WaitForTermination();
  runtime.Shutdown(absl::Seconds(10));
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) { return crm::runtime::ExitCodeFor(Run(argc, argv)); }
