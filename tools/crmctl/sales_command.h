// `crmctl sales <rpc>`: one subcommand per crm.interaction.v1.SalesService RPC
// (sales opportunities, their development plans and the pipeline report, served
// by crm-interaction), built like `crmctl interaction` (see rpc_command.h): the
// request comes from --json (any field) and/or per-RPC flags for the common
// fields (flags win); the response is printed as a summary or as JSON.
//
//   crmctl sales create-opportunity --customer_id $ID --title "Line 3 retrofit"
//       --source exhibition --amount 250000.00 --currency CNY
//       --expected_close_date 2026-12-31
//   crmctl sales move-stage --id $OPP --stage proposal
//   crmctl sales add-step --id $OPP --planned_date 2026-12-05 --action "On-site demo"
//   crmctl sales win --id $OPP --amount 240000.00 --currency CNY
//   crmctl sales report --as_of 2026-12-31 --period_from 2026-10-01 --period_to 2026-12-31
//
// Exit codes: 0 ok, 1 the call failed ("error: <CODE>: <message>" on stderr),
// 2 bad flags or --json.
#pragma once

#include <memory>

#include "CLI/CLI.hpp"
#include "crm/interaction/v1/sales_service.grpc.pb.h"
#include "rpc_command.h"

namespace crm::crmctl {

// Where the sales commands get their stub (tests substitute a
// MockSalesServiceStub) and write their output. Must outlive the parse of the
// app the commands are added to.
using SalesCommandEnv = RpcEnv<interaction::v1::SalesService>;

// Adds the `sales` command group to `app`.
void AddSalesCommands(CLI::App& app, std::shared_ptr<const SalesCommandEnv> env = nullptr);

}  // namespace crm::crmctl
