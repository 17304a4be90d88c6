// `crm-bench eventstore`: durable appends per second through the event store,
// next to raw RocksDB synced puts of the same size at the same concurrency.
//
//   crm-bench eventstore --writers=64 --seconds=5
//
// For 1, 8, 64, ... writers (powers of 8 below --writers, then --writers) it runs
// the suite's EventStore::Append (one event, one projection row, a fresh command
// id: the shape of a service command) and then rocksdb::DB::Put with sync=true, each
// in a fresh database, and prints both rates and their ratio. The last line is
// `ratio at <N> writers: <x.xx>` for the top writer count.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace crm::bench {

struct EventStoreBenchOptions {
  int writers = 64;         // top writer count
  double seconds = 5;       // measured seconds per run (after a 0.5 s warm-up)
  int payload_bytes = 256;  // event payload size
  std::string dir;          // parent of the databases; "" = a temp dir removed at exit
  int streams = 4096;       // distinct streams the writers pick from at random
};

// Registers the `eventstore` subcommand and its flags on `app`, writing parsed
// values into `*options` (which must outlive parsing). Returns the subcommand.
CLI::App* AddEventStoreSubcommand(CLI::App& app, EventStoreBenchOptions* options);

// The writer counts measured for a top count of `max_writers` (>= 1): powers of 8
// below it, then max_writers itself. 64 -> {1, 8, 64}; 16 -> {1, 8, 16}; 1 -> {1}.
std::vector<int> WriterCounts(int max_writers);

// Runs the benchmark and prints its table to stdout (error details to stderr).
// Returns the process exit code: 0 when every operation succeeded, 1 when a
// database could not be opened or any append or put failed (the figures are still
// printed when the runs completed).
int RunEventStoreBench(const EventStoreBenchOptions& options);

}  // namespace crm::bench
