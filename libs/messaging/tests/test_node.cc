// A real process for the messaging crash tests.
//
//   messaging_test_node produce <db> <brokers> <tag>
//       appends events forever (relay running) and prints "ack <event_id> <key>"
//       for every acknowledged append
//   messaging_test_node relay <db> <brokers>
//       runs the relay until the outbox is empty, prints "flushed", exits 0
//   messaging_test_node consume <db> <brokers> <group> <expected_total>
//       runs the consumer runner with the ChainingHandler until its total row
//       reaches <expected_total>, prints "progress <n>" now and then and "done"
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/consumer_runner.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/runtime/log.h"
#include "messaging/testing/test_handler.h"

namespace {

using namespace crm;

void Line(const std::string& s) {
  const std::string out = s + "\n";
  if (write(STDOUT_FILENO, out.data(), out.size()) < 0) _exit(3);
}

int Die(const absl::Status& s) {
  std::fprintf(stderr, "%s\n", s.ToString().c_str());
  return 1;
}

messaging::OutboxRelayOptions RelayOptions(const std::string& brokers) {
  return {.brokers = brokers, .topic = std::string(messaging::kCustomerTopic),
          .source = "messaging-test-node"};
}

}  // namespace

int main(int argc, char** argv) {
  // librdkafka and runtime logs go to stderr so stdout carries only protocol lines.
  runtime::SetLogSink([](std::string_view line) { std::fprintf(stderr, "%.*s\n", int(line.size()), line.data()); });
  if (argc < 4) return 2;
  const std::string mode = argv[1];
  auto store = eventstore::OpenEventStore({.path = argv[2]});
  if (!store.ok()) return Die(store.status());
  const std::string brokers = argv[3];

  if (mode == "produce" && argc == 5) {
    auto relay = messaging::OutboxRelay::Start(**store, RelayOptions(brokers));
    if (!relay.ok()) return Die(relay.status());
    for (uint64_t i = 0;; ++i) {
      const std::string key = absl::StrCat("customer-", i % 7);
      eventstore::AppendRequest req;
      req.stream_id = key;
      req.command_id = absl::StrCat(argv[4], "-", i);
      req.events.push_back({.event_type = "crm.test.v1.Happened", .partition_key = key,
                            .payload = absl::StrCat("payload-", i)});
      auto r = (*store)->Append(req);
      if (!r.ok()) return Die(r.status());
      Line(absl::StrCat("ack ", r->event_ids[0], " ", key));
    }
  }
  if (mode == "relay" && argc == 4) {
    auto relay = messaging::OutboxRelay::Start(**store, RelayOptions(brokers));
    if (!relay.ok()) return Die(relay.status());
    if (absl::Status s = (*relay)->Flush(absl::Seconds(60)); !s.ok()) return Die(s);
    Line("flushed");
    return 0;
  }
  if (mode == "consume" && argc == 6) {
    uint64_t expected = 0;
    if (!absl::SimpleAtoi(argv[5], &expected)) return 2;
    messaging::testing::ChainingHandler handler;
    auto runner = messaging::ConsumerRunner::Start(
        **store, handler,
        {.brokers = brokers, .group_id = argv[4],
         .topics = {std::string(messaging::kCustomerTopic)}, .max_batch = 50,
         .kafka_properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}}});
    if (!runner.ok()) return Die(runner.status());
    uint64_t total = 0;
    while (total < expected) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      auto row = (*store)->GetProjection(messaging::testing::kTestProjection, "total");
      if (!row.ok()) return Die(row.status());
      if (row->has_value() && !absl::SimpleAtoi(**row, &total)) return 4;
      Line(absl::StrCat("progress ", total));
    }
    Line("done");
    return 0;
  }
  return 2;
}
