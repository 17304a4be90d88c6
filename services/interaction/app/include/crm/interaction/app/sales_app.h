// The sales use cases of crm-interaction (crm.interaction.v1.SalesService,
// DOMAIN.md §6): every write RPC one command over the shared pipeline on the
// opportunity aggregate (domain/opportunity.h), the reads scoped by the caller's
// access, the pipeline report (on the slow-query pool), and the background duty
// that reports overdue plan steps once.
//
//   SalesApp sales({.pipeline = &pipeline, .customers = lookup, .stages = table});
//   sales.CreateOpportunity(who, request, &response, [](absl::Status s) { ... });
//   sales.ReportOverdueSteps();   // on a clock tick
//
// Access: an opportunity is visible to whoever may see its customer (libs/auth
// with the directory's current owner, region and grants) and to its own owner
// when the caller is a sales_rep or service_agent (whose scope is "own").
// Every command needs that; AssignOpportunity and ReopenOpportunity also need a
// manager: a regional_manager of the opportunity's region (its customer's region
// at creation or last assignment), an executive, admin or service.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/auth/principal.h"
#include "crm/command/pipeline.h"
#include "crm/common/thread_pool.h"
#include "crm/directory/customer_directory.h"
#include "crm/interaction/domain/opportunity.h"
#include "crm/interaction/v1/sales_service.pb.h"

namespace crm::interaction {

using OpportunityAggregate = command::Aggregate<v1::Opportunity, v1::InteractionEvent>;

// The opportunity aggregate's parts: streams "opportunity-<id>", folded by
// ApplyOpportunity, rows of projection/opportunity_projection.h.
const OpportunityAggregate& Opportunities();

struct SalesAppOptions {
  command::Pipeline* pipeline = nullptr;  // required
  // Asked about customers not in the directory yet; may be null.
  directory::CustomerLookup* customers = nullptr;
  StageTable stages;
  // Runs the pipeline report; null: on the caller's thread.
  ThreadPool* slow_queries = nullptr;
};

// Thread safety: calls may run concurrently; ReportOverdueSteps on one thread at
// a time.
class SalesApp {
 public:
  explicit SalesApp(SalesAppOptions options);
  ~SalesApp();

  void CreateOpportunity(const auth::Principal& who, const v1::CreateOpportunityRequest& req,
                         v1::CreateOpportunityResponse* resp, command::Done done);
  void UpdateOpportunity(const auth::Principal& who, const v1::UpdateOpportunityRequest& req,
                         v1::WriteResponse* resp, command::Done done);
  void AssignOpportunity(const auth::Principal& who, const v1::AssignOpportunityRequest& req,
                         v1::WriteResponse* resp, command::Done done);
  void MoveOpportunityStage(const auth::Principal& who,
                            const v1::MoveOpportunityStageRequest& req, v1::WriteResponse* resp,
                            command::Done done);
  void SetOpportunityProbability(const auth::Principal& who,
                                 const v1::SetOpportunityProbabilityRequest& req,
                                 v1::WriteResponse* resp, command::Done done);
  void WinOpportunity(const auth::Principal& who, const v1::WinOpportunityRequest& req,
                      v1::WriteResponse* resp, command::Done done);
  void LoseOpportunity(const auth::Principal& who, const v1::LoseOpportunityRequest& req,
                       v1::WriteResponse* resp, command::Done done);
  void ReopenOpportunity(const auth::Principal& who, const v1::ReopenOpportunityRequest& req,
                         v1::WriteResponse* resp, command::Done done);
  void AddPlanStep(const auth::Principal& who, const v1::AddPlanStepRequest& req,
                   v1::AddPlanStepResponse* resp, command::Done done);
  void CompletePlanStep(const auth::Principal& who, const v1::CompletePlanStepRequest& req,
                        v1::WriteResponse* resp, command::Done done);

  absl::Status GetOpportunity(const auth::Principal& who, const v1::GetOpportunityRequest& req,
                              v1::GetOpportunityResponse* resp);
  absl::Status GetOpportunityHistory(const auth::Principal& who,
                                     const v1::GetOpportunityHistoryRequest& req,
                                     v1::GetOpportunityHistoryResponse* resp);
  absl::Status ListOpportunities(const auth::Principal& who,
                                 const v1::ListOpportunitiesRequest& req,
                                 v1::ListOpportunitiesResponse* resp);
  absl::Status ListOverduePlanSteps(const auth::Principal& who,
                                    const v1::ListOverduePlanStepsRequest& req,
                                    v1::ListOverduePlanStepsResponse* resp);
  // Reads every opportunity: runs on the slow-query pool.
  void GetPipelineReport(const auth::Principal& who, const v1::GetPipelineReportRequest& req,
                         v1::GetPipelineReportResponse* resp, command::Done done);

  // Emits PlanStepOverdue once for every PLANNED step of an open opportunity
  // whose planned date has passed. Returns how many it reported.
  absl::StatusOr<int> ReportOverdueSteps();

 private:
  struct Parts;
  absl::Status PipelineReport(const auth::Principal& who, const v1::GetPipelineReportRequest& req,
                              v1::GetPipelineReportResponse* resp);

  const SalesAppOptions o_;
  std::unique_ptr<Parts> parts_;
};

}  // namespace crm::interaction
