// `crmctl events`: the suite's domain events.
// - `tail`: a Kafka topic's events as JSON lines;
// - `stream`: a service's own event log over gRPC (crm.events.v1.EventLogService,
//   served by every service; service and admin roles), from a global position.
//
//   crmctl events tail --brokers=127.0.0.1:9092 --topic=crm.ticket.v1.events --from_beginning
//   crmctl events stream --addr 127.0.0.1:50053 --from 1 --max 100 --output json
#pragma once

#include <memory>

#include "CLI/CLI.hpp"
#include "crm/events/v1/event_log_service.grpc.pb.h"
#include "rpc_command.h"

namespace crm::crmctl {

// Where `events stream` gets its stub (tests substitute a
// MockEventLogServiceStub) and writes its output. Must outlive the parse.
using EventLogCommandEnv = RpcEnv<events::v1::EventLogService>;

// Adds the `events` command group to `app`.
void AddEventsCommands(CLI::App& app, std::shared_ptr<const EventLogCommandEnv> env = nullptr);

}  // namespace crm::crmctl
