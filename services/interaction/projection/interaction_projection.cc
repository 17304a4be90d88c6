#include "crm/interaction/projection/interaction_projection.h"

#include "absl/strings/str_cat.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/eventstore/index_walk.h"

namespace crm::interaction {
namespace {

using eventstore::ProjectionWrite;
using eventstore::TimeKey;

std::string Prefix(Index index, std::string_view value) {
  switch (index) {
    case Index::kTimeline:
      return absl::StrCat("c/", std::string(value), std::string(1, '\0'));
    case Index::kCustomerNewest:
      return absl::StrCat("n/", std::string(value), std::string(1, '\0'));
    case Index::kOwner:
      return absl::StrCat("o/", std::string(value), std::string(1, '\0'));
    case Index::kRegion:
      return absl::StrCat("r/", std::string(value), std::string(1, '\0'));
    case Index::kAll:
      return std::string("a/\0", 3);
    case Index::kDue:
      return std::string("d/\0", 3);
  }
  return "";
}

std::vector<std::string> IndexKeys(const v1::Interaction& i) {
  if (i.interaction_id().empty()) return {};
  const absl::Time at = FromProtoTimestamp(i.occurs_at());
  const std::string id = std::string(1, '\0') + i.interaction_id();
  std::vector<std::string> keys = {
      Prefix(Index::kTimeline, i.customer_id()) + TimeKey(at, false) + id,
      Prefix(Index::kCustomerNewest, i.customer_id()) + TimeKey(at, true) + id,
      Prefix(Index::kOwner, i.owner()) + TimeKey(at, true) + id,
      Prefix(Index::kRegion, i.region()) + TimeKey(at, true) + id,
      Prefix(Index::kAll, "") + TimeKey(at, true) + id};
  if (i.type() == v1::INTERACTION_TYPE_REVISIT &&
      i.revisit().status() == v1::REVISIT_STATUS_PLANNED) {
    keys.push_back(Prefix(Index::kDue, "") + TimeKey(FromProtoTimestamp(i.revisit().due_at()), false) +
                   id);
  }
  return keys;
}

bool IsOpenRevisit(const v1::Interaction& i) {
  return i.type() == v1::INTERACTION_TYPE_REVISIT &&
         i.revisit().status() == v1::REVISIT_STATUS_PLANNED;
}

}  // namespace

std::string StreamFor(std::string_view interaction_id) {
  return absl::StrCat("interaction-", std::string(interaction_id));
}

std::vector<ProjectionWrite> RowWrites(const v1::Interaction& before, const v1::Interaction& after) {
  std::vector<ProjectionWrite> writes;
  writes.push_back(ProjectionWrite::Put(std::string(kInteractionsProjection), after.interaction_id(),
                                        after.SerializeAsString()));
  eventstore::IndexKeyWrites(kInteractionIndexProjection, IndexKeys(before), IndexKeys(after),
                             writes);
  const std::string open(kOpenRevisitProjection);
  const std::string open_key = absl::StrCat(after.customer_id(), "/", after.interaction_id());
  if (IsOpenRevisit(after) && !IsOpenRevisit(before)) {
    writes.push_back(ProjectionWrite::Put(open, open_key, ""));
  } else if (IsOpenRevisit(before) && !IsOpenRevisit(after)) {
    writes.push_back(ProjectionWrite::Delete(open, open_key));
  }
  return writes;
}

absl::StatusOr<std::optional<v1::Interaction>> LoadInteraction(eventstore::EventStore& store,
                                                               std::string_view interaction_id) {
  if (interaction_id.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   store.GetProjection(kInteractionsProjection, interaction_id));
  if (!row) return std::nullopt;
  v1::Interaction i;
  if (!i.ParseFromString(*row)) return absl::DataLossError("corrupt interaction row");
  return i;
}

absl::StatusOr<std::vector<v1::Interaction>> LoadOpenRevisits(eventstore::EventStore& store,
                                                              std::string_view customer_id) {
  ASSIGN_OR_RETURN(auto rows, store.ScanProjection(kOpenRevisitProjection,
                                                   absl::StrCat(std::string(customer_id), "/"),
                                                   "", 16));
  std::vector<v1::Interaction> out;
  for (const auto& [key, unused] : rows) {
    ASSIGN_OR_RETURN(std::optional<v1::Interaction> i,
                     LoadInteraction(store, key.substr(key.rfind('/') + 1)));
    if (i) out.push_back(*std::move(i));
  }
  return out;
}

absl::StatusOr<Page> ListInteractions(eventstore::EventStore& store, const Query& q,
                                      const std::function<bool(const v1::Interaction&)>& keep) {
  const std::string prefix = Prefix(q.index, q.value);
  const std::string due_limit =
      q.due_until ? prefix + TimeKey(*q.due_until, false) + std::string(1, '\x01') : "";
  Page page;
  ASSIGN_OR_RETURN(
      page.next_page_token,
      eventstore::WalkIndex(
          store, kInteractionIndexProjection, prefix,
          {.page_size = q.page_size,
           .page_token = q.page_token,
           .binding = q.binding,
           .max_examined = q.max_examined},
          [&](const std::string& key) -> absl::StatusOr<eventstore::WalkStep> {
            if (!due_limit.empty() && key > due_limit) return eventstore::WalkStep::kStop;
            ASSIGN_OR_RETURN(std::optional<v1::Interaction> i,
                             LoadInteraction(store, key.substr(key.rfind('\0') + 1)));
            if (!i || !keep(*i)) return eventstore::WalkStep::kSkipped;
            page.interactions.push_back(*std::move(i));
            return eventstore::WalkStep::kKept;
          }));
  return page;
}

}  // namespace crm::interaction
