// Helpers for libs/runtime's tests: polling with a deadline, HTTP GETs,
// gRPC health checks and reflection, TLS material.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace crm::runtime::testing {

// Polls `condition` until it holds or `timeout` passes; returns its last value.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(10));

struct HttpResult {
  int status = 0;  // 0 when the request failed at the transport level.
  std::string body;
  std::string content_type;
};
HttpResult HttpGet(int port, const std::string& path);

// grpc.health.v1.Health/Check for the whole server (or `service`):
// "SERVING", "NOT_SERVING", ..., or an error.
absl::StatusOr<std::string> HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                        absl::Duration timeout = absl::Seconds(5),
                                        const std::string& service = "");

// Asks the reflection service to list the services it knows.
absl::StatusOr<std::vector<std::string>> ReflectionListServices(
    const std::shared_ptr<grpc::Channel>& channel);

// A self-signed P-256 certificate for CN=localhost with subjectAltNames
// DNS:localhost and IP:127.0.0.1, usable as server cert, client cert and CA.
struct TlsMaterial {
  std::string cert_pem;
  std::string key_pem;
  std::string cert_file;  // cert_pem, written into the directory given.
  std::string key_file;
};
absl::StatusOr<TlsMaterial> MakeSelfSignedCert(const std::string& dir);

}  // namespace crm::runtime::testing
