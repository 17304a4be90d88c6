// The customer service's use cases over the command pipeline: every write RPC of
// crm.customer.v1.CustomerService as one command (access check, pure decision,
// answer), and the reads (get, as-of, list, history) scoped by the caller's
// access. The gRPC adapter (api/) serves these methods as they are; tests call
// them through command::Await.
//
//   command::Pipeline pipeline({.store = store.get()});
//   CustomerApp app(pipeline);
//   app.AddContact(who, request, &response, [](absl::Status s) { ... });   // a write
//   absl::Status s = app.GetCustomer(who, request, &response);             // a read
//
// Access (libs/auth): a customer is visible to its owner (sales reps, service
// agents), its region's manager, executives, admins and services, and to whoever
// holds an unexpired grant for it; invisible customers are PERMISSION_DENIED.
// Registering: sales reps and service agents own what they register, in their
// region; regional managers register in their region. Ownership transfers need
// a manager or above, grants an executive or admin.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "crm/auth/principal.h"
#include "crm/command/pipeline.h"
#include "crm/customer/v1/customer_service.pb.h"
#include "crm/eventstore/event_store.h"

namespace crm::customer {

using CustomerAggregate = command::Aggregate<v1::Customer, v1::CustomerEvent>;

// The customer aggregate's parts: streams "customer-<id>", folded by the domain's
// Apply, rows of projection/ (the row, list indexes, duplicate keys).
const CustomerAggregate& Customers();

// Rebuilds the rows of Customers() from the log (crm-customer
// --rebuild_projections): the projector and its targets.
std::unique_ptr<eventstore::ProjectionSetProjector> NewRebuildProjector();

// Thread safety: every method may be called concurrently. `pipeline` (and its
// store and clock) must outlive the app.
class CustomerApp {
 public:
  explicit CustomerApp(command::Pipeline& pipeline);
  ~CustomerApp();

  void RegisterCustomer(const auth::Principal& who, const v1::RegisterCustomerRequest& req,
                        v1::RegisterCustomerResponse* resp, command::Done done);
  void UpdateCustomer(const auth::Principal& who, const v1::UpdateCustomerRequest& req,
                      v1::WriteResponse* resp, command::Done done);
  void AddContact(const auth::Principal& who, const v1::AddContactRequest& req,
                  v1::AddContactResponse* resp, command::Done done);
  void UpdateContact(const auth::Principal& who, const v1::UpdateContactRequest& req,
                     v1::WriteResponse* resp, command::Done done);
  void RemoveContact(const auth::Principal& who, const v1::RemoveContactRequest& req,
                     v1::WriteResponse* resp, command::Done done);
  void RecordTransaction(const auth::Principal& who, const v1::RecordTransactionRequest& req,
                         v1::RecordTransactionResponse* resp, command::Done done);
  void RecordAgreement(const auth::Principal& who, const v1::RecordAgreementRequest& req,
                       v1::RecordAgreementResponse* resp, command::Done done);
  void ChangeAgreementStatus(const auth::Principal& who,
                             const v1::ChangeAgreementStatusRequest& req, v1::WriteResponse* resp,
                             command::Done done);
  void ChangeLifecycle(const auth::Principal& who, const v1::ChangeLifecycleRequest& req,
                       v1::WriteResponse* resp, command::Done done);
  void AssignOwner(const auth::Principal& who, const v1::AssignOwnerRequest& req,
                   v1::WriteResponse* resp, command::Done done);
  void SetVerification(const auth::Principal& who, const v1::SetVerificationRequest& req,
                       v1::WriteResponse* resp, command::Done done);
  void GrantAccess(const auth::Principal& who, const v1::GrantAccessRequest& req,
                   v1::WriteResponse* resp, command::Done done);
  void RevokeAccess(const auth::Principal& who, const v1::RevokeAccessRequest& req,
                    v1::WriteResponse* resp, command::Done done);
  // Access requests (seed 004 §7): anyone asks, with a reason (the answer is the
  // same whether or not the customer exists; only an existing customer's request
  // is recorded); the general manager or the marketing director approves (an
  // AccessGrant until expires_at) or denies, and lists them.
  void RequestAccess(const auth::Principal& who, const v1::RequestAccessRequest& req,
                     v1::RequestAccessResponse* resp, command::Done done);
  void ApproveAccessRequest(const auth::Principal& who, const v1::ApproveAccessRequestRequest& req,
                            v1::WriteResponse* resp, command::Done done);
  void DenyAccessRequest(const auth::Principal& who, const v1::DenyAccessRequestRequest& req,
                         v1::WriteResponse* resp, command::Done done);
  absl::Status ListAccessRequests(const auth::Principal& who,
                                  const v1::ListAccessRequestsRequest& req,
                                  v1::ListAccessRequestsResponse* resp);

  // The current record, or (with as_of) the record folded from the events up to
  // that time. NOT_FOUND for an unknown customer, or one that did not exist then.
  absl::Status GetCustomer(const auth::Principal& who, const v1::GetCustomerRequest& req,
                           v1::GetCustomerResponse* resp);
  // The caller's customers matching the filters, in (normalized name, id) order.
  absl::Status ListCustomers(const auth::Principal& who, const v1::ListCustomersRequest& req,
                             v1::ListCustomersResponse* resp);
  // The customer's events with actor and time, oldest first.
  absl::Status GetCustomerHistory(const auth::Principal& who,
                                  const v1::GetCustomerHistoryRequest& req,
                                  v1::GetCustomerHistoryResponse* resp);

  // Who may read the whole event log (StreamEvents): services and admins.
  static absl::Status CheckStreamAccess(const auth::Principal& who);

  // The reaction worker (DOMAIN.md §6): each crm-interaction event the consumer
  // queued (kReactionQueueProjection) runs one command on the pipeline, as the
  // event's actor:
  // - OpportunityWon, "ConvertOnOpportunityWon": a POTENTIAL or FOLLOWING
  //   customer becomes COOPERATING (DecideConvertOnOpportunityWon);
  // - ChurnLossConfirmed, "ChurnOnLossConfirmed": the customer becomes CHURNED
  //   with the loss reason (DecideChurnOnLossConfirmed).
  // The LifecycleChanged's envelope has the consumed event's id as causation_id
  // and command id (so the same event never applies twice, also when queued
  // again) and its correlation_id (else its event id). Handled rows leave the
  // queue; a row that can never apply (unknown customer, another kind) is logged
  // and dropped. Returns the changes applied (a replayed one counts again); an
  // error (the store, a write still racing after the pipeline's retries) leaves
  // the row for the next run, the rows after it are still worked on, and the
  // pass then returns the first such error. Not concurrently with itself.
  absl::StatusOr<int> ReactToInteractionEvents();

 private:
  struct Commands;
  command::Pipeline& pipeline_;
  std::unique_ptr<Commands> commands_;
};

}  // namespace crm::customer
