// The full loop over real processes: crm-devbroker + crm-customer +
// crm-interaction + crm-ticket + crm-classification. A customer registered and
// given an open complaint; transactions push it to class A; CustomerClassified is
// published; the interaction service re-plans its revisits quarterly and the
// ticket service tightens the open ticket's SLA; with no interactions logged and
// the classification service's clock moved on, ChurnRiskRaised is published.
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "crm/classification/v1/classification_service.grpc.pb.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"
#include "crm/messaging/cloudevents.h"
#include "crm/runtime/log.h"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace cv1 = ::crm::customer::v1;
namespace iv1 = ::crm::interaction::v1;
namespace tv1 = ::crm::ticket::v1;
namespace kv1 = ::crm::classification::v1;
using crm::testing::DevToken;
using crm::testing::Eventually;
using crm::testing::ServiceProcess;

template <typename Stub, typename Method, typename Req, typename Resp>
grpc::Status Call(Stub& stub, const std::string& token, Method method, const Req& req, Resp* resp) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", auth::BearerHeader(token));
  return (stub.*method)(&ctx, req, resp);
}

std::string Today() { return absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone()); }

TEST(ClassificationE2eTest, FullLoopOverAllFourServices) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  messaging::testing::DevBroker broker(DEVBROKER_PATH, dir.path());
  const std::string secret = std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE;
  const std::string kafka = "--kafka_brokers=" + broker.bootstrap();
  const std::string session = "--kafka_session_timeout_ms=6000";
  ServiceProcess customer(CUSTOMER_PATH, {"--data_dir=" + dir.path() + "/customer", kafka, secret});
  const std::string customer_addr = "--customer_addr=" + customer.grpc_address();
  ServiceProcess interaction(INTERACTION_PATH, {"--data_dir=" + dir.path() + "/interaction", kafka,
                                                secret, customer_addr, "--scan_interval_ms=100",
                                                session});
  ServiceProcess ticket(TICKET_PATH, {"--data_dir=" + dir.path() + "/ticket", kafka, secret,
                                      customer_addr, "--scan_interval_ms=100", session});
  const std::string offset_file = dir.path() + "/classification_clock";
  std::ofstream(offset_file) << 0;
  ServiceProcess classification(
      CLASSIFICATION_PATH,
      {"--data_dir=" + dir.path() + "/classification", kafka, secret, "--scan_interval_ms=100",
       "--sweep_interval_ms=200", "--test_clock_offset_file=" + offset_file, session});
  auto customers = cv1::CustomerService::NewStub(customer.Channel());
  auto interactions = iv1::InteractionService::NewStub(interaction.Channel());
  auto tickets = tv1::TicketService::NewStub(ticket.Channel());
  auto classes = kv1::ClassificationService::NewStub(classification.Channel());
  const std::string alice = DevToken("alice", {"sales_rep"}, "north");

  // A customer with an open complaint.
  cv1::RegisterCustomerRequest reg;
  reg.mutable_basic()->set_name("Loop Industries");
  reg.mutable_basic()->set_industry("energy");
  cv1::RegisterCustomerResponse registered;
  ASSERT_TRUE(Call(*customers, alice, &cv1::CustomerService::Stub::RegisterCustomer, reg, &registered).ok());
  const std::string id = registered.customer_id();
  tv1::OpenTicketRequest open;
  open.set_customer_id(id);
  open.set_type(tv1::TICKET_TYPE_COMPLAINT);
  open.set_channel(tv1::TICKET_CHANNEL_PHONE);
  open.set_priority(tv1::PRIORITY_HIGH);
  open.set_subject("late delivery");
  tv1::OpenTicketResponse opened;
  grpc::Status s = Call(*tickets, alice, &tv1::TicketService::Stub::OpenTicket, open, &opened);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(opened.write().ticket().sla().tier(), "");

  // Unclassified: a yearly revisit is planned.
  iv1::ListDueRevisitsRequest due;
  due.set_within_days(400);
  iv1::ListDueRevisitsResponse revisits;
  ASSERT_TRUE(Eventually([&] {
    revisits.Clear();
    return Call(*interactions, alice, &iv1::InteractionService::Stub::ListDueRevisits, due, &revisits)
               .ok() &&
           revisits.revisits_size() == 1;
  })) << revisits.DebugString();
  EXPECT_EQ(revisits.revisits(0).revisit().cadence_days(), 365);

  // Transactions push it to class A.
  cv1::RecordTransactionRequest tx;
  tx.set_customer_id(id);
  tx.mutable_transaction()->set_party(cv1::TRANSACTION_PARTY_OWN_COMPANY);
  tx.mutable_transaction()->mutable_amount()->set_currency_code("CNY");
  tx.mutable_transaction()->mutable_amount()->set_amount_minor(250'000'000);  // 2.5M
  tx.mutable_transaction()->set_date(Today());
  tx.mutable_transaction()->set_paid_date(Today());
  cv1::RecordTransactionResponse recorded;
  s = Call(*customers, alice, &cv1::CustomerService::Stub::RecordTransaction, tx, &recorded);
  ASSERT_TRUE(s.ok()) << s.error_message();

  kv1::GetClassificationRequest get;
  get.set_customer_id(id);
  kv1::GetClassificationResponse got;
  auto abcd = [&] {
    for (const auto& r : got.classification().schemes()) {
      if (r.scheme() == kv1::SCHEME_ABCD) return r.class_name();
    }
    return std::string();
  };
  ASSERT_TRUE(Eventually([&] {
    got.Clear();
    return Call(*classes, alice, &kv1::ClassificationService::Stub::GetClassification, get, &got).ok() &&
           abcd() == "A";
  })) << got.DebugString();

  // Published: CustomerClassified ABCD → A, keyed by the customer.
  auto classification_types = [&] {
    std::map<std::string, int> types;
    for (const auto& r : messaging::testing::ReadTopic(
             broker.bootstrap(), std::string(messaging::kClassificationTopic), 3, SIZE_MAX,
             absl::Seconds(1))) {
      if (r.key == id) ++types[*messaging::FindHeader(r, "ce_type")];
    }
    return types;
  };
  ASSERT_TRUE(Eventually([&] {
    return classification_types()["crm.classification.v1.CustomerClassified"] >= 1;
  }));

  // The interaction service re-plans quarterly (class A).
  ASSERT_TRUE(Eventually([&] {
    revisits.Clear();
    return Call(*interactions, alice, &iv1::InteractionService::Stub::ListDueRevisits, due, &revisits)
               .ok() &&
           revisits.revisits_size() == 1 && revisits.revisits(0).revisit().cadence_class() == "A";
  })) << revisits.DebugString();
  EXPECT_EQ(revisits.revisits(0).revisit().cadence_days(), 91);

  // The ticket service moves the open complaint to the gold tier.
  tv1::GetTicketRequest get_ticket;
  get_ticket.set_ticket_id(opened.ticket_id());
  tv1::GetTicketResponse ticket_now;
  ASSERT_TRUE(Eventually([&] {
    ticket_now.Clear();
    return Call(*tickets, alice, &tv1::TicketService::Stub::GetTicket, get_ticket, &ticket_now).ok() &&
           ticket_now.ticket().sla().tier() == "gold";
  })) << ticket_now.DebugString();
  EXPECT_LT(ticket_now.ticket().sla().resolution().target_minutes(),
            opened.write().ticket().sla().resolution().target_minutes());

  // No interactions logged; 400 days pass for the classification service.
  EXPECT_FALSE(got.classification().churn().at_risk());
  std::ofstream(offset_file) << 400 * 24 * 3600;
  ASSERT_TRUE(Eventually([&] {
    got.Clear();
    return Call(*classes, alice, &kv1::ClassificationService::Stub::GetClassification, get, &got).ok() &&
           got.classification().churn().at_risk();
  })) << got.DebugString();
  ASSERT_TRUE(Eventually([&] {
    return classification_types()["crm.classification.v1.ChurnRiskRaised"] == 1;
  }));
  kv1::ListChurnRisksResponse risks;
  ASSERT_TRUE(Call(*classes, DevToken("nina", {"regional_manager"}, "north"),
                   &kv1::ClassificationService::Stub::ListChurnRisks, kv1::ListChurnRisksRequest(),
                   &risks)
                  .ok());
  ASSERT_EQ(risks.customers_size(), 1);
  EXPECT_EQ(risks.customers(0).customer_id(), id);

  // Every RPC refuses a caller without a valid token.
  int checked = 0;
  auto refuse = [&](auto method, auto req, auto resp) {
    grpc::ClientContext ctx;
    EXPECT_EQ(((*classes).*method)(&ctx, req, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    ++checked;
  };
  using S = kv1::ClassificationService::Stub;
  refuse(&S::GetClassification, kv1::GetClassificationRequest(), kv1::GetClassificationResponse());
  refuse(&S::GetClassificationHistory, kv1::GetClassificationHistoryRequest(),
         kv1::GetClassificationHistoryResponse());
  refuse(&S::GetRuleSet, kv1::GetRuleSetRequest(), kv1::GetRuleSetResponse());
  refuse(&S::PublishRuleSet, kv1::PublishRuleSetRequest(), kv1::PublishRuleSetResponse());
  refuse(&S::SimulateRuleSet, kv1::SimulateRuleSetRequest(), kv1::SimulateRuleSetResponse());
  refuse(&S::GetReport, kv1::GetReportRequest(), kv1::GetReportResponse());
  refuse(&S::ListChurnRisks, kv1::ListChurnRisksRequest(), kv1::ListChurnRisksResponse());
  EXPECT_EQ(checked, kv1::GetRuleSetRequest::descriptor()->file()->FindServiceByName(
                         "ClassificationService")->method_count());
}

}  // namespace
}  // namespace crm
