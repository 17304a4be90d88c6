// The customer service's app on a real store with a fake clock, driven the way
// the gRPC adapter drives it: the authorization matrix (every RPC × every role ×
// own / same region / other region / granted / expired grant), and the command-id
// contract (scoped to caller and RPC, replayed exactly, also after a restart,
// and only after the access check).
#include "crm/customer/app/customer_app.h"
#include "crm/customer/projection/customer_projection.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "command/testing/app_test.h"
#include "crm/common/proto_time.h"
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
      {"service", {true, true, true, true, true}, true, false, true},
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
      const Code want = rc.reads[r] ? Code::kOk : Code::kPermissionDenied;
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
      EXPECT_EQ(code(Call(&CustomerApp::RevokeAccess, caller, revoke)),
                rc.reads[r] && rc.grants ? Code::kOk : Code::kPermissionDenied);
      v1::GrantAccessRequest grant;
      grant.set_customer_id(ids[r]);
      grant.set_subject("someone-else");
      *grant.mutable_expires_at() = ToProtoTimestamp(clock_.Now() + absl::Hours(2));
      EXPECT_EQ(code(Call(&CustomerApp::GrantAccess, caller, grant)),
                rc.reads[r] && rc.grants ? Code::kOk : Code::kPermissionDenied);
      v1::AssignOwnerRequest assign;
      assign.set_customer_id(ids[r]);
      assign.set_owner("new-owner-" + me);
      EXPECT_EQ(code(Call(&CustomerApp::AssignOwner, caller, assign)),
                rc.reads[r] && rc.transfers ? Code::kOk : Code::kPermissionDenied);
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
  EXPECT_EQ(bobs.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(std::string(bobs.status().message()), Not(HasSubstr(first->contact_id())));
  // Once alice loses the customer, her own replay is refused too.
  v1::AssignOwnerRequest transfer;
  transfer.set_customer_id(id);
  transfer.set_owner("carol");
  ASSERT_TRUE(Call(&CustomerApp::AssignOwner, manager_, transfer).ok());
  auto replay = Call(&CustomerApp::AddContact, alice_, Contact(id, "Li Lei", "add-1"));
  EXPECT_EQ(replay.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(std::string(replay.status().message()), Not(HasSubstr(first->contact_id())));
  // A customer that does not exist is NOT_FOUND whatever the command id.
  EXPECT_EQ(Call(&CustomerApp::AddContact, alice_, Contact("no-such", "Li", "add-1")).status().code(),
            Code::kNotFound);
}

}  // namespace
}  // namespace crm::customer
