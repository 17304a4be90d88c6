// The gRPC adapter of crm.customer.v1.CustomerService: authenticates the caller,
// checks access, runs the pure domain decision, appends the events with the
// projection rows, and maps errors to gRPC codes. Blocking work (RocksDB, fsync)
// runs on a worker pool, never on gRPC's threads.
//
//   CustomerServiceImpl service({.store = store.get(), .verifier = verifier.get()});
//   runtime.AddService(&service);
#pragma once

#include <memory>

#include "crm/auth/jwt.h"
#include "crm/common/clock.h"
#include "crm/common/thread_pool.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/outbox_relay.h"

namespace crm::customer {

struct CustomerServiceOptions {
  eventstore::EventStore* store = nullptr;        // required
  const auth::TokenVerifier* verifier = nullptr;  // required
  const Clock* clock = &SystemClock();
  messaging::OutboxRelay* relay = nullptr;  // told about new events; may be null
  size_t worker_threads = 64;
};

// Thread safety: gRPC calls it concurrently. The store, verifier, clock and relay
// must outlive it. Destroying it waits for calls already handed to the pool.
class CustomerServiceImpl final : public v1::CustomerService::CallbackService {
 public:
  explicit CustomerServiceImpl(CustomerServiceOptions options);
  ~CustomerServiceImpl() override;

  grpc::ServerUnaryReactor* RegisterCustomer(grpc::CallbackServerContext* ctx,
                                             const v1::RegisterCustomerRequest* req,
                                             v1::RegisterCustomerResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateCustomer(grpc::CallbackServerContext* ctx,
                                           const v1::UpdateCustomerRequest* req,
                                           v1::WriteResponse* resp) override;
  grpc::ServerUnaryReactor* AddContact(grpc::CallbackServerContext* ctx,
                                       const v1::AddContactRequest* req,
                                       v1::AddContactResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateContact(grpc::CallbackServerContext* ctx,
                                          const v1::UpdateContactRequest* req,
                                          v1::WriteResponse* resp) override;
  grpc::ServerUnaryReactor* RemoveContact(grpc::CallbackServerContext* ctx,
                                          const v1::RemoveContactRequest* req,
                                          v1::WriteResponse* resp) override;
  grpc::ServerUnaryReactor* RecordTransaction(grpc::CallbackServerContext* ctx,
                                              const v1::RecordTransactionRequest* req,
                                              v1::RecordTransactionResponse* resp) override;
  grpc::ServerUnaryReactor* RecordAgreement(grpc::CallbackServerContext* ctx,
                                            const v1::RecordAgreementRequest* req,
                                            v1::RecordAgreementResponse* resp) override;
  grpc::ServerUnaryReactor* ChangeAgreementStatus(grpc::CallbackServerContext* ctx,
                                                  const v1::ChangeAgreementStatusRequest* req,
                                                  v1::WriteResponse* resp) override;
  grpc::ServerUnaryReactor* ChangeLifecycle(grpc::CallbackServerContext* ctx,
                                            const v1::ChangeLifecycleRequest* req,
                                            v1::WriteResponse* resp) override;
  grpc::ServerUnaryReactor* AssignOwner(grpc::CallbackServerContext* ctx,
                                        const v1::AssignOwnerRequest* req,
                                        v1::WriteResponse* resp) override;
  grpc::ServerUnaryReactor* SetVerification(grpc::CallbackServerContext* ctx,
                                            const v1::SetVerificationRequest* req,
                                            v1::WriteResponse* resp) override;
  grpc::ServerUnaryReactor* GrantAccess(grpc::CallbackServerContext* ctx,
                                        const v1::GrantAccessRequest* req,
                                        v1::WriteResponse* resp) override;
  grpc::ServerUnaryReactor* RevokeAccess(grpc::CallbackServerContext* ctx,
                                         const v1::RevokeAccessRequest* req,
                                         v1::WriteResponse* resp) override;
  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* ctx,
                                        const v1::GetCustomerRequest* req,
                                        v1::GetCustomerResponse* resp) override;
  grpc::ServerUnaryReactor* ListCustomers(grpc::CallbackServerContext* ctx,
                                          const v1::ListCustomersRequest* req,
                                          v1::ListCustomersResponse* resp) override;
  grpc::ServerUnaryReactor* GetCustomerHistory(grpc::CallbackServerContext* ctx,
                                               const v1::GetCustomerHistoryRequest* req,
                                               v1::GetCustomerHistoryResponse* resp) override;
  grpc::ServerWriteReactor<v1::StreamedEvent>* StreamEvents(
      grpc::CallbackServerContext* ctx, const v1::StreamEventsRequest* req) override;

 private:
  class Handler;
  CustomerServiceOptions options_;
  std::unique_ptr<Handler> handler_;
  ThreadPool pool_;
};

}  // namespace crm::customer
