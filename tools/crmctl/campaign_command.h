// `crmctl campaign <rpc>`: one subcommand per crm.interaction.v1.CampaignService
// RPC (marketing campaigns: plan, target selection, start, costs, invitations,
// responses, attendance, outcome, close, and the campaign report with its return;
// served by crm-interaction), built like `crmctl sales` (see rpc_command.h): the
// request comes from --json (any field) and/or per-RPC flags (flags win); the
// response is printed as a summary or as JSON.
//
//   crmctl campaign plan --name "Spring seminar" --type seminar --start_date 2027-03-01
//       --end_date 2027-03-02 --budget 50000.00 --currency CNY --class abcd:A --region north
//   crmctl campaign start --id $CAMPAIGN
//   crmctl campaign cost --id $CAMPAIGN --amount 12000.00 --currency CNY --description Venue
//   crmctl campaign respond --id $CAMPAIGN --customer_id $ID --response accepted
//   crmctl campaign report --id $CAMPAIGN
//
// Exit codes: 0 ok, 1 the call failed ("error: <CODE>: <message>" on stderr),
// 2 bad flags or --json.
#pragma once

#include <memory>

#include "CLI/CLI.hpp"
#include "crm/interaction/v1/campaign_service.grpc.pb.h"
#include "rpc_command.h"

namespace crm::crmctl {

// Where the campaign commands get their stub (tests substitute a
// MockCampaignServiceStub) and write their output. Must outlive the parse of
// the app the commands are added to.
using CampaignCommandEnv = RpcEnv<interaction::v1::CampaignService>;

// Adds the `campaign` command group to `app`.
void AddCampaignCommands(CLI::App& app, std::shared_ptr<const CampaignCommandEnv> env = nullptr);

}  // namespace crm::crmctl
