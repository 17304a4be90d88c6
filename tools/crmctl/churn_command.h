// `crmctl churn <rpc>`: one subcommand per crm.interaction.v1.ChurnService RPC
// (churn cases: retention measures, postponing and confirming the loss, the churn
// analysis report; served by crm-interaction), built like `crmctl sales` (see
// rpc_command.h): the request comes from --json (any field) and/or per-RPC flags
// (flags win); the response is printed as a summary or as JSON. Cases are not
// created here: crm-interaction opens one when crm-classification raises a churn
// warning (`crmctl churn list` finds them).
//
//   crmctl churn list --owner alice --status open
//   crmctl churn measure --id $CASE --action "Visited the plant manager" --taken_on 2026-12-02
//   crmctl churn postpone --id $CASE --review_date 2027-01-15 --note "budget decision in January"
//   crmctl churn confirm --id $CASE --reason competitor --note "Moved to a rival's contract"
//   crmctl churn report --period_from 2026-10-01 --period_to 2026-12-31 --scheme abcd
//
// Exit codes: 0 ok, 1 the call failed ("error: <CODE>: <message>" on stderr),
// 2 bad flags or --json.
#pragma once

#include <memory>

#include "CLI/CLI.hpp"
#include "crm/interaction/v1/churn_service.grpc.pb.h"
#include "rpc_command.h"

namespace crm::crmctl {

// Where the churn commands get their stub (tests substitute a
// MockChurnServiceStub) and write their output. Must outlive the parse of the
// app the commands are added to.
using ChurnCommandEnv = RpcEnv<interaction::v1::ChurnService>;

// Adds the `churn` command group to `app`.
void AddChurnCommands(CLI::App& app, std::shared_ptr<const ChurnCommandEnv> env = nullptr);

}  // namespace crm::crmctl
