// 64 concurrent writers send commands with command ids to crm-customer, which is
// SIGKILLed at random moments three times. A writer whose command got no answer
// sends it again (same id, same request) after the restart, until answered.
// Afterwards every command, sent once more, is answered exactly as it was the
// first time; each took effect exactly once (one registration per command in the
// store); and every event in the store reached Kafka.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/cloudevents.h"
#include "crm/runtime/log.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace v1 = ::crm::customer::v1;
using crm::testing::DevToken;
using crm::testing::ServiceProcess;

constexpr int kWriters = 64;
constexpr int kKills = 3;

// A command of one writer: a registration with a name of its own.
v1::RegisterCustomerRequest Command(int writer, int n) {
  v1::RegisterCustomerRequest req;
  req.mutable_basic()->set_name(absl::StrCat("Crash Co ", writer, "-", n));
  req.mutable_options()->set_command_id(absl::StrCat("reg-", writer, "-", n));
  return req;
}

class CustomerCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::SetLogLevel(runtime::LogLevel::kError);
    broker_ = std::make_unique<messaging::testing::DevBroker>(DEVBROKER_PATH, dir_.path());
    Start();
  }

  void Start() {
    auto started = std::make_shared<ServiceProcess>(
        CUSTOMER_PATH, std::vector<std::string>{"--data_dir=" + dir_.path() + "/customer",
                                                "--kafka_brokers=" + broker_->bootstrap(),
                                                std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE});
    std::lock_guard<std::mutex> lock(mu_);
    service_ = std::move(started);
  }

  std::shared_ptr<ServiceProcess> Service() {
    std::lock_guard<std::mutex> lock(mu_);
    return service_;
  }

  // One call with a short deadline; UNAVAILABLE (or a deadline) while the service
  // is down.
  grpc::Status Register(const std::string& token, const v1::RegisterCustomerRequest& req,
                        v1::RegisterCustomerResponse* resp) {
    std::shared_ptr<ServiceProcess> service = Service();
    auto stub = v1::CustomerService::NewStub(service->Channel());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ctx.AddMetadata("authorization", auth::BearerHeader(token));
    return stub->RegisterCustomer(&ctx, req, resp);
  }

  crm::testing::TempDir dir_;
  std::unique_ptr<messaging::testing::DevBroker> broker_;
  std::mutex mu_;
  std::shared_ptr<ServiceProcess> service_;
};

TEST_F(CustomerCrashTest, CommandsSurviveKillsExactlyOnceWithTheirFirstAnswer) {
  std::vector<std::string> tokens;
  for (int w = 0; w < kWriters; ++w) {
    tokens.push_back(DevToken(absl::StrCat("writer-", w), {"sales_rep"}, "north", absl::Hours(2)));
  }
  // What each writer sent, and the first answer it got for each command.
  std::vector<int> sent(kWriters, 0);
  std::vector<std::map<int, std::string>> answers(kWriters);
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::atomic<int> recovered{0};  // answered after an attempt that got no answer
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      int n = 0;  // the command in hand: sent again until answered
      bool failed = false;
      while (!stop.load()) {
        v1::RegisterCustomerResponse resp;
        const grpc::Status s = Register(tokens[w], Command(w, n), &resp);
        if (s.ok()) {
          answers[w][n] = resp.SerializeAsString();
          ++acknowledged;
          if (failed) ++recovered;
          failed = false;
          sent[w] = ++n;
        } else {
          ASSERT_TRUE(s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                      s.error_code() == grpc::StatusCode::CANCELLED)
              << s.error_code() << " " << s.error_message();
          sent[w] = n + 1;  // may have taken effect: counted, and sent again
          failed = true;
          absl::SleepFor(absl::Milliseconds(20));
        }
      }
    });
  }
  absl::BitGen rng;
  for (int kill = 0; kill < kKills; ++kill) {
    const int before = acknowledged.load();
    // Some writes first, then the kill at a random moment.
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (acknowledged.load() < before + 200 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    absl::SleepFor(absl::Milliseconds(absl::Uniform(rng, 0, 400)));
    Service()->Kill();
    Start();
  }
  {  // the last restart serves for a while too
    const int before = acknowledged.load();
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (acknowledged.load() < before + 200 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_GT(acknowledged.load(), 4 * 200);

  // Every command sent, sent once more: the first answer, byte for byte (or,
  // for one that was never answered, its answer now, which must not repeat).
  std::set<std::string> customer_ids;
  int commands = 0, unanswered = 0;
  for (int w = 0; w < kWriters; ++w) {
    for (int n = 0; n < sent[w]; ++n) {
      ++commands;
      v1::RegisterCustomerResponse resp;
      const grpc::Status s = Register(tokens[w], Command(w, n), &resp);
      ASSERT_TRUE(s.ok()) << "writer " << w << " command " << n << ": " << s.error_message();
      auto first = answers[w].find(n);
      if (first != answers[w].end()) {
        EXPECT_EQ(resp.SerializeAsString(), first->second) << "writer " << w << " command " << n;
      } else {
        ++unanswered;
      }
      EXPECT_TRUE(customer_ids.insert(resp.customer_id()).second) << "one customer for two commands";
    }
  }

  // The kills caught commands in flight: the case this test is about.
  std::printf("commands: %d, answered after a failed attempt: %d, answered only now: %d\n",
              commands, recovered.load(), unanswered);
  EXPECT_GT(recovered.load() + unanswered, 0);

  // Exactly once: one registration per command in the store, and every event of
  // the store on Kafka.
  std::shared_ptr<ServiceProcess> service = Service();
  ASSERT_EQ(service->Stop(), 0);  // flushes the relay
  auto store = eventstore::OpenEventStore({.path = dir_.path() + "/customer"});
  ASSERT_TRUE(store.ok()) << store.status();
  auto events = (*store)->ReadAll(1, SIZE_MAX);
  ASSERT_TRUE(events.ok());
  std::map<std::string, int> registrations;  // name -> registrations
  std::set<std::string> event_ids;
  for (const eventstore::EventEnvelope& e : *events) {
    event_ids.insert(e.event_id());
    v1::CustomerEvent event;
    ASSERT_TRUE(event.ParseFromString(e.payload()));
    if (event.has_registered()) ++registrations[event.registered().basic().name()];
  }
  EXPECT_EQ(registrations.size(), static_cast<size_t>(commands));
  for (const auto& [name, count] : registrations) EXPECT_EQ(count, 1) << name;
  EXPECT_EQ(customer_ids.size(), static_cast<size_t>(commands));

  std::set<std::string> on_kafka;
  const absl::Time kafka_deadline = absl::Now() + absl::Seconds(120);
  while (on_kafka.size() < event_ids.size() && absl::Now() < kafka_deadline) {
    for (const auto& r : messaging::testing::ReadTopic(broker_->bootstrap(),
                                                        std::string(messaging::kCustomerTopic), 3,
                                                        SIZE_MAX, absl::Seconds(3))) {
      if (auto id = messaging::FindHeader(r, "ce_id"); id && event_ids.contains(*id)) {
        on_kafka.insert(*id);
      }
    }
  }
  EXPECT_EQ(on_kafka.size(), event_ids.size());
}

}  // namespace
}  // namespace crm
