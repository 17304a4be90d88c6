#include "crm/interaction/domain/report_period.h"

#include "crm/common/field_errors.h"
#include "crm/common/status_macros.h"
#include "crm/domain/validation.h"

namespace crm::interaction {

bool ReportPeriod::Contains(absl::Time t) const { return Contains(domain::UtcDayOf(t)); }

absl::StatusOr<ReportPeriod> ParseReportPeriod(std::string_view period_from,
                                               std::string_view period_to, absl::Time at) {
  const absl::CivilMonth month(domain::UtcDayOf(at));
  ReportPeriod period{.from = absl::CivilDay(month), .to = absl::CivilDay(month + 1) - 1};
  if (!period_from.empty()) {
    ASSIGN_OR_RETURN(period.from, domain::ParseRequiredDate("period_from", period_from));
  }
  if (!period_to.empty()) {
    ASSIGN_OR_RETURN(period.to, domain::ParseRequiredDate("period_to", period_to));
  }
  if (period.to < period.from) return InvalidField("period_to", "must not be before period_from");
  return period;
}

}  // namespace crm::interaction
