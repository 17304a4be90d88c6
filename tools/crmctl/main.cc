// crmctl: the suite's command-line client. One command group per file.
//
//   crmctl events tail --brokers=127.0.0.1:9092 --topic=crm.customer.v1.events --from_beginning
#include "CLI/CLI.hpp"
#include "events_command.h"

int main(int argc, char** argv) {
  CLI::App app{"crmctl: command-line client of the CRM suite"};
  app.require_subcommand(1);
  crm::crmctl::AddEventsCommands(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
