// The customer service's read model: the current Customer row per id, list
// indexes in a stable (normalized name, id) order, and duplicate-detection keys.
// Rows are computed from a state change and committed in the same batch as the
// events (EventStore::Append's projection writes).
//
//   std::vector<ProjectionWrite> writes = RowWrites(old_state, new_state);
//   ... store.Append({..., .projection_writes = writes});
//   ASSIGN_OR_RETURN(std::optional<Customer> c, LoadCustomer(store, id));
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/customer/v1/customer.pb.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/eventstore/event_store.h"

namespace crm::customer {

inline constexpr std::string_view kCustomersProjection = "customers";
inline constexpr std::string_view kIndexProjection = "customer_index";
inline constexpr std::string_view kDuplicateProjection = "customer_duplicates";
// The customer's A/B/C/D class from crm.classification.v1 events, kept apart from
// the row that commands rewrite, and merged into it when read.
inline constexpr std::string_view kClassProjection = "customer_class";
// crm.interaction.v1 events this service reacts to (OpportunityWon,
// ChurnLossConfirmed; from the consumer) waiting for the reaction worker
// (CustomerApp::ReactToInteractionEvents): key "<customer id>/<messaging::EventToken>",
// value messaging::QueuedCopy of the consumed event. Fed by consumed events, so
// not rebuilt. (Named "customer_conversion_queue" since it first held only won
// opportunities; rows queued before keep working.)
inline constexpr std::string_view kReactionQueueProjection = "customer_conversion_queue";

// Access requests (CustomerService.RequestAccess): request id -> v1::AccessRequest
// as it stands, and the list index "<status number, 2 digits>/<request id>" -> "".
// Written from the AccessRequested / AccessRequestApproved / AccessRequestDenied
// events (each carries the whole request), so rebuilt with the customers.
inline constexpr std::string_view kAccessRequestsProjection = "customer_access_requests";
inline constexpr std::string_view kAccessRequestIndexProjection = "customer_access_request_index";

// The access request rows `events` write (none for other events).
std::vector<eventstore::ProjectionWrite> AccessRequestWrites(
    const std::vector<v1::CustomerEvent>& events);

// The request's row; std::nullopt when no such request.
absl::StatusOr<std::optional<v1::AccessRequest>> LoadAccessRequest(eventstore::EventStore& store,
                                                                   std::string_view request_id);

// Index key prefix of one status ("" for any).
std::string AccessRequestIndexPrefix(v1::AccessRequestStatus status);

// The stream holding one customer's events.
std::string StreamFor(std::string_view customer_id);

// Rows to write when a customer goes from `before` (empty message for a new
// customer) to `after`: the row itself, index entries that changed, duplicate keys.
std::vector<eventstore::ProjectionWrite> RowWrites(const v1::Customer& before,
                                                   const v1::Customer& after);

// The projections the customer aggregate's own events write, which
// --rebuild_projections rebuilds from the log (customer::NewRebuildProjector):
// customers, customer_index and customer_duplicates. The class projection comes
// from consumed events, so it is not rebuilt.
std::vector<std::string> CustomerRebuildTargets();

// The current row (with its class merged in), std::nullopt when no such customer.
absl::StatusOr<std::optional<v1::Customer>> LoadCustomer(eventstore::EventStore& store,
                                                         std::string_view customer_id);

// Id of a customer with the same normalized name or registration number, if any,
// and which of the two matched ("name" or "registration_number").
struct DuplicateMatch {
  std::string customer_id;
  std::string matched_on;
};
absl::StatusOr<std::optional<DuplicateMatch>> FindDuplicate(eventstore::EventStore& store,
                                                            const v1::BasicData& basic);

// The projection write recording a customer's class.
eventstore::ProjectionWrite ClassWrite(std::string_view customer_id, std::string_view customer_class);

// Which index a list walks, and the filters applied to the rows it yields.
struct ListQuery {
  // Exactly one index is walked: by owner, by region, or all (by name).
  enum class Index { kAll, kOwner, kRegion } index = Index::kAll;
  std::string index_value;  // owner or region for kOwner / kRegion
  std::string name_prefix;  // raw; normalized here
  // Row filters; empty means any.
  std::string owner, region, industry, customer_class;
  int lifecycle = 0;  // v1::Lifecycle, 0 = any
  size_t page_size = 50;
  std::string page_token;  // from the previous page
  std::string binding;     // what the token is bound to: command::PageBinding
  // Rows examined per call at most, so one call stays cheap even when few rows
  // match; a page may then be short with a next token.
  size_t max_examined = 5000;
};

struct ListPage {
  std::vector<v1::Customer> customers;
  std::string next_page_token;  // "" when done
};

// Walks the chosen index from the token; `visible(customer)` is the caller's
// access check, applied with the filters so that nothing hidden is returned.
// INVALID_ARGUMENT "page_token: ..." for a token that does not belong to this
// list (its filters, its caller: `binding`).
absl::StatusOr<ListPage> ListCustomers(eventstore::EventStore& store, const ListQuery& query,
                                       const std::function<bool(const v1::Customer&)>& visible);

}  // namespace crm::customer
