// `crm-bench grpc`: load on the services' public gRPC APIs, from the gRPC callback
// client API (no thread per call), closed loop (C callers, each starting its next
// operation when the previous one returned) or open loop (--rate operations per
// second on a fixed schedule, latency counted from the scheduled send time).
//
//   crm-bench grpc --scenario=register --callers=64 --seconds=5
//   crm-bench grpc --scenario=mixed --rate=2000 --seconds=10
//   crm-bench grpc --scenario=noop --callers=64 --seconds=5        # in-process no-op server
//   crm-bench grpc --scenario=propagation --rate=20 --seconds=10   # customer -> classification
//   crm-bench grpc --scenario=generate --customers=50000 --interactions=250000 --tickets=10000
//
// Prints one row per RPC method (count, ops/s, p50/p95/p99/p99.9 latency, errors by
// status code) and ends with exactly one machine-readable line:
// `rate <scenario>: <ops/s>` or, for propagation, `propagation p99 ms: <x.x>`.
// `generate` is no load test but a data generator: exact counts of customers (each
// with one transaction), follow-ups and tickets, with progress and a rate per kind.
// Never judges the figures. See README.md for scenarios and semantics.
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace crm::bench {

struct GrpcBenchOptions {
  // register | update | log-interaction | ticket | get | list | mixed | noop | propagation |
  // opportunity | pipeline-report | generate
  std::string scenario;
  int callers = 64;            // closed loop: operations in flight; open loop: their cap
  double seconds = 5;          // measured window
  double warmup_seconds = 1;   // run before the window, not counted
  double rate = 0;             // operations per second (open loop); 0 = closed loop
  // Service addresses; "" = the scripts/run.sh default (127.0.0.1:50051..50054),
  // except noop, where "" customer_addr means an in-process no-op server.
  std::string customer_addr;
  std::string interaction_addr;
  std::string ticket_addr;
  std::string classification_addr;
  std::string jwt_secret_file;  // HS256 secret to mint the token; "" = the repository's dev secret
  std::string token;            // bearer token to send as is (excludes jwt_secret_file)
  int preload = 1000;           // customers registered first for the scenarios that need them
  // > 0: instead of preloading, take up to this many existing customers' ids from
  // ListCustomers pages (a store built by `generate`).
  int existing = 0;
  // generate: how many customers (each RegisterCustomer + RecordTransaction),
  // follow-ups (LogFollowUp) and tickets (OpenTicket) to create.
  int64_t customers = 0;
  int64_t interactions = 0;
  int64_t tickets = 0;
  // generate: opportunities (CreateOpportunity, then a stage move or a win for
  // four in five) spread over the customers.
  int64_t opportunities = 0;
  // pipeline-report: > 0 asks for the report as of this many seconds ago.
  double as_of_seconds_ago = 0;
  int channels = 4;             // gRPC channels (TCP connections) per service
  int poll_interval_ms = 5;     // propagation: how often a pending customer is polled, at most
  double max_poll_rate = 1000;  // propagation: GetClassification polls per second, at most
  // > 0: the service process to account for: its context switches (all its
  // threads) and CPU time over the window, per call, read from /proc.
  int server_pid = 0;
};

// Registers the `grpc` subcommand and its flags on `app`, writing parsed values
// into `*options` (which must outlive parsing). Returns the subcommand.
CLI::App* AddGrpcSubcommand(CLI::App& app, GrpcBenchOptions* options);

// Runs the scenario and prints the figures to stdout (errors to stderr, each line
// starting "crm-bench grpc: error:"), then ends the process (std::_Exit, without
// gRPC's teardown at exit: see grpc_bench.cc) with the exit code: 0 when every
// call succeeded; 1 when a service could not be reached, the preload failed, or
// any measured call failed (the figures and the final line are still printed then).
[[noreturn]] void RunGrpcBench(const GrpcBenchOptions& options);

}  // namespace crm::bench
