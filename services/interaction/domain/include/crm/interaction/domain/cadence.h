// The revisit cadence (DOMAIN.md §2, 回访): how often a customer is revisited,
// decided by its class. Class A every quarter, B every half year, C every year;
// a key customer (TIER scheme) is revisited like class A whatever its ABCD class.
// Pure functions over configuration: no clock reads, no I/O.
//
//   ASSIGN_OR_RETURN(CadenceConfig config, ParseCadenceConfig(flags.revisit_cadence));
//   const Cadence cadence = CadenceFor(latest_classes_of_customer, config);
//   const absl::Time due = NextDue(last_revisit_done_at, clock.Now(), cadence);
//   ASSIGN_OR_RETURN(Events events,
//                    DecideScheduleRevisit(new_id, customer, due, cadence, ctx));
//
// Thread safety: all functions are pure and reentrant.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/classification/v1/classification_events.pb.h"

namespace crm::interaction {

// The class name of the TIER scheme that marks a key customer (关键客户).
inline constexpr char kKeyTierClass[] = "key";
// Bounds of a configured cadence, in days (one day .. ten years).
inline constexpr int kMinCadenceDays = 1;
inline constexpr int kMaxCadenceDays = 3660;

// Revisit cadence configuration. The defaults are the policy of [001 §5.1].
struct CadenceConfig {
  // Days between revisits per ABCD class. Classes not listed (D, or a class the
  // classification service invents later) get `default_days`.
  std::map<std::string, int> days_by_class = {{"A", 91}, {"B", 182}, {"C", 365}};
  // The class whose cadence a key customer (TIER "key") follows.
  std::string tier_key_follows = "A";
  // Days for D, for an unlisted class and for a customer not yet classified.
  int default_days = 365;
};

// The cadence a revisit is planned on.
struct Cadence {
  // The class whose cadence applies: the ABCD class ("A", "D", ...), the class a
  // key customer follows ("A"), or "" when the customer has no ABCD class.
  std::string cadence_class;
  // Days between revisits (> 0).
  int days = 0;
};

inline bool operator==(const Cadence& a, const Cadence& b) {
  return a.cadence_class == b.cadence_class && a.days == b.days;
}

// The cadence for a customer given its latest class per scheme (schemes it has
// no class in are absent or map to ""):
// - TIER "key" (exactly that name): the class `config.tier_key_follows`, whatever
//   the ABCD class;
// - otherwise the ABCD class: cadence_class is that class, days from
//   `days_by_class`;
// - a class without configured days (D by default, or an unknown name) keeps its
//   name as cadence_class but gets `default_days`; no ABCD class at all gives
//   cadence_class "" and `default_days`.
// Other schemes (VALUE, LARGE_ACCOUNT) do not affect the cadence. Never fails.
Cadence CadenceFor(const std::map<classification::v1::Scheme, std::string>& classes_by_scheme,
                   const CadenceConfig& config);

// When the next revisit is due: `cadence.days` whole days (of 24 hours) after
// `last_done`, or after `now` when the customer was never revisited. A
// non-positive `cadence.days` counts as one day, so the result is always after
// the starting point.
absl::Time NextDue(std::optional<absl::Time> last_done, absl::Time now, const Cadence& cadence);

// Parses a cadence specification such as "A=91,B=182,C=365,key=A,default=365":
// comma-separated NAME=VALUE parts (white space around names and values is
// ignored). A class name (anything but "key" and "default"; letters, digits,
// '_' or '-', at most 32) sets that class's days; "key" names the class key
// customers follow; "default" sets default_days. Days are whole numbers in
// kMinCadenceDays..kMaxCadenceDays. Parts override the defaults of CadenceConfig
// (so "A=30" keeps B=182 and C=365); "" gives the defaults.
// Errors: INVALID_ARGUMENT naming the bad part, e.g.
//   cadence part "A=x": days must be a whole number in 1..3660
//   cadence part "B": expected NAME=VALUE
//   cadence part "A=30": A given twice
//   cadence part "key=Z": no cadence for class Z
//   cadence part 2: empty (two commas in a row, or a trailing comma)
absl::StatusOr<CadenceConfig> ParseCadenceConfig(std::string_view spec);

}  // namespace crm::interaction
