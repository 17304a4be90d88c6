// A request body that does not parse: INVALID_ARGUMENT naming the request type
// (not gRPC's empty UNIMPLEMENTED), counted under that code, the connection
// still usable; protobuf's own log lines about it reach the JSON log at most
// once a second.
#include <future>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "crm/runtime/log.h"
#include "crm/runtime/server.h"
#include "echo_service.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "test_util.h"

namespace crm::runtime {
namespace {

using ::crm::runtime::testing::EchoServiceImpl;
using ::crm::runtime::testing::HttpGet;
using ::crm::runtime::testing::v1::EchoRequest;

constexpr char kEchoMethod[] = "/crm.runtime.testing.v1.EchoService/Echo";

grpc::Status RawCall(grpc::GenericStub& stub, const std::string& body) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice slice(body);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, kEchoMethod, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

TEST(ParseErrorsTest, UnparsableBodiesAreInvalidArgumentAndLoggedSparingly) {
  absl::Mutex mu;
  std::vector<std::string> lines;
  SetLogSink([&](std::string_view line) {
    absl::MutexLock lock(&mu);
    lines.emplace_back(line);
  });
  MetricsRegistry registry;
  EchoServiceImpl echo;
  ServiceFlags flags;
  flags.listen_host = "127.0.0.1";
  flags.grpc_port = 0;
  flags.admin_port = 0;
  ServiceRuntime runtime("crm-test", flags, &registry);
  runtime.AddService(&echo);
  ASSERT_TRUE(runtime.Start().ok());
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", runtime.grpc_port()),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);

  const std::string expected =
      "request: not a valid crm.runtime.testing.v1.EchoRequest (the body does not parse";
  EchoRequest utf8;
  utf8.set_message("PLACEHOLDER");
  std::string bad_utf8 = utf8.SerializeAsString();
  bad_utf8.replace(bad_utf8.find("PLACEHOLDER"), 11, std::string(11, '\xff'));
  constexpr int kBad = 50;
  for (int i = 0; i < kBad; ++i) {
    for (const std::string& body : {std::string("not a protobuf message"), bad_utf8}) {
      grpc::Status s = RawCall(stub, body);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
      EXPECT_TRUE(absl::StartsWith(s.error_message(), expected)) << s.error_message();
    }
  }
  // The same connection serves a good request.
  EchoRequest good;
  good.set_message("hello");
  EXPECT_TRUE(RawCall(stub, good.SerializeAsString()).ok());
  EXPECT_EQ(channel->GetState(false), GRPC_CHANNEL_READY);

  // Counted under the code the client got.
  const std::string metrics = HttpGet(runtime.admin_port(), "/metrics").body;
  EXPECT_NE(metrics.find(absl::StrCat("crm_grpc_server_handled_total{code=\"INVALID_ARGUMENT\","
                                      "method=\"",
                                      kEchoMethod, "\"} ", 2 * kBad, "\n")),
            std::string::npos)
      << metrics;
  runtime.Shutdown(absl::Seconds(5));
  SetLogSink({});

  // 50 refused UTF-8 strings in well under the few seconds this took: a line
  // or a few, not one per request.
  int protobuf_lines = 0;
  absl::MutexLock lock(&mu);
  for (const std::string& line : lines) {
    nlohmann::json parsed = nlohmann::json::parse(line);
    if (parsed.value("event", "") == "protobuf") ++protobuf_lines;
  }
  EXPECT_GE(protobuf_lines, 1);
  EXPECT_LT(protobuf_lines, 10);
}

}  // namespace
}  // namespace crm::runtime
