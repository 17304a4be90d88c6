#include "crm/ticket/projection/ticket_projection.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/eventstore/index_walk.h"
#include "crm/ticket/domain/ticket_aggregate.h"

namespace crm::ticket {
namespace {

using eventstore::ProjectionWrite;
using eventstore::TimeKey;

const std::string kSep(1, '\0');

std::string Prefix(Index index, std::string_view value) {
  switch (index) {
    case Index::kAll:
      return "a/" + kSep;
    case Index::kCustomer:
      return absl::StrCat("c/", std::string(value), kSep);
    case Index::kAssignee:
      return absl::StrCat("s/", std::string(value), kSep);
    case Index::kRegion:
      return absl::StrCat("r/", std::string(value), kSep);
    case Index::kSlaDue:
      return "";
  }
  return "";
}

std::vector<std::string> IndexKeys(const v1::Ticket& t) {
  if (t.ticket_id().empty()) return {};
  const std::string tail = TimeKey(FromProtoTimestamp(t.opened_at()), true) + kSep + t.ticket_id();
  std::vector<std::string> keys = {Prefix(Index::kAll, "") + tail,
                                   Prefix(Index::kCustomer, t.customer_id()) + tail,
                                   Prefix(Index::kRegion, t.region()) + tail};
  if (!t.assignee().empty()) keys.push_back(Prefix(Index::kAssignee, t.assignee()) + tail);
  return keys;
}

std::optional<std::string> SlaDueKey(const v1::Ticket& t) {
  if (t.ticket_id().empty() || !IsOpen(t.status())) return std::nullopt;
  std::optional<absl::Time> next = sla::NextCheck(t.sla());
  if (!next) return std::nullopt;
  return TimeKey(*next) + t.ticket_id();
}

// Puts what is in `after` and not in `before`, deletes the reverse.
void Diff(std::string_view projection, const std::vector<std::string>& before,
          const std::vector<std::string>& after, std::vector<ProjectionWrite>& out) {
  auto contains = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  for (const std::string& k : before) {
    if (!contains(after, k)) out.push_back(ProjectionWrite::Delete(std::string(projection), k));
  }
  for (const std::string& k : after) {
    if (!contains(before, k)) out.push_back(ProjectionWrite::Put(std::string(projection), k, ""));
  }
}

std::vector<std::string> AsVector(std::optional<std::string> key) {
  if (!key) return {};
  return {*std::move(key)};
}

std::vector<std::string> OpenKeys(const v1::Ticket& t) {
  if (t.ticket_id().empty() || !IsOpen(t.status())) return {};
  return {absl::StrCat(t.customer_id(), "/", t.ticket_id())};
}

std::optional<KpiFact> FactOf(const v1::TicketEvent& e, const v1::Ticket& before,
                              const v1::Ticket& after) {
  KpiFact f;
  f.ticket_id = after.ticket_id();
  f.region = after.region();
  f.type = after.type();
  switch (e.kind_case()) {
    case v1::TicketEvent::kOpened:
      f.kind = KpiFact::Kind::kOpened;
      return f;
    case v1::TicketEvent::kAssigned:
      f.kind = KpiFact::Kind::kAssigned;
      f.assignee = e.assigned().to_assignee();
      f.team = e.assigned().team();
      return f;
    case v1::TicketEvent::kResolved:
      f.kind = KpiFact::Kind::kResolved;
      f.assignee = e.resolved().assignee();
      f.team = e.resolved().team();
      f.on_time = e.resolved().on_time();
      return f;
    case v1::TicketEvent::kReopened:
      f.kind = KpiFact::Kind::kReopened;
      f.assignee = before.assignee();
      f.team = before.team();
      return f;
    case v1::TicketEvent::kFeedbackRecorded:
      f.kind = KpiFact::Kind::kFeedback;
      f.assignee = e.feedback_recorded().assignee();
      f.team = e.feedback_recorded().team();
      f.score = e.feedback_recorded().feedback().score();
      return f;
    case v1::TicketEvent::kSlaBreached:
      f.kind = KpiFact::Kind::kBreached;
      f.assignee = e.sla_breached().assignee();
      f.team = e.sla_breached().team();
      return f;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string StreamFor(std::string_view ticket_id) {
  return absl::StrCat("ticket-", std::string(ticket_id));
}

// Tab-separated: kind, at (unix micros), ticket, assignee, team, region, type,
// on_time, score; strings C-escaped (so they hold no tab).
std::string EncodeFact(const KpiFact& f) {
  return absl::StrJoin(
      {absl::StrCat(static_cast<int>(f.kind)), absl::StrCat(absl::ToUnixMicros(f.at)),
       absl::CEscape(f.ticket_id), absl::CEscape(f.assignee), absl::CEscape(f.team),
       absl::CEscape(f.region), absl::StrCat(static_cast<int>(f.type)),
       std::string(f.on_time ? "1" : "0"), absl::StrCat(f.score)},
      "\t");
}

absl::StatusOr<KpiFact> DecodeFact(std::string_view row) {
  std::vector<std::string> parts = absl::StrSplit(std::string(row), '\t');
  const absl::Status corrupt = absl::DataLossError("corrupt KPI fact row");
  if (parts.size() != 9) return corrupt;
  KpiFact f;
  int kind = 0, type = 0, score = 0;
  int64_t micros = 0;
  if (!absl::SimpleAtoi(parts[0], &kind) || kind < 0 ||
      kind > static_cast<int>(KpiFact::Kind::kBreached) || !absl::SimpleAtoi(parts[1], &micros) ||
      !absl::CUnescape(parts[2], &f.ticket_id) || !absl::CUnescape(parts[3], &f.assignee) ||
      !absl::CUnescape(parts[4], &f.team) || !absl::CUnescape(parts[5], &f.region) ||
      !absl::SimpleAtoi(parts[6], &type) || !absl::SimpleAtoi(parts[8], &score)) {
    return corrupt;
  }
  f.kind = static_cast<KpiFact::Kind>(kind);
  f.at = absl::FromUnixMicros(micros);
  f.type = static_cast<v1::TicketType>(type);
  f.on_time = parts[7] == "1";
  f.score = score;
  return f;
}

std::vector<ProjectionWrite> RowWrites(const v1::Ticket& before, const v1::Ticket& after,
                                       const std::vector<v1::TicketEvent>& events, absl::Time at) {
  std::vector<ProjectionWrite> writes;
  writes.push_back(ProjectionWrite::Put(std::string(kTicketsProjection), after.ticket_id(),
                                        after.SerializeAsString()));
  Diff(kTicketIndexProjection, IndexKeys(before), IndexKeys(after), writes);
  Diff(kOpenTicketsProjection, OpenKeys(before), OpenKeys(after), writes);
  Diff(kSlaDueProjection, AsVector(SlaDueKey(before)), AsVector(SlaDueKey(after)), writes);
  // Facts see the ticket as it was before each event (assignee when reopened).
  v1::Ticket state = before;
  for (size_t i = 0; i < events.size(); ++i) {
    const uint64_t version = before.version() + i + 1;
    v1::Ticket next = state;
    Apply(next, events[i], {.version = version, .occurred_at = at, .actor = ""});
    if (std::optional<KpiFact> fact = FactOf(events[i], state, next)) {
      fact->at = at;
      writes.push_back(ProjectionWrite::Put(
          std::string(kKpiFactsProjection),
          absl::StrCat(TimeKey(at), kSep, after.ticket_id(), kSep, absl::StrFormat("%020d", version)),
          EncodeFact(*fact)));
    }
    state = std::move(next);
  }
  return writes;
}

absl::StatusOr<std::optional<v1::Ticket>> LoadTicket(eventstore::EventStore& store,
                                                     std::string_view ticket_id) {
  if (ticket_id.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(std::optional<std::string> row, store.GetProjection(kTicketsProjection, ticket_id));
  if (!row) return std::nullopt;
  v1::Ticket t;
  if (!t.ParseFromString(*row)) return absl::DataLossError("corrupt ticket row");
  return t;
}

absl::StatusOr<std::vector<std::string>> OpenTicketIds(eventstore::EventStore& store,
                                                       std::string_view customer_id) {
  std::vector<std::string> ids;
  std::string after;
  const std::string prefix = absl::StrCat(std::string(customer_id), "/");
  while (true) {
    ASSIGN_OR_RETURN(auto rows, store.ScanProjection(kOpenTicketsProjection, prefix, after, 500));
    for (const auto& [key, unused] : rows) ids.push_back(key.substr(prefix.size()));
    if (rows.size() < 500) break;
    after = rows.back().first;
  }
  return ids;
}

absl::StatusOr<Page> ListTickets(eventstore::EventStore& store, const Query& q,
                                 const std::function<bool(const v1::Ticket&)>& keep) {
  const bool due = q.index == Index::kSlaDue;
  const std::string prefix = Prefix(q.index, q.value);
  // Keys at or before due_until sort below TimeKey(due_until + 1µs).
  const std::string due_limit =
      due && q.due_until ? TimeKey(*q.due_until + absl::Microseconds(1)) : "";
  Page page;
  ASSIGN_OR_RETURN(
      page.next_page_token,
      eventstore::WalkIndex(
          store, due ? kSlaDueProjection : kTicketIndexProjection, prefix,
          {.page_size = q.page_size,
           .page_token = q.page_token,
           .binding = q.binding,
           .max_examined = q.max_examined},
          [&](const std::string& key) -> absl::StatusOr<eventstore::WalkStep> {
            if (!due_limit.empty() && key >= due_limit) return eventstore::WalkStep::kStop;
            const std::string id = due ? key.substr(8) : key.substr(key.rfind('\0') + 1);
            ASSIGN_OR_RETURN(std::optional<v1::Ticket> t, LoadTicket(store, id));
            if (!t || !keep(*t)) return eventstore::WalkStep::kSkipped;
            page.tickets.push_back(*std::move(t));
            return eventstore::WalkStep::kKept;
          }));
  return page;
}

absl::Status ForEachFact(eventstore::EventStore& store, absl::Time from, absl::Time to,
                         const std::function<void(const KpiFact&)>& visit) {
  const std::string end = TimeKey(to);
  // Start just before the first key at `from`: ScanProjection is exclusive.
  std::string after = TimeKey(from - absl::Microseconds(1)) + std::string(1, '\xff');
  while (true) {
    ASSIGN_OR_RETURN(auto rows, store.ScanProjection(kKpiFactsProjection, "", after, 1000));
    for (const auto& [key, row] : rows) {
      if (key >= end) return absl::OkStatus();
      ASSIGN_OR_RETURN(KpiFact fact, DecodeFact(row));
      visit(fact);
    }
    if (rows.size() < 1000) return absl::OkStatus();
    after = rows.back().first;
  }
}

}  // namespace crm::ticket
