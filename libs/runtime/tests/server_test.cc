#include "crm/runtime/server.h"

#include <signal.h>
#include <sys/wait.h>

#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/testing/subprocess.h"
#include "common/testing/temp_dir.h"
#include "crm/runtime/log.h"
#include "crm/runtime/readiness.h"
#include "crm/runtime/status.h"
#include "echo_service.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace crm::runtime {
namespace {

using ::crm::runtime::testing::EchoServiceImpl;
using ::crm::runtime::testing::HealthCheck;
using ::crm::runtime::testing::HttpGet;
using ::crm::runtime::testing::WaitFor;
using ::crm::runtime::testing::v1::EchoRequest;
using ::crm::runtime::testing::v1::EchoResponse;
using ::crm::runtime::testing::v1::EchoService;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kEchoMethod[] = "/crm.runtime.testing.v1.EchoService/Echo";

ServiceFlags LocalFlags() {
  ServiceFlags flags;
  flags.listen_host = "127.0.0.1";
  flags.grpc_port = 0;
  flags.admin_port = 0;
  return flags;
}

std::shared_ptr<grpc::Channel> InsecureChannel(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

grpc::Status CallEcho(const std::shared_ptr<grpc::Channel>& channel, const EchoRequest& request,
                      EchoResponse* response, absl::Duration timeout = absl::Seconds(5)) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return EchoService::NewStub(channel)->Echo(&context, request, response);
}

EchoRequest Request(std::string message, int delay_ms = 0, int status_code = 0) {
  EchoRequest request;
  request.set_message(std::move(message));
  request.set_delay_ms(delay_ms);
  request.set_status_code(status_code);
  return request;
}

// Collects log lines written while a test runs.
class LogCapture {
 public:
  LogCapture() {
    SetLogSink([this](std::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() { SetLogSink({}); }
  // The parsed lines whose "event" is `event`.
  std::vector<nlohmann::json> Events(std::string_view event) {
    absl::MutexLock lock(&mu_);
    std::vector<nlohmann::json> found;
    for (const std::string& line : lines_) {
      nlohmann::json parsed = nlohmann::json::parse(line);
      if (parsed.value("event", "") == event) found.push_back(parsed);
    }
    return found;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

TEST(RuntimeServerTest, ServesHealthReflectionEchoAndMetrics) {
  LogCapture logs;
  MetricsRegistry registry;
  EchoServiceImpl echo;
  ServiceRuntime runtime("crm-test", LocalFlags(), &registry);
  runtime.AddService(&echo);
  ASSERT_TRUE(runtime.Start().ok());
  ASSERT_GT(runtime.grpc_port(), 0);
  ASSERT_GT(runtime.admin_port(), 0);

  std::vector<nlohmann::json> ready = logs.Events("ready");
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0]["service"], "crm-test");
  EXPECT_EQ(ready[0]["grpc"], absl::StrCat("127.0.0.1:", runtime.grpc_port()));
  EXPECT_EQ(ready[0]["admin"], absl::StrCat("127.0.0.1:", runtime.admin_port()));
  EXPECT_EQ(ready[0]["tls"], false);

  auto channel = InsecureChannel(runtime.grpc_port());
  EXPECT_EQ(HealthCheck(channel).value_or("error"), "SERVING");
  absl::StatusOr<std::vector<std::string>> services = testing::ReflectionListServices(channel);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, Contains("crm.runtime.testing.v1.EchoService"));
  EXPECT_THAT(*services, Contains("grpc.health.v1.Health"));

  EchoResponse response;
  ASSERT_TRUE(CallEcho(channel, Request("hello"), &response).ok());
  EXPECT_EQ(response.message(), "hello");
  grpc::Status failed =
      CallEcho(channel, Request("missing", 0, grpc::StatusCode::NOT_FOUND), &response);
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(failed.error_message(), "missing");
  EXPECT_EQ(HttpGet(runtime.admin_port(), "/readyz").status, 200);

  std::string ok_line =
      absl::StrCat("crm_grpc_server_handled_total{code=\"OK\",method=\"", kEchoMethod, "\"} 1\n");
  std::string metrics;
  EXPECT_TRUE(WaitFor([&] {
    metrics = HttpGet(runtime.admin_port(), "/metrics").body;
    return metrics.find(ok_line) != std::string::npos;
  })) << metrics;
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("crm_grpc_server_handled_total{code=\"NOT_FOUND\","
                                              "method=\"",
                                              kEchoMethod, "\"} 1\n")));
  EXPECT_THAT(metrics, HasSubstr("crm_grpc_server_handled_total{code=\"OK\","
                                 "method=\"/grpc.health.v1.Health/Check\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("# TYPE crm_grpc_server_handling_seconds histogram\n"));
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("crm_grpc_server_handling_seconds_bucket{method=\"",
                                              kEchoMethod, "\",le=\"+Inf\"} 2\n")));
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("crm_grpc_server_handling_seconds_count{method=\"",
                                              kEchoMethod, "\"} 2\n")));

  runtime.Shutdown(absl::Seconds(5));
  EXPECT_EQ(logs.Events("stopped").size(), 1u);
  runtime.Shutdown(absl::Seconds(5));  // Idempotent.
  EXPECT_EQ(logs.Events("stopped").size(), 1u);
}

TEST(RuntimeServerTest, HealthReadyzAndGaugeFollowReadiness) {
  MetricsRegistry registry;
  EchoServiceImpl echo;
  ServiceRuntime runtime("crm-test", LocalFlags(), &registry);
  runtime.AddService(&echo);
  Readiness& readiness = Readiness::Default();
  ASSERT_TRUE(readiness.Ready());
  ASSERT_TRUE(runtime.Start().ok());
  auto channel = InsecureChannel(runtime.grpc_port());
  const std::string kEcho = "crm.runtime.testing.v1.EchoService";
  EXPECT_EQ(HealthCheck(channel).value_or("error"), "SERVING");
  EXPECT_EQ(HealthCheck(channel, absl::Seconds(5), kEcho).value_or("error"), "SERVING");
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("\ncrm_ready 1\n"));

  readiness.Block("store", "no space left on device");
  EXPECT_EQ(HealthCheck(channel).value_or("error"), "NOT_SERVING");
  EXPECT_EQ(HealthCheck(channel, absl::Seconds(5), kEcho).value_or("error"), "NOT_SERVING");
  testing::HttpResult readyz = HttpGet(runtime.admin_port(), "/readyz");
  EXPECT_EQ(readyz.status, 503);
  EXPECT_EQ(readyz.body, "not ready\nstore: no space left on device\n");
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("\ncrm_ready 0\n"));
  // Calls are still served: not ready is advice to balancers, not a refusal.
  EchoResponse response;
  EXPECT_TRUE(CallEcho(channel, Request("hi"), &response).ok());

  readiness.Clear("store");
  EXPECT_EQ(HealthCheck(channel).value_or("error"), "SERVING");
  EXPECT_EQ(HealthCheck(channel, absl::Seconds(5), kEcho).value_or("error"), "SERVING");
  EXPECT_EQ(HttpGet(runtime.admin_port(), "/readyz").status, 200);
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("\ncrm_ready 1\n"));

  runtime.Shutdown(absl::ZeroDuration());
  // A change after Shutdown touches nothing of the stopped runtime.
  readiness.Block("late", "after shutdown");
  readiness.Clear("late");
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("\ncrm_ready 0\n"));
}

TEST(RuntimeServerTest, ShutdownDrainsInFlightCallsThenRefusesNewOnes) {
  MetricsRegistry registry;
  EchoServiceImpl echo;
  ServiceRuntime runtime("crm-test", LocalFlags(), &registry);
  runtime.AddService(&echo);
  absl::Notification saw_not_ready;
  std::vector<std::string> hook_order;
  runtime.OnShutdown([&] { hook_order.push_back("first"); });
  runtime.OnShutdown([&] {
    hook_order.push_back("second");
    // Holds the admin port open until the test has seen /readyz go 503.
    saw_not_ready.WaitForNotificationWithTimeout(absl::Seconds(10));
  });
  ASSERT_TRUE(runtime.Start().ok());
  int admin_port = runtime.admin_port();
  auto channel = InsecureChannel(runtime.grpc_port());

  // A health watch opened before shutdown sees the switch to NOT_SERVING.
  grpc::ClientContext watch_context;
  watch_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  auto health = grpc::health::v1::Health::NewStub(channel);
  auto watch = health->Watch(&watch_context, grpc::health::v1::HealthCheckRequest());
  grpc::health::v1::HealthCheckResponse health_response;
  ASSERT_TRUE(watch->Read(&health_response));
  EXPECT_EQ(health_response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // A slow call is in flight when shutdown starts.
  grpc::ClientContext slow_context;
  slow_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  EchoRequest slow_request = Request("slow", /*delay_ms=*/300);
  EchoResponse slow_response;
  grpc::Status slow_status;
  absl::Notification slow_done;
  EchoService::NewStub(channel)->async()->Echo(&slow_context, &slow_request, &slow_response,
                                               [&](grpc::Status status) {
                                                 slow_status = std::move(status);
                                                 slow_done.Notify();
                                               });
  ASSERT_TRUE(WaitFor([&] { return echo.calls_started() == 1; }));

  std::thread stopper([&] { runtime.Shutdown(absl::Seconds(10)); });
  EXPECT_TRUE(WaitFor([&] { return HttpGet(admin_port, "/readyz").status == 503; }));
  saw_not_ready.Notify();
  ASSERT_TRUE(watch->Read(&health_response));
  EXPECT_EQ(health_response.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  // A watch never ends by itself and would hold the drain until its deadline.
  watch_context.TryCancel();

  ASSERT_TRUE(slow_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(slow_status.ok()) << slow_status.error_message();
  EXPECT_EQ(slow_response.message(), "slow");
  stopper.join();
  EXPECT_EQ(hook_order, (std::vector<std::string>{"second", "first"}));

  EchoResponse response;
  grpc::Status late = CallEcho(channel, Request("late"), &response, absl::Seconds(2));
  EXPECT_FALSE(late.ok());
  EXPECT_EQ(echo.calls_started(), 1);
  EXPECT_EQ(HttpGet(admin_port, "/healthz").status, 0);  // Admin port closed last.
}

TEST(RuntimeServerTest, RequestShutdownWakesWaitForTermination) {
  MetricsRegistry registry;
  ServiceRuntime runtime("crm-test", LocalFlags(), &registry);
  ASSERT_TRUE(runtime.Start().ok());
  std::thread waker([&] { runtime.RequestShutdown(); });
  runtime.WaitForTermination();
  runtime.WaitForTermination();  // Stays woken.
  waker.join();
  runtime.Shutdown(absl::Seconds(1));
}

TEST(RuntimeServerTest, StartErrors) {
  MetricsRegistry registry;
  ServiceRuntime first("crm-test", LocalFlags(), &registry);
  ASSERT_TRUE(first.Start().ok());
  EXPECT_EQ(first.Start().code(), absl::StatusCode::kFailedPrecondition);

  ServiceFlags busy_grpc = LocalFlags();
  busy_grpc.grpc_port = first.grpc_port();
  absl::Status status = ServiceRuntime("crm-test", busy_grpc, &registry).Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("127.0.0.1:", first.grpc_port())));

  ServiceFlags busy_admin = LocalFlags();
  busy_admin.admin_port = first.admin_port();
  EXPECT_EQ(ServiceRuntime("crm-test", busy_admin, &registry).Start().code(),
            absl::StatusCode::kUnavailable);

  ServiceFlags missing_tls = LocalFlags();
  missing_tls.tls_cert_file = "/nonexistent/cert.pem";
  missing_tls.tls_key_file = "/nonexistent/key.pem";
  status = ServiceRuntime("crm-test", missing_tls, &registry).Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("/nonexistent/cert.pem"));

  ServiceFlags bad_level = LocalFlags();
  bad_level.log_level = "chatty";
  EXPECT_EQ(ServiceRuntime("crm-test", bad_level, &registry).Start().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RuntimeServerTest, TlsServesOnlyTlsClients) {
  ::crm::testing::TempDir dir;
  absl::StatusOr<testing::TlsMaterial> tls = testing::MakeSelfSignedCert(dir.path());
  ASSERT_TRUE(tls.ok()) << tls.status();
  ServiceFlags flags = LocalFlags();
  flags.tls_cert_file = tls->cert_file;
  flags.tls_key_file = tls->key_file;
  MetricsRegistry registry;
  ServiceRuntime runtime("crm-test", flags, &registry);
  ASSERT_TRUE(runtime.Start().ok());

  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls->cert_pem;
  auto secure = grpc::CreateChannel(absl::StrCat("127.0.0.1:", runtime.grpc_port()),
                                    grpc::SslCredentials(options));
  EXPECT_EQ(HealthCheck(secure).value_or("error"), "SERVING");
  EXPECT_FALSE(HealthCheck(InsecureChannel(runtime.grpc_port()), absl::Seconds(2)).ok());
  runtime.Shutdown(absl::Seconds(1));
}

TEST(RuntimeServerTest, MutualTlsRequiresAClientCertificate) {
  ::crm::testing::TempDir dir;
  absl::StatusOr<testing::TlsMaterial> tls = testing::MakeSelfSignedCert(dir.path());
  ASSERT_TRUE(tls.ok()) << tls.status();
  ServiceFlags flags = LocalFlags();
  flags.tls_cert_file = tls->cert_file;
  flags.tls_key_file = tls->key_file;
  flags.tls_client_ca_file = tls->cert_file;  // Self-signed: it is its own CA.
  MetricsRegistry registry;
  ServiceRuntime runtime("crm-test", flags, &registry);
  ASSERT_TRUE(runtime.Start().ok());
  std::string target = absl::StrCat("127.0.0.1:", runtime.grpc_port());

  grpc::SslCredentialsOptions with_cert;
  with_cert.pem_root_certs = tls->cert_pem;
  with_cert.pem_cert_chain = tls->cert_pem;
  with_cert.pem_private_key = tls->key_pem;
  EXPECT_EQ(
      HealthCheck(grpc::CreateChannel(target, grpc::SslCredentials(with_cert))).value_or("error"),
      "SERVING");

  grpc::SslCredentialsOptions without_cert;
  without_cert.pem_root_certs = tls->cert_pem;
  EXPECT_FALSE(
      HealthCheck(grpc::CreateChannel(target, grpc::SslCredentials(without_cert)), absl::Seconds(2))
          .ok());
  runtime.Shutdown(absl::Seconds(1));
}

TEST(RuntimeServerTest, UnknownMethodsShareOneLabel) {
  MetricsRegistry registry;
  ServiceRuntime runtime("crm-test", LocalFlags(), &registry);
  ASSERT_TRUE(runtime.Start().ok());
  grpc::GenericStub stub(InsecureChannel(runtime.grpc_port()));
  for (const char* method : {"/nope.Service/A", "/nope.Service/B"}) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    grpc::Slice slice(std::string("x"));
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    absl::Notification done;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                   [&](grpc::Status result) {
                     status = std::move(result);
                     done.Notify();
                   });
    done.WaitForNotification();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  std::string metrics = registry.RenderPrometheusText();
  EXPECT_THAT(
      metrics,
      HasSubstr("crm_grpc_server_handled_total{code=\"UNIMPLEMENTED\",method=\"unknown\"} 2\n"));
  EXPECT_THAT(metrics, Not(HasSubstr("nope")));
  runtime.Shutdown(absl::Seconds(1));
}

// The parsed JSON log line with "event": `event`, read from the child's stdout.
std::optional<nlohmann::json> ReadEvent(::crm::testing::Subprocess& child, std::string_view event,
                                        absl::Time deadline) {
  while (std::optional<std::string> line = child.ReadLine(deadline - absl::Now())) {
    nlohmann::json parsed = nlohmann::json::parse(*line, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object() && parsed.value("event", "") == event) return parsed;
  }
  return std::nullopt;
}

TEST(RuntimeServerTest, SigtermStopsAServiceBinaryCleanly) {
  ::crm::testing::Subprocess child(
      {CRM_RUNTIME_TEST_SERVER, "--grpc_port=0", "--admin_port=0", "--log_level=info"});
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::optional<nlohmann::json> ready = ReadEvent(child, "ready", deadline);
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ((*ready)["service"], "runtime-test-server");
  std::string grpc_address = (*ready)["grpc"];
  {
    // Closed before the signal: an idle client in a process with no call in
    // progress notices the server's GOAWAY only on gRPC's 5 s backup poll,
    // and the drain waits for that.
    auto channel = grpc::CreateChannel(grpc_address, grpc::InsecureChannelCredentials());
    EXPECT_EQ(HealthCheck(channel).value_or("error"), "SERVING");
  }

  child.Kill(SIGTERM);
  EXPECT_TRUE(ReadEvent(child, "hook_ran", deadline).has_value());
  EXPECT_TRUE(ReadEvent(child, "stopped", deadline).has_value());
  int status = child.Wait();
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(RuntimeServerTest, HelpExitsZeroWithoutStarting) {
  ::crm::testing::Subprocess child({CRM_RUNTIME_TEST_SERVER, "--help"});
  std::string output;
  while (std::optional<std::string> line = child.ReadLine(absl::Seconds(30))) {
    absl::StrAppend(&output, *line, "\n");
  }
  EXPECT_THAT(output, HasSubstr("--grpc_port"));
  int status = child.Wait();
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace crm::runtime
