#include "parse_errors.h"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "crm/runtime/log.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/stubs/logging.h"
#include "grpcpp/support/status.h"

namespace crm::runtime::internal {
namespace {

using grpc::experimental::InterceptionHookPoints;

// "crm.customer.v1.RegisterCustomerRequest" for
// "/crm.customer.v1.CustomerService/RegisterCustomer"; "request" when the binary does not know the
// method.
std::string RequestTypeOf(const char* method) {
  std::string name = method != nullptr ? method : "";
  if (name.size() < 2 || name[0] != '/') return "request";
  name.erase(0, 1);
  const size_t slash = name.find('/');
  if (slash == std::string::npos) return "request";
  name[slash] = '.';
  const google::protobuf::MethodDescriptor* m =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
  return m != nullptr ? m->input_type()->full_name() : "request";
}

class ParseErrorInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ParseErrorInterceptor(const char* method) : method_(method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    // gRPC hands interceptors a null message when the request did not parse.
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      unparsable_ = true;
    }
    if (unparsable_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status sent = methods->GetSendStatus();
      // What gRPC's handler answers a request it could not parse; anything else
      // (a cancelled call) is left as it is.
      if (sent.error_code() == grpc::StatusCode::UNIMPLEMENTED && sent.error_message().empty()) {
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            "request: not a valid " + RequestTypeOf(method_) +
                " (the body does not parse: not protobuf, truncated, or a string field that "
                "is not valid UTF-8)"));
      }
    }
    methods->Proceed();
  }

 private:
  const char* const method_;  // owned by the call's ServerRpcInfo, which outlives us
  bool unparsable_ = false;
};

// One line a second at most; the others counted.
void ProtobufLog(google::protobuf::LogLevel level, const char* filename, int line,
                 const std::string& message) {
  static std::mutex mu;
  static std::chrono::steady_clock::time_point last;
  static uint64_t suppressed = 0;
  uint64_t left_out = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    const auto now = std::chrono::steady_clock::now();
    if (last.time_since_epoch().count() != 0 && now - last < std::chrono::seconds(1) &&
        level < google::protobuf::LOGLEVEL_FATAL) {
      ++suppressed;
      return;
    }
    last = now;
    left_out = suppressed;
    suppressed = 0;
  }
  Log(level >= google::protobuf::LOGLEVEL_WARNING ? LogLevel::kWarn : LogLevel::kInfo, "protobuf",
      {{"message", message},
       {"source", std::string(filename != nullptr ? filename : "") + ":" + std::to_string(line)},
       {"suppressed", left_out}});
}

}  // namespace

void RouteProtobufLogs() {
  static std::once_flag once;
  std::call_once(once, [] { google::protobuf::SetLogHandler(&ProtobufLog); });
}

grpc::experimental::Interceptor* ParseErrorInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new ParseErrorInterceptor(info->method());
}

}  // namespace crm::runtime::internal
