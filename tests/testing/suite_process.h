// Starting the suite's real processes in tests: a service binary with its flags,
// waiting for its "ready" line and reading the bound gRPC address from it; tokens
// signed with the dev secret.
//
//   ServiceProcess customer(CUSTOMER_PATH, {"--data_dir=" + dir, "--kafka_brokers=" + b});
//   auto stub = crm::customer::v1::CustomerService::NewStub(customer.Channel());
//   grpc::ClientContext ctx;
//   ctx.AddMetadata("authorization", crm::auth::BearerHeader(DevToken("alice", {"sales_rep"}, "north")));
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/testing/subprocess.h"
#include "crm/auth/grpc_auth.h"
#include "crm/auth/jwt.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace crm::testing {

// A service binary started with --grpc_port=0 --admin_port=0 on loopback.
class ServiceProcess {
 public:
  ServiceProcess(const std::string& binary, std::vector<std::string> flags) {
    std::vector<std::string> argv = {binary, "--grpc_port=0", "--admin_port=0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    process_ = std::make_unique<Subprocess>(argv);
    std::optional<std::string> ready = process_->WaitForLine("\"event\":\"ready\"", absl::Seconds(60));
    EXPECT_TRUE(ready.has_value()) << binary << " did not become ready";
    if (ready) {
      nlohmann::json j = nlohmann::json::parse(*ready);
      grpc_address_ = j.value("grpc", "");
      admin_address_ = j.value("admin", "");
    }
  }

  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& admin_address() const { return admin_address_; }
  std::shared_ptr<grpc::Channel> Channel() const {
    return grpc::CreateChannel(grpc_address_, grpc::InsecureChannelCredentials());
  }
  Subprocess& process() { return *process_; }

  // SIGTERM, then waits; returns the wait status.
  int Stop() {
    process_->Kill(SIGTERM);
    return process_->Wait();
  }
  void Kill() {
    process_->Kill(SIGKILL);
    process_->Wait();
  }

 private:
  std::unique_ptr<Subprocess> process_;
  std::string grpc_address_;
  std::string admin_address_;
};

// A token signed with the repository's dev HS256 secret (CRM_DEV_SECRET_FILE).
inline std::string DevToken(const std::string& sub, const std::vector<std::string>& roles,
                            const std::string& region,
                            absl::Duration ttl = absl::Hours(1)) {
  auto config = auth::LoadSignerConfig(CRM_DEV_SECRET_FILE, "");
  EXPECT_TRUE(config.ok()) << config.status();
  auto signer = auth::TokenSigner::Create(*config);
  EXPECT_TRUE(signer.ok()) << signer.status();
  auth::Claims claims;
  claims.sub = sub;
  claims.roles = roles;
  claims.region = region;
  claims.issued_at = absl::Now();
  claims.expires_at = absl::Now() + ttl;
  auto token = (*signer)->Sign(claims);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? *token : "";
}

// Calls `method` of `stub` as the holder of `token`, with a 10 s deadline:
//   CallAs(*customers, alice, &CustomerService::Stub::GetCustomer, req, &resp);
template <typename Stub, typename Method, typename Req, typename Resp>
grpc::Status CallAs(Stub& stub, const std::string& token, Method method, const Req& req,
                    Resp* resp) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", auth::BearerHeader(token));
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return (stub.*method)(&ctx, req, resp);
}

}  // namespace crm::testing
