// Access requests and approvals (issue 18 item 6, seed 004 §7) on the customer
// app with a real store and a fake clock: who may request, approve, deny and list;
// an approval grants access until its expiry (the existing grant check); a denial
// gives nothing; an absent customer's request is answered like a real one.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "command/testing/app_test.h"
#include "crm/common/proto_time.h"
#include "crm/customer/app/customer_app.h"
#include "crm/customer/projection/customer_projection.h"
#include "gtest/gtest.h"

namespace crm::customer {
namespace {

using auth::Principal;
using auth::Role;
using Code = absl::StatusCode;

class AccessRequestTest : public command::testing::AppTest<CustomerApp> {
 protected:
  AccessRequestTest() : AppTest(absl::FromUnixSeconds(1790000000)) {}
  absl::StatusOr<std::unique_ptr<CustomerApp>> MakeApp(command::Pipeline& pipeline) override {
    return std::make_unique<CustomerApp>(pipeline);
  }

  std::string Register(const std::string& name, const std::string& owner) {
    v1::RegisterCustomerRequest req;
    req.mutable_basic()->set_name(name);
    req.set_owner(owner);
    req.set_region("north");
    auto r = Call(&CustomerApp::RegisterCustomer, exec_, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->customer_id() : "";
  }

  absl::StatusOr<v1::RequestAccessResponse> Request(const Principal& who, const std::string& id,
                                                    const std::string& reason = "renewal talks") {
    v1::RequestAccessRequest req;
    req.set_customer_id(id);
    req.set_reason(reason);
    return Call(&CustomerApp::RequestAccess, who, req);
  }

  absl::StatusOr<v1::WriteResponse> Approve(const Principal& who, const std::string& request_id,
                                            absl::Duration ahead = absl::Hours(1)) {
    v1::ApproveAccessRequestRequest req;
    req.set_request_id(request_id);
    *req.mutable_expires_at() = ToProtoTimestamp(clock_.Now() + ahead);
    return Call(&CustomerApp::ApproveAccessRequest, who, req);
  }

  absl::StatusOr<v1::WriteResponse> Deny(const Principal& who, const std::string& request_id) {
    v1::DenyAccessRequestRequest req;
    req.set_request_id(request_id);
    req.set_reason("not needed");
    return Call(&CustomerApp::DenyAccessRequest, who, req);
  }

  absl::StatusOr<v1::ListAccessRequestsResponse> List(
      const Principal& who, v1::AccessRequestStatus status = v1::ACCESS_REQUEST_STATUS_UNSPECIFIED) {
    v1::ListAccessRequestsRequest req;
    req.set_status(status);
    return Call(&CustomerApp::ListAccessRequests, who, req);
  }

  Code Reads(const Principal& who, const std::string& id) {
    v1::GetCustomerRequest get;
    get.set_customer_id(id);
    return Call(&CustomerApp::GetCustomer, who, get).status().code();
  }

  const Principal exec_{"boss", {Role::kExecutive}, ""};
  const Principal admin_{"root", {Role::kAdmin}, ""};
  const Principal gm_{"gina", {Role::kGeneralManager}, ""};
  const Principal md_{"mark", {Role::kMarketingDirector}, ""};
  const Principal alice_{"alice", {Role::kSalesRep}, "north"};
  const Principal bob_{"bob", {Role::kSalesRep}, "north"};
  const Principal manager_{"mia", {Role::kRegionalManager}, "north"};
  const Principal nobody_{"nora", {}, ""};
};

TEST_F(AccessRequestTest, ApprovalGrantsAccessUntilExpiryAndIsInTheHistory) {
  const std::string id = Register("Acme", "alice");
  EXPECT_EQ(Reads(bob_, id), Code::kNotFound);
  auto req = Request(bob_, id);
  ASSERT_TRUE(req.ok()) << req.status();
  ASSERT_FALSE(req->request_id().empty());

  auto pending = List(md_, v1::ACCESS_REQUEST_STATUS_PENDING);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->requests_size(), 1);
  EXPECT_EQ(pending->requests(0).request_id(), req->request_id());
  EXPECT_EQ(pending->requests(0).subject(), "bob");
  EXPECT_EQ(pending->requests(0).customer_id(), id);
  EXPECT_EQ(pending->requests(0).reason(), "renewal talks");

  auto approved = Approve(md_, req->request_id(), absl::Minutes(30));
  ASSERT_TRUE(approved.ok()) << approved.status();
  EXPECT_EQ(approved->event_ids_size(), 2);  // AccessRequestApproved + AccessGranted
  EXPECT_EQ(Reads(bob_, id), Code::kOk);
  EXPECT_EQ(List(gm_, v1::ACCESS_REQUEST_STATUS_PENDING)->requests_size(), 0);
  auto done = List(gm_, v1::ACCESS_REQUEST_STATUS_APPROVED);
  ASSERT_EQ(done->requests_size(), 1);
  EXPECT_EQ(done->requests(0).decided_by(), "mark");

  // The history holds the request and the approval, with their actors.
  v1::GetCustomerHistoryRequest history;
  history.set_customer_id(id);
  auto h = Call(&CustomerApp::GetCustomerHistory, exec_, history);
  ASSERT_TRUE(h.ok()) << h.status();
  std::string seen;
  for (const auto& e : h->entries()) absl::StrAppend(&seen, e.event_type(), "/", e.actor(), " ");
  EXPECT_NE(seen.find("crm.customer.v1.AccessRequested/bob"), std::string::npos) << seen;
  EXPECT_NE(seen.find("crm.customer.v1.AccessRequestApproved/mark"), std::string::npos) << seen;
  EXPECT_NE(seen.find("crm.customer.v1.AccessGranted/mark"), std::string::npos) << seen;

  // A decided request cannot be decided again.
  EXPECT_EQ(Approve(gm_, req->request_id()).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Deny(gm_, req->request_id()).status().code(), Code::kFailedPrecondition);

  clock_.Advance(absl::Minutes(31));  // the grant has expired: no event, the check refuses
  EXPECT_EQ(Reads(bob_, id), Code::kNotFound);
  ExpectRebuildReproducesTheRows(*NewRebuildProjector(), CustomerRebuildTargets());
}

TEST_F(AccessRequestTest, DenialGivesNothing) {
  const std::string id = Register("Beta", "alice");
  auto req = Request(bob_, id);
  ASSERT_TRUE(req.ok());
  ASSERT_TRUE(Deny(gm_, req->request_id()).ok());
  EXPECT_EQ(Reads(bob_, id), Code::kNotFound);
  auto denied = List(gm_, v1::ACCESS_REQUEST_STATUS_DENIED);
  ASSERT_EQ(denied->requests_size(), 1);
  EXPECT_EQ(denied->requests(0).decision_reason(), "not needed");
  EXPECT_EQ(Approve(gm_, req->request_id()).status().code(), Code::kFailedPrecondition);
}

TEST_F(AccessRequestTest, WhoMayRequestApproveDenyAndList) {
  const std::string id = Register("Gamma", "alice");
  // Anyone authenticated may ask, with or without a role, also for a visible customer.
  for (const Principal& who : {bob_, alice_, manager_, exec_, nobody_, gm_}) {
    EXPECT_TRUE(Request(who, id).ok()) << who.subject;
  }
  auto req = Request(bob_, id);
  ASSERT_TRUE(req.ok());
  // Only the general manager and the marketing director decide and list.
  for (const Principal& who : {bob_, alice_, manager_, exec_, admin_, nobody_}) {
    SCOPED_TRACE(who.subject);
    EXPECT_EQ(Approve(who, req->request_id()).status().code(), Code::kPermissionDenied);
    EXPECT_EQ(Deny(who, req->request_id()).status().code(), Code::kPermissionDenied);
    EXPECT_EQ(List(who).status().code(),
              who.subject == "root" ? Code::kOk : Code::kPermissionDenied);
    // Refused before anything is read: an unknown request answers the same.
    EXPECT_EQ(Approve(who, "no-such-request").status().code(), Code::kPermissionDenied);
  }
  EXPECT_EQ(Approve(gm_, "no-such-request").status().code(), Code::kNotFound);
  EXPECT_EQ(List(gm_)->requests_size(), 7);
  // Bounds: a reason is required; the expiry must be in the future.
  EXPECT_EQ(Request(bob_, id, "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Approve(md_, req->request_id(), -absl::Minutes(1)).status().code(),
            Code::kInvalidArgument);
}

TEST_F(AccessRequestTest, AnAbsentCustomerIsAnsweredLikeARealOneButNothingIsRecorded) {
  const std::string id = Register("Delta", "alice");
  auto real = Request(bob_, id);
  auto absent = Request(bob_, "no-such-customer");
  ASSERT_TRUE(real.ok());
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_EQ(real->ByteSizeLong(), absent->ByteSizeLong());
  EXPECT_EQ(Request(bob_, "no-such-customer", "").status().code(), Code::kInvalidArgument);
  auto all = List(gm_);
  ASSERT_EQ(all->requests_size(), 1);
  EXPECT_EQ(all->requests(0).customer_id(), id);
  EXPECT_EQ(Approve(gm_, absent->request_id()).status().code(), Code::kNotFound);
  // A replay (same command id) gets the first answer in both cases.
  for (const std::string& customer : {id, std::string("no-such-customer")}) {
    v1::RequestAccessRequest req;
    req.set_customer_id(customer);
    req.set_reason("replayed");
    req.set_command_id("cmd-" + customer);
    auto first = Call(&CustomerApp::RequestAccess, bob_, req);
    auto again = Call(&CustomerApp::RequestAccess, bob_, req);
    ASSERT_TRUE(first.ok() && again.ok()) << customer;
    EXPECT_EQ(first->request_id(), again->request_id()) << customer;
  }
}

TEST_F(AccessRequestTest, ListPagesWithSealedTokens) {
  const std::string id = Register("Epsilon", "alice");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Request(bob_, id, absl::StrCat("reason ", i)).ok());
  v1::ListAccessRequestsRequest req;
  req.set_page_size(2);
  int seen = 0;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = Call(&CustomerApp::ListAccessRequests, gm_, req);
    ASSERT_TRUE(page.ok()) << page.status();
    seen += page->requests_size();
    if (page->next_page_token().empty()) break;
    // The token opens only for its caller.
    v1::ListAccessRequestsRequest other = req;
    other.set_page_token(page->next_page_token());
    EXPECT_EQ(Call(&CustomerApp::ListAccessRequests, md_, other).status().code(),
              Code::kInvalidArgument);
    req.set_page_token(page->next_page_token());
  }
  EXPECT_EQ(seen, 5);
}

}  // namespace
}  // namespace crm::customer
