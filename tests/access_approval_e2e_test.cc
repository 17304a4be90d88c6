// Access approvals (issue 18 item 6, seed 004 §7) over a real crm-customer
// process: a sales rep cannot read another rep's customer; asks for access with a
// reason; an executive (neither general manager nor marketing director) cannot
// approve; the marketing director lists the pending request and approves it with
// an expiry a minute ahead; the rep reads the customer; once the service's clock
// (--test_clock_offset_file) is past the expiry, the rep cannot read it any more
// (the grant check at read time; no event is written at expiry).
#include <fstream>
#include <string>

#include "absl/time/clock.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/runtime/log.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace cv1 = ::crm::customer::v1;
using crm::testing::CallAs;
using crm::testing::DevToken;
using crm::testing::ServiceProcess;
using Stub = cv1::CustomerService::Stub;

TEST(AccessApprovalE2eTest, RequestApproveReadExpireOverARealProcess) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  messaging::testing::DevBroker broker(DEVBROKER_PATH, dir.path());
  const std::string offset_file = dir.path() + "/clock_offset";
  std::ofstream(offset_file) << 0;
  ServiceProcess customer(CUSTOMER_PATH, {"--data_dir=" + dir.path() + "/customer",
                                          "--kafka_brokers=" + broker.bootstrap(),
                                          std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE,
                                          "--test_clock_offset_file=" + offset_file});
  auto stub = cv1::CustomerService::NewStub(customer.Channel());
  const std::string alice = DevToken("alice", {"sales_rep"}, "north");
  const std::string bob = DevToken("bob", {"sales_rep"}, "north");
  const std::string exec = DevToken("erin", {"executive"}, "");
  const std::string md = DevToken("mark", {"marketing_director"}, "");
  const std::string service = DevToken("crm-ticket", {"service"}, "");

  cv1::RegisterCustomerRequest reg;
  reg.mutable_basic()->set_name("Approval Target Ltd");
  cv1::RegisterCustomerResponse registered;
  ASSERT_TRUE(CallAs(*stub, alice, &Stub::RegisterCustomer, reg, &registered).ok());
  const std::string id = registered.customer_id();

  cv1::GetCustomerRequest get;
  get.set_customer_id(id);
  cv1::GetCustomerResponse got;
  EXPECT_EQ(CallAs(*stub, bob, &Stub::GetCustomer, get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Bob asks, with a reason. A service token may not ask.
  cv1::RequestAccessRequest ask;
  ask.set_customer_id(id);
  ask.set_reason("covering alice's accounts during her leave");
  cv1::RequestAccessResponse asked;
  EXPECT_EQ(CallAs(*stub, service, &Stub::RequestAccess, ask, &asked).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status s = CallAs(*stub, bob, &Stub::RequestAccess, ask, &asked);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_FALSE(asked.request_id().empty());

  // An absent customer is answered the same way.
  cv1::RequestAccessRequest ask_absent = ask;
  ask_absent.set_customer_id("no-such-customer");
  cv1::RequestAccessResponse asked_absent;
  EXPECT_TRUE(CallAs(*stub, bob, &Stub::RequestAccess, ask_absent, &asked_absent).ok());
  EXPECT_EQ(asked_absent.ByteSizeLong(), asked.ByteSizeLong());

  // An executive can neither approve nor list.
  cv1::ApproveAccessRequestRequest approve;
  approve.set_request_id(asked.request_id());
  *approve.mutable_expires_at() = ToProtoTimestamp(absl::Now() + absl::Seconds(60));
  cv1::WriteResponse written;
  EXPECT_EQ(CallAs(*stub, exec, &Stub::ApproveAccessRequest, approve, &written).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  cv1::ListAccessRequestsRequest list;
  list.set_status(cv1::ACCESS_REQUEST_STATUS_PENDING);
  cv1::ListAccessRequestsResponse listed;
  EXPECT_EQ(CallAs(*stub, exec, &Stub::ListAccessRequests, list, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // The marketing director lists the pending request and approves it.
  s = CallAs(*stub, md, &Stub::ListAccessRequests, list, &listed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(listed.requests_size(), 1);
  EXPECT_EQ(listed.requests(0).request_id(), asked.request_id());
  EXPECT_EQ(listed.requests(0).subject(), "bob");
  EXPECT_EQ(listed.requests(0).reason(), ask.reason());
  s = CallAs(*stub, md, &Stub::ApproveAccessRequest, approve, &written);
  ASSERT_TRUE(s.ok()) << s.error_message();

  s = CallAs(*stub, bob, &Stub::GetCustomer, get, &got);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.customer().basic().name(), "Approval Target Ltd");

  // The request and the approval are in the history, with their actors.
  cv1::GetCustomerHistoryRequest history;
  history.set_customer_id(id);
  cv1::GetCustomerHistoryResponse entries;
  ASSERT_TRUE(CallAs(*stub, alice, &Stub::GetCustomerHistory, history, &entries).ok());
  std::string seen;
  for (const auto& e : entries.entries()) seen += e.event_type() + "/" + e.actor() + " ";
  EXPECT_NE(seen.find("crm.customer.v1.AccessRequested/bob"), std::string::npos) << seen;
  EXPECT_NE(seen.find("crm.customer.v1.AccessRequestApproved/mark"), std::string::npos) << seen;

  // Two minutes later (the service's clock) the grant has expired.
  std::ofstream(offset_file) << 120;
  absl::SleepFor(absl::Milliseconds(100));  // the clock re-reads its file every 20 ms
  EXPECT_EQ(CallAs(*stub, bob, &Stub::GetCustomer, get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace crm
