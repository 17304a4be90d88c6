// End to end over real processes: crm-devbroker + crm-customer + crm-ticket.
// Seed 004 §7.1, service staff see the customers they serve: a service agent
// reads a customer (GetCustomer, GetCustomerHistory, ListCustomers) while an open
// ticket of that customer is assigned to it in crm-ticket (crm-customer consumes
// crm.ticket.v1.events), never edits it, and loses it when the ticket closes.
// Before and after, the customer is NOT_FOUND for the agent, like an absent one.
#include <set>
#include <string>
#include <vector>

#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/runtime/log.h"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace tv1 = ::crm::ticket::v1;
namespace cv1 = ::crm::customer::v1;
using crm::testing::CallAs;
using crm::testing::DevToken;
using crm::testing::Eventually;
using crm::testing::ServiceProcess;

class AgentAccessE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::SetLogLevel(runtime::LogLevel::kError);
    broker_ = std::make_unique<messaging::testing::DevBroker>(DEVBROKER_PATH, dir_.path());
    customer_ = std::make_unique<ServiceProcess>(
        CUSTOMER_PATH,
        std::vector<std::string>{"--data_dir=" + dir_.path() + "/customer",
                                 "--kafka_brokers=" + broker_->bootstrap(), Secret(),
                                 "--kafka_session_timeout_ms=6000"});
    ticket_ = std::make_unique<ServiceProcess>(
        TICKET_PATH,
        std::vector<std::string>{"--data_dir=" + dir_.path() + "/ticket",
                                 "--kafka_brokers=" + broker_->bootstrap(), Secret(),
                                 "--customer_addr=" + customer_->grpc_address(),
                                 "--kafka_session_timeout_ms=6000"});
    customers_ = cv1::CustomerService::NewStub(customer_->Channel());
    tickets_ = tv1::TicketService::NewStub(ticket_->Channel());
  }

  static std::string Secret() { return std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE; }

  grpc::StatusCode GetCustomer(const std::string& token, const std::string& id) {
    cv1::GetCustomerRequest req;
    req.set_customer_id(id);
    cv1::GetCustomerResponse resp;
    grpc::Status s = CallAs(*customers_, token, &cv1::CustomerService::Stub::GetCustomer, req, &resp);
    if (s.ok()) {
      EXPECT_EQ(resp.customer().customer_id(), id);
    }
    return s.error_code();
  }

  grpc::StatusCode History(const std::string& token, const std::string& id) {
    cv1::GetCustomerHistoryRequest req;
    req.set_customer_id(id);
    cv1::GetCustomerHistoryResponse resp;
    return CallAs(*customers_, token, &cv1::CustomerService::Stub::GetCustomerHistory, req, &resp)
        .error_code();
  }

  std::set<std::string> Listed(const std::string& token) {
    cv1::ListCustomersRequest req;
    cv1::ListCustomersResponse resp;
    grpc::Status s =
        CallAs(*customers_, token, &cv1::CustomerService::Stub::ListCustomers, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::set<std::string> ids;
    for (const auto& c : resp.customers()) ids.insert(c.customer_id());
    return ids;
  }

  template <typename Method, typename Req>
  void Ticket(const std::string& token, Method method, const Req& req) {
    tv1::WriteResponse w;
    grpc::Status s = CallAs(*tickets_, token, method, req, &w);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  crm::testing::TempDir dir_;
  std::unique_ptr<messaging::testing::DevBroker> broker_;
  std::unique_ptr<ServiceProcess> customer_, ticket_;
  std::unique_ptr<cv1::CustomerService::Stub> customers_;
  std::unique_ptr<tv1::TicketService::Stub> tickets_;
  const std::string alice_ = DevToken("alice", {"sales_rep"}, "north");
  const std::string xena_ = DevToken("xena", {"service_agent"}, "north");
  const std::string yuri_ = DevToken("yuri", {"service_agent"}, "north");
};

TEST_F(AgentAccessE2eTest, AnAgentReadsTheCustomerOfItsOpenTicketUntilItCloses) {
  cv1::RegisterCustomerRequest reg;
  reg.mutable_basic()->set_name("Served Ltd");
  cv1::RegisterCustomerResponse registered;
  ASSERT_TRUE(CallAs(*customers_, alice_, &cv1::CustomerService::Stub::RegisterCustomer, reg,
                     &registered)
                  .ok());
  const std::string id = registered.customer_id();

  // Not served yet: invisible equals absent.
  EXPECT_EQ(GetCustomer(xena_, id), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(History(xena_, id), grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(Listed(xena_).contains(id));

  // alice opens a ticket for it and assigns it to xena.
  tv1::OpenTicketRequest open;
  open.set_customer_id(id);
  open.set_type(tv1::TICKET_TYPE_COMPLAINT);
  open.set_channel(tv1::TICKET_CHANNEL_PHONE);
  open.set_priority(tv1::PRIORITY_HIGH);
  open.set_subject("wrong invoice");
  tv1::OpenTicketResponse opened;
  ASSERT_TRUE(
      CallAs(*tickets_, alice_, &tv1::TicketService::Stub::OpenTicket, open, &opened).ok());
  const std::string ticket = opened.ticket_id();
  tv1::AssignTicketRequest assign;
  assign.set_ticket_id(ticket);
  assign.set_assignee("xena");
  Ticket(alice_, &tv1::TicketService::Stub::AssignTicket, assign);

  // Once crm-customer consumed the assignment, xena reads the customer.
  ASSERT_TRUE(Eventually([&] { return GetCustomer(xena_, id) == grpc::StatusCode::OK; },
                         absl::Seconds(60)));
  EXPECT_EQ(History(xena_, id), grpc::StatusCode::OK);
  EXPECT_TRUE(Listed(xena_).contains(id));
  // Another agent does not; and xena reads, it does not edit.
  EXPECT_EQ(GetCustomer(yuri_, id), grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(Listed(yuri_).contains(id));
  cv1::UpdateCustomerRequest update;
  update.set_customer_id(id);
  update.add_update_paths("basic.name");
  update.mutable_basic()->set_name("Renamed by the agent");
  cv1::WriteResponse written;
  EXPECT_EQ(
      CallAs(*customers_, xena_, &cv1::CustomerService::Stub::UpdateCustomer, update, &written)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);

  // xena works the ticket to its end and closes it.
  tv1::StartInvestigationRequest start;
  start.set_ticket_id(ticket);
  Ticket(xena_, &tv1::TicketService::Stub::StartInvestigation, start);
  tv1::ProposeResolutionRequest propose;
  propose.set_ticket_id(ticket);
  propose.set_resolution("credit note");
  Ticket(xena_, &tv1::TicketService::Stub::ProposeResolution, propose);
  tv1::AnswerResolutionRequest answer;
  answer.set_ticket_id(ticket);
  answer.set_agreed(true);
  Ticket(xena_, &tv1::TicketService::Stub::AnswerResolution, answer);
  tv1::ResolveTicketRequest resolve;
  resolve.set_ticket_id(ticket);
  resolve.set_summary("credit note sent");
  Ticket(xena_, &tv1::TicketService::Stub::ResolveTicket, resolve);
  // Resolved is not closed: still served.
  EXPECT_EQ(GetCustomer(xena_, id), grpc::StatusCode::OK);
  tv1::CloseTicketRequest close;
  close.set_ticket_id(ticket);
  Ticket(xena_, &tv1::TicketService::Stub::CloseTicket, close);

  // Once the close is consumed, the customer is absent for xena again.
  ASSERT_TRUE(Eventually([&] { return GetCustomer(xena_, id) == grpc::StatusCode::NOT_FOUND; },
                         absl::Seconds(60)));
  EXPECT_EQ(History(xena_, id), grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(Listed(xena_).contains(id));
  // The owner still reads it, unchanged by the agent.
  cv1::GetCustomerRequest get;
  get.set_customer_id(id);
  cv1::GetCustomerResponse got;
  ASSERT_TRUE(CallAs(*customers_, alice_, &cv1::CustomerService::Stub::GetCustomer, get, &got).ok());
  EXPECT_EQ(got.customer().basic().name(), "Served Ltd");
}

}  // namespace
}  // namespace crm
