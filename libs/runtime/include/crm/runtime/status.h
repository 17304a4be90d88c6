// The one place where absl::Status and grpc::Status are converted, plus the
// suite's convention for naming the offending field of a validation error.
//
//   absl::Status Validate(const Contact& c) {
//     if (!absl::StrContains(c.email(), '@'))
//       return crm::runtime::InvalidFieldError("contact.email", "must contain '@'");
//     return absl::OkStatus();
//   }
//   ...
//   return reactor->Finish(crm::runtime::ToGrpcStatus(Validate(contact)));
//
// Codes map one to one (the numeric values of both enums are the gRPC codes);
// messages are kept as they are up to kMaxWireMessageBytes: a message that
// echoes a huge input (an unknown id of 66 KB) would otherwise travel in the
// grpc-message trailer, beyond what an HTTP/2 peer accepts in a header block,
// and the call would never be answered. Payloads, including the field, are not sent
// over the wire: the field path is also the start of the message, which is what
// a client sees ("contact.email: must contain '@'").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace crm::runtime {

// The absl::Status payload type URL under which InvalidFieldError stores the field.
inline constexpr std::string_view kFieldPayloadUrl = "crm.field";

// The longest message sent to a client, in bytes.
inline constexpr size_t kMaxWireMessageBytes = 1024;

// Same code, same message. An OK status becomes grpc::Status::OK (an OK status
// carries no message). A code outside the canonical range becomes UNKNOWN. A
// message longer than kMaxWireMessageBytes is cut at a UTF-8 character boundary
// within that length and ends with "... (N bytes left out)".
grpc::Status ToGrpcStatus(const absl::Status& status);

// Same code, same message. grpc's binary error_details are dropped. A code
// outside the canonical range becomes UNKNOWN.
absl::Status FromGrpcStatus(const grpc::Status& status);

// INVALID_ARGUMENT with message "<field>: <reason>" and the field path attached
// as a payload (see FieldOf). `field` is a dotted path into the request, e.g.
// "contact.email" or "phones[2].number".
absl::Status InvalidFieldError(std::string_view field, std::string_view reason);

// The field attached by InvalidFieldError, or nullopt when there is none
// (including for an OK status and for statuses converted back from gRPC).
std::optional<std::string> FieldOf(const absl::Status& status);

}  // namespace crm::runtime
