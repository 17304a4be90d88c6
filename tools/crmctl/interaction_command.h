// `crmctl interaction <rpc>`: one subcommand per
// crm.interaction.v1.InteractionService RPC, built like `crmctl customer` (see
// rpc_command.h): the request comes from --json (any field) and/or per-RPC
// flags for the common fields (flags win); the response is printed as a
// summary or as JSON.
//
//   crmctl interaction plan-visit --customer_id $ID --purpose "Kick-off"
//       --at 2026-12-01T10:00:00Z --visitor alice --agenda "Demo" --confirmed
//   crmctl interaction log-follow-up --customer_id $ID --channel phone --content "Pricing"
//   crmctl interaction due-revisits --within_days 30 --owner alice
//   crmctl interaction timeline --customer_id $ID --output json
//
// Exit codes: 0 ok, 1 the call failed ("error: <CODE>: <message>" on stderr),
// 2 bad flags or --json.
#pragma once

#include <memory>

#include "CLI/CLI.hpp"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"
#include "rpc_command.h"

namespace crm::crmctl {

// Where the interaction commands get their stub (tests substitute a
// MockInteractionServiceStub) and write their output. Must outlive the parse
// of the app the commands are added to.
using InteractionCommandEnv = RpcEnv<interaction::v1::InteractionService>;

// Adds the `interaction` command group to `app`.
void AddInteractionCommands(CLI::App& app,
                            std::shared_ptr<const InteractionCommandEnv> env = nullptr);

}  // namespace crm::crmctl
