#include "crm/interaction/api/interaction_service.h"

#include "absl/strings/str_cat.h"
#include "crm/auth/authenticated_call.h"
#include "crm/auth/grpc_auth.h"
#include "crm/common/status_macros.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/runtime/status.h"
#include "grpcpp/grpcpp.h"

namespace crm::interaction {
namespace {

class GrpcCustomerLookup final : public CustomerLookup {
 public:
  GrpcCustomerLookup(std::shared_ptr<grpc::Channel> channel, std::function<std::string()> token)
      : stub_(customer::v1::CustomerService::NewStub(channel)), token_(std::move(token)) {}

  absl::StatusOr<std::optional<CustomerInfo>> Lookup(const std::string& customer_id) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ctx.AddMetadata("authorization", auth::BearerHeader(token_()));
    customer::v1::GetCustomerRequest req;
    req.set_customer_id(customer_id);
    customer::v1::GetCustomerResponse resp;
    grpc::Status s = stub_->GetCustomer(&ctx, req, &resp);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return std::nullopt;
    if (!s.ok()) {
      return absl::UnavailableError(
          absl::StrCat("customer service lookup of ", customer_id, ": ", s.error_message()));
    }
    return CustomerInfo{customer_id, resp.customer().owner(), resp.customer().region()};
  }

 private:
  std::unique_ptr<customer::v1::CustomerService::Stub> stub_;
  std::function<std::string()> token_;
};

}  // namespace

#define CRM_INTERACTION_RPC(Method, Request, Response)                                         \
  grpc::ServerUnaryReactor* InteractionServiceImpl::Method(                                   \
      grpc::CallbackServerContext* ctx, const v1::Request* req, v1::Response* resp) {          \
    return auth::ServeAuthenticated(                                                         \
        pool_, *verifier_, ctx, [this, req, resp](const auth::Principal& who) -> absl::Status { \
          ASSIGN_OR_RETURN(*resp, logic_->Method(who, *req));                                 \
          return absl::OkStatus();                                                            \
        });                                                                                   \
  }
CRM_INTERACTION_RPC(PlanVisit, PlanVisitRequest, CreateResponse)
CRM_INTERACTION_RPC(RescheduleVisit, RescheduleVisitRequest, WriteResponse)
CRM_INTERACTION_RPC(CancelVisit, CancelVisitRequest, WriteResponse)
CRM_INTERACTION_RPC(RecordVisit, RecordVisitRequest, WriteResponse)
CRM_INTERACTION_RPC(LogFollowUp, LogFollowUpRequest, CreateResponse)
CRM_INTERACTION_RPC(RecordRevisit, RecordRevisitRequest, WriteResponse)
CRM_INTERACTION_RPC(PlanCare, PlanCareRequest, CreateResponse)
CRM_INTERACTION_RPC(CompleteCare, CompleteCareRequest, WriteResponse)
CRM_INTERACTION_RPC(EvaluateCare, EvaluateCareRequest, WriteResponse)
CRM_INTERACTION_RPC(RecordSatisfaction, RecordSatisfactionRequest, CreateResponse)
CRM_INTERACTION_RPC(GetInteraction, GetInteractionRequest, GetInteractionResponse)
CRM_INTERACTION_RPC(ListInteractions, ListInteractionsRequest, ListInteractionsResponse)
CRM_INTERACTION_RPC(ListDueRevisits, ListDueRevisitsRequest, ListDueRevisitsResponse)
CRM_INTERACTION_RPC(GetTimeline, GetTimelineRequest, GetTimelineResponse)
CRM_INTERACTION_RPC(ListUpcomingBirthdays, ListUpcomingBirthdaysRequest,
                    ListUpcomingBirthdaysResponse)
#undef CRM_INTERACTION_RPC

std::unique_ptr<CustomerLookup> NewGrpcCustomerLookup(std::shared_ptr<grpc::Channel> channel,
                                                      std::function<std::string()> token) {
  return std::make_unique<GrpcCustomerLookup>(std::move(channel), std::move(token));
}

}  // namespace crm::interaction
