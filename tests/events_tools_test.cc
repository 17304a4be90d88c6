// The relay's records are readable by people and standard tools: `crmctl events
// tail` and `kcat -C -J` both show each event's key and CloudEvents headers.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/subprocess.h"
#include "common/testing/temp_dir.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/runtime/log.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "nlohmann/json.hpp"

namespace crm {
namespace {

constexpr int kEvents = 20;

class EventsToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::SetLogLevel(runtime::LogLevel::kError);
    broker_ = std::make_unique<messaging::testing::DevBroker>(DEVBROKER_PATH, dir_.path());
    auto store = eventstore::OpenEventStore({.path = dir_.path() + "/db"});
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < kEvents; ++i) {
      eventstore::AppendRequest req;
      req.stream_id = absl::StrCat("customer-", i % 4);
      req.events.push_back({.event_type = "crm.customer.v1.CustomerUpdated",
                            .partition_key = absl::StrCat("cust-", i % 4), .payload = "x"});
      auto r = (*store)->Append(req);
      ASSERT_TRUE(r.ok());
      expected_[r->event_ids[0]] = absl::StrCat("cust-", i % 4);
    }
    runtime::MetricsRegistry metrics;
    auto relay = messaging::OutboxRelay::Start(
        **store, {.brokers = broker_->bootstrap(), .topic = std::string(messaging::kCustomerTopic),
                  .source = "crm-customer", .metrics = &metrics});
    ASSERT_TRUE(relay.ok());
    ASSERT_TRUE((*relay)->Flush(absl::Seconds(30)).ok());
  }

  // Runs a command to completion and returns its stdout lines.
  std::vector<std::string> Lines(std::vector<std::string> argv) {
    crm::testing::Subprocess p(std::move(argv));
    std::vector<std::string> lines;
    while (auto line = p.ReadLine(absl::Seconds(30))) lines.push_back(*line);
    EXPECT_EQ(p.Wait(), 0);
    return lines;
  }

  crm::testing::TempDir dir_;
  std::unique_ptr<messaging::testing::DevBroker> broker_;
  std::map<std::string, std::string> expected_;  // event id -> key
};

TEST_F(EventsToolsTest, CrmctlTailPrintsJsonLines) {
  auto lines = Lines({CRMCTL_PATH, "events", "tail", "--brokers=" + broker_->bootstrap(),
                      "--topic=crm.customer.v1.events", "--from_beginning",
                      absl::StrCat("--count=", kEvents)});
  ASSERT_EQ(lines.size(), static_cast<size_t>(kEvents));
  std::set<std::string> seen;
  for (const std::string& line : lines) {
    nlohmann::json j = nlohmann::json::parse(line);
    const std::string id = j["headers"]["ce_id"];
    ASSERT_TRUE(expected_.contains(id)) << line;
    EXPECT_EQ(j["key"], expected_[id]);
    EXPECT_EQ(j["headers"]["ce_subject"], expected_[id]);
    EXPECT_EQ(j["headers"]["ce_type"], "crm.customer.v1.CustomerUpdated");
    EXPECT_EQ(j["headers"]["ce_specversion"], "1.0");
    EXPECT_EQ(j["payload_base64"], "eA==");  // no CustomerEvent type linked yet
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), expected_.size());
}

TEST_F(EventsToolsTest, KcatShowsKeyAndCloudEventsHeaders) {
  auto lines = Lines({"/usr/bin/kcat", "-b", broker_->bootstrap(), "-C", "-t",
                      "crm.customer.v1.events", "-J", "-e", "-q"});
  ASSERT_EQ(lines.size(), static_cast<size_t>(kEvents));
  for (const std::string& line : lines) {
    nlohmann::json j = nlohmann::json::parse(line);
    std::map<std::string, std::string> headers;  // kcat: [name, value, name, value, ...]
    for (size_t i = 0; i + 1 < j["headers"].size(); i += 2) {
      headers[j["headers"][i]] = j["headers"][i + 1];
    }
    for (const char* name : {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject",
                             "ce_time", "content-type"}) {
      EXPECT_TRUE(headers.contains(name)) << name << " missing in " << line;
    }
    EXPECT_EQ(j["key"], expected_[headers["ce_id"]]);
    EXPECT_EQ(headers["content-type"], "application/protobuf");
  }
}

}  // namespace
}  // namespace crm
