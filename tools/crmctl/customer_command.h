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

#include <functional>
#include <iostream>
#include <memory>
#include <ostream>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "grpc_client.h"

namespace crm::crmctl {

// Makes the stub a command calls; tests substitute a MockCustomerServiceStub.
using CustomerStubFactory =
    std::function<absl::StatusOr<std::unique_ptr<customer::v1::CustomerService::StubInterface>>(
        const ClientOptions&)>;

// Where the customer commands get their stub and write their output. Must
// outlive the parse of the app the commands are added to.
struct CustomerCommandEnv {
  CustomerStubFactory stub_factory;  // empty: a real stub over MakeChannel(options)
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
};

// Adds the `customer` command group to `app`.
void AddCustomerCommands(CLI::App& app, std::shared_ptr<const CustomerCommandEnv> env = nullptr);

}  // namespace crm::crmctl
