// The gRPC adapter of crm.customer.v1.CustomerService: each unary RPC is served
// by the CustomerApp method of its name on gRPC's own thread (libs/command
// Serve: authentication, then the app; a write finishes when the group commit
// that holds it is durable). StreamEvents streams the event log to services and
// admins.
//
//   CustomerApp app(pipeline);
//   CustomerServiceImpl service(app, *verifier, store);
//   runtime.AddService(&service);
#pragma once

#include "crm/auth/jwt.h"
#include "crm/command/serve.h"
#include "crm/customer/app/customer_app.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/eventstore/event_store.h"

namespace crm::customer {

// The unary RPCs of CustomerService, each with its request and response.
#define CRM_CUSTOMER_RPCS(X)                                                   \
  X(RegisterCustomer, v1::RegisterCustomerRequest, v1::RegisterCustomerResponse) \
  X(UpdateCustomer, v1::UpdateCustomerRequest, v1::WriteResponse)              \
  X(AddContact, v1::AddContactRequest, v1::AddContactResponse)                 \
  X(UpdateContact, v1::UpdateContactRequest, v1::WriteResponse)                \
  X(RemoveContact, v1::RemoveContactRequest, v1::WriteResponse)                \
  X(RecordTransaction, v1::RecordTransactionRequest, v1::RecordTransactionResponse) \
  X(RecordAgreement, v1::RecordAgreementRequest, v1::RecordAgreementResponse)  \
  X(ChangeAgreementStatus, v1::ChangeAgreementStatusRequest, v1::WriteResponse) \
  X(ChangeLifecycle, v1::ChangeLifecycleRequest, v1::WriteResponse)            \
  X(AssignOwner, v1::AssignOwnerRequest, v1::WriteResponse)                    \
  X(SetVerification, v1::SetVerificationRequest, v1::WriteResponse)            \
  X(GrantAccess, v1::GrantAccessRequest, v1::WriteResponse)                    \
  X(RevokeAccess, v1::RevokeAccessRequest, v1::WriteResponse)                  \
  X(RequestAccess, v1::RequestAccessRequest, v1::RequestAccessResponse)        \
  X(ApproveAccessRequest, v1::ApproveAccessRequestRequest, v1::WriteResponse)  \
  X(DenyAccessRequest, v1::DenyAccessRequestRequest, v1::WriteResponse)        \
  X(ListAccessRequests, v1::ListAccessRequestsRequest, v1::ListAccessRequestsResponse) \
  X(GetCustomer, v1::GetCustomerRequest, v1::GetCustomerResponse)              \
  X(ListCustomers, v1::ListCustomersRequest, v1::ListCustomersResponse)        \
  X(GetCustomerHistory, v1::GetCustomerHistoryRequest, v1::GetCustomerHistoryResponse)

// Thread safety: gRPC calls it concurrently. The app, verifier and store must
// outlive it.
class CustomerServiceImpl final : public v1::CustomerService::CallbackService {
 public:
  CustomerServiceImpl(CustomerApp& app, const auth::TokenVerifier& verifier,
                      eventstore::EventStore& store)
      : app_(app), verifier_(verifier), store_(store) {}

  CRM_CUSTOMER_RPCS(CRM_DECLARE_RPC)
  grpc::ServerWriteReactor<v1::StreamedEvent>* StreamEvents(
      grpc::CallbackServerContext* ctx, const v1::StreamEventsRequest* req) override;

 private:
  CustomerApp& app_;
  const auth::TokenVerifier& verifier_;
  eventstore::EventStore& store_;
};

}  // namespace crm::customer
