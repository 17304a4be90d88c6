// The period a report of crm-interaction counts in (the pipeline report's won
// and lost, the churn report's opened, retained and lost): whole UTC calendar
// days, both ends included, and how a report request names it.
//
//   ASSIGN_OR_RETURN(ReportPeriod period,
//                    ParseReportPeriod(req.period_from(), req.period_to(), at));
//   if (period.Contains(FromProtoTimestamp(o.closed_at()))) ...
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace crm::interaction {

struct ReportPeriod {
  absl::CivilDay from;
  absl::CivilDay to;  // inclusive

  bool Contains(absl::CivilDay day) const { return day >= from && day <= to; }
  // Whether the UTC day of `t` is in the period.
  bool Contains(absl::Time t) const;
};

// A report request's period_from and period_to ("YYYY-MM-DD", each optional):
// an end not given is the first or the last day of the calendar month of `at`'s
// UTC day. INVALID_ARGUMENT "period_from: not a valid date (YYYY-MM-DD)" (or
// period_to), "period_to: must not be before period_from".
absl::StatusOr<ReportPeriod> ParseReportPeriod(std::string_view period_from,
                                               std::string_view period_to, absl::Time at);

}  // namespace crm::interaction
