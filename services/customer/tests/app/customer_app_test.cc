// The customer service's app on a real store with a fake clock, driven the way
// the gRPC adapter drives it: the authorization matrix (every RPC × every role ×
// own / same region / other region / granted / expired grant), and the command-id
// contract (scoped to caller and RPC, replayed exactly, also after a restart,
// and only after the access check); conversion: a won opportunity consumed from
// crm.interaction.v1.events makes the customer COOPERATING, caused by it, once.
#include "crm/customer/app/customer_app.h"
#include "crm/customer/consumer/customer_consumer.h"
#include "crm/customer/projection/customer_projection.h"
#include "crm/customer/projection/ticket_agents.h"

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "command/testing/app_test.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/common/proto_time.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/consumer_runner.h"
#include "crm/messaging/dead_letters.h"
#include "crm/ticket/v1/ticket_events.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::customer {
namespace {

using auth::Principal;
using auth::Role;
using ::testing::HasSubstr;
using ::testing::Not;
using Code = absl::StatusCode;

class CustomerAppTest : public command::testing::AppTest<CustomerApp> {
 protected:
  CustomerAppTest() : AppTest(absl::FromUnixSeconds(1790000000)) {}
  absl::StatusOr<std::unique_ptr<CustomerApp>> MakeApp(command::Pipeline& pipeline) override {
    return std::make_unique<CustomerApp>(pipeline);
  }

  std::string Register(const std::string& name, const std::string& owner,
                       const std::string& region, const std::string& command_id = "") {
    v1::RegisterCustomerRequest req;
    req.mutable_basic()->set_name(name);
    req.set_owner(owner);
    req.set_region(region);
    req.mutable_options()->set_command_id(command_id);
    auto r = Call(&CustomerApp::RegisterCustomer, exec_, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->customer_id() : "";
  }

  v1::AddContactRequest Contact(const std::string& customer, const std::string& name,
                                const std::string& command_id = "") {
    v1::AddContactRequest req;
    req.set_customer_id(customer);
    req.mutable_contact()->mutable_personal()->set_name(name);
    req.mutable_options()->set_command_id(command_id);
    return req;
  }

  const Principal exec_{"boss", {Role::kExecutive}, ""};
  const Principal alice_{"alice", {Role::kSalesRep}, "north"};
  const Principal bob_{"bob", {Role::kSalesRep}, "north"};
  const Principal manager_{"mia", {Role::kRegionalManager}, "north"};
};

TEST_F(CustomerAppTest, AuthorizationMatrixCoversEveryRpc) {
  enum Relation { kOwn, kSameRegion, kOtherRegion, kGranted, kExpired, kRelations };
  const char* kRelationNames[] = {"own", "same region", "other region", "granted", "expired grant"};
  struct RoleCase {
    std::string role;
    bool reads[kRelations];  // may read and write the customer with this relation
    bool transfers;          // may AssignOwner (within what it may read)
    bool grants;             // may GrantAccess / RevokeAccess
    bool streams;            // may StreamEvents
  };
  const std::vector<RoleCase> roles = {
      {"sales_rep", {true, false, false, true, false}, false, false, false},
      {"service_agent", {true, false, false, true, false}, false, false, false},
      {"regional_manager", {true, true, false, true, false}, true, false, false},
      {"executive", {true, true, true, true, true}, true, true, false},
      {"admin", {true, true, true, true, true}, true, true, true},
      // In process (no adapter): the service role reads everything, but transfers
      // nothing and streams nothing (over gRPC it reaches GetCustomer only:
      // tests/least_privilege_e2e_test.cc).
      {"service", {true, true, true, true, true}, false, false, false},
      {"", {false, false, false, true, false}, false, false, false},  // no role
  };
  for (const RoleCase& rc : roles) {
    SCOPED_TRACE("role " + (rc.role.empty() ? std::string("(none)") : rc.role));
    const std::string me = "user-" + (rc.role.empty() ? std::string("none") : rc.role);
    Principal caller{me, {}, "north"};
    if (auto r = auth::ParseRole(rc.role)) caller.roles.insert(*r);

    std::string ids[kRelations], contacts[kRelations], agreements[kRelations];
    ids[kOwn] = Register("Own " + me, me, "north");
    ids[kSameRegion] = Register("Same " + me, "someone", "north");
    ids[kOtherRegion] = Register("Other " + me, "someone", "south");
    ids[kGranted] = Register("Granted " + me, "someone", "south");
    ids[kExpired] = Register("Expired " + me, "someone", "south");
    for (Relation r : {kGranted, kExpired}) {
      v1::GrantAccessRequest grant;
      grant.set_customer_id(ids[r]);
      grant.set_subject(me);
      *grant.mutable_expires_at() =
          ToProtoTimestamp(clock_.Now() + (r == kGranted ? absl::Hours(24) : absl::Hours(1)));
      ASSERT_TRUE(Call(&CustomerApp::GrantAccess, exec_, grant).ok());
    }
    for (int r = 0; r < kRelations; ++r) {
      auto added = Call(&CustomerApp::AddContact, exec_, Contact(ids[r], "Han Meimei"));
      ASSERT_TRUE(added.ok()) << added.status();
      contacts[r] = added->contact_id();
      v1::RecordAgreementRequest agreement;
      agreement.set_customer_id(ids[r]);
      agreement.mutable_agreement()->set_title("Framework agreement");
      auto recorded = Call(&CustomerApp::RecordAgreement, exec_, agreement);
      ASSERT_TRUE(recorded.ok()) << recorded.status();
      agreements[r] = recorded->agreement_id();
      v1::GrantAccessRequest other;
      other.set_customer_id(ids[r]);
      other.set_subject("revocable");
      *other.mutable_expires_at() = ToProtoTimestamp(clock_.Now() + absl::Hours(30));
      ASSERT_TRUE(Call(&CustomerApp::GrantAccess, exec_, other).ok());
    }
    clock_.Advance(absl::Hours(2));  // the short grant has expired

    // Registering: own customers in the caller's region for everyone with a role;
    // someone else's only for managers and above; another region only for those
    // who see everything.
    const bool sees_all = rc.reads[kOtherRegion];
    const bool manager = rc.role == "regional_manager" || sees_all;
    struct RegisterCase {
      std::string owner, region;
      bool allowed;
    };
    for (const RegisterCase& reg : std::vector<RegisterCase>{
             {me, "north", !rc.role.empty()}, {"someone", "north", manager}, {me, "south", sees_all}}) {
      v1::RegisterCustomerRequest req;
      req.mutable_basic()->set_name(absl::StrCat("New ", me, " ", reg.owner, " ", reg.region));
      req.set_owner(reg.owner);
      req.set_region(reg.region);
      EXPECT_EQ(Call(&CustomerApp::RegisterCustomer, caller, req).status().code(),
                reg.allowed ? Code::kOk : Code::kPermissionDenied)
          << "register owner " << reg.owner << " region " << reg.region;
    }

    for (int r = 0; r < kRelations; ++r) {
      SCOPED_TRACE(kRelationNames[r]);
      // A customer the caller may not see is NOT_FOUND, as if it did not exist.
      const Code want = rc.reads[r] ? Code::kOk : Code::kNotFound;
      // What a refused privilege answers on a customer the caller sees.
      const auto privileged = [&](bool may) {
        return !rc.reads[r] ? Code::kNotFound : may ? Code::kOk : Code::kPermissionDenied;
      };
      auto code = [](const auto& result) { return result.status().code(); };
      v1::GetCustomerRequest get;
      get.set_customer_id(ids[r]);
      EXPECT_EQ(code(Call(&CustomerApp::GetCustomer, caller, get)), want);
      *get.mutable_as_of() = ToProtoTimestamp(clock_.Now());
      EXPECT_EQ(code(Call(&CustomerApp::GetCustomer, caller, get)), want);
      v1::GetCustomerHistoryRequest history;
      history.set_customer_id(ids[r]);
      EXPECT_EQ(code(Call(&CustomerApp::GetCustomerHistory, caller, history)), want);
      v1::UpdateCustomerRequest update;
      update.set_customer_id(ids[r]);
      update.add_update_paths("basic.website");
      update.mutable_basic()->set_website(absl::StrCat("https://example.com/", me, "/", r));
      EXPECT_EQ(code(Call(&CustomerApp::UpdateCustomer, caller, update)), want);
      EXPECT_EQ(code(Call(&CustomerApp::AddContact, caller, Contact(ids[r], "Li Lei"))), want);
      v1::RecordTransactionRequest tx;
      tx.set_customer_id(ids[r]);
      tx.mutable_transaction()->set_party(v1::TRANSACTION_PARTY_OWN_COMPANY);
      tx.mutable_transaction()->mutable_amount()->set_currency_code("CNY");
      tx.mutable_transaction()->mutable_amount()->set_amount_minor(1000);
      tx.mutable_transaction()->set_date("2026-01-02");
      EXPECT_EQ(code(Call(&CustomerApp::RecordTransaction, caller, tx)), want);
      v1::ChangeLifecycleRequest lifecycle;
      lifecycle.set_customer_id(ids[r]);
      lifecycle.set_lifecycle(v1::LIFECYCLE_FOLLOWING);
      EXPECT_EQ(code(Call(&CustomerApp::ChangeLifecycle, caller, lifecycle)), want);
      v1::UpdateContactRequest update_contact;
      update_contact.set_customer_id(ids[r]);
      update_contact.mutable_contact()->set_contact_id(contacts[r]);
      update_contact.mutable_contact()->set_title("Purchasing lead");
      update_contact.mutable_contact()->mutable_personal()->set_name("Han Meimei");
      EXPECT_EQ(code(Call(&CustomerApp::UpdateContact, caller, update_contact)), want);
      v1::RemoveContactRequest remove_contact;
      remove_contact.set_customer_id(ids[r]);
      remove_contact.set_contact_id(contacts[r]);
      EXPECT_EQ(code(Call(&CustomerApp::RemoveContact, caller, remove_contact)), want);
      v1::RecordAgreementRequest agreement;
      agreement.set_customer_id(ids[r]);
      agreement.mutable_agreement()->set_title("Service agreement");
      EXPECT_EQ(code(Call(&CustomerApp::RecordAgreement, caller, agreement)), want);
      v1::ChangeAgreementStatusRequest status;
      status.set_customer_id(ids[r]);
      status.set_agreement_id(agreements[r]);
      status.set_status(v1::AGREEMENT_STATUS_LEGAL_REVIEW);
      EXPECT_EQ(code(Call(&CustomerApp::ChangeAgreementStatus, caller, status)), want);
      v1::SetVerificationRequest verify;
      verify.set_customer_id(ids[r]);
      verify.set_verification(v1::VERIFICATION_STATE_VERIFIED);
      EXPECT_EQ(code(Call(&CustomerApp::SetVerification, caller, verify)), want);
      v1::RevokeAccessRequest revoke;
      revoke.set_customer_id(ids[r]);
      revoke.set_subject("revocable");
      EXPECT_EQ(code(Call(&CustomerApp::RevokeAccess, caller, revoke)), privileged(rc.grants));
      v1::GrantAccessRequest grant;
      grant.set_customer_id(ids[r]);
      grant.set_subject("someone-else");
      *grant.mutable_expires_at() = ToProtoTimestamp(clock_.Now() + absl::Hours(2));
      EXPECT_EQ(code(Call(&CustomerApp::GrantAccess, caller, grant)), privileged(rc.grants));
      v1::AssignOwnerRequest assign;
      assign.set_customer_id(ids[r]);
      assign.set_owner("new-owner-" + me);
      EXPECT_EQ(code(Call(&CustomerApp::AssignOwner, caller, assign)), privileged(rc.transfers));
    }

    // Lists hold exactly the customers of this case the caller sees by role
    // (granted customers are reached by id, not listed).
    v1::ListCustomersRequest list;
    list.set_page_size(500);
    auto page = Call(&CustomerApp::ListCustomers, caller, list);
    ASSERT_TRUE(page.ok()) << page.status();
    std::set<std::string> listed;
    for (const auto& c : page->customers()) listed.insert(c.customer_id());
    for (Relation r : {kOwn, kSameRegion, kOtherRegion}) {
      // Ownership may have moved in the matrix (AssignOwner): compare with Get.
      v1::GetCustomerRequest get;
      get.set_customer_id(ids[r]);
      EXPECT_EQ(listed.contains(ids[r]), Call(&CustomerApp::GetCustomer, caller, get).ok())
          << kRelationNames[r];
    }
    EXPECT_EQ(CustomerApp::CheckStreamAccess(caller).code(),
              rc.streams ? Code::kOk : Code::kPermissionDenied);
  }
  // Every row the matrix wrote comes back from the log alone (--rebuild_projections).
  ExpectRebuildReproducesTheRows(*NewRebuildProjector(), CustomerRebuildTargets());
}

TEST_F(CustomerAppTest, ACommandIdIsTheCallersOwnAndItsReplayIsExactAlsoAfterARestart) {
  v1::RegisterCustomerRequest alices;
  alices.mutable_basic()->set_name("Alice's Ltd");
  alices.mutable_options()->set_command_id("cmd-1");
  v1::RegisterCustomerRequest bobs;
  bobs.mutable_basic()->set_name("Bob's Ltd");
  bobs.mutable_options()->set_command_id("cmd-1");
  auto a = Call(&CustomerApp::RegisterCustomer, alice_, alices);
  auto b = Call(&CustomerApp::RegisterCustomer, bob_, bobs);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  EXPECT_NE(a->customer_id(), b->customer_id());  // two independent results

  // The same id for another RPC of alice's is another command too.
  auto added = Call(&CustomerApp::AddContact, alice_, Contact(a->customer_id(), "Li", "cmd-1"));
  ASSERT_TRUE(added.ok()) << added.status();

  Open();  // a restart: the records are durable
  auto again = Call(&CustomerApp::RegisterCustomer, alice_, alices);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), a->SerializeAsString());
  auto added_again =
      Call(&CustomerApp::AddContact, alice_, Contact(a->customer_id(), "Li", "cmd-1"));
  ASSERT_TRUE(added_again.ok());
  EXPECT_EQ(added_again->SerializeAsString(), added->SerializeAsString());
  v1::GetCustomerRequest get;
  get.set_customer_id(a->customer_id());
  EXPECT_EQ(Call(&CustomerApp::GetCustomer, alice_, get)->customer().contacts_size(), 1);
  // The same id with another request is refused, not answered with the first.
  alices.mutable_basic()->set_name("Another Ltd");
  auto other = Call(&CustomerApp::RegisterCustomer, alice_, alices);
  EXPECT_EQ(other.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(other.status().message(), "options.command_id: ")) << other.status();
}

TEST_F(CustomerAppTest, AReplayIsAnsweredOnlyAfterTheAccessCheck) {
  const std::string id = Register("Alice's Ltd", "alice", "north");
  auto first = Call(&CustomerApp::AddContact, alice_, Contact(id, "Li Lei", "add-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  // Bob sends alice's command id for alice's customer: refused, learning nothing.
  auto bobs = Call(&CustomerApp::AddContact, bob_, Contact(id, "Li Lei", "add-1"));
  EXPECT_EQ(bobs.status(), absl::NotFoundError(absl::StrCat("customer ", id, " not found")));
  EXPECT_THAT(std::string(bobs.status().message()), Not(HasSubstr(first->contact_id())));
  // Once alice loses the customer, her own replay is refused too.
  v1::AssignOwnerRequest transfer;
  transfer.set_customer_id(id);
  transfer.set_owner("carol");
  ASSERT_TRUE(Call(&CustomerApp::AssignOwner, manager_, transfer).ok());
  auto replay = Call(&CustomerApp::AddContact, alice_, Contact(id, "Li Lei", "add-1"));
  EXPECT_EQ(replay.status().code(), Code::kNotFound);
  EXPECT_THAT(std::string(replay.status().message()), Not(HasSubstr(first->contact_id())));
  // A customer that does not exist is NOT_FOUND whatever the command id.
  EXPECT_EQ(Call(&CustomerApp::AddContact, alice_, Contact("no-such", "Li", "add-1")).status().code(),
            Code::kNotFound);
}

// Least privilege: a caller whose only role is `service` (the lookups of
// crm-interaction and crm-ticket) gets a customer's id, version, owner and region,
// nothing of its personal or commercial data; with another role it gets the record.
TEST_F(CustomerAppTest, AServiceCallerGetsOnlyWhatTheLookupsNeed) {
  const std::string id = Register("Private Ltd", "alice", "north");
  ASSERT_TRUE(Call(&CustomerApp::AddContact, exec_, Contact(id, "Li Lei")).ok());
  v1::GetCustomerRequest get;
  get.set_customer_id(id);
  const Principal service{"crm-ticket", {Role::kService}, ""};
  for (bool as_of : {false, true}) {
    SCOPED_TRACE(as_of ? "as_of" : "current");
    if (as_of) *get.mutable_as_of() = ToProtoTimestamp(clock_.Now());
    auto slim = Call(&CustomerApp::GetCustomer, service, get);
    ASSERT_TRUE(slim.ok()) << slim.status();
    v1::Customer want;
    want.set_customer_id(id);
    want.set_version(2);
    want.set_owner("alice");
    want.set_region("north");
    EXPECT_EQ(slim->customer().SerializeAsString(), want.SerializeAsString())
        << slim->customer().DebugString();
    auto full = Call(&CustomerApp::GetCustomer, Principal{"ops", {Role::kService, Role::kAdmin}, ""},
                     get);
    ASSERT_TRUE(full.ok()) << full.status();
    EXPECT_EQ(full->customer().contacts_size(), 1);
    EXPECT_EQ(full->customer().basic().name(), "Private Ltd");
  }
}

// No existence leaks: a customer the caller may not see answers every read and
// write exactly like one that does not exist (code and message), and the
// duplicate check names a duplicate only to a caller who may see it.
TEST_F(CustomerAppTest, AnInvisibleCustomerIsIndistinguishableFromAnAbsentOne) {
  const std::string hidden = Register("Hidden Ltd", "alice", "north");
  const std::string absent = "no-such-customer";
  // Bob (another owner) and a manager of another region do not see it.
  for (const Principal& who :
       {bob_, Principal{"sam", {Role::kRegionalManager}, "south"}, Principal{"x", {}, ""}}) {
    SCOPED_TRACE(who.subject);
    const auto same = [&](auto rpc, auto req_of) {
      auto on_hidden = Call(rpc, who, req_of(hidden)).status();
      auto on_absent = Call(rpc, who, req_of(absent)).status();
      EXPECT_EQ(on_hidden.code(), Code::kNotFound) << on_hidden;
      EXPECT_EQ(on_hidden.message(), absl::StrCat("customer ", hidden, " not found"));
      EXPECT_EQ(on_absent.message(), absl::StrCat("customer ", absent, " not found"));
      // Byte for byte the same once the id is taken out.
      EXPECT_EQ(on_hidden.code(), on_absent.code());
      EXPECT_EQ(absl::StrReplaceAll(on_hidden.message(), {{hidden, "ID"}}),
                absl::StrReplaceAll(on_absent.message(), {{absent, "ID"}}));
    };
    same(&CustomerApp::GetCustomer, [](const std::string& id) {
      v1::GetCustomerRequest r;
      r.set_customer_id(id);
      return r;
    });
    same(&CustomerApp::GetCustomerHistory, [](const std::string& id) {
      v1::GetCustomerHistoryRequest r;
      r.set_customer_id(id);
      return r;
    });
    same(&CustomerApp::AddContact, [&](const std::string& id) { return Contact(id, "Li Lei"); });
    same(&CustomerApp::AssignOwner, [&](const std::string& id) {
      v1::AssignOwnerRequest r;
      r.set_customer_id(id);
      r.set_owner(who.subject);
      return r;
    });
    same(&CustomerApp::GrantAccess, [&](const std::string& id) {
      v1::GrantAccessRequest r;
      r.set_customer_id(id);
      r.set_subject(who.subject);
      *r.mutable_expires_at() = ToProtoTimestamp(clock_.Now() + absl::Hours(1));
      return r;
    });
  }

  // The duplicate check: alice (who sees it) is told its id; bob is refused the
  // same way but learns neither id nor name.
  v1::RegisterCustomerRequest dup;
  dup.mutable_basic()->set_name("  HIDDEN   ltd ");
  auto alices = Call(&CustomerApp::RegisterCustomer, alice_, dup);
  EXPECT_EQ(alices.status().code(), Code::kAlreadyExists);
  EXPECT_THAT(std::string(alices.status().message()), HasSubstr(hidden));
  auto bobs = Call(&CustomerApp::RegisterCustomer, bob_, dup);
  EXPECT_EQ(bobs.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(bobs.status().message(),
            "possible duplicate of a customer you cannot see (same name); set "
            "confirm_duplicate to register anyway");
  EXPECT_THAT(std::string(bobs.status().message()), Not(HasSubstr(hidden)));
  EXPECT_THAT(std::string(bobs.status().message()), Not(HasSubstr("Hidden")));
  // Confirmed: registered, and the event does not name the hidden duplicate
  // (bob may read his customer's history); alice's confirmation does.
  dup.set_confirm_duplicate(true);
  auto alices_own = Call(&CustomerApp::RegisterCustomer, alice_, dup);
  ASSERT_TRUE(alices_own.ok()) << alices_own.status();
  auto bobs_own = Call(&CustomerApp::RegisterCustomer, bob_, dup);
  ASSERT_TRUE(bobs_own.ok()) << bobs_own.status();
  const auto registered_event = [&](const Principal& who, const std::string& id) {
    v1::GetCustomerHistoryRequest r;
    r.set_customer_id(id);
    auto h = Call(&CustomerApp::GetCustomerHistory, who, r);
    EXPECT_TRUE(h.ok()) << h.status();
    v1::CustomerEvent e;
    if (h.ok() && h->entries_size() > 0) e = h->entries(0).event();
    return e;
  };
  const v1::CustomerEvent bobs_event = registered_event(bob_, bobs_own->customer_id());
  EXPECT_TRUE(bobs_event.has_registered());
  EXPECT_EQ(bobs_event.registered().confirmed_duplicate_of(), "");
  EXPECT_EQ(registered_event(alice_, alices_own->customer_id()).registered().confirmed_duplicate_of(),
            hidden);
}

// A page token is sealed and bound to its list, its filters and its caller: it
// shows no key, survives a restart, and any other use is INVALID_ARGUMENT.
TEST_F(CustomerAppTest, APageTokenOpensOnlyForItsListFiltersAndCaller) {
  std::string hidden;
  for (int i = 0; i < 6; ++i) {
    const std::string id = Register(absl::StrCat("Acme ", i), "alice", "north");
    if (i == 0) hidden = id;
  }
  v1::ListCustomersRequest list;
  list.set_page_size(2);
  list.set_region("north");
  auto first = Call(&CustomerApp::ListCustomers, alice_, list);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->customers_size(), 2);
  const std::string token = first->next_page_token();
  ASSERT_FALSE(token.empty());
  EXPECT_THAT(token, Not(HasSubstr("Acme")));
  EXPECT_THAT(token, Not(HasSubstr(first->customers(1).customer_id())));

  // The next pages, also after a restart (the key is kept in the store).
  std::set<std::string> seen;
  for (const auto& c : first->customers()) seen.insert(c.customer_id());
  Open();
  list.set_page_token(token);
  for (int pages = 0; !list.page_token().empty() && pages < 10; ++pages) {
    auto page = Call(&CustomerApp::ListCustomers, alice_, list);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& c : page->customers()) EXPECT_TRUE(seen.insert(c.customer_id()).second);
    list.set_page_token(page->next_page_token());
  }
  EXPECT_EQ(seen.size(), 6u);

  const auto expect_refused = [](const absl::Status& s) {
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s;
    EXPECT_EQ(s.message(), "page_token: not a token of this list");
  };
  list.set_page_token(token);
  // Another caller (same scope, same filters).
  expect_refused(Call(&CustomerApp::ListCustomers, bob_, list).status());
  // Another filter; another page size is the same list.
  v1::ListCustomersRequest other = list;
  other.set_industry("retail");
  expect_refused(Call(&CustomerApp::ListCustomers, alice_, other).status());
  other = list;
  other.set_page_size(3);
  EXPECT_TRUE(Call(&CustomerApp::ListCustomers, alice_, other).ok());
  // Another list of the same store.
  v1::GetCustomerHistoryRequest history;
  history.set_customer_id(hidden);
  history.set_page_token(token);
  expect_refused(Call(&CustomerApp::GetCustomerHistory, alice_, history).status());
  // Altered, truncated, made up, or an old-style (plain base64 key) token.
  std::string altered = token;
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {altered, token.substr(0, token.size() - 4), std::string("3"),
                                 std::string("bmFtZQBhY21l")}) {
    list.set_page_token(bad);
    auto r = Call(&CustomerApp::ListCustomers, alice_, list);
    expect_refused(r.status());
    EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr(bad)));
  }

  // A history token: bound to its customer and caller too.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Call(&CustomerApp::AddContact, alice_, Contact(hidden, absl::StrCat("C", i))).ok());
  }
  history.clear_page_token();
  history.set_page_size(2);
  auto h1 = Call(&CustomerApp::GetCustomerHistory, alice_, history);
  ASSERT_TRUE(h1.ok()) << h1.status();
  ASSERT_FALSE(h1->next_page_token().empty());
  history.set_page_token(h1->next_page_token());
  auto h2 = Call(&CustomerApp::GetCustomerHistory, alice_, history);
  ASSERT_TRUE(h2.ok()) << h2.status();
  ASSERT_GE(h2->entries_size(), 1);
  EXPECT_EQ(h2->entries(0).version(), 3u);  // after the last one returned
  expect_refused(Call(&CustomerApp::GetCustomerHistory, manager_, history).status());
  list.set_page_token(h1->next_page_token());
  expect_refused(Call(&CustomerApp::ListCustomers, alice_, list).status());
}

// -----------------------------------------------------------------------------
// Conversion: crm.interaction.v1.events' OpportunityWon

class ConversionTest : public CustomerAppTest {
 protected:
  // Hands one record to the consumer main.cc runs, as the runner would (topic,
  // event id, actor, correlation), and commits the rows it asks for; returns them.
  std::vector<eventstore::ProjectionWrite> Consume(std::string_view topic,
                                                   const std::string& payload,
                                                   const std::string& event_id,
                                                   const std::string& actor = "alice",
                                                   const std::string& correlation_id = "") {
    messaging::ConsumedEvent record;
    record.topic = std::string(topic);
    record.event.set_event_id(event_id);
    record.event.set_actor(actor);
    record.event.set_correlation_id(correlation_id);
    record.event.set_global_position(++position_);
    record.event.set_payload(payload);
    messaging::PendingWritesView view(store_.get());
    std::vector<eventstore::ProjectionWrite> writes;
    EXPECT_TRUE(consumer_->Handle(record, view, writes).ok());
    if (!writes.empty()) {
      EXPECT_TRUE(store_->WriteProjections(writes).ok());
    }
    return writes;
  }

  static std::string Won(const std::string& customer, const std::string& opportunity) {
    interaction::v1::InteractionEvent e;
    e.set_customer_id(customer);
    e.set_opportunity_id(opportunity);
    e.mutable_opportunity_won()->set_from(interaction::v1::OPPORTUNITY_STAGE_NEGOTIATION);
    e.mutable_opportunity_won()->mutable_final_amount()->set_currency_code("CNY");
    e.mutable_opportunity_won()->mutable_final_amount()->set_amount_minor(12000000);
    return e.SerializeAsString();
  }

  void ConsumeWon(const std::string& customer, const std::string& opportunity,
                  const std::string& event_id, const std::string& actor = "alice",
                  const std::string& correlation_id = "") {
    EXPECT_EQ(Consume(messaging::kInteractionTopic, Won(customer, opportunity), event_id, actor,
                      correlation_id)
                  .size(),
              1u);
  }

  int Convert() {
    absl::StatusOr<int> n = app_->ReactToInteractionEvents();
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  void SetLifecycle(const std::string& id, v1::Lifecycle to) {
    v1::ChangeLifecycleRequest req;
    req.set_customer_id(id);
    req.set_lifecycle(to);
    if (to == v1::LIFECYCLE_CHURNED) req.set_churn_reason("went with a competitor");
    auto r = Call(&CustomerApp::ChangeLifecycle, exec_, req);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  v1::Customer Get(const std::string& id) {
    v1::GetCustomerRequest req;
    req.set_customer_id(id);
    auto r = Call(&CustomerApp::GetCustomer, exec_, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->customer() : v1::Customer();
  }

  std::vector<eventstore::EventEnvelope> Stream(const std::string& id) {
    auto events = store_->ReadStream(StreamFor(id), 1, 1000);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *std::move(events) : std::vector<eventstore::EventEnvelope>();
  }

  size_t Queued() { return Rows({std::string(kReactionQueueProjection)}).begin()->second.size(); }

  std::unique_ptr<messaging::EventHandler> consumer_ = NewCustomerConsumer();
  uint64_t position_ = 0;
};

TEST_F(ConversionTest, AWonOpportunityMakesTheCustomerCooperatingCausedByItAndItsActor) {
  const std::string potential = Register("Potential Ltd", "alice", "north");
  const std::string following = Register("Following Ltd", "alice", "north");
  SetLifecycle(following, v1::LIFECYCLE_FOLLOWING);
  ConsumeWon(potential, "opp-1", "won-event-1", "alice", "corr-1");
  ConsumeWon(following, "opp-2", "won-event-2", "bob");
  EXPECT_EQ(Queued(), 2u);

  EXPECT_EQ(Convert(), 2);
  EXPECT_EQ(Queued(), 0u);
  EXPECT_EQ(Get(potential).lifecycle(), v1::LIFECYCLE_COOPERATING);
  EXPECT_EQ(Get(following).lifecycle(), v1::LIFECYCLE_COOPERATING);

  struct Case {
    std::string customer, opportunity, won_event, actor, correlation;
    v1::Lifecycle from;
  };
  for (const Case& c : {Case{potential, "opp-1", "won-event-1", "alice", "corr-1",
                             v1::LIFECYCLE_POTENTIAL},
                        Case{following, "opp-2", "won-event-2", "bob", "won-event-2",
                             v1::LIFECYCLE_FOLLOWING}}) {
    SCOPED_TRACE(c.opportunity);
    const std::vector<eventstore::EventEnvelope> events = Stream(c.customer);
    ASSERT_FALSE(events.empty());
    const eventstore::EventEnvelope& last = events.back();
    EXPECT_EQ(last.event_type(), "crm.customer.v1.LifecycleChanged");
    EXPECT_EQ(last.actor(), c.actor);
    EXPECT_EQ(last.causation_id(), c.won_event);
    EXPECT_EQ(last.correlation_id(), c.correlation);  // the won event's, else its id
    EXPECT_EQ(last.command_id(), c.won_event);
    v1::CustomerEvent e;
    ASSERT_TRUE(e.ParseFromString(last.payload()));
    EXPECT_EQ(e.lifecycle_changed().from(), c.from);
    EXPECT_EQ(e.lifecycle_changed().to(), v1::LIFECYCLE_COOPERATING);
    EXPECT_EQ(e.lifecycle_changed().opportunity_id(), c.opportunity);
    EXPECT_EQ(e.lifecycle_changed().reason(), "opportunity " + c.opportunity + " won");
    EXPECT_FALSE(e.lifecycle_changed().win_back());
  }
  // The history shows who won it.
  v1::GetCustomerHistoryRequest history;
  history.set_customer_id(potential);
  auto h = Call(&CustomerApp::GetCustomerHistory, exec_, history);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->entries(h->entries_size() - 1).actor(), "alice");
  // The rows the conversion wrote come back from the log alone.
  ExpectRebuildReproducesTheRows(*NewRebuildProjector(), CustomerRebuildTargets());
}

TEST_F(ConversionTest, ARedeliveredWonEventChangesNothingAgainAlsoAfterARestart) {
  const std::string id = Register("Once Ltd", "alice", "north");
  ConsumeWon(id, "opp-1", "won-event-1");
  ConsumeWon(id, "opp-1", "won-event-1");  // redelivered before the worker ran: one row
  EXPECT_EQ(Queued(), 1u);
  EXPECT_EQ(Convert(), 1);
  const size_t after_conversion = Stream(id).size();

  // The owner moves the customer back; then the same event arrives again (a
  // rewind past the runner's offsets), after a restart.
  SetLifecycle(id, v1::LIFECYCLE_FOLLOWING);
  Open();
  consumer_ = NewCustomerConsumer();
  ConsumeWon(id, "opp-1", "won-event-1");
  Convert();
  EXPECT_EQ(Queued(), 0u);
  EXPECT_EQ(Stream(id).size(), after_conversion + 1);  // only the owner's change
  EXPECT_EQ(Get(id).lifecycle(), v1::LIFECYCLE_FOLLOWING);

  // Another win (the opportunity reopened and won again) is another cause.
  ConsumeWon(id, "opp-1", "won-event-2");
  EXPECT_EQ(Convert(), 1);
  EXPECT_EQ(Get(id).lifecycle(), v1::LIFECYCLE_COOPERATING);
  EXPECT_EQ(Stream(id).back().causation_id(), "won-event-2");
}

TEST_F(ConversionTest, ACooperatingOrChurnedCustomerIsLeftUnchanged) {
  const std::string cooperating = Register("Cooperating Ltd", "alice", "north");
  SetLifecycle(cooperating, v1::LIFECYCLE_COOPERATING);
  const std::string churned = Register("Churned Ltd", "alice", "north");
  SetLifecycle(churned, v1::LIFECYCLE_CHURNED);
  const uint64_t cooperating_version = Get(cooperating).version();
  const uint64_t churned_version = Get(churned).version();
  ConsumeWon(cooperating, "opp-1", "won-event-1");
  ConsumeWon(churned, "opp-2", "won-event-2");
  ConsumeWon("no-such-customer", "opp-3", "won-event-3");  // logged and dropped

  EXPECT_EQ(Convert(), 0);
  EXPECT_EQ(Queued(), 0u);
  EXPECT_EQ(Get(cooperating).version(), cooperating_version);
  EXPECT_EQ(Get(cooperating).lifecycle(), v1::LIFECYCLE_COOPERATING);
  EXPECT_EQ(Get(churned).version(), churned_version);
  EXPECT_EQ(Get(churned).lifecycle(), v1::LIFECYCLE_CHURNED);
}

std::string LossConfirmed(const std::string& customer, const std::string& case_id,
                          interaction::v1::ChurnLossReason reason, const std::string& text) {
  interaction::v1::InteractionEvent e;
  e.set_customer_id(customer);
  e.set_churn_case_id(case_id);
  e.mutable_churn_loss_confirmed()->set_reason(reason);
  e.mutable_churn_loss_confirmed()->set_reason_text(text);
  return e.SerializeAsString();
}

TEST_F(ConversionTest, AConfirmedChurnLossMakesTheCustomerChurnedWithItsReasonOnce) {
  const std::string cooperating = Register("Leaving Ltd", "alice", "north");
  SetLifecycle(cooperating, v1::LIFECYCLE_COOPERATING);
  const std::string potential = Register("Never Ltd", "alice", "north");
  const std::string churned = Register("Gone Ltd", "alice", "north");
  SetLifecycle(churned, v1::LIFECYCLE_CHURNED);
  const uint64_t churned_version = Get(churned).version();
  for (int delivery = 0; delivery < 2; ++delivery) {  // redelivered before the worker ran
    EXPECT_EQ(Consume(messaging::kInteractionTopic,
                      LossConfirmed(cooperating, "case-1", interaction::v1::CHURN_LOSS_REASON_COMPETITOR,
                                    "moved to Acme"),
                      "loss-event-1", "bob", "corr-9")
                  .size(),
              1u);
  }
  EXPECT_EQ(Consume(messaging::kInteractionTopic,
                    LossConfirmed(potential, "case-2", interaction::v1::CHURN_LOSS_REASON_PRICE, ""),
                    "loss-event-2", "carol")
                .size(),
            1u);
  EXPECT_EQ(Consume(messaging::kInteractionTopic,
                    LossConfirmed(churned, "case-3", interaction::v1::CHURN_LOSS_REASON_PRICE, ""),
                    "loss-event-3")
                .size(),
            1u);
  EXPECT_EQ(Queued(), 3u);
  EXPECT_EQ(Convert(), 2);
  EXPECT_EQ(Queued(), 0u);

  const v1::Customer lost = Get(cooperating);
  EXPECT_EQ(lost.lifecycle(), v1::LIFECYCLE_CHURNED);
  const eventstore::EventEnvelope last = Stream(cooperating).back();
  EXPECT_EQ(last.actor(), "bob");
  EXPECT_EQ(last.causation_id(), "loss-event-1");
  EXPECT_EQ(last.correlation_id(), "corr-9");
  v1::CustomerEvent e;
  ASSERT_TRUE(e.ParseFromString(last.payload()));
  EXPECT_EQ(e.lifecycle_changed().from(), v1::LIFECYCLE_COOPERATING);
  EXPECT_EQ(e.lifecycle_changed().to(), v1::LIFECYCLE_CHURNED);
  EXPECT_EQ(e.lifecycle_changed().churn_reason(), "COMPETITOR: moved to Acme");
  EXPECT_EQ(e.lifecycle_changed().churn_case_id(), "case-1");
  EXPECT_EQ(e.lifecycle_changed().reason(), "churn case case-1: loss confirmed");
  ASSERT_TRUE(e.ParseFromString(Stream(potential).back().payload()));
  EXPECT_EQ(e.lifecycle_changed().churn_reason(), "PRICE");
  EXPECT_EQ(Get(churned).version(), churned_version);  // already churned: unchanged

  // Won back by its owner; the same loss event replayed changes nothing.
  SetLifecycle(cooperating, v1::LIFECYCLE_FOLLOWING);
  const size_t events = Stream(cooperating).size();
  Consume(messaging::kInteractionTopic,
          LossConfirmed(cooperating, "case-1", interaction::v1::CHURN_LOSS_REASON_COMPETITOR,
                        "moved to Acme"),
          "loss-event-1", "bob", "corr-9");
  Convert();
  EXPECT_EQ(Stream(cooperating).size(), events);
  EXPECT_EQ(Get(cooperating).lifecycle(), v1::LIFECYCLE_FOLLOWING);
}

TEST_F(ConversionTest, OtherInteractionKindsAreIgnoredAndClassesStillArrive) {
  const std::string id = Register("Busy Ltd", "alice", "north");
  interaction::v1::InteractionEvent visit;
  visit.set_interaction_id("visit-1");
  visit.set_customer_id(id);
  visit.mutable_visit_planned()->set_owner("alice");
  interaction::v1::InteractionEvent created;
  created.set_customer_id(id);
  created.set_opportunity_id("opp-1");
  created.mutable_opportunity_created();
  interaction::v1::InteractionEvent lost;
  lost.set_customer_id(id);
  lost.set_opportunity_id("opp-2");
  lost.mutable_opportunity_lost()->set_reason(interaction::v1::LOST_REASON_PRICE);
  interaction::v1::InteractionEvent reopened;
  reopened.set_customer_id(id);
  reopened.set_opportunity_id("opp-2");
  reopened.mutable_opportunity_reopened();
  int n = 0;
  for (const std::string& payload :
       {visit.SerializeAsString(), created.SerializeAsString(), lost.SerializeAsString(),
        reopened.SerializeAsString()}) {
    EXPECT_TRUE(Consume(messaging::kInteractionTopic, payload, absl::StrCat("other-", ++n)).empty())
        << "record " << n;
  }
  // A kind added after this service was built (an unknown field, no kind), bytes
  // that do not parse, and a won opportunity without its customer are permanent
  // errors: the runner dead-letters them (replayable), nothing is written.
  interaction::v1::InteractionEvent future;
  future.set_customer_id(id);
  future.GetReflection()->MutableUnknownFields(&future)->AddVarint(99, 1);
  for (const auto& [payload, code] : std::vector<std::pair<std::string, absl::StatusCode>>{
           {future.SerializeAsString(), absl::StatusCode::kUnimplemented},
           {std::string(), absl::StatusCode::kUnimplemented},
           {std::string("\xff\xff"), absl::StatusCode::kInvalidArgument},
           {Won("", "opp-9"), absl::StatusCode::kInvalidArgument}}) {
    messaging::ConsumedEvent record;
    record.topic = std::string(messaging::kInteractionTopic);
    record.event.set_payload(payload);
    std::vector<eventstore::ProjectionWrite> writes;
    const absl::Status s =
        consumer_->Handle(record, messaging::PendingWritesView(store_.get()), writes);
    EXPECT_EQ(s.code(), code) << s;
    EXPECT_TRUE(messaging::IsPermanentHandlerError(s)) << s;
  }
  // An OpportunityWon's bytes on a topic this service does not consume are not read as one.
  EXPECT_TRUE(Consume("crm.other.v1.events", Won(id, "opp-9"), "other-1").empty());
  EXPECT_EQ(Queued(), 0u);
  EXPECT_EQ(Convert(), 0);
  EXPECT_EQ(Get(id).lifecycle(), v1::LIFECYCLE_POTENTIAL);
  EXPECT_EQ(Get(id).version(), 1u);

  classification::v1::ClassificationEvent classified;
  classified.set_customer_id(id);
  classified.mutable_classified()->set_scheme(classification::v1::SCHEME_ABCD);
  classified.mutable_classified()->set_new_class("A");
  EXPECT_EQ(Consume(messaging::kClassificationTopic, classified.SerializeAsString(), "class-1").size(),
            1u);
  EXPECT_EQ(Get(id).customer_class(), "A");
}

// Seed 004 §7.1: a service agent reads the customers whose open tickets are
// assigned to it, from crm.ticket.v1.events (TicketAgentsHandler), and loses them
// when the ticket closes or moves to someone else; it never writes them.
class AgentAccessTest : public ConversionTest {
 protected:
  static std::string Ticket(const std::string& customer, const std::string& ticket,
                            const std::function<void(ticket::v1::TicketEvent&)>& kind) {
    ticket::v1::TicketEvent e;
    e.set_customer_id(customer);
    e.set_ticket_id(ticket);
    kind(e);
    return e.SerializeAsString();
  }
  static std::string Opened(const std::string& c, const std::string& t) {
    return Ticket(c, t, [](ticket::v1::TicketEvent& e) { e.mutable_opened()->set_owner("alice"); });
  }
  static std::string Assigned(const std::string& c, const std::string& t, const std::string& to) {
    return Ticket(c, t, [&](ticket::v1::TicketEvent& e) { e.mutable_assigned()->set_to_assignee(to); });
  }
  static std::string Closed(const std::string& c, const std::string& t) {
    return Ticket(c, t, [](ticket::v1::TicketEvent& e) { e.mutable_closed()->set_reason("done"); });
  }
  static std::string Reopened(const std::string& c, const std::string& t) {
    return Ticket(c, t, [](ticket::v1::TicketEvent& e) { e.mutable_reopened()->set_reason("again"); });
  }
  void Feed(const std::string& payload) {
    Consume(messaging::kTicketTopic, payload, absl::StrCat("ticket-event-", ++events_));
  }

  Code Read(const Principal& who, const std::string& id) {
    v1::GetCustomerRequest get;
    get.set_customer_id(id);
    const Code code = Call(&CustomerApp::GetCustomer, who, get).status().code();
    v1::GetCustomerHistoryRequest history;
    history.set_customer_id(id);
    EXPECT_EQ(Call(&CustomerApp::GetCustomerHistory, who, history).status().code(), code) << id;
    return code;
  }
  std::set<std::string> Listed(const Principal& who) {
    v1::ListCustomersRequest req;
    auto r = Call(&CustomerApp::ListCustomers, who, req);
    EXPECT_TRUE(r.ok()) << r.status();
    std::set<std::string> ids;
    if (r.ok()) {
      for (const auto& c : r->customers()) ids.insert(c.customer_id());
    }
    return ids;
  }
  std::set<std::string> Served(const std::string& agent) {
    auto s = CustomersServedBy(*store_, agent);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : std::set<std::string>();
  }

  const Principal xena_{"xena", {Role::kServiceAgent}, "north"};
  const Principal yuri_{"yuri", {Role::kServiceAgent}, "north"};
  int events_ = 0;
};

TEST_F(AgentAccessTest, OpenAssignReassignCloseReopen) {
  const std::string id = Register("Served Ltd", "alice", "north");
  const std::string own = Register("Xena's Own", "xena", "north");
  EXPECT_EQ(Read(xena_, id), Code::kNotFound);
  EXPECT_EQ(Listed(xena_), (std::set<std::string>{own}));

  Feed(Opened(id, "t-1"));  // open, nobody assigned yet
  EXPECT_EQ(Read(xena_, id), Code::kNotFound);
  EXPECT_TRUE(Served("xena").empty());

  Feed(Assigned(id, "t-1", "xena"));
  EXPECT_EQ(Read(xena_, id), Code::kOk);
  EXPECT_EQ(Read(yuri_, id), Code::kNotFound);
  EXPECT_EQ(Listed(xena_), (std::set<std::string>{id, own}));
  EXPECT_EQ(Served("xena"), (std::set<std::string>{id}));

  // Reading is all: the customer's owner edits it, the agent does not.
  v1::UpdateCustomerRequest update;
  update.set_customer_id(id);
  update.mutable_basic()->set_name("Renamed");
  EXPECT_EQ(Call(&CustomerApp::UpdateCustomer, xena_, update).status().code(), Code::kNotFound);
  // Only service agents: a sales rep named as assignee reads nothing through it.
  Feed(Assigned(id, "t-2", "bob"));
  EXPECT_EQ(Read(bob_, id), Code::kNotFound);

  Feed(Assigned(id, "t-1", "yuri"));  // reassigned: the access moves
  EXPECT_EQ(Read(xena_, id), Code::kNotFound);
  EXPECT_EQ(Read(yuri_, id), Code::kOk);
  EXPECT_EQ(Listed(xena_), (std::set<std::string>{own}));
  EXPECT_EQ(Listed(yuri_), (std::set<std::string>{id}));

  Feed(Assigned(id, "t-1", "xena"));
  Feed(Closed(id, "t-1"));  // closed: gone
  EXPECT_EQ(Read(xena_, id), Code::kNotFound);
  EXPECT_TRUE(Served("xena").empty());
  EXPECT_EQ(Listed(xena_), (std::set<std::string>{own}));

  Feed(Reopened(id, "t-1"));  // reopened: back to its assignee
  EXPECT_EQ(Read(xena_, id), Code::kOk);
  // A redelivered record writes the same rows again: still one served customer.
  Feed(Reopened(id, "t-1"));
  Feed(Assigned(id, "t-1", "xena"));
  EXPECT_EQ(Served("xena"), (std::set<std::string>{id}));
  Feed(Closed(id, "t-1"));
  EXPECT_EQ(Read(xena_, id), Code::kNotFound);
  // An Opened of a ticket already known changes nothing.
  Feed(Opened(id, "t-1"));
  EXPECT_EQ(Read(xena_, id), Code::kNotFound);
}

TEST_F(AgentAccessTest, SeveralTicketsInOneBatchAndInvalidRecords) {
  const std::string id = Register("Busy Ltd", "alice", "north");
  // Two tickets; one closing leaves the other's access. Fed through one batch
  // view, as the runner does, so later events read the earlier ones' rows.
  messaging::PendingWritesView view(store_.get());
  std::vector<eventstore::ProjectionWrite> all;
  int n = 0;
  for (const std::string& payload :
       {Opened(id, "t-a"), Assigned(id, "t-a", "xena"), Opened(id, "t-b"),
        Assigned(id, "t-b", "xena"), Closed(id, "t-a")}) {
    messaging::ConsumedEvent record;
    record.topic = std::string(messaging::kTicketTopic);
    record.event.set_event_id(absl::StrCat("batch-", ++n));
    record.event.set_payload(payload);
    std::vector<eventstore::ProjectionWrite> writes;
    ASSERT_TRUE(consumer_->Handle(record, view, writes).ok());
    view.Apply(writes);
    all.insert(all.end(), writes.begin(), writes.end());
  }
  ASSERT_TRUE(store_->WriteProjections(all).ok());
  EXPECT_EQ(Read(xena_, id), Code::kOk);
  Feed(Closed(id, "t-b"));
  EXPECT_EQ(Read(xena_, id), Code::kNotFound);

  // Other kinds write nothing; an assignment without ids is a dead letter.
  EXPECT_TRUE(Consume(messaging::kTicketTopic,
                      Ticket(id, "t-a", [](ticket::v1::TicketEvent& e) {
                        e.mutable_comment_added();
                      }),
                      "comment-1")
                  .empty());
  messaging::ConsumedEvent bad;
  bad.topic = std::string(messaging::kTicketTopic);
  bad.event.set_payload(Assigned("", "t-z", "xena"));
  std::vector<eventstore::ProjectionWrite> writes;
  const absl::Status s = consumer_->Handle(bad, messaging::PendingWritesView(store_.get()), writes);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s;
  EXPECT_TRUE(messaging::IsPermanentHandlerError(s)) << s;
}

}  // namespace
}  // namespace crm::customer
