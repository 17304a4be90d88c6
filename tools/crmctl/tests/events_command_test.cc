// `crmctl events stream` against a mock EventLogService stub: the request its
// flags build, each streamed envelope printed as it arrives (text and JSON), and
// a refusal reported with its code.
#include "events_command.h"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "common/testing/proto_testing.h"
#include "crm/events/v1/event_log_service_mock.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/test/mock_stream.h"
#include "gtest/gtest.h"
#include "run_crmctl.h"

namespace crm::crmctl {
namespace {

using ::crm::testing::EqualsProto;
using ::crm::testing::TextProto;
using ::testing::_;
using ::testing::DoAll;
using ::testing::HasSubstr;
using ::testing::Return;
using ::testing::SetArgPointee;

class EventsStreamTest : public ::testing::Test {
 protected:
  EventsStreamTest() {
    env_->out = &out_;
    env_->err = &err_;
    env_->stub_factory = [this](const ClientOptions&)
        -> absl::StatusOr<std::unique_ptr<events::v1::EventLogService::StubInterface>> {
      auto stub = std::make_unique<events::v1::MockEventLogServiceStub>();
      EXPECT_CALL(*stub, StreamEventsRaw(_, _))
          .WillOnce([this](grpc::ClientContext*, const events::v1::StreamEventsRequest& req) {
            request_ = req;
            auto* reader = new grpc::testing::MockClientReader<events::v1::EventEnvelope>();
            auto& reads = EXPECT_CALL(*reader, Read(_));
            for (const events::v1::EventEnvelope& e : stream_) {
              reads.WillOnce(DoAll(SetArgPointee<0>(e), Return(true)));
            }
            reads.WillOnce(Return(false));
            EXPECT_CALL(*reader, Finish()).WillOnce(Return(finish_));
            return reader;
          });
      return std::unique_ptr<events::v1::EventLogService::StubInterface>(std::move(stub));
    };
  }

  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    args.insert(args.begin(), {"crmctl", "events", "stream"});
    args.push_back("--token=t");
    return RunCrmctl([this](CLI::App& app) { AddEventsCommands(app, env_); }, args, out_, err_);
  }

  std::shared_ptr<EventLogCommandEnv> env_ = std::make_shared<EventLogCommandEnv>();
  std::ostringstream out_, err_;
  std::vector<events::v1::EventEnvelope> stream_;
  grpc::Status finish_;
  events::v1::StreamEventsRequest request_;
};

TEST_F(EventsStreamTest, PrintsEachEnvelopeFromThePositionAsked) {
  stream_ = {TextProto<events::v1::EventEnvelope>(R"pb(
               global_position: 7 incarnation: "inc-1" stream_id: "ticket-t1" stream_version: 1
               event_type: "crm.ticket.v1.TicketOpened" actor: "alice"
               occurred_at { seconds: 1798675200 })pb"),
             TextProto<events::v1::EventEnvelope>(R"pb(
               global_position: 8 stream_id: "ticket-t1" stream_version: 2
               event_type: "crm.ticket.v1.TicketAssigned")pb")};
  ASSERT_EQ(Run({"--from=7", "--max=2"}), kExitOk) << err_.str();
  EXPECT_THAT(request_, EqualsProto(TextProto<events::v1::StreamEventsRequest>(
                            R"pb(from_position: 7 max_events: 2)pb")));
  EXPECT_EQ(out_.str(),
            "7  inc-1  ticket-t1 v1  crm.ticket.v1.TicketOpened  alice  2026-12-31T00:00:00Z\n"
            "8  -  ticket-t1 v2  crm.ticket.v1.TicketAssigned  -  -\n");

  ASSERT_EQ(Run({"--output=json"}), kExitOk) << err_.str();
  EXPECT_THAT(request_, EqualsProto(TextProto<events::v1::StreamEventsRequest>(
                            R"pb(from_position: 1)pb")));  // the default
  EXPECT_THAT(out_.str(), HasSubstr("\"global_position\":\"7\""));
  EXPECT_THAT(out_.str(), HasSubstr("\"event_type\":\"crm.ticket.v1.TicketAssigned\""));
}

TEST_F(EventsStreamTest, ARefusalIsReportedWithItsCode) {
  finish_ = grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                         "the event log is for service and admin callers");
  EXPECT_EQ(Run({}), kExitFailed);
  EXPECT_THAT(err_.str(), HasSubstr("PERMISSION_DENIED"));
}

}  // namespace
}  // namespace crm::crmctl
