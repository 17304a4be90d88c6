#include "crm/runtime/admin_server.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace crm::runtime {
namespace {

using ::crm::runtime::testing::HttpGet;
using ::crm::runtime::testing::HttpResult;
using ::testing::HasSubstr;

TEST(RuntimeAdminServerTest, ServesProbesAndMetrics) {
  MetricsRegistry registry;
  registry.GetCounter("crm_things_total", "Things.").Inc(2);
  AdminServer admin("127.0.0.1", 0, &registry);
  ASSERT_TRUE(admin.Start().ok());
  ASSERT_GT(admin.port(), 0);

  EXPECT_EQ(HttpGet(admin.port(), "/healthz").status, 200);
  EXPECT_EQ(HttpGet(admin.port(), "/readyz").status, 503);
  admin.SetReady(true);
  HttpResult ready = HttpGet(admin.port(), "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready\n");

  HttpResult metrics = HttpGet(admin.port(), "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4");
  EXPECT_THAT(metrics.body, HasSubstr("\ncrm_things_total 2\n"));
  EXPECT_EQ(HttpGet(admin.port(), "/nope").status, 404);

  int port = admin.port();
  admin.Stop();
  admin.Stop();  // Idempotent.
  EXPECT_EQ(HttpGet(port, "/healthz").status, 0);
}

TEST(RuntimeAdminServerTest, BusyPortIsUnavailable) {
  MetricsRegistry registry;
  AdminServer first("127.0.0.1", 0, &registry);
  ASSERT_TRUE(first.Start().ok());
  AdminServer second("127.0.0.1", first.port(), &registry);
  absl::Status status = second.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("127.0.0.1:" + std::to_string(first.port())));
  EXPECT_EQ(first.Start().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RuntimeAdminServerTest, StopRightAfterStartReturns) {
  MetricsRegistry registry;
  for (int i = 0; i < 20; ++i) {
    AdminServer admin("127.0.0.1", 0, &registry);
    ASSERT_TRUE(admin.Start().ok());
  }
}

TEST(RuntimeAdminServerTest, JoinHostPort) {
  EXPECT_EQ(JoinHostPort("127.0.0.1", 80), "127.0.0.1:80");
  EXPECT_EQ(JoinHostPort("::1", 80), "[::1]:80");
  EXPECT_EQ(JoinHostPort("[::1]", 80), "[::1]:80");
}

}  // namespace
}  // namespace crm::runtime
