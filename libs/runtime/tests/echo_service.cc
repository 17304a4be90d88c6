#include "echo_service.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace crm::runtime::testing {

EchoServiceImpl::~EchoServiceImpl() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    threads.swap(delayed_);
  }
  for (std::thread& thread : threads) thread.join();
}

grpc::ServerUnaryReactor* EchoServiceImpl::Echo(grpc::CallbackServerContext* context,
                                                const v1::EchoRequest* request,
                                                v1::EchoResponse* response) {
  calls_started_.fetch_add(1);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  response->set_message(request->message());
  grpc::Status status =
      request->status_code() == 0
          ? grpc::Status::OK
          : grpc::Status(static_cast<grpc::StatusCode>(request->status_code()), request->message());
  if (request->delay_ms() <= 0) {
    reactor->Finish(status);
    return reactor;
  }
  absl::Duration delay = absl::Milliseconds(request->delay_ms());
  absl::MutexLock lock(&mu_);
  delayed_.emplace_back([reactor, status, delay] {
    absl::SleepFor(delay);  // Simulated slow work, not a wait for a condition.
    reactor->Finish(status);
  });
  return reactor;
}

}  // namespace crm::runtime::testing
