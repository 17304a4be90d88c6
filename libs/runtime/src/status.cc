#include "crm/runtime/status.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl_view.h"

namespace crm::runtime {
namespace {

// Both enums use the canonical gRPC numbering, but absl may carry any int and
// gRPC does not check either, so map through an explicit table; anything not
// in it becomes UNKNOWN.
struct CodePair {
  absl::StatusCode absl_code;
  grpc::StatusCode grpc_code;
};
constexpr CodePair kCodes[] = {
    {absl::StatusCode::kOk, grpc::StatusCode::OK},
    {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED},
    {absl::StatusCode::kUnknown, grpc::StatusCode::UNKNOWN},
    {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
    {absl::StatusCode::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED},
    {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND},
    {absl::StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
    {absl::StatusCode::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED},
    {absl::StatusCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED},
    {absl::StatusCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION},
    {absl::StatusCode::kAborted, grpc::StatusCode::ABORTED},
    {absl::StatusCode::kOutOfRange, grpc::StatusCode::OUT_OF_RANGE},
    {absl::StatusCode::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED},
    {absl::StatusCode::kInternal, grpc::StatusCode::INTERNAL},
    {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE},
    {absl::StatusCode::kDataLoss, grpc::StatusCode::DATA_LOSS},
    {absl::StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED},
};

grpc::StatusCode ToGrpcCode(absl::StatusCode code) {
  for (const CodePair& pair : kCodes) {
    if (pair.absl_code == code) return pair.grpc_code;
  }
  return grpc::StatusCode::UNKNOWN;
}

absl::StatusCode FromGrpcCode(grpc::StatusCode code) {
  for (const CodePair& pair : kCodes) {
    if (pair.grpc_code == code) return pair.absl_code;
  }
  return absl::StatusCode::kUnknown;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const absl::string_view message = status.message();
  if (message.size() <= kMaxWireMessageBytes) {
    return grpc::Status(ToGrpcCode(status.code()), std::string(message));
  }
  // Room for the suffix; never cut inside a UTF-8 sequence (continuation bytes
  // are 10xxxxxx).
  size_t keep = kMaxWireMessageBytes - 48;
  while (keep > 0 && (static_cast<unsigned char>(message[keep]) & 0xC0) == 0x80) --keep;
  return grpc::Status(ToGrpcCode(status.code()),
                      absl::StrCat(std::string(message.substr(0, keep)), "... (", message.size() - keep,
                                   " bytes left out)"));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(FromGrpcCode(status.error_code()), status.error_message());
}

absl::Status InvalidFieldError(std::string_view field, std::string_view reason) {
  absl::Status status = absl::InvalidArgumentError(
      absl::StrCat(internal::AbslView(field), ": ", internal::AbslView(reason)));
  status.SetPayload(internal::AbslView(kFieldPayloadUrl), absl::Cord(internal::AbslView(field)));
  return status;
}

std::optional<std::string> FieldOf(const absl::Status& status) {
  auto field = status.GetPayload(internal::AbslView(kFieldPayloadUrl));
  if (!field.has_value()) return std::nullopt;
  return std::string(*field);
}

}  // namespace crm::runtime
