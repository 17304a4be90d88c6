// crm-bench: performance measurements of the suite's building blocks, each a
// subcommand registered from its own file (eventstore_bench.cc, ...).
//
//   crm-bench eventstore --writers=64 --seconds=5
//   crm-bench messaging --rate=1000 --seconds=10
//   crm-bench grpc --scenario=register --callers=64 --seconds=5
#include "CLI/CLI.hpp"
#include "eventstore_bench.h"
#include "grpc_bench.h"
#include "messaging_bench.h"

int main(int argc, char** argv) {
  CLI::App app{"crm-bench: performance measurements of the CRM suite's building blocks"};
  app.require_subcommand(1);

  crm::bench::EventStoreBenchOptions eventstore_options;
  CLI::App* eventstore = crm::bench::AddEventStoreSubcommand(app, &eventstore_options);
  crm::bench::MessagingBenchOptions messaging_options;
  CLI::App* messaging = crm::bench::AddMessagingSubcommand(app, &messaging_options);
  crm::bench::GrpcBenchOptions grpc_options;
  CLI::App* grpc = crm::bench::AddGrpcSubcommand(app, &grpc_options);

  CLI11_PARSE(app, argc, argv);

  if (eventstore->parsed()) return crm::bench::RunEventStoreBench(eventstore_options);
  if (messaging->parsed()) return crm::bench::RunMessagingBench(messaging_options);
  if (grpc->parsed()) crm::bench::RunGrpcBench(grpc_options);  // ends the process
  return 2;  // unreachable: require_subcommand(1) rejects anything else
}
