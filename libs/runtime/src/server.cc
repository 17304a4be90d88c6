#include "crm/runtime/server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <mutex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "crm/common/status_macros.h"
#include "crm/runtime/admin_server.h"
#include "crm/runtime/admission.h"
#include "crm/runtime/log.h"
#include "crm/runtime/overload.h"
#include "crm/runtime/readiness.h"
#include "grpc_metrics.h"
#include "parse_errors.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "grpcpp/impl/server_initializer.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"

namespace crm::runtime {
namespace {

// The write end of the started runtime's wake pipe, for the signal handler.
std::atomic<int> g_signal_wake_fd{-1};
// The last termination signal caught, so that the wake-up can be logged.
std::atomic<int> g_last_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "used from a signal handler");

// Only async-signal-safe calls here: atomics and write(2).
void OnTerminationSignal(int signal_number) {
  int saved_errno = errno;
  g_last_signal.store(signal_number);
  if (int fd = g_signal_wake_fd.load(); fd >= 0) {
    char byte = 1;
    if (write(fd, &byte, 1) < 0) {
      // Full pipe: a wake-up is already pending.
    }
  }
  errno = saved_errno;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    int error = errno;
    return absl::Status(absl::ErrnoToStatusCode(error),
                        absl::StrCat("cannot read ", path, ": ", strerror(error)));
  }
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(
    const ServiceFlags& flags) {
  if (flags.tls_cert_file.empty() != flags.tls_key_file.empty()) {
    return absl::InvalidArgumentError("tls_cert_file and tls_key_file go together");
  }
  if (flags.tls_cert_file.empty()) {
    if (!flags.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError("tls_client_ca_file needs tls_cert_file");
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, ReadFile(flags.tls_cert_file));
  ASSIGN_OR_RETURN(pair.private_key, ReadFile(flags.tls_key_file));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!flags.tls_client_ca_file.empty()) {
    ASSIGN_OR_RETURN(options.pem_root_certs, ReadFile(flags.tls_client_ca_file));
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

// Records the names of the services registered on the server being built
// ("crm.customer.v1.CustomerService"), which grpc::Service does not expose, so
// that each gets a health status of its own.
class ServiceNamesPlugin final : public grpc::ServerBuilderPlugin {
 public:
  explicit ServiceNamesPlugin(std::vector<std::string>* names) : names_(names) {}
  std::string name() override { return "crm_service_names"; }
  void InitServer(grpc::ServerInitializer*) override {}
  void Finish(grpc::ServerInitializer* initializer) override {
    for (const std::string& service : *initializer->GetServiceList()) {
      if (!service.starts_with("grpc.")) names_->push_back(service);
    }
  }
  void ChangeArguments(const std::string&, void*) override {}

 private:
  std::vector<std::string>* names_;
};

class ServiceNamesOption final : public grpc::ServerBuilderOption {
 public:
  explicit ServiceNamesOption(std::vector<std::string>* names) : names_(names) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->push_back(std::make_unique<ServiceNamesPlugin>(names_));
  }

 private:
  std::vector<std::string>* names_;
};

// Ties gRPC health to Readiness::Default(): shared with the Readiness
// listener, which outlives the runtime, so the server pointer is dropped on
// Shutdown under the mutex.
struct HealthLink {
  absl::Mutex mu;
  grpc::HealthCheckServiceInterface* health ABSL_GUARDED_BY(mu) = nullptr;
  std::atomic<bool> serving{false};

  // Reads the current state under the lock rather than taking the listener's
  // value, so that the last Apply always leaves the latest state.
  void Apply() {
    absl::MutexLock lock(&mu);
    if (health == nullptr) return;
    // Sets "" and every service name registered with it.
    health->SetServingStatus(Readiness::Default().Ready());
  }
};

constexpr int kMaxGrpcSyncThreads = 32;

}  // namespace

struct ServiceRuntime::Impl {
  enum class State { kNew, kRunning, kStopped };

  std::string name;
  ServiceFlags flags;
  std::vector<grpc::Service*> services;
  std::vector<std::function<void()>> hooks;
  State state = State::kNew;

  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<AdminServer> admin;
  int grpc_port = 0;
  std::vector<std::string> service_names;
  std::shared_ptr<HealthLink> health_link = std::make_shared<HealthLink>();
  CallbackGauge ready_gauge;
  std::unique_ptr<OverloadControl> overload;

  // RequestShutdown and the signal handler write a byte; nobody reads it, so
  // once woken WaitForTermination keeps returning at once.
  int wake_fds[2] = {-1, -1};
  int wake_pipe_errno = 0;
  bool termination_logged = false;
  bool handlers_installed = false;
  struct sigaction old_sigterm {};
  struct sigaction old_sigint {};

  void InstallSignalHandlers() {
    struct sigaction action {};
    action.sa_handler = OnTerminationSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    g_signal_wake_fd.store(wake_fds[1]);
    sigaction(SIGTERM, &action, &old_sigterm);
    sigaction(SIGINT, &action, &old_sigint);
    handlers_installed = true;
  }

  void RestoreSignalHandlers() {
    if (!handlers_installed) return;
    sigaction(SIGTERM, &old_sigterm, nullptr);
    sigaction(SIGINT, &old_sigint, nullptr);
    int mine = wake_fds[1];
    g_signal_wake_fd.compare_exchange_strong(mine, -1);
    handlers_installed = false;
  }
};

ServiceRuntime::ServiceRuntime(std::string service_name, ServiceFlags flags,
                               MetricsRegistry* registry)
    : registry_(registry), impl_(std::make_unique<Impl>()) {
  impl_->name = std::move(service_name);
  impl_->flags = std::move(flags);
  if (pipe2(impl_->wake_fds, O_CLOEXEC | O_NONBLOCK) != 0) impl_->wake_pipe_errno = errno;
}

ServiceRuntime::~ServiceRuntime() {
  Shutdown(absl::ZeroDuration());
  for (int fd : impl_->wake_fds) {
    if (fd >= 0) close(fd);
  }
}

void ServiceRuntime::AddService(grpc::Service* service) { impl_->services.push_back(service); }

void ServiceRuntime::OnShutdown(std::function<void()> hook) {
  impl_->hooks.push_back(std::move(hook));
}

absl::Status ServiceRuntime::Start() {
  Impl& impl = *impl_;
  if (impl.state != Impl::State::kNew) {
    return absl::FailedPreconditionError("ServiceRuntime can start only once");
  }
  if (impl.wake_pipe_errno != 0) {
    return absl::Status(absl::ErrnoToStatusCode(impl.wake_pipe_errno),
                        absl::StrCat("cannot create wake pipe: ", strerror(impl.wake_pipe_errno)));
  }
  ASSIGN_OR_RETURN(LogLevel level, ParseLogLevel(impl.flags.log_level));
  SetLogService(impl.name);
  SetLogLevel(level);
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                   MakeCredentials(impl.flags));

  // absl::Mutex (also inside gRPC) checks lock order on every acquisition in
  // Debian's Abseil build: a graph lookup that took 1-2% of crm-customer's CPU in
  // the register benchmark. Services turn it off; unit tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Both are process-wide switches read when a ServerBuilder is created; the
  // reflection plugin must be registered only once.
  grpc::EnableDefaultHealthCheckService(true);
  static std::once_flag reflection_once;
  std::call_once(reflection_once,
                 [] { grpc::reflection::InitProtoReflectionServerBuilderPlugin(); });

  std::string grpc_address = JoinHostPort(impl.flags.listen_host, impl.flags.grpc_port);
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which would let a second process share
  // a busy port silently instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(grpc_address, credentials, &impl.grpc_port);
  for (grpc::Service* service : impl.services) builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  // First: an unparsable request's status is rewritten before it is counted.
  interceptors.push_back(std::make_unique<internal::ParseErrorInterceptorFactory>());
  internal::RouteProtobufLogs();
  interceptors.push_back(std::make_unique<internal::GrpcMetricsInterceptorFactory>(registry_));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.SetOption(std::make_unique<ServiceNamesOption>(&impl.service_names));
  // Threads gRPC may start for synchronous handlers (reflection; the services
  // are callback-based and run on gRPC's fixed callback threads): a cap so
  // that a flood of calls cannot grow the process's threads without bound.
  grpc::ResourceQuota quota(absl::StrCat(impl.name, "-grpc"));
  quota.SetMaxThreads(kMaxGrpcSyncThreads);
  builder.SetResourceQuota(quota);
  // Calls beyond --max_in_flight are answered RESOURCE_EXHAUSTED (command::Serve).
  Admission::Default().SetLimit(impl.flags.max_in_flight);
  // gRPC takes every stream a client opens and queues it until a handler runs:
  // under a flood the queue (and the process's memory) grew without bound
  // before any handler could refuse a call. HTTP/2's limit on concurrent
  // streams per connection keeps the excess with the client.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, impl.flags.max_in_flight);
  // Calls waiting inside gRPC because the CPU is saturated are not in flight
  // yet; while the threads that serve calls are busy more than
  // --overload_busy_target and more than --overload_max_waiting calls wait, a
  // share of calls is shed (RESOURCE_EXHAUSTED before their work) so that gRPC
  // catches up.
  impl.overload = std::make_unique<OverloadControl>(
      &Admission::Default(), registry_,
      OverloadControl::Options{.target = impl.flags.overload_busy_target,
                               .max_waiting = impl.flags.overload_max_waiting});
  impl.server = builder.BuildAndStart();
  if (impl.server == nullptr || impl.grpc_port == 0) {
    if (impl.server != nullptr) impl.server->Shutdown();
    impl.server.reset();
    return absl::UnavailableError(absl::StrCat("gRPC server cannot listen on ", grpc_address,
                                               " (address in use or unusable TLS files)"));
  }
  grpc::HealthCheckServiceInterface* health = impl.server->GetHealthCheckService();
  health->SetServingStatus(false);
  for (const std::string& service : impl.service_names) health->SetServingStatus(service, false);

  impl.admin =
      std::make_unique<AdminServer>(impl.flags.listen_host, impl.flags.admin_port, registry_);
  if (absl::Status status = impl.admin->Start(); !status.ok()) {
    impl.server->Shutdown(std::chrono::system_clock::now());
    impl.server.reset();
    impl.admin.reset();
    return status;
  }

  impl.InstallSignalHandlers();
  impl.state = Impl::State::kRunning;
  impl.overload->Start();
  // Health follows Readiness::Default() from here until Shutdown.
  Readiness& readiness = Readiness::Default();
  {
    absl::MutexLock lock(&impl.health_link->mu);
    impl.health_link->health = health;
  }
  impl.health_link->serving = true;
  readiness.OnChange([link = impl.health_link](bool) { link->Apply(); });
  impl.health_link->Apply();
  impl.ready_gauge = registry_->AddCallbackGauge(
      "crm_ready", "1 while the process is ready (started, not draining, no readiness block).", {},
      [link = impl.health_link, &readiness] {
        return link->serving.load() && readiness.Ready() ? 1.0 : 0.0;
      });
  impl.admin->SetReady(true);
  Log(LogLevel::kInfo, "ready",
      {{"grpc", JoinHostPort(impl.flags.listen_host, impl.grpc_port)},
       {"admin", JoinHostPort(impl.flags.listen_host, impl.admin->port())},
       {"tls", !impl.flags.tls_cert_file.empty()},
       {"mtls", !impl.flags.tls_client_ca_file.empty()},
       {"pid", getpid()}});
  return absl::OkStatus();
}

int ServiceRuntime::grpc_port() const { return impl_->grpc_port; }

int ServiceRuntime::admin_port() const {
  return impl_->admin != nullptr ? impl_->admin->port() : 0;
}

void ServiceRuntime::RequestShutdown() {
  if (int fd = impl_->wake_fds[1]; fd >= 0) {
    char byte = 1;
    if (write(fd, &byte, 1) < 0) {
      // Full pipe: a wake-up is already pending.
    }
  }
}

void ServiceRuntime::WaitForTermination() {
  if (impl_->wake_fds[0] < 0) return;
  pollfd wake{.fd = impl_->wake_fds[0], .events = POLLIN, .revents = 0};
  while (poll(&wake, 1, -1) < 0 && errno == EINTR) {
  }
  if (impl_->termination_logged) return;
  impl_->termination_logged = true;
  int signal_number = g_last_signal.exchange(0);
  Log(LogLevel::kInfo, "termination_requested",
      {{"by", signal_number == SIGTERM  ? "SIGTERM"
              : signal_number == SIGINT ? "SIGINT"
                                        : "RequestShutdown"}});
}

void ServiceRuntime::Shutdown(absl::Duration drain_timeout) {
  Impl& impl = *impl_;
  if (impl.state != Impl::State::kRunning) return;
  impl.state = Impl::State::kStopped;
  impl.RestoreSignalHandlers();
  absl::Time start = absl::Now();
  Log(LogLevel::kInfo, "stopping",
      {{"drain_timeout_ms", absl::ToInt64Milliseconds(drain_timeout)}});

  impl.admin->SetReady(false);
  impl.health_link->serving = false;
  {
    absl::MutexLock lock(&impl.health_link->mu);
    impl.health_link->health = nullptr;
  }
  impl.server->GetHealthCheckService()->SetServingStatus(false);
  // Refuses new calls at once; in-flight calls may finish until the deadline,
  // then are cancelled. Returns when every call is done.
  impl.server->Shutdown(absl::ToChronoTime(start + drain_timeout));
  impl.server->Wait();
  impl.server.reset();
  impl.overload->Stop();
  absl::Duration drained = absl::Now() - start;

  for (auto hook = impl.hooks.rbegin(); hook != impl.hooks.rend(); ++hook) (*hook)();
  impl.hooks.clear();
  impl.admin->Stop();
  Log(LogLevel::kInfo, "stopped",
      {{"drain_ms", absl::ToInt64Milliseconds(drained)},
       {"total_ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
}

}  // namespace crm::runtime
