// Tests of the SLA engine (crm/ticket/domain/sla_engine.h): business-hours
// arithmetic (holidays, pauses, make-up days, DST), policy and tier selection,
// escalation targets, the computed SLA state, due actions and validation.
#include "crm/ticket/domain/sla_engine.h"

#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "crm/common/proto_time.h"
#include "gtest/gtest.h"

namespace crm::ticket::sla {
namespace {

using Kind = DueAction::Kind;

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone(name, &zone)) << name;
  return zone;
}

// A local wall-clock time in `zone`.
absl::Time At(const std::string& zone, int y, int m, int d, int hh, int mm = 0) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), Zone(zone));
}
absl::Time Utc(int y, int m, int d, int hh, int mm = 0) { return At("UTC", y, m, d, hh, mm); }

void AddHours(v1::Calendar& calendar, int weekday, int from_hour, int to_hour) {
  v1::BusinessHours* hours = calendar.add_hours();
  hours->set_weekday(weekday);
  hours->set_start_minute(from_hour * 60);
  hours->set_end_minute(to_hour * 60);
}

// Monday to Friday 09:00-18:00 in `zone`.
v1::Calendar OfficeCalendar(const std::string& name, const std::string& zone,
                            const std::vector<std::string>& holidays = {}) {
  v1::Calendar calendar;
  calendar.set_name(name);
  calendar.set_time_zone(zone);
  for (int weekday = 1; weekday <= 5; ++weekday) AddHours(calendar, weekday, 9, 18);
  for (const std::string& day : holidays) calendar.add_holidays(day);
  return calendar;
}

BusinessCalendar MustCreate(const v1::Calendar& proto) {
  absl::StatusOr<BusinessCalendar> calendar = BusinessCalendar::Create(proto);
  EXPECT_TRUE(calendar.ok()) << calendar.status();
  return calendar.ok() ? *std::move(calendar) : BusinessCalendar::Default();
}

SlaEngine MustCreate(const v1::SlaConfig& config) {
  absl::StatusOr<SlaEngine> engine = SlaEngine::Create(config);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : SlaEngine::Default();
}

v1::SlaPolicy* AddPolicy(v1::SlaConfig& config, const std::string& id, v1::TicketType type,
                         v1::Priority priority, const std::string& tier,
                         int64_t first_response_minutes, int64_t resolution_minutes) {
  v1::SlaPolicy* policy = config.add_policies();
  policy->set_policy_id(id);
  policy->set_type(type);
  policy->set_priority(priority);
  policy->set_tier(tier);
  policy->set_first_response_minutes(first_response_minutes);
  policy->set_resolution_minutes(resolution_minutes);
  return policy;
}

absl::Time TimeOf(const google::protobuf::Timestamp& ts) { return FromProtoTimestamp(ts); }

// --- The key scenario -------------------------------------------------------------

TEST(BusinessCalendarTest,
     GivenShanghaiFridayFivePmAndMondayHoliday_WhenAddingEightHours_ThenTuesdayFourPm) {
  const BusinessCalendar calendar =
      MustCreate(OfficeCalendar("cn", "Asia/Shanghai", {"2026-12-07"}));
  const absl::Time opened = At("Asia/Shanghai", 2026, 12, 4, 17);  // Friday

  const absl::Time due = calendar.Add(opened, absl::Hours(8));

  // 1 h on Friday (17-18), Monday is a holiday, 7 h on Tuesday from 09:00.
  EXPECT_EQ(due, At("Asia/Shanghai", 2026, 12, 8, 16));
  EXPECT_EQ(due, Utc(2026, 12, 8, 8));  // UTC+8
  EXPECT_EQ(calendar.Between(opened, due), absl::Hours(8));
}

TEST(BusinessCalendarTest,
     GivenUtcFridayFivePmAndMondayHoliday_WhenAddingEightHours_ThenTuesdayFourPm) {
  const BusinessCalendar calendar = MustCreate(OfficeCalendar("utc", "", {"2026-12-07"}));

  EXPECT_EQ(calendar.Add(Utc(2026, 12, 4, 17), absl::Hours(8)), Utc(2026, 12, 8, 16));
  // Without the holiday it would be Monday 16:00.
  EXPECT_EQ(MustCreate(OfficeCalendar("utc", "")).Add(Utc(2026, 12, 4, 17), absl::Hours(8)),
            Utc(2026, 12, 7, 16));
}

TEST(SlaEngineTest,
     GivenShanghaiPolicyOfEightHours_WhenComputingFridayFivePm_ThenResolutionDueTuesdayFourPm) {
  v1::SlaConfig config;
  *config.add_calendars() = OfficeCalendar("cn", "Asia/Shanghai", {"2026-12-07"});
  AddPolicy(config, "complaints", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_UNSPECIFIED, "", 60, 480)
      ->set_calendar("cn");
  config.set_version(7);
  const SlaEngine engine = MustCreate(config);
  const absl::Time opened = At("Asia/Shanghai", 2026, 12, 4, 17);

  const v1::Sla sla = engine.Compute({.type = v1::TICKET_TYPE_COMPLAINT,
                                      .priority = v1::PRIORITY_HIGH,
                                      .clock_started_at = opened});

  EXPECT_EQ(sla.policy_id(), "complaints");
  EXPECT_EQ(sla.calendar(), "cn");
  EXPECT_EQ(sla.config_version(), 7u);
  EXPECT_EQ(TimeOf(sla.clock_started_at()), opened);
  EXPECT_FALSE(sla.paused());
  EXPECT_EQ(sla.first_response().target(), v1::SLA_TARGET_FIRST_RESPONSE);
  EXPECT_EQ(sla.first_response().target_minutes(), 60);
  EXPECT_EQ(TimeOf(sla.first_response().due_at()), At("Asia/Shanghai", 2026, 12, 4, 18));
  EXPECT_EQ(TimeOf(sla.first_response().warn_at()), At("Asia/Shanghai", 2026, 12, 4, 17, 48));
  EXPECT_EQ(sla.resolution().target(), v1::SLA_TARGET_RESOLUTION);
  EXPECT_EQ(sla.resolution().target_minutes(), 480);
  EXPECT_EQ(TimeOf(sla.resolution().due_at()), At("Asia/Shanghai", 2026, 12, 8, 16));
  // 0.8 × 8 h = 6 h 24 min: 1 h Friday, 5 h 24 min Tuesday.
  EXPECT_EQ(TimeOf(sla.resolution().warn_at()), At("Asia/Shanghai", 2026, 12, 8, 14, 24));
}

// --- Pauses -----------------------------------------------------------------------

class PauseTest : public ::testing::Test {
 protected:
  const BusinessCalendar calendar_ = MustCreate(OfficeCalendar("utc", ""));
  const absl::Time start_ = Utc(2026, 12, 14, 14);  // Monday 14:00
  // 8 business hours: 4 h Monday, 4 h Tuesday.
  const absl::Time unpaused_due_ = Utc(2026, 12, 15, 13);
};

TEST_F(PauseTest, GivenNoPause_WhenAdding_ThenDueNextDay) {
  EXPECT_EQ(calendar_.Add(start_, absl::Hours(8)), unpaused_due_);
}

TEST_F(PauseTest,
       GivenTwoBusinessHoursPausedAcrossTheNight_WhenAdding_ThenDueTwoBusinessHoursLater) {
  // Monday 17:00 → Tuesday 10:00: 1 h Monday + 1 h Tuesday of business time.
  const std::vector<Interval> pauses = {{Utc(2026, 12, 14, 17), Utc(2026, 12, 15, 10)}};

  EXPECT_EQ(calendar_.Add(start_, absl::Hours(8), pauses), Utc(2026, 12, 15, 15));
  EXPECT_EQ(calendar_.Between(start_, unpaused_due_, pauses), absl::Hours(6));
}

TEST_F(PauseTest, GivenPauseWithinOneDay_WhenAdding_ThenDueShiftedByItsLength) {
  const std::vector<Interval> pauses = {{Utc(2026, 12, 14, 15), Utc(2026, 12, 14, 17)}};

  EXPECT_EQ(calendar_.Add(start_, absl::Hours(8), pauses), Utc(2026, 12, 15, 15));
}

TEST_F(PauseTest, GivenPauseOutsideBusinessHours_WhenAdding_ThenNothingShifts) {
  const std::vector<Interval> pauses = {{Utc(2026, 12, 14, 19), Utc(2026, 12, 15, 8)}};

  EXPECT_EQ(calendar_.Add(start_, absl::Hours(8), pauses), unpaused_due_);
  EXPECT_EQ(calendar_.Between(start_, unpaused_due_, pauses), absl::Hours(8));
}

TEST_F(PauseTest,
       GivenOverlappingUnorderedPausesAndOneBeforeStart_WhenAdding_ThenEachInstantCountsOnce) {
  const std::vector<Interval> pauses = {
      {Utc(2026, 12, 15, 9, 30), Utc(2026, 12, 15, 10)},   // inside the next one
      {Utc(2026, 12, 14, 17), Utc(2026, 12, 15, 10)},      // 2 business hours
      {Utc(2026, 12, 14, 13), Utc(2026, 12, 14, 14, 30)},  // 30 min of it after start
      {Utc(2026, 12, 15, 11), Utc(2026, 12, 15, 11)},      // empty
  };

  EXPECT_EQ(calendar_.Add(start_, absl::Hours(8), pauses), Utc(2026, 12, 15, 15, 30));
}

TEST_F(PauseTest, GivenOpenPauseBeforeTheDeadline_WhenAdding_ThenInfiniteFuture) {
  const std::vector<Interval> pauses = {{Utc(2026, 12, 14, 16), absl::InfiniteFuture()}};

  EXPECT_EQ(calendar_.Add(start_, absl::Hours(8), pauses), absl::InfiniteFuture());
  // Working time stops at the pause.
  EXPECT_EQ(calendar_.Between(start_, Utc(2026, 12, 20, 0), pauses), absl::Hours(2));
}

TEST_F(PauseTest, GivenOpenPauseAfterTheDeadline_WhenAdding_ThenDeadlineUnchanged) {
  const std::vector<Interval> pauses = {{Utc(2026, 12, 15, 14), absl::InfiniteFuture()}};

  EXPECT_EQ(calendar_.Add(start_, absl::Hours(8), pauses), unpaused_due_);
}

TEST_F(PauseTest, GivenOpenPause_WhenComputing_ThenPausedWithoutDeadlines) {
  const SlaEngine engine = SlaEngine::Default();

  const v1::Sla sla =
      engine.Compute({.priority = v1::PRIORITY_HIGH,
                      .clock_started_at = start_,
                      .pauses = {{Utc(2026, 12, 14, 14, 10), absl::InfiniteFuture()}}});

  EXPECT_TRUE(sla.paused());
  EXPECT_EQ(sla.policy_id(), "high");
  EXPECT_EQ(sla.first_response().target_minutes(), 60);
  EXPECT_FALSE(sla.first_response().has_warn_at());
  EXPECT_FALSE(sla.first_response().has_due_at());
  EXPECT_FALSE(sla.resolution().has_warn_at());
  EXPECT_FALSE(sla.resolution().has_due_at());
  EXPECT_TRUE(DueActions(sla, Utc(2027, 1, 1, 0)).empty());
  EXPECT_EQ(NextCheck(sla), std::nullopt);
}

TEST_F(PauseTest, GivenPauseResumed_WhenComputing_ThenDeadlinesShiftedExactly) {
  const SlaEngine engine = SlaEngine::Default();
  // HIGH: first response 1 h, resolution 8 h; a 2-business-hour wait.
  const v1::Sla sla =
      engine.Compute({.priority = v1::PRIORITY_HIGH,
                      .clock_started_at = start_,
                      .pauses = {{Utc(2026, 12, 14, 14, 30), Utc(2026, 12, 14, 16, 30)}}});

  EXPECT_FALSE(sla.paused());
  EXPECT_EQ(TimeOf(sla.first_response().due_at()), Utc(2026, 12, 14, 17));
  EXPECT_EQ(TimeOf(sla.resolution().due_at()), Utc(2026, 12, 15, 15));
}

// --- Boundaries -------------------------------------------------------------------

TEST(BusinessCalendarTest, GivenStartExactlyAtOpening_WhenAddingOneHour_ThenOneHourLater) {
  const BusinessCalendar calendar = MustCreate(OfficeCalendar("utc", ""));
  EXPECT_EQ(calendar.Add(Utc(2026, 12, 14, 9), absl::Hours(1)), Utc(2026, 12, 14, 10));
  EXPECT_TRUE(calendar.IsBusinessTime(Utc(2026, 12, 14, 9)));
}

TEST(BusinessCalendarTest, GivenStartExactlyAtClosing_WhenAddingOneHour_ThenNextMorning) {
  const BusinessCalendar calendar = MustCreate(OfficeCalendar("utc", ""));
  EXPECT_EQ(calendar.Add(Utc(2026, 12, 14, 18), absl::Hours(1)), Utc(2026, 12, 15, 10));
  EXPECT_FALSE(calendar.IsBusinessTime(Utc(2026, 12, 14, 18)));
  EXPECT_TRUE(calendar.IsBusinessTime(Utc(2026, 12, 14, 17, 59)));
}

TEST(BusinessCalendarTest, GivenLunchGap_WhenStartingInsideOrBeforeIt_ThenTheGapIsSkipped) {
  v1::Calendar proto;
  proto.set_name("lunch");
  for (int weekday = 1; weekday <= 5; ++weekday) {
    AddHours(proto, weekday, 13, 18);  // listed out of order on purpose
    AddHours(proto, weekday, 9, 12);
  }
  const BusinessCalendar calendar = MustCreate(proto);

  EXPECT_EQ(calendar.Add(Utc(2026, 12, 14, 12, 30), absl::Hours(1)), Utc(2026, 12, 14, 14));
  EXPECT_EQ(calendar.Add(Utc(2026, 12, 14, 11, 30), absl::Hours(1)), Utc(2026, 12, 14, 13, 30));
  EXPECT_FALSE(calendar.IsBusinessTime(Utc(2026, 12, 14, 12, 30)));
  EXPECT_EQ(calendar.Between(Utc(2026, 12, 14, 0), Utc(2026, 12, 15, 0)), absl::Hours(8));
  const std::vector<Interval> monday = calendar.WorkingIntervals(absl::CivilDay(2026, 12, 14));
  ASSERT_EQ(monday.size(), 2u);
  EXPECT_EQ(monday[0].from, Utc(2026, 12, 14, 9));
  EXPECT_EQ(monday[0].to, Utc(2026, 12, 14, 12));
  EXPECT_EQ(monday[1].from, Utc(2026, 12, 14, 13));
  EXPECT_EQ(monday[1].to, Utc(2026, 12, 14, 18));
}

TEST(BusinessCalendarTest, GivenStartOnWeekend_WhenAdding_ThenCountsFromMondayOpening) {
  const BusinessCalendar calendar = MustCreate(OfficeCalendar("utc", ""));
  EXPECT_EQ(calendar.Add(Utc(2026, 12, 12, 10), absl::Hours(1)), Utc(2026, 12, 14, 10));
  EXPECT_TRUE(calendar.WorkingIntervals(absl::CivilDay(2026, 12, 13)).empty());
}

TEST(BusinessCalendarTest, GivenStartOnHoliday_WhenAdding_ThenCountsFromNextWorkingDay) {
  const BusinessCalendar calendar = MustCreate(OfficeCalendar("utc", "", {"2026-12-07"}));
  EXPECT_EQ(calendar.Add(Utc(2026, 12, 7, 10), absl::Hours(1)), Utc(2026, 12, 8, 10));
  EXPECT_FALSE(calendar.IsBusinessTime(Utc(2026, 12, 7, 10)));
  EXPECT_TRUE(calendar.WorkingIntervals(absl::CivilDay(2026, 12, 7)).empty());
}

TEST(BusinessCalendarTest, GivenZeroOrNegativeTarget_WhenAdding_ThenExactlyTheStart) {
  const BusinessCalendar calendar = MustCreate(OfficeCalendar("utc", ""));
  const absl::Time saturday = Utc(2026, 12, 12, 3, 17);
  EXPECT_EQ(calendar.Add(saturday, absl::ZeroDuration()), saturday);
  EXPECT_EQ(calendar.Add(saturday, absl::Minutes(-5)), saturday);
  EXPECT_EQ(calendar.Between(saturday, saturday), absl::ZeroDuration());
  EXPECT_EQ(calendar.Between(Utc(2026, 12, 14, 12), Utc(2026, 12, 14, 10)), absl::ZeroDuration());
}

TEST(BusinessCalendarTest, GivenTargetExactlyFillingADay_WhenAdding_ThenClosingTimeThatDay) {
  const BusinessCalendar calendar = MustCreate(OfficeCalendar("utc", ""));
  EXPECT_EQ(calendar.Add(Utc(2026, 12, 14, 9), absl::Hours(9)), Utc(2026, 12, 14, 18));
  EXPECT_EQ(calendar.Add(Utc(2026, 12, 14, 9), absl::Hours(9) + absl::Seconds(1)),
            Utc(2026, 12, 15, 9) + absl::Seconds(1));
  EXPECT_EQ(calendar.Between(Utc(2026, 12, 14, 9), Utc(2026, 12, 14, 18)), absl::Hours(9));
}

TEST(BusinessCalendarTest, GivenMakeUpSaturday_WhenAddingFromFriday_ThenSaturdayWorksMondayHours) {
  v1::Calendar proto;
  proto.set_name("makeup");
  proto.set_time_zone("Asia/Shanghai");
  AddHours(proto, 1, 8, 12);  // Monday: 08:00-12:00 only
  for (int weekday = 2; weekday <= 5; ++weekday) AddHours(proto, weekday, 9, 18);
  proto.add_working_days("2026-12-12");  // Saturday; makeup_weekday unset = Monday
  const BusinessCalendar calendar = MustCreate(proto);

  EXPECT_EQ(calendar.Add(At("Asia/Shanghai", 2026, 12, 11, 17), absl::Hours(2)),
            At("Asia/Shanghai", 2026, 12, 12, 9));
  const std::vector<Interval> saturday = calendar.WorkingIntervals(absl::CivilDay(2026, 12, 12));
  ASSERT_EQ(saturday.size(), 1u);
  EXPECT_EQ(saturday[0].from, At("Asia/Shanghai", 2026, 12, 12, 8));
  EXPECT_EQ(saturday[0].to, At("Asia/Shanghai", 2026, 12, 12, 12));
  // The Saturday after is a plain weekend day.
  EXPECT_TRUE(calendar.WorkingIntervals(absl::CivilDay(2026, 12, 19)).empty());
}

TEST(BusinessCalendarTest, GivenMakeUpWeekdayFriday_WhenListingTheMakeUpDay_ThenFridayHours) {
  v1::Calendar proto = OfficeCalendar("makeup", "");
  proto.mutable_hours(4)->set_end_minute(15 * 60);  // Friday until 15:00
  proto.add_working_days("2026-12-13");             // Sunday
  proto.set_makeup_weekday(5);
  const BusinessCalendar calendar = MustCreate(proto);

  const std::vector<Interval> sunday = calendar.WorkingIntervals(absl::CivilDay(2026, 12, 13));
  ASSERT_EQ(sunday.size(), 1u);
  EXPECT_EQ(sunday[0].from, Utc(2026, 12, 13, 9));
  EXPECT_EQ(sunday[0].to, Utc(2026, 12, 13, 15));
}

TEST(BusinessCalendarTest, GivenBerlinAcrossAutumnDstChange_WhenAdding_ThenHoursStayLocal) {
  const BusinessCalendar calendar = MustCreate(OfficeCalendar("de", "Europe/Berlin"));
  // Friday 2026-10-23 17:00 CEST (UTC+2); clocks go back on Sunday 2026-10-25.
  const absl::Time friday = At("Europe/Berlin", 2026, 10, 23, 17);
  ASSERT_EQ(friday, Utc(2026, 10, 23, 15));

  const absl::Time due = calendar.Add(friday, absl::Hours(2));

  EXPECT_EQ(due, At("Europe/Berlin", 2026, 10, 26, 10));  // Monday 10:00 CET
  EXPECT_EQ(due, Utc(2026, 10, 26, 9));                   // UTC+1 now
  EXPECT_EQ(calendar.Between(friday, due), absl::Hours(2));
  EXPECT_TRUE(calendar.IsBusinessTime(Utc(2026, 10, 26, 8)));       // 09:00 CET
  EXPECT_FALSE(calendar.IsBusinessTime(Utc(2026, 10, 26, 7, 30)));  // 08:30 CET
}

TEST(BusinessCalendarTest, GivenNightShiftOnTheDstDay_WhenMeasuring_ThenTheRepeatedHourCounts) {
  v1::Calendar proto;
  proto.set_name("night");
  proto.set_time_zone("Europe/Berlin");
  AddHours(proto, 7, 0, 6);  // Sunday 00:00-06:00 local
  const BusinessCalendar calendar = MustCreate(proto);

  // On 2026-10-25, 02:00-03:00 happens twice: 00:00-06:00 lasts 7 hours.
  const std::vector<Interval> sunday = calendar.WorkingIntervals(absl::CivilDay(2026, 10, 25));
  ASSERT_EQ(sunday.size(), 1u);
  EXPECT_EQ(sunday[0].to - sunday[0].from, absl::Hours(7));
  EXPECT_EQ(calendar.Between(Utc(2026, 10, 24, 0), Utc(2026, 10, 26, 0)), absl::Hours(7));
  // An ordinary Sunday has 6.
  EXPECT_EQ(calendar.Between(Utc(2026, 11, 1, 0) - absl::Hours(2), Utc(2026, 11, 2, 0)),
            absl::Hours(6));
}

TEST(BusinessCalendarTest, GivenEveryDayAHoliday_WhenAdding_ThenInfiniteFuture) {
  v1::Calendar proto = OfficeCalendar("never", "");
  for (absl::CivilDay day(2026, 12, 1); day < absl::CivilDay(2030, 1, 1); ++day) {
    proto.add_holidays(absl::FormatCivilTime(day));
  }
  const BusinessCalendar calendar = MustCreate(proto);

  EXPECT_EQ(calendar.Add(Utc(2026, 12, 14, 9), absl::Minutes(1)), absl::InfiniteFuture());
  EXPECT_EQ(calendar.Between(Utc(2026, 12, 14, 9), Utc(2029, 12, 31, 23)), absl::ZeroDuration());
}

TEST(BusinessCalendarTest, GivenDefault_WhenInspecting_ThenWeekdaysNineToSixUtc) {
  const BusinessCalendar calendar = BusinessCalendar::Default();
  EXPECT_EQ(calendar.name(), "default");
  EXPECT_EQ(calendar.Between(Utc(2026, 12, 14, 0), Utc(2026, 12, 21, 0)), absl::Hours(45));
  EXPECT_EQ(calendar.Add(Utc(2026, 12, 18, 17), absl::Hours(2)), Utc(2026, 12, 21, 10));
}

// --- Consistency property ---------------------------------------------------------

TEST(BusinessCalendarTest,
     GivenRandomStartsDurationsAndPauses_WhenAddingThenMeasuring_ThenSameDuration) {
  v1::Calendar lunch;
  lunch.set_name("cn");
  lunch.set_time_zone("Asia/Shanghai");
  for (int weekday = 1; weekday <= 5; ++weekday) {
    AddHours(lunch, weekday, 9, 12);
    AddHours(lunch, weekday, 13, 18);
  }
  for (const char* day : {"2026-10-01", "2026-10-02", "2026-10-05", "2026-12-07"}) {
    lunch.add_holidays(day);
  }
  lunch.add_working_days("2026-10-10");
  v1::Calendar night;
  night.set_name("night");
  night.set_time_zone("Europe/Berlin");
  for (int weekday = 1; weekday <= 7; ++weekday) {
    AddHours(night, weekday, 0, 3);
    AddHours(night, weekday, 22, 24);
  }
  const std::vector<BusinessCalendar> calendars = {
      MustCreate(lunch), MustCreate(night), MustCreate(OfficeCalendar("de", "Europe/Berlin"))};

  std::mt19937_64 random(20261204);
  const int64_t year_start = absl::ToUnixSeconds(Utc(2026, 1, 1, 0));
  std::uniform_int_distribution<int64_t> start_seconds(year_start, year_start + 366 * 86400);
  std::uniform_int_distribution<int64_t> business_seconds(0, 120 * 3600);
  std::uniform_int_distribution<int64_t> pause_offset(-2 * 86400, 20 * 86400);
  std::uniform_int_distribution<int64_t> pause_length(0, 3 * 86400);
  std::uniform_int_distribution<int> pause_count(0, 3);
  for (int i = 0; i < 3000; ++i) {
    const BusinessCalendar& calendar = calendars[i % calendars.size()];
    const absl::Time start = absl::FromUnixSeconds(start_seconds(random));
    const absl::Duration business = absl::Seconds(business_seconds(random));
    std::vector<Interval> pauses;
    for (int n = pause_count(random); n > 0; --n) {
      const absl::Time from = start + absl::Seconds(pause_offset(random));
      pauses.push_back({from, from + absl::Seconds(pause_length(random))});
    }

    const absl::Time due = calendar.Add(start, business, pauses);

    ASSERT_NE(due, absl::InfiniteFuture()) << i;
    ASSERT_GE(due, start) << i;
    ASSERT_EQ(calendar.Between(start, due, pauses), business)
        << "case " << i << " calendar " << calendar.name() << " start " << start;
    // Nothing earlier would do: one second less of working time ends sooner.
    if (business > absl::ZeroDuration()) {
      ASSERT_LT(calendar.Between(start, due - absl::Seconds(1), pauses), business) << i;
    }
  }
}

// --- Policies, tiers, escalation --------------------------------------------------

TEST(SlaEngineTest, GivenPoliciesOfEverySpecificity_WhenMatching_ThenMostSpecificWins) {
  v1::SlaConfig config;
  AddPolicy(config, "any", v1::TICKET_TYPE_UNSPECIFIED, v1::PRIORITY_UNSPECIFIED, "", 100, 1000);
  AddPolicy(config, "type", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_UNSPECIFIED, "", 101, 1000);
  AddPolicy(config, "prio", v1::TICKET_TYPE_UNSPECIFIED, v1::PRIORITY_URGENT, "", 102, 1000);
  AddPolicy(config, "tier", v1::TICKET_TYPE_UNSPECIFIED, v1::PRIORITY_UNSPECIFIED, "gold", 103,
            1000);
  AddPolicy(config, "prio+tier", v1::TICKET_TYPE_UNSPECIFIED, v1::PRIORITY_URGENT, "gold", 104,
            1000);
  AddPolicy(config, "type+prio", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_URGENT, "", 105, 1000);
  const SlaEngine engine = MustCreate(config);

  struct Case {
    v1::TicketType type;
    v1::Priority priority;
    std::string tier;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_URGENT, "gold", "type+prio"},
      {v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_LOW, "gold", "type"},
      {v1::TICKET_TYPE_CONSULTATION, v1::PRIORITY_URGENT, "gold", "prio+tier"},
      {v1::TICKET_TYPE_CONSULTATION, v1::PRIORITY_URGENT, "", "prio"},
      {v1::TICKET_TYPE_CONSULTATION, v1::PRIORITY_URGENT, "silver", "prio"},
      {v1::TICKET_TYPE_CONSULTATION, v1::PRIORITY_LOW, "gold", "tier"},
      {v1::TICKET_TYPE_CONSULTATION, v1::PRIORITY_LOW, "", "any"},
      {v1::TICKET_TYPE_UNSPECIFIED, v1::PRIORITY_UNSPECIFIED, "", "any"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(engine.PolicyFor(c.type, c.priority, c.tier).policy_id(), c.expected)
        << v1::TicketType_Name(c.type) << " " << v1::Priority_Name(c.priority) << " " << c.tier;
  }
}

TEST(SlaEngineTest, GivenNoMatchingPolicy_WhenMatching_ThenBuiltInNormalFallback) {
  v1::SlaConfig config;
  AddPolicy(config, "complaints", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_UNSPECIFIED, "", 10, 20);
  const SlaEngine engine = MustCreate(config);

  const v1::SlaPolicy& policy =
      engine.PolicyFor(v1::TICKET_TYPE_CONSULTATION, v1::PRIORITY_URGENT, "gold");

  EXPECT_EQ(policy.policy_id(), "");
  EXPECT_EQ(policy.first_response_minutes(), 240);
  EXPECT_EQ(policy.resolution_minutes(), 1440);
  const v1::Sla sla = engine.Compute(
      {.type = v1::TICKET_TYPE_CONSULTATION, .clock_started_at = Utc(2026, 12, 14, 9)});
  EXPECT_EQ(sla.policy_id(), "");
  EXPECT_EQ(sla.calendar(), "default");
  EXPECT_EQ(TimeOf(sla.first_response().due_at()), Utc(2026, 12, 14, 13));
  // 24 business hours = 2 days and 6 hours of 9-hour days.
  EXPECT_EQ(TimeOf(sla.resolution().due_at()), Utc(2026, 12, 16, 15));
}

TEST(SlaEngineTest, GivenUnspecifiedPriority_WhenMatching_ThenTreatedAsNormal) {
  v1::SlaConfig config;
  AddPolicy(config, "low", v1::TICKET_TYPE_UNSPECIFIED, v1::PRIORITY_LOW, "", 10, 20);
  AddPolicy(config, "normal", v1::TICKET_TYPE_UNSPECIFIED, v1::PRIORITY_NORMAL, "", 30, 40);
  const SlaEngine engine = MustCreate(config);

  EXPECT_EQ(engine.PolicyFor(v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_UNSPECIFIED, "").policy_id(),
            "normal");
}

TEST(SlaEngineTest, GivenDefaultEngine_WhenMatching_ThenPriorityTargetsAndHalfForGold) {
  const SlaEngine engine = SlaEngine::Default();
  struct Case {
    v1::Priority priority;
    std::string tier;
    std::string id;
    int64_t first_response;
    int64_t resolution;
  };
  const std::vector<Case> cases = {
      {v1::PRIORITY_URGENT, "", "urgent", 30, 240},
      {v1::PRIORITY_HIGH, "", "high", 60, 480},
      {v1::PRIORITY_NORMAL, "", "normal", 240, 1440},
      {v1::PRIORITY_UNSPECIFIED, "", "normal", 240, 1440},
      {v1::PRIORITY_LOW, "", "low", 480, 2400},
      {v1::PRIORITY_URGENT, "gold", "gold-urgent", 15, 120},
      {v1::PRIORITY_HIGH, "gold", "gold-high", 30, 240},
      {v1::PRIORITY_NORMAL, "gold", "gold-normal", 120, 720},
      {v1::PRIORITY_LOW, "gold", "gold-low", 240, 1200},
      {v1::PRIORITY_HIGH, "silver", "high", 60, 480},
  };
  for (const Case& c : cases) {
    const v1::SlaPolicy& policy =
        engine.PolicyFor(v1::TICKET_TYPE_PROCEDURE_HANDLING, c.priority, c.tier);
    EXPECT_EQ(policy.policy_id(), c.id) << c.id;
    EXPECT_EQ(policy.first_response_minutes(), c.first_response) << c.id;
    EXPECT_EQ(policy.resolution_minutes(), c.resolution) << c.id;
    EXPECT_EQ(policy.calendar(), "default") << c.id;
  }
  EXPECT_EQ(engine.config().version(), 0u);
  EXPECT_DOUBLE_EQ(engine.config().warning_share(), 0.8);
  EXPECT_EQ(engine.config().default_escalation_queue(), "escalations");
}

TEST(SlaEngineTest, GivenDefaultTierRules_WhenClassifying_ThenHighestRankWins) {
  const SlaEngine engine = SlaEngine::Default();
  EXPECT_EQ(engine.TierFor({"key"}), "gold");
  EXPECT_EQ(engine.TierFor({"A"}), "gold");
  EXPECT_EQ(engine.TierFor({"large"}), "gold");
  EXPECT_EQ(engine.TierFor({"important"}), "silver");
  EXPECT_EQ(engine.TierFor({"B"}), "silver");
  EXPECT_EQ(engine.TierFor({"B", "key"}), "gold");
  EXPECT_EQ(engine.TierFor({"C", "important"}), "silver");
  EXPECT_EQ(engine.TierFor({"C", "D"}), "");
  EXPECT_EQ(engine.TierFor({"Key"}), "");  // exact names
  EXPECT_EQ(engine.TierFor({}), "");
}

TEST(SlaEngineTest, GivenRulesOfEqualRank_WhenClassifying_ThenFirstListedWins) {
  v1::SlaConfig config;
  for (const auto& [customer_class, tier, rank] :
       std::vector<std::tuple<std::string, std::string, int>>{
           {"x", "bronze", 0}, {"y", "platinum", 5}, {"z", "diamond", 5}}) {
    v1::TierRule* rule = config.add_tiers();
    rule->set_customer_class(customer_class);
    rule->set_tier(tier);
    rule->set_rank(rank);
  }
  const SlaEngine engine = MustCreate(config);

  EXPECT_EQ(engine.TierFor({"z", "y", "x"}), "platinum");
  EXPECT_EQ(engine.TierFor({"x", "z"}), "diamond");
  EXPECT_EQ(engine.TierFor({"x"}), "bronze");
}

TEST(SlaEngineTest, GivenManagersAndQueues_WhenEscalating_ThenManagerPolicyQueueDefaultBuiltIn) {
  v1::SlaConfig config;
  (*config.mutable_managers())["alice"] = "bob";
  config.set_default_escalation_queue("service-desk");
  AddPolicy(config, "vip", v1::TICKET_TYPE_UNSPECIFIED, v1::PRIORITY_URGENT, "", 10, 20)
      ->set_escalation_queue("vip-desk");
  const SlaEngine engine = MustCreate(config);
  const v1::Sla vip =
      engine.Compute({.priority = v1::PRIORITY_URGENT, .clock_started_at = Utc(2026, 12, 14, 9)});
  ASSERT_EQ(vip.escalation_queue(), "vip-desk");
  const v1::Sla plain =
      engine.Compute({.priority = v1::PRIORITY_LOW, .clock_started_at = Utc(2026, 12, 14, 9)});
  ASSERT_EQ(plain.escalation_queue(), "");

  EXPECT_EQ(engine.EscalationFor(vip, "alice"), std::make_pair(std::string("bob"), false));
  EXPECT_EQ(engine.EscalationFor(vip, "carol"), std::make_pair(std::string("vip-desk"), true));
  EXPECT_EQ(engine.EscalationFor(vip, ""), std::make_pair(std::string("vip-desk"), true));
  EXPECT_EQ(engine.EscalationFor(plain, "carol"),
            std::make_pair(std::string("service-desk"), true));
  EXPECT_EQ(MustCreate(v1::SlaConfig()).EscalationFor(plain, "alice"),
            std::make_pair(std::string("escalations"), true));
}

// --- Compute, DueActions, NextCheck -----------------------------------------------

class DueTest : public ::testing::Test {
 protected:
  // URGENT under the default configuration, Monday 09:00 UTC: first response
  // warns 09:24, due 09:30; resolution (4 h) warns 12:12, due 13:00.
  const SlaEngine engine_ = SlaEngine::Default();
  const absl::Time start_ = Utc(2026, 12, 14, 9);
  const v1::Sla sla_ =
      engine_.Compute({.priority = v1::PRIORITY_URGENT, .tier = "", .clock_started_at = start_});
};

TEST_F(DueTest, GivenFreshSla_WhenComputed_ThenWarnAtShareAndDueAtTarget) {
  EXPECT_EQ(sla_.policy_id(), "urgent");
  EXPECT_EQ(TimeOf(sla_.first_response().warn_at()), Utc(2026, 12, 14, 9, 24));
  EXPECT_EQ(TimeOf(sla_.first_response().due_at()), Utc(2026, 12, 14, 9, 30));
  EXPECT_EQ(TimeOf(sla_.resolution().warn_at()), Utc(2026, 12, 14, 12, 12));
  EXPECT_EQ(TimeOf(sla_.resolution().due_at()), Utc(2026, 12, 14, 13));
  EXPECT_FALSE(sla_.first_response().has_met_at());
  EXPECT_FALSE(sla_.first_response().warned());
}

TEST_F(DueTest, GivenBeforeWarning_WhenChecking_ThenNothingDue) {
  EXPECT_TRUE(DueActions(sla_, Utc(2026, 12, 14, 9, 23)).empty());
}

TEST_F(DueTest, GivenWarningTime_WhenChecking_ThenWarnBeforeBreach) {
  const std::vector<DueAction> actions = DueActions(sla_, Utc(2026, 12, 14, 9, 24));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Kind::kWarn);
  EXPECT_EQ(actions[0].target, v1::SLA_TARGET_FIRST_RESPONSE);
  EXPECT_EQ(actions[0].due_at, Utc(2026, 12, 14, 9, 24));
}

TEST_F(DueTest, GivenLateAndNeverWarned_WhenChecking_ThenWarnAndBreachInOrder) {
  const std::vector<DueAction> actions = DueActions(sla_, Utc(2026, 12, 14, 13));
  ASSERT_EQ(actions.size(), 4u);
  EXPECT_EQ(actions[0].kind, Kind::kWarn);
  EXPECT_EQ(actions[0].target, v1::SLA_TARGET_FIRST_RESPONSE);
  EXPECT_EQ(actions[1].kind, Kind::kBreach);
  EXPECT_EQ(actions[1].target, v1::SLA_TARGET_FIRST_RESPONSE);
  EXPECT_EQ(actions[1].due_at, Utc(2026, 12, 14, 9, 30));
  EXPECT_EQ(actions[2].kind, Kind::kWarn);
  EXPECT_EQ(actions[2].target, v1::SLA_TARGET_RESOLUTION);
  EXPECT_EQ(actions[2].due_at, Utc(2026, 12, 14, 12, 12));
  EXPECT_EQ(actions[3].kind, Kind::kBreach);
  EXPECT_EQ(actions[3].target, v1::SLA_TARGET_RESOLUTION);
  EXPECT_EQ(actions[3].due_at, Utc(2026, 12, 14, 13));
}

TEST_F(DueTest, GivenFlagsAlreadySet_WhenChecking_ThenNothingFiresTwice) {
  v1::Sla sla = sla_;
  sla.mutable_first_response()->set_warned(true);
  const std::vector<DueAction> actions = DueActions(sla, Utc(2026, 12, 14, 10));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Kind::kBreach);
  EXPECT_EQ(actions[0].target, v1::SLA_TARGET_FIRST_RESPONSE);

  for (v1::SlaTimer* timer : {sla.mutable_first_response(), sla.mutable_resolution()}) {
    timer->set_warned(true);
    timer->set_breached(true);
  }
  EXPECT_TRUE(DueActions(sla, Utc(2027, 1, 1, 0)).empty());
  EXPECT_EQ(NextCheck(sla), std::nullopt);
}

TEST_F(DueTest, GivenTimerMet_WhenChecking_ThenOnlyTheOtherTimer) {
  v1::Sla sla = sla_;
  *sla.mutable_first_response()->mutable_met_at() = ToProtoTimestamp(Utc(2026, 12, 14, 9, 10));
  const std::vector<DueAction> actions = DueActions(sla, Utc(2026, 12, 14, 12, 30));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Kind::kWarn);
  EXPECT_EQ(actions[0].target, v1::SLA_TARGET_RESOLUTION);
  EXPECT_EQ(NextCheck(sla), Utc(2026, 12, 14, 12, 12));
}

TEST_F(DueTest, GivenPaused_WhenChecking_ThenNothingEvenWithDeadlinesSet) {
  v1::Sla sla = sla_;
  sla.set_paused(true);
  EXPECT_TRUE(DueActions(sla, Utc(2027, 1, 1, 0)).empty());
  EXPECT_EQ(NextCheck(sla), std::nullopt);
}

TEST_F(DueTest, GivenProgress_WhenAskingNextCheck_ThenEarliestPending) {
  v1::Sla sla = sla_;
  EXPECT_EQ(NextCheck(sla), Utc(2026, 12, 14, 9, 24));
  sla.mutable_first_response()->set_warned(true);
  EXPECT_EQ(NextCheck(sla), Utc(2026, 12, 14, 9, 30));
  sla.mutable_first_response()->set_breached(true);
  EXPECT_EQ(NextCheck(sla), Utc(2026, 12, 14, 12, 12));
  sla.mutable_resolution()->set_warned(true);
  EXPECT_EQ(NextCheck(sla), Utc(2026, 12, 14, 13));
  // Breached but never warned: the warning is still pending and earlier.
  v1::Sla unwarned = sla_;
  unwarned.mutable_first_response()->set_breached(true);
  EXPECT_EQ(NextCheck(unwarned), Utc(2026, 12, 14, 9, 24));
}

TEST_F(DueTest, GivenPreviousState_WhenRecomputingAfterAPause_ThenFlagsAndMetTimerCarried) {
  v1::Sla previous = sla_;
  v1::SlaTimer* first = previous.mutable_first_response();
  first->set_warned(true);
  first->set_breached(true);
  first->set_escalated(true);
  *first->mutable_met_at() = ToProtoTimestamp(Utc(2026, 12, 14, 9, 45));
  previous.mutable_resolution()->set_warned(true);
  // Waiting on the customer 10:00-11:00, then again from 11:30 (still open).
  const std::vector<Interval> closed = {{Utc(2026, 12, 14, 10), Utc(2026, 12, 14, 11)}};
  std::vector<Interval> open = closed;
  open.push_back({Utc(2026, 12, 14, 11, 30), absl::InfiniteFuture()});

  const v1::Sla resumed = engine_.Compute({.priority = v1::PRIORITY_URGENT,
                                           .clock_started_at = start_,
                                           .pauses = closed,
                                           .previous = &previous});
  const v1::Sla paused = engine_.Compute({.priority = v1::PRIORITY_URGENT,
                                          .clock_started_at = start_,
                                          .pauses = open,
                                          .previous = &resumed});

  EXPECT_FALSE(resumed.paused());
  EXPECT_TRUE(resumed.first_response().warned());
  EXPECT_TRUE(resumed.first_response().breached());
  EXPECT_TRUE(resumed.first_response().escalated());
  EXPECT_EQ(TimeOf(resumed.first_response().met_at()), Utc(2026, 12, 14, 9, 45));
  EXPECT_EQ(TimeOf(resumed.first_response().due_at()), Utc(2026, 12, 14, 9, 30));
  EXPECT_TRUE(resumed.resolution().warned());
  EXPECT_FALSE(resumed.resolution().breached());
  EXPECT_EQ(TimeOf(resumed.resolution().due_at()), Utc(2026, 12, 14, 14));  // +1 h

  EXPECT_TRUE(paused.paused());
  EXPECT_EQ(TimeOf(paused.first_response().met_at()), Utc(2026, 12, 14, 9, 45));
  EXPECT_EQ(TimeOf(paused.first_response().due_at()), Utc(2026, 12, 14, 9, 30));  // met: kept
  EXPECT_TRUE(paused.first_response().escalated());
  EXPECT_FALSE(paused.resolution().has_due_at());
  EXPECT_FALSE(paused.resolution().has_warn_at());
  EXPECT_TRUE(paused.resolution().warned());
}

TEST_F(DueTest, GivenPreviousOfAnotherClockStart_WhenComputing_ThenNothingCarried) {
  v1::Sla previous = sla_;
  previous.mutable_first_response()->set_warned(true);
  previous.mutable_resolution()->set_breached(true);
  *previous.mutable_first_response()->mutable_met_at() = ToProtoTimestamp(start_);
  const absl::Time reopened = Utc(2026, 12, 15, 9);

  const v1::Sla sla = engine_.Compute(
      {.priority = v1::PRIORITY_URGENT, .clock_started_at = reopened, .previous = &previous});

  EXPECT_FALSE(sla.first_response().warned());
  EXPECT_FALSE(sla.first_response().has_met_at());
  EXPECT_FALSE(sla.resolution().breached());
  EXPECT_EQ(TimeOf(sla.first_response().due_at()), Utc(2026, 12, 15, 9, 30));
}

TEST(SlaEngineTest, GivenCustomWarningShareAndTier_WhenComputing_ThenUsed) {
  v1::SlaConfig config;
  config.set_warning_share(0.5);
  AddPolicy(config, "gold", v1::TICKET_TYPE_UNSPECIFIED, v1::PRIORITY_UNSPECIFIED, "gold", 60, 120);
  const SlaEngine engine = MustCreate(config);

  const v1::Sla sla = engine.Compute({.tier = "gold", .clock_started_at = Utc(2026, 12, 14, 9)});

  EXPECT_EQ(sla.policy_id(), "gold");
  EXPECT_EQ(sla.tier(), "gold");
  EXPECT_EQ(TimeOf(sla.first_response().warn_at()), Utc(2026, 12, 14, 9, 30));
  EXPECT_EQ(TimeOf(sla.resolution().warn_at()), Utc(2026, 12, 14, 10));
  EXPECT_EQ(TimeOf(sla.resolution().due_at()), Utc(2026, 12, 14, 11));
}

// --- Validation -------------------------------------------------------------------

void ExpectInvalid(const absl::Status& status, const std::string& message) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(std::string(status.message()), message);
}

TEST(BusinessCalendarTest, GivenInvalidCalendars_WhenCreating_ThenFieldPathErrors) {
  struct Case {
    std::string message;
    void (*mutate)(v1::Calendar&);
  };
  const std::vector<Case> cases = {
      {"name: required", [](v1::Calendar& c) { c.clear_name(); }},
      {"name: must be at most 64 characters",
       [](v1::Calendar& c) { c.set_name(std::string(65, 'n')); }},
      {"time_zone: unknown zone Mars/Base", [](v1::Calendar& c) { c.set_time_zone("Mars/Base"); }},
      {"hours: at least one working period is required", [](v1::Calendar& c) { c.clear_hours(); }},
      {"hours[0].weekday: must be 1..7",
       [](v1::Calendar& c) { c.mutable_hours(0)->set_weekday(0); }},
      {"hours[2].weekday: must be 1..7",
       [](v1::Calendar& c) { c.mutable_hours(2)->set_weekday(8); }},
      {"hours[1].start_minute: must be 0..1439",
       [](v1::Calendar& c) { c.mutable_hours(1)->set_start_minute(-1); }},
      {"hours[1].start_minute: must be 0..1439",
       [](v1::Calendar& c) { c.mutable_hours(1)->set_start_minute(1440); }},
      {"hours[2].end_minute: must be after start_minute",
       [](v1::Calendar& c) { c.mutable_hours(2)->set_end_minute(9 * 60); }},
      {"hours[2].end_minute: must be at most 1440",
       [](v1::Calendar& c) { c.mutable_hours(2)->set_end_minute(1441); }},
      {"hours[5]: overlaps hours[1]", [](v1::Calendar& c) { AddHours(c, 2, 17, 19); }},
      {"holidays[0]: not a date YYYY-MM-DD", [](v1::Calendar& c) { c.add_holidays("2026-02-30"); }},
      {"holidays[0]: not a date YYYY-MM-DD", [](v1::Calendar& c) { c.add_holidays("2026/12/07"); }},
      {"holidays[1]: not a date YYYY-MM-DD",
       [](v1::Calendar& c) {
         c.add_holidays("2026-12-07");
         c.add_holidays(" 2026-12-7");
       }},
      {"working_days[0]: not a date YYYY-MM-DD",
       [](v1::Calendar& c) { c.add_working_days("tomorrow"); }},
      {"working_days[0]: also listed in holidays",
       [](v1::Calendar& c) {
         c.add_holidays("2026-12-12");
         c.add_working_days("2026-12-12");
       }},
      {"makeup_weekday: must be 0..7 (0 = Monday)",
       [](v1::Calendar& c) { c.set_makeup_weekday(8); }},
      {"makeup_weekday: no working hours on weekday 6",
       [](v1::Calendar& c) {
         c.add_working_days("2026-12-13");
         c.set_makeup_weekday(6);
       }},
  };
  for (const Case& c : cases) {
    v1::Calendar calendar = OfficeCalendar("office", "Asia/Shanghai");
    c.mutate(calendar);
    ExpectInvalid(BusinessCalendar::Create(calendar).status(), c.message);
  }
  // Adjacent periods touch but do not overlap.
  v1::Calendar adjacent = OfficeCalendar("office", "");
  AddHours(adjacent, 1, 18, 20);
  AddHours(adjacent, 1, 7, 9);
  EXPECT_TRUE(BusinessCalendar::Create(adjacent).ok());
}

TEST(SlaEngineTest, GivenInvalidConfigs_WhenCreating_ThenFieldPathErrors) {
  struct Case {
    std::string message;
    void (*mutate)(v1::SlaConfig&);
  };
  const std::vector<Case> cases = {
      {"calendars[1].holidays[0]: not a date YYYY-MM-DD",
       [](v1::SlaConfig& c) { c.mutable_calendars(1)->add_holidays("2026-13-01"); }},
      {"calendars[0].time_zone: unknown zone Mars/Base",
       [](v1::SlaConfig& c) { c.mutable_calendars(0)->set_time_zone("Mars/Base"); }},
      {"calendars[1].name: duplicate default",
       [](v1::SlaConfig& c) { c.mutable_calendars(1)->set_name("default"); }},
      {"policies[0].policy_id: required",
       [](v1::SlaConfig& c) { c.mutable_policies(0)->clear_policy_id(); }},
      {"policies[0].policy_id: must be at most 64 characters",
       [](v1::SlaConfig& c) { c.mutable_policies(0)->set_policy_id(std::string(65, 'p')); }},
      {"policies[3].policy_id: duplicate urgent",
       [](v1::SlaConfig& c) { c.mutable_policies(3)->set_policy_id("urgent"); }},
      {"policies[1].type: unknown ticket type 42",
       [](v1::SlaConfig& c) { c.mutable_policies(1)->set_type(static_cast<v1::TicketType>(42)); }},
      {"policies[1].priority: unknown priority 9",
       [](v1::SlaConfig& c) { c.mutable_policies(1)->set_priority(static_cast<v1::Priority>(9)); }},
      {"policies[0].calendar: unknown calendar night",
       [](v1::SlaConfig& c) { c.mutable_policies(0)->set_calendar("night"); }},
      {"policies[2].first_response_minutes: must be > 0",
       [](v1::SlaConfig& c) { c.mutable_policies(2)->set_first_response_minutes(0); }},
      {"policies[2].resolution_minutes: must be > 0",
       [](v1::SlaConfig& c) { c.mutable_policies(2)->set_resolution_minutes(-5); }},
      {"policies[2].resolution_minutes: must be at most 1000000",
       [](v1::SlaConfig& c) { c.mutable_policies(2)->set_resolution_minutes(1'000'001); }},
      {"policies[2].first_response_minutes: must not exceed resolution_minutes",
       [](v1::SlaConfig& c) { c.mutable_policies(2)->set_first_response_minutes(1441); }},
      {"policies[1]: same type, priority and tier as policies[0]",
       [](v1::SlaConfig& c) { c.mutable_policies(1)->set_priority(v1::PRIORITY_URGENT); }},
      {"tiers[0].customer_class: required",
       [](v1::SlaConfig& c) { c.mutable_tiers(0)->clear_customer_class(); }},
      {"tiers[4].tier: required", [](v1::SlaConfig& c) { c.mutable_tiers(4)->clear_tier(); }},
      {"managers: agent required", [](v1::SlaConfig& c) { (*c.mutable_managers())[""] = "bob"; }},
      {"managers[alice]: manager required",
       [](v1::SlaConfig& c) { (*c.mutable_managers())["alice"] = ""; }},
      {"warning_share: must be in (0, 1)", [](v1::SlaConfig& c) { c.set_warning_share(1.0); }},
      {"warning_share: must be in (0, 1)", [](v1::SlaConfig& c) { c.set_warning_share(-0.2); }},
      {"warning_share: must be in (0, 1)",
       [](v1::SlaConfig& c) { c.set_warning_share(std::numeric_limits<double>::quiet_NaN()); }},
  };
  for (const Case& c : cases) {
    v1::SlaConfig config = SlaEngine::DefaultConfig();  // policies: urgent, high, normal, ...
    *config.add_calendars() = OfficeCalendar("cn", "Asia/Shanghai");
    c.mutate(config);
    ExpectInvalid(SlaEngine::Create(config).status(), c.message);
  }
}

TEST(SlaEngineTest, GivenValidConfigs_WhenCreating_ThenAccepted) {
  EXPECT_TRUE(SlaEngine::Create(SlaEngine::DefaultConfig()).ok());
  EXPECT_TRUE(SlaEngine::Create(v1::SlaConfig()).ok());

  // A policy naming "default" (or nothing) without the configuration defining it.
  v1::SlaConfig implicit;
  AddPolicy(implicit, "p", v1::TICKET_TYPE_UNSPECIFIED, v1::PRIORITY_UNSPECIFIED, "", 60, 60)
      ->set_calendar("default");
  const SlaEngine engine = MustCreate(implicit);
  EXPECT_EQ(
      TimeOf(engine.Compute({.clock_started_at = Utc(2026, 12, 18, 17, 30)}).resolution().due_at()),
      Utc(2026, 12, 21, 9, 30));

  // A configuration's own "default" calendar replaces the built-in one.
  v1::SlaConfig own = implicit;
  own.mutable_policies(0)->clear_calendar();
  *own.add_calendars() = OfficeCalendar("default", "Asia/Shanghai");
  const v1::Sla sla = MustCreate(own).Compute({.clock_started_at = Utc(2026, 12, 14, 9)});
  EXPECT_EQ(sla.calendar(), "default");
  // 17:00 Shanghai = 09:00 UTC: one hour until closing.
  EXPECT_EQ(TimeOf(sla.resolution().due_at()), At("Asia/Shanghai", 2026, 12, 14, 18));
}

}  // namespace
}  // namespace crm::ticket::sla
