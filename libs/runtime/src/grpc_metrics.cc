#include "grpc_metrics.h"

#include <chrono>
#include <iterator>

#include "absl/container/flat_hash_map.h"
#include "absl_view.h"
#include "google/protobuf/descriptor.h"

namespace crm::runtime::internal {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Indexed by grpc::StatusCode.
constexpr std::string_view kCodeNames[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};
static_assert(std::size(kCodeNames) == grpc::StatusCode::UNAUTHENTICATED + 1);

std::atomic<uint64_t> g_next_factory_id{1};

// The label for methods the server does not implement.
constexpr std::string_view kUnknownMethod = "unknown";

// True for "/pkg.Service/Method" when the binary has the method's descriptor
// (every generated service it links) or it is gRPC's built-in health service,
// which is implemented without protobuf descriptors.
bool IsKnownMethod(std::string_view method) {
  if (method == "/grpc.health.v1.Health/Check" || method == "/grpc.health.v1.Health/Watch") {
    return true;
  }
  size_t slash = method.rfind('/');
  if (!method.starts_with('/') || slash == 0 || slash == std::string_view::npos) return false;
  std::string full_name(method.substr(1));
  full_name[slash - 1] = '.';
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full_name) != nullptr;
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(GrpcMetricsInterceptorFactory* factory,
                     GrpcMetricsInterceptorFactory::MethodMetrics* metrics)
      : factory_(factory), metrics_(metrics), start_(std::chrono::steady_clock::now()) {}

  // A call that never sent a status (torn down by the server) still counts.
  ~MetricsInterceptor() override {
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (!recorded_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    recorded_ = true;
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    factory_->Record(*metrics_, code, elapsed.count());
  }

  GrpcMetricsInterceptorFactory* const factory_;
  GrpcMetricsInterceptorFactory::MethodMetrics* const metrics_;
  const std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

}  // namespace

GrpcMetricsInterceptorFactory::GrpcMetricsInterceptorFactory(MetricsRegistry* registry)
    : registry_(registry), id_(g_next_factory_id.fetch_add(1)) {}

grpc::experimental::Interceptor* GrpcMetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  const char* method = info->method();
  return new MetricsInterceptor(this, &ForMethod(method != nullptr ? method : ""));
}

GrpcMetricsInterceptorFactory::MethodMetrics& GrpcMetricsInterceptorFactory::ForMethod(
    std::string_view method) {
  // Factory id -> method -> metrics. Entries of destroyed factories linger
  // (a few per test binary) but are never looked up again: ids are not reused.
  thread_local absl::flat_hash_map<uint64_t, absl::flat_hash_map<std::string, MethodMetrics*>>
      cache;
  absl::flat_hash_map<std::string, MethodMetrics*>& mine = cache[id_];
  if (auto it = mine.find(AbslView(method)); it != mine.end()) return *it->second;

  absl::MutexLock lock(&mu_);
  auto known = methods_.find(AbslView(method));
  if (known == methods_.end()) {
    // Only methods the binary knows get a label of their own; any other name
    // comes from the client, and labelling by it would let callers create
    // series (and map entries) without bound.
    bool is_known = IsKnownMethod(method);
    std::string label = is_known ? std::string(method) : std::string(kUnknownMethod);
    known = methods_.try_emplace(label).first;
    MethodMetrics& metrics = known->second;
    if (metrics.latency == nullptr) {
      metrics.method = label;
      metrics.latency = &registry_->GetHistogram("crm_grpc_server_handling_seconds",
                                                 "Time from call start to status sent, in seconds.",
                                                 {{"method", metrics.method}});
    }
    if (!is_known) return metrics;
  }
  mine.emplace(known->first, &known->second);
  return known->second;
}

void GrpcMetricsInterceptorFactory::Record(MethodMetrics& metrics, grpc::StatusCode code,
                                           double seconds) {
  size_t index = static_cast<size_t>(code) < metrics.handled.size()
                     ? static_cast<size_t>(code)
                     : static_cast<size_t>(grpc::StatusCode::UNKNOWN);
  Counter* counter = metrics.handled[index].load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Racing threads get the same counter from the registry, so either store wins.
    counter = &registry_->GetCounter(
        "crm_grpc_server_handled_total", "RPCs completed on the server, by method and status code.",
        {{"method", metrics.method}, {"code", std::string(kCodeNames[index])}});
    metrics.handled[index].store(counter, std::memory_order_release);
  }
  counter->Inc();
  metrics.latency->Observe(seconds);
}

}  // namespace crm::runtime::internal
