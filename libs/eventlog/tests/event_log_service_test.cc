// EventLogService on a real store, served by an in-process gRPC server: the
// stored envelopes in position order from a position, max_events, the end when
// caught up, and the roles allowed.
#include "crm/eventlog/event_log_service.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "gtest/gtest.h"

namespace crm::eventlog {
namespace {

constexpr char kSecret[] = "an hs256 secret of at least thirty-two bytes";

class EventLogServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = eventstore::OpenEventStore({.path = dir_.path() + "/db"});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto verifier = auth::TokenVerifier::Create({.hs256_secret = kSecret});
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    verifier_ = *std::move(verifier);
    auto signer = auth::TokenSigner::Create({.hs256_secret = kSecret});
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = *std::move(signer);
    service_ = std::make_unique<EventLogServiceImpl>(*store_, *verifier_);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = events::v1::EventLogService::NewStub(
        server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }

  void Append(int n) {
    for (int i = 0; i < n; ++i) {
      eventstore::AppendRequest req;
      req.stream_id = absl::StrCat("s-", i % 3);
      req.events.push_back({.event_type = "crm.test.v1.Happened",
                            .partition_key = absl::StrCat("c-", i % 3),
                            .payload = absl::StrCat("payload ", i)});
      ASSERT_TRUE(store_->Append(req).ok());
    }
  }

  std::string Token(const std::string& role) {
    auto token = signer_->Sign({.sub = "caller-" + role,
                                .roles = {role},
                                .expires_at = absl::Now() + absl::Hours(1)});
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }

  struct Streamed {
    grpc::Status status;
    std::vector<events::v1::EventEnvelope> events;
  };
  Streamed Stream(const std::string& token, uint64_t from, uint64_t max) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    events::v1::StreamEventsRequest req;
    req.set_from_position(from);
    req.set_max_events(max);
    Streamed out;
    auto reader = stub_->StreamEvents(&ctx, req);
    for (events::v1::EventEnvelope e; reader->Read(&e);) out.events.push_back(e);
    out.status = reader->Finish();
    return out;
  }

  crm::testing::TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<auth::TokenSigner> signer_;
  std::unique_ptr<EventLogServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<events::v1::EventLogService::Stub> stub_;
};

TEST_F(EventLogServiceTest, StreamsTheStoredEnvelopesInOrderFromAPositionUntilCaughtUp) {
  Append(150);  // more than two batches
  Streamed all = Stream(Token("admin"), 0, 0);
  ASSERT_TRUE(all.status.ok()) << all.status.error_message();
  ASSERT_EQ(all.events.size(), 150u);
  auto stored = store_->ReadAll(1, 1000);
  ASSERT_TRUE(stored.ok());
  for (size_t i = 0; i < all.events.size(); ++i) {
    EXPECT_EQ(all.events[i].global_position(), i + 1);
    EXPECT_EQ(all.events[i].SerializeAsString(), (*stored)[i].SerializeAsString());
  }
  EXPECT_EQ(all.events[7].payload(), "payload 7");
  EXPECT_EQ(all.events[7].incarnation(), store_->Incarnation());

  Streamed tail = Stream(Token("admin"), 140, 0);
  ASSERT_TRUE(tail.status.ok()) << tail.status.error_message();
  ASSERT_EQ(tail.events.size(), 11u);
  EXPECT_EQ(tail.events.front().global_position(), 140u);
  EXPECT_EQ(tail.events.back().global_position(), 150u);

  Streamed some = Stream(Token("admin"), 10, 70);
  ASSERT_TRUE(some.status.ok()) << some.status.error_message();
  ASSERT_EQ(some.events.size(), 70u);
  EXPECT_EQ(some.events.back().global_position(), 79u);

  Streamed past_the_end = Stream(Token("admin"), 151, 0);
  ASSERT_TRUE(past_the_end.status.ok());
  EXPECT_TRUE(past_the_end.events.empty());
}

TEST_F(EventLogServiceTest, OnlyAdminCallersMayRead) {
  Append(3);
  for (const char* role :
       {"sales_rep", "service_agent", "regional_manager", "executive", "service"}) {
    Streamed refused = Stream(Token(role), 1, 0);
    EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << role;
    EXPECT_TRUE(refused.events.empty()) << role;
  }
  Streamed anonymous = Stream("", 1, 0);
  EXPECT_EQ(anonymous.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(anonymous.events.empty());
  EXPECT_EQ(CheckAccess({"x", {auth::Role::kService}, ""}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckAccess({"x", {auth::Role::kService}, ""}).message(),
            "the event log is for admin callers");
  EXPECT_EQ(CheckAccess({"x", {auth::Role::kAdmin}, ""}).code(), absl::StatusCode::kOk);
  EXPECT_EQ(CheckAccess({"x", {}, ""}).code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(EventLogServiceTest, AStreamTakesAPlaceAmongTheCallsInFlight) {
  Append(3);
  runtime::Admission& admission = runtime::Admission::Default();
  const int64_t before = admission.in_flight();
  admission.SetLimit(before + 1);
  ASSERT_TRUE(admission.TryEnter());  // The last place, taken.
  Streamed busy = Stream(Token("admin"), 1, 0);
  EXPECT_EQ(busy.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(busy.events.empty());
  admission.Leave();
  Streamed served = Stream(Token("admin"), 1, 0);
  EXPECT_TRUE(served.status.ok()) << served.status.error_message();
  EXPECT_EQ(served.events.size(), 3u);
  // The finished stream gave its place back.
  EXPECT_TRUE(crm::testing::Eventually([&] { return admission.in_flight() == before; }));
  admission.SetLimit(0);
}

}  // namespace
}  // namespace crm::eventlog
