// `crmctl classification <rpc>`: one subcommand per
// crm.classification.v1.ClassificationService RPC, built like `crmctl customer`
// (see rpc_command.h): the request comes from --json (any field) and/or per-RPC
// flags for the common fields (flags win); the response is printed as a
// summary or as JSON.
//
//   crmctl classification get --customer_id $ID
//   crmctl classification history --customer_id $ID
//   crmctl classification rule-set --output json > rules.json
//   crmctl classification simulate --json @rules.json --max_customers 20
//   crmctl classification publish-rule-set --json @rules.json --expected_version 1
//   crmctl classification report --from 2026-01-01 --to 2027-01-01 --scheme tier
//   crmctl classification churn-risks --region north
//
// Exit codes: 0 ok, 1 the call failed ("error: <CODE>: <message>" on stderr),
// 2 bad flags or --json.
#pragma once

#include <memory>

#include "CLI/CLI.hpp"
#include "crm/classification/v1/classification_service.grpc.pb.h"
#include "rpc_command.h"

namespace crm::crmctl {

// Where the classification commands get their stub (tests substitute a
// MockClassificationServiceStub) and write their output. Must outlive the
// parse of the app the commands are added to.
using ClassificationCommandEnv = RpcEnv<classification::v1::ClassificationService>;

// Adds the `classification` command group to `app`.
void AddClassificationCommands(CLI::App& app,
                               std::shared_ptr<const ClassificationCommandEnv> env = nullptr);

}  // namespace crm::crmctl
