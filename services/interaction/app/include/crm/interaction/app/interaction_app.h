// The interaction service's use cases over the command pipeline: every write RPC
// of crm.interaction.v1.InteractionService as one command, the reads scoped by
// the customer's access, and the two background duties: planning revisits on the
// customer's class cadence, and reporting overdue revisits once. The gRPC adapter
// (api/) serves these methods as they are; tests call them through
// command::Await, with a fake clock under the pipeline.
//
//   InteractionApp app({.pipeline = &pipeline, .customers = lookup.get()});
//   app.PlanVisit(who, request, &response, [](absl::Status s) { ... });
//   app.PlanRevisits();      // after consumed class changes / completed revisits
//   app.ReportOverdue();     // on a clock tick
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/auth/principal.h"
#include "crm/command/pipeline.h"
#include "crm/common/thread_pool.h"
#include "crm/directory/customer_directory.h"
#include "crm/interaction/domain/cadence.h"
#include "crm/interaction/domain/interaction_aggregate.h"
#include "crm/interaction/v1/interaction_service.pb.h"

namespace crm::interaction {

using InteractionAggregate = command::Aggregate<v1::Interaction, v1::InteractionEvent>;

// The interaction aggregate's parts: streams "interaction-<id>", folded by the
// domain's Apply, rows of projection/ (row, indexes, open revisits).
const InteractionAggregate& Interactions();

// Rebuilds the rows of every aggregate of the service (interactions,
// opportunities, churn cases, campaigns) from the log (--rebuild_projections),
// and the projections it writes. The directory and the work queues fed by
// consumed events are not rebuilt.
std::unique_ptr<eventstore::ProjectionSetProjector> NewRebuildProjector();
std::vector<std::string> RebuildTargets();

struct InteractionAppOptions {
  command::Pipeline* pipeline = nullptr;  // required
  // Asked about customers not in the directory yet; may be null: then unknown
  // customers are NOT_FOUND.
  directory::CustomerLookup* customers = nullptr;
  CadenceConfig cadence;
  // Runs the queries that read much (birthdays scan the directory); null: on
  // the caller's thread.
  ThreadPool* slow_queries = nullptr;
};

// Access: an interaction is visible to whoever may see its customer (libs/auth,
// with the directory's current owner, region and grants); every command needs
// the same.
//
// Thread safety: calls may run concurrently; PlanRevisits and ReportOverdue each
// on one thread at a time (the service runs them on one background thread).
class InteractionApp {
 public:
  explicit InteractionApp(InteractionAppOptions options);
  ~InteractionApp();

  void PlanVisit(const auth::Principal& who, const v1::PlanVisitRequest& req,
                 v1::CreateResponse* resp, command::Done done);
  void LogFollowUp(const auth::Principal& who, const v1::LogFollowUpRequest& req,
                   v1::CreateResponse* resp, command::Done done);
  void PlanCare(const auth::Principal& who, const v1::PlanCareRequest& req,
                v1::CreateResponse* resp, command::Done done);
  void RecordSatisfaction(const auth::Principal& who, const v1::RecordSatisfactionRequest& req,
                          v1::CreateResponse* resp, command::Done done);
  void RescheduleVisit(const auth::Principal& who, const v1::RescheduleVisitRequest& req,
                       v1::WriteResponse* resp, command::Done done);
  void CancelVisit(const auth::Principal& who, const v1::CancelVisitRequest& req,
                   v1::WriteResponse* resp, command::Done done);
  void RecordVisit(const auth::Principal& who, const v1::RecordVisitRequest& req,
                   v1::WriteResponse* resp, command::Done done);
  void RecordRevisit(const auth::Principal& who, const v1::RecordRevisitRequest& req,
                     v1::WriteResponse* resp, command::Done done);
  void CompleteCare(const auth::Principal& who, const v1::CompleteCareRequest& req,
                    v1::WriteResponse* resp, command::Done done);
  void EvaluateCare(const auth::Principal& who, const v1::EvaluateCareRequest& req,
                    v1::WriteResponse* resp, command::Done done);

  absl::Status GetInteraction(const auth::Principal& who, const v1::GetInteractionRequest& req,
                              v1::GetInteractionResponse* resp);
  absl::Status ListInteractions(const auth::Principal& who,
                                const v1::ListInteractionsRequest& req,
                                v1::ListInteractionsResponse* resp);
  absl::Status ListDueRevisits(const auth::Principal& who, const v1::ListDueRevisitsRequest& req,
                               v1::ListDueRevisitsResponse* resp);
  absl::Status GetTimeline(const auth::Principal& who, const v1::GetTimelineRequest& req,
                           v1::GetTimelineResponse* resp);
  // Scans the directory: runs on the slow-query pool.
  void ListUpcomingBirthdays(const auth::Principal& who,
                             const v1::ListUpcomingBirthdaysRequest& req,
                             v1::ListUpcomingBirthdaysResponse* resp, command::Done done);

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
  struct Parts;
  absl::Status PlanFor(const std::string& customer_id);
  absl::Status UpcomingBirthdays(const auth::Principal& who,
                                 const v1::ListUpcomingBirthdaysRequest& req,
                                 v1::ListUpcomingBirthdaysResponse* resp);

  const InteractionAppOptions o_;
  std::unique_ptr<Parts> parts_;
};

}  // namespace crm::interaction
