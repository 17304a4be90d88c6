// Command-line flags shared by every service binary, each with a CRM_*
// environment fallback (the command line wins over the environment).
//
//   int main(int argc, char** argv) {
//     int batch_size = 100;  // A service's own flag: --batch_size / CRM_BATCH_SIZE.
//     absl::StatusOr<crm::runtime::ServiceFlags> flags = crm::runtime::ParseServiceFlags(
//         argc, argv, "crm-customer", [&](CLI::App& app) {
//           crm::runtime::AddFlag(app, "batch_size", &batch_size, "Events per batch");
//         });
//     if (!flags.ok()) return crm::runtime::ExitCodeFor(flags.status());
//     ...
//   }
//
// `--help` is not an error but stops the program: ParseServiceFlags then
// returns CANCELLED with the help text as the message (IsHelpRequest is true),
// and ExitCodeFor prints that text to stdout and returns 0.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace crm::runtime {

// How the process's Kafka clients (every producer, consumer, dead-letter producer
// and topic reader) reach the brokers; messaging::UseKafkaSecurity turns these
// into librdkafka properties. Secrets come from files, never from the command line.
struct KafkaSecurityFlags {
  // --kafka_security_protocol: plaintext, ssl, sasl_plaintext or sasl_ssl.
  std::string protocol = "plaintext";
  std::string ssl_ca_file;         // --kafka_ssl_ca_file: PEM roots the brokers' certs chain to.
  std::string ssl_cert_file;       // --kafka_ssl_cert_file: client certificate (mTLS).
  std::string ssl_key_file;        // --kafka_ssl_key_file: its private key (PEM).
  std::string sasl_mechanism;      // --kafka_sasl_mechanism: SCRAM-SHA-256, SCRAM-SHA-512, PLAIN.
  std::string sasl_username;       // --kafka_sasl_username.
  std::string sasl_password_file;  // --kafka_sasl_password_file: the password, in a file.
};

// INVALID_ARGUMENT naming the flags of an inconsistent combination: ssl files
// without ssl/sasl_ssl, a certificate without its key, SASL settings without a
// sasl_* protocol or incomplete, PLAIN without TLS. Reads no file.
absl::Status CheckKafkaSecurity(const KafkaSecurityFlags& flags);

// Flag `--foo_bar` reads CRM_FOO_BAR when absent from the command line.
struct ServiceFlags {
  std::string data_dir;                   // --data_dir: where the service keeps RocksDB.
  std::string listen_host = "127.0.0.1";  // --listen_host: gRPC and admin bind address.
  int grpc_port = 0;                      // --grpc_port: 0 lets the OS pick.
  int admin_port = 0;                     // --admin_port: HTTP /metrics, /readyz, /healthz.
  std::string kafka_brokers;              // --kafka_brokers: host:port[,host:port...].
  // --kafka_session_timeout_ms: how long a consumer that died keeps its partitions
  // before the group moves them (Kafka's default 45 s; tests use less).
  int kafka_session_timeout_ms = 45000;
  KafkaSecurityFlags kafka_security;      // --kafka_security_protocol, --kafka_ssl_*, --kafka_sasl_*.
  std::string tls_cert_file;              // --tls_cert_file: PEM chain; TLS when set.
  std::string tls_key_file;               // --tls_key_file: PEM private key.
  std::string tls_client_ca_file;         // --tls_client_ca_file: require client certs.
  std::string log_level = "info";         // --log_level: debug, info, warn or error.
  // --max_in_flight: calls admitted at once (authenticated, not finished);
  // more are answered RESOURCE_EXHAUSTED at once (runtime::Admission).
  int max_in_flight = 256;
  // --overload_busy_target: share of time (0..1) the threads that serve calls
  // may be busy (running or waiting for a CPU); above it a share of calls is
  // shed with RESOURCE_EXHAUSTED (runtime::OverloadControl). 0 turns it off.
  double overload_busy_target = 0.9;
  // --overload_max_waiting: calls waiting inside gRPC for a handler above which
  // busy serving threads mean the process is falling behind (OverloadControl).
  int overload_max_waiting = 256;
};

// "grpc_port" -> "CRM_GRPC_PORT".
std::string EnvNameForFlag(std::string_view name);

// Adds `--<name>` bound to `*var` (a bool becomes a flag that takes no value),
// with the environment fallback EnvNameForFlag(name) and the current value of
// `*var` shown as the default in --help. Use it for every flag so that the
// CRM_* fallback holds across services and tools. Throws CLI::ConstructionError
// on a duplicate name, as CLI11 does; ParseServiceFlags turns that into INTERNAL.
template <typename T>
CLI::Option* AddFlag(CLI::App& app, std::string_view name, T* var, std::string description) {
  std::string option = "--" + std::string(name);
  CLI::Option* added;
  if constexpr (std::is_same_v<T, bool>) {
    added = app.add_flag(option, *var, std::move(description));
  } else {
    added = app.add_option(option, *var, std::move(description))->capture_default_str();
  }
  return added->envname(EnvNameForFlag(name));
}

// Parses the ServiceFlags options plus whatever `add_extra` adds (through
// AddFlag) from argv and the environment. Never throws.
// Returns INVALID_ARGUMENT for an unknown flag or positional argument (the
// message names it), a value that does not convert or is out of range, or
// TLS files given incompletely or Kafka security flags that do not go together
// (CheckKafkaSecurity); CANCELLED with the help text for --help.
absl::StatusOr<ServiceFlags> ParseServiceFlags(
    int argc, const char* const* argv, std::string_view service_name,
    const std::function<void(CLI::App&)>& add_extra = {});

// True for the status ParseServiceFlags returns on --help.
bool IsHelpRequest(const absl::Status& status);

// For main(): OK -> 0; a help request -> prints the help to stdout, 0;
// anything else -> prints "error: <status>" to stderr, 1.
int ExitCodeFor(const absl::Status& status);

}  // namespace crm::runtime
