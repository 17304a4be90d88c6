// crm-customer on a full disk, over real processes and sockets: its data dir is
// on a small tmpfs this test mounts (as root; skipped only where mounting is
// refused). Registrations from 8 callers fill it until calls get UNAVAILABLE;
// then health is NOT_SERVING (overall and CustomerService), /readyz is 503
// naming the store, writes are refused at once and reads go on. The tmpfs is
// then made larger: the service resumes by itself (SERVING again), every
// acknowledged registration is readable, new writes succeed, and the same after
// a restart.
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "common/testing/tmpfs.h"
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
using crm::testing::Eventually;
using crm::testing::ScrapeMetric;
using crm::testing::ServiceProcess;

constexpr char kCustomerService[] = "crm.customer.v1.CustomerService";

std::string Health(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status s = grpc::health::v1::Health::NewStub(channel)->Check(&ctx, req, &resp);
  if (!s.ok()) return absl::StrCat("error ", s.error_code(), ": ", s.error_message());
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status());
}

// Bytes that do not compress, so that the disk fills at the rate written.
std::string Noise(size_t n, uint64_t seed) {
  std::string out(n, 'a');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>('a' + x % 26);
  }
  return out;
}

class DiskFullE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tmpfs_.mounted()) GTEST_SKIP() << tmpfs_.error();
    token_ = DevToken("root", {"admin"}, "");
  }

  void TearDown() override { StopService(); }

  void StartService() {
    service_ = std::make_unique<ServiceProcess>(
        CUSTOMER_PATH,
        std::vector<std::string>{"--data_dir=" + tmpfs_.path() + "/customer",
                                 std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE});
    stub_ = v1::CustomerService::NewStub(service_->Channel());
    // Keeps the child's stdout drained (and remembers the lines): a full pipe
    // would block its logging.
    drain_ = std::thread([this, process = &service_->process()] {
      while (auto line = process->ReadLine(absl::Seconds(3600))) {
        std::lock_guard<std::mutex> lock(mu_);
        lines_.push_back(*line);
      }
    });
  }

  void StopService() {
    if (!service_) return;
    service_->Stop();
    if (drain_.joinable()) drain_.join();
    service_.reset();
  }

  grpc::Status Register(const std::string& name, v1::RegisterCustomerResponse* resp,
                        absl::Duration deadline = absl::Seconds(30)) {
    v1::RegisterCustomerRequest req;
    req.mutable_basic()->set_name(name);
    req.mutable_basic()->set_industry("manufacturing");
    req.mutable_basic()->set_address(Noise(1900, std::hash<std::string>()(name)));
    req.set_owner("alice");
    req.set_region("north");
    req.set_confirm_duplicate(true);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    ctx.AddMetadata("authorization", auth::BearerHeader(token_));
    return stub_->RegisterCustomer(&ctx, req, resp);
  }

  grpc::Status Get(const std::string& id, v1::GetCustomerResponse* resp) {
    v1::GetCustomerRequest req;
    req.set_customer_id(id);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.AddMetadata("authorization", auth::BearerHeader(token_));
    return stub_->GetCustomer(&ctx, req, resp);
  }

  httplib::Result Readyz() {
    return httplib::Client("http://" + service_->admin_address()).Get("/readyz");
  }

  bool Logged(const std::string& needle) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& line : lines_) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  crm::testing::TempDir dir_;
  crm::testing::ScopedTmpfs tmpfs_{dir_.path() + "/mnt", "24m"};
  std::string token_;
  std::unique_ptr<ServiceProcess> service_;
  std::unique_ptr<v1::CustomerService::Stub> stub_;
  std::thread drain_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

TEST_F(DiskFullE2eTest, WritesUnavailableAndNotServingUntilSpaceReturnsNothingAcknowledgedLost) {
  StartService();
  ASSERT_EQ(Health(service_->Channel(), ""), "SERVING");

  // Fill the disk from 8 callers until calls fail with UNAVAILABLE.
  struct Acked {
    std::string id;
    std::string name;
  };
  std::mutex acked_mu;
  std::vector<Acked> acked;
  std::atomic<int> unavailable{0}, unexpected{0};
  const absl::Time fill_start = absl::Now();
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; unavailable.load() < 16 && absl::Now() - fill_start < absl::Seconds(120);
           ++i) {
        const std::string name = absl::StrCat("Filler ", c, "-", i);
        v1::RegisterCustomerResponse resp;
        grpc::Status s = Register(name, &resp);
        if (s.ok()) {
          std::lock_guard<std::mutex> lock(acked_mu);
          acked.push_back({resp.customer_id(), name});
        } else if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
          unavailable.fetch_add(1);
        } else {
          ADD_FAILURE() << name << ": " << s.error_code() << " " << s.error_message();
          unexpected.fetch_add(1);
          return;
        }
      }
    });
  }
  for (std::thread& t : callers) t.join();
  const double fill_seconds = absl::ToDoubleSeconds(absl::Now() - fill_start);
  ASSERT_EQ(unexpected.load(), 0);
  ASSERT_GE(unavailable.load(), 16) << "the disk never filled";
  std::printf("disk full after %zu acknowledged registrations in %.1f s\n", acked.size(),
              fill_seconds);

  // Not ready, and why.
  EXPECT_TRUE(Eventually([&] { return Health(service_->Channel(), "") == "NOT_SERVING"; },
                         absl::Seconds(10)));
  EXPECT_EQ(Health(service_->Channel(), kCustomerService), "NOT_SERVING");
  if (httplib::Result readyz = Readyz(); readyz) {
    EXPECT_EQ(readyz->status, 503);
    EXPECT_NE(readyz->body.find("store: "), std::string::npos) << readyz->body;
    EXPECT_NE(readyz->body.find("No space left on device"), std::string::npos) << readyz->body;
  } else {
    ADD_FAILURE() << "no answer from /readyz";
  }
  EXPECT_EQ(ScrapeMetric(service_->admin_address(), "crm_ready"), 0);
  EXPECT_EQ(ScrapeMetric(service_->admin_address(), "crm_eventstore_writable"), 0);
  EXPECT_TRUE(Eventually([&] { return Logged("\"event\":\"not_ready\""); }, absl::Seconds(5)));

  // A write is refused at once; a read is answered.
  const absl::Time refused_start = absl::Now();
  v1::RegisterCustomerResponse refused;
  grpc::Status refused_status = Register("Refused while full", &refused);
  const absl::Duration refused_after = absl::Now() - refused_start;
  EXPECT_EQ(refused_status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << refused_status.error_message();
  EXPECT_LT(refused_after, absl::Seconds(1));
  std::printf("write while full: %s (%s) after %.1f ms\n",
              refused_status.error_code() == grpc::StatusCode::UNAVAILABLE ? "UNAVAILABLE" : "?",
              refused_status.error_message().c_str(), absl::ToDoubleMilliseconds(refused_after));
  ASSERT_FALSE(acked.empty());
  v1::GetCustomerResponse got;
  EXPECT_TRUE(Get(acked.front().id, &got).ok());

  // Space returns: the service resumes by itself.
  ASSERT_TRUE(tmpfs_.Resize("160m")) << tmpfs_.error();
  const absl::Time grown = absl::Now();
  ASSERT_TRUE(
      Eventually([&] { return Health(service_->Channel(), "") == "SERVING"; }, absl::Seconds(60)));
  std::printf("SERVING again %.1f s after the volume grew\n",
              absl::ToDoubleSeconds(absl::Now() - grown));
  EXPECT_EQ(Health(service_->Channel(), kCustomerService), "SERVING");
  if (httplib::Result readyz = Readyz(); readyz) {
    EXPECT_EQ(readyz->status, 200);
  }
  EXPECT_EQ(ScrapeMetric(service_->admin_address(), "crm_ready"), 1);
  EXPECT_EQ(ScrapeMetric(service_->admin_address(), "crm_eventstore_writable"), 1);

  // Every acknowledged write is there; new writes succeed; also after a restart.
  for (int round = 0; round < 2; ++round) {
    for (const Acked& a : acked) {
      v1::GetCustomerResponse resp;
      grpc::Status s = Get(a.id, &resp);
      ASSERT_TRUE(s.ok()) << a.id << ": " << s.error_message();
      EXPECT_EQ(resp.customer().basic().name(), a.name);
    }
    v1::RegisterCustomerResponse after;
    grpc::Status s = Register(absl::StrCat("After the disk grew ", round), &after);
    ASSERT_TRUE(s.ok()) << s.error_message();
    acked.push_back({after.customer_id(), absl::StrCat("After the disk grew ", round)});
    if (round == 0) {
      StopService();
      StartService();
    }
  }
}

}  // namespace
}  // namespace crm
