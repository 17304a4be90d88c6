// The churn analysis (DOMAIN.md §6: churn handling by reason, class, owner and
// region) as a pure function of the churn cases as they were at the report's
// time.
//
//   ChurnReportBuilder report(as_of, {.from = absl::CivilDay(2026, 11, 1),
//                                     .to = absl::CivilDay(2026, 11, 30)},
//                             classification::v1::SCHEME_ABCD);
//   for (const v1::ChurnCase& c : visible_as_of) report.Add(c);
//   v1::ChurnReport out = report.Finish();
//
// - opened: cases whose opened_at (UTC day) is in [from, to];
// - retained / lost: cases closed with that status whose closed_at (UTC day) is
//   in the period; retention_rate_percent = retained / (retained + lost) × 100,
//   rounded half up to 2 decimals (0 when none closed);
// - by_reason: the lost ones by loss reason, in the enum's order, reasons with
//   none left out (key "PRICE", ...);
// - by_class: by the class under `scheme` the case was opened with ("" when the
//   customer had none), by_owner and by_region by the case's owner and region
//   at as_of (an open case follows its customer's owner: ChurnCaseReassigned);
//   ordered by key; a group with nothing opened or closed in the period is left
//   out;
// - open_now: OPEN at as_of (whenever opened); overdue_now: of those, the ones
//   whose review date is before as_of's UTC day;
// - won_back: lost in the period, and won back by as_of.
// Thread safety: a builder is used by one thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "crm/classification/v1/classification.pb.h"
#include "crm/interaction/domain/report_period.h"
#include "crm/interaction/v1/churn.pb.h"
#include "crm/interaction/v1/churn_service.pb.h"

namespace crm::interaction {

class ChurnReportBuilder {
 public:
  ChurnReportBuilder(absl::Time as_of, ReportPeriod period, classification::v1::Scheme scheme);

  // One case as it was at as_of (opened by then).
  void Add(const v1::ChurnCase& c);
  v1::ChurnReport Finish() const;

 private:
  struct Counts {
    int32_t opened = 0;
    int32_t retained = 0;
    int32_t lost = 0;
    bool Empty() const { return opened == 0 && retained == 0 && lost == 0; }
  };
  bool InPeriod(const google::protobuf::Timestamp& t) const;

  absl::Time as_of_;
  ReportPeriod period_;
  classification::v1::Scheme scheme_;
  Counts total_;
  std::map<int, Counts> by_reason_;
  std::map<std::string, Counts> by_class_;
  std::map<std::string, Counts> by_owner_;
  std::map<std::string, Counts> by_region_;
  int32_t open_now_ = 0;
  int32_t overdue_now_ = 0;
  int32_t won_back_ = 0;
};

}  // namespace crm::interaction
