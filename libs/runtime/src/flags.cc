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
