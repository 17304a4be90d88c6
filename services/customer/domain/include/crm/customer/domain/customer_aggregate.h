// The customer aggregate (DOMAIN.md §1): the rules of the customer master record
// as pure functions. `Decide*` turns a command (the service's request message)
// and the current state (a v1::Customer folded from the stream) into the events
// to append; `Apply` folds one event into the state. No I/O, no clock reads, no
// randomness: time, actor and ids come in through DecideContext.
//
//   DecideContext ctx{.actor = caller.subject, .now = clock.Now(), .new_id = &crm::NewId};
//   ASSIGN_OR_RETURN(std::vector<v1::CustomerEvent> events,
//                    DecideAddContact(state, request, ctx));
//   // append `events` at state.version(); then, to answer with the new state:
//   for (const auto& event : events)
//     Apply(state, event, {.version = state.version() + 1, .occurred_at = ctx.now,
//                          .actor = ctx.actor});
//
// Errors of Decide* (nothing is decided then):
// - NOT_FOUND "customer not found" when `state` is at version 0 (all but register);
// - INVALID_ARGUMENT whose message starts with the field path at fault and ": "
//   ("basic.name: required", "contacts[1].personal.email: not an e-mail address");
// - NOT_FOUND, message starting with the id field, for an unknown contact,
//   agreement or access grant ("contact_id: no contact c-9");
// - FAILED_PRECONDITION for a transition the current state does not allow; the
//   message names the current state ("lifecycle: already COOPERATING").
// Request fields are checked before the state is consulted, so a request that is
// both malformed and refused reports INVALID_ARGUMENT.
//
// An OK result may be an EMPTY vector: the command is valid but changes nothing
// (UpdateCustomer or UpdateContact with values equal to the current ones). The
// service then appends nothing and answers with the current version.
//
// Every event has `customer_id` set. Ids of new parts (contact_id, transaction_id,
// agreement_id) come from ctx.new_id(); ids sent by the client are ignored.
// Names and titles are stored trimmed of surrounding white space.
//
// Thread safety: all functions are pure and reentrant (ctx.new_id is called on
// the calling thread).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/domain/aggregate.h"
#include "crm/customer/v1/customer.pb.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/customer/v1/customer_service.pb.h"

namespace crm::customer {

// What a decision may use besides state and command.
struct DecideContext {
  // The caller's subject: recorded as changed_by / granted_by / revoked_by.
  std::string actor;
  // The time of the decision (never read from a clock here).
  absl::Time now;
  // Ids for new contacts, transactions and agreements. Must be set for commands
  // that create parts (register with contacts, add contact, record transaction,
  // record agreement); INTERNAL error otherwise.
  std::function<std::string()> new_id;
};

// Who appended an event, when, and the stream version it got.
using ::crm::domain::EventMeta;

using Events = std::vector<v1::CustomerEvent>;

// Registers a customer (the stream is empty; `customer_id` is chosen by the
// caller). Returns CustomerRegistered, then one ContactAdded per contact. `owner`
// and `region` must already be resolved by the service (defaults, authorization);
// `confirmed_duplicate_of` is left empty: the service, which ran the duplicate
// lookup, sets it on the first event when the caller confirmed a duplicate.
absl::StatusOr<Events> DecideRegister(const v1::RegisterCustomerRequest& request,
                                      std::string_view customer_id, const DecideContext& ctx);
// Changes the fields named in update_paths ("basic", "basic.<field>",
// "characteristics[.<field>]", "source[.<field>]"). Only the named fields are
// validated; the CustomerUpdated event carries only the paths whose value
// actually changes (paths covered by a whole-message path are dropped) and only
// their values. Empty result when nothing changes.
absl::StatusOr<Events> DecideUpdate(const v1::Customer& state,
                                    const v1::UpdateCustomerRequest& request,
                                    const DecideContext& ctx);
// Most contacts one customer may have (AddContact beyond it: FAILED_PRECONDITION
// "contacts: ..."); a registration brings at most 100 (its request's bound).
inline constexpr int kMaxContacts = 1000;
absl::StatusOr<Events> DecideAddContact(const v1::Customer& state,
                                        const v1::AddContactRequest& request,
                                        const DecideContext& ctx);
// Replaces a contact's data; empty result when it equals the current data.
absl::StatusOr<Events> DecideUpdateContact(const v1::Customer& state,
                                           const v1::UpdateContactRequest& request,
                                           const DecideContext& ctx);
absl::StatusOr<Events> DecideRemoveContact(const v1::Customer& state,
                                           const v1::RemoveContactRequest& request,
                                           const DecideContext& ctx);
absl::StatusOr<Events> DecideRecordTransaction(const v1::Customer& state,
                                               const v1::RecordTransactionRequest& request,
                                               const DecideContext& ctx);
absl::StatusOr<Events> DecideRecordAgreement(const v1::Customer& state,
                                             const v1::RecordAgreementRequest& request,
                                             const DecideContext& ctx);
absl::StatusOr<Events> DecideChangeAgreementStatus(const v1::Customer& state,
                                                   const v1::ChangeAgreementStatusRequest& request,
                                                   const DecideContext& ctx);
absl::StatusOr<Events> DecideChangeLifecycle(const v1::Customer& state,
                                             const v1::ChangeLifecycleRequest& request,
                                             const DecideContext& ctx);
// Conversion (DOMAIN.md §6): a won opportunity makes a POTENTIAL or FOLLOWING
// customer COOPERATING, through DecideChangeLifecycle, with the LifecycleChanged
// naming the cause (`reason` "opportunity <id> won", `opportunity_id`). Empty
// result for a customer already COOPERATING, and for a CHURNED one: winning a
// churned customer back undoes a confirmed loss, which stays the owner's
// decision (ChangeLifecycle). INVALID_ARGUMENT "opportunity_id: ..." when it is
// blank, longer than 256 characters or not UTF-8.
absl::StatusOr<Events> DecideConvertOnOpportunityWon(const v1::Customer& state,
                                                     std::string_view opportunity_id,
                                                     const DecideContext& ctx);
// Churn handling (DOMAIN.md §6): a churn case closed as lost (crm-interaction's
// ChurnLossConfirmed) makes the customer CHURNED, through DecideChangeLifecycle,
// with `churn_reason` the loss reason (e.g. "COMPETITOR: moved to Acme") and the
// LifecycleChanged naming the cause (`reason` "churn case <id>: loss confirmed",
// `churn_case_id`). Empty result for a customer already CHURNED.
// INVALID_ARGUMENT "churn_case_id: ..." / "churn_reason: ..." when blank, too
// long or not UTF-8.
absl::StatusOr<Events> DecideChurnOnLossConfirmed(const v1::Customer& state,
                                                  std::string_view churn_case_id,
                                                  std::string_view churn_reason,
                                                  const DecideContext& ctx);
absl::StatusOr<Events> DecideAssignOwner(const v1::Customer& state,
                                         const v1::AssignOwnerRequest& request,
                                         const DecideContext& ctx);
absl::StatusOr<Events> DecideSetVerification(const v1::Customer& state,
                                             const v1::SetVerificationRequest& request,
                                             const DecideContext& ctx);
absl::StatusOr<Events> DecideGrantAccess(const v1::Customer& state,
                                         const v1::GrantAccessRequest& request,
                                         const DecideContext& ctx);
absl::StatusOr<Events> DecideRevokeAccess(const v1::Customer& state,
                                          const v1::RevokeAccessRequest& request,
                                          const DecideContext& ctx);

// Access requests (seed 004 §7). A request is recorded with id `request_id`, by
// ctx.actor, PENDING: one AccessRequested. The reason is required (text bounds);
// requested_until, when set, must be in the future. Unlike the other commands, a
// state at version 0 (no such customer) is not NOT_FOUND: after the same input
// checks it decides nothing (no events), so the caller's answer does not tell
// whether the customer exists.
absl::StatusOr<Events> DecideRequestAccess(const v1::Customer& state,
                                           const v1::RequestAccessRequest& request,
                                           const std::string& request_id,
                                           const DecideContext& ctx);
// Approves `pending` (must be PENDING, else FAILED_PRECONDITION): one
// AccessRequestApproved, then the AccessGranted of DecideGrantAccess for the
// requester until request.expires_at (required, future, at most 366 days ahead),
// with the request's reason.
absl::StatusOr<Events> DecideApproveAccessRequest(const v1::Customer& state,
                                                  const v1::AccessRequest& pending,
                                                  const v1::ApproveAccessRequestRequest& request,
                                                  const DecideContext& ctx);
// Denies `pending` (must be PENDING) with a reason (required): one AccessRequestDenied.
absl::StatusOr<Events> DecideDenyAccessRequest(const v1::Customer& state,
                                               const v1::AccessRequest& pending,
                                               const v1::DenyAccessRequestRequest& request,
                                               const DecideContext& ctx);

// Folds one event into `state` and sets version = meta.version and updated_at =
// meta.occurred_at (created_at too for CustomerRegistered). Never fails: events
// are facts. An event naming a contact or agreement the state does not have
// changes nothing but the version; an event with no (or an unknown) kind only
// moves the version. Registration starts the ownership history with an entry
// from "" to the first owner and region, made by meta.actor at meta.occurred_at.
void Apply(v1::Customer& state, const v1::CustomerEvent& event, const EventMeta& meta);

// "crm.customer.v1.<Message>" of the set `kind`, e.g.
// "crm.customer.v1.ContactAdded"; "" when no kind is set.
std::string EventType(const v1::CustomerEvent& event);

// Key for duplicate detection by company name: full-width forms folded to ASCII
// ("（" -> "("), ASCII lower-cased, '.' and the Chinese enumeration comma and
// full stop removed, ',' treated as a space, white space collapsed to one space
// and trimmed. "ACME  Co., Ltd." and "acme co ltd" give the same key.
std::string NormalizeName(std::string_view name);
// Key for duplicate detection by registration number: full-width forms folded,
// ASCII upper-cased, white space and '-' removed.
std::string NormalizeRegistrationNumber(std::string_view number);

// The allowed moves of the relationship lifecycle (same -> same is not a move).
bool LifecycleTransitionAllowed(v1::Lifecycle from, v1::Lifecycle to);
// The allowed moves of an agreement's status; TERMINATED is final.
bool AgreementTransitionAllowed(v1::AgreementStatus from, v1::AgreementStatus to);

}  // namespace crm::customer
