#include "crm/interaction/projection/churn_projection.h"

#include "absl/strings/str_cat.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/eventstore/index_walk.h"

namespace crm::interaction {
namespace {

using eventstore::ProjectionWrite;

const std::string kSep(1, '\0');

bool IsOpen(const v1::ChurnCase& c) { return c.status() == v1::CHURN_CASE_STATUS_OPEN; }

std::string Prefix(ChurnIndex index, std::string_view value) {
  switch (index) {
    case ChurnIndex::kCustomer:
      return absl::StrCat("c/", std::string(value), kSep);
    case ChurnIndex::kOwner:
      return absl::StrCat("o/", std::string(value), kSep);
    case ChurnIndex::kRegion:
      return absl::StrCat("r/", std::string(value), kSep);
    case ChurnIndex::kAll:
      return absl::StrCat("a/", kSep);
  }
  return "";
}

std::vector<std::string> IndexKeys(const v1::ChurnCase& c) {
  if (c.case_id().empty()) return {};
  const std::string tail = absl::StrCat(
      eventstore::TimeKey(FromProtoTimestamp(c.opened_at()), /*newest_first=*/true), kSep,
      c.case_id());
  return {Prefix(ChurnIndex::kCustomer, c.customer_id()) + tail,
          Prefix(ChurnIndex::kOwner, c.owner()) + tail,
          Prefix(ChurnIndex::kRegion, c.region()) + tail, Prefix(ChurnIndex::kAll, "") + tail};
}

std::vector<std::string> DueKeys(const v1::ChurnCase& c) {
  if (!IsOpen(c) || c.review_date().empty() || c.review_overdue_reported()) return {};
  return {absl::StrCat(c.review_date(), kSep, c.case_id())};
}

std::vector<std::string> LostKeys(const v1::ChurnCase& c) {
  if (c.status() != v1::CHURN_CASE_STATUS_LOST || c.has_win_back()) return {};
  return {absl::StrCat(c.customer_id(), kSep, c.case_id())};
}

// The case id at the end of an index key (ids hold no NUL).
std::string CaseIdOf(const std::string& key) { return key.substr(key.rfind('\0') + 1); }

}  // namespace

std::vector<std::string> ChurnCaseProjections() {
  return {std::string(kChurnCasesProjection), std::string(kChurnOpenProjection),
          std::string(kChurnIndexProjection), std::string(kChurnReviewDueProjection),
          std::string(kChurnLostProjection)};
}

std::string ChurnCaseStreamFor(std::string_view case_id) {
  return absl::StrCat("churn-case-", std::string(case_id));
}

std::vector<ProjectionWrite> ChurnCaseRowWrites(const v1::ChurnCase& before,
                                                const v1::ChurnCase& after) {
  std::vector<ProjectionWrite> writes;
  writes.push_back(ProjectionWrite::Put(std::string(kChurnCasesProjection), after.case_id(),
                                        after.SerializeAsString()));
  if (IsOpen(after)) {
    if (!IsOpen(before)) {
      writes.push_back(ProjectionWrite::Put(std::string(kChurnOpenProjection),
                                            after.customer_id(), after.case_id()));
    }
  } else if (IsOpen(before)) {
    writes.push_back(
        ProjectionWrite::Delete(std::string(kChurnOpenProjection), before.customer_id()));
  }
  eventstore::IndexKeyWrites(kChurnIndexProjection, IndexKeys(before), IndexKeys(after), writes);
  eventstore::IndexKeyWrites(kChurnReviewDueProjection, DueKeys(before), DueKeys(after), writes);
  eventstore::IndexKeyWrites(kChurnLostProjection, LostKeys(before), LostKeys(after), writes);
  return writes;
}

absl::StatusOr<std::optional<v1::ChurnCase>> LoadChurnCase(eventstore::EventStore& store,
                                                           std::string_view case_id) {
  if (case_id.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   store.GetProjection(kChurnCasesProjection, case_id));
  if (!row) return std::nullopt;
  v1::ChurnCase c;
  if (!c.ParseFromString(*row)) return absl::DataLossError("corrupt churn case row");
  return c;
}

absl::StatusOr<std::optional<std::string>> OpenCaseOf(eventstore::EventStore& store,
                                                      std::string_view customer_id) {
  if (customer_id.empty()) return std::nullopt;
  return store.GetProjection(kChurnOpenProjection, customer_id);
}

absl::StatusOr<std::vector<std::string>> LostCasesOf(eventstore::EventStore& store,
                                                     std::string_view customer_id) {
  std::vector<std::string> ids;
  if (customer_id.empty()) return ids;
  const std::string prefix = absl::StrCat(std::string(customer_id), kSep);
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto rows, store.ScanProjection(kChurnLostProjection, prefix, after, 500));
    for (const auto& [key, unused] : rows) ids.push_back(key.substr(prefix.size()));
    if (rows.size() < 500) return ids;
    after = rows.back().first;
  }
}

absl::StatusOr<ChurnCasePage> ListChurnCases(
    eventstore::EventStore& store, const ChurnCaseQuery& q,
    const std::function<bool(const v1::ChurnCase&)>& keep) {
  ChurnCasePage page;
  ASSIGN_OR_RETURN(
      page.next_page_token,
      eventstore::WalkIndex(
          store, kChurnIndexProjection, Prefix(q.index, q.value),
          {.page_size = q.page_size,
           .page_token = q.page_token,
           .binding = q.binding,
           .max_examined = q.max_examined},
          [&](const std::string& key) -> absl::StatusOr<eventstore::WalkStep> {
            ASSIGN_OR_RETURN(std::optional<v1::ChurnCase> c, LoadChurnCase(store, CaseIdOf(key)));
            if (!c || !keep(*c)) return eventstore::WalkStep::kSkipped;
            page.cases.push_back(*std::move(c));
            return eventstore::WalkStep::kKept;
          }));
  return page;
}

absl::Status ForEachChurnCase(eventstore::EventStore& store,
                              const std::function<absl::Status(const v1::ChurnCase&)>& visit) {
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto rows, store.ScanProjection(kChurnCasesProjection, "", after, 2000));
    if (rows.empty()) return absl::OkStatus();
    v1::ChurnCase c;
    for (const auto& [key, value] : rows) {
      if (!c.ParseFromString(value)) return absl::DataLossError("corrupt churn case row");
      RETURN_IF_ERROR(visit(c));
    }
    after = rows.back().first;
  }
}

absl::StatusOr<std::vector<std::string>> CasesReviewDueBefore(eventstore::EventStore& store,
                                                              const std::string& day,
                                                              size_t limit) {
  ASSIGN_OR_RETURN(auto rows, store.ScanProjection(kChurnReviewDueProjection, "", "", limit));
  std::vector<std::string> out;
  for (const auto& [key, unused] : rows) {
    if (key >= day) break;  // keys start with the review date
    const size_t sep = key.find('\0');
    if (sep == std::string::npos) return absl::DataLossError("corrupt churn_review_due key");
    out.push_back(key.substr(sep + 1));
  }
  return out;
}

}  // namespace crm::interaction
