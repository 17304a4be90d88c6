// The interaction service's behaviour over absl::Status: access checks, load →
// decide → append, queries, and the two background duties: planning revisits on
// the customer's class cadence, and reporting overdue revisits once. The gRPC
// adapter (interaction_service.h) only moves calls onto threads and maps errors;
// tests drive this class directly with a fake clock.
//
//   InteractionLogic logic({.store = store.get(), .clock = &clock, .customers = lookup.get()});
//   ASSIGN_OR_RETURN(v1::CreateResponse r, logic.PlanVisit(principal, request));
//   logic.PlanRevisits();      // after consumed class changes / completed revisits
//   logic.ReportOverdue();     // on a clock tick
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/auth/principal.h"
#include "crm/common/clock.h"
#include "crm/directory/customer_directory.h"
#include "crm/eventstore/event_store.h"
#include "crm/interaction/domain/cadence.h"
#include "crm/interaction/domain/interaction_aggregate.h"
#include "crm/interaction/v1/interaction_service.pb.h"
#include "crm/messaging/outbox_relay.h"

namespace crm::interaction {

struct InteractionLogicOptions {
  eventstore::EventStore* store = nullptr;  // required
  const Clock* clock = &SystemClock();
  // Asked about customers not in the directory yet; may be null: then unknown
  // customers are NOT_FOUND.
  directory::CustomerLookup* customers = nullptr;
  messaging::OutboxRelay* relay = nullptr;
  CadenceConfig cadence;
};

// Thread safety: calls may run concurrently; PlanRevisits and ReportOverdue must
// each run on one thread at a time (the service runs them on one background thread).
class InteractionLogic {
 public:
  explicit InteractionLogic(InteractionLogicOptions options);

  absl::StatusOr<v1::CreateResponse> PlanVisit(const auth::Principal& who,
                                               const v1::PlanVisitRequest& req);
  absl::StatusOr<v1::CreateResponse> LogFollowUp(const auth::Principal& who,
                                                 const v1::LogFollowUpRequest& req);
  absl::StatusOr<v1::CreateResponse> PlanCare(const auth::Principal& who,
                                              const v1::PlanCareRequest& req);
  absl::StatusOr<v1::CreateResponse> RecordSatisfaction(const auth::Principal& who,
                                                        const v1::RecordSatisfactionRequest& req);
  absl::StatusOr<v1::WriteResponse> RescheduleVisit(const auth::Principal& who,
                                                    const v1::RescheduleVisitRequest& req);
  absl::StatusOr<v1::WriteResponse> CancelVisit(const auth::Principal& who,
                                                const v1::CancelVisitRequest& req);
  absl::StatusOr<v1::WriteResponse> RecordVisit(const auth::Principal& who,
                                                const v1::RecordVisitRequest& req);
  absl::StatusOr<v1::WriteResponse> RecordRevisit(const auth::Principal& who,
                                                  const v1::RecordRevisitRequest& req);
  absl::StatusOr<v1::WriteResponse> CompleteCare(const auth::Principal& who,
                                                 const v1::CompleteCareRequest& req);
  absl::StatusOr<v1::WriteResponse> EvaluateCare(const auth::Principal& who,
                                                 const v1::EvaluateCareRequest& req);

  absl::StatusOr<v1::GetInteractionResponse> GetInteraction(const auth::Principal& who,
                                                            const v1::GetInteractionRequest& req);
  absl::StatusOr<v1::ListInteractionsResponse> ListInteractions(
      const auth::Principal& who, const v1::ListInteractionsRequest& req);
  absl::StatusOr<v1::ListDueRevisitsResponse> ListDueRevisits(
      const auth::Principal& who, const v1::ListDueRevisitsRequest& req);
  absl::StatusOr<v1::GetTimelineResponse> GetTimeline(const auth::Principal& who,
                                                      const v1::GetTimelineRequest& req);
  absl::StatusOr<v1::ListUpcomingBirthdaysResponse> ListUpcomingBirthdays(
      const auth::Principal& who, const v1::ListUpcomingBirthdaysRequest& req);

  // Plans revisits for every customer queued by the consumer (new customer, class
  // change) or by a completed revisit: keeps one PLANNED revisit per customer on
  // the cadence of its class, replacing one planned on another cadence. Returns
  // how many customers it handled. Idempotent: a crash half-way is finished by
  // the next call.
  absl::StatusOr<int> PlanRevisits();
  // Emits RevisitOverdue once for every PLANNED revisit past its due date.
  // Returns how many it reported.
  absl::StatusOr<int> ReportOverdue();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

// This service's follow-up to the directory consumer
// (directory::DirectoryHandlerOptions::on_change): a new customer or a class change
// queues the customer for PlanRevisits (kPlanQueueProjection,
// "<customer>/<messaging::EventToken>"); owner and other changes queue nothing.
//
//   directory::DirectoryHandler handler({.on_change = QueueRevisitPlanning});
void QueueRevisitPlanning(const directory::DirectoryChange& change,
                          std::vector<eventstore::ProjectionWrite>& out);

}  // namespace crm::interaction
