// What every crmctl command that calls a suite service over gRPC shares: the
// connection flags, the channel, the per-call context (deadline and bearer
// token), and how errors are reported and turned into exit codes.
//
//   ClientOptions options;
//   AddClientFlags(*get, options, "CRM_CUSTOMER_ADDR", "127.0.0.1:50051");
//   ...  // after parsing:
//   ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, MakeChannel(options));
//   grpc::ClientContext context;
//   RETURN_IF_ERROR(PrepareContext(options, context));
//   grpc::Status status = stub->GetCustomer(&context, request, &response);
//   if (!status.ok()) return ReportError(runtime::FromGrpcStatus(status), std::cerr);
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace crm::crmctl {

// Process exit codes of crmctl.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the call failed (any gRPC error) or a file was unreadable
inline constexpr int kExitUsage = 2;   // bad flags, values or --json

// Connection and output flags of one command; filled in by CLI11 while parsing.
struct ClientOptions {
  std::string addr;
  std::string token;            // without "Bearer "; empty sends no authorization
  std::string output = "text";  // "text" or "json"
  std::string timeout = "10s";  // absl::ParseDuration syntax; "0" means no deadline
  std::string tls_ca_file;      // PEM roots; empty means a plaintext channel

  bool json() const { return output == "json"; }
};

// Adds --addr (env `addr_env`, default `default_addr`), --token (env
// CRM_TOKEN), --output, --timeout and --tls_ca_file to `command`, bound to
// `options` (which must outlive parsing). Bad --output and --timeout values
// are CLI11 validation errors.
void AddClientFlags(CLI::App& command, ClientOptions& options, const std::string& addr_env,
                    const std::string& default_addr);

// A channel to options.addr: TLS with options.tls_ca_file as the roots when
// given, else plaintext. NOT_FOUND when the CA file cannot be read. The
// channel connects lazily: a dead address shows up as UNAVAILABLE on the call.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientOptions& options);

// Sets the deadline (now + options.timeout, none for 0) and the
// `authorization: Bearer <token>` entry on a fresh `context`.
// INVALID_ARGUMENT when the timeout does not parse.
absl::Status PrepareContext(const ClientOptions& options, grpc::ClientContext& context);

// Writes "error: <CODE>: <message>" (plus a hint for UNAUTHENTICATED without a
// token when `options` is given) to `err` and returns the exit code for it:
// kExitUsage for INVALID_ARGUMENT raised before any call (`before_call`),
// kExitFailed otherwise.
int ReportError(const absl::Status& status, std::ostream& err, bool before_call = false,
                const ClientOptions* options = nullptr);

}  // namespace crm::crmctl
