#include "crm/ticket/domain/sla_engine.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crm/common/field_errors.h"
#include "crm/common/proto_time.h"

namespace crm::ticket::sla {
namespace {

constexpr int kMinutesPerDay = 24 * 60;
constexpr size_t kMaxNameLength = 64;
constexpr int64_t kMaxTargetMinutes = 1'000'000;
constexpr double kDefaultWarningShare = 0.8;
constexpr char kDefaultCalendar[] = "default";
constexpr char kDefaultEscalationQueue[] = "escalations";

// [start_minute, end_minute) after local midnight.
struct Period {
  int start_minute;
  int end_minute;
};

// 1 = Monday ... 7 = Sunday, the numbering of BusinessHours.weekday
// (absl::Weekday counts monday = 0 ... sunday = 6).
int WeekdayNumber(absl::CivilDay day) { return static_cast<int>(absl::GetWeekday(day)) + 1; }

// A strict "YYYY-MM-DD" that names a real day (no "2026-02-30", no sign or spaces).
std::optional<absl::CivilDay> ParseDate(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int fields[3] = {0, 0, 0};
  const int starts[3] = {0, 5, 8};
  const int lengths[3] = {4, 2, 2};
  for (int f = 0; f < 3; ++f) {
    for (int i = starts[f]; i < starts[f] + lengths[f]; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      fields[f] = fields[f] * 10 + (text[i] - '0');
    }
  }
  const absl::CivilDay day(fields[0], fields[1], fields[2]);
  if (day.year() != fields[0] || day.month() != fields[1] || day.day() != fields[2]) {
    return std::nullopt;  // normalized: the date does not exist
  }
  return day;
}

// `pauses` without empty intervals, sorted and merged (touching ones too), so a
// walk can step through them with one index. An open pause ends the list.
std::vector<Interval> NormalizePauses(const std::vector<Interval>& pauses) {
  std::vector<Interval> sorted;
  sorted.reserve(pauses.size());
  for (const Interval& p : pauses) {
    if (p.from < p.to) sorted.push_back(p);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const Interval& a, const Interval& b) { return a.from < b.from; });
  std::vector<Interval> merged;
  for (const Interval& p : sorted) {
    if (!merged.empty() && p.from <= merged.back().to) {
      merged.back().to = std::max(merged.back().to, p.to);
    } else {
      merged.push_back(p);
    }
  }
  return merged;
}

// "<prefix>.<message of status>": re-roots a nested validation error.
absl::Status Nested(const std::string& prefix, const absl::Status& status) {
  return absl::InvalidArgumentError(absl::StrCat(prefix, ".", status.message()));
}

// A business duration of `share` of `minutes`, rounded to the second.
absl::Duration ShareOf(int64_t minutes, double share) {
  return absl::Seconds(std::llround(static_cast<double>(minutes) * 60.0 * share));
}

}  // namespace

// ---------------------------------------------------------------------------
// BusinessCalendar

struct BusinessCalendar::Rep {
  std::string name;
  absl::TimeZone zone;
  // Working periods per weekday number (index 1..7; 0 unused), sorted by start.
  std::array<std::vector<Period>, 8> hours;
  std::set<absl::CivilDay> holidays;
  std::set<absl::CivilDay> working_days;
  int makeup_weekday = 1;

  std::vector<Interval> IntervalsOf(absl::CivilDay day) const;

  // Calls visit(s, e) for each free stretch [s, e) of working time at or after
  // `from` (working intervals minus `pauses`, which must be normalized), in time
  // order, until visit returns true; then returns true. Returns false when the
  // free time runs out first: an open pause has begun, or kMaxSearchDays of
  // calendar days after from's local day have been searched.
  template <typename Visit>
  bool WalkFree(absl::Time from, const std::vector<Interval>& pauses, Visit visit) const;
};

std::vector<Interval> BusinessCalendar::Rep::IntervalsOf(absl::CivilDay day) const {
  std::vector<Interval> out;
  if (holidays.count(day) > 0) return out;
  const int weekday = working_days.count(day) > 0 ? makeup_weekday : WeekdayNumber(day);
  const absl::CivilSecond midnight(day);
  for (const Period& period : hours[weekday]) {
    // Local wall-clock times; across a DST change a skipped or repeated local
    // time resolves to its earlier instant (absl::FromCivil).
    const absl::Time from = absl::FromCivil(midnight + period.start_minute * 60, zone);
    const absl::Time to = absl::FromCivil(midnight + period.end_minute * 60, zone);
    // A DST change can squeeze a period to nothing or make two touch.
    const absl::Time clipped_from = out.empty() ? from : std::max(from, out.back().to);
    if (clipped_from < to) out.push_back({clipped_from, to});
  }
  return out;
}

template <typename Visit>
bool BusinessCalendar::Rep::WalkFree(absl::Time from, const std::vector<Interval>& pauses,
                                     Visit visit) const {
  const bool open_pause = !pauses.empty() && pauses.back().to == absl::InfiniteFuture();
  // From the day before: a local day's intervals never reach past the next
  // midnight, but a DST change at midnight may blur which day `from` falls in.
  const absl::CivilDay first = absl::ToCivilDay(from, zone) - 1;
  size_t p = 0;  // the first pause that may still overlap
  for (int i = 0; i <= kMaxSearchDays + 1; ++i) {
    for (const Interval& work : IntervalsOf(first + i)) {
      absl::Time s = std::max(work.from, from);
      while (s < work.to) {
        while (p < pauses.size() && pauses[p].to <= s) ++p;
        if (p < pauses.size() && pauses[p].from <= s) {
          if (open_pause && p + 1 == pauses.size()) return false;  // stopped for good
          s = pauses[p].to;
          continue;
        }
        const absl::Time e = p < pauses.size() ? std::min(work.to, pauses[p].from) : work.to;
        if (visit(s, e)) return true;
        s = e;
      }
    }
  }
  return false;
}

BusinessCalendar::BusinessCalendar(std::shared_ptr<const Rep> rep) : rep_(std::move(rep)) {}

absl::StatusOr<BusinessCalendar> BusinessCalendar::Create(const v1::Calendar& calendar) {
  auto rep = std::make_shared<Rep>();
  if (calendar.name().empty()) return InvalidField("name", "required");
  if (calendar.name().size() > kMaxNameLength) {
    return InvalidField("name", "must be at most 64 characters");
  }
  rep->name = calendar.name();

  if (calendar.time_zone().empty()) {
    rep->zone = absl::UTCTimeZone();
  } else if (!absl::LoadTimeZone(calendar.time_zone(), &rep->zone)) {
    return InvalidField("time_zone", "unknown zone " + calendar.time_zone());
  }

  if (calendar.hours().empty()) {
    return InvalidField("hours", "at least one working period is required");
  }
  // Per weekday, the periods accepted so far by start minute (disjoint, so their
  // ends are in order too): an overlap is found in O(log n), not by comparing
  // with every earlier period.
  std::array<std::map<int, std::pair<int, int>>, 8> seen;  // start -> (end, index)
  for (int i = 0; i < calendar.hours_size(); ++i) {
    const v1::BusinessHours& h = calendar.hours(i);
    const std::string path = Indexed("hours", i);
    if (h.weekday() < 1 || h.weekday() > 7) return InvalidField(path + ".weekday", "must be 1..7");
    if (h.start_minute() < 0 || h.start_minute() >= kMinutesPerDay) {
      return InvalidField(path + ".start_minute", "must be 0..1439");
    }
    if (h.end_minute() <= h.start_minute()) {
      return InvalidField(path + ".end_minute", "must be after start_minute");
    }
    if (h.end_minute() > kMinutesPerDay) {
      return InvalidField(path + ".end_minute", "must be at most 1440");
    }
    // The earlier periods it overlaps are consecutive here; name the first given.
    std::map<int, std::pair<int, int>>& day = seen[h.weekday()];
    auto it = day.upper_bound(h.start_minute());
    if (it != day.begin()) --it;
    int first = -1;
    for (; it != day.end() && it->first < h.end_minute(); ++it) {
      if (h.start_minute() < it->second.first && (first < 0 || it->second.second < first)) {
        first = it->second.second;
      }
    }
    if (first >= 0) return InvalidField(path, "overlaps " + Indexed("hours", first));
    day.emplace(h.start_minute(), std::make_pair(h.end_minute(), i));
    rep->hours[h.weekday()].push_back({h.start_minute(), h.end_minute()});
  }
  for (std::vector<Period>& periods : rep->hours) {
    std::sort(periods.begin(), periods.end(),
              [](const Period& a, const Period& b) { return a.start_minute < b.start_minute; });
  }

  for (int i = 0; i < calendar.holidays_size(); ++i) {
    const std::optional<absl::CivilDay> day = ParseDate(calendar.holidays(i));
    if (!day) return InvalidField(Indexed("holidays", i), "not a date YYYY-MM-DD");
    rep->holidays.insert(*day);
  }
  for (int i = 0; i < calendar.working_days_size(); ++i) {
    const std::optional<absl::CivilDay> day = ParseDate(calendar.working_days(i));
    if (!day) return InvalidField(Indexed("working_days", i), "not a date YYYY-MM-DD");
    if (rep->holidays.count(*day) > 0) {
      return InvalidField(Indexed("working_days", i), "also listed in holidays");
    }
    rep->working_days.insert(*day);
  }

  if (calendar.makeup_weekday() < 0 || calendar.makeup_weekday() > 7) {
    return InvalidField("makeup_weekday", "must be 0..7 (0 = Monday)");
  }
  rep->makeup_weekday = calendar.makeup_weekday() == 0 ? 1 : calendar.makeup_weekday();
  if (!rep->working_days.empty() && rep->hours[rep->makeup_weekday].empty()) {
    return InvalidField("makeup_weekday",
                        "no working hours on weekday " + std::to_string(rep->makeup_weekday));
  }
  return BusinessCalendar(std::move(rep));
}

BusinessCalendar BusinessCalendar::Default() {
  static const BusinessCalendar* const calendar = [] {
    v1::Calendar proto;
    proto.set_name(kDefaultCalendar);
    proto.set_time_zone("UTC");
    for (int weekday = 1; weekday <= 5; ++weekday) {
      v1::BusinessHours* hours = proto.add_hours();
      hours->set_weekday(weekday);
      hours->set_start_minute(9 * 60);
      hours->set_end_minute(18 * 60);
    }
    return new BusinessCalendar(*Create(proto));
  }();
  return *calendar;
}

const std::string& BusinessCalendar::name() const { return rep_->name; }

std::vector<Interval> BusinessCalendar::WorkingIntervals(absl::CivilDay day) const {
  return rep_->IntervalsOf(day);
}

bool BusinessCalendar::IsBusinessTime(absl::Time t) const {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return false;
  const absl::CivilDay day = absl::ToCivilDay(t, rep_->zone);
  for (absl::CivilDay d = day - 1; d <= day + 1; ++d) {
    for (const Interval& work : rep_->IntervalsOf(d)) {
      if (work.from <= t && t < work.to) return true;
    }
  }
  return false;
}

absl::Time BusinessCalendar::Add(absl::Time start, absl::Duration business,
                                 const std::vector<Interval>& pauses) const {
  if (business <= absl::ZeroDuration()) return start;
  if (start == absl::InfinitePast() || start == absl::InfiniteFuture()) {
    return absl::InfiniteFuture();
  }
  absl::Duration remaining = business;
  absl::Time result = absl::InfiniteFuture();
  rep_->WalkFree(start, NormalizePauses(pauses), [&](absl::Time s, absl::Time e) {
    const absl::Duration length = e - s;
    if (remaining <= length) {
      result = s + remaining;  // ends exactly at e when the stretch fills the rest
      return true;
    }
    remaining -= length;
    return false;
  });
  return result;
}

absl::Duration BusinessCalendar::Between(absl::Time from, absl::Time to,
                                         const std::vector<Interval>& pauses) const {
  if (to <= from || from == absl::InfinitePast()) return absl::ZeroDuration();
  // The same walk as Add (hence the same horizon): Between(s, Add(s, d, p), p) == d.
  absl::Duration total = absl::ZeroDuration();
  rep_->WalkFree(from, NormalizePauses(pauses), [&](absl::Time s, absl::Time e) {
    if (s >= to) return true;
    total += std::min(e, to) - s;
    return e >= to;
  });
  return total;
}

// ---------------------------------------------------------------------------
// SlaEngine

struct SlaEngine::Rep {
  v1::SlaConfig config;
  std::map<std::string, BusinessCalendar> calendars;  // always has "default"
  double warning_share = kDefaultWarningShare;
  v1::SlaPolicy fallback;  // policy_id "", NORMAL targets of DefaultConfig

  const BusinessCalendar& CalendarNamed(const std::string& name) const {
    const auto it = calendars.find(name.empty() ? kDefaultCalendar : name);
    return it != calendars.end() ? it->second : calendars.at(kDefaultCalendar);
  }
};

namespace {

absl::Status ValidateTarget(const std::string& path, int64_t minutes) {
  if (minutes <= 0) return InvalidField(path, "must be > 0");
  if (minutes > kMaxTargetMinutes) return InvalidField(path, "must be at most 1000000");
  return absl::OkStatus();
}

absl::Status ValidatePolicy(const v1::SlaPolicy& policy, const std::string& path,
                            const std::map<std::string, BusinessCalendar>& calendars) {
  if (policy.policy_id().empty()) return InvalidField(path + ".policy_id", "required");
  if (policy.policy_id().size() > kMaxNameLength) {
    return InvalidField(path + ".policy_id", "must be at most 64 characters");
  }
  if (!v1::TicketType_IsValid(policy.type())) {
    return InvalidField(path + ".type", "unknown ticket type " + std::to_string(policy.type()));
  }
  if (!v1::Priority_IsValid(policy.priority())) {
    return InvalidField(path + ".priority",
                        "unknown priority " + std::to_string(policy.priority()));
  }
  if (!policy.calendar().empty() && calendars.count(policy.calendar()) == 0) {
    return InvalidField(path + ".calendar", "unknown calendar " + policy.calendar());
  }
  if (absl::Status s =
          ValidateTarget(path + ".first_response_minutes", policy.first_response_minutes());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateTarget(path + ".resolution_minutes", policy.resolution_minutes());
      !s.ok()) {
    return s;
  }
  if (policy.first_response_minutes() > policy.resolution_minutes()) {
    return InvalidField(path + ".first_response_minutes", "must not exceed resolution_minutes");
  }
  return absl::OkStatus();
}

// Priority UNSPECIFIED is handled as NORMAL.
v1::Priority EffectivePriority(v1::Priority priority) {
  return priority == v1::PRIORITY_UNSPECIFIED ? v1::PRIORITY_NORMAL : priority;
}

bool IsOpen(const Interval& pause) { return pause.to == absl::InfiniteFuture(); }

}  // namespace

SlaEngine::SlaEngine(std::shared_ptr<const Rep> rep) : rep_(std::move(rep)) {}

absl::StatusOr<SlaEngine> SlaEngine::Create(const v1::SlaConfig& config) {
  auto rep = std::make_shared<Rep>();
  rep->config = config;

  // warning_share: NaN fails both comparisons and is rejected too.
  if (config.warning_share() != 0.0) {
    if (!(config.warning_share() > 0.0 && config.warning_share() < 1.0)) {
      return InvalidField("warning_share", "must be in (0, 1)");
    }
    rep->warning_share = config.warning_share();
  }

  for (int i = 0; i < config.calendars_size(); ++i) {
    const std::string path = Indexed("calendars", i);
    absl::StatusOr<BusinessCalendar> calendar = BusinessCalendar::Create(config.calendars(i));
    if (!calendar.ok()) return Nested(path, calendar.status());
    const std::string& name = calendar->name();
    if (rep->calendars.count(name) > 0) return InvalidField(path + ".name", "duplicate " + name);
    rep->calendars.emplace(name, *std::move(calendar));
  }
  if (rep->calendars.count(kDefaultCalendar) == 0) {
    rep->calendars.emplace(kDefaultCalendar, BusinessCalendar::Default());
  }

  std::set<std::string> policy_ids;
  // (type, priority, tier) -> the first policy with it.
  std::map<std::tuple<int, int, std::string>, int> policy_keys;
  for (int i = 0; i < config.policies_size(); ++i) {
    const v1::SlaPolicy& policy = config.policies(i);
    const std::string path = Indexed("policies", i);
    if (absl::Status s = ValidatePolicy(policy, path, rep->calendars); !s.ok()) return s;
    if (!policy_ids.insert(policy.policy_id()).second) {
      return InvalidField(path + ".policy_id", "duplicate " + policy.policy_id());
    }
    const auto [same, added] =
        policy_keys.try_emplace({policy.type(), policy.priority(), policy.tier()}, i);
    if (!added) {
      return InvalidField(path, "same type, priority and tier as " + Indexed("policies", same->second));
    }
  }

  for (int i = 0; i < config.tiers_size(); ++i) {
    const std::string path = Indexed("tiers", i);
    if (config.tiers(i).customer_class().empty()) {
      return InvalidField(path + ".customer_class", "required");
    }
    if (config.tiers(i).tier().empty()) return InvalidField(path + ".tier", "required");
  }

  // Sorted, so the first error is the same on every run (map order is not).
  const std::map<std::string, std::string> managers(config.managers().begin(),
                                                    config.managers().end());
  for (const auto& [agent, manager] : managers) {
    if (agent.empty()) return InvalidField("managers", "agent required");
    if (manager.empty()) return InvalidField("managers[" + agent + "]", "manager required");
  }

  const v1::SlaConfig defaults = DefaultConfig();
  for (const v1::SlaPolicy& policy : defaults.policies()) {
    if (policy.priority() == v1::PRIORITY_NORMAL && policy.tier().empty()) {
      rep->fallback = policy;
      rep->fallback.clear_policy_id();
    }
  }
  return SlaEngine(std::move(rep));
}

SlaEngine SlaEngine::Default() {
  static const SlaEngine* const engine = new SlaEngine(*Create(DefaultConfig()));
  return *engine;
}

v1::SlaConfig SlaEngine::DefaultConfig() {
  v1::SlaConfig config;
  v1::Calendar* calendar = config.add_calendars();
  calendar->set_name(kDefaultCalendar);
  calendar->set_time_zone("UTC");
  for (int weekday = 1; weekday <= 5; ++weekday) {
    v1::BusinessHours* hours = calendar->add_hours();
    hours->set_weekday(weekday);
    hours->set_start_minute(9 * 60);
    hours->set_end_minute(18 * 60);
  }

  struct Targets {
    const char* name;
    v1::Priority priority;
    int64_t first_response_minutes;
    int64_t resolution_minutes;
  };
  const Targets targets[] = {
      {"urgent", v1::PRIORITY_URGENT, 30, 4 * 60},
      {"high", v1::PRIORITY_HIGH, 60, 8 * 60},
      {"normal", v1::PRIORITY_NORMAL, 4 * 60, 24 * 60},
      {"low", v1::PRIORITY_LOW, 8 * 60, 40 * 60},
  };
  for (const char* tier : {"", "gold"}) {
    const int64_t divisor = tier[0] == '\0' ? 1 : 2;  // gold: half of each target
    for (const Targets& t : targets) {
      v1::SlaPolicy* policy = config.add_policies();
      policy->set_policy_id(divisor == 1 ? t.name : absl::StrCat(tier, "-", t.name));
      policy->set_priority(t.priority);
      policy->set_tier(tier);
      policy->set_calendar(kDefaultCalendar);
      policy->set_first_response_minutes(t.first_response_minutes / divisor);
      policy->set_resolution_minutes(t.resolution_minutes / divisor);
    }
  }

  const std::pair<const char*, const char*> classes[] = {
      {"key", "gold"}, {"A", "gold"}, {"large", "gold"}, {"important", "silver"}, {"B", "silver"}};
  for (const auto& [customer_class, tier] : classes) {
    v1::TierRule* rule = config.add_tiers();
    rule->set_customer_class(customer_class);
    rule->set_tier(tier);
    rule->set_rank(std::string(tier) == "gold" ? 2 : 1);
  }
  config.set_warning_share(kDefaultWarningShare);
  config.set_default_escalation_queue(kDefaultEscalationQueue);
  return config;
}

const v1::SlaConfig& SlaEngine::config() const { return rep_->config; }

std::string SlaEngine::TierFor(const std::vector<std::string>& classes) const {
  const v1::TierRule* best = nullptr;
  for (const v1::TierRule& rule : rep_->config.tiers()) {
    if (std::find(classes.begin(), classes.end(), rule.customer_class()) == classes.end()) {
      continue;
    }
    if (best == nullptr || rule.rank() > best->rank()) best = &rule;
  }
  return best == nullptr ? std::string() : best->tier();
}

const v1::SlaPolicy& SlaEngine::PolicyFor(v1::TicketType type, v1::Priority priority,
                                          const std::string& tier) const {
  priority = EffectivePriority(priority);
  const v1::SlaPolicy* best = nullptr;
  int best_score = -1;
  for (const v1::SlaPolicy& policy : rep_->config.policies()) {
    const bool any_type = policy.type() == v1::TICKET_TYPE_UNSPECIFIED;
    const bool any_priority = policy.priority() == v1::PRIORITY_UNSPECIFIED;
    const bool any_tier = policy.tier().empty();
    if ((!any_type && policy.type() != type) || (!any_priority && policy.priority() != priority) ||
        (!any_tier && policy.tier() != tier)) {
      continue;
    }
    // Type outweighs priority, which outweighs tier. Two matches never score the
    // same: Create rejects policies with the same type, priority and tier.
    const int score = (any_type ? 0 : 4) + (any_priority ? 0 : 2) + (any_tier ? 0 : 1);
    if (score > best_score) {
      best = &policy;
      best_score = score;
    }
  }
  return best != nullptr ? *best : rep_->fallback;
}

v1::Sla SlaEngine::Compute(const SlaInputs& inputs) const {
  const v1::SlaPolicy& policy = PolicyFor(inputs.type, inputs.priority, inputs.tier);
  const BusinessCalendar& calendar = rep_->CalendarNamed(policy.calendar());
  const bool paused = std::any_of(inputs.pauses.begin(), inputs.pauses.end(), IsOpen);

  v1::Sla sla;
  sla.set_policy_id(policy.policy_id());
  sla.set_tier(inputs.tier);
  sla.set_calendar(calendar.name());
  sla.set_config_version(rep_->config.version());
  *sla.mutable_clock_started_at() = ToProtoTimestamp(inputs.clock_started_at);
  sla.set_paused(paused);
  sla.set_escalation_queue(policy.escalation_queue());

  // Flags fire once per clock start: a previous state of another start (a
  // reopening) carries nothing.
  const v1::Sla* previous = inputs.previous;
  if (previous != nullptr &&
      (!previous->has_clock_started_at() ||
       FromProtoTimestamp(previous->clock_started_at()) != inputs.clock_started_at)) {
    previous = nullptr;
  }

  const auto compute_timer = [&](v1::SlaTarget target, int64_t minutes, const v1::SlaTimer* before,
                                 v1::SlaTimer* timer) {
    timer->set_target(target);
    timer->set_target_minutes(minutes);
    if (before != nullptr && before->target() == target) {
      if (before->has_met_at()) {
        *timer->mutable_met_at() = before->met_at();
        if (before->has_due_at()) {
          // Met: the deadline it was met against stays as it was computed.
          timer->set_target_minutes(before->target_minutes());
          if (before->has_warn_at()) *timer->mutable_warn_at() = before->warn_at();
          *timer->mutable_due_at() = before->due_at();
        }
      }
      timer->set_warned(before->warned());
      timer->set_breached(before->breached());
      timer->set_escalated(before->escalated());
    }
    if (timer->has_due_at() || (paused && !timer->has_met_at())) return;
    const absl::Time warn_at =
        calendar.Add(inputs.clock_started_at, ShareOf(minutes, rep_->warning_share), inputs.pauses);
    const absl::Time due_at =
        calendar.Add(inputs.clock_started_at, absl::Minutes(minutes), inputs.pauses);
    // Never met within the search horizon (or stopped by an open pause): unset.
    if (warn_at != absl::InfiniteFuture()) *timer->mutable_warn_at() = ToProtoTimestamp(warn_at);
    if (due_at != absl::InfiniteFuture()) *timer->mutable_due_at() = ToProtoTimestamp(due_at);
  };
  compute_timer(v1::SLA_TARGET_FIRST_RESPONSE, policy.first_response_minutes(),
                previous != nullptr ? &previous->first_response() : nullptr,
                sla.mutable_first_response());
  compute_timer(v1::SLA_TARGET_RESOLUTION, policy.resolution_minutes(),
                previous != nullptr ? &previous->resolution() : nullptr, sla.mutable_resolution());
  return sla;
}

std::pair<std::string, bool> SlaEngine::EscalationFor(const v1::Sla& sla,
                                                      const std::string& assignee) const {
  if (!assignee.empty()) {
    const auto it = rep_->config.managers().find(assignee);
    if (it != rep_->config.managers().end() && !it->second.empty()) return {it->second, false};
  }
  if (!sla.escalation_queue().empty()) return {sla.escalation_queue(), true};
  if (!rep_->config.default_escalation_queue().empty()) {
    return {rep_->config.default_escalation_queue(), true};
  }
  return {kDefaultEscalationQueue, true};
}

// ---------------------------------------------------------------------------
// Due actions

namespace {

// The timers in the order their actions are emitted.
std::array<std::pair<v1::SlaTarget, const v1::SlaTimer*>, 2> TimersOf(const v1::Sla& sla) {
  return {{{v1::SLA_TARGET_FIRST_RESPONSE, &sla.first_response()},
           {v1::SLA_TARGET_RESOLUTION, &sla.resolution()}}};
}

}  // namespace

std::vector<DueAction> DueActions(const v1::Sla& sla, absl::Time now) {
  std::vector<DueAction> actions;
  if (sla.paused()) return actions;
  for (const auto& [target, timer] : TimersOf(sla)) {
    if (timer->has_met_at()) continue;
    if (timer->has_warn_at() && !timer->warned()) {
      const absl::Time warn_at = FromProtoTimestamp(timer->warn_at());
      if (warn_at <= now) actions.push_back({DueAction::Kind::kWarn, target, warn_at});
    }
    if (timer->has_due_at() && !timer->breached()) {
      const absl::Time due_at = FromProtoTimestamp(timer->due_at());
      if (due_at <= now) actions.push_back({DueAction::Kind::kBreach, target, due_at});
    }
  }
  return actions;
}

std::optional<absl::Time> NextCheck(const v1::Sla& sla) {
  std::optional<absl::Time> next;
  if (sla.paused()) return next;
  const auto consider = [&next](absl::Time t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [target, timer] : TimersOf(sla)) {
    if (timer->has_met_at()) continue;
    if (timer->has_warn_at() && !timer->warned()) consider(FromProtoTimestamp(timer->warn_at()));
    if (timer->has_due_at() && !timer->breached()) consider(FromProtoTimestamp(timer->due_at()));
  }
  return next;
}

}  // namespace crm::ticket::sla
