// The churn use cases on a real store with a fake clock: consumed churn signals
// (queued as the consumer queues them) open, extend, retain and win back cases
// effectively once (delivered twice, replayed after the case closed); measures
// with the visit or follow-up that carried them out; overdue reviews reported
// once; a case as of a past time and its history; lists and their scoping; the
// churn report against a hand-computed scenario (now and as of a past date); and
// the authorization matrix over every ChurnService RPC.
#include "crm/interaction/app/churn_app.h"

#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "command/testing/app_test.h"
#include "common/testing/proto_testing.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/command/limits.h"
#include "crm/command/rebuild.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/directory/customer_directory.h"
#include "crm/interaction/app/interaction_app.h"
#include "crm/interaction/consumer/interaction_consumer.h"
#include "crm/interaction/projection/churn_projection.h"
#include "crm/messaging/cloudevents.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "messaging/testing/store_view.h"

namespace crm::interaction {
namespace {

using auth::Principal;
using auth::Role;
using eventstore::EventEnvelope;
using ::crm::testing::EqualsProto;
using ::crm::testing::TextProto;
using ::testing::ElementsAre;

// 2026-11-02T09:00:00Z (a Monday), and later days at 09:00.
const absl::Time kDay0 = absl::FromUnixSeconds(1793610000);
absl::Time Nov(int day, int hour = 9) {
  return absl::FromCivil(absl::CivilHour(2026, 11, day, hour), absl::UTCTimeZone());
}

class ChurnAppTest : public command::testing::AppTest<ChurnApp> {
 protected:
  ChurnAppTest() : AppTest(kDay0) {}
  absl::StatusOr<std::unique_ptr<ChurnApp>> MakeApp(command::Pipeline& pipeline) override {
    interactions_ = std::make_unique<InteractionApp>(InteractionAppOptions{.pipeline = &pipeline});
    return std::make_unique<ChurnApp>(ChurnAppOptions{.pipeline = &pipeline});
  }

  // --- The directory, as the consumer fills it ---
  void Consume(std::string_view topic, const std::string& payload) {
    directory::DirectoryHandler handler;
    ASSERT_TRUE(
        messaging::testing::HandleAndCommit(handler, *store_, topic, payload, ++position_).ok());
  }
  void Registered(const std::string& id, const std::string& owner, const std::string& region) {
    customer::v1::CustomerEvent e;
    e.set_customer_id(id);
    e.mutable_registered()->set_owner(owner);
    e.mutable_registered()->set_region(region);
    Consume(messaging::kCustomerTopic, e.SerializeAsString());
  }
  void Granted(const std::string& id, const std::string& subject, absl::Time until) {
    customer::v1::CustomerEvent e;
    e.set_customer_id(id);
    e.mutable_access_granted()->mutable_grant()->set_subject(subject);
    *e.mutable_access_granted()->mutable_grant()->mutable_expires_at() = ToProtoTimestamp(until);
    Consume(messaging::kCustomerTopic, e.SerializeAsString());
  }
  void Classified(const std::string& id, classification::v1::Scheme scheme,
                  const std::string& name) {
    classification::v1::ClassificationEvent e;
    e.set_customer_id(id);
    e.mutable_classified()->set_scheme(scheme);
    e.mutable_classified()->set_new_class(name);
    Consume(messaging::kClassificationTopic, e.SerializeAsString());
  }

  // crm-customer's OwnerAssigned through the service's own consumer (directory row
  // and churn signal queue in one commit, as the runner commits them); returns
  // the queue keys it wrote.
  std::vector<std::string> Assigned(const std::string& customer, const std::string& from_owner,
                                    const std::string& from_region, const std::string& to_owner,
                                    const std::string& to_region, const std::string& event_id,
                                    absl::Time at) {
    customer::v1::CustomerEvent e;
    e.set_customer_id(customer);
    customer::v1::OwnershipChange* change = e.mutable_owner_assigned()->mutable_change();
    change->set_from_owner(from_owner);
    change->set_from_region(from_region);
    change->set_to_owner(to_owner);
    change->set_to_region(to_region);
    messaging::ConsumedEvent consumed;
    consumed.topic = std::string(messaging::kCustomerTopic);
    consumed.event.set_event_id(event_id);
    consumed.event.set_event_type("crm.customer.v1.OwnerAssigned");
    *consumed.event.mutable_occurred_at() = ToProtoTimestamp(at);
    consumed.event.set_actor("erin");
    consumed.event.set_payload(e.SerializeAsString());
    consumed.event.set_global_position(++position_);
    std::vector<eventstore::ProjectionWrite> writes;
    std::unique_ptr<messaging::EventHandler> handler = NewInteractionConsumer();
    absl::Status handled =
        handler->Handle(consumed, messaging::testing::StoreView(*store_), writes);
    EXPECT_TRUE(handled.ok()) << handled;
    EXPECT_TRUE(store_->WriteProjections(writes).ok());
    std::vector<std::string> queued;
    for (const eventstore::ProjectionWrite& w : writes) {
      if (w.projection == kChurnSignalQueueProjection) queued.push_back(w.key);
    }
    return queued;
  }
  // The owner ("o/") and region ("r/") index rows of case `id`: "o/<owner>", "r/<region>".
  std::vector<std::string> OwnerAndRegionRows(const std::string& id) {
    const auto rows = Rows({std::string(kChurnIndexProjection)});
    std::vector<std::string> out;
    for (const auto& [key, unused] : rows.at(std::string(kChurnIndexProjection))) {
      const bool of_case = absl::EndsWith(key, std::string(1, '\0') + id);
      if (of_case && (key.rfind("o/", 0) == 0 || key.rfind("r/", 0) == 0)) {
        out.push_back(key.substr(0, key.find('\0')));
      }
    }
    return out;
  }

  // --- Signals, as the consumer queues them (messaging::QueuedCopy) ---
  EventEnvelope Envelope(const std::string& type, const std::string& payload) {
    EventEnvelope e;
    e.set_event_id(absl::StrFormat("ev-%04d", ++token_));
    e.set_event_type(type);
    *e.mutable_occurred_at() = ToProtoTimestamp(clock_.Now());
    e.set_actor(type.rfind("crm.classification", 0) == 0 ? "crm-classification" : "rep-a");
    e.set_correlation_id("corr-" + e.event_id());
    e.set_payload(payload);
    return e;
  }
  EventEnvelope Raised(const std::string& customer, double score = 0.8,
                       const std::string& owner = "owner-in-event",
                       const std::string& region = "region-in-event") {
    classification::v1::ClassificationEvent e;
    e.set_customer_id(customer);
    auto* r = e.mutable_churn_risk_raised();
    r->set_score(score);
    r->add_criteria("no_interaction_90d");
    r->set_reason("no contact for 90 days");
    r->set_rule_set_version(2);
    r->set_owner(owner);
    r->set_region(region);
    return Envelope("crm.classification.v1.ChurnRiskRaised", e.SerializeAsString());
  }
  EventEnvelope Cleared(const std::string& customer, double score = 0.2) {
    classification::v1::ClassificationEvent e;
    e.set_customer_id(customer);
    e.mutable_churn_risk_cleared()->set_score(score);
    e.mutable_churn_risk_cleared()->set_reason("recent orders");
    return Envelope("crm.classification.v1.ChurnRiskCleared", e.SerializeAsString());
  }
  EventEnvelope Lifecycle(const std::string& customer, customer::v1::Lifecycle from,
                          customer::v1::Lifecycle to) {
    customer::v1::CustomerEvent e;
    e.set_customer_id(customer);
    e.mutable_lifecycle_changed()->set_from(from);
    e.mutable_lifecycle_changed()->set_to(to);
    e.mutable_lifecycle_changed()->set_win_back(from == customer::v1::LIFECYCLE_CHURNED);
    return Envelope("crm.customer.v1.LifecycleChanged", e.SerializeAsString());
  }
  // Queues the signal as the consumer does, under "<customer>/<occurred_at
  // micros>/<token>" (a redelivery writes the same row).
  void Queue(const std::string& customer, const EventEnvelope& e) {
    const int64_t micros = absl::ToUnixMicros(FromProtoTimestamp(e.occurred_at()));
    ASSERT_TRUE(store_
                    ->WriteProjections({eventstore::ProjectionWrite::Put(
                        std::string(kChurnSignalQueueProjection),
                        absl::StrCat(customer, "/", absl::Dec(micros, absl::kZeroPad20), "/",
                                     e.event_id()),
                        e.SerializeAsString())})
                    .ok());
  }
  // Works off the queue; returns what ApplyChurnSignals counted.
  int Apply() {
    absl::StatusOr<int> n = app_->ApplyChurnSignals();
    EXPECT_TRUE(n.ok()) << n.status();
    EXPECT_TRUE(Rows({std::string(kChurnSignalQueueProjection)})
                    .at(std::string(kChurnSignalQueueProjection))
                    .empty());
    return n.value_or(-1);
  }
  // Queues and applies one signal.
  int Signal(const std::string& customer, const EventEnvelope& e) {
    Queue(customer, e);
    return Apply();
  }

  // Every case of `customer`, oldest first.
  std::vector<v1::ChurnCase> CasesOf(const std::string& customer) {
    std::vector<v1::ChurnCase> out;
    EXPECT_TRUE(ForEachChurnCase(*store_, [&](const v1::ChurnCase& c) {
                  if (c.customer_id() == customer) out.push_back(c);
                  return absl::OkStatus();
                }).ok());
    std::sort(out.begin(), out.end(), [](const v1::ChurnCase& a, const v1::ChurnCase& b) {
      return FromProtoTimestamp(a.opened_at()) < FromProtoTimestamp(b.opened_at());
    });
    return out;
  }
  std::string OpenCase(const std::string& customer) {
    absl::StatusOr<std::optional<std::string>> id = OpenCaseOf(*store_, customer);
    EXPECT_TRUE(id.ok());
    return id.ok() && *id ? **id : "";
  }
  int CountEvents(const std::string& type) {
    auto all = store_->ReadAll(1, SIZE_MAX);
    int n = 0;
    for (const auto& e : *all) n += e.event_type() == "crm.interaction.v1." + type;
    return n;
  }

  absl::Status Confirm(const Principal& who, const std::string& id, v1::ChurnLossReason reason) {
    v1::ConfirmChurnRequest r;
    r.set_case_id(id);
    r.set_reason(reason);
    if (reason == v1::CHURN_LOSS_REASON_OTHER) r.set_reason_text("other");
    return Call(&ChurnApp::ConfirmChurn, who, r).status();
  }
  absl::Status Retain(const Principal& who, const std::string& id) {
    v1::RetainChurnCaseRequest r;
    r.set_case_id(id);
    return Call(&ChurnApp::RetainChurnCase, who, r).status();
  }
  absl::Status Postpone(const Principal& who, const std::string& id, const std::string& day) {
    v1::PostponeChurnRequest r;
    r.set_case_id(id);
    r.set_review_date(day);
    return Call(&ChurnApp::PostponeChurn, who, r).status();
  }
  v1::ChurnCase Get(const std::string& id, std::optional<absl::Time> as_of = std::nullopt) {
    v1::GetChurnCaseRequest r;
    r.set_case_id(id);
    if (as_of) *r.mutable_as_of() = ToProtoTimestamp(*as_of);
    auto got = Call(&ChurnApp::GetChurnCase, root_, r);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? got->churn_case() : v1::ChurnCase();
  }
  std::vector<std::string> History(const std::string& id) {
    v1::GetChurnCaseHistoryRequest r;
    r.set_case_id(id);
    auto h = Call(&ChurnApp::GetChurnCaseHistory, root_, r);
    EXPECT_TRUE(h.ok()) << h.status();
    std::vector<std::string> types;
    if (h.ok()) {
      for (const auto& e : h->entries()) types.push_back(e.event_type());
    }
    return types;
  }
  // Every case `who` lists with `req` (all pages).
  std::vector<std::string> ListAll(const Principal& who, v1::ListChurnCasesRequest req) {
    std::vector<std::string> ids;
    for (std::string token;;) {
      req.set_page_token(token);
      auto listed = Call(&ChurnApp::ListChurnCases, who, req);
      EXPECT_TRUE(listed.ok()) << listed.status();
      if (!listed.ok()) break;
      for (const auto& c : listed->cases()) ids.push_back(c.case_id());
      token = listed->next_page_token();
      if (token.empty()) break;
    }
    return ids;
  }
  v1::ChurnReport Report(const Principal& who, std::optional<absl::Time> as_of = std::nullopt) {
    v1::GetChurnReportRequest r;
    if (as_of) *r.mutable_as_of() = ToProtoTimestamp(*as_of);
    auto report = Call(&ChurnApp::GetChurnReport, who, r);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? report->report() : v1::ChurnReport();
  }

  std::unique_ptr<InteractionApp> interactions_;
  uint64_t position_ = 0;
  int token_ = 0;
  const Principal root_{"root", {Role::kAdmin}, ""};
};

// --- Effectively once -------------------------------------------------------------

TEST_F(ChurnAppTest, AWarningDeliveredTwiceOpensOneCaseForTheOwnerWithOneWarning) {
  Registered("c1", "rep-a", "north");
  Classified("c1", classification::v1::SCHEME_ABCD, "B");
  Classified("c1", classification::v1::SCHEME_TIER, "important");
  const EventEnvelope raised = Raised("c1", 0.85);
  EXPECT_EQ(Signal("c1", raised), 1);
  // Delivered again (the consumer queues the same row again): nothing more.
  EXPECT_EQ(Signal("c1", raised), 0);
  // Twice in one batch (two rows, as a rebalance might leave them): the same.
  Queue("c1", raised);
  ASSERT_TRUE(store_
                  ->WriteProjections({eventstore::ProjectionWrite::Put(
                      std::string(kChurnSignalQueueProjection), "c1/again",
                      raised.SerializeAsString())})
                  .ok());
  EXPECT_EQ(Apply(), 0);

  const std::vector<v1::ChurnCase> cases = CasesOf("c1");
  ASSERT_EQ(cases.size(), 1u);
  const v1::ChurnCase& c = cases[0];
  EXPECT_EQ(c.status(), v1::CHURN_CASE_STATUS_OPEN);
  // The directory's owner and region, not the event's; its classes by scheme.
  EXPECT_EQ(c.owner(), "rep-a");
  EXPECT_EQ(c.region(), "north");
  EXPECT_THAT(c.classes(), ElementsAre(EqualsProto(TextProto<v1::SchemeClass>(
                                           R"pb(scheme: SCHEME_TIER class_name: "important")pb")),
                                       EqualsProto(TextProto<v1::SchemeClass>(
                                           R"pb(scheme: SCHEME_ABCD class_name: "B")pb"))));
  EXPECT_EQ(c.warning_count(), 1);
  ASSERT_EQ(c.warnings_size(), 1);
  EXPECT_THAT(c.warnings(0), EqualsProto(TextProto<v1::ChurnWarning>(R"pb(
    event_id: "ev-0001"
    score: 0.85
    criteria: "no_interaction_90d"
    reason: "no contact for 90 days"
    rule_set_version: 2
    raised_at { seconds: 1793610000 }
  )pb")));
  EXPECT_EQ(OpenCase("c1"), c.case_id());
  EXPECT_EQ(CountEvents("ChurnCaseOpened"), 1);
  EXPECT_EQ(CountEvents("ChurnWarningAdded"), 0);
  // The case's events name the signal as their cause.
  auto events = store_->ReadStream(ChurnCaseStreamFor(c.case_id()));
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].causation_id(), "ev-0001");
  EXPECT_EQ((*events)[0].correlation_id(), "corr-ev-0001");
  EXPECT_EQ((*events)[0].actor(), "crm-interaction");
  EXPECT_EQ((*events)[0].partition_key(), "c1");
}

TEST_F(ChurnAppTest, AWarningForACustomerTheDirectoryDoesNotKnowTakesTheEventsOwner) {
  EXPECT_EQ(Signal("c9", Raised("c9", 0.7, "rep-z", "west")), 1);
  const std::vector<v1::ChurnCase> cases = CasesOf("c9");
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].owner(), "rep-z");
  EXPECT_EQ(cases[0].region(), "west");
  EXPECT_EQ(cases[0].classes_size(), 0);
}

TEST_F(ChurnAppTest, ASecondWarningWhileOpenIsAddedToTheSameCase) {
  Registered("c1", "rep-a", "north");
  EXPECT_EQ(Signal("c1", Raised("c1", 0.8)), 1);
  clock_.Set(Nov(5));
  EXPECT_EQ(Signal("c1", Raised("c1", 0.9)), 1);
  const std::vector<v1::ChurnCase> cases = CasesOf("c1");
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].warning_count(), 2);
  ASSERT_EQ(cases[0].warnings_size(), 2);
  EXPECT_EQ(cases[0].warnings(1).event_id(), "ev-0002");
  EXPECT_EQ(cases[0].warnings(1).score(), 0.9);
  EXPECT_THAT(History(cases[0].case_id()), ElementsAre("crm.interaction.v1.ChurnCaseOpened",
                                                        "crm.interaction.v1.ChurnWarningAdded"));
}

TEST_F(ChurnAppTest, ClearedRetainsAndALaterWarningOpensANewCaseWhileReplaysChangeNothing) {
  Registered("c1", "rep-a", "north");
  const EventEnvelope first = Raised("c1");
  ASSERT_EQ(Signal("c1", first), 1);
  const std::string k1 = OpenCase("c1");
  clock_.Set(Nov(4));
  const EventEnvelope cleared = Cleared("c1", 0.15);
  EXPECT_EQ(Signal("c1", cleared), 1);
  v1::ChurnCase retained = Get(k1);
  EXPECT_EQ(retained.status(), v1::CHURN_CASE_STATUS_RETAINED);
  EXPECT_TRUE(retained.retained_by_risk_cleared());
  EXPECT_EQ(retained.closed_by(), "crm-interaction");
  EXPECT_EQ(FromProtoTimestamp(retained.closed_at()), Nov(4));
  EXPECT_EQ(OpenCase("c1"), "");

  // A new warning after the close: a new case.
  clock_.Set(Nov(10));
  const EventEnvelope second = Raised("c1", 0.95);
  EXPECT_EQ(Signal("c1", second), 1);
  const std::string k2 = OpenCase("c1");
  ASSERT_FALSE(k2.empty());
  EXPECT_NE(k2, k1);

  // The topic replayed from offset 0: the first warning and the clear again. The
  // first opens no third case and the clear does not retain the new case.
  Queue("c1", first);
  Queue("c1", cleared);
  Queue("c1", second);
  EXPECT_EQ(Apply(), 0);
  const std::vector<v1::ChurnCase> cases = CasesOf("c1");
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].case_id(), k1);
  EXPECT_EQ(cases[0].warning_count(), 1);
  EXPECT_EQ(cases[1].case_id(), k2);
  EXPECT_EQ(cases[1].status(), v1::CHURN_CASE_STATUS_OPEN);
  EXPECT_EQ(cases[1].warning_count(), 1);
  EXPECT_EQ(CountEvents("ChurnCaseOpened"), 2);
  EXPECT_EQ(CountEvents("ChurnCaseRetained"), 1);

  // A clear with no open case does nothing, and neither does its replay once a
  // case is open again.
  Registered("c2", "rep-a", "north");
  const EventEnvelope early_clear = Cleared("c2");
  EXPECT_EQ(Signal("c2", early_clear), 0);
  EXPECT_EQ(Signal("c2", Raised("c2")), 1);
  EXPECT_EQ(Signal("c2", early_clear), 0);
  ASSERT_EQ(CasesOf("c2").size(), 1u);
  EXPECT_EQ(CasesOf("c2")[0].status(), v1::CHURN_CASE_STATUS_OPEN);
}

TEST_F(ChurnAppTest, AWinBackIsOnTheLostCasesHistoryOnce) {
  Registered("c1", "rep-a", "north");
  const Principal rep{"rep-a", {Role::kSalesRep}, "north"};
  ASSERT_EQ(Signal("c1", Raised("c1")), 1);
  const std::string k1 = OpenCase("c1");
  // Changes of the lifecycle that are no win-back, or before any loss: nothing.
  EXPECT_EQ(Signal("c1", Lifecycle("c1", customer::v1::LIFECYCLE_POTENTIAL,
                                   customer::v1::LIFECYCLE_FOLLOWING)),
            0);
  clock_.Set(Nov(3));
  ASSERT_TRUE(Confirm(rep, k1, v1::CHURN_LOSS_REASON_COMPETITOR).ok());
  EXPECT_EQ(Get(k1).status(), v1::CHURN_CASE_STATUS_LOST);
  EXPECT_EQ(Get(k1).closed_by(), "rep-a");
  clock_.Set(Nov(20));
  const EventEnvelope back =
      Lifecycle("c1", customer::v1::LIFECYCLE_CHURNED, customer::v1::LIFECYCLE_COOPERATING);
  EXPECT_EQ(Signal("c1", back), 1);
  EXPECT_EQ(Signal("c1", back), 0);
  EXPECT_EQ(Signal("c1", Lifecycle("c1", customer::v1::LIFECYCLE_CHURNED,
                                   customer::v1::LIFECYCLE_FOLLOWING)),
            0);  // no lost case left without a win-back
  EXPECT_THAT(History(k1), ElementsAre("crm.interaction.v1.ChurnCaseOpened",
                                       "crm.interaction.v1.ChurnLossConfirmed",
                                       "crm.interaction.v1.ChurnCaseWonBack"));
  EXPECT_THAT(Get(k1).win_back(), EqualsProto(TextProto<v1::WinBack>(R"pb(
    lifecycle: LIFECYCLE_COOPERATING
    at { seconds: 1795165200 }
    event_id: "ev-0003"
    actor: "rep-a"
  )pb")));
  EXPECT_EQ(Get(k1).status(), v1::CHURN_CASE_STATUS_LOST);
  EXPECT_EQ(CountEvents("ChurnCaseWonBack"), 1);
  EXPECT_TRUE(Rows({std::string(kChurnLostProjection)})[std::string(kChurnLostProjection)].empty());
  // The loss event carries what crm-customer needs.
  auto events = store_->ReadStream(ChurnCaseStreamFor(k1));
  v1::InteractionEvent loss;
  ASSERT_TRUE(loss.ParseFromString((*events)[1].payload()));
  EXPECT_THAT(loss, EqualsProto(TextProto<v1::InteractionEvent>(absl::StrCat(
                        R"pb(customer_id: "c1" churn_case_id: ")pb", k1, R"pb(")pb",
                        R"pb( churn_loss_confirmed {
                                reason: CHURN_LOSS_REASON_COMPETITOR
                                owner: "rep-a"
                                region: "north"
                              })pb"))));
}

// --- Following the customer's owner --------------------------------------------------

TEST_F(ChurnAppTest, AnOpenCaseFollowsItsCustomersNewOwnerOnceAndAClosedOneKeepsItsOwner) {
  Registered("c1", "rep-a", "north");
  Registered("c2", "rep-a", "north");
  ASSERT_EQ(Signal("c1", Raised("c1")), 1);
  ASSERT_EQ(Signal("c2", Raised("c2")), 1);
  const std::string k1 = OpenCase("c1");
  const std::string k2 = OpenCase("c2");
  clock_.Set(Nov(3));
  ASSERT_TRUE(Retain(root_, k2).ok());
  EXPECT_THAT(OwnerAndRegionRows(k1), ElementsAre("o/rep-a", "r/north"));

  // c1 goes to rep-b in the south: the consumer queues the OwnerAssigned under
  // "<customer>/<occurred_at µs, 20 digits>/<token>", the worker moves the case.
  clock_.Set(Nov(4));
  const std::vector<std::string> keys =
      Assigned("c1", "rep-a", "north", "rep-b", "south", "oa-1", Nov(4));
  EXPECT_THAT(keys, ElementsAre(absl::StrCat(
                        "c1/", absl::Dec(absl::ToUnixMicros(Nov(4)), absl::kZeroPad20), "/oa-1")));
  EXPECT_EQ(Apply(), 1);
  v1::ChurnCase c = Get(k1);
  EXPECT_EQ(c.owner(), "rep-b");
  EXPECT_EQ(c.region(), "south");
  EXPECT_EQ(c.status(), v1::CHURN_CASE_STATUS_OPEN);
  EXPECT_EQ(c.version(), 2u);
  auto events = store_->ReadStream(ChurnCaseStreamFor(k1));
  ASSERT_EQ(events->size(), 2u);
  const EventEnvelope& moved = (*events)[1];
  EXPECT_EQ(moved.event_type(), "crm.interaction.v1.ChurnCaseReassigned");
  EXPECT_EQ(moved.causation_id(), "oa-1");
  EXPECT_EQ(moved.actor(), "crm-interaction");
  EXPECT_EQ(moved.partition_key(), "c1");
  v1::InteractionEvent payload;
  ASSERT_TRUE(payload.ParseFromString(moved.payload()));
  EXPECT_THAT(payload, EqualsProto(TextProto<v1::InteractionEvent>(
                           absl::StrCat(R"pb(customer_id: "c1" churn_case_id: ")pb", k1, R"pb(")pb",
                                        R"pb(churn_case_reassigned {
                                               from_owner: "rep-a"
                                               to_owner: "rep-b"
                                               from_region: "north"
                                               to_region: "south"
                                             })pb"))));
  // The index rows moved: the new owner finds it, the old one no longer.
  EXPECT_THAT(OwnerAndRegionRows(k1), ElementsAre("o/rep-b", "r/south"));
  const Principal rep_a{"rep-a", {Role::kSalesRep}, "north"};
  const Principal rep_b{"rep-b", {Role::kSalesRep}, "south"};
  v1::ListChurnCasesRequest own;
  own.set_owner("rep-b");
  EXPECT_THAT(ListAll(rep_b, own), ElementsAre(k1));
  EXPECT_THAT(ListAll(rep_b, v1::ListChurnCasesRequest()), ElementsAre(k1));
  own.set_owner("rep-a");
  EXPECT_THAT(ListAll(rep_a, own), ElementsAre(k2));  // the closed case stays rep-a's
  EXPECT_THAT(ListAll(root_, own), ElementsAre(k2));
  v1::ListChurnCasesRequest south;
  south.set_region("south");
  EXPECT_THAT(ListAll(root_, south), ElementsAre(k1));

  // Delivered again, or the topic replayed: nothing more.
  EXPECT_THAT(Assigned("c1", "rep-a", "north", "rep-b", "south", "oa-1", Nov(4)),
              ElementsAre(keys[0]));
  EXPECT_EQ(Apply(), 0);
  EXPECT_EQ(CountEvents("ChurnCaseReassigned"), 1);

  // c2's case is closed: it keeps rep-a. A later warning opens a new case for
  // the new owner (from the directory).
  clock_.Set(Nov(5));
  Assigned("c2", "rep-a", "north", "rep-c", "north", "oa-2", Nov(5));
  EXPECT_EQ(Apply(), 0);
  // Recorded under its event id all the same, like the other signals that act on nothing.
  auto recorded = store_->LookupCommand(
      command::ScopedCommandKey("ReassignOnOwnerAssigned", "crm-interaction", "oa-2"));
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_TRUE(recorded->has_value());
  EXPECT_EQ(Get(k2).owner(), "rep-a");
  EXPECT_EQ(Get(k2).version(), 2u);
  EXPECT_EQ(CountEvents("ChurnCaseReassigned"), 1);
  clock_.Set(Nov(6));
  ASSERT_EQ(Signal("c2", Raised("c2")), 1);
  const std::string k3 = OpenCase("c2");
  EXPECT_EQ(Get(k3).owner(), "rep-c");
  // The earlier assignment replayed now that c2 has an open case again: it was
  // recorded under its event id when it changed nothing, so it still does.
  Assigned("c2", "rep-a", "north", "rep-c", "north", "oa-2", Nov(5));
  EXPECT_EQ(Apply(), 0);
  EXPECT_EQ(Get(k3).version(), 1u);

  // An owner change that does not change the case's owner or region (the case
  // was opened for the directory's owner already): nothing.
  Assigned("c2", "rep-c", "north", "rep-c", "north", "oa-3", Nov(6));
  EXPECT_EQ(Apply(), 0);
  EXPECT_EQ(Get(k3).version(), 1u);

  // The directory is ahead of the queue: two assignments consumed before the
  // worker runs. The first is already replaced and changes nothing; the case
  // goes straight to the latest owner.
  clock_.Set(Nov(7));
  Assigned("c1", "rep-b", "south", "rep-x", "east", "oa-4", Nov(7));
  Assigned("c1", "rep-x", "east", "rep-y", "west", "oa-5", Nov(7) + absl::Minutes(1));
  EXPECT_EQ(Apply(), 1);
  c = Get(k1);
  EXPECT_EQ(c.owner(), "rep-y");
  EXPECT_EQ(c.region(), "west");
  events = store_->ReadStream(ChurnCaseStreamFor(k1));
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[2].causation_id(), "oa-5");
  ASSERT_TRUE(payload.ParseFromString((*events)[2].payload()));
  EXPECT_EQ(payload.churn_case_reassigned().from_owner(), "rep-b");
  EXPECT_EQ(payload.churn_case_reassigned().to_owner(), "rep-y");
  // Even when their occurred_at times run backwards (the queue's order): the
  // latest consumed assignment wins.
  Assigned("c1", "rep-y", "west", "rep-z", "west", "oa-6", Nov(7) + absl::Minutes(3));
  Assigned("c1", "rep-z", "west", "rep-w", "west", "oa-7", Nov(7) + absl::Minutes(2));
  EXPECT_EQ(Apply(), 1);
  EXPECT_EQ(Get(k1).owner(), "rep-w");
  EXPECT_EQ(CountEvents("ChurnCaseReassigned"), 3);
  EXPECT_THAT(OwnerAndRegionRows(k1), ElementsAre("o/rep-w", "r/west"));
  EXPECT_THAT(History(k1), ElementsAre("crm.interaction.v1.ChurnCaseOpened",
                                       "crm.interaction.v1.ChurnCaseReassigned",
                                       "crm.interaction.v1.ChurnCaseReassigned",
                                       "crm.interaction.v1.ChurnCaseReassigned"));

  // The rows are what a rebuild from the log gives.
  Open();
  command::AggregateProjector<ChurnCaseAggregate> projector(ChurnCases());
  ExpectRebuildReproducesTheRows(projector, ChurnCaseProjections());
}

// The report counts a case under the owner and region it had at the report's time.
TEST_F(ChurnAppTest, TheChurnReportCountsAReassignedCaseUnderItsOwnerAtTheTime) {
  Registered("c1", "rep-a", "north");
  ASSERT_EQ(Signal("c1", Raised("c1")), 1);
  clock_.Set(Nov(4));
  Assigned("c1", "rep-a", "north", "rep-b", "south", "oa-1", Nov(4));
  ASSERT_EQ(Apply(), 1);
  clock_.Set(Nov(6));

  const v1::ChurnReport now = Report(root_);
  EXPECT_THAT(now.by_owner(),
              ElementsAre(EqualsProto(TextProto<v1::ChurnGroup>(R"pb(key: "rep-b" opened: 1)pb"))));
  EXPECT_THAT(now.by_region(),
              ElementsAre(EqualsProto(TextProto<v1::ChurnGroup>(R"pb(key: "south" opened: 1)pb"))));
  const v1::ChurnReport before = Report(root_, Nov(3));
  EXPECT_THAT(before.by_owner(),
              ElementsAre(EqualsProto(TextProto<v1::ChurnGroup>(R"pb(key: "rep-a" opened: 1)pb"))));
  EXPECT_THAT(before.by_region(),
              ElementsAre(EqualsProto(TextProto<v1::ChurnGroup>(R"pb(key: "north" opened: 1)pb"))));
  // The owner and region filters apply to the case as it was.
  auto opened_for = [&](const std::string& owner, const std::string& region,
                        std::optional<absl::Time> as_of) {
    v1::GetChurnReportRequest r;
    r.set_owner(owner);
    r.set_region(region);
    if (as_of) *r.mutable_as_of() = ToProtoTimestamp(*as_of);
    auto report = Call(&ChurnApp::GetChurnReport, root_, r);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? report->report().total().opened() : -1;
  };
  EXPECT_EQ(opened_for("rep-b", "", std::nullopt), 1);
  EXPECT_EQ(opened_for("rep-a", "", std::nullopt), 0);
  EXPECT_EQ(opened_for("rep-a", "", Nov(3)), 1);
  EXPECT_EQ(opened_for("rep-b", "", Nov(3)), 0);
  EXPECT_EQ(opened_for("", "north", Nov(3)), 1);
  EXPECT_EQ(opened_for("", "south", Nov(3)), 0);
  EXPECT_EQ(opened_for("", "south", std::nullopt), 1);
}

TEST_F(ChurnAppTest, RowsThatCanNeverApplyAreDroppedAndTheRestApplied) {
  Registered("c1", "rep-a", "north");
  ASSERT_TRUE(store_
                  ->WriteProjections({eventstore::ProjectionWrite::Put(
                      std::string(kChurnSignalQueueProjection), "c0/garbage", "\xff not a proto")})
                  .ok());
  // A ChurnRiskRaised type whose payload is another kind, one without a customer,
  // an event type that is no churn signal.
  EventEnvelope wrong = Cleared("c1");
  wrong.set_event_type("crm.classification.v1.ChurnRiskRaised");
  Queue("c1", wrong);
  Queue("c1", Raised(""));
  Queue("c1", Envelope("crm.classification.v1.CustomerClassified", ""));
  // A warning without an event id (its command id): it could not apply once.
  EventEnvelope anonymous = Raised("c1");
  anonymous.clear_event_id();
  ASSERT_TRUE(store_
                  ->WriteProjections({eventstore::ProjectionWrite::Put(
                      std::string(kChurnSignalQueueProjection), "c1/anonymous",
                      anonymous.SerializeAsString())})
                  .ok());
  Queue("c1", Raised("c1"));
  EXPECT_EQ(Apply(), 1);
  EXPECT_EQ(CasesOf("c1").size(), 1u);
  EXPECT_EQ(CountEvents("ChurnCaseOpened"), 1);
}

TEST_F(ChurnAppTest, ASignalThatMustBeRetriedHoldsBackTheCustomersLaterSignals) {
  // c1's directory row cannot be read for now (the warning fails with
  // DATA_LOSS, a row to retry); c2's signals are fine.
  ASSERT_TRUE(store_
                  ->WriteProjections({eventstore::ProjectionWrite::Put(
                      std::string(directory::kDirectoryProjection), "c1", "\xff not a proto")})
                  .ok());
  Registered("c2", "rep-b", "south");
  Queue("c1", Raised("c1"));
  Queue("c2", Raised("c2"));
  clock_.Set(Nov(3));
  // The clear of c1's warning, and a later signal of c2.
  Queue("c1", Cleared("c1"));
  Queue("c2", Cleared("c2"));
  absl::StatusOr<int> first = app_->ApplyChurnSignals();
  EXPECT_EQ(first.status().code(), absl::StatusCode::kDataLoss) << first.status();
  // c2 went on; both of c1's rows wait, in their order.
  ASSERT_EQ(CasesOf("c2").size(), 1u);
  EXPECT_EQ(CasesOf("c2")[0].status(), v1::CHURN_CASE_STATUS_RETAINED);
  EXPECT_EQ(Rows({std::string(kChurnSignalQueueProjection)})
                .at(std::string(kChurnSignalQueueProjection))
                .size(),
            2u);
  EXPECT_TRUE(CasesOf("c1").empty());

  // Once the row reads again: the warning opens the case, then the clear retains it.
  customer::v1::Customer row;
  row.set_customer_id("c1");
  row.set_owner("rep-a");
  row.set_region("north");
  ASSERT_TRUE(store_
                  ->WriteProjections({eventstore::ProjectionWrite::Put(
                      std::string(directory::kDirectoryProjection), "c1", row.SerializeAsString())})
                  .ok());
  EXPECT_EQ(Apply(), 2);
  const std::vector<v1::ChurnCase> cases = CasesOf("c1");
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].status(), v1::CHURN_CASE_STATUS_RETAINED);
  EXPECT_TRUE(cases[0].retained_by_risk_cleared());
  EXPECT_EQ(OpenCase("c1"), "");
}

// --- Measures, review dates, reads ---------------------------------------------------

TEST_F(ChurnAppTest, MeasuresNameTheVisitOrFollowUpOfTheCustomerThatCarriedThemOut) {
  Registered("c1", "rep-a", "north");
  Registered("c2", "rep-b", "south");
  const Principal rep{"rep-a", {Role::kSalesRep}, "north"};
  ASSERT_EQ(Signal("c1", Raised("c1")), 1);
  const std::string k = OpenCase("c1");

  v1::RecordRetentionMeasureRequest m;
  m.set_case_id(k);
  m.mutable_measure()->set_action("Called the purchasing manager");
  auto first = Call(&ChurnApp::RecordRetentionMeasure, rep, m);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->measure_id(), "1");
  EXPECT_EQ(first->write().version(), 2u);
  ASSERT_EQ(first->write().event_ids_size(), 1);

  v1::LogFollowUpRequest follow;
  follow.set_customer_id("c1");
  follow.mutable_follow_up()->set_channel(v1::CHANNEL_PHONE);
  follow.mutable_follow_up()->set_content("Offered a service review");
  auto followed = command::Await(*interactions_, &InteractionApp::LogFollowUp, rep, follow);
  ASSERT_TRUE(followed.ok()) << followed.status();
  follow.set_customer_id("c2");
  auto elsewhere = command::Await(*interactions_, &InteractionApp::LogFollowUp, root_, follow);
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
  v1::PlanVisitRequest plan;
  plan.set_customer_id("c1");
  plan.mutable_plan()->set_purpose("Keep the account");
  *plan.mutable_plan()->mutable_scheduled_at() = ToProtoTimestamp(clock_.Now() + absl::Hours(2));
  plan.mutable_plan()->add_visitors("rep-a");
  auto visit = command::Await(*interactions_, &InteractionApp::PlanVisit, rep, plan);
  ASSERT_TRUE(visit.ok()) << visit.status();

  m.mutable_measure()->set_interaction_id(elsewhere->interaction_id());
  auto other = Call(&ChurnApp::RecordRetentionMeasure, rep, m);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(other.status().message()),
              ::testing::StartsWith("measure.interaction_id: "));
  m.mutable_measure()->set_interaction_id(visit->interaction_id());
  EXPECT_EQ(Call(&ChurnApp::RecordRetentionMeasure, rep, m).status().code(),
            absl::StatusCode::kFailedPrecondition);  // planned, not yet recorded
  m.mutable_measure()->set_interaction_id(followed->interaction_id());
  m.mutable_measure()->set_taken_on("2026-11-01");
  m.mutable_measure()->set_taken_by("rep-b");
  auto second = Call(&ChurnApp::RecordRetentionMeasure, rep, m);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->measure_id(), "2");
  // A replay with the command id: the first answer.
  m.mutable_options()->set_command_id("measure-3");
  auto third = Call(&ChurnApp::RecordRetentionMeasure, rep, m);
  auto again = Call(&ChurnApp::RecordRetentionMeasure, rep, m);
  ASSERT_TRUE(third.ok() && again.ok());
  EXPECT_EQ(third->measure_id(), "3");
  EXPECT_EQ(again->measure_id(), "3");
  EXPECT_THAT(*again, EqualsProto(*third));

  const v1::ChurnCase c = Get(k);
  ASSERT_EQ(c.measures_size(), 3);
  EXPECT_THAT(c.measures(1), EqualsProto(TextProto<v1::RetentionMeasure>(absl::StrCat(
                                 R"pb(measure_id: "2"
                                      action: "Called the purchasing manager"
                                      taken_on: "2026-11-01"
                                      taken_by: "rep-b"
                                      recorded_by: "rep-a"
                                      recorded_at { seconds: 1793610000 }
                                      interaction_id: ")pb",
                                 followed->interaction_id(), "\""))));
  // Invalid input names the field; on a closed case the status.
  m.clear_options();
  m.mutable_measure()->set_action("");
  auto bad = Call(&ChurnApp::RecordRetentionMeasure, rep, m);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "measure.action: required");
  ASSERT_TRUE(Retain(rep, k).ok());
  m.mutable_measure()->set_action("Too late");
  auto closed = Call(&ChurnApp::RecordRetentionMeasure, rep, m);
  EXPECT_EQ(closed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(closed.status().message(), "status: case is RETAINED");
  v1::RecordRetentionMeasureRequest unknown = m;
  unknown.set_case_id("no-such-case");
  EXPECT_EQ(Call(&ChurnApp::RecordRetentionMeasure, root_, unknown).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ChurnAppTest, APostponedCaseIsReportedOverdueOnceAfterItsReviewDate) {
  Registered("c1", "rep-a", "north");
  Registered("c2", "rep-a", "north");
  const Principal rep{"rep-a", {Role::kSalesRep}, "north"};
  ASSERT_EQ(Signal("c1", Raised("c1")), 1);
  ASSERT_EQ(Signal("c2", Raised("c2")), 1);
  const std::string k1 = OpenCase("c1");
  const std::string k2 = OpenCase("c2");
  EXPECT_EQ(Postpone(rep, k1, "2026-11-02").code(), absl::StatusCode::kInvalidArgument);  // today
  ASSERT_TRUE(Postpone(rep, k1, "2026-11-04").ok());
  ASSERT_TRUE(Postpone(rep, k2, "2026-11-30").ok());
  EXPECT_EQ(*app_->ReportOverdueReviews(), 0);
  clock_.Set(Nov(4, 23));  // the review day itself: not yet
  EXPECT_EQ(*app_->ReportOverdueReviews(), 0);
  clock_.Set(Nov(5));
  EXPECT_EQ(*app_->ReportOverdueReviews(), 1);
  EXPECT_EQ(*app_->ReportOverdueReviews(), 0);
  EXPECT_EQ(CountEvents("ChurnCaseReviewOverdue"), 1);
  EXPECT_TRUE(Get(k1).review_overdue_reported());
  v1::ListChurnCasesRequest overdue;
  overdue.set_overdue_only(true);
  EXPECT_THAT(ListAll(rep, overdue), ElementsAre(k1));
  // Postponed again: overdue again once the new date passes.
  ASSERT_TRUE(Postpone(rep, k1, "2026-11-07").ok());
  EXPECT_FALSE(Get(k1).review_overdue_reported());
  EXPECT_TRUE(ListAll(rep, overdue).empty());
  clock_.Set(Nov(8));
  EXPECT_EQ(*app_->ReportOverdueReviews(), 1);
  EXPECT_EQ(CountEvents("ChurnCaseReviewOverdue"), 2);
  // A closed case is never reported.
  ASSERT_TRUE(Retain(rep, k2).ok());
  clock_.Set(absl::FromCivil(absl::CivilHour(2026, 12, 2, 9), absl::UTCTimeZone()));
  EXPECT_EQ(*app_->ReportOverdueReviews(), 0);
  EXPECT_EQ(Postpone(rep, k2, "2026-12-20").code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ChurnAppTest, ACaseAsOfAPastTimeAndItsHistoryInPages) {
  Registered("c1", "rep-a", "north");
  const Principal rep{"rep-a", {Role::kSalesRep}, "north"};
  ASSERT_EQ(Signal("c1", Raised("c1")), 1);
  const std::string k = OpenCase("c1");
  clock_.Set(Nov(3));
  ASSERT_EQ(Signal("c1", Raised("c1", 0.9)), 1);
  clock_.Set(Nov(4));
  ASSERT_TRUE(Postpone(rep, k, "2026-11-10").ok());
  clock_.Set(Nov(6));
  v1::RecordRetentionMeasureRequest m;
  m.set_case_id(k);
  m.mutable_measure()->set_action("Price review");
  ASSERT_TRUE(Call(&ChurnApp::RecordRetentionMeasure, rep, m).ok());
  clock_.Set(Nov(9));
  ASSERT_TRUE(Confirm(rep, k, v1::CHURN_LOSS_REASON_PRICE).ok());

  const v1::ChurnCase past = Get(k, Nov(5));
  EXPECT_EQ(past.version(), 3u);
  EXPECT_EQ(past.status(), v1::CHURN_CASE_STATUS_OPEN);
  EXPECT_EQ(past.warning_count(), 2);
  EXPECT_EQ(past.review_date(), "2026-11-10");
  EXPECT_EQ(past.measures_size(), 0);
  EXPECT_EQ(Get(k).status(), v1::CHURN_CASE_STATUS_LOST);
  v1::GetChurnCaseRequest before;
  before.set_case_id(k);
  *before.mutable_as_of() = ToProtoTimestamp(kDay0 - absl::Hours(1));
  EXPECT_EQ(Call(&ChurnApp::GetChurnCase, rep, before).status().code(),
            absl::StatusCode::kNotFound);

  v1::GetChurnCaseHistoryRequest h;
  h.set_case_id(k);
  h.set_page_size(2);
  std::vector<std::string> types;
  std::vector<std::string> actors;
  int pages = 0;
  for (std::string token;;) {
    h.set_page_token(token);
    auto page = Call(&ChurnApp::GetChurnCaseHistory, rep, h);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    for (const auto& e : page->entries()) {
      types.push_back(e.event_type());
      actors.push_back(e.actor());
      EXPECT_EQ(e.event().churn_case_id(), k);
    }
    token = page->next_page_token();
    if (token.empty()) break;
  }
  EXPECT_EQ(pages, 3);  // 5 events, 2 a page
  EXPECT_THAT(types, ElementsAre("crm.interaction.v1.ChurnCaseOpened",
                                 "crm.interaction.v1.ChurnWarningAdded",
                                 "crm.interaction.v1.ChurnReviewScheduled",
                                 "crm.interaction.v1.RetentionMeasureRecorded",
                                 "crm.interaction.v1.ChurnLossConfirmed"));
  EXPECT_THAT(actors, ElementsAre("crm-interaction", "crm-interaction", "rep-a", "rep-a", "rep-a"));
  h.set_page_token("x");
  EXPECT_EQ(Call(&ChurnApp::GetChurnCaseHistory, rep, h).status().code(),
            absl::StatusCode::kInvalidArgument);

  // The rows are exactly what a rebuild from the log gives.
  Open();
  command::AggregateProjector<ChurnCaseAggregate> projector(ChurnCases());
  ExpectRebuildReproducesTheRows(projector, ChurnCaseProjections());
}

TEST_F(ChurnAppTest, ListsFilterNewestFirstAndHoldOnlyTheCallersCases) {
  Registered("c1", "rep-a", "north");
  Registered("c2", "rep-a", "north");
  Registered("c3", "rep-b", "south");
  ASSERT_EQ(Signal("c1", Raised("c1")), 1);
  const std::string k1 = OpenCase("c1");
  clock_.Set(Nov(3));
  ASSERT_EQ(Signal("c2", Raised("c2")), 1);
  const std::string k2 = OpenCase("c2");
  clock_.Set(Nov(4));
  ASSERT_EQ(Signal("c3", Raised("c3")), 1);
  const std::string k3 = OpenCase("c3");
  clock_.Set(Nov(5));
  ASSERT_TRUE(Confirm(root_, k1, v1::CHURN_LOSS_REASON_PRICE).ok());
  ASSERT_EQ(Signal("c1", Raised("c1")), 1);
  const std::string k4 = OpenCase("c1");
  // A second warning on k2 does not move it in the lists.
  ASSERT_EQ(Signal("c2", Raised("c2")), 1);

  const Principal rep_a{"rep-a", {Role::kSalesRep}, "north"};
  const Principal rep_b{"rep-b", {Role::kSalesRep}, "south"};
  const Principal south{"mia", {Role::kRegionalManager}, "south"};
  v1::ListChurnCasesRequest all;
  EXPECT_THAT(ListAll(root_, all), ElementsAre(k4, k3, k2, k1));
  EXPECT_THAT(ListAll(rep_a, all), ElementsAre(k4, k2, k1));
  EXPECT_THAT(ListAll(rep_b, all), ElementsAre(k3));
  EXPECT_THAT(ListAll(south, all), ElementsAre(k3));
  v1::ListChurnCasesRequest by_customer;
  by_customer.set_customer_id("c1");
  EXPECT_THAT(ListAll(rep_a, by_customer), ElementsAre(k4, k1));
  EXPECT_EQ(Call(&ChurnApp::ListChurnCases, rep_b, by_customer).status(),
            absl::NotFoundError("customer c1 not found"));
  v1::ListChurnCasesRequest by_owner;
  by_owner.set_owner("rep-a");
  EXPECT_THAT(ListAll(root_, by_owner), ElementsAre(k4, k2, k1));
  EXPECT_TRUE(ListAll(rep_b, by_owner).empty());
  v1::ListChurnCasesRequest by_region;
  by_region.set_region("south");
  EXPECT_THAT(ListAll(root_, by_region), ElementsAre(k3));
  v1::ListChurnCasesRequest open = all;
  open.set_status(v1::CHURN_CASE_STATUS_OPEN);
  EXPECT_THAT(ListAll(rep_a, open), ElementsAre(k4, k2));
  open.set_status(v1::CHURN_CASE_STATUS_LOST);
  EXPECT_THAT(ListAll(rep_a, open), ElementsAre(k1));
  by_owner.set_region("south");  // both filters apply
  EXPECT_TRUE(ListAll(root_, by_owner).empty());
  // Paged: two at a time.
  v1::ListChurnCasesRequest paged;
  paged.set_page_size(2);
  auto page = Call(&ChurnApp::ListChurnCases, root_, paged);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->cases_size(), 2);
  EXPECT_FALSE(page->next_page_token().empty());
  // Lists carry the first warning only, and no measures or classes.
  auto listed = Call(&ChurnApp::ListChurnCases, root_, by_customer);
  ASSERT_TRUE(listed.ok());
  for (const auto& c : listed->cases()) {
    EXPECT_LE(c.warnings_size(), 1);
    EXPECT_EQ(c.measures_size(), 0);
  }
  v1::ListChurnCasesRequest of_k2;
  of_k2.set_customer_id("c2");
  auto k2_listed = Call(&ChurnApp::ListChurnCases, root_, of_k2);
  ASSERT_TRUE(k2_listed.ok());
  ASSERT_EQ(k2_listed->cases_size(), 1);
  EXPECT_EQ(k2_listed->cases(0).warning_count(), 2);
  EXPECT_EQ(k2_listed->cases(0).warnings_size(), 1);
  // Invalid filters name the field.
  v1::ListChurnCasesRequest bad;
  bad.set_status(static_cast<v1::ChurnCaseStatus>(9));
  EXPECT_EQ(Call(&ChurnApp::ListChurnCases, root_, bad).status().message(),
            "status: unknown value 9");
  bad.clear_status();
  bad.set_owner(std::string("a\nb"));
  EXPECT_EQ(Call(&ChurnApp::ListChurnCases, root_, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad.clear_owner();
  bad.set_page_size(-1);
  EXPECT_EQ(Call(&ChurnApp::ListChurnCases, root_, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- The churn report ---------------------------------------------------------------

// Four customers: c1 (rep-a, north, ABCD A), c2 (rep-a, north, B), c3 (rep-b,
// south, A), c4 (rep-b, south, unclassified).
//   Nov 2: warnings open K1..K4.
//   Nov 5: K1 lost (PRICE), K2 retained by hand.
//   Nov 10: K3 lost (COMPETITOR); c4's risk cleared retains K4.
//   Nov 12: a new warning for c1 opens K5, postponed to Nov 14.
//   Nov 16: c1 won back (K1).
//   Now: Nov 20.
TEST_F(ChurnAppTest, TheChurnReportMatchesAHandComputedScenarioNowAndAsOfAPastDate) {
  Registered("c1", "rep-a", "north");
  Registered("c2", "rep-a", "north");
  Registered("c3", "rep-b", "south");
  Registered("c4", "rep-b", "south");
  Classified("c1", classification::v1::SCHEME_ABCD, "A");
  Classified("c2", classification::v1::SCHEME_ABCD, "B");
  Classified("c3", classification::v1::SCHEME_ABCD, "A");
  Classified("c3", classification::v1::SCHEME_TIER, "key");
  for (const char* c : {"c1", "c2", "c3", "c4"}) ASSERT_EQ(Signal(c, Raised(c)), 1);
  const std::string k1 = OpenCase("c1"), k2 = OpenCase("c2"), k3 = OpenCase("c3"),
                    k4 = OpenCase("c4");
  clock_.Set(Nov(5));
  ASSERT_TRUE(Confirm(root_, k1, v1::CHURN_LOSS_REASON_PRICE).ok());
  ASSERT_TRUE(Retain(root_, k2).ok());
  clock_.Set(Nov(10));
  ASSERT_TRUE(Confirm(root_, k3, v1::CHURN_LOSS_REASON_COMPETITOR).ok());
  ASSERT_EQ(Signal("c4", Cleared("c4")), 1);
  clock_.Set(Nov(12));
  ASSERT_EQ(Signal("c1", Raised("c1")), 1);
  const std::string k5 = OpenCase("c1");
  ASSERT_TRUE(Postpone(root_, k5, "2026-11-14").ok());
  clock_.Set(Nov(16));
  ASSERT_EQ(Signal("c1", Lifecycle("c1", customer::v1::LIFECYCLE_CHURNED,
                                   customer::v1::LIFECYCLE_FOLLOWING)),
            1);
  EXPECT_TRUE(Get(k1).has_win_back());
  clock_.Set(Nov(20));

  // November: opened K1..K5 (5); retained K2, K4; lost K1, K3: 50%. Open K5,
  // overdue (Nov 14 < Nov 20). Classes: "" = K4 (o, r); A = K1 (o, l), K3 (o, l),
  // K5 (o); B = K2 (o, r). rep-a / north = K1 K2 K5; rep-b / south = K3 K4.
  // Won back: K1.
  const char* const kNow = R"pb(
    as_of { seconds: 1795165200 }
    period_from: "2026-11-01"
    period_to: "2026-11-30"
    total { opened: 5 retained: 2 lost: 2 retention_rate_percent: 50 }
    open_now: 1
    overdue_now: 1
    by_reason { key: "PRICE" lost: 1 }
    by_reason { key: "COMPETITOR" lost: 1 }
    by_class { key: "" opened: 1 retained: 1 retention_rate_percent: 100 }
    by_class { key: "A" opened: 3 lost: 2 }
    by_class { key: "B" opened: 1 retained: 1 retention_rate_percent: 100 }
    by_owner { key: "rep-a" opened: 3 retained: 1 lost: 1 retention_rate_percent: 50 }
    by_owner { key: "rep-b" opened: 2 retained: 1 lost: 1 retention_rate_percent: 50 }
    by_region { key: "north" opened: 3 retained: 1 lost: 1 retention_rate_percent: 50 }
    by_region { key: "south" opened: 2 retained: 1 lost: 1 retention_rate_percent: 50 }
    won_back: 1
  )pb";
  EXPECT_THAT(Report(root_), EqualsProto(TextProto<v1::ChurnReport>(kNow)));
  // After a restart, the same.
  Open();
  EXPECT_THAT(Report(root_), EqualsProto(TextProto<v1::ChurnReport>(kNow)));

  // As of Nov 8 00:00: K1 lost (not yet won back), K2 retained, K3 and K4 open,
  // K5 not opened. Opened 4; retained 1; lost 1: 50%.
  EXPECT_THAT(Report(root_, Nov(8, 0)), EqualsProto(TextProto<v1::ChurnReport>(R"pb(
    as_of { seconds: 1794096000 }
    period_from: "2026-11-01"
    period_to: "2026-11-30"
    total { opened: 4 retained: 1 lost: 1 retention_rate_percent: 50 }
    open_now: 2
    by_reason { key: "PRICE" lost: 1 }
    by_class { key: "" opened: 1 }
    by_class { key: "A" opened: 2 lost: 1 }
    by_class { key: "B" opened: 1 retained: 1 retention_rate_percent: 100 }
    by_owner { key: "rep-a" opened: 2 retained: 1 lost: 1 retention_rate_percent: 50 }
    by_owner { key: "rep-b" opened: 2 }
    by_region { key: "north" opened: 2 retained: 1 lost: 1 retention_rate_percent: 50 }
    by_region { key: "south" opened: 2 }
  )pb")));

  // Another scheme: only c3 has a tier.
  v1::GetChurnReportRequest tier;
  tier.set_scheme(classification::v1::SCHEME_TIER);
  auto by_tier = Call(&ChurnApp::GetChurnReport, root_, tier);
  ASSERT_TRUE(by_tier.ok());
  EXPECT_THAT(by_tier->report().by_class(),
              ElementsAre(EqualsProto(TextProto<v1::ChurnGroup>(
                              R"pb(key: "" opened: 4 retained: 2 lost: 1
                                   retention_rate_percent: 66.67)pb")),
                          EqualsProto(TextProto<v1::ChurnGroup>(R"pb(key: "key" opened: 1 lost: 1)pb"))));
  // Filters and periods.
  v1::GetChurnReportRequest south;
  south.set_region("south");
  auto s = Call(&ChurnApp::GetChurnReport, root_, south);
  ASSERT_TRUE(s.ok());
  EXPECT_THAT(s->report().total(), EqualsProto(TextProto<v1::ChurnGroup>(
                                       R"pb(opened: 2 retained: 1 lost: 1
                                            retention_rate_percent: 50)pb")));
  v1::GetChurnReportRequest early;
  early.set_period_from("2026-11-06");
  early.set_period_to("2026-11-30");
  auto e = Call(&ChurnApp::GetChurnReport, root_, early);
  ASSERT_TRUE(e.ok());
  EXPECT_THAT(e->report().total(), EqualsProto(TextProto<v1::ChurnGroup>(
                                       R"pb(opened: 1 retained: 1 lost: 1
                                            retention_rate_percent: 50)pb")));
  EXPECT_EQ(e->report().won_back(), 0);  // K1 was lost before the period
  // Scoped: rep-a sees c1 and c2; the south manager c3 and c4.
  const v1::ChurnReport a = Report({"rep-a", {Role::kSalesRep}, "north"});
  EXPECT_EQ(a.total().opened(), 3);
  EXPECT_EQ(a.won_back(), 1);
  EXPECT_EQ(a.open_now(), 1);
  const v1::ChurnReport m = Report({"mia", {Role::kRegionalManager}, "south"});
  EXPECT_EQ(m.total().opened(), 2);
  EXPECT_EQ(m.open_now(), 0);
  ASSERT_EQ(m.by_region_size(), 1);
  EXPECT_EQ(m.by_region(0).key(), "south");
  // Invalid input names the field.
  v1::GetChurnReportRequest future;
  *future.mutable_as_of() = ToProtoTimestamp(Nov(21));
  EXPECT_EQ(Call(&ChurnApp::GetChurnReport, root_, future).status().message(),
            "as_of: must not be in the future");
  early.set_period_to("2026-11-01");
  EXPECT_EQ(Call(&ChurnApp::GetChurnReport, root_, early).status().message(),
            "period_to: must not be before period_from");
  v1::GetChurnReportRequest scheme;
  scheme.set_scheme(static_cast<classification::v1::Scheme>(17));
  EXPECT_EQ(Call(&ChurnApp::GetChurnReport, root_, scheme).status().message(),
            "scheme: unknown value 17");
}

// --- Authorization -------------------------------------------------------------------

// Every RPC × every role × own / same region / other region / granted / expired
// grant: allowed, or the exact denial; lists and the report hold exactly the
// visible cases.
TEST_F(ChurnAppTest, AuthorizationMatrix) {
  enum Relation { kOwn, kSameRegion, kOtherRegion, kGranted, kExpired, kRelations };
  struct RoleCase {
    std::string role;
    bool visible[kRelations];
  };
  const std::vector<RoleCase> roles = {
      {"sales_rep", {true, false, false, true, false}},
      {"service_agent", {true, false, false, true, false}},
      {"regional_manager", {true, true, false, true, false}},
      {"executive", {true, true, true, true, true}},
      {"admin", {true, true, true, true, true}},
      {"service", {true, true, true, true, true}},
      {"", {false, false, false, true, false}},
  };
  int round = 0;
  for (const RoleCase& rc : roles) {
    SCOPED_TRACE("role " + (rc.role.empty() ? std::string("(none)") : rc.role));
    // Each role on a store of its own, so lists and reports can be counted exactly.
    Open(absl::StrCat("db-", ++round));
    const std::string me = "user-" + (rc.role.empty() ? std::string("none") : rc.role);
    Principal caller{me, {}, "north"};
    if (auto r = auth::ParseRole(rc.role)) caller.roles.insert(*r);
    const char* owners[] = {me.c_str(), "other", "other", "other", "other"};
    const char* regions[] = {"north", "north", "south", "south", "south"};
    std::string customers[kRelations], retained[kRelations], lost[kRelations];
    for (int r = 0; r < kRelations; ++r) {
      customers[r] = absl::StrCat(me, "-c", r);
      Registered(customers[r], owners[r], regions[r]);
      if (r == kGranted || r == kExpired) {
        Granted(customers[r], me,
                clock_.Now() + (r == kGranted ? absl::Hours(24) : -absl::Hours(1)));
      }
      ASSERT_EQ(Signal(customers[r], Raised(customers[r])), 1);
      retained[r] = OpenCase(customers[r]);
    }
    auto code = [](const auto& result) { return result.status().code(); };
    for (int r = 0; r < kRelations; ++r) {
      SCOPED_TRACE(absl::StrCat("relation ", r));
      // A case or customer the caller may not see: NOT_FOUND, as if absent.
      const absl::StatusCode want =
          rc.visible[r] ? absl::StatusCode::kOk : absl::StatusCode::kNotFound;
      v1::RecordRetentionMeasureRequest measure;
      measure.set_case_id(retained[r]);
      measure.mutable_measure()->set_action("Visited");
      EXPECT_EQ(code(Call(&ChurnApp::RecordRetentionMeasure, caller, measure)), want);
      v1::PostponeChurnRequest postpone;
      postpone.set_case_id(retained[r]);
      postpone.set_review_date("2026-11-20");
      EXPECT_EQ(code(Call(&ChurnApp::PostponeChurn, caller, postpone)), want);
      v1::GetChurnCaseRequest get;
      get.set_case_id(retained[r]);
      EXPECT_EQ(code(Call(&ChurnApp::GetChurnCase, caller, get)), want);
      *get.mutable_as_of() = ToProtoTimestamp(clock_.Now());
      EXPECT_EQ(code(Call(&ChurnApp::GetChurnCase, caller, get)), want);
      v1::GetChurnCaseHistoryRequest history;
      history.set_case_id(retained[r]);
      EXPECT_EQ(code(Call(&ChurnApp::GetChurnCaseHistory, caller, history)), want);
      v1::ListChurnCasesRequest by_customer;
      by_customer.set_customer_id(customers[r]);
      EXPECT_EQ(code(Call(&ChurnApp::ListChurnCases, caller, by_customer)), want);
      // Retained by the caller (or, when it may not, by root); then a new warning
      // opens the case the caller confirms lost.
      const absl::Status kept = Retain(caller, retained[r]);
      EXPECT_EQ(kept.code(), want) << kept;
      if (!kept.ok()) {
        ASSERT_TRUE(Retain(root_, retained[r]).ok());
      }
      ASSERT_EQ(Signal(customers[r], Raised(customers[r])), 1);
      lost[r] = OpenCase(customers[r]);
      ASSERT_NE(lost[r], retained[r]);
      const absl::Status confirmed = Confirm(caller, lost[r], v1::CHURN_LOSS_REASON_RELOCATED);
      EXPECT_EQ(confirmed.code(), want) << confirmed;
      if (!confirmed.ok()) {
        ASSERT_TRUE(Confirm(root_, lost[r], v1::CHURN_LOSS_REASON_RELOCATED).ok());
      }
      // On a closed case: the access check first, then the status.
      EXPECT_EQ(Confirm(caller, retained[r], v1::CHURN_LOSS_REASON_PRICE).code(),
                rc.visible[r] ? absl::StatusCode::kFailedPrecondition : want);
    }
    // Unknown cases are NOT_FOUND for everyone.
    v1::GetChurnCaseRequest unknown;
    unknown.set_case_id("no-such-case");
    EXPECT_EQ(code(Call(&ChurnApp::GetChurnCase, caller, unknown)), absl::StatusCode::kNotFound);
    EXPECT_EQ(Retain(caller, "no-such-case").code(), absl::StatusCode::kNotFound);

    // Lists and the report hold exactly the visible customers' cases.
    std::set<std::string> expected;
    int visible = 0;
    for (int r = 0; r < kRelations; ++r) {
      if (!rc.visible[r]) continue;
      expected.insert(retained[r]);
      expected.insert(lost[r]);
      ++visible;
    }
    v1::ListChurnCasesRequest all;
    all.set_page_size(3);
    const std::vector<std::string> listed = ListAll(caller, all);
    EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), expected);
    EXPECT_EQ(listed.size(), expected.size());
    v1::ListChurnCasesRequest by_owner;
    by_owner.set_owner("other");
    const std::vector<std::string> others = ListAll(caller, by_owner);
    EXPECT_EQ(static_cast<int>(others.size()), 2 * (visible - (rc.visible[kOwn] ? 1 : 0)));
    const v1::ChurnReport report = Report(caller);
    EXPECT_EQ(report.total().opened(), 2 * visible);
    EXPECT_EQ(report.total().retained(), visible);
    EXPECT_EQ(report.total().lost(), visible);
    EXPECT_EQ(report.open_now(), 0);
    int reasons = 0;
    for (const auto& g : report.by_reason()) reasons += g.lost();
    EXPECT_EQ(reasons, visible);
  }
}

}  // namespace
}  // namespace crm::interaction
