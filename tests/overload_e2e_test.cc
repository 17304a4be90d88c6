// crm-customer under overload, over real processes and sockets: the sustainable
// rate of RegisterCustomer is measured first (64 callers, closed loop), then
// calls are offered open loop at 4x that rate for 20 s (CRM_OVERLOAD_SECONDS
// to change it). The excess is answered RESOURCE_EXHAUSTED quickly: past
// --max_in_flight, and while the serving threads are saturated with calls
// waiting inside gRPC (runtime::OverloadControl sheds a share before any work).
// The admitted calls keep a bounded latency; no call waits until its deadline;
// the server's resident memory stays bounded; it does not crash, stops
// shedding by itself and serves normally afterwards; an unauthenticated call
// during the flood is refused as such (it never takes a place). Figures are
// printed (p99 of admitted calls, refusals, VmRSS, threads); latency is not
// asserted, as the machine is shared.
//
// On a machine with two or more CPUs the server's threads are pinned to CPU 0
// and the test's (the load generator's) to CPU 1. A generator on one CPU can
// offer 4x only if a call costs the server 4x what it costs the generator: each
// registration carries 40 contacts (CRM_OVERLOAD_CONTACTS to change it), which
// the server validates, indexes and stores. With no contacts the generator
// saturates its own CPU first, issues about 2x, and the calls then wait in the
// generator, not in the server. The rate issued is printed next to the rate
// offered, and the server-side handling time from the server's histogram.
#include <dirent.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "testing/metrics_scrape.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace v1 = ::crm::customer::v1;
using crm::testing::DevToken;
using crm::testing::ServiceProcess;

// A field of /proc/PID/status ("VmRSS", "Threads"), as a number (kB for sizes).
int64_t ProcStatus(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::string value = line.substr(field.size() + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value = value.substr(0, value.find_first_of(" \t"));
    int64_t n = 0;
    return absl::SimpleAtoi(value, &n) ? n : -1;
  }
  return -1;
}

// Pins every thread of process `pid` ("self" for this one) to `cpu`; threads
// started later inherit it from the thread that starts them.
void PinThreads(const std::string& pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const std::string dir = "/proc/" + pid + "/task";
  DIR* tasks = opendir(dir.c_str());
  ASSERT_NE(tasks, nullptr) << dir;
  while (dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    sched_setaffinity(static_cast<pid_t>(std::stol(entry->d_name)), sizeof(set), &set);
  }
  closedir(tasks);
}

// The p-quantile (0..1) of a Prometheus histogram's cumulative buckets
// (upper bound -> count), as the bucket's upper bound.
double HistogramQuantile(const std::map<double, double>& buckets, double p) {
  if (buckets.empty()) return 0;
  const double total = buckets.rbegin()->second;
  for (const auto& [le, count] : buckets) {
    if (count >= p * total) return le;
  }
  return buckets.rbegin()->first;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

v1::RegisterCustomerRequest RegisterRequest(const std::string& name) {
  v1::RegisterCustomerRequest req;
  req.mutable_basic()->set_name(name);
  req.mutable_basic()->set_industry("manufacturing");
  req.set_owner("alice");
  req.set_region("north");
  req.set_confirm_duplicate(true);
  int contacts = 40;
  if (const char* env = std::getenv("CRM_OVERLOAD_CONTACTS")) contacts = std::atoi(env);
  for (int i = 0; i < contacts; ++i) {
    v1::Contact* c = req.add_contacts();
    c->set_title("Buyer");
    c->mutable_personal()->set_name(absl::StrCat("Contact ", i));
    c->mutable_personal()->set_phone(absl::StrCat("+49 30 ", 1000000 + i));
    c->mutable_personal()->set_email(absl::StrCat("c", i, "@example.com"));
  }
  return req;
}

class OverloadE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = std::make_unique<ServiceProcess>(
        CUSTOMER_PATH,
        std::vector<std::string>{"--data_dir=" + dir_.path() + "/customer",
                                 std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE});
    drain_ = std::thread([process = &service_->process()] {
      while (process->ReadLine(absl::Seconds(3600))) {
      }
    });
    stub_ = v1::CustomerService::NewStub(service_->Channel());
    token_ = DevToken("root", {"admin"}, "");
  }
  void TearDown() override {
    if (service_) service_->Stop();
    if (drain_.joinable()) drain_.join();
  }

  grpc::Status RegisterSync(const std::string& name, const std::string& token) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) ctx.AddMetadata("authorization", auth::BearerHeader(token));
    v1::RegisterCustomerResponse resp;
    return stub_->RegisterCustomer(&ctx, RegisterRequest(name), &resp);
  }

  // RegisterCustomer's server-side handling-time buckets (upper bound in
  // seconds, +Inf as infinity -> cumulative count).
  std::map<double, double> HandlingBuckets() {
    std::map<double, double> buckets;
    const std::string prefix =
        "crm_grpc_server_handling_seconds_bucket{method=\"/crm.customer.v1.CustomerService/"
        "RegisterCustomer\",le=\"";
    for (const char* le :
         {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
      const double v = crm::testing::ScrapeMetric(service_->admin_address(), prefix + le + "\"}");
      buckets[std::string(le) == "+Inf" ? 1e9 : std::stod(le)] = v;
    }
    return buckets;
  }

  crm::testing::TempDir dir_;
  std::unique_ptr<ServiceProcess> service_;
  std::thread drain_;
  std::unique_ptr<v1::CustomerService::Stub> stub_;
  std::string token_;
};

TEST_F(OverloadE2eTest, FourTimesTheSustainableRateIsRefusedQuicklyAndMemoryStaysBounded) {
  const pid_t pid = service_->process().pid();
  const int64_t rss_idle_kb = ProcStatus(pid, "VmRSS");
  const bool pinned = std::thread::hardware_concurrency() >= 2;
  if (pinned) {
    PinThreads(std::to_string(pid), 0);
    PinThreads("self", 1);
  }

  // 1. The sustainable rate: 64 callers, closed loop, 3 s.
  std::atomic<int64_t> closed_ok{0};
  std::atomic<bool> closed_stop{false};
  std::vector<std::thread> callers;
  for (int c = 0; c < 64; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; !closed_stop.load(); ++i) {
        if (RegisterSync(absl::StrCat("Closed ", c, "-", i), token_).ok()) closed_ok.fetch_add(1);
      }
    });
  }
  absl::SleepFor(absl::Seconds(3));
  closed_stop = true;
  for (std::thread& t : callers) t.join();
  const double sustainable = static_cast<double>(closed_ok.load()) / 3.0;
  ASSERT_GT(sustainable, 10) << "the service did not serve";

  // 2. Open loop at 4x for the window, asynchronous calls, 10 s deadline each.
  int seconds = 20;
  if (const char* env = std::getenv("CRM_OVERLOAD_SECONDS")) {
    ASSERT_TRUE(absl::SimpleAtoi(env, &seconds)) << "CRM_OVERLOAD_SECONDS=" << env;
  }
  const double offered_rate = 4 * sustainable;
  const std::map<double, double> buckets_before = HandlingBuckets();
  struct Call {
    grpc::ClientContext ctx;
    v1::RegisterCustomerRequest req;
    v1::RegisterCustomerResponse resp;
    absl::Time start;
  };
  std::mutex mu;
  std::vector<double> admitted_ms;
  std::vector<double> refused_ms;
  std::map<int, int64_t> codes;
  std::atomic<int64_t> outstanding{0};
  int64_t max_rss_kb = 0, max_threads = 0;
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling.load()) {
      int64_t rss = ProcStatus(pid, "VmRSS"), threads = ProcStatus(pid, "Threads");
      {
        std::lock_guard<std::mutex> lock(mu);
        max_rss_kb = std::max(max_rss_kb, rss);
        max_threads = std::max(max_threads, threads);
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
  });
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  // Halfway through, a call without a token: refused as such, not queued.
  grpc::Status unauthenticated_during_flood;
  std::thread unauthenticated([&] {
    absl::SleepFor(absl::Seconds(seconds) / 2);
    unauthenticated_during_flood = RegisterSync("No token", "");
  });
  // Several clients, each with its own connection (as a flood of real callers
  // would be), each offering its share of the rate.
  constexpr int kClients = 4;
  std::atomic<int64_t> issued_total{0};
  std::vector<std::thread> clients;
  for (int client = 0; client < kClients; ++client) {
    clients.emplace_back([&, client] {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("crm.overload_client", client);  // distinct args: a connection of its own
      auto stub = v1::CustomerService::NewStub(grpc::CreateCustomChannel(
          service_->grpc_address(), grpc::InsecureChannelCredentials(), args));
      const double rate = offered_rate / kClients;
      int64_t issued = 0;
      for (absl::Time now = start; now < end; now = absl::Now()) {
        const int64_t due = static_cast<int64_t>(absl::ToDoubleSeconds(now - start) * rate);
        // A bounded burst per tick, so that a client that falls behind still
        // sees the clock.
        for (int burst = 0; issued < due && burst < 200; ++issued, ++burst) {
          auto* call = new Call;
          call->req = RegisterRequest(absl::StrCat("Open ", client, "-", issued));
          call->ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
          call->ctx.AddMetadata("authorization", auth::BearerHeader(token_));
          call->start = absl::Now();
          outstanding.fetch_add(1);
          stub->async()->RegisterCustomer(
              &call->ctx, &call->req, &call->resp, [&, call](grpc::Status s) {
                const double ms = absl::ToDoubleMilliseconds(absl::Now() - call->start);
                {
                  std::lock_guard<std::mutex> lock(mu);
                  ++codes[s.error_code()];
                  if (s.ok()) admitted_ms.push_back(ms);
                  if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
                    refused_ms.push_back(ms);
                  }
                }
                delete call;
                outstanding.fetch_sub(1);
              });
        }
        absl::SleepFor(absl::Milliseconds(1));
      }
      issued_total.fetch_add(issued);
      // The stub (and its channel) must outlive the calls it started.
      while (outstanding.load() > 0 && absl::Now() < end + absl::Seconds(30)) {
        absl::SleepFor(absl::Milliseconds(20));
      }
    });
  }
  for (std::thread& t : clients) t.join();
  unauthenticated.join();
  const double achieved_rate = static_cast<double>(issued_total.load()) / seconds;
  const absl::Time drain_deadline = absl::Now() + absl::Seconds(30);
  while (outstanding.load() > 0 && absl::Now() < drain_deadline)
    absl::SleepFor(absl::Milliseconds(20));
  sampling = false;
  sampler.join();
  ASSERT_EQ(outstanding.load(), 0) << "calls still unanswered 30 s after the flood";
  std::map<double, double> buckets = HandlingBuckets();
  for (auto& [le, count] : buckets) count -= buckets_before.at(le);

  std::lock_guard<std::mutex> lock(mu);
  const int64_t ok = codes[grpc::StatusCode::OK];
  const int64_t exhausted = codes[grpc::StatusCode::RESOURCE_EXHAUSTED];
  std::printf(
      "overload: %s; sustainable %.0f/s (64 callers, closed loop); offered %.0f/s (4x) for %d s "
      "from %d connections, issued %.0f/s\n",
      pinned ? "server pinned to CPU 0, load generator to CPU 1" : "one CPU, shared", sustainable,
      offered_rate, seconds, kClients, achieved_rate);
  std::printf(
      "  server-side handling time of RegisterCustomer (every call, admitted or refused): "
      "p50 <= %g s, p99 <= %g s\n",
      HistogramQuantile(buckets, 0.5), HistogramQuantile(buckets, 0.99));
  std::printf(
      "  admitted (OK) %lld = %.0f/s, as the client saw them (issue to answer): "
      "p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
      static_cast<long long>(ok), static_cast<double>(ok) / seconds, Percentile(admitted_ms, 0.5),
      Percentile(admitted_ms, 0.99), Percentile(admitted_ms, 1.0));
  std::printf("  RESOURCE_EXHAUSTED %lld: p50 %.1f ms, p99 %.1f ms\n",
              static_cast<long long>(exhausted), Percentile(refused_ms, 0.5),
              Percentile(refused_ms, 0.99));
  for (const auto& [code, n] : codes) {
    if (code != grpc::StatusCode::OK && code != grpc::StatusCode::RESOURCE_EXHAUSTED) {
      std::printf("  other code %d: %lld\n", code, static_cast<long long>(n));
    }
  }
  std::printf("  server VmRSS: idle %lld kB, max during the flood %lld kB; threads max %lld\n",
              static_cast<long long>(rss_idle_kb), static_cast<long long>(max_rss_kb),
              static_cast<long long>(max_threads));

  // Some calls were refused, quickly and as such; nothing crashed; memory bounded.
  EXPECT_GT(exhausted, 0);
  EXPECT_GT(ok, 0);
  EXPECT_EQ(unauthenticated_during_flood.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << unauthenticated_during_flood.error_message();
  EXPECT_LT(max_rss_kb, 1024 * 1024) << "resident memory above 1 GiB";
  EXPECT_EQ(codes[grpc::StatusCode::UNAVAILABLE], 0);
  EXPECT_EQ(codes[grpc::StatusCode::INTERNAL], 0);
  const double rejected_in_flight = crm::testing::ScrapeMetric(
      service_->admin_address(), "crm_grpc_server_rejected_total{reason=\"in_flight\"}");
  const double rejected_overload = crm::testing::ScrapeMetric(
      service_->admin_address(), "crm_grpc_server_rejected_total{reason=\"overload\"}");
  std::printf("  crm_grpc_server_rejected_total: in_flight %.0f, overload %.0f\n",
              rejected_in_flight, rejected_overload);
  EXPECT_GE(rejected_in_flight + rejected_overload, static_cast<double>(exhausted));
  EXPECT_EQ(crm::testing::ScrapeMetric(service_->admin_address(), "crm_grpc_server_in_flight"), 0);
  // The excess was refused, not left to time out: with a 10 s deadline, at most
  // 1% of the calls (a generator preempted by a neighbour) may reach it.
  const int64_t issued = issued_total.load();
  EXPECT_LE(codes[grpc::StatusCode::DEADLINE_EXCEEDED], issued / 100)
      << "of " << issued << " calls issued";

  // The shedding stops by itself once the flood is over.
  const absl::Time flood_over = absl::Now();
  double shed = 1;
  while ((shed = crm::testing::ScrapeMetric(service_->admin_address(),
                                            "crm_grpc_server_shed_fraction")) > 0 &&
         absl::Now() < flood_over + absl::Seconds(10)) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  std::printf("  shedding stopped %.0f ms after the last answer\n",
              absl::ToDoubleMilliseconds(absl::Now() - flood_over));
  EXPECT_EQ(shed, 0);

  // Afterwards: alive, SERVING, a normal call succeeds.
  EXPECT_EQ(kill(pid, 0), 0);
  grpc::ClientContext health_ctx;
  health_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckResponse health;
  ASSERT_TRUE(grpc::health::v1::Health::NewStub(service_->Channel())
                  ->Check(&health_ctx, grpc::health::v1::HealthCheckRequest(), &health)
                  .ok());
  EXPECT_EQ(health.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  grpc::Status after = RegisterSync("After the flood", token_);
  EXPECT_TRUE(after.ok()) << after.error_message();
}

}  // namespace
}  // namespace crm
