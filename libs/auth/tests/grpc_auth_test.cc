// Authenticate against a real server context: an in-process gRPC server with a
// generic callback service that authenticates each call and reports the result.
#include "crm/auth/grpc_auth.h"

#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "common/testing/fake_clock.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "test_keys.h"

namespace crm::auth {
namespace {

constexpr char kSubjectKey[] = "x-subject";

// Finishes at once with the given status; the request is never read.
class FinishReactor : public grpc::ServerGenericBidiReactor {
 public:
  explicit FinishReactor(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

class AuthCheckService : public grpc::CallbackGenericService {
 public:
  explicit AuthCheckService(const TokenVerifier* verifier) : verifier_(verifier) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    absl::StatusOr<Principal> who = Authenticate(*ctx, *verifier_);
    if (!who.ok()) {
      return new FinishReactor(grpc::Status(static_cast<grpc::StatusCode>(who.status().code()),
                                            std::string(who.status().message())));
    }
    ctx->AddTrailingMetadata(kSubjectKey, who->subject);
    return new FinishReactor(grpc::Status::OK);
  }

 private:
  const TokenVerifier* verifier_;
};

class AuthGrpcTest : public ::testing::Test {
 protected:
  struct Result {
    grpc::Status status;
    std::string subject;
  };

  void SetUp() override {
    auto verifier =
        TokenVerifier::Create({.hs256_secret = std::string(testing::kSecret), .clock = &clock_});
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    verifier_ = *std::move(verifier);
    auto signer = TokenSigner::Create({.hs256_secret = std::string(testing::kSecret)});
    ASSERT_TRUE(signer.ok()) << signer.status();
    absl::Time now = clock_.Now();
    auto token = (*signer)->Sign({.sub = "u-7",
                                  .roles = {"sales_rep"},
                                  .issued_at = now,
                                  .expires_at = now + absl::Hours(1)});
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = *token;

    service_ = std::make_unique<AuthCheckService>(verifier_.get());
    grpc::ServerBuilder builder;
    builder.RegisterCallbackGenericService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ =
        std::make_unique<grpc::GenericStub>(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }

  Result Call(const std::vector<std::string>& authorization_values) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    for (const std::string& value : authorization_values) {
      context.AddMetadata(std::string(kAuthorizationKey), value);
    }
    grpc::Slice slice("ping");
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub_->UnaryCall(&context, "/crm.auth.test.Check/Check", grpc::StubOptions(), &request,
                     &response,
                     [&done](grpc::Status status) { done.set_value(std::move(status)); });
    Result result{done.get_future().get(), ""};
    const auto& trailers = context.GetServerTrailingMetadata();
    if (auto it = trailers.find(kSubjectKey); it != trailers.end()) {
      result.subject = std::string(it->second.data(), it->second.size());
    }
    return result;
  }

  crm::testing::FakeClock clock_;
  std::unique_ptr<TokenVerifier> verifier_;
  std::string token_;
  std::unique_ptr<AuthCheckService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

TEST_F(AuthGrpcTest, ValidBearerTokenYieldsThePrincipal) {
  Result result = Call({BearerHeader(token_)});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.subject, "u-7");
  result = Call({"bearer " + token_});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.subject, "u-7");
}

TEST_F(AuthGrpcTest, MissingOrBadMetadataIsUnauthenticated) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{}, "missing bearer token"},
      {{"Bearer"}, "missing bearer token"},
      {{token_}, "authorization is not a bearer token"},
      {{"Basic dXNlcjpwYXNz"}, "authorization is not a bearer token"},
      {{BearerHeader(token_), BearerHeader(token_)}, "repeated authorization metadata"},
      {{BearerHeader(token_ + "x")}, "token signature invalid"},
  };
  for (const auto& [values, message] : cases) {
    SCOPED_TRACE(message);
    Result result = Call(values);
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(result.status.error_message(), message);
    EXPECT_EQ(result.subject, "");
  }
}

TEST_F(AuthGrpcTest, ExpiredTokenIsUnauthenticated) {
  clock_.Advance(absl::Hours(2));
  Result result = Call({BearerHeader(token_)});
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(result.status.error_message(), "token expired");
}

}  // namespace
}  // namespace crm::auth
