// The interaction service's behaviour on a real store with a fake clock: customers
// arrive through the directory consumer, revisits follow the class cadence, overdue
// revisits are reported exactly once, access follows the customer.
#include "crm/interaction/api/interaction_logic.h"

#include "absl/strings/str_cat.h"
#include "common/testing/fake_clock.h"
#include "common/testing/temp_dir.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/interaction/consumer/directory_handler.h"
#include "crm/interaction/projection/interaction_projection.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/messaging/cloudevents.h"
#include "gtest/gtest.h"

namespace crm::interaction {
namespace {

using auth::Principal;
using auth::Role;

// Reads the store as the runner's batch view would (single-event batches).
class StoreView final : public messaging::BatchView {
 public:
  explicit StoreView(eventstore::EventStore& store) : store_(store) {}
  absl::StatusOr<std::optional<std::string>> Get(std::string_view projection,
                                                 std::string_view key) const override {
    return store_.GetProjection(projection, key);
  }

 private:
  eventstore::EventStore& store_;
};

class FakeLookup final : public CustomerLookup {
 public:
  absl::StatusOr<std::optional<CustomerInfo>> Lookup(const std::string& id) override {
    if (id == "fresh") return CustomerInfo{"fresh", "alice", "north"};
    return std::nullopt;
  }
};

class InteractionLogicTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = eventstore::OpenEventStore({.path = dir_.path() + "/db", .clock = &clock_});
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    logic_ = std::make_unique<InteractionLogic>(
        InteractionLogicOptions{.store = store_.get(), .clock = &clock_, .customers = &lookup_});
  }

  // Feeds one event through the directory consumer, as the runner would.
  void Consume(std::string_view topic, const std::string& payload, uint64_t position) {
    messaging::ConsumedEvent e;
    e.topic = std::string(topic);
    e.event.set_payload(payload);
    e.event.set_global_position(position);
    std::vector<eventstore::ProjectionWrite> writes;
    DirectoryHandler handler;
    ASSERT_TRUE(handler.Handle(e, StoreView(*store_), writes).ok());
    if (!writes.empty()) {
      ASSERT_TRUE(store_->WriteProjections(writes).ok());
    }
  }

  void Registered(const std::string& id, const std::string& owner, const std::string& region) {
    customer::v1::CustomerEvent e;
    e.set_customer_id(id);
    e.mutable_registered()->set_owner(owner);
    e.mutable_registered()->set_region(region);
    Consume(messaging::kCustomerTopic, e.SerializeAsString(), ++position_);
  }

  void Classified(const std::string& id, classification::v1::Scheme scheme, const std::string& cls) {
    classification::v1::ClassificationEvent e;
    e.set_customer_id(id);
    e.mutable_classified()->set_scheme(scheme);
    e.mutable_classified()->set_new_class(cls);
    Consume(messaging::kClassificationTopic, e.SerializeAsString(), ++position_);
  }

  std::vector<v1::Interaction> OpenRevisits(const std::string& customer) {
    auto open = LoadOpenRevisits(*store_, customer);
    EXPECT_TRUE(open.ok());
    return open.ok() ? *open : std::vector<v1::Interaction>();
  }

  int CountEvents(const std::string& type) {
    int n = 0;
    auto all = store_->ReadAll(1, SIZE_MAX);
    for (const auto& e : *all) n += e.event_type() == type;
    return n;
  }

  crm::testing::TempDir dir_;
  crm::testing::FakeClock clock_{absl::FromUnixSeconds(1790000000)};
  FakeLookup lookup_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<InteractionLogic> logic_;
  uint64_t position_ = 0;
  const Principal alice_{"alice", {Role::kSalesRep}, "north"};
  const Principal bob_{"bob", {Role::kSalesRep}, "north"};
  const Principal manager_{"mia", {Role::kRegionalManager}, "north"};
};

TEST_F(InteractionLogicTest, RevisitsFollowTheClassCadenceAndOverdueIsReportedOnce) {
  Registered("c1", "alice", "north");
  ASSERT_EQ(*logic_->PlanRevisits(), 1);
  auto open = OpenRevisits("c1");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].revisit().cadence_days(), 365);  // not classified yet: the default
  const std::string first = open[0].interaction_id();

  // Class A: re-planned quarterly; the old revisit is replaced.
  Classified("c1", classification::v1::SCHEME_ABCD, "A");
  ASSERT_EQ(*logic_->PlanRevisits(), 1);
  open = OpenRevisits("c1");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].revisit().cadence_class(), "A");
  EXPECT_EQ(open[0].revisit().cadence_days(), 91);
  EXPECT_EQ(FromProtoTimestamp(open[0].revisit().due_at()), clock_.Now() + absl::Hours(24 * 91));
  auto old = logic_->GetInteraction(alice_, [&] {
    v1::GetInteractionRequest r;
    r.set_interaction_id(first);
    return r;
  }());
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->interaction().revisit().status(), v1::REVISIT_STATUS_REPLANNED);
  EXPECT_EQ(old->interaction().revisit().replaced_by(), open[0].interaction_id());
  EXPECT_EQ(*logic_->PlanRevisits(), 0);  // nothing queued: nothing done

  // A "key" tier follows A too: same cadence, nothing re-planned.
  Classified("c1", classification::v1::SCHEME_TIER, "key");
  ASSERT_EQ(*logic_->PlanRevisits(), 1);
  EXPECT_EQ(OpenRevisits("c1")[0].interaction_id(), open[0].interaction_id());

  // Due within 100 days: listed; not overdue yet.
  v1::ListDueRevisitsRequest due;
  due.set_within_days(100);
  auto listed = logic_->ListDueRevisits(alice_, due);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->revisits_size(), 1);
  EXPECT_EQ(*logic_->ReportOverdue(), 0);

  // The clock passes the due date: exactly one RevisitOverdue, however often we scan.
  clock_.Advance(absl::Hours(24 * 92));
  EXPECT_EQ(*logic_->ReportOverdue(), 1);
  EXPECT_EQ(*logic_->ReportOverdue(), 0);
  EXPECT_EQ(CountEvents("crm.interaction.v1.RevisitOverdue"), 1);
  due.set_within_days(0);
  EXPECT_EQ(logic_->ListDueRevisits(alice_, due)->revisits_size(), 1);

  // Done: the next one is planned a quarter after completion.
  v1::RecordRevisitRequest done;
  done.set_interaction_id(open[0].interaction_id());
  done.mutable_record()->set_progress("phase 2 live");
  done.mutable_record()->set_satisfaction(4);
  ASSERT_TRUE(logic_->RecordRevisit(alice_, done).ok());
  ASSERT_EQ(*logic_->PlanRevisits(), 1);
  open = OpenRevisits("c1");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_NE(open[0].interaction_id(), done.interaction_id());
  EXPECT_EQ(FromProtoTimestamp(open[0].revisit().due_at()), clock_.Now() + absl::Hours(24 * 91));
}

TEST_F(InteractionLogicTest, VisitLifecycleAndTimeline) {
  Registered("c1", "alice", "north");
  v1::PlanVisitRequest plan;
  plan.set_customer_id("c1");
  plan.mutable_plan()->set_purpose("Present the new offer");
  *plan.mutable_plan()->mutable_scheduled_at() = ToProtoTimestamp(clock_.Now() + absl::Hours(48));
  plan.mutable_plan()->add_visitors("alice");
  auto planned = logic_->PlanVisit(alice_, plan);
  ASSERT_TRUE(planned.ok()) << planned.status();

  v1::CancelVisitRequest cancel;
  cancel.set_interaction_id(planned->interaction_id());
  cancel.set_reason("customer asked to postpone");
  ASSERT_TRUE(logic_->CancelVisit(alice_, cancel).ok());
  v1::RecordVisitRequest record;
  record.set_interaction_id(planned->interaction_id());
  record.mutable_record()->set_summary("went well");
  auto refused = logic_->RecordVisit(alice_, record);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();

  v1::LogFollowUpRequest follow;
  follow.set_customer_id("c1");
  follow.mutable_follow_up()->set_channel(v1::CHANNEL_PHONE);
  follow.mutable_follow_up()->set_content("Called about the quote");
  ASSERT_TRUE(logic_->LogFollowUp(alice_, follow).ok());
  v1::RecordSatisfactionRequest survey;
  survey.set_customer_id("c1");
  survey.mutable_survey()->set_score(6);
  EXPECT_EQ(logic_->RecordSatisfaction(alice_, survey).status().code(),
            absl::StatusCode::kInvalidArgument);
  survey.mutable_survey()->set_score(5);
  ASSERT_TRUE(logic_->RecordSatisfaction(alice_, survey).ok());

  v1::GetTimelineRequest timeline;
  timeline.set_customer_id("c1");
  auto t = logic_->GetTimeline(alice_, timeline);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->interactions_size(), 3);
  // Oldest first by the time each is placed at: follow-up and survey now, visit in 2 days.
  EXPECT_EQ(t->interactions(2).type(), v1::INTERACTION_TYPE_VISIT);

  v1::ListInteractionsRequest list;
  list.set_customer_id("c1");
  list.set_type(v1::INTERACTION_TYPE_FOLLOW_UP);
  EXPECT_EQ(logic_->ListInteractions(alice_, list)->interactions_size(), 1);
}

TEST_F(InteractionLogicTest, AccessFollowsTheCustomer) {
  Registered("c1", "alice", "north");
  v1::LogFollowUpRequest follow;
  follow.set_customer_id("c1");
  follow.mutable_follow_up()->set_channel(v1::CHANNEL_EMAIL);
  follow.mutable_follow_up()->set_content("Sent the brochure");
  auto logged = logic_->LogFollowUp(alice_, follow);
  ASSERT_TRUE(logged.ok());

  EXPECT_EQ(logic_->LogFollowUp(bob_, follow).status().code(), absl::StatusCode::kPermissionDenied);
  v1::GetInteractionRequest get;
  get.set_interaction_id(logged->interaction_id());
  EXPECT_EQ(logic_->GetInteraction(bob_, get).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(logic_->GetInteraction(manager_, get).ok());
  v1::ListInteractionsRequest all;
  EXPECT_EQ(logic_->ListInteractions(bob_, all)->interactions_size(), 0);
  EXPECT_EQ(logic_->ListInteractions(alice_, all)->interactions_size(), 1);

  // Ownership moves to bob: access moves with it.
  customer::v1::CustomerEvent moved;
  moved.set_customer_id("c1");
  moved.mutable_owner_assigned()->mutable_change()->set_to_owner("bob");
  moved.mutable_owner_assigned()->mutable_change()->set_to_region("north");
  Consume(messaging::kCustomerTopic, moved.SerializeAsString(), ++position_);
  EXPECT_TRUE(logic_->GetInteraction(bob_, get).ok());
  EXPECT_EQ(logic_->GetInteraction(alice_, get).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(InteractionLogicTest, CustomerNotYetConsumedIsAskedForAndUnknownIsNotFound) {
  v1::LogFollowUpRequest follow;
  follow.mutable_follow_up()->set_channel(v1::CHANNEL_SMS);
  follow.mutable_follow_up()->set_content("Reminder");
  follow.set_customer_id("fresh");  // known to the customer service only
  EXPECT_TRUE(logic_->LogFollowUp(alice_, follow).ok());
  follow.set_customer_id("nobody");
  EXPECT_EQ(logic_->LogFollowUp(alice_, follow).status().code(), absl::StatusCode::kNotFound);
  follow.set_customer_id("");
  EXPECT_EQ(logic_->LogFollowUp(alice_, follow).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(InteractionLogicTest, UpcomingBirthdaysFromContacts) {
  Registered("c1", "alice", "north");
  const absl::CivilDay today = absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone());
  const absl::CivilDay soon = today + 10, later = today + 100;
  for (const auto& [id, day] : std::vector<std::pair<std::string, absl::CivilDay>>{{"k1", soon}, {"k2", later}}) {
    customer::v1::CustomerEvent e;
    e.set_customer_id("c1");
    auto* contact = e.mutable_contact_added()->mutable_contact();
    contact->set_contact_id(id);
    contact->mutable_personal()->set_name("Contact " + id);
    char birthday[16];
    std::snprintf(birthday, sizeof(birthday), "1980-%02d-%02d", day.month(), day.day());
    contact->mutable_personal()->set_birthday(birthday);
    Consume(messaging::kCustomerTopic, e.SerializeAsString(), ++position_);
  }
  v1::ListUpcomingBirthdaysRequest req;
  req.set_within_days(30);
  auto r = logic_->ListUpcomingBirthdays(alice_, req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->birthdays_size(), 1);
  EXPECT_EQ(r->birthdays(0).contact_id(), "k1");
  EXPECT_EQ(logic_->ListUpcomingBirthdays(bob_, req)->birthdays_size(), 0);
}

}  // namespace
}  // namespace crm::interaction
