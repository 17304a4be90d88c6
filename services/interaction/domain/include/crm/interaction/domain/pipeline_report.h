// The pipeline report (DOMAIN.md §6: pipeline by stage, owner and region;
// forecast; win rate and sales cycle; lost reasons) as a pure function of the
// opportunities as they were at the report's time. Amounts are kept per
// currency and never added across currencies.
//
//   ReportPeriod period{.from = absl::CivilDay(2026, 12, 1), .to = absl::CivilDay(2026, 12, 31)};
//   PipelineReportBuilder report(as_of, period);
//   for (const v1::Opportunity& o : visible_as_of) report.Add(o);
//   v1::PipelineReport out = report.Finish();
//
// - Pipeline (open_count, open_amounts, by_stage, by_owner, by_region): every open
//   opportunity (QUALIFICATION..NEGOTIATION) with its expected amount and weighted
//   amount round(amount × probability / 100, half up), per opportunity.
// - Forecast per currency: open ones whose expected close date is in the period
//   (weighted), plus the final amounts of those won in the period.
// - Won / lost counts, win rate, average sales cycle (creation to win, days) and
//   lost reasons (count, expected amounts) over those closed in the period (the
//   UTC day of closed_at within [from, to]).
// Groups are ordered by stage order, owner and region; currencies by code.
// Thread safety: a builder is used by one thread.
#pragma once

#include <map>
#include <string>
#include <utility>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "crm/interaction/domain/report_period.h"
#include "crm/interaction/v1/opportunity.pb.h"
#include "crm/interaction/v1/sales_service.pb.h"

namespace crm::interaction {

// round(amount × probability / 100), half up (amount ≥ 0, probability 0..100).
int64_t Weighted(int64_t amount_minor, int32_t probability);

class PipelineReportBuilder {
 public:
  PipelineReportBuilder(absl::Time as_of, ReportPeriod period);

  // One opportunity as it was at as_of (created by then).
  void Add(const v1::Opportunity& o);
  v1::PipelineReport Finish() const;

 private:
  struct Sum {
    int32_t count = 0;
    int64_t amount = 0;
    int64_t weighted = 0;
  };
  struct Group {
    int32_t count = 0;
    std::map<std::string, Sum> by_currency;
    void Add(const std::string& currency, int64_t amount, int64_t weighted);
  };
  struct Forecast {
    int32_t open_count = 0;
    int64_t open_weighted = 0;
    int32_t won_count = 0;
    int64_t won = 0;
  };

  absl::Time as_of_;
  ReportPeriod period_;
  Group open_;
  std::map<int, Group> by_stage_;
  std::map<std::string, Group> by_owner_;
  std::map<std::string, Group> by_region_;
  std::map<std::string, Forecast> forecast_;
  int32_t won_ = 0;
  int32_t lost_ = 0;
  double cycle_days_sum_ = 0;
  std::map<int, Group> lost_reasons_;
};

}  // namespace crm::interaction
