// crm-interaction: the interaction logging service.
//
//   crm-interaction --data_dir=/var/lib/crm/interaction --kafka_brokers=kafka:9092
//                   --jwt_secret_file=/etc/crm/jwt.secret --customer_addr=crm-customer:50051
// Every flag also reads CRM_<FLAG> from the environment.
#include <memory>
#include <string>

#include "crm/interaction/api/campaign_service.h"
#include "crm/interaction/api/churn_service.h"
#include "crm/interaction/api/interaction_service.h"
#include "crm/interaction/api/sales_service.h"
#include "crm/interaction/app/campaign_app.h"
#include "crm/interaction/app/churn_app.h"
#include "crm/interaction/app/interaction_app.h"
#include "crm/interaction/app/sales_app.h"
#include "crm/interaction/consumer/interaction_consumer.h"
#include "crm/messaging/cloudevents.h"
#include "crm/runtime/log.h"
#include "crm/runtime/metrics.h"
#include "crm/service/service_main.h"

int main(int argc, char** argv) {
  using namespace crm;
  std::string cadence_spec;
  std::string stage_spec;
  int scan_interval_ms = 1000;
  return service::Main(
      {.name = "crm-interaction",
       .topic = messaging::kInteractionTopic,
       .consumes = {messaging::kCustomerTopic, messaging::kClassificationTopic},
       .customer_lookup = true,
       .rebuild = {.projector = interaction::NewRebuildProjector,
                   .targets = interaction::RebuildTargets()},
       .flags =
           [&](CLI::App& app) {
             runtime::AddFlag(app, "cadence", &cadence_spec,
                              "Revisit cadence, e.g. \"A=91,B=182,C=365,key=A,default=365\"");
             runtime::AddFlag(app, "scan_interval_ms", &scan_interval_ms,
                              "How often revisits are planned, overdue revisits, plan steps "
                              "and churn reviews reported, and consumed churn signals applied");
             runtime::AddFlag(app, "stage_probabilities", &stage_spec,
                              "Default probability of each open opportunity stage, e.g. "
                              "\"qualification=10,needs_analysis=25,proposal=50,negotiation=75\"");
           },
       .build = [&](service::Parts& parts) -> absl::Status {
         if (scan_interval_ms < 10) {
           return absl::InvalidArgumentError("--scan_interval_ms: must be >= 10");
         }
         absl::StatusOr<interaction::CadenceConfig> cadence =
             interaction::ParseCadenceConfig(cadence_spec);
         if (!cadence.ok()) return cadence.status();
         auto& app = parts.Keep(std::make_unique<interaction::InteractionApp>(
             interaction::InteractionAppOptions{.pipeline = &parts.pipeline(),
                                                .customers = parts.customers(),
                                                .cadence = *cadence,
                                                .slow_queries = &parts.slow_queries()}));
         absl::StatusOr<interaction::StageTable> stages = interaction::ParseStageTable(stage_spec);
         if (!stages.ok()) return stages.status();
         parts.AddService(
             parts.Keep(std::make_unique<interaction::InteractionServiceImpl>(app, parts.verifier())));
         auto& sales = parts.Keep(std::make_unique<interaction::SalesApp>(
             interaction::SalesAppOptions{.pipeline = &parts.pipeline(),
                                          .customers = parts.customers(),
                                          .stages = *stages,
                                          .slow_queries = &parts.slow_queries()}));
         parts.AddService(
             parts.Keep(std::make_unique<interaction::SalesServiceImpl>(sales, parts.verifier())));
         auto& churn = parts.Keep(std::make_unique<interaction::ChurnApp>(
             interaction::ChurnAppOptions{.pipeline = &parts.pipeline(),
                                          .customers = parts.customers(),
                                          .slow_queries = &parts.slow_queries()}));
         parts.AddService(
             parts.Keep(std::make_unique<interaction::ChurnServiceImpl>(churn, parts.verifier())));
         auto& campaigns = parts.Keep(std::make_unique<interaction::CampaignApp>(
             interaction::CampaignAppOptions{.pipeline = &parts.pipeline(),
                                             .customers = parts.customers(),
                                             .slow_queries = &parts.slow_queries()}));
         parts.AddService(parts.Keep(
             std::make_unique<interaction::CampaignServiceImpl>(campaigns, parts.verifier())));
         parts.SetConsumer(parts.Keep(interaction::NewInteractionConsumer()));
         // Every scan interval: plans revisits, reports overdue revisits, plan steps
         // and churn reviews, and applies the consumed churn signals.
         runtime::Counter& scans = runtime::MetricsRegistry::Default().GetCounter(
             "crm_revisit_scans_total", "Revisit planning and overdue scans completed.");
         runtime::Counter& overdue = runtime::MetricsRegistry::Default().GetCounter(
             "crm_revisit_overdue_reported_total", "RevisitOverdue events emitted.");
         runtime::Counter& steps_overdue = runtime::MetricsRegistry::Default().GetCounter(
             "crm_plan_step_overdue_reported_total", "PlanStepOverdue events emitted.");
         runtime::Counter& signals = runtime::MetricsRegistry::Default().GetCounter(
             "crm_churn_signals_applied_total",
             "Consumed churn signals (ChurnRiskRaised, ChurnRiskCleared, win-backs) that "
             "changed a churn case.");
         runtime::Counter& reviews_overdue = runtime::MetricsRegistry::Default().GetCounter(
             "crm_churn_review_overdue_reported_total", "ChurnCaseReviewOverdue events emitted.");
         parts.AddWorker("revisit-scan", absl::Milliseconds(scan_interval_ms),
                         [&app, &sales, &churn, &scans, &overdue, &steps_overdue, &signals,
                          &reviews_overdue] {
           absl::StatusOr<int> planned = app.PlanRevisits();
           absl::StatusOr<int> reported = app.ReportOverdue();
           absl::StatusOr<int> steps = sales.ReportOverdueSteps();
           absl::StatusOr<int> applied = churn.ApplyChurnSignals();
           absl::StatusOr<int> reviews = churn.ReportOverdueReviews();
           for (const absl::Status& s : {planned.status(), reported.status(), steps.status(),
                                         applied.status(), reviews.status()}) {
             if (!s.ok()) runtime::Log(runtime::LogLevel::kError, "revisit_scan_failed",
                                       {{"error", s.ToString()}});
           }
           if (reported.ok()) overdue.Inc(static_cast<uint64_t>(*reported));
           if (steps.ok()) steps_overdue.Inc(static_cast<uint64_t>(*steps));
           if (applied.ok()) signals.Inc(static_cast<uint64_t>(*applied));
           if (reviews.ok()) reviews_overdue.Inc(static_cast<uint64_t>(*reviews));
           scans.Inc();
         });
         return absl::OkStatus();
       }},
      argc, argv);
}
