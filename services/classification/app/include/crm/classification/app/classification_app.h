// The classification service's use cases over the command pipeline: the
// reclassification of customers (queued by the consumer, by a new rule set, and
// by a clock-driven sweep) as commands of the classification aggregate,
// rule-set publication (a command of the rule-set aggregate) and simulation,
// history, reports and churn-risk lists. The gRPC adapter (api/) serves these
// methods as they are; tests call them through command::Await, with a fake
// clock under the pipeline.
//
//   ASSIGN_OR_RETURN(auto app, ClassificationApp::Create({.pipeline = &pipeline}));
//   app->ReclassifyQueued();   // after consumed events
//   app->Sweep();              // time passes: recency changes classes
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/auth/principal.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/classification/v1/classification_service.pb.h"
#include "crm/command/pipeline.h"
#include "crm/common/thread_pool.h"

namespace crm::classification {

using ClassificationAggregate = command::Aggregate<v1::Classification, v1::ClassificationEvent>;
using RuleSetAggregate = command::Aggregate<v1::RuleSet, v1::ClassificationEvent>;

// The classification aggregate's parts: streams "classification-<customer id>",
// folded by the domain's Apply, rows of projection/ (row, churn-risk index). The
// rule set is an aggregate of its own: the stream "rule-sets", its current row.
const ClassificationAggregate& Classifications();
const RuleSetAggregate& RuleSets();

// Rebuilds the rows of both from the log (--rebuild_projections; each
// classification row takes the customer's owner, region and industry from the
// consumed inputs), and the projections they write.
std::unique_ptr<eventstore::ProjectionSetProjector> NewRebuildProjector();
std::vector<std::string> RebuildTargets();

struct ClassificationAppOptions {
  command::Pipeline* pipeline = nullptr;  // required
  // Runs reports, simulations and publications (which read every customer's
  // inputs); null: on the caller's thread.
  ThreadPool* slow_queries = nullptr;
};

// Access: a customer's classification and history need access to the customer
// (libs/auth, with the grants consumed into the directory); reports and churn
// lists cover the caller's scope (all; region; owned customers; PERMISSION_DENIED
// for a caller whose roles cover nothing); publishing and simulating rule sets
// need executive or admin; GetRuleSet is open to every caller.
//
// Thread safety: calls may run concurrently; ReclassifyQueued and Sweep on one
// background thread at a time.
class ClassificationApp {
 public:
  static absl::StatusOr<std::unique_ptr<ClassificationApp>> Create(
      ClassificationAppOptions options);
  ~ClassificationApp();

  // The stored classification, and `metrics`: every metric's value now from the
  // customer's kept inputs under the rule set in force (the input view).
  absl::Status GetClassification(const auth::Principal& who,
                                 const v1::GetClassificationRequest& req,
                                 v1::GetClassificationResponse* resp);
  absl::Status GetClassificationHistory(const auth::Principal& who,
                                        const v1::GetClassificationHistoryRequest& req,
                                        v1::GetClassificationHistoryResponse* resp);
  absl::Status GetRuleSet(const auth::Principal& who, const v1::GetRuleSetRequest& req,
                          v1::GetRuleSetResponse* resp);
  absl::Status ListChurnRisks(const auth::Principal& who, const v1::ListChurnRisksRequest& req,
                              v1::ListChurnRisksResponse* resp);
  // These read every customer's inputs: they run on the slow-query pool.
  void PublishRuleSet(const auth::Principal& who, const v1::PublishRuleSetRequest& req,
                      v1::PublishRuleSetResponse* resp, command::Done done);
  void SimulateRuleSet(const auth::Principal& who, const v1::SimulateRuleSetRequest& req,
                       v1::SimulateRuleSetResponse* resp, command::Done done);
  void GetReport(const auth::Principal& who, const v1::GetReportRequest& req,
                 v1::GetReportResponse* resp, command::Done done);

  // Reclassifies the customers the consumer queued (and everyone after a new rule
  // set). Returns how many customers' classification changed. Idempotent: a crash
  // half-way is finished by the next call.
  absl::StatusOr<int> ReclassifyQueued();
  // Reclassifies every customer at the current time. Returns how many changed.
  absl::StatusOr<int> Sweep();

 private:
  class Impl;
  explicit ClassificationApp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crm::classification
