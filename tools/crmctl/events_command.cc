#include "events_command.h"

#include <cstdio>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "crm/messaging/kafka_security.h"
#include "crm/messaging/topic_reader.h"
#include "crm/runtime/log.h"
#include "event_json.h"

namespace crm::crmctl {
namespace {

struct TailOptions {
  std::string brokers;
  std::string topic = "crm.customer.v1.events";
  bool from_beginning = false;
  int64_t count = 0;         // 0 = unlimited
  double idle_exit_s = 0;    // 0 = follow forever
  runtime::KafkaSecurityFlags security;  // as the services' --kafka_* flags
};

int Tail(const TailOptions& o) {
  if (absl::Status s = messaging::UseKafkaSecurity(o.security); !s.ok()) {
    std::fprintf(stderr, "crmctl: %s\n", s.ToString().c_str());
    return 1;
  }
  auto reader = messaging::TopicReader::Open(o.brokers, o.topic, o.from_beginning);
  if (!reader.ok()) {
    std::fprintf(stderr, "crmctl: %s\n", reader.status().ToString().c_str());
    return 1;
  }
  int64_t printed = 0;
  absl::Time last = absl::Now();
  while (o.count == 0 || printed < o.count) {
    auto next = (*reader)->Next(absl::Milliseconds(200));
    if (!next.ok()) {
      std::fprintf(stderr, "crmctl: %s\n", next.status().ToString().c_str());
      return 1;
    }
    if (!next->has_value()) {
      if (o.idle_exit_s > 0 && absl::Now() - last > absl::Seconds(o.idle_exit_s)) break;
      continue;
    }
    last = absl::Now();
    std::printf("%s\n", RecordToJson(**next).dump().c_str());
    std::fflush(stdout);
    ++printed;
  }
  return 0;
}

// `events stream` text: "position  incarnation  stream vN  event_type  actor  occurred_at".
void PrintEnvelope(const google::protobuf::Message& m, std::ostream& out) {
  const auto& e = static_cast<const events::v1::EventEnvelope&>(m);
  out << e.global_position() << "  " << OrDash(e.incarnation()) << "  " << e.stream_id() << " v"
      << e.stream_version() << "  " << e.event_type() << "  " << OrDash(e.actor()) << "  "
      << FormatTime(e.occurred_at()) << "\n";
}

}  // namespace

void AddEventsCommands(CLI::App& app, std::shared_ptr<const EventLogCommandEnv> env) {
  if (env == nullptr) env = std::make_shared<EventLogCommandEnv>();
  CLI::App* events = app.add_subcommand(
      "events", "Read the suite's domain events: from Kafka (tail) or from a service's log (stream)");
  events->require_subcommand(1);
  auto options = std::make_shared<TailOptions>();
  CLI::App* tail = events->add_subcommand(
      "tail", "Print a topic's events as JSON lines (payload decoded from protobuf)");
  tail->add_option("--brokers", options->brokers, "Kafka bootstrap servers")
      ->envname("CRM_KAFKA_BROKERS")
      ->required();
  tail->add_option("--topic", options->topic, "Topic, e.g. crm.customer.v1.events");
  // The services' Kafka security flags, with the same CRM_* variables.
  runtime::KafkaSecurityFlags& k = options->security;
  tail->add_option("--kafka_security_protocol", k.protocol,
                   "plaintext, ssl, sasl_plaintext or sasl_ssl")
      ->envname("CRM_KAFKA_SECURITY_PROTOCOL")
      ->capture_default_str();
  tail->add_option("--kafka_ssl_ca_file", k.ssl_ca_file, "PEM CA of the brokers' certificates")
      ->envname("CRM_KAFKA_SSL_CA_FILE");
  tail->add_option("--kafka_ssl_cert_file", k.ssl_cert_file, "PEM client certificate (mTLS)")
      ->envname("CRM_KAFKA_SSL_CERT_FILE");
  tail->add_option("--kafka_ssl_key_file", k.ssl_key_file, "PEM key of --kafka_ssl_cert_file")
      ->envname("CRM_KAFKA_SSL_KEY_FILE");
  tail->add_option("--kafka_sasl_mechanism", k.sasl_mechanism,
                   "SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN (sasl_ssl only)")
      ->envname("CRM_KAFKA_SASL_MECHANISM");
  tail->add_option("--kafka_sasl_username", k.sasl_username, "SASL user")
      ->envname("CRM_KAFKA_SASL_USERNAME");
  tail->add_option("--kafka_sasl_password_file", k.sasl_password_file,
                   "File holding the SASL password")
      ->envname("CRM_KAFKA_SASL_PASSWORD_FILE");
  tail->add_flag("--from_beginning", options->from_beginning,
                 "Start at the oldest retained record instead of the end");
  tail->add_option("--count", options->count, "Stop after this many events (0 = no limit)");
  tail->add_option("--idle_exit", options->idle_exit_s,
                   "Stop after this many seconds without a new event (0 = follow forever)");
  tail->callback([options] {
    runtime::SetLogLevel(runtime::LogLevel::kError);  // keep stdout for events
    if (int rc = Tail(*options); rc != 0) throw CLI::RuntimeError(rc);
  });

  using Stub = events::v1::EventLogService::StubInterface;
  std::vector<RpcSpec> rows = {
      {.command = "stream",
       .help = "A service's event log from a global position, as stored (EventLogService, "
               "service and admin roles); ends when caught up. --output json prints one "
               "envelope per line",
       .flags = {{"from", "from_position", "First global position", FlagKind::kValue, "1"},
                 {"max", "max_events", "Stop after this many events (0: until caught up)"}},
       .run = ServerStream(env, &Stub::StreamEvents),
       .text = &PrintEnvelope},
  };
  AddRpcCommands(*events,
                 {.name = "events",
                  .entity = "event",
                  .addr_env = "CRM_EVENTS_ADDR",
                  .default_addr = "127.0.0.1:50051"},
                 std::move(rows), env->out, env->err);
}

}  // namespace crm::crmctl
