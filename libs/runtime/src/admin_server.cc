#include "crm/runtime/admin_server.h"

#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl_view.h"
#include "httplib.h"

namespace crm::runtime {

struct AdminServer::Impl {
  std::string host;
  int requested_port;
  MetricsRegistry* registry;
  Readiness* readiness;
  httplib::Server http;
  std::thread thread;
  std::atomic<int> port{0};
  std::atomic<bool> ready{false};
  bool started = false;
  bool stopped = false;
};

std::string JoinHostPort(std::string_view host, int port) {
  if (host.find(':') != std::string_view::npos && !host.starts_with("[")) {
    return absl::StrCat("[", internal::AbslView(host), "]:", port);
  }
  return absl::StrCat(internal::AbslView(host), ":", port);
}

AdminServer::AdminServer(std::string host, int port, MetricsRegistry* registry,
                         Readiness* readiness)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->requested_port = port;
  impl_->registry = registry;
  impl_->readiness = readiness;
}

AdminServer::~AdminServer() { Stop(); }

absl::Status AdminServer::Start() {
  Impl& impl = *impl_;
  if (impl.started) return absl::FailedPreconditionError("admin server can start only once");
  // Scrapes and probes are rare; two workers are plenty.
  impl.http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  impl.http.Get("/metrics", [&impl](const httplib::Request&, httplib::Response& response) {
    response.set_content(impl.registry->RenderPrometheusText(), "text/plain; version=0.0.4");
  });
  impl.http.Get("/readyz", [&impl](const httplib::Request&, httplib::Response& response) {
    std::vector<std::pair<std::string, std::string>> blocks = impl.readiness->Blocks();
    bool ready = impl.ready.load() && blocks.empty();
    std::string body = ready ? "ready\n" : "not ready\n";
    if (!impl.ready.load()) body += "process: not started or draining\n";
    for (const auto& [name, reason] : blocks) absl::StrAppend(&body, name, ": ", reason, "\n");
    response.status = ready ? 200 : 503;
    response.set_content(body, "text/plain");
  });
  impl.http.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });

  // httplib's default sets SO_REUSEPORT, which lets a second server share a
  // busy port silently; SO_REUSEADDR alone still allows quick restarts.
  impl.http.set_socket_options([](int socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  int port = impl.requested_port;
  bool bound = port == 0 ? (port = impl.http.bind_to_any_port(impl.host)) > 0
                         : impl.http.bind_to_port(impl.host, port);
  if (!bound) {
    return absl::UnavailableError(absl::StrCat("admin HTTP server cannot bind ",
                                               JoinHostPort(impl.host, impl.requested_port)));
  }
  impl.started = true;
  impl.port = port;
  impl.thread = std::thread([&impl] { impl.http.listen_after_bind(); });
  // httplib's stop() is a no-op until the listen loop has marked itself
  // running, so wait for that here rather than risk a Stop() that never ends.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!impl.http.is_running() && absl::Now() < deadline) std::this_thread::yield();
  if (!impl.http.is_running()) {
    impl.http.stop();
    return absl::InternalError("admin HTTP server did not start listening");
  }
  return absl::OkStatus();
}

int AdminServer::port() const { return impl_->port.load(); }

void AdminServer::SetReady(bool ready) { impl_->ready.store(ready); }

bool AdminServer::ready() const { return impl_->ready.load(); }

void AdminServer::Stop() {
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  impl_->ready = false;
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->port = 0;
}

}  // namespace crm::runtime
