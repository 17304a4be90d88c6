#include "grpc_client.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "crm/auth/grpc_auth.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace crm::crmctl {

void AddClientFlags(CLI::App& command, ClientOptions& options, const std::string& addr_env,
                    const std::string& default_addr) {
  options.addr = default_addr;
  command.add_option("--addr", options.addr, "Service address host:port")
      ->envname(addr_env)
      ->capture_default_str()
      ->group("Connection");
  command.add_option("--token", options.token, "Bearer token (see `crmctl token`)")
      ->envname("CRM_TOKEN")
      ->group("Connection");
  command.add_option("--output", options.output, "text: a readable summary; json: the response")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str()
      ->group("Connection");
  command
      .add_option("--timeout", options.timeout, "Deadline of the call, e.g. 500ms, 30s (0: none)")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            absl::Duration d;
            if (!absl::ParseDuration(value, &d) || d < absl::ZeroDuration()) {
              return "not a duration such as 10s, 500ms or 1m: " + value;
            }
            return "";
          },
          "DURATION"))
      ->capture_default_str()
      ->group("Connection");
  command
      .add_option("--tls_ca_file", options.tls_ca_file,
                  "PEM root certificates: use TLS instead of plaintext")
      ->group("Connection");
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls_ca_file.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    std::ifstream in(options.tls_ca_file, std::ios::binary);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in || pem.str().empty()) {
      return absl::NotFoundError("cannot read --tls_ca_file " + options.tls_ca_file);
    }
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pem.str();
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetUserAgentPrefix("crmctl");
  return grpc::CreateCustomChannel(options.addr, credentials, args);
}

absl::Status PrepareContext(const ClientOptions& options, grpc::ClientContext& context) {
  absl::Duration timeout;
  if (!absl::ParseDuration(options.timeout, &timeout)) {
    return absl::InvalidArgumentError("--timeout: not a duration: " + options.timeout);
  }
  if (timeout > absl::ZeroDuration()) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  std::string token(absl::StripAsciiWhitespace(options.token));
  if (absl::StartsWithIgnoreCase(token, "bearer ")) token = token.substr(7);
  if (!token.empty()) {
    context.AddMetadata(std::string(auth::kAuthorizationKey), auth::BearerHeader(token));
  }
  return absl::OkStatus();
}

int ReportError(const absl::Status& status, std::ostream& err, bool before_call,
                const ClientOptions* options) {
  err << "error: " << absl::StatusCodeToString(status.code()) << ": " << status.message() << "\n";
  if (options != nullptr && status.code() == absl::StatusCode::kUnauthenticated &&
      absl::StripAsciiWhitespace(options->token).empty()) {
    err << "hint: pass --token or set CRM_TOKEN, e.g. "
           "export CRM_TOKEN=$(crmctl token --sub alice --roles sales_rep --region north)\n";
  }
  err.flush();
  if (before_call && status.code() == absl::StatusCode::kInvalidArgument) return kExitUsage;
  return kExitFailed;
}

}  // namespace crm::crmctl
