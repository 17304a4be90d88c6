// libs/directory on a real store: the handler's rows and change notices for every
// kept customer event and for classification events, LoadClasses and
// LoadDirectoryEntry, VisibleIn and VisibleCustomer (directory, lookup fallback,
// errors), the gRPC lookup against an in-process fake crm-customer, and
// ServiceToken.
#include "crm/directory/customer_directory.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/access.h"
#include "crm/auth/grpc_auth.h"
#include "crm/auth/jwt.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/domain/not_found.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/dead_letters.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "messaging/testing/store_view.h"

namespace crm::directory {
namespace {

using auth::Principal;
using auth::Role;
namespace cv1 = ::crm::customer::v1;

const absl::Time kNow = absl::FromUnixSeconds(1790000000);

class FakeLookup final : public CustomerLookup {
 public:
  absl::StatusOr<std::optional<CustomerRef>> Lookup(const std::string& id) override {
    ++calls;
    if (id == "fresh") return CustomerRef{"fresh", "alice", "north"};
    if (id == "down") return absl::UnavailableError("customer service lookup of down: refused");
    return std::nullopt;
  }
  int calls = 0;
};

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = eventstore::OpenEventStore({.path = dir_.path() + "/db"});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  // Feeds one event through a handler recording its change notices (each also
  // queues a marker row, as a service's on_change would), and commits the writes.
  std::vector<eventstore::ProjectionWrite> Consume(std::string_view topic,
                                                   const std::string& payload) {
    messaging::ConsumedEvent e;
    e.topic = std::string(topic);
    e.event.set_payload(payload);
    e.event.set_global_position(++position_);
    e.event.set_event_id(absl::StrCat("event-", position_));
    std::vector<eventstore::ProjectionWrite> writes;
    DirectoryHandler handler({.on_change = [this](const DirectoryChange& c, auto& out) {
      changes_.push_back(c);
      out.push_back(eventstore::ProjectionWrite::Put(
          "queue", absl::StrCat(c.customer_id, "/", c.event), ""));
    }});
    absl::Status s = handler.Handle(e, messaging::testing::StoreView(*store_), writes);
    EXPECT_TRUE(s.ok()) << s;
    if (!writes.empty()) {
      EXPECT_TRUE(store_->WriteProjections(writes).ok());
    }
    return writes;
  }

  std::vector<eventstore::ProjectionWrite> Customer(
      const std::string& id, const std::function<void(cv1::CustomerEvent&)>& fill) {
    cv1::CustomerEvent e;
    e.set_customer_id(id);
    fill(e);
    return Consume(messaging::kCustomerTopic, e.SerializeAsString());
  }

  void Registered(const std::string& id, const std::string& owner, const std::string& region) {
    Customer(id, [&](cv1::CustomerEvent& e) {
      e.mutable_registered()->set_owner(owner);
      e.mutable_registered()->set_region(region);
    });
  }

  void Granted(const std::string& id, const std::string& subject, absl::Time expires_at,
               const std::string& reason = "") {
    Customer(id, [&](cv1::CustomerEvent& e) {
      auto* g = e.mutable_access_granted()->mutable_grant();
      g->set_subject(subject);
      *g->mutable_expires_at() = ToProtoTimestamp(expires_at);
      g->set_reason(reason);
    });
  }

  std::vector<eventstore::ProjectionWrite> Classified(const std::string& id,
                                                      classification::v1::Scheme scheme,
                                                      const std::string& cls) {
    classification::v1::ClassificationEvent e;
    e.set_customer_id(id);
    e.mutable_classified()->set_scheme(scheme);
    e.mutable_classified()->set_new_class(cls);
    return Consume(messaging::kClassificationTopic, e.SerializeAsString());
  }

  cv1::Customer Entry(const std::string& id) {
    auto entry = LoadDirectoryEntry(*store_, id);
    EXPECT_TRUE(entry.ok()) << entry.status();
    EXPECT_TRUE(entry.ok() && entry->has_value()) << id;
    return entry.ok() && entry->has_value() ? **entry : cv1::Customer();
  }

  static cv1::Contact MakeContact(const std::string& id, const std::string& name,
                                  const std::string& birthday) {
    cv1::Contact c;
    c.set_contact_id(id);
    c.set_title("buyer");
    c.set_decision_maker(true);
    c.mutable_personal()->set_name(name);
    c.mutable_personal()->set_birthday(birthday);
    c.mutable_personal()->set_phone("+1 555 0100");
    return c;
  }

  crm::testing::TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  uint64_t position_ = 0;
  std::vector<DirectoryChange> changes_;
  const Principal alice_{"alice", {Role::kSalesRep}, "north"};
  const Principal bob_{"bob", {Role::kSalesRep}, "north"};
  const Principal manager_{"mia", {Role::kRegionalManager}, "north"};
  const Principal south_manager_{"sam", {Role::kRegionalManager}, "south"};
};

// Each producing service numbers its own log: a customer event and a class event
// may carry the same global position. Their change notices (and so the queue keys
// services build from them) must still differ, or one change overwrites the other.
TEST_F(DirectoryTest, EventsOfDifferentTopicsWithTheSamePositionGetDistinctTokens) {
  std::vector<DirectoryChange> seen;
  DirectoryHandler handler({.on_change = [&](const DirectoryChange& c, auto&) { seen.push_back(c); }});
  cv1::CustomerEvent registered;
  registered.set_customer_id("c1");
  registered.mutable_registered()->set_owner("alice");
  classification::v1::ClassificationEvent classified;
  classified.set_customer_id("c1");
  classified.mutable_classified()->set_scheme(classification::v1::SCHEME_ABCD);
  classified.mutable_classified()->set_new_class("A");
  for (const auto& [topic, payload] :
       {std::pair{messaging::kCustomerTopic, registered.SerializeAsString()},
        std::pair{messaging::kClassificationTopic, classified.SerializeAsString()}}) {
    messaging::ConsumedEvent e;
    e.topic = std::string(topic);
    e.event.set_payload(payload);
    e.event.set_global_position(7);  // the same position, no event id
    std::vector<eventstore::ProjectionWrite> writes;
    ASSERT_TRUE(handler.Handle(e, messaging::testing::StoreView(*store_), writes).ok());
    ASSERT_TRUE(store_->WriteProjections(writes).ok());
  }
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].event, "crm.customer.v1.events@7");
  EXPECT_EQ(seen[1].event, "crm.classification.v1.events@7");
  // With an event id (as every stored event has), the id is the token.
  messaging::ConsumedEvent with_id;
  with_id.event.set_event_id("0190aaaa-bbbb");
  with_id.event.set_global_position(7);
  EXPECT_EQ(messaging::EventToken(with_id), "0190aaaa-bbbb");
}

TEST_F(DirectoryTest, EveryKeptCustomerEventUpdatesTheRowAndReportsItsKind) {
  Registered("c1", "alice", "north");
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0].kind, DirectoryChange::kNewCustomer);
  EXPECT_EQ(changes_[0].customer_id, "c1");
  EXPECT_EQ(changes_[0].event, "event-1");
  EXPECT_EQ(Entry("c1").owner(), "alice");
  EXPECT_EQ(Entry("c1").region(), "north");

  Customer("c1", [](cv1::CustomerEvent& e) {
    e.mutable_owner_assigned()->mutable_change()->set_to_owner("bob");
    e.mutable_owner_assigned()->mutable_change()->set_to_region("south");
  });
  ASSERT_EQ(changes_.size(), 2u);
  EXPECT_EQ(changes_[1].kind, DirectoryChange::kOwnerChanged);
  EXPECT_EQ(changes_[1].event, "event-2");
  EXPECT_EQ(Entry("c1").owner(), "bob");
  EXPECT_EQ(Entry("c1").region(), "south");

  // Contacts keep only id, name and birthday.
  Customer("c1", [](cv1::CustomerEvent& e) {
    *e.mutable_contact_added()->mutable_contact() = MakeContact("k1", "Ann", "1980-02-29");
  });
  Customer("c1", [](cv1::CustomerEvent& e) {
    *e.mutable_contact_added()->mutable_contact() = MakeContact("k2", "Ben", "07-01");
  });
  cv1::Customer c = Entry("c1");
  ASSERT_EQ(c.contacts_size(), 2);
  EXPECT_EQ(c.contacts(0).contact_id(), "k1");
  EXPECT_EQ(c.contacts(0).personal().name(), "Ann");
  EXPECT_EQ(c.contacts(0).personal().birthday(), "1980-02-29");
  EXPECT_EQ(c.contacts(0).personal().phone(), "");
  EXPECT_EQ(c.contacts(0).title(), "");
  EXPECT_FALSE(c.contacts(0).decision_maker());

  Customer("c1", [](cv1::CustomerEvent& e) {
    *e.mutable_contact_updated()->mutable_contact() = MakeContact("k1", "Ann Lee", "02-28");
  });
  Customer("c1", [](cv1::CustomerEvent& e) {  // unknown contact: row unchanged
    *e.mutable_contact_updated()->mutable_contact() = MakeContact("k9", "Nobody", "01-01");
  });
  c = Entry("c1");
  ASSERT_EQ(c.contacts_size(), 2);
  EXPECT_EQ(c.contacts(0).personal().name(), "Ann Lee");
  EXPECT_EQ(c.contacts(0).personal().birthday(), "02-28");

  Customer("c1", [](cv1::CustomerEvent& e) { e.mutable_contact_removed()->set_contact_id("k1"); });
  c = Entry("c1");
  ASSERT_EQ(c.contacts_size(), 1);
  EXPECT_EQ(c.contacts(0).contact_id(), "k2");

  // A second grant for the same subject replaces the first; revoking removes it.
  Granted("c1", "carl", kNow + absl::Hours(1), "first");
  Granted("c1", "dora", kNow + absl::Hours(1));
  Granted("c1", "carl", kNow + absl::Hours(2), "second");
  c = Entry("c1");
  ASSERT_EQ(c.access_grants_size(), 2);
  EXPECT_EQ(c.access_grants(0).subject(), "dora");
  EXPECT_EQ(c.access_grants(1).subject(), "carl");
  EXPECT_EQ(c.access_grants(1).reason(), "second");
  Customer("c1", [](cv1::CustomerEvent& e) { e.mutable_access_revoked()->set_subject("carl"); });
  c = Entry("c1");
  ASSERT_EQ(c.access_grants_size(), 1);
  EXPECT_EQ(c.access_grants(0).subject(), "dora");

  // Contacts and grants: kOther, one notice per event, each with its position.
  ASSERT_EQ(changes_.size(), 11u);
  for (size_t i = 2; i < changes_.size(); ++i) {
    EXPECT_EQ(changes_[i].kind, DirectoryChange::kOther) << i;
    EXPECT_EQ(changes_[i].customer_id, "c1");
    EXPECT_EQ(changes_[i].event, absl::StrCat("event-", i + 1));
  }
  EXPECT_EQ(c.owner(), "bob");  // untouched by contact and grant events
}

TEST_F(DirectoryTest, IndustryAndLifecycleAreKeptAndEveryRowCanBeWalked) {
  Customer("c1", [](cv1::CustomerEvent& e) {
    e.mutable_registered()->set_owner("alice");
    e.mutable_registered()->mutable_basic()->set_industry("retail");
    e.mutable_registered()->set_lifecycle(cv1::LIFECYCLE_FOLLOWING);
  });
  Registered("c2", "bob", "south");  // no lifecycle given: POTENTIAL
  Customer("c1", [](cv1::CustomerEvent& e) {
    e.mutable_updated()->add_paths("basic.industry");
    e.mutable_updated()->mutable_basic()->set_industry("manufacturing");
  });
  Customer("c2", [](cv1::CustomerEvent& e) {
    e.mutable_updated()->add_paths("basic");
    e.mutable_updated()->mutable_basic()->set_industry("energy");
  });
  Customer("c2", [](cv1::CustomerEvent& e) {
    e.mutable_lifecycle_changed()->set_from(cv1::LIFECYCLE_POTENTIAL);
    e.mutable_lifecycle_changed()->set_to(cv1::LIFECYCLE_CHURNED);
  });
  std::vector<std::string> seen;
  ASSERT_TRUE(ForEachDirectoryEntry(*store_, [&](const cv1::Customer& c) {
                seen.push_back(absl::StrCat(c.customer_id(), ":", c.basic().industry(), ":",
                                            cv1::Lifecycle_Name(c.lifecycle())));
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"c1:manufacturing:LIFECYCLE_FOLLOWING",
                                            "c2:energy:LIFECYCLE_CHURNED"}));
  // The visitor's error stops the walk.
  int visits = 0;
  EXPECT_TRUE(absl::IsCancelled(ForEachDirectoryEntry(*store_, [&](const cv1::Customer&) {
    ++visits;
    return absl::CancelledError("stop");
  })));
  EXPECT_EQ(visits, 1);
}

TEST_F(DirectoryTest, ChangeWritesFollowTheRowAndCommitWithIt) {
  std::vector<eventstore::ProjectionWrite> writes =
      Customer("c1", [](cv1::CustomerEvent& e) { e.mutable_registered()->set_owner("alice"); });
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].projection, kDirectoryProjection);
  EXPECT_EQ(writes[0].key, "c1");
  EXPECT_EQ(writes[1].projection, "queue");
  EXPECT_EQ(writes[1].key, "c1/event-1");
  auto queued = store_->GetProjection("queue", "c1/event-1");
  ASSERT_TRUE(queued.ok());
  EXPECT_TRUE(queued->has_value());
}

// A payload that does not parse, or that sets no kind this binary knows (one
// added by a newer producer), is a permanent error: the consumer runner
// dead-letters the record instead of skipping it unseen.
TEST_F(DirectoryTest, UndecodableOrUnknownKindsArePermanentErrors) {
  DirectoryHandler handler;
  auto handle = [&](std::string_view topic, const std::string& payload) {
    messaging::ConsumedEvent e;
    e.topic = std::string(topic);
    e.event.set_event_type("crm.customer.v1.SomethingNew");
    e.event.set_payload(payload);
    std::vector<eventstore::ProjectionWrite> writes;
    absl::Status s = handler.Handle(e, messaging::testing::StoreView(*store_), writes);
    EXPECT_TRUE(messaging::IsPermanentHandlerError(s)) << s;
    return s;
  };
  EXPECT_EQ(handle(messaging::kCustomerTopic, "\xff\xff not a proto").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(handle(messaging::kClassificationTopic, "\xff\xff not a proto").code(),
            absl::StatusCode::kInvalidArgument);
  cv1::CustomerEvent newer;
  newer.set_customer_id("c1");
  newer.GetReflection()->MutableUnknownFields(&newer)->AddLengthDelimited(999, "future");
  absl::Status s = handle(messaging::kCustomerTopic, newer.SerializeAsString());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("crm.customer.v1.SomethingNew"), std::string_view::npos) << s;
  classification::v1::ClassificationEvent no_kind;
  no_kind.set_customer_id("c1");
  EXPECT_EQ(handle(messaging::kClassificationTopic, no_kind.SerializeAsString()).code(),
            absl::StatusCode::kUnimplemented);
}

TEST_F(DirectoryTest, FirstEventOfAnyKindIsANewCustomer) {
  Customer("c2", [](cv1::CustomerEvent& e) {
    *e.mutable_contact_added()->mutable_contact() = MakeContact("k1", "Ann", "03-04");
  });
  Customer("c3", [](cv1::CustomerEvent& e) {
    e.mutable_owner_assigned()->mutable_change()->set_to_owner("bob");
  });
  ASSERT_EQ(changes_.size(), 2u);
  EXPECT_EQ(changes_[0].kind, DirectoryChange::kNewCustomer);
  EXPECT_EQ(changes_[0].customer_id, "c2");
  EXPECT_EQ(changes_[1].kind, DirectoryChange::kNewCustomer);
  EXPECT_EQ(changes_[1].customer_id, "c3");
  EXPECT_EQ(Entry("c2").contacts_size(), 1);
  EXPECT_EQ(Entry("c3").owner(), "bob");
}

TEST_F(DirectoryTest, EventsTheDirectoryDoesNotKeepWriteNothing) {
  Registered("c1", "alice", "north");
  changes_.clear();
  EXPECT_TRUE(Customer("c1", [](cv1::CustomerEvent& e) { e.mutable_updated(); }).empty());
  EXPECT_TRUE(
      Customer("c1", [](cv1::CustomerEvent& e) { e.mutable_transaction_recorded(); }).empty());
  EXPECT_TRUE(Customer("c9", [](cv1::CustomerEvent& e) { e.mutable_agreement_recorded(); }).empty());
  // An update that leaves the industry alone.
  EXPECT_TRUE(Customer("c1", [](cv1::CustomerEvent& e) {
                e.mutable_updated()->add_paths("basic.address");
                e.mutable_updated()->mutable_basic()->set_industry("ignored");
              }).empty());
  EXPECT_TRUE(Consume(messaging::kInteractionTopic, "anything").empty());
  // Classification events without a classification or a customer.
  classification::v1::ClassificationEvent e;
  e.mutable_credit_rated();
  e.set_customer_id("c1");
  EXPECT_TRUE(Consume(messaging::kClassificationTopic, e.SerializeAsString()).empty());
  EXPECT_TRUE(Classified("", classification::v1::SCHEME_ABCD, "A").empty());
  EXPECT_TRUE(changes_.empty());
  auto missing = LoadDirectoryEntry(*store_, "c9");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(DirectoryTest, ClassificationEventsKeepOneClassPerSchemeAndReportClassChanged) {
  std::vector<eventstore::ProjectionWrite> writes =
      Classified("c1", classification::v1::SCHEME_ABCD, "B");
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].projection, kClassesProjection);
  EXPECT_EQ(writes[0].key, absl::StrCat("c1/", classification::v1::SCHEME_ABCD));
  EXPECT_EQ(writes[0].value, "B");
  Classified("c1", classification::v1::SCHEME_TIER, "key");
  Classified("c1", classification::v1::SCHEME_ABCD, "A");
  Classified("c10", classification::v1::SCHEME_VALUE, "C");  // shares the prefix "c1"

  ASSERT_EQ(changes_.size(), 4u);
  for (size_t i = 0; i < changes_.size(); ++i) {
    EXPECT_EQ(changes_[i].kind, DirectoryChange::kClassChanged) << i;
    EXPECT_EQ(changes_[i].event, absl::StrCat("event-", i + 1));
  }
  EXPECT_EQ(changes_[3].customer_id, "c10");

  auto classes = LoadClasses(*store_, "c1");
  ASSERT_TRUE(classes.ok()) << classes.status();
  EXPECT_EQ(*classes, (std::map<int, std::string>{{classification::v1::SCHEME_TIER, "key"},
                                                  {classification::v1::SCHEME_ABCD, "A"}}));
  classes = LoadClasses(*store_, "c10");
  ASSERT_TRUE(classes.ok());
  EXPECT_EQ(*classes, (std::map<int, std::string>{{classification::v1::SCHEME_VALUE, "C"}}));
  classes = LoadClasses(*store_, "c2");
  ASSERT_TRUE(classes.ok());
  EXPECT_TRUE(classes->empty());
}

TEST_F(DirectoryTest, HandlerWithoutOnChangeKeepsTheRows) {
  DirectoryHandler handler;
  cv1::CustomerEvent e;
  e.set_customer_id("c1");
  e.mutable_registered()->set_owner("alice");
  messaging::ConsumedEvent consumed;
  consumed.topic = std::string(messaging::kCustomerTopic);
  consumed.event.set_payload(e.SerializeAsString());
  std::vector<eventstore::ProjectionWrite> writes;
  ASSERT_TRUE(handler.Handle(consumed, messaging::testing::StoreView(*store_), writes).ok());
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].projection, kDirectoryProjection);
}

TEST_F(DirectoryTest, CorruptRowIsDataLoss) {
  ASSERT_TRUE(store_
                  ->WriteProjections({eventstore::ProjectionWrite::Put(
                      std::string(kDirectoryProjection), "bad", "\xff\xff\xff")})
                  .ok());
  EXPECT_EQ(LoadDirectoryEntry(*store_, "bad").status().code(), absl::StatusCode::kDataLoss);
  FakeLookup lookup;
  EXPECT_EQ(VisibleCustomer(*store_, &lookup, alice_, "bad", kNow).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(DirectoryTest, VisibleCustomerFromTheDirectoryWithGrants) {
  Registered("c1", "alice", "north");
  FakeLookup lookup;
  auto c = VisibleCustomer(*store_, &lookup, alice_, "c1", kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->customer_id, "c1");
  EXPECT_EQ(c->owner, "alice");
  EXPECT_EQ(c->region, "north");
  EXPECT_TRUE(VisibleCustomer(*store_, &lookup, manager_, "c1", kNow).ok());
  // Invisible is answered like absent: NOT_FOUND, the same message.
  EXPECT_EQ(VisibleCustomer(*store_, &lookup, south_manager_, "c1", kNow).status(),
            absl::NotFoundError("customer c1 not found"));
  EXPECT_EQ(VisibleCustomer(*store_, &lookup, bob_, "c1", kNow).status(),
            absl::NotFoundError("customer c1 not found"));

  // A grant lets bob in until it expires.
  Granted("c1", "bob", kNow + absl::Hours(1));
  c = VisibleCustomer(*store_, &lookup, bob_, "c1", kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->owner, "alice");
  EXPECT_EQ(VisibleCustomer(*store_, &lookup, bob_, "c1", kNow + absl::Hours(2)).status(),
            absl::NotFoundError("customer c1 not found"));
  EXPECT_EQ(lookup.calls, 0);  // the directory knew it
}

// VisibleIn on the directory's rows: the auth rules (owner, region, role) plus
// the row's unexpired grants; VisibleCustomer decides a row it finds the same
// way, and answers an invisible one exactly like an absent one (NOT_FOUND).
TEST_F(DirectoryTest, VisibleInDecidesRowsLikeVisibleCustomer) {
  Registered("own", "alice", "north");
  Registered("peer", "bob", "north");
  Registered("south", "sue", "south");
  Registered("granted", "sue", "south");
  Granted("granted", "bob", kNow + absl::Hours(1));
  Granted("granted", "nina", kNow + absl::Hours(1));
  Registered("expired", "sue", "south");
  Granted("expired", "bob", kNow);  // ends at kNow: exclusive
  Registered("bare", "", "");
  const Principal agent{"alice", {Role::kServiceAgent}, "north"};
  const Principal executive{"eve", {Role::kExecutive}, ""};
  const Principal service{"crm-interaction", {Role::kService}, ""};
  const Principal nobody{"nina", {}, "north"};
  const Principal no_subject{"", {Role::kSalesRep}, ""};
  struct Case {
    const Principal* who;
    std::vector<std::string> visible;  // of own, peer, south, granted, expired, bare
  };
  const std::vector<std::string> rows = {"own", "peer", "south", "granted", "expired", "bare"};
  const std::vector<Case> cases = {
      {&alice_, {"own"}},
      {&agent, {"own"}},
      {&bob_, {"peer", "granted"}},
      {&manager_, {"own", "peer"}},
      {&south_manager_, {"south", "granted", "expired"}},
      {&executive, rows},
      {&service, rows},
      {&nobody, {"granted"}},
      {&no_subject, {}},
  };
  FakeLookup lookup;
  for (const Case& c : cases) {
    for (const std::string& id : rows) {
      SCOPED_TRACE(absl::StrCat(c.who->subject, " on ", id));
      const bool expected = std::find(c.visible.begin(), c.visible.end(), id) != c.visible.end();
      EXPECT_EQ(VisibleIn(Entry(id), *c.who, kNow), expected);
      absl::Status s = VisibleCustomer(*store_, &lookup, *c.who, id, kNow).status();
      EXPECT_EQ(s.ok(), expected) << s;
      if (!expected) {
        EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
        EXPECT_EQ(s.message(), absl::StrCat("customer ", id, " not found"));
        EXPECT_EQ(s, domain::CustomerNotFound(id));
      }
    }
  }
  // Before the grant ends bob sees "expired" too; at its end no longer.
  EXPECT_TRUE(VisibleIn(Entry("expired"), bob_, kNow - absl::Seconds(1)));
  EXPECT_FALSE(VisibleIn(Entry("expired"), bob_, kNow));
  EXPECT_EQ(lookup.calls, 0);  // every row was in the directory
}

TEST_F(DirectoryTest, VisibleCustomerFallsBackToTheLookup) {
  FakeLookup lookup;
  auto c = VisibleCustomer(*store_, &lookup, alice_, "fresh", kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->customer_id, "fresh");
  EXPECT_EQ(c->owner, "alice");
  EXPECT_EQ(c->region, "north");
  EXPECT_EQ(lookup.calls, 1);
  // Known to crm-customer but not bob's: answered as if crm-customer did not know it.
  EXPECT_EQ(VisibleCustomer(*store_, &lookup, bob_, "fresh", kNow).status(),
            absl::NotFoundError("customer fresh not found"));
  EXPECT_EQ(VisibleCustomer(*store_, &lookup, bob_, "unknown", kNow).status(),
            absl::NotFoundError("customer unknown not found"));
  EXPECT_TRUE(VisibleCustomer(*store_, &lookup, manager_, "fresh", kNow).ok());
}

TEST_F(DirectoryTest, VisibilityCacheAsksOncePerCustomer) {
  FakeLookup lookup;
  VisibilityCache alice(*store_, &lookup, alice_, kNow);
  EXPECT_TRUE(alice.Visible("fresh"));
  EXPECT_TRUE(alice.Visible("fresh"));
  EXPECT_FALSE(alice.Visible("nobody"));  // not found
  EXPECT_FALSE(alice.Visible("nobody"));
  EXPECT_EQ(lookup.calls, 2);  // once for each customer
  VisibilityCache bob(*store_, &lookup, bob_, kNow);
  EXPECT_FALSE(bob.Visible("fresh"));  // another owner's customer
}

TEST_F(DirectoryTest, VisibleCustomerErrors) {
  FakeLookup lookup;
  absl::Status s = VisibleCustomer(*store_, &lookup, alice_, "", kNow).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "customer_id: required");

  s = VisibleCustomer(*store_, &lookup, alice_, "ghost", kNow).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "customer ghost not found");

  s = VisibleCustomer(*store_, nullptr, alice_, "fresh", kNow).status();  // no lookup
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "customer fresh not found");

  s = VisibleCustomer(*store_, &lookup, alice_, "down", kNow).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(s.message(), "refused")) << s;
}

// ---- the gRPC lookup and the service token ------------------------------------

std::string DevSecretFile() { return CRM_AUTH_DEV_SECRET_FILE; }

std::unique_ptr<auth::TokenVerifier> DevVerifier() {
  auto config = auth::LoadVerifierConfig(DevSecretFile(), "");
  EXPECT_TRUE(config.ok()) << config.status();
  auto verifier = auth::TokenVerifier::Create(*config);
  EXPECT_TRUE(verifier.ok()) << verifier.status();
  return verifier.ok() ? std::move(*verifier) : nullptr;
}

// crm-customer's GetCustomer: knows "c1"; remembers the authorization header.
class FakeCustomerService final : public cv1::CustomerService::Service {
 public:
  grpc::Status GetCustomer(grpc::ServerContext* ctx, const cv1::GetCustomerRequest* req,
                           cv1::GetCustomerResponse* resp) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = ctx->client_metadata().find(std::string(auth::kAuthorizationKey));
      authorization = it == ctx->client_metadata().end()
                          ? ""
                          : std::string(it->second.data(), it->second.size());
    }
    if (req->customer_id() == "broken") return {grpc::StatusCode::INTERNAL, "boom"};
    if (req->customer_id() != "c1") return {grpc::StatusCode::NOT_FOUND, "no such customer"};
    resp->mutable_customer()->set_customer_id("c1");
    resp->mutable_customer()->set_owner("alice");
    resp->mutable_customer()->set_region("north");
    return grpc::Status::OK;
  }
  std::mutex mu;
  std::string authorization;
};

class GrpcLookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }
  std::string Addr() const { return absl::StrCat("127.0.0.1:", port_); }

  FakeCustomerService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(GrpcLookupTest, AsksGetCustomerWithTheToken) {
  auto lookup = NewGrpcCustomerLookup(server_->InProcessChannel(grpc::ChannelArguments()),
                                      [] { return std::string("tok"); });
  auto found = lookup->Lookup("c1");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->customer_id, "c1");
  EXPECT_EQ((*found)->owner, "alice");
  EXPECT_EQ((*found)->region, "north");
  EXPECT_EQ(service_.authorization, "Bearer tok");

  auto missing = lookup->Lookup("c2");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->has_value());

  absl::Status broken = lookup->Lookup("broken").status();
  EXPECT_EQ(broken.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(broken.message(), "customer service lookup of broken: boom"))
      << broken;
}

TEST_F(GrpcLookupTest, MakeCustomerLookupMintsAServiceTokenItOwns) {
  auto lookup = MakeCustomerLookup("crm-ticket", Addr(), "", "", DevSecretFile());
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  ASSERT_NE(*lookup, nullptr);
  auto found = (*lookup)->Lookup("c1");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->owner, "alice");

  std::string header = service_.authorization;
  ASSERT_TRUE(absl::StartsWith(header, "Bearer ")) << header;
  auto verifier = DevVerifier();
  ASSERT_NE(verifier, nullptr);
  auto who = verifier->Verify(header.substr(7));
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->subject, "crm-ticket");
  EXPECT_TRUE(who->Has(Role::kService));
}

TEST(MakeCustomerLookupTest, FlagsAndErrors) {
  auto none = MakeCustomerLookup("crm-ticket", "", "", "", "");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, nullptr);

  EXPECT_EQ(MakeCustomerLookup("crm-ticket", "127.0.0.1:1", "", "", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status s =
      MakeCustomerLookup("crm-ticket", "127.0.0.1:1", "/nonexistent/ca.pem", "", DevSecretFile())
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(s.message(), "/nonexistent/ca.pem")) << s;

  // Nobody listens: the lookup reports UNAVAILABLE (refused at once).
  auto lookup = MakeCustomerLookup("crm-ticket", "127.0.0.1:1", "", "", DevSecretFile());
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  ASSERT_NE(*lookup, nullptr);
  EXPECT_EQ((*lookup)->Lookup("c1").status().code(), absl::StatusCode::kUnavailable);
}

TEST(ServiceTokenTest, CreateErrors) {
  absl::Status s = ServiceToken::Create("crm-ticket", "", "").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = ServiceToken::Create("crm-ticket", "/nonexistent/token", "").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(s.message(), "/nonexistent/token")) << s;
  // The file wins over the secret, so it must be readable even with a secret.
  EXPECT_EQ(
      ServiceToken::Create("crm-ticket", "/nonexistent/token", DevSecretFile()).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(ServiceToken::Create("crm-ticket", "", "/nonexistent/secret").status().code(),
            absl::StatusCode::kNotFound);

  crm::testing::TempDir dir;
  const std::string empty_file = dir.path() + "/empty";
  std::ofstream(empty_file).close();
  EXPECT_EQ(ServiceToken::Create("crm-ticket", empty_file, "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ServiceTokenTest, ReadsTheTokenFile) {
  crm::testing::TempDir dir;
  const std::string file = dir.path() + "/token";
  std::ofstream(file) << "  header.payload.signature\n";
  auto token = ServiceToken::Create("crm-ticket", file, DevSecretFile());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ((*token)->Get(), "header.payload.signature");
  EXPECT_EQ((*token)->Get(), "header.payload.signature");
}

TEST(ServiceTokenTest, RereadsTheTokenFileWhenItChanges) {
  crm::testing::TempDir dir;
  const std::string file = dir.path() + "/token";
  std::ofstream(file) << "first.token.value\n";
  auto token = ServiceToken::Create("crm-ticket", file, "");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ((*token)->Get(), "first.token.value");
  // Rotated in place: picked up within a second or so, no restart.
  std::ofstream(file) << "second.token.value\n";
  EXPECT_TRUE(crm::testing::Eventually([&] { return (*token)->Get() == "second.token.value"; },
                                       absl::Seconds(5)));
  // A file that is gone (or empty) keeps the last token.
  std::filesystem::remove(file);
  absl::SleepFor(absl::Milliseconds(1100));  // one re-read interval: the read must fail
  EXPECT_EQ((*token)->Get(), "second.token.value");
  std::ofstream(file).close();
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_EQ((*token)->Get(), "second.token.value");
  std::ofstream(file) << "third.token.value";
  EXPECT_TRUE(crm::testing::Eventually([&] { return (*token)->Get() == "third.token.value"; },
                                       absl::Seconds(5)));
}

TEST(ServiceTokenTest, MintsAServiceTokenForTheSubject) {
  auto token = ServiceToken::Create("crm-ticket", "", DevSecretFile());
  ASSERT_TRUE(token.ok()) << token.status();
  const absl::Time before = absl::Now();
  const std::string minted = (*token)->Get();
  ASSERT_FALSE(minted.empty());
  EXPECT_EQ((*token)->Get(), minted);  // reused until close to expiry

  auto verifier = DevVerifier();
  ASSERT_NE(verifier, nullptr);
  auto claims = verifier->VerifyClaims(minted);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->sub, "crm-ticket");
  EXPECT_EQ(claims->roles, std::vector<std::string>{"service"});
  EXPECT_GE(claims->expires_at, before + absl::Minutes(59));
  EXPECT_LE(claims->expires_at, absl::Now() + absl::Hours(1));
  auto who = verifier->Verify(minted);
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_TRUE(who->Has(Role::kService));
  EXPECT_TRUE(auth::IsService(*who));
}

}  // namespace
}  // namespace crm::directory
