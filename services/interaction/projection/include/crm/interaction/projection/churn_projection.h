// The read model of churn cases: the current ChurnCase row per id, the open case
// of each customer, an index for lists (by customer, owner, region, all; each
// newest opened first; a reassigned case's owner and region rows move with it),
// the open cases' review dates (for the overdue reporter) and the lost cases not
// yet won back (for win-backs). Rows are computed from a state change and
// committed with the events. Also the queue of consumed churn signals that
// crm-interaction's consumer fills and ChurnApp works off.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/eventstore/event_store.h"
#include "crm/interaction/v1/churn.pb.h"

namespace crm::interaction {

// case id -> v1::ChurnCase.
inline constexpr std::string_view kChurnCasesProjection = "churn_cases";
// customer id -> the id of its OPEN case (at most one per customer).
inline constexpr std::string_view kChurnOpenProjection = "churn_open";
// "<c|o|r|a>/<customer, owner, region or nothing>\0<opened_at, newest first
// (eventstore::TimeKey)>\0<case id>" -> "", for ListChurnCases.
inline constexpr std::string_view kChurnIndexProjection = "churn_index";
// "<review date>\0<case id>" -> "" for each OPEN case with a review date not yet
// reported overdue.
inline constexpr std::string_view kChurnReviewDueProjection = "churn_review_due";
// "<customer id>\0<case id>" -> "" for each LOST case not yet won back.
inline constexpr std::string_view kChurnLostProjection = "churn_lost";

// The work queue of consumed churn signals, written by crm-interaction's Kafka
// consumer (with its offsets) and worked off by ChurnApp::ApplyChurnSignals,
// which deletes a row once it is applied (or can never apply).
// Key "<customer id>/<occurred_at in Unix microseconds, 20 digits>/<event
// token>" (messaging::EventToken of the consumed event): a customer's signals are
// worked off in the order they happened, whichever topic they came from, and a
// redelivery writes the same row. Value: a serialized eventstore::EventEnvelope
// of the consumed event (messaging::QueuedCopy):
// event_id = the token, event_type ("crm.classification.v1.ChurnRiskRaised",
// "crm.classification.v1.ChurnRiskCleared", "crm.customer.v1.OwnerAssigned",
// "crm.customer.v1.LifecycleChanged"),
// occurred_at, actor, correlation_id, and payload = the original payload: a
// crm.classification.v1.ClassificationEvent or a crm.customer.v1.CustomerEvent.
inline constexpr std::string_view kChurnSignalQueueProjection = "churn_signal_queue";

// The projections ChurnCaseRowWrites writes (what --rebuild_projections rebuilds
// from the log; not the signal queue, which is the consumer's).
std::vector<std::string> ChurnCaseProjections();

std::string ChurnCaseStreamFor(std::string_view case_id);

// Rows to write when a case goes from `before` (empty when new) to `after`.
std::vector<eventstore::ProjectionWrite> ChurnCaseRowWrites(const v1::ChurnCase& before,
                                                            const v1::ChurnCase& after);

absl::StatusOr<std::optional<v1::ChurnCase>> LoadChurnCase(eventstore::EventStore& store,
                                                           std::string_view case_id);

// The id of the customer's OPEN case, std::nullopt when it has none.
absl::StatusOr<std::optional<std::string>> OpenCaseOf(eventstore::EventStore& store,
                                                      std::string_view customer_id);

// The ids of the customer's LOST cases not yet won back.
absl::StatusOr<std::vector<std::string>> LostCasesOf(eventstore::EventStore& store,
                                                     std::string_view customer_id);

// Which index a list walks; each orders newest opened first, then by id.
enum class ChurnIndex { kCustomer, kOwner, kRegion, kAll };

struct ChurnCaseQuery {
  ChurnIndex index = ChurnIndex::kAll;
  std::string value;  // customer id, owner or region
  size_t page_size = 50;
  std::string page_token;
  std::string binding;  // what the token is bound to: command::PageBinding
  size_t max_examined = 5000;
};

struct ChurnCasePage {
  std::vector<v1::ChurnCase> cases;
  std::string next_page_token;
};

// Walks the index; keeps rows for which `keep` is true.
absl::StatusOr<ChurnCasePage> ListChurnCases(eventstore::EventStore& store,
                                             const ChurnCaseQuery& query,
                                             const std::function<bool(const v1::ChurnCase&)>& keep);

// Every case row, in id order, handed to `visit` (stops at an error). Reads in
// pages: memory does not grow with the number of cases.
absl::Status ForEachChurnCase(eventstore::EventStore& store,
                              const std::function<absl::Status(const v1::ChurnCase&)>& visit);

// OPEN cases with a review date before `day` ("YYYY-MM-DD") not yet reported
// overdue, oldest review date first, at most `limit`: their ids.
absl::StatusOr<std::vector<std::string>> CasesReviewDueBefore(eventstore::EventStore& store,
                                                              const std::string& day,
                                                              size_t limit);

}  // namespace crm::interaction
