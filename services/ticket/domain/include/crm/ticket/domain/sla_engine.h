// The SLA engine of the ticket service (DOMAIN.md §4): business-hours calendars
// with holidays, policies per ticket type × priority × customer tier, and the
// pure computation of a ticket's deadlines (first response, resolution) from when
// its clocks started and the intervals it waited on the customer.
//
//   ASSIGN_OR_RETURN(SlaEngine engine, SlaEngine::Create(config));   // validated
//   const std::string tier = engine.TierFor({"key", "A"});            // e.g. "gold"
//   v1::Sla sla = engine.Compute({.type = t.type(), .priority = t.priority(),
//                                 .tier = tier, .clock_started_at = opened_at,
//                                 .pauses = PausesOf(t)});
//   for (const DueAction& a : DueActions(sla, now)) ...               // warn / breach
//
// No I/O and no clock reads: time comes in as arguments. Thread safety: an
// SlaEngine is immutable after Create; share it freely (the service swaps a
// shared_ptr when the configuration changes).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "crm/ticket/v1/ticket.pb.h"

namespace crm::ticket::sla {

// A half-open interval [from, to) of absolute time; to = InfiniteFuture while open.
struct Interval {
  absl::Time from;
  absl::Time to;
};

// Searching further than this for business time gives up (InfiniteFuture): a
// calendar whose every day is a holiday never meets a target.
inline constexpr int kMaxSearchDays = 3 * 366;

// A validated business-hours calendar.
class BusinessCalendar {
 public:
  // INVALID_ARGUMENT whose message starts with the field path inside the
  // calendar ("name: required", "time_zone: unknown zone Mars/Base",
  // "hours[2].end_minute: must be after start_minute", "hours[0].weekday: must be
  // 1..7", "hours[3]: overlaps hours[1]", "holidays[0]: not a date YYYY-MM-DD",
  // "hours: at least one working period is required").
  static absl::StatusOr<BusinessCalendar> Create(const v1::Calendar& calendar);
  // "default": Monday to Friday 09:00-18:00 UTC, no holidays.
  static BusinessCalendar Default();

  const std::string& name() const;
  // The local working intervals of one civil day (empty for a holiday or a day
  // off; a make-up working day uses the hours of makeup_weekday), as absolute times.
  std::vector<Interval> WorkingIntervals(absl::CivilDay day) const;
  // True when `t` falls within working hours.
  bool IsBusinessTime(absl::Time t) const;
  // The instant at which `business` working time has elapsed after `start`, not
  // counting time inside `pauses` (any order, may overlap; an open pause stops the
  // clock for good: the result is then InfiniteFuture). `business` <= 0 gives
  // exactly `start`. InfiniteFuture when not met within kMaxSearchDays.
  absl::Time Add(absl::Time start, absl::Duration business,
                 const std::vector<Interval>& pauses = {}) const;
  // Working time in [from, to) not inside `pauses` (0 when to <= from).
  absl::Duration Between(absl::Time from, absl::Time to,
                         const std::vector<Interval>& pauses = {}) const;

 private:
  struct Rep;
  explicit BusinessCalendar(std::shared_ptr<const Rep> rep);
  std::shared_ptr<const Rep> rep_;
};

// What the deadlines of one ticket depend on.
struct SlaInputs {
  v1::TicketType type = v1::TICKET_TYPE_UNSPECIFIED;
  v1::Priority priority = v1::PRIORITY_UNSPECIFIED;  // unspecified = NORMAL
  std::string tier;                                   // "" = no tier
  // Where the clocks start: the opening, or the last reopening.
  absl::Time clock_started_at;
  // Waits on the customer since clock_started_at (an open one: to = InfiniteFuture).
  std::vector<Interval> pauses;
  // The state computed before, if any: met_at and the warned / breached /
  // escalated flags of each timer are carried over (each fires once per clock
  // start), as long as the timer's target is the same kind.
  const v1::Sla* previous = nullptr;
};

// One thing DueActions found due.
struct DueAction {
  enum class Kind { kWarn, kBreach };
  Kind kind;
  v1::SlaTarget target;
  absl::Time due_at;  // warn_at for kWarn, due_at for kBreach
};

// A validated SLA configuration.
class SlaEngine {
 public:
  // Validates every calendar, policy and tier rule. INVALID_ARGUMENT whose
  // message starts with the field path ("calendars[1].holidays[0]: not a date
  // YYYY-MM-DD", "policies[0].calendar: unknown calendar night",
  // "policies[2].resolution_minutes: must be > 0", "policies[3].policy_id:
  // duplicate p1", "policies[1]: same type, priority and tier as policies[0]",
  // "tiers[0].tier: required", "warning_share: must be in (0, 1)"). A policy's
  // targets are 1..1,000,000 minutes and first_response_minutes may not exceed
  // resolution_minutes ("policies[0].first_response_minutes: must not exceed
  // resolution_minutes").
  // A policy's calendar "" means "default" (BusinessCalendar::Default unless the
  // configuration defines one named "default").
  static absl::StatusOr<SlaEngine> Create(const v1::SlaConfig& config);
  // The built-in configuration (version 0, see DefaultConfig).
  static SlaEngine Default();
  // Built in: calendar "default"; policies per priority (any type, any tier):
  //   URGENT 30 min / 4 h, HIGH 1 h / 8 h, NORMAL 4 h / 24 h, LOW 8 h / 40 h
  // (first response / resolution, business time) and, for tier "gold", half of
  // each; tiers: classes "key", "A", "large" → "gold" (rank 2), "important",
  // "B" → "silver" (rank 1); warning share 0.8; escalation queue "escalations".
  static v1::SlaConfig DefaultConfig();

  const v1::SlaConfig& config() const;

  // The tier of a customer with these classes (of any scheme): the matching tier
  // rule with the highest rank (ties: the first listed); "" when none matches.
  std::string TierFor(const std::vector<std::string>& classes) const;

  // The most specific policy matching (type, priority, tier): a policy field left
  // unspecified / empty matches anything; among matches the one with a specific
  // type wins, then specific priority, then specific tier. When nothing matches,
  // a built-in fallback (policy_id "", NORMAL targets of DefaultConfig).
  const v1::SlaPolicy& PolicyFor(v1::TicketType type, v1::Priority priority,
                                 const std::string& tier) const;

  // The ticket's SLA state: policy_id, tier, calendar, config_version =
  // config().version, clock_started_at, and per timer target_minutes, warn_at =
  // Add(start, warning_share × target, pauses), due_at = Add(start, target,
  // pauses); warn_at/due_at are left unset and `paused` set while a pause is open;
  // met_at and flags carried over from `previous`. A timer already met keeps its
  // met_at and its due_at as computed.
  v1::Sla Compute(const SlaInputs& inputs) const;

  // Where a breach escalates: the assignee's manager (config().managers), else
  // the policy's escalation_queue (sla.escalation_queue), else
  // default_escalation_queue, else "escalations". Returns {to, to_queue}.
  std::pair<std::string, bool> EscalationFor(const v1::Sla& sla,
                                             const std::string& assignee) const;

 private:
  struct Rep;
  explicit SlaEngine(std::shared_ptr<const Rep> rep);
  std::shared_ptr<const Rep> rep_;
};

// What is due at `now` and has not fired yet, in the order to emit it (per timer:
// warning before breach; first response before resolution): timers not met, not
// paused, with warn_at <= now and not warned (kWarn), with due_at <= now and not
// breached (kBreach). A timer whose breach is due but never warned yields both.
std::vector<DueAction> DueActions(const v1::Sla& sla, absl::Time now);

// The earliest warn_at / due_at still to fire (not met, not paused, not yet
// warned / breached); std::nullopt when none: the scan index key of the ticket.
std::optional<absl::Time> NextCheck(const v1::Sla& sla);

}  // namespace crm::ticket::sla
