// ParseReportPeriod: the period of the pipeline and churn reports.
#include "crm/interaction/domain/report_period.h"

#include "gtest/gtest.h"

namespace crm::interaction {
namespace {

// 2026-02-28T23:30:00Z.
const absl::Time kAt =
    absl::FromCivil(absl::CivilSecond(2026, 2, 28, 23, 30, 0), absl::UTCTimeZone());

TEST(ReportPeriodTest, DefaultsToTheCalendarMonthOfTheReportTime) {
  absl::StatusOr<ReportPeriod> p = ParseReportPeriod("", "", kAt);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->from, absl::CivilDay(2026, 2, 1));
  EXPECT_EQ(p->to, absl::CivilDay(2026, 2, 28));
  p = ParseReportPeriod("2026-01-15", "", kAt);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->from, absl::CivilDay(2026, 1, 15));
  EXPECT_EQ(p->to, absl::CivilDay(2026, 2, 28));
  p = ParseReportPeriod("", "2026-02-01", kAt);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->from, absl::CivilDay(2026, 2, 1));
  EXPECT_EQ(p->to, absl::CivilDay(2026, 2, 1));
}

TEST(ReportPeriodTest, InvalidDatesAndAnEndBeforeTheStart) {
  EXPECT_EQ(ParseReportPeriod("2026-02-30", "", kAt).status().message(),
            "period_from: not a valid date (YYYY-MM-DD)");
  EXPECT_EQ(ParseReportPeriod("", "2026/03/01", kAt).status().message(),
            "period_to: not a valid date (YYYY-MM-DD)");
  const absl::Status s = ParseReportPeriod("2026-03-02", "2026-03-01", kAt).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "period_to: must not be before period_from");
}

TEST(ReportPeriodTest, ContainsWholeUtcDaysBothEndsIncluded) {
  const ReportPeriod p{.from = absl::CivilDay(2026, 2, 1), .to = absl::CivilDay(2026, 2, 28)};
  EXPECT_TRUE(p.Contains(kAt));
  EXPECT_FALSE(p.Contains(kAt + absl::Hours(1)));  // 2026-03-01 in UTC
  EXPECT_TRUE(p.Contains(absl::CivilDay(2026, 2, 1)));
  EXPECT_FALSE(p.Contains(absl::CivilDay(2026, 1, 31)));
}

}  // namespace
}  // namespace crm::interaction
