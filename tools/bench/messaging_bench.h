// `crm-bench messaging`: how fast and how late the suite's events travel from one
// service's event store, through the outbox relay and Kafka, into another
// service's projection.
//
//   crm-bench messaging --rate=1000 --seconds=10 --relay_events=50000
//
// Starts a crm-devbroker process (or uses --brokers) and, in this process, a
// producer EventStore + OutboxRelay and a consumer EventStore + ConsumerRunner.
// 1. End-to-end latency: appends at a steady open-loop rate; for each, the time
//    from Append returning to the consumer having committed the event's
//    projection row (and, for comparison, to the handler being called).
// 2. Relay throughput: a store filled while no relay runs, then a relay started
//    and timed until the outbox is empty.
// 3. Consumer throughput: a fresh ConsumerRunner timed over those same records.
// Prints figures; never judges them.
#pragma once

#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace crm::bench {

struct MessagingBenchOptions {
  double rate = 1000;        // appends per second in the latency run
  double seconds = 10;       // measured seconds of the latency run (after 1 s warm-up)
  int relay_events = 50000;  // events for the relay and consumer throughput runs
  std::string devbroker;     // crm-devbroker binary; "" = the one built with crm-bench
  std::string brokers;       // an existing broker ("host:port,..."); "" = start devbroker
  int partitions = 3;        // partitions per topic of the devbroker started here
  // The consumers' fetch.wait.max.ms. crm-devbroker holds a fetch that finds no
  // record this long even when records arrive meanwhile (Kafka answers as soon
  // as one does), so at librdkafka's default of 500 ms (the services' setting)
  // the devbroker, not the suite, sets the latency. -1 = 1 ms on the devbroker
  // started here, librdkafka's default with --brokers.
  int fetch_wait_max_ms = -1;
  int payload_bytes = 256;  // event payload size
  int keys = 1000;          // distinct customers (stream id = partition key)
  int appenders = 4;        // threads sharing the latency run's append schedule
  int fill_threads = 8;     // threads filling the store for the throughput runs
  std::string dir;          // parent of the databases; "" = a temp dir removed at exit
};

// Registers the `messaging` subcommand and its flags on `app`, writing parsed
// values into `*options` (which must outlive parsing). Returns the subcommand.
CLI::App* AddMessagingSubcommand(CLI::App& app, MessagingBenchOptions* options);

// Runs the three measurements and prints a header and one line per figure to
// stdout (errors to stderr, each starting "crm-bench messaging: error:"). Returns
// the process exit code: 0 when every figure was measured with no failed append
// and no event lost; 1 when the broker, a store, the relay or the consumer could
// not be set up, an append failed, or an event did not arrive in time (figures
// measured until then are still printed).
int RunMessagingBench(const MessagingBenchOptions& options);

}  // namespace crm::bench
