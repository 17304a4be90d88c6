// The interaction service's behaviour on a real store with a fake clock: customers
// arrive through the directory consumer, revisits follow the class cadence, overdue
// revisits are reported exactly once, access follows the customer.
#include "crm/interaction/app/interaction_app.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "command/testing/app_test.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/directory/customer_directory.h"
#include "crm/interaction/consumer/interaction_consumer.h"
#include "crm/interaction/projection/interaction_projection.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/messaging/cloudevents.h"
#include "gtest/gtest.h"
#include "messaging/testing/store_view.h"

namespace crm::interaction {
namespace {

using auth::Principal;
using auth::Role;

class FakeLookup final : public directory::CustomerLookup {
 public:
  absl::StatusOr<std::optional<directory::CustomerRef>> Lookup(const std::string& id) override {
    if (id == "fresh") return directory::CustomerRef{"fresh", "alice", "north"};
    return std::nullopt;
  }
};

class InteractionAppTest : public command::testing::AppTest<InteractionApp> {
 protected:
  InteractionAppTest() : AppTest(absl::FromUnixSeconds(1790000000)) {}
  absl::StatusOr<std::unique_ptr<InteractionApp>> MakeApp(command::Pipeline& pipeline) override {
    return std::make_unique<InteractionApp>(
        InteractionAppOptions{.pipeline = &pipeline, .customers = &lookup_});
  }

  // Feeds one event through the directory consumer, as the runner would (with the
  // service's own follow-up, as main.cc sets it up).
  void Consume(std::string_view topic, const std::string& payload, uint64_t position) {
    directory::DirectoryHandler handler({.on_change = QueueRevisitPlanning});
    ASSERT_TRUE(messaging::testing::HandleAndCommit(handler, *store_, topic, payload, position).ok());
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

  FakeLookup lookup_;
  uint64_t position_ = 0;
  const Principal alice_{"alice", {Role::kSalesRep}, "north"};
  const Principal bob_{"bob", {Role::kSalesRep}, "north"};
  const Principal manager_{"mia", {Role::kRegionalManager}, "north"};
};

TEST_F(InteractionAppTest, RevisitsFollowTheClassCadenceAndOverdueIsReportedOnce) {
  Registered("c1", "alice", "north");
  ASSERT_EQ(*app_->PlanRevisits(), 1);
  auto open = OpenRevisits("c1");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].revisit().cadence_days(), 365);  // not classified yet: the default
  const std::string first = open[0].interaction_id();

  // Class A: re-planned quarterly; the old revisit is replaced.
  Classified("c1", classification::v1::SCHEME_ABCD, "A");
  ASSERT_EQ(*app_->PlanRevisits(), 1);
  open = OpenRevisits("c1");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].revisit().cadence_class(), "A");
  EXPECT_EQ(open[0].revisit().cadence_days(), 91);
  EXPECT_EQ(FromProtoTimestamp(open[0].revisit().due_at()), clock_.Now() + absl::Hours(24 * 91));
  auto old = Call(&InteractionApp::GetInteraction, alice_, [&] {
    v1::GetInteractionRequest r;
    r.set_interaction_id(first);
    return r;
  }());
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->interaction().revisit().status(), v1::REVISIT_STATUS_REPLANNED);
  EXPECT_EQ(old->interaction().revisit().replaced_by(), open[0].interaction_id());
  EXPECT_EQ(*app_->PlanRevisits(), 0);  // nothing queued: nothing done

  // A "key" tier follows A too: same cadence, nothing re-planned.
  Classified("c1", classification::v1::SCHEME_TIER, "key");
  ASSERT_EQ(*app_->PlanRevisits(), 1);
  EXPECT_EQ(OpenRevisits("c1")[0].interaction_id(), open[0].interaction_id());

  // Due within 100 days: listed; not overdue yet.
  v1::ListDueRevisitsRequest due;
  due.set_within_days(100);
  auto listed = Call(&InteractionApp::ListDueRevisits, alice_, due);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->revisits_size(), 1);
  EXPECT_EQ(*app_->ReportOverdue(), 0);

  // The clock passes the due date: exactly one RevisitOverdue, however often we scan.
  clock_.Advance(absl::Hours(24 * 92));
  EXPECT_EQ(*app_->ReportOverdue(), 1);
  EXPECT_EQ(*app_->ReportOverdue(), 0);
  EXPECT_EQ(CountEvents("crm.interaction.v1.RevisitOverdue"), 1);
  due.set_within_days(0);
  EXPECT_EQ(Call(&InteractionApp::ListDueRevisits, alice_, due)->revisits_size(), 1);

  // Done: the next one is planned a quarter after completion.
  v1::RecordRevisitRequest done;
  done.set_interaction_id(open[0].interaction_id());
  done.mutable_record()->set_progress("phase 2 live");
  done.mutable_record()->set_satisfaction(4);
  ASSERT_TRUE(Call(&InteractionApp::RecordRevisit, alice_, done).ok());
  ASSERT_EQ(*app_->PlanRevisits(), 1);
  open = OpenRevisits("c1");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_NE(open[0].interaction_id(), done.interaction_id());
  EXPECT_EQ(FromProtoTimestamp(open[0].revisit().due_at()), clock_.Now() + absl::Hours(24 * 91));
}

TEST_F(InteractionAppTest, VisitLifecycleAndTimeline) {
  Registered("c1", "alice", "north");
  v1::PlanVisitRequest plan;
  plan.set_customer_id("c1");
  plan.mutable_plan()->set_purpose("Present the new offer");
  *plan.mutable_plan()->mutable_scheduled_at() = ToProtoTimestamp(clock_.Now() + absl::Hours(48));
  plan.mutable_plan()->add_visitors("alice");
  auto planned = Call(&InteractionApp::PlanVisit, alice_, plan);
  ASSERT_TRUE(planned.ok()) << planned.status();

  v1::CancelVisitRequest cancel;
  cancel.set_interaction_id(planned->interaction_id());
  cancel.set_reason("customer asked to postpone");
  ASSERT_TRUE(Call(&InteractionApp::CancelVisit, alice_, cancel).ok());
  v1::RecordVisitRequest record;
  record.set_interaction_id(planned->interaction_id());
  record.mutable_record()->set_summary("went well");
  auto refused = Call(&InteractionApp::RecordVisit, alice_, record);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();

  v1::LogFollowUpRequest follow;
  follow.set_customer_id("c1");
  follow.mutable_follow_up()->set_channel(v1::CHANNEL_PHONE);
  follow.mutable_follow_up()->set_content("Called about the quote");
  ASSERT_TRUE(Call(&InteractionApp::LogFollowUp, alice_, follow).ok());
  v1::RecordSatisfactionRequest survey;
  survey.set_customer_id("c1");
  survey.mutable_survey()->set_score(6);
  EXPECT_EQ(Call(&InteractionApp::RecordSatisfaction, alice_, survey).status().code(),
            absl::StatusCode::kInvalidArgument);
  survey.mutable_survey()->set_score(5);
  ASSERT_TRUE(Call(&InteractionApp::RecordSatisfaction, alice_, survey).ok());

  v1::GetTimelineRequest timeline;
  timeline.set_customer_id("c1");
  auto t = Call(&InteractionApp::GetTimeline, alice_, timeline);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->interactions_size(), 3);
  // Oldest first by the time each is placed at: follow-up and survey now, visit in 2 days.
  EXPECT_EQ(t->interactions(2).type(), v1::INTERACTION_TYPE_VISIT);

  v1::ListInteractionsRequest list;
  list.set_customer_id("c1");
  list.set_type(v1::INTERACTION_TYPE_FOLLOW_UP);
  EXPECT_EQ(Call(&InteractionApp::ListInteractions, alice_, list)->interactions_size(), 1);
}

TEST_F(InteractionAppTest, AccessFollowsTheCustomer) {
  Registered("c1", "alice", "north");
  v1::LogFollowUpRequest follow;
  follow.set_customer_id("c1");
  follow.mutable_follow_up()->set_channel(v1::CHANNEL_EMAIL);
  follow.mutable_follow_up()->set_content("Sent the brochure");
  auto logged = Call(&InteractionApp::LogFollowUp, alice_, follow);
  ASSERT_TRUE(logged.ok());

  // What bob may not see is answered like what does not exist.
  EXPECT_EQ(Call(&InteractionApp::LogFollowUp, bob_, follow).status(),
            absl::NotFoundError("customer c1 not found"));
  v1::GetInteractionRequest get;
  get.set_interaction_id(logged->interaction_id());
  EXPECT_EQ(Call(&InteractionApp::GetInteraction, bob_, get).status(),
            absl::NotFoundError("interaction " + logged->interaction_id() + " not found"));
  EXPECT_TRUE(Call(&InteractionApp::GetInteraction, manager_, get).ok());
  v1::ListInteractionsRequest all;
  EXPECT_EQ(Call(&InteractionApp::ListInteractions, bob_, all)->interactions_size(), 0);
  EXPECT_EQ(Call(&InteractionApp::ListInteractions, alice_, all)->interactions_size(), 1);

  // Ownership moves to bob: access moves with it.
  customer::v1::CustomerEvent moved;
  moved.set_customer_id("c1");
  moved.mutable_owner_assigned()->mutable_change()->set_to_owner("bob");
  moved.mutable_owner_assigned()->mutable_change()->set_to_region("north");
  Consume(messaging::kCustomerTopic, moved.SerializeAsString(), ++position_);
  EXPECT_TRUE(Call(&InteractionApp::GetInteraction, bob_, get).ok());
  EXPECT_EQ(Call(&InteractionApp::GetInteraction, alice_, get).status().code(), absl::StatusCode::kNotFound);
}

// A command id is the caller's own (and the RPC's): the same id from two callers
// gives two results; a replay, also after a restart, gets exactly the first
// answer, and only after the access check.
TEST_F(InteractionAppTest, CommandIdsAreScopedReplayedExactlyAndOnlyAfterTheAccessCheck) {
  Registered("c1", "alice", "north");
  Registered("c2", "bob", "north");
  auto follow_up = [](const std::string& customer, const std::string& content) {
    v1::LogFollowUpRequest r;
    r.set_customer_id(customer);
    r.mutable_follow_up()->set_channel(v1::CHANNEL_PHONE);
    r.mutable_follow_up()->set_content(content);
    r.mutable_options()->set_command_id("call-1");
    return r;
  };
  auto alices = Call(&InteractionApp::LogFollowUp, alice_, follow_up("c1", "Alice called"));
  auto bobs = Call(&InteractionApp::LogFollowUp, bob_, follow_up("c2", "Bob called"));
  ASSERT_TRUE(alices.ok() && bobs.ok()) << alices.status() << bobs.status();
  EXPECT_NE(alices->interaction_id(), bobs->interaction_id());

  Open();  // a restart
  auto replay = Call(&InteractionApp::LogFollowUp, alice_, follow_up("c1", "Alice called"));
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->SerializeAsString(), alices->SerializeAsString());
  EXPECT_EQ(CountEvents("crm.interaction.v1.FollowUpLogged"), 2);
  auto different = Call(&InteractionApp::LogFollowUp, alice_, follow_up("c1", "Something else"));
  EXPECT_EQ(different.status().code(), absl::StatusCode::kInvalidArgument);

  // Bob replays alice's id on alice's customer: refused, learning nothing.
  auto sneaky = Call(&InteractionApp::LogFollowUp, bob_, follow_up("c1", "Alice called"));
  EXPECT_EQ(sneaky.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(sneaky.status().message()).find(alices->interaction_id()), std::string::npos);
}

TEST_F(InteractionAppTest, CustomerNotYetConsumedIsAskedForAndUnknownIsNotFound) {
  v1::LogFollowUpRequest follow;
  follow.mutable_follow_up()->set_channel(v1::CHANNEL_SMS);
  follow.mutable_follow_up()->set_content("Reminder");
  follow.set_customer_id("fresh");  // known to the customer service only
  EXPECT_TRUE(Call(&InteractionApp::LogFollowUp, alice_, follow).ok());
  follow.set_customer_id("nobody");
  EXPECT_EQ(Call(&InteractionApp::LogFollowUp, alice_, follow).status().code(), absl::StatusCode::kNotFound);
  follow.set_customer_id("");
  EXPECT_EQ(Call(&InteractionApp::LogFollowUp, alice_, follow).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(InteractionAppTest, UpcomingBirthdaysFromContacts) {
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
  auto r = Call(&InteractionApp::ListUpcomingBirthdays, alice_, req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->birthdays_size(), 1);
  EXPECT_EQ(r->birthdays(0).contact_id(), "k1");
  EXPECT_EQ(Call(&InteractionApp::ListUpcomingBirthdays, bob_, req)->birthdays_size(), 0);
}

// Every RPC × every role × own / same region / other region / granted / expired
// grant: allowed, or the exact denial code; lists hold exactly what is visible.
TEST_F(InteractionAppTest, AuthorizationMatrix) {
  enum Relation { kOwn, kSameRegion, kOtherRegion, kGranted, kExpired, kRelations };
  struct RoleCase {
    std::string role;
    bool allowed[kRelations];
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
  const Principal root{"root", {Role::kAdmin}, ""};
  for (const RoleCase& rc : roles) {
    SCOPED_TRACE("role " + (rc.role.empty() ? std::string("(none)") : rc.role));
    const std::string me = "user-" + (rc.role.empty() ? std::string("none") : rc.role);
    Principal caller{me, {}, "north"};
    if (auto r = auth::ParseRole(rc.role)) caller.roles.insert(*r);
    std::string customers[kRelations], visits[kRelations], cares[kRelations];
    const char* owners[] = {me.c_str(), "other", "other", "other", "other"};
    const char* regions[] = {"north", "north", "south", "south", "south"};
    for (int r = 0; r < kRelations; ++r) {
      customers[r] = absl::StrCat(me, "-c", r);
      Registered(customers[r], owners[r], regions[r]);
      if (r == kGranted || r == kExpired) {
        customer::v1::CustomerEvent grant;
        grant.set_customer_id(customers[r]);
        grant.mutable_access_granted()->mutable_grant()->set_subject(me);
        *grant.mutable_access_granted()->mutable_grant()->mutable_expires_at() =
            ToProtoTimestamp(clock_.Now() + (r == kGranted ? absl::Hours(24) : -absl::Hours(1)));
        Consume(messaging::kCustomerTopic, grant.SerializeAsString(), ++position_);
      }
      v1::PlanVisitRequest plan;
      plan.set_customer_id(customers[r]);
      plan.mutable_plan()->set_purpose("Check-in");
      *plan.mutable_plan()->mutable_scheduled_at() = ToProtoTimestamp(clock_.Now() + absl::Hours(5));
      plan.mutable_plan()->add_visitors("root");
      auto visit = Call(&InteractionApp::PlanVisit, root, plan);
      ASSERT_TRUE(visit.ok()) << visit.status();
      visits[r] = visit->interaction_id();
      v1::PlanCareRequest care;
      care.set_customer_id(customers[r]);
      care.mutable_care()->set_kind(v1::CARE_KIND_HOLIDAY_GREETING);
      care.mutable_care()->set_title("New year");
      *care.mutable_care()->mutable_planned_for() = ToProtoTimestamp(clock_.Now() + absl::Hours(5));
      auto planned_care = Call(&InteractionApp::PlanCare, root, care);
      ASSERT_TRUE(planned_care.ok()) << planned_care.status();
      cares[r] = planned_care->interaction_id();
    }
    ASSERT_TRUE(app_->PlanRevisits().ok());

    for (int r = 0; r < kRelations; ++r) {
      SCOPED_TRACE(absl::StrCat("relation ", r));
      // A customer (or its interaction) the caller may not see: NOT_FOUND, as if absent.
      const absl::StatusCode want =
          rc.allowed[r] ? absl::StatusCode::kOk : absl::StatusCode::kNotFound;
      auto code = [](const auto& result) { return result.status().code(); };
      v1::LogFollowUpRequest follow;
      follow.set_customer_id(customers[r]);
      follow.mutable_follow_up()->set_channel(v1::CHANNEL_EMAIL);
      follow.mutable_follow_up()->set_content("Note");
      EXPECT_EQ(code(Call(&InteractionApp::LogFollowUp, caller, follow)), want);
      v1::PlanVisitRequest plan;
      plan.set_customer_id(customers[r]);
      plan.mutable_plan()->set_purpose("Visit");
      *plan.mutable_plan()->mutable_scheduled_at() = ToProtoTimestamp(clock_.Now() + absl::Hours(9));
      plan.mutable_plan()->add_visitors(me);
      EXPECT_EQ(code(Call(&InteractionApp::PlanVisit, caller, plan)), want);
      v1::PlanCareRequest care;
      care.set_customer_id(customers[r]);
      care.mutable_care()->set_kind(v1::CARE_KIND_SEMINAR);
      care.mutable_care()->set_title("Seminar");
      *care.mutable_care()->mutable_planned_for() = ToProtoTimestamp(clock_.Now() + absl::Hours(9));
      EXPECT_EQ(code(Call(&InteractionApp::PlanCare, caller, care)), want);
      v1::RecordSatisfactionRequest survey;
      survey.set_customer_id(customers[r]);
      survey.mutable_survey()->set_score(4);
      EXPECT_EQ(code(Call(&InteractionApp::RecordSatisfaction, caller, survey)), want);
      v1::RescheduleVisitRequest reschedule;
      reschedule.set_interaction_id(visits[r]);
      *reschedule.mutable_scheduled_at() = ToProtoTimestamp(clock_.Now() + absl::Hours(6));
      EXPECT_EQ(code(Call(&InteractionApp::RescheduleVisit, caller, reschedule)), want);
      v1::RecordVisitRequest record;
      record.set_interaction_id(visits[r]);
      record.mutable_record()->set_summary("Done");
      EXPECT_EQ(code(Call(&InteractionApp::RecordVisit, caller, record)), want);
      v1::CancelVisitRequest cancel;  // a completed visit cannot be cancelled: the
      cancel.set_interaction_id(visits[r]);  // access check comes first
      cancel.set_reason("no");
      EXPECT_EQ(code(Call(&InteractionApp::CancelVisit, caller, cancel)),
                rc.allowed[r] ? absl::StatusCode::kFailedPrecondition : want);
      v1::CompleteCareRequest complete;
      complete.set_interaction_id(cares[r]);
      EXPECT_EQ(code(Call(&InteractionApp::CompleteCare, caller, complete)), want);
      v1::EvaluateCareRequest evaluate;
      evaluate.set_interaction_id(cares[r]);
      evaluate.set_evaluation_score(5);
      EXPECT_EQ(code(Call(&InteractionApp::EvaluateCare, caller, evaluate)), want);
      auto open = OpenRevisits(customers[r]);
      ASSERT_EQ(open.size(), 1u);
      v1::RecordRevisitRequest revisit;
      revisit.set_interaction_id(open[0].interaction_id());
      revisit.mutable_record()->set_satisfaction(5);
      EXPECT_EQ(code(Call(&InteractionApp::RecordRevisit, caller, revisit)), want);
      v1::GetInteractionRequest get;
      get.set_interaction_id(visits[r]);
      EXPECT_EQ(code(Call(&InteractionApp::GetInteraction, caller, get)), want);
      v1::GetTimelineRequest timeline;
      timeline.set_customer_id(customers[r]);
      EXPECT_EQ(code(Call(&InteractionApp::GetTimeline, caller, timeline)), want);
      v1::ListInteractionsRequest by_customer;
      by_customer.set_customer_id(customers[r]);
      EXPECT_EQ(code(Call(&InteractionApp::ListInteractions, caller, by_customer)), want);
    }

    // Lists and due revisits hold exactly the visible customers' items.
    std::set<std::string> visible_customers;
    for (int r = 0; r < kRelations; ++r) {
      if (rc.allowed[r]) visible_customers.insert(customers[r]);
    }
    v1::ListInteractionsRequest all;
    all.set_page_size(500);
    auto listed = Call(&InteractionApp::ListInteractions, caller, all);
    ASSERT_TRUE(listed.ok());
    std::set<std::string> seen;
    for (const auto& i : listed->interactions()) {
      if (absl::StartsWith(i.customer_id(), me + "-c")) seen.insert(i.customer_id());
    }
    EXPECT_EQ(seen, visible_customers);
    v1::ListDueRevisitsRequest due;
    due.set_within_days(400);
    due.set_page_size(500);
    // Revisits the caller completed above get their successors planned first.
    ASSERT_TRUE(app_->PlanRevisits().ok());
    auto due_listed = Call(&InteractionApp::ListDueRevisits, caller, due);
    ASSERT_TRUE(due_listed.ok());
    std::set<std::string> due_seen;
    for (const auto& i : due_listed->revisits()) {
      if (absl::StartsWith(i.customer_id(), me + "-c")) due_seen.insert(i.customer_id());
    }
    EXPECT_EQ(due_seen, visible_customers);
  }
  // Every row the matrix wrote comes back from the log alone (--rebuild_projections).
  ExpectRebuildReproducesTheRows(*NewRebuildProjector(), RebuildTargets());
}

}  // namespace
}  // namespace crm::interaction
