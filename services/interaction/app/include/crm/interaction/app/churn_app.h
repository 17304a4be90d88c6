// The churn use cases of crm-interaction (crm.interaction.v1.ChurnService,
// DOMAIN.md §6 churn handling): every write RPC one command over the shared
// pipeline on the churn case aggregate (domain/churn_case.h), the reads scoped by
// the caller's access, the churn report (on the slow-query pool), and two
// background duties: working off the queue of consumed churn signals (which
// opens, extends, reassigns, retains and marks won back the cases) and
// reporting cases past their review date once.
//
//   ChurnApp churn({.pipeline = &pipeline, .customers = lookup, .slow_queries = &pool});
//   churn.RecordRetentionMeasure(who, request, &response, [](absl::Status s) { ... });
//   churn.ApplyChurnSignals();      // after the consumer queued signals
//   churn.ReportOverdueReviews();   // on a clock tick
//
// Access: a case is visible to whoever may see its customer (libs/auth with the
// directory's current owner, region and grants); every command needs the same.
// Lists and the report hold exactly the visible cases.
//
// Effectively once: each queued signal runs as a command of the service
// principal "crm-interaction" whose command id is the consumed event's id (the
// queue row's envelope), recorded with the append even when the command changes
// nothing. A second delivery of the event, or a replay of the topic from offset
// 0, finds the record and changes nothing: one case per ChurnRiskRaised, one
// warning, one retain, one reassignment, one win-back.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/auth/principal.h"
#include "crm/command/pipeline.h"
#include "crm/common/thread_pool.h"
#include "crm/directory/customer_directory.h"
#include "crm/interaction/domain/churn_case.h"
#include "crm/interaction/v1/churn_service.pb.h"

namespace crm::interaction {

using ChurnCaseAggregate = command::Aggregate<v1::ChurnCase, v1::InteractionEvent>;

// The churn case aggregate's parts: streams "churn-case-<id>", folded by
// ApplyChurnCase, rows of projection/churn_projection.h, partition key the
// customer.
const ChurnCaseAggregate& ChurnCases();

struct ChurnAppOptions {
  command::Pipeline* pipeline = nullptr;  // required
  // Asked about customers not in the directory yet; may be null.
  directory::CustomerLookup* customers = nullptr;
  // Runs the churn report; null: on the caller's thread.
  ThreadPool* slow_queries = nullptr;
};

// Thread safety: calls may run concurrently; each background duty on one thread
// at a time (ApplyChurnSignals and ReportOverdueReviews may run concurrently with
// each other: a lost race is decided again on fresh state).
class ChurnApp {
 public:
  explicit ChurnApp(ChurnAppOptions options);
  ~ChurnApp();

  // measure.interaction_id, when set, must be a follow-up or a recorded visit of
  // the case's customer (NOT_FOUND "measure.interaction_id: ..." otherwise).
  void RecordRetentionMeasure(const auth::Principal& who,
                              const v1::RecordRetentionMeasureRequest& req,
                              v1::RecordRetentionMeasureResponse* resp, command::Done done);
  void PostponeChurn(const auth::Principal& who, const v1::PostponeChurnRequest& req,
                     v1::WriteResponse* resp, command::Done done);
  void RetainChurnCase(const auth::Principal& who, const v1::RetainChurnCaseRequest& req,
                       v1::WriteResponse* resp, command::Done done);
  void ConfirmChurn(const auth::Principal& who, const v1::ConfirmChurnRequest& req,
                    v1::WriteResponse* resp, command::Done done);

  absl::Status GetChurnCase(const auth::Principal& who, const v1::GetChurnCaseRequest& req,
                            v1::GetChurnCaseResponse* resp);
  absl::Status GetChurnCaseHistory(const auth::Principal& who,
                                   const v1::GetChurnCaseHistoryRequest& req,
                                   v1::GetChurnCaseHistoryResponse* resp);
  absl::Status ListChurnCases(const auth::Principal& who, const v1::ListChurnCasesRequest& req,
                              v1::ListChurnCasesResponse* resp);
  // Reads every case: runs on the slow-query pool.
  void GetChurnReport(const auth::Principal& who, const v1::GetChurnReportRequest& req,
                      v1::GetChurnReportResponse* resp, command::Done done);

  // Works off kChurnSignalQueueProjection (projection/churn_projection.h) in key
  // order: ChurnRiskRaised opens a case for the customer (owner and region: the
  // directory's now, else the event's; classes: the directory's) or adds the
  // warning to its open case; ChurnRiskCleared retains the open case;
  // OwnerAssigned moves the open case to the new owner and region
  // (ChurnCaseReassigned; nothing when the directory already holds a later
  // assignment, which is queued too; a closed case keeps its owner);
  // LifecycleChanged from CHURNED to FOLLOWING or COOPERATING marks the
  // customer's latest LOST case won back; other rows are dropped. A row is
  // deleted once applied, or with a log line when it can never apply
  // (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, OUT_OF_RANGE,
  // PERMISSION_DENIED; also a row without event_id, which could not apply
  // once); a row that failed otherwise stays for the next run together with the
  // later rows of the same customer (a customer's signals apply in the order
  // they happened), the other customers' rows after it are still worked on, and
  // the first such error is returned.
  // Returns how many signals changed a case (a redelivered one does not).
  absl::StatusOr<int> ApplyChurnSignals();

  // Emits ChurnCaseReviewOverdue once for every OPEN case whose review date has
  // passed. Returns how many it reported.
  absl::StatusOr<int> ReportOverdueReviews();

 private:
  struct Parts;
  absl::Status ChurnReport(const auth::Principal& who, const v1::GetChurnReportRequest& req,
                           v1::GetChurnReportResponse* resp);

  const ChurnAppOptions o_;
  std::unique_ptr<Parts> parts_;
};

}  // namespace crm::interaction
