#include "crm/runtime/status.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::runtime {
namespace {

// The 17 canonical codes, in both enums' numbering.
constexpr int kCodeCount = 17;

TEST(RuntimeStatusTest, AbslToGrpcKeepsEveryCodeAndMessage) {
  for (int code = 1; code < kCodeCount; ++code) {
    absl::Status status(static_cast<absl::StatusCode>(code), "boom");
    grpc::Status converted = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(converted.error_code()), code);
    EXPECT_EQ(converted.error_message(), "boom");
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(RuntimeStatusTest, GrpcToAbslKeepsEveryCodeAndMessage) {
  for (int code = 1; code < kCodeCount; ++code) {
    grpc::Status status(static_cast<grpc::StatusCode>(code), "boom");
    absl::Status converted = FromGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(converted.code()), code);
    EXPECT_EQ(converted.message(), "boom");
  }
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(RuntimeStatusTest, ALongMessageIsCutAtACharacterBoundary) {
  // An unknown id of 66 KB echoed into NOT_FOUND.
  const std::string id(66'000, 'x');
  grpc::Status cut = ToGrpcStatus(absl::NotFoundError("customer " + id + " not found"));
  EXPECT_EQ(cut.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_LE(cut.error_message().size(), kMaxWireMessageBytes);
  EXPECT_THAT(cut.error_message(), testing::StartsWith("customer xxxx"));
  const size_t kept = kMaxWireMessageBytes - 48;
  EXPECT_THAT(cut.error_message(),
              testing::EndsWith("... (" + std::to_string(9 + 66'000 + 10 - kept) +
                                " bytes left out)"));
  // Three-byte characters ("客", E5 AE A2) straddling the cut: none is split.
  std::string wide;
  for (int i = 0; i < 1000; ++i) wide += "\xE5\xAE\xA2";
  const std::string message = ToGrpcStatus(absl::InvalidArgumentError(wide)).error_message();
  const std::string kept_part = message.substr(0, message.find("... ("));
  EXPECT_EQ(kept_part.size() % 3, 0u);
  EXPECT_EQ(kept_part, wide.substr(0, kept_part.size()));
  EXPECT_LE(message.size(), kMaxWireMessageBytes);
  // At the limit: unchanged.
  const std::string exact(kMaxWireMessageBytes, 'y');
  EXPECT_EQ(ToGrpcStatus(absl::InternalError(exact)).error_message(), exact);
}

TEST(RuntimeStatusTest, NamedCodesLineUp) {
  EXPECT_EQ(ToGrpcStatus(absl::AbortedError("x")).error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(ToGrpcStatus(absl::UnauthenticatedError("x")).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "x")).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(RuntimeStatusTest, OutOfRangeCodesBecomeUnknown) {
  EXPECT_EQ(ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(42), "x")).error_code(),
            grpc::StatusCode::UNKNOWN);
  // grpc::StatusCode has no fixed underlying type: 20 is the kind of value a
  // newer peer could send and still a valid value of the enum.
  EXPECT_EQ(FromGrpcStatus(grpc::Status(static_cast<grpc::StatusCode>(20), "x")).code(),
            absl::StatusCode::kUnknown);
}

TEST(RuntimeStatusTest, InvalidFieldErrorNamesTheField) {
  absl::Status status = InvalidFieldError("contact.email", "must contain '@'");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "contact.email: must contain '@'");
  EXPECT_EQ(FieldOf(status), "contact.email");

  grpc::Status wire = ToGrpcStatus(status);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(wire.error_message(), "contact.email: must contain '@'");
  EXPECT_EQ(FieldOf(FromGrpcStatus(wire)), std::nullopt);  // Payloads stay in-process.
}

TEST(RuntimeStatusTest, FieldOfWithoutField) {
  EXPECT_EQ(FieldOf(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(FieldOf(absl::InvalidArgumentError("contact.email: bad")), std::nullopt);
}

}  // namespace
}  // namespace crm::runtime
