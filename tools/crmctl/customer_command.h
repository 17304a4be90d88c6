// `crmctl customer <rpc>`: one subcommand per crm.customer.v1.CustomerService
// RPC. The request comes from --json (any field) and/or per-RPC flags for the
// common fields (flags win); the response is printed as a summary or as JSON.
//
//   crmctl customer register --name "Acme Ltd" --industry manufacturing
//   crmctl customer change-lifecycle --id $ID --to following --expected_version 1
//   crmctl customer list --lifecycle potential --output json
//   crmctl customer update --json '{"customer_id": "...", "update_paths": ["basic.website"],
//                                   "basic": {"website": "https://acme.example"}}'
//
// Exit codes: 0 ok, 1 the call failed ("error: <CODE>: <message>" on stderr),
// 2 bad flags or --json.
#pragma once

#include <memory>

#include "CLI/CLI.hpp"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "rpc_command.h"

namespace crm::crmctl {

// Where the customer commands get their stub (tests substitute a
// MockCustomerServiceStub) and write their output. Must outlive the parse of
// the app the commands are added to.
using CustomerCommandEnv = RpcEnv<customer::v1::CustomerService>;
using CustomerStubFactory = CustomerCommandEnv::StubFactory;

// Adds the `customer` command group to `app`.
void AddCustomerCommands(CLI::App& app, std::shared_ptr<const CustomerCommandEnv> env = nullptr);

}  // namespace crm::crmctl
