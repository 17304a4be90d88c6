// End to end over real processes: crm-devbroker + crm-customer + crm-ticket.
// A ticket opened for a customer registered a moment ago; the whole lifecycle by
// the assignee; a class change (published as crm-classification would) moves the
// open ticket to the tighter SLA tier; moving the service's clock past the
// deadlines yields one breach and one escalation per target; every RPC refuses a
// caller without a token; acknowledged writes survive SIGKILL.
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/outbox_relay.h"
#include "crm/runtime/log.h"
#include "crm/runtime/metrics.h"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/metrics_scrape.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace tv1 = ::crm::ticket::v1;
namespace cv1 = ::crm::customer::v1;
using crm::testing::DevToken;
using crm::testing::Eventually;
using crm::testing::ServiceProcess;

class TicketE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::SetLogLevel(runtime::LogLevel::kError);
    broker_ = std::make_unique<messaging::testing::DevBroker>(DEVBROKER_PATH, dir_.path());
    customer_ = std::make_unique<ServiceProcess>(
        CUSTOMER_PATH, std::vector<std::string>{"--data_dir=" + dir_.path() + "/customer",
                                                "--kafka_brokers=" + broker_->bootstrap(), Secret()});
    std::ofstream(OffsetFile()) << 0;
    StartTicket();
  }

  static std::string Secret() { return std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE; }
  std::string OffsetFile() const { return dir_.path() + "/clock_offset"; }

  void StartTicket() {
    ticket_ = std::make_unique<ServiceProcess>(
        TICKET_PATH,
        std::vector<std::string>{"--data_dir=" + dir_.path() + "/ticket",
                                 "--kafka_brokers=" + broker_->bootstrap(), Secret(),
                                 "--customer_addr=" + customer_->grpc_address(),
                                 "--test_clock_offset_file=" + OffsetFile(),
                                 "--scan_interval_ms=100", "--kafka_session_timeout_ms=6000"});
    tickets_ = tv1::TicketService::NewStub(ticket_->Channel());
  }

  template <typename Method, typename Req, typename Resp>
  grpc::Status Call(const std::string& token, Method method, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    if (!token.empty()) ctx.AddMetadata("authorization", auth::BearerHeader(token));
    return ((*tickets_).*method)(&ctx, req, resp);
  }

  std::string Register(const std::string& token, const std::string& name) {
    auto customers = cv1::CustomerService::NewStub(customer_->Channel());
    cv1::RegisterCustomerRequest reg;
    reg.mutable_basic()->set_name(name);
    cv1::RegisterCustomerResponse registered;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", auth::BearerHeader(token));
    grpc::Status s = customers->RegisterCustomer(&ctx, reg, &registered);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return registered.customer_id();
  }

  tv1::OpenTicketResponse Open(const std::string& token, const std::string& customer_id,
                               tv1::Priority priority) {
    tv1::OpenTicketRequest req;
    req.set_customer_id(customer_id);
    req.set_type(tv1::TICKET_TYPE_COMPLAINT);
    req.set_channel(tv1::TICKET_CHANNEL_PHONE);
    req.set_priority(priority);
    req.set_subject("wrong invoice");
    tv1::OpenTicketResponse resp;
    grpc::Status s = Call(token, &tv1::TicketService::Stub::OpenTicket, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  tv1::Ticket Get(const std::string& token, const std::string& id) {
    tv1::GetTicketRequest req;
    req.set_ticket_id(id);
    tv1::GetTicketResponse resp;
    grpc::Status s = Call(token, &tv1::TicketService::Stub::GetTicket, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.ticket();
  }

  // Publishes a class for the customer as crm-classification will: appended to an
  // event store, relayed to the classification topic.
  void PublishClass(const std::string& customer_id, const std::string& cls) {
    auto store = eventstore::OpenEventStore({.path = dir_.path() + "/classification"});
    ASSERT_TRUE(store.ok());
    classification::v1::ClassificationEvent e;
    e.set_customer_id(customer_id);
    e.mutable_classified()->set_scheme(classification::v1::SCHEME_TIER);
    e.mutable_classified()->set_new_class(cls);
    eventstore::AppendRequest append;
    append.stream_id = "classification-" + customer_id;
    append.events.push_back({.event_type = "crm.classification.v1.CustomerClassified",
                             .partition_key = customer_id, .payload = e.SerializeAsString()});
    ASSERT_TRUE((*store)->Append(append).ok());
    runtime::MetricsRegistry metrics;
    auto relay = messaging::OutboxRelay::Start(
        **store, {.brokers = broker_->bootstrap(),
                  .topic = std::string(messaging::kClassificationTopic),
                  .source = "crm-classification", .metrics = &metrics});
    ASSERT_TRUE(relay.ok());
    ASSERT_TRUE((*relay)->Flush(absl::Seconds(30)).ok());
  }

  // Event types on the ticket topic for records keyed by `key`.
  std::map<std::string, int> TicketEventTypes(const std::string& key) {
    std::map<std::string, int> types;
    for (const auto& r : messaging::testing::ReadTopic(
             broker_->bootstrap(), std::string(messaging::kTicketTopic), 3, SIZE_MAX,
             absl::Seconds(1))) {
      if (r.key == key) ++types[*messaging::FindHeader(r, "ce_type")];
    }
    return types;
  }

  crm::testing::TempDir dir_;
  std::unique_ptr<messaging::testing::DevBroker> broker_;
  std::unique_ptr<ServiceProcess> customer_;
  std::unique_ptr<ServiceProcess> ticket_;
  std::unique_ptr<tv1::TicketService::Stub> tickets_;
  const std::string alice_ = DevToken("alice", {"sales_rep"}, "north");
  const std::string ann_ = DevToken("ann", {"service_agent"}, "north");
};

TEST_F(TicketE2eTest, LifecycleAndClassChangeTighteningTheSlaOverRealProcesses) {
  // Opened at once after registration: crm-ticket asks crm-customer about a
  // customer it has not consumed yet.
  const std::string customer_id = Register(alice_, "Complaining Ltd");
  tv1::OpenTicketResponse opened = Open(alice_, customer_id, tv1::PRIORITY_HIGH);
  const std::string id = opened.ticket_id();
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(opened.has_promised_by());
  const tv1::Ticket before = opened.write().ticket();
  EXPECT_EQ(before.sla().tier(), "");
  EXPECT_EQ(before.sla().resolution().target_minutes(), 8 * 60);

  // The class becomes "key": the open ticket moves to the gold tier (half the targets).
  PublishClass(customer_id, "key");
  tv1::Ticket tightened;
  ASSERT_TRUE(Eventually([&] {
    tightened = Get(alice_, id);
    return tightened.sla().tier() == "gold";
  })) << tightened.DebugString();
  EXPECT_EQ(tightened.sla().resolution().target_minutes(), 4 * 60);
  EXPECT_LT(FromProtoTimestamp(tightened.sla().resolution().due_at()),
            FromProtoTimestamp(before.sla().resolution().due_at()));
  EXPECT_EQ(FromProtoTimestamp(tightened.promised_by()), FromProtoTimestamp(before.promised_by()));  // the promise told stays

  // The lifecycle, worked by the assignee, who sees it through the assignment.
  tv1::AssignTicketRequest assign;
  assign.set_ticket_id(id);
  assign.set_assignee("ann");
  assign.set_team("care");
  tv1::WriteResponse w;
  ASSERT_TRUE(Call(alice_, &tv1::TicketService::Stub::AssignTicket, assign, &w).ok());
  tv1::StartInvestigationRequest start;
  start.set_ticket_id(id);
  ASSERT_TRUE(Call(ann_, &tv1::TicketService::Stub::StartInvestigation, start, &w).ok());
  tv1::RecordFindingsRequest findings;
  findings.set_ticket_id(id);
  findings.mutable_findings()->set_details("billing run used the old price list");
  findings.mutable_findings()->set_cause("stale price list");
  findings.mutable_findings()->set_responsibility("billing department");
  findings.mutable_findings()->add_evidence_refs("doc-123");
  ASSERT_TRUE(Call(ann_, &tv1::TicketService::Stub::RecordFindings, findings, &w).ok());
  tv1::ProposeResolutionRequest propose;
  propose.set_ticket_id(id);
  propose.set_resolution("credit note for the difference");
  ASSERT_TRUE(Call(ann_, &tv1::TicketService::Stub::ProposeResolution, propose, &w).ok());
  tv1::AnswerResolutionRequest answer;
  answer.set_ticket_id(id);
  answer.set_agreed(true);
  ASSERT_TRUE(Call(ann_, &tv1::TicketService::Stub::AnswerResolution, answer, &w).ok());
  // A refused transition: closing before resolution.
  tv1::CloseTicketRequest close;
  close.set_ticket_id(id);
  EXPECT_EQ(Call(ann_, &tv1::TicketService::Stub::CloseTicket, close, &w).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  tv1::ResolveTicketRequest resolve;
  resolve.set_ticket_id(id);
  resolve.set_summary("credit note sent");
  ASSERT_TRUE(Call(ann_, &tv1::TicketService::Stub::ResolveTicket, resolve, &w).ok());
  EXPECT_TRUE(w.ticket().resolved_on_time());
  tv1::RecordFeedbackRequest feedback;
  feedback.set_ticket_id(id);
  feedback.set_satisfied(true);
  feedback.set_score(5);
  ASSERT_TRUE(Call(ann_, &tv1::TicketService::Stub::RecordFeedback, feedback, &w).ok());
  ASSERT_TRUE(Call(ann_, &tv1::TicketService::Stub::CloseTicket, close, &w).ok());
  EXPECT_EQ(w.ticket().status(), tv1::TICKET_STATUS_CLOSED);

  // Another agent sees nothing of it: NOT_FOUND, as if it did not exist.
  tv1::GetTicketRequest get;
  get.set_ticket_id(id);
  tv1::GetTicketResponse got;
  EXPECT_EQ(Call(DevToken("otto", {"service_agent"}, "north"), &tv1::TicketService::Stub::GetTicket,
                 get, &got)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);

  // On Kafka, keyed by the customer.
  std::map<std::string, int> types;
  ASSERT_TRUE(Eventually([&] {
    types = TicketEventTypes(customer_id);
    return types["crm.ticket.v1.TicketClosed"] == 1;
  }));
  EXPECT_EQ(types["crm.ticket.v1.TicketOpened"], 1);
  EXPECT_EQ(types["crm.ticket.v1.SlaRecomputed"], 1);
  EXPECT_EQ(types["crm.ticket.v1.TicketResolved"], 1);
  EXPECT_EQ(types["crm.ticket.v1.FeedbackRecorded"], 1);
}

TEST_F(TicketE2eTest, BreachEscalatesOncePerTargetWhenTheClockPassesTheDeadline) {
  const std::string customer_id = Register(alice_, "Waiting Ltd");
  const std::string id = Open(alice_, customer_id, tv1::PRIORITY_URGENT).ticket_id();
  std::ofstream(OffsetFile()) << 14 * 24 * 3600;  // two weeks on
  tv1::Ticket t;
  ASSERT_TRUE(Eventually([&] {
    t = Get(alice_, id);
    return t.escalations_size() == 2;
  })) << t.DebugString();
  EXPECT_TRUE(t.sla().first_response().breached());
  EXPECT_TRUE(t.sla().resolution().breached());
  EXPECT_EQ(t.escalations(0).to(), "escalations");
  // More scans: nothing fires again.
  const double scans = crm::testing::ScrapeMetric(ticket_->admin_address(), "crm_sla_scans_total");
  ASSERT_TRUE(Eventually([&] {
    return crm::testing::ScrapeMetric(ticket_->admin_address(), "crm_sla_scans_total") >= scans + 3;
  }));
  EXPECT_EQ(Get(alice_, id).escalations_size(), 2);
  std::map<std::string, int> types;
  ASSERT_TRUE(Eventually([&] {
    types = TicketEventTypes(customer_id);
    return types["crm.ticket.v1.TicketEscalated"] >= 2;
  }));
  EXPECT_EQ(types["crm.ticket.v1.SlaWarning"], 2);
  EXPECT_EQ(types["crm.ticket.v1.SlaBreached"], 2);
  EXPECT_EQ(types["crm.ticket.v1.TicketEscalated"], 2);
  // Listed as breached.
  tv1::ListTicketsRequest list;
  list.set_breached(true);
  tv1::ListTicketsResponse listed;
  ASSERT_TRUE(Call(alice_, &tv1::TicketService::Stub::ListTickets, list, &listed).ok());
  ASSERT_EQ(listed.tickets_size(), 1);
  EXPECT_EQ(listed.tickets(0).ticket_id(), id);
}

// Every RPC, over gRPC: no token or a bad one is UNAUTHENTICATED.
TEST_F(TicketE2eTest, EveryRpcRefusesACallerWithoutAValidToken) {
  int checked = 0;
  auto refuse = [&](auto method, auto req, auto resp) {
    for (const std::string& token : {std::string(), std::string("garbage")}) {
      EXPECT_EQ(Call(token, method, req, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    }
    ++checked;
  };
  using S = tv1::TicketService::Stub;
  refuse(&S::OpenTicket, tv1::OpenTicketRequest(), tv1::OpenTicketResponse());
  refuse(&S::AssignTicket, tv1::AssignTicketRequest(), tv1::WriteResponse());
  refuse(&S::StartInvestigation, tv1::StartInvestigationRequest(), tv1::WriteResponse());
  refuse(&S::RecordFindings, tv1::RecordFindingsRequest(), tv1::WriteResponse());
  refuse(&S::ProposeResolution, tv1::ProposeResolutionRequest(), tv1::WriteResponse());
  refuse(&S::AnswerResolution, tv1::AnswerResolutionRequest(), tv1::WriteResponse());
  refuse(&S::ResolveTicket, tv1::ResolveTicketRequest(), tv1::WriteResponse());
  refuse(&S::RecordFeedback, tv1::RecordFeedbackRequest(), tv1::WriteResponse());
  refuse(&S::CloseTicket, tv1::CloseTicketRequest(), tv1::WriteResponse());
  refuse(&S::ReopenTicket, tv1::ReopenTicketRequest(), tv1::WriteResponse());
  refuse(&S::AddComment, tv1::AddCommentRequest(), tv1::WriteResponse());
  refuse(&S::SetWaitingOnCustomer, tv1::SetWaitingOnCustomerRequest(), tv1::WriteResponse());
  refuse(&S::GetTicket, tv1::GetTicketRequest(), tv1::GetTicketResponse());
  refuse(&S::ListTickets, tv1::ListTicketsRequest(), tv1::ListTicketsResponse());
  refuse(&S::GetKpis, tv1::GetKpisRequest(), tv1::GetKpisResponse());
  refuse(&S::GetSlaConfig, tv1::GetSlaConfigRequest(), tv1::GetSlaConfigResponse());
  refuse(&S::SetSlaConfig, tv1::SetSlaConfigRequest(), tv1::SetSlaConfigResponse());
  EXPECT_EQ(checked, tv1::GetTicketRequest::descriptor()->file()->FindServiceByName("TicketService")->method_count());
}

// SIGKILL during a stream of acknowledged writes: after a restart every
// acknowledged ticket is readable, and Kafka eventually holds every event.
TEST_F(TicketE2eTest, AcknowledgedWritesSurviveSigkill) {
  const std::string customer_id = Register(alice_, "Durable Ltd");
  std::vector<std::string> acked;
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      auto stub = tv1::TicketService::NewStub(ticket_->Channel());
      for (int i = 0; !stop.load(); ++i) {
        tv1::OpenTicketRequest req;
        req.mutable_options()->set_command_id(absl::StrCat("open-", t, "-", i));
        req.set_customer_id(customer_id);
        req.set_type(tv1::TICKET_TYPE_CONSULTATION);
        req.set_channel(tv1::TICKET_CHANNEL_ONLINE);
        req.set_subject(absl::StrCat("question ", t, "-", i));
        tv1::OpenTicketResponse resp;
        grpc::ClientContext ctx;
        ctx.AddMetadata("authorization", auth::BearerHeader(alice_));
        if (stub->OpenTicket(&ctx, req, &resp).ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acked.push_back(resp.ticket_id());
        }
      }
    });
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (acked.size() >= 200) break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  ticket_->Kill();
  stop = true;
  for (auto& w : writers) w.join();
  ASSERT_GE(acked.size(), 200u);

  StartTicket();
  std::set<std::string> listed;
  tv1::ListTicketsRequest list;
  list.set_customer_id(customer_id);
  list.set_page_size(500);
  do {
    tv1::ListTicketsResponse page;
    ASSERT_TRUE(Call(alice_, &tv1::TicketService::Stub::ListTickets, list, &page).ok());
    for (const auto& t : page.tickets()) listed.insert(t.ticket_id());
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  for (const std::string& id : acked) {
    EXPECT_TRUE(listed.contains(id)) << id << " lost";
    EXPECT_EQ(Get(alice_, id).status(), tv1::TICKET_STATUS_OPENED);
  }

  // Kafka eventually holds a TicketOpened for every stored ticket.
  std::set<std::string> on_wire;
  ASSERT_TRUE(Eventually(
      [&] {
        on_wire.clear();
        for (const auto& r : messaging::testing::ReadTopic(
                 broker_->bootstrap(), std::string(messaging::kTicketTopic), 3, SIZE_MAX,
                 absl::Seconds(2))) {
          if (r.key == customer_id) on_wire.insert(*messaging::FindHeader(r, "ce_id"));
        }
        return on_wire.size() >= listed.size();
      },
      absl::Seconds(60)));
  EXPECT_EQ(on_wire.size(), listed.size());
}

}  // namespace
}  // namespace crm
