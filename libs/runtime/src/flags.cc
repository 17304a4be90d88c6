#include "crm/runtime/flags.h"

#include <cstdio>
#include <exception>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl_view.h"

namespace crm::runtime {
namespace {

// The help text travels as the message of a CANCELLED status; this payload
// tells it apart from any other cancellation.
constexpr std::string_view kHelpPayloadUrl = "crm.help";

void AddServiceFlags(CLI::App& app, ServiceFlags& flags) {
  AddFlag(app, "data_dir", &flags.data_dir, "Directory for the service's local state");
  AddFlag(app, "listen_host", &flags.listen_host, "Address the gRPC and admin ports bind to");
  AddFlag(app, "grpc_port", &flags.grpc_port, "gRPC port; 0 picks a free port")
      ->check(CLI::Range(0, 65535));
  AddFlag(app, "admin_port", &flags.admin_port,
          "HTTP admin port (/metrics, /readyz, /healthz); 0 picks a free port")
      ->check(CLI::Range(0, 65535));
  AddFlag(app, "kafka_brokers", &flags.kafka_brokers, "Kafka bootstrap servers, host:port,...");
  AddFlag(app, "kafka_session_timeout_ms", &flags.kafka_session_timeout_ms,
          "Consumer group session timeout: how soon a dead consumer's partitions move")
      ->check(CLI::Range(1000, 3600000));
  KafkaSecurityFlags& k = flags.kafka_security;
  AddFlag(app, "kafka_security_protocol", &k.protocol,
          "Kafka transport: plaintext, ssl, sasl_plaintext or sasl_ssl (every producer and "
          "consumer of the process)")
      ->check(CLI::IsMember({"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"}));
  AddFlag(app, "kafka_ssl_ca_file", &k.ssl_ca_file,
          "PEM CA bundle the Kafka brokers' certificates chain to (ssl, sasl_ssl); default: "
          "the system's roots");
  AddFlag(app, "kafka_ssl_cert_file", &k.ssl_cert_file,
          "PEM client certificate shown to the brokers (mTLS; ssl, sasl_ssl)");
  AddFlag(app, "kafka_ssl_key_file", &k.ssl_key_file,
          "PEM private key of --kafka_ssl_cert_file");
  AddFlag(app, "kafka_sasl_mechanism", &k.sasl_mechanism,
          "SASL mechanism (sasl_plaintext, sasl_ssl): SCRAM-SHA-256, SCRAM-SHA-512, or PLAIN "
          "(sasl_ssl only)")
      ->check(CLI::IsMember({"", "SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"}));
  AddFlag(app, "kafka_sasl_username", &k.sasl_username, "SASL user name");
  AddFlag(app, "kafka_sasl_password_file", &k.sasl_password_file,
          "File holding the SASL password (one line; no password on the command line)");
  AddFlag(app, "tls_cert_file", &flags.tls_cert_file, "PEM certificate chain; enables TLS");
  AddFlag(app, "tls_key_file", &flags.tls_key_file, "PEM private key for --tls_cert_file");
  AddFlag(app, "tls_client_ca_file", &flags.tls_client_ca_file,
          "PEM CA bundle; when set, clients must present a certificate it signed");
  AddFlag(app, "max_in_flight", &flags.max_in_flight,
          "Calls served at once (authenticated, not finished); more are answered "
          "RESOURCE_EXHAUSTED at once")
      ->check(CLI::Range(1, 1000000));
  AddFlag(app, "overload_busy_target", &flags.overload_busy_target,
          "Share of time (0..1) the threads serving calls may be busy, running or waiting for "
          "a CPU; above it a share of calls is refused RESOURCE_EXHAUSTED before any work; "
          "0 = never")
      ->check(CLI::Range(0.0, 1.0));
  AddFlag(app, "overload_max_waiting", &flags.overload_max_waiting,
          "Calls waiting inside gRPC for a handler above which busy serving threads mean the "
          "process is falling behind, and calls are shed")
      ->check(CLI::Range(0, 1000000));
  AddFlag(app, "log_level", &flags.log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
}

absl::Status CheckTls(const ServiceFlags& flags) {
  if (flags.tls_cert_file.empty() != flags.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
  }
  if (!flags.tls_client_ca_file.empty() && flags.tls_cert_file.empty()) {
    return absl::InvalidArgumentError("--tls_client_ca_file needs --tls_cert_file");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckKafkaSecurity(const KafkaSecurityFlags& k) {
  const bool ssl = k.protocol == "ssl" || k.protocol == "sasl_ssl";
  const bool sasl = k.protocol == "sasl_plaintext" || k.protocol == "sasl_ssl";
  if (!ssl && k.protocol != "plaintext" && !sasl) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--kafka_security_protocol: '", k.protocol,
        "' is not plaintext, ssl, sasl_plaintext or sasl_ssl"));
  }
  if (!ssl && !(k.ssl_ca_file.empty() && k.ssl_cert_file.empty() && k.ssl_key_file.empty())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--kafka_ssl_ca_file, --kafka_ssl_cert_file and --kafka_ssl_key_file need "
        "--kafka_security_protocol=ssl or sasl_ssl (it is ", k.protocol, ")"));
  }
  if (k.ssl_cert_file.empty() != k.ssl_key_file.empty()) {
    return absl::InvalidArgumentError("--kafka_ssl_cert_file and --kafka_ssl_key_file go together");
  }
  const bool any_sasl =
      !k.sasl_mechanism.empty() || !k.sasl_username.empty() || !k.sasl_password_file.empty();
  if (!sasl) {
    if (any_sasl) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--kafka_sasl_mechanism, --kafka_sasl_username and --kafka_sasl_password_file need "
          "--kafka_security_protocol=sasl_plaintext or sasl_ssl (it is ", k.protocol, ")"));
    }
    return absl::OkStatus();
  }
  if (k.sasl_mechanism != "SCRAM-SHA-256" && k.sasl_mechanism != "SCRAM-SHA-512" &&
      k.sasl_mechanism != "PLAIN") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--kafka_security_protocol=", k.protocol,
        " needs --kafka_sasl_mechanism SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN (it is '",
        k.sasl_mechanism, "')"));
  }
  if (k.sasl_username.empty() || k.sasl_password_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--kafka_security_protocol=", k.protocol,
        " needs --kafka_sasl_username and --kafka_sasl_password_file"));
  }
  if (k.sasl_mechanism == "PLAIN" && !ssl) {
    return absl::InvalidArgumentError(
        "--kafka_sasl_mechanism=PLAIN sends the password as it is: only with "
        "--kafka_security_protocol=sasl_ssl");
  }
  return absl::OkStatus();
}

std::string EnvNameForFlag(std::string_view name) {
  return absl::StrCat("CRM_", absl::AsciiStrToUpper(internal::AbslView(name)));
}

absl::StatusOr<ServiceFlags> ParseServiceFlags(int argc, const char* const* argv,
                                               std::string_view service_name,
                                               const std::function<void(CLI::App&)>& add_extra) {
  ServiceFlags flags;
  CLI::App app(absl::StrCat(internal::AbslView(service_name),
                            ": flags fall back to CRM_<FLAG> environment variables"),
               std::string(service_name));
  // CLI11 reports everything through exceptions; none may leave this function.
  try {
    AddServiceFlags(app, flags);
    if (add_extra) add_extra(app);
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    absl::Status help = absl::CancelledError(app.help());
    help.SetPayload(internal::AbslView(kHelpPayloadUrl), absl::Cord());
    return help;
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const CLI::Error& e) {
    return absl::InternalError(absl::StrCat("flag definitions: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("flag parsing: ", e.what()));
  }
  if (absl::Status status = CheckTls(flags); !status.ok()) return status;
  if (absl::Status status = CheckKafkaSecurity(flags.kafka_security); !status.ok()) return status;
  return flags;
}

bool IsHelpRequest(const absl::Status& status) {
  return status.code() == absl::StatusCode::kCancelled &&
         status.GetPayload(internal::AbslView(kHelpPayloadUrl)).has_value();
}

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return 0;
  if (IsHelpRequest(status)) {
    std::string_view help = internal::StdView(status.message());
    std::fwrite(help.data(), 1, help.size(), stdout);
    std::fflush(stdout);
    return 0;
  }
  std::fprintf(stderr, "error: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace crm::runtime
