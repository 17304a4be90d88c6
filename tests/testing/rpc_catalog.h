// Every RPC of the suite as data, for the tests that go over all of them
// (bad_input_e2e_test, least_privilege_e2e_test): raw calls by method path, the
// health of a process or of one of its services, and every service declared in
// a proto/crm/**/*_service.proto file of the source tree. The including test
// defines CRM_PROTO_ROOT (the proto/ folder) and links every service's proto
// library.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crm/admin/v1/admin_service.pb.h"
#include "crm/auth/grpc_auth.h"
#include "crm/classification/v1/classification_service.pb.h"
#include "crm/customer/v1/customer_service.pb.h"
#include "crm/events/v1/event_log_service.pb.h"
#include "crm/interaction/v1/campaign_service.pb.h"
#include "crm/interaction/v1/churn_service.pb.h"
#include "crm/interaction/v1/interaction_service.pb.h"
#include "crm/interaction/v1/sales_service.pb.h"
#include "crm/ticket/v1/ticket_service.pb.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"

namespace crm::testing {

struct RawReply {
  grpc::Status status;
  std::string body;  // the response bytes of a successful call
};

// One unary call of `method` ("/pkg.Service/Method") with `body` as the request
// bytes and `token` as bearer (none when empty). Also used for server-streaming
// methods: the first error ends the call.
inline RawReply RawCall(grpc::GenericStub& stub, const std::string& method,
                        const std::string& body, const std::string& token) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  if (!token.empty()) ctx.AddMetadata("authorization", auth::BearerHeader(token));
  grpc::Slice slice(body);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  RawReply reply{done.get_future().get(), ""};
  std::vector<grpc::Slice> slices;
  if (reply.status.ok() && response.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      reply.body.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return reply;
}

inline std::string MethodPath(const google::protobuf::MethodDescriptor& m) {
  return absl::StrCat("/", m.service()->full_name(), "/", m.name());
}

// grpc.health.v1.Health/Check for `service` ("" = the whole process):
// HealthCheckRequest{service = 1}, HealthCheckResponse{status = 1; SERVING = 1}.
// Hand-encoded: Debian ships no health.proto. "SERVING", "not serving" or
// "error <code>".
inline std::string Health(grpc::GenericStub& stub, const std::string& service) {
  std::string body;
  if (!service.empty()) {
    body.push_back('\x0a');
    body.push_back(static_cast<char>(service.size()));  // names are < 128 bytes
    body += service;
  }
  RawReply r = RawCall(stub, "/grpc.health.v1.Health/Check", body, "");
  if (!r.status.ok()) return absl::StrCat("error ", r.status.error_code());
  return r.body == std::string("\x08\x01", 2) ? "SERVING" : "not serving";
}

// Every service declared in a proto/crm/**/*_service.proto file of the source
// tree, from the descriptors linked into the test (`test` names it in failures).
inline std::vector<const google::protobuf::ServiceDescriptor*> ServicesOfTheSourceTree(
    std::string_view test) {
  // One message of every service file, so that the linker keeps each file's
  // descriptors (it drops what nothing refers to). A new service file: its
  // library in tests/CMakeLists.txt, its header above and a line here; until
  // then the tests that use this fail naming it.
  static const google::protobuf::Descriptor* const kLinked[] = {
      admin::v1::BackupRequest::descriptor(),
      classification::v1::GetRuleSetRequest::descriptor(),
      customer::v1::GetCustomerRequest::descriptor(),
      events::v1::StreamEventsRequest::descriptor(),
      interaction::v1::GetCampaignRequest::descriptor(),
      interaction::v1::GetChurnCaseRequest::descriptor(),
      interaction::v1::GetInteractionRequest::descriptor(),
      interaction::v1::GetOpportunityRequest::descriptor(),
      ticket::v1::GetTicketRequest::descriptor(),
  };
  EXPECT_EQ(std::size(kLinked), 9u);
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(CRM_PROTO_ROOT)) {
    if (absl::EndsWith(entry.path().filename().string(), "_service.proto")) {
      files.push_back(std::filesystem::relative(entry.path(), CRM_PROTO_ROOT).string());
    }
  }
  std::sort(files.begin(), files.end());
  EXPECT_GE(files.size(), 7u);
  std::vector<const google::protobuf::ServiceDescriptor*> out;
  for (const std::string& file : files) {
    const google::protobuf::FileDescriptor* fd =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(file);
    if (fd == nullptr) {
      ADD_FAILURE() << file << " is not linked into " << test << ": add its proto library";
      continue;
    }
    for (int s = 0; s < fd->service_count(); ++s) out.push_back(fd->service(s));
  }
  return out;
}

}  // namespace crm::testing
