// End to end with gRPC over TLS between the suite's processes: crm-devbroker +
// crm-customer serving TLS + crm-ticket serving TLS and calling crm-customer over
// TLS (--customer_addr + --customer_tls_ca_file). A CA and a server certificate
// (SAN 127.0.0.1, localhost) are made with the openssl CLI in a temp dir.
//  - a customer registered over TLS is looked up by crm-ticket over TLS (a ticket
//    without Kafka, so the lookup is the only way it can know the customer);
//  - the same crm-ticket calling crm-customer in plaintext cannot open the ticket;
//  - register -> consumed from Kafka by crm-ticket: with crm-customer stopped, a
//    ticket for the customer opens from what crm-ticket consumed;
//  - --catch_up_from reads crm-customer's event log over TLS
//    (--catch_up_tls_ca_file);
//  - a plaintext client, and a TLS client that trusts another CA, cannot call
//    crm-customer's TLS port.
// The embedded broker speaks no TLS: Kafka's security settings are tested in
// libs/messaging/tests/kafka_security_test.cc.
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// `name`.pem/.key signed by `ca` (`ca`.pem/.key, self-signed, made first).
bool MakeCerts(const std::string& dir) {
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string cmd = absl::StrCat(
      "cd ", dir, " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext && ",
      "openssl req -x509 ", ec, " -keyout ca.key -out ca.pem -days 1 -subj /CN=crm-test-ca && ",
      "openssl req -x509 ", ec,
      " -keyout other-ca.key -out other-ca.pem -days 1 -subj /CN=other-ca && ",
      "openssl req ", ec, " -keyout server.key -out server.csr -subj /CN=crm-customer && ",
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial ",
      "-extfile san.ext -out server.pem -days 1 > openssl.log 2>&1");
  return std::system(cmd.c_str()) == 0;
}

class TlsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::SetLogLevel(runtime::LogLevel::kError);
    ASSERT_TRUE(MakeCerts(dir_.path())) << ReadAll(dir_.path() + "/openssl.log");
    broker_ = std::make_unique<messaging::testing::DevBroker>(DEVBROKER_PATH, dir_.path());
    customer_ = std::make_unique<ServiceProcess>(
        CUSTOMER_PATH, std::vector<std::string>{"--data_dir=" + dir_.path() + "/customer",
                                                "--kafka_brokers=" + broker_->bootstrap(),
                                                Secret(), Cert(), Key()});
  }

  static std::string Secret() { return std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE; }
  std::string Cert() const { return "--tls_cert_file=" + dir_.path() + "/server.pem"; }
  std::string Key() const { return "--tls_key_file=" + dir_.path() + "/server.key"; }
  std::string Ca() const { return dir_.path() + "/ca.pem"; }

  std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address,
                                            const std::string& ca_file) const {
    return grpc::CreateChannel(address, grpc::SslCredentials({.pem_root_certs = ReadAll(ca_file)}));
  }

  // crm-ticket serving TLS; `extra`: how it reaches Kafka and crm-customer.
  std::unique_ptr<ServiceProcess> StartTicket(const std::string& name,
                                              std::vector<std::string> extra) {
    std::vector<std::string> flags = {"--data_dir=" + dir_.path() + "/" + name, Secret(), Cert(),
                                      Key(), "--customer_addr=" + customer_->grpc_address(),
                                      "--kafka_session_timeout_ms=6000"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    return std::make_unique<ServiceProcess>(TICKET_PATH, flags);
  }

  grpc::Status Open(ServiceProcess& ticket, const std::string& customer_id) {
    auto stub = tv1::TicketService::NewStub(TlsChannel(ticket.grpc_address(), Ca()));
    tv1::OpenTicketRequest req;
    req.set_customer_id(customer_id);
    req.set_type(tv1::TICKET_TYPE_COMPLAINT);
    req.set_channel(tv1::TICKET_CHANNEL_PHONE);
    req.set_priority(tv1::PRIORITY_NORMAL);
    req.set_subject("wrong invoice");
    tv1::OpenTicketResponse resp;
    grpc::Status s = CallAs(*stub, alice_, &tv1::TicketService::Stub::OpenTicket, req, &resp);
    if (s.ok()) {
      EXPECT_FALSE(resp.write().ticket().ticket_id().empty());
    }
    return s;
  }

  crm::testing::TempDir dir_;
  std::unique_ptr<messaging::testing::DevBroker> broker_;
  std::unique_ptr<ServiceProcess> customer_;
  const std::string alice_ = DevToken("alice", {"sales_rep"}, "north");
};

TEST_F(TlsE2eTest, RegisterOverTlsThenLookedUpOverTlsAndConsumedByCrmTicket) {
  auto customers = cv1::CustomerService::NewStub(TlsChannel(customer_->grpc_address(), Ca()));
  cv1::RegisterCustomerRequest reg;
  reg.mutable_basic()->set_name("Encrypted Transit GmbH");
  cv1::RegisterCustomerResponse registered;
  grpc::Status s =
      CallAs(*customers, alice_, &cv1::CustomerService::Stub::RegisterCustomer, reg, &registered);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string id = registered.customer_id();
  ASSERT_FALSE(id.empty());

  {
    // No Kafka: crm-ticket knows the customer only by asking crm-customer, over TLS.
    std::unique_ptr<ServiceProcess> ticket =
        StartTicket("ticket-lookup", {"--customer_tls_ca_file=" + Ca()});
    s = Open(*ticket, id);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  }
  {
    // The same, calling crm-customer's TLS port in plaintext: the lookup fails.
    std::unique_ptr<ServiceProcess> ticket = StartTicket("ticket-plaintext", {});
    s = Open(*ticket, id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
    EXPECT_NE(s.error_message().find("customer service lookup"), std::string::npos)
        << s.error_message();
  }
  {
    // Trusting another CA: the lookup fails too.
    std::unique_ptr<ServiceProcess> ticket = StartTicket(
        "ticket-other-ca", {"--customer_tls_ca_file=" + dir_.path() + "/other-ca.pem"});
    s = Open(*ticket, id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  }

  // register -> consumed: a crm-ticket with Kafka (and TLS to crm-customer) learns
  // the customer from the topic; with crm-customer gone it can only be from there.
  std::unique_ptr<ServiceProcess> ticket = StartTicket(
      "ticket", {"--kafka_brokers=" + broker_->bootstrap(), "--customer_tls_ca_file=" + Ca()});
  customer_->Stop();
  ASSERT_TRUE(Eventually([&] { return Open(*ticket, id).ok(); }, absl::Seconds(60)))
      << "crm-ticket never consumed the customer";
}

TEST_F(TlsE2eTest, CatchUpFromTheProducersEventLogOverTls) {
  auto customers = cv1::CustomerService::NewStub(TlsChannel(customer_->grpc_address(), Ca()));
  cv1::RegisterCustomerRequest reg;
  reg.mutable_basic()->set_name("Caught Up Over TLS SA");
  cv1::RegisterCustomerResponse registered;
  ASSERT_TRUE(
      CallAs(*customers, alice_, &cv1::CustomerService::Stub::RegisterCustomer, reg, &registered)
          .ok());
  const std::string token_file = dir_.path() + "/admin.token";
  std::ofstream(token_file) << DevToken("ops", {"admin"}, "") << "\n";

  // No Kafka: crm-ticket learns the customer from crm-customer's event log, read
  // over TLS before it serves; with crm-customer gone afterwards, the ticket opens
  // from what the catch-up applied.
  std::unique_ptr<ServiceProcess> ticket = StartTicket(
      "ticket-catch-up",
      {"--catch_up_from=crm.customer.v1.events=" + customer_->grpc_address(),
       "--catch_up_tls_ca_file=" + Ca(), "--catch_up_token_file=" + token_file});
  customer_->Stop();
  grpc::Status s = Open(*ticket, registered.customer_id());
  EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
}

TEST_F(TlsE2eTest, PlaintextAndUntrustedClientsCannotCallTheTlsPort) {
  auto trusted = cv1::CustomerService::NewStub(TlsChannel(customer_->grpc_address(), Ca()));
  cv1::RegisterCustomerRequest reg;
  reg.mutable_basic()->set_name("Only Over TLS AG");
  cv1::RegisterCustomerResponse registered;
  ASSERT_TRUE(
      CallAs(*trusted, alice_, &cv1::CustomerService::Stub::RegisterCustomer, reg, &registered)
          .ok());
  cv1::GetCustomerRequest req;
  req.set_customer_id(registered.customer_id());
  cv1::GetCustomerResponse resp;

  auto plaintext = cv1::CustomerService::NewStub(
      grpc::CreateChannel(customer_->grpc_address(), grpc::InsecureChannelCredentials()));
  grpc::Status s = CallAs(*plaintext, alice_, &cv1::CustomerService::Stub::GetCustomer, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();

  auto untrusted = cv1::CustomerService::NewStub(
      TlsChannel(customer_->grpc_address(), dir_.path() + "/other-ca.pem"));
  s = CallAs(*untrusted, alice_, &cv1::CustomerService::Stub::GetCustomer, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();

  // The right CA: the same call is served.
  s = CallAs(*trusted, alice_, &cv1::CustomerService::Stub::GetCustomer, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.customer().basic().name(), "Only Over TLS AG");
}

}  // namespace
}  // namespace crm
