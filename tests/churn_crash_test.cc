// SIGKILL crm-interaction while it consumes churn warnings (crm-classification's
// ChurnRiskRaised), restart it on the same data directory, and check what it
// built: exactly one churn case per warned customer, each warning on it once
// (a second warning of the same customer added to its case, never a second
// case), none lost. A clean run from offset 0 over the same events (a new data
// directory: every warning replayed) must build the same.
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/interaction/v1/churn_service.grpc.pb.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/runtime/log.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/metrics_scrape.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace iv1 = ::crm::interaction::v1;
namespace kv1 = ::crm::classification::v1;
using crm::testing::DevToken;
using crm::testing::ServiceProcess;

constexpr int kCustomers = 2000;
// Every kSecondEvery-th customer gets a second warning while its case is open.
constexpr int kSecondEvery = 4;
constexpr int kWarnings = kCustomers + (kCustomers + kSecondEvery - 1) / kSecondEvery;

std::string CustomerId(int c) { return absl::StrCat("cust-", c); }
std::string OwnerOf(int c) { return absl::StrCat("rep-", c % 10); }
std::string RegionOf(int c) { return c % 2 ? "north" : "south"; }

// Publishes through an event store and a relay, as the producing service does.
void Publish(eventstore::EventStore& store, std::string_view topic, const std::string& brokers) {
  runtime::MetricsRegistry metrics;
  auto relay = messaging::OutboxRelay::Start(
      store, {.brokers = brokers, .topic = std::string(topic), .source = "test",
              .metrics = &metrics});
  ASSERT_TRUE(relay.ok()) << relay.status();
  ASSERT_TRUE((*relay)->Flush(absl::Seconds(120)).ok());
}

// kCustomers registrations (owner rep-<c % 10>, region by parity).
void PublishCustomers(const std::string& dir, const std::string& brokers) {
  auto store = eventstore::OpenEventStore({.path = dir + "/customer-source"});
  ASSERT_TRUE(store.ok());
  for (int c = 0; c < kCustomers; ++c) {
    const std::string id = CustomerId(c);
    customer::v1::CustomerEvent registered;
    registered.set_customer_id(id);
    registered.mutable_registered()->set_owner(OwnerOf(c));
    registered.mutable_registered()->set_region(RegionOf(c));
    registered.mutable_registered()->set_lifecycle(customer::v1::LIFECYCLE_COOPERATING);
    eventstore::AppendRequest req;
    req.stream_id = "customer-" + id;
    req.events.push_back({.event_type = "crm.customer.v1.CustomerRegistered",
                          .partition_key = id, .payload = registered.SerializeAsString(),
                          .actor = OwnerOf(c)});
    ASSERT_TRUE((*store)->Append(req).ok());
  }
  Publish(**store, messaging::kCustomerTopic, brokers);
}

// One ChurnRiskRaised per customer, then a second one for every kSecondEvery-th
// (two appends to its classification stream, as two sweeps would write them).
void PublishWarnings(const std::string& dir, const std::string& brokers) {
  auto store = eventstore::OpenEventStore({.path = dir + "/classification-source"});
  ASSERT_TRUE(store.ok());
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int round = 0; round < 2; ++round) {
        for (int c = t; c < kCustomers; c += 4) {
          if (round == 1 && c % kSecondEvery != 0) continue;
          const std::string id = CustomerId(c);
          kv1::ClassificationEvent e;
          e.set_customer_id(id);
          kv1::ChurnRiskRaised& raised = *e.mutable_churn_risk_raised();
          raised.set_score(round == 0 ? 4 : 5);
          raised.add_criteria("no interaction for 90 days");
          raised.add_criteria("falling transactions");
          if (round == 1) raised.add_criteria("low satisfaction");
          raised.set_reason(round == 0 ? "criteria met: no interaction for 90 days, falling "
                                         "transactions (score 4 >= 3)"
                                       : "criteria met: no interaction for 90 days, falling "
                                         "transactions, low satisfaction (score 5 >= 3)");
          raised.set_rule_set_version(1);
          raised.set_owner(OwnerOf(c));
          raised.set_region(RegionOf(c));
          eventstore::AppendRequest req;
          req.stream_id = "classification-" + id;
          req.events.push_back({.event_type = "crm.classification.v1.ChurnRiskRaised",
                                .partition_key = id, .payload = e.SerializeAsString(),
                                .actor = "crm-classification"});
          ASSERT_TRUE((*store)->Append(req).ok());
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  Publish(**store, messaging::kClassificationTopic, brokers);
}

// The warnings' event ids per customer, in the order they are on the topic.
std::map<std::string, std::vector<std::string>> WarningsOnTopic(const std::string& brokers) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& r : messaging::testing::ReadTopic(
           brokers, std::string(messaging::kClassificationTopic), 3, kWarnings,
           absl::Seconds(60))) {
    out[r.key].push_back(*messaging::FindHeader(r, "ce_id"));
  }
  return out;
}

// What one customer's churn cases look like through the public API.
struct CaseSummary {
  int cases = 0;
  std::string owner, region;
  iv1::ChurnCaseStatus status = iv1::CHURN_CASE_STATUS_UNSPECIFIED;
  int warning_count = 0;
  std::string first_warning;
  bool operator==(const CaseSummary&) const = default;
};

// Every case, as an admin lists them, summed up per customer; nullopt when a
// call fails.
std::optional<std::map<std::string, CaseSummary>> ListCases(ServiceProcess& service) {
  auto stub = iv1::ChurnService::NewStub(service.Channel());
  const std::string token = DevToken("ops", {"admin"}, "");
  std::map<std::string, CaseSummary> out;
  std::string page_token;
  do {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", auth::BearerHeader(token));
    iv1::ListChurnCasesRequest req;
    req.set_page_size(500);
    req.set_page_token(page_token);
    iv1::ListChurnCasesResponse resp;
    if (grpc::Status st = stub->ListChurnCases(&ctx, req, &resp); !st.ok()) {
      std::printf("ListChurnCases: %d %s\n", st.error_code(), st.error_message().c_str());
      return std::nullopt;
    }
    for (const iv1::ChurnCase& c : resp.cases()) {
      CaseSummary& s = out[c.customer_id()];
      ++s.cases;
      s.owner = c.owner();
      s.region = c.region();
      s.status = c.status();
      s.warning_count = c.warning_count();
      s.first_warning = c.warnings_size() > 0 ? c.warnings(0).event_id() : "";
    }
    page_token = resp.next_page_token();
  } while (!page_token.empty());
  return out;
}

// Waits until every warning is on a case (all customers have one, the warning
// counts add up), then gives the worker time to do anything more it would (it
// must not) and returns the final listing.
std::map<std::string, CaseSummary> SettledCases(ServiceProcess& service) {
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  std::map<std::string, CaseSummary> cases;
  while (absl::Now() < deadline) {
    if (auto listed = ListCases(service)) {
      cases = *std::move(listed);
      int warnings = 0;
      for (const auto& [id, s] : cases) warnings += s.warning_count;
      if (cases.size() == static_cast<size_t>(kCustomers) && warnings >= kWarnings) break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  absl::SleepFor(absl::Seconds(1));  // ten worker passes: nothing more may appear
  if (auto listed = ListCases(service)) cases = *std::move(listed);
  return cases;
}

// Waits until crm-interaction's directory has every customer (each gets a
// planned revisit).
bool AllKnown(ServiceProcess& service) {
  auto stub = iv1::InteractionService::NewStub(service.Channel());
  const std::string token = DevToken("ops", {"admin"}, "");
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    int planned = 0;
    std::string page_token;
    bool ok = true;
    do {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", auth::BearerHeader(token));
      iv1::ListDueRevisitsRequest req;
      req.set_within_days(400);
      req.set_page_size(500);
      req.set_page_token(page_token);
      iv1::ListDueRevisitsResponse resp;
      if (!stub->ListDueRevisits(&ctx, req, &resp).ok()) {
        ok = false;
        break;
      }
      planned += resp.revisits_size();
      page_token = resp.next_page_token();
    } while (!page_token.empty());
    if (ok && planned == kCustomers) return true;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return false;
}

// The churn events in a stopped service's log: per customer, the case streams
// opened and every warning event id applied (opened or added).
struct LoggedChurn {
  std::map<std::string, std::set<std::string>> case_streams;
  std::map<std::string, std::vector<std::string>> warnings;
  int opened = 0, added = 0;
};

LoggedChurn ReadLog(const std::string& path) {
  LoggedChurn out;
  auto store = eventstore::OpenEventStore({.path = path});
  EXPECT_TRUE(store.ok());
  if (!store.ok()) return out;
  uint64_t from = 1;
  while (true) {
    auto events = (*store)->ReadAll(from, 5000);
    EXPECT_TRUE(events.ok());
    if (!events.ok() || events->empty()) break;
    for (const eventstore::EventEnvelope& e : *events) {
      from = e.global_position() + 1;
      if (e.event_type() != "crm.interaction.v1.ChurnCaseOpened" &&
          e.event_type() != "crm.interaction.v1.ChurnWarningAdded") {
        continue;
      }
      iv1::InteractionEvent event;
      EXPECT_TRUE(event.ParseFromString(e.payload()));
      const std::string& customer = event.customer_id();
      out.case_streams[customer].insert(e.stream_id());
      if (event.has_churn_case_opened()) {
        ++out.opened;
        out.warnings[customer].push_back(event.churn_case_opened().warning().event_id());
      } else {
        ++out.added;
        out.warnings[customer].push_back(event.churn_warning_added().warning().event_id());
      }
    }
  }
  return out;
}

void ExpectExactlyOneCaseEach(const std::map<std::string, CaseSummary>& cases,
                              const std::map<std::string, std::vector<std::string>>& on_topic,
                              const std::string& run) {
  SCOPED_TRACE(run);
  EXPECT_EQ(cases.size(), static_cast<size_t>(kCustomers));
  int wrong = 0;
  for (int c = 0; c < kCustomers && wrong < 10; ++c) {
    const std::string id = CustomerId(c);
    auto it = cases.find(id);
    auto topic = on_topic.find(id);
    if (it == cases.end() || topic == on_topic.end()) {
      ADD_FAILURE() << id << ": no case";
      ++wrong;
      continue;
    }
    const CaseSummary& s = it->second;
    const CaseSummary expected{.cases = 1, .owner = OwnerOf(c), .region = RegionOf(c),
                               .status = iv1::CHURN_CASE_STATUS_OPEN,
                               .warning_count = c % kSecondEvery == 0 ? 2 : 1,
                               .first_warning = topic->second.front()};
    if (!(s == expected)) {
      ++wrong;
      ADD_FAILURE() << id << ": cases " << s.cases << " owner " << s.owner << " region "
                    << s.region << " status " << s.status << " warnings " << s.warning_count
                    << " first " << s.first_warning << "; expected 1 OPEN case of "
                    << expected.owner << "/" << expected.region << " with "
                    << expected.warning_count << " warnings, first " << expected.first_warning;
    }
  }
}

void ExpectEachWarningLoggedOnce(const LoggedChurn& log,
                                 const std::map<std::string, std::vector<std::string>>& on_topic,
                                 const std::string& run) {
  SCOPED_TRACE(run);
  EXPECT_EQ(log.opened, kCustomers);
  EXPECT_EQ(log.added, kWarnings - kCustomers);
  int wrong = 0;
  for (const auto& [customer, ids] : on_topic) {
    if (wrong >= 10) break;
    auto streams = log.case_streams.find(customer);
    auto warnings = log.warnings.find(customer);
    if (streams == log.case_streams.end() || streams->second.size() != 1 ||
        warnings == log.warnings.end() || warnings->second != ids) {
      ++wrong;
      ADD_FAILURE() << customer << ": "
                    << (streams == log.case_streams.end() ? 0 : streams->second.size())
                    << " case streams, warnings applied "
                    << (warnings == log.warnings.end() ? 0 : warnings->second.size())
                    << " (expected 1 case stream and the " << ids.size()
                    << " warnings of the topic, in order)";
    }
  }
}

TEST(ChurnCrashTest, SigkillWhileConsumingChurnWarningsLosesNoCaseAndDuplicatesNone) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  messaging::testing::DevBroker broker(DEVBROKER_PATH, dir.path());
  PublishCustomers(dir.path(), broker.bootstrap());
  const std::vector<std::string> common = {"--kafka_brokers=" + broker.bootstrap(),
                                           std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE,
                                           "--scan_interval_ms=100",
                                           "--kafka_session_timeout_ms=6000"};
  auto flags = [&](const std::string& data) {
    std::vector<std::string> f = common;
    f.push_back("--data_dir=" + data);
    return f;
  };
  const std::string processed_series =
      "crm_consumer_processed_total{group=\"crm-interaction\",topic=\"crm.classification.v1.events\"}";
  const std::string applied_series = "crm_churn_signals_applied_total";
  const std::string killed_dir = dir.path() + "/killed";
  auto scrape = [](ServiceProcess& p, const std::string& series) {
    return std::max(0.0, crm::testing::ScrapeMetric(p.admin_address(), series));
  };

  // The service knows every customer before the warnings come.
  {
    ServiceProcess first(INTERACTION_PATH, flags(killed_dir));
    ASSERT_TRUE(AllKnown(first));
    // The warnings are published while it runs; it is killed as soon as it has
    // consumed some of them.
    std::thread publisher([&] { PublishWarnings(dir.path(), broker.bootstrap()); });
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    double processed = 0, applied = 0;
    while (absl::Now() < deadline) {
      processed = scrape(first, processed_series);
      if (processed > 0) {
        applied = scrape(first, applied_series);
        break;
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    first.Kill();
    publisher.join();
    std::printf("round 0: SIGKILL after %.0f of %d warnings consumed, %.0f applied to cases\n",
                processed, kWarnings, applied);
    EXPECT_GT(processed, 0) << "no warning consumed within 60 s";
    EXPECT_LT(processed, kWarnings) << "the kill did not land during consumption";
  }
  // Killed again on each of two restarts, as soon as it consumes more warnings or
  // its worker has applied some of the consumed ones to cases (mid-application:
  // the worker applies them in batches).
  for (int round = 1; round <= 2; ++round) {
    ServiceProcess victim(INTERACTION_PATH, flags(killed_dir));
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    double processed = 0, applied = 0;
    while (absl::Now() < deadline) {
      processed = scrape(victim, processed_series);
      applied = scrape(victim, applied_series);
      if (processed > 0 || applied > 0) break;
      absl::SleepFor(absl::Milliseconds(2));
    }
    victim.Kill();
    std::printf("round %d: SIGKILL after %.0f more warnings consumed, %.0f applied to cases\n",
                round, processed, applied);
  }
  const std::map<std::string, std::vector<std::string>> on_topic =
      WarningsOnTopic(broker.bootstrap());
  ASSERT_EQ(on_topic.size(), static_cast<size_t>(kCustomers));

  std::map<std::string, CaseSummary> killed_cases;
  {
    ServiceProcess restarted(INTERACTION_PATH, flags(killed_dir));
    killed_cases = SettledCases(restarted);
    EXPECT_EQ(restarted.Stop(), 0);
  }
  ExpectExactlyOneCaseEach(killed_cases, on_topic, "killed and restarted");
  ExpectEachWarningLoggedOnce(ReadLog(killed_dir), on_topic, "killed and restarted");

  // A clean run from offset 0 over the same events (a fresh data directory).
  std::map<std::string, CaseSummary> clean_cases;
  {
    ServiceProcess clean(INTERACTION_PATH, flags(dir.path() + "/clean"));
    clean_cases = SettledCases(clean);
    EXPECT_EQ(clean.Stop(), 0);
  }
  ExpectExactlyOneCaseEach(clean_cases, on_topic, "clean run from offset 0");
  ExpectEachWarningLoggedOnce(ReadLog(dir.path() + "/clean"), on_topic, "clean run from offset 0");
  EXPECT_TRUE(killed_cases == clean_cases) << "the killed run differs from the clean run";
}

}  // namespace
}  // namespace crm
