// `crmctl ticket <rpc>`: one subcommand per crm.ticket.v1.TicketService RPC,
// built like `crmctl customer` (see rpc_command.h): the request comes from
// --json (any field) and/or per-RPC flags for the common fields (flags win);
// the response is printed as a summary or as JSON.
//
//   crmctl ticket open --customer_id $ID --type complaint --channel phone --priority high
//       --subject "Late delivery" --description "Parts for order 42 are two weeks late"
//   crmctl ticket assign --id $T --assignee bob --team service-north
//   crmctl ticket list --status opened,assigned --breached true
//   crmctl ticket kpis --from 2026-11-01 --to 2026-12-01 --group_by agent
//   crmctl ticket set-sla-config --json @sla.json --expected_version 3
//
// Exit codes: 0 ok, 1 the call failed ("error: <CODE>: <message>" on stderr),
// 2 bad flags or --json.
#pragma once

#include <memory>

#include "CLI/CLI.hpp"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"
#include "rpc_command.h"

namespace crm::crmctl {

// Where the ticket commands get their stub (tests substitute a
// MockTicketServiceStub) and write their output. Must outlive the parse of
// the app the commands are added to.
using TicketCommandEnv = RpcEnv<ticket::v1::TicketService>;

// Adds the `ticket` command group to `app`.
void AddTicketCommands(CLI::App& app, std::shared_ptr<const TicketCommandEnv> env = nullptr);

}  // namespace crm::crmctl
