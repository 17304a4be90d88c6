// crmctl: the suite's command-line client. One command group per file.
//
//   crmctl events tail --brokers=127.0.0.1:9092 --topic=crm.customer.v1.events --from_beginning
//   export CRM_TOKEN=$(crmctl token --sub alice --roles sales_rep --region north)
//   crmctl customer get --id 7d1c... --output json
//   crmctl interaction timeline --customer_id 7d1c...
//   crmctl sales report --as_of 2026-12-31
//   crmctl churn list --status open
//   crmctl campaign report --id 5e2a...
//   crmctl ticket list --status opened,assigned
//   crmctl classification get --customer_id 7d1c...
//
// Exit codes: 0 ok, 1 the command failed, 2 usage error (bad flags or values).
#include "CLI/CLI.hpp"
#include "admin_command.h"
#include "campaign_command.h"
#include "churn_command.h"
#include "classification_command.h"
#include "customer_command.h"
#include "events_command.h"
#include "grpc_client.h"
#include "interaction_command.h"
#include "sales_command.h"
#include "ticket_command.h"
#include "token_command.h"

int main(int argc, char** argv) {
  CLI::App app{"crmctl: command-line client of the CRM suite"};
  app.require_subcommand(1);
  crm::crmctl::AddEventsCommands(app);
  crm::crmctl::AddTokenCommand(app);
  crm::crmctl::AddCustomerCommands(app);
  crm::crmctl::AddInteractionCommands(app);
  crm::crmctl::AddSalesCommands(app);
  crm::crmctl::AddChurnCommands(app);
  crm::crmctl::AddCampaignCommands(app);
  crm::crmctl::AddTicketCommands(app);
  crm::crmctl::AddClassificationCommands(app);
  crm::crmctl::AddAdminCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Commands report their own failures via CLI::RuntimeError(exit code);
    // everything else CLI11 throws is a usage error (help requests exit 0).
    const int rc = app.exit(e);
    if (rc == 0 || e.get_name() == "RuntimeError") return rc;
    return crm::crmctl::kExitUsage;
  }
  return 0;
}
