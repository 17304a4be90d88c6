// crm.events.v1.EventLogService on the four service binaries (run without Kafka,
// so every event stays in the store): one write on each, then each log read
// through StreamEvents with an admin token (positions from 1 without gaps, the
// service's event types, payloads that parse as its <Domain>Event, from a
// position and with max_events), by `crmctl events stream`, and refused with
// PERMISSION_DENIED for a sales rep and for a service token (the log is admin
// only, issue 18); crm-customer's own StreamEvents gives the same events.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/testing/temp_dir.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/classification/v1/classification_service.grpc.pb.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/events/v1/event_log_service.grpc.pb.h"
#include "crm/interaction/v1/campaign_service.grpc.pb.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/runtime/log.h"
#include "crm/ticket/v1/ticket_events.pb.h"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/suite_process.h"

namespace crm {
namespace {

using crm::testing::CallAs;
using crm::testing::DevToken;
using crm::testing::ServiceProcess;

struct Streamed {
  grpc::Status status;
  std::vector<events::v1::EventEnvelope> events;
};

Streamed StreamLog(ServiceProcess& service, const std::string& token, uint64_t from,
                   uint64_t max = 0) {
  auto stub = events::v1::EventLogService::NewStub(service.Channel());
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", auth::BearerHeader(token));
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  events::v1::StreamEventsRequest req;
  req.set_from_position(from);
  req.set_max_events(max);
  Streamed out;
  auto reader = stub->StreamEvents(&ctx, req);
  for (events::v1::EventEnvelope e; reader->Read(&e);) out.events.push_back(e);
  out.status = reader->Finish();
  return out;
}

// Checks one service's whole log and returns it: gap-free positions from 1, the
// domain's event types, each payload a `Event` message naming an event kind.
template <typename Event>
std::vector<events::v1::EventEnvelope> ExpectLog(ServiceProcess& service,
                                                 const std::string& service_token,
                                                 const std::string& domain, size_t at_least) {
  SCOPED_TRACE(domain);
  Streamed all = StreamLog(service, service_token, 0);
  EXPECT_TRUE(all.status.ok()) << all.status.error_message();
  EXPECT_GE(all.events.size(), at_least);
  for (size_t i = 0; i < all.events.size(); ++i) {
    const events::v1::EventEnvelope& e = all.events[i];
    EXPECT_EQ(e.global_position(), i + 1);
    EXPECT_TRUE(absl::StartsWith(e.event_type(), absl::StrCat("crm.", domain, ".v1.")))
        << e.event_type();
    EXPECT_FALSE(e.incarnation().empty());
    Event event;
    EXPECT_TRUE(event.ParseFromString(e.payload())) << e.event_type();
    EXPECT_NE(event.kind_case(), 0) << e.event_type();
  }
  // From a position, and bounded.
  if (all.events.size() >= 2) {
    Streamed tail = StreamLog(service, service_token, 2, 1);
    EXPECT_TRUE(tail.status.ok()) << tail.status.error_message();
    EXPECT_EQ(tail.events.size(), 1u);
    if (!tail.events.empty()) {
      EXPECT_EQ(tail.events[0].SerializeAsString(), all.events[1].SerializeAsString());
    }
  }
  return all.events;
}

TEST(EventLogE2eTest, EveryServiceServesItsLogToAdminsOnly) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  const std::string secret = std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE;
  const auto start = [&](const char* binary, const std::string& name) {
    return std::make_unique<ServiceProcess>(
        binary, std::vector<std::string>{"--data_dir=" + dir.path() + "/" + name, secret});
  };
  auto customer = start(CUSTOMER_PATH, "customer");
  auto interaction = start(INTERACTION_PATH, "interaction");
  auto ticket = start(TICKET_PATH, "ticket");
  auto classification = start(CLASSIFICATION_PATH, "classification");
  const std::string root = DevToken("root", {"admin"}, "");
  const std::string svc = DevToken("crm-test", {"service"}, "");
  const std::string rep = DevToken("alice", {"sales_rep"}, "north");

  // One write on each.
  {
    auto stub = customer::v1::CustomerService::NewStub(customer->Channel());
    for (int i = 0; i < 3; ++i) {
      customer::v1::RegisterCustomerRequest req;
      req.mutable_basic()->set_name(absl::StrCat("Log Test ", i));
      req.set_owner("alice");
      req.set_region("north");
      customer::v1::RegisterCustomerResponse resp;
      grpc::Status s = CallAs(*stub, root, &customer::v1::CustomerService::Stub::RegisterCustomer,
                              req, &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
  }
  {
    auto stub = interaction::v1::CampaignService::NewStub(interaction->Channel());
    interaction::v1::PlanCampaignRequest req;
    req.mutable_details()->set_name("Log test seminar");
    req.mutable_details()->set_type(interaction::v1::CAMPAIGN_TYPE_SEMINAR);
    req.mutable_details()->set_start_date("2027-03-01");
    req.mutable_details()->set_end_date("2027-03-02");
    req.mutable_selection()->add_regions("north");
    interaction::v1::PlanCampaignResponse resp;
    grpc::Status s =
        CallAs(*stub, root, &interaction::v1::CampaignService::Stub::PlanCampaign, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  {
    auto stub = ticket::v1::TicketService::NewStub(ticket->Channel());
    ticket::v1::GetSlaConfigResponse current;
    grpc::Status s = CallAs(*stub, root, &ticket::v1::TicketService::Stub::GetSlaConfig,
                            ticket::v1::GetSlaConfigRequest(), &current);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ticket::v1::SetSlaConfigRequest req;
    *req.mutable_config() = current.config();
    ticket::v1::SetSlaConfigResponse resp;
    s = CallAs(*stub, root, &ticket::v1::TicketService::Stub::SetSlaConfig, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  {
    auto stub = classification::v1::ClassificationService::NewStub(classification->Channel());
    classification::v1::GetRuleSetResponse current;
    grpc::Status s =
        CallAs(*stub, root, &classification::v1::ClassificationService::Stub::GetRuleSet,
               classification::v1::GetRuleSetRequest(), &current);
    ASSERT_TRUE(s.ok()) << s.error_message();
    classification::v1::PublishRuleSetRequest req;
    *req.mutable_rule_set() = current.rule_set();
    classification::v1::PublishRuleSetResponse resp;
    s = CallAs(*stub, root, &classification::v1::ClassificationService::Stub::PublishRuleSet, req,
               &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // Each log, read with an admin token.
  const auto customer_log = ExpectLog<customer::v1::CustomerEvent>(*customer, root, "customer", 3);
  ExpectLog<interaction::v1::InteractionEvent>(*interaction, root, "interaction", 1);
  ExpectLog<ticket::v1::TicketEvent>(*ticket, root, "ticket", 1);
  ExpectLog<classification::v1::ClassificationEvent>(*classification, root, "classification", 1);

  // A sales rep and a service token are refused by every service, and see no event.
  for (ServiceProcess* s : {customer.get(), interaction.get(), ticket.get(), classification.get()}) {
    for (const std::string& token : {rep, svc}) {
      Streamed refused = StreamLog(*s, token, 1);
      EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << s->grpc_address() << ": " << refused.status.error_message();
      EXPECT_EQ(refused.status.error_message(), "the event log is for admin callers");
      EXPECT_TRUE(refused.events.empty());
    }
  }

  // crm-customer's own StreamEvents: the same events, in its own message.
  {
    auto stub = customer::v1::CustomerService::NewStub(customer->Channel());
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", auth::BearerHeader(root));
    customer::v1::StreamEventsRequest req;
    req.set_from_position(1);
    auto reader = stub->StreamEvents(&ctx, req);
    std::vector<customer::v1::StreamedEvent> streamed;
    for (customer::v1::StreamedEvent e; reader->Read(&e);) streamed.push_back(e);
    ASSERT_TRUE(reader->Finish().ok());
    ASSERT_EQ(streamed.size(), customer_log.size());
    for (size_t i = 0; i < streamed.size(); ++i) {
      EXPECT_EQ(streamed[i].global_position(), customer_log[i].global_position());
      EXPECT_EQ(streamed[i].event_id(), customer_log[i].event_id());
      EXPECT_EQ(streamed[i].event().SerializeAsString(), customer_log[i].payload());
    }
  }

  // crmctl events stream: one JSON envelope per line.
  {
    crm::testing::Subprocess crmctl({CRMCTL_PATH, "events", "stream",
                                     "--addr=" + ticket->grpc_address(), "--token=" + root,
                                     "--from=1", "--output=json"});
    auto line = crmctl.ReadLine(absl::Seconds(30));
    ASSERT_TRUE(line.has_value());
    nlohmann::json j = nlohmann::json::parse(*line);
    EXPECT_EQ(j.value("global_position", ""), "1");
    EXPECT_TRUE(absl::StartsWith(j.value("event_type", ""), "crm.ticket.v1.")) << *line;
    EXPECT_EQ(crmctl.Wait(), 0);
  }
}

}  // namespace
}  // namespace crm
