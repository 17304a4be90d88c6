// The Echo test service (tests/proto/crm/runtime/testing/v1/echo.proto) on the
// callback API, shared by the in-process tests and runtime_test_server.
#pragma once

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "crm/runtime/testing/v1/echo.grpc.pb.h"

namespace crm::runtime::testing {

// Answers at once, or after request.delay_ms on a thread of its own (so the
// call is in flight while the test does something else).
// Lifecycle: must outlive the server it is registered with; the destructor
// joins the delayed-reply threads. Thread safety: gRPC calls it from any thread.
class EchoServiceImpl final : public v1::EchoService::CallbackService {
 public:
  ~EchoServiceImpl() override;

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const v1::EchoRequest* request,
                                 v1::EchoResponse* response) override;

  // Calls that have reached the handler so far.
  int calls_started() const { return calls_started_.load(); }

 private:
  std::atomic<int> calls_started_{0};
  absl::Mutex mu_;
  std::vector<std::thread> delayed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace crm::runtime::testing
