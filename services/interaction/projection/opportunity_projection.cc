#include "crm/interaction/projection/opportunity_projection.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crm/common/status_macros.h"
#include "crm/eventstore/index_walk.h"

namespace crm::interaction {
namespace {

using eventstore::ProjectionWrite;

const std::string kSep(1, '\0');

std::string Prefix(OpportunityIndex index, std::string_view value) {
  switch (index) {
    case OpportunityIndex::kCustomer:
      return absl::StrCat("c/", std::string(value), kSep);
    case OpportunityIndex::kOwner:
      return absl::StrCat("o/", std::string(value), kSep);
    case OpportunityIndex::kRegion:
      return absl::StrCat("r/", std::string(value), kSep);
    case OpportunityIndex::kAll:
      return absl::StrCat("a/", kSep);
  }
  return "";
}

bool IsOpen(const v1::Opportunity& o) {
  return o.stage() >= v1::OPPORTUNITY_STAGE_QUALIFICATION &&
         o.stage() <= v1::OPPORTUNITY_STAGE_NEGOTIATION;
}

std::vector<std::string> IndexKeys(const v1::Opportunity& o) {
  if (o.opportunity_id().empty()) return {};
  const std::string tail = absl::StrCat(o.details().expected_close_date(), kSep, o.opportunity_id());
  return {Prefix(OpportunityIndex::kCustomer, o.customer_id()) + tail,
          Prefix(OpportunityIndex::kOwner, o.owner()) + tail,
          Prefix(OpportunityIndex::kRegion, o.region()) + tail,
          Prefix(OpportunityIndex::kAll, "") + tail};
}

std::vector<std::string> DueKeys(const v1::Opportunity& o) {
  std::vector<std::string> keys;
  if (!IsOpen(o)) return keys;
  for (const v1::PlanStep& s : o.plan()) {
    if (s.status() == v1::PLAN_STEP_STATUS_PLANNED && !s.overdue_reported()) {
      keys.push_back(absl::StrCat(s.planned_date(), kSep, o.opportunity_id(), kSep, s.step_id()));
    }
  }
  return keys;
}

std::vector<std::string> TodoKeys(const v1::Opportunity& o) {
  std::vector<std::string> keys;
  if (!IsOpen(o)) return keys;
  for (const v1::PlanStep& s : o.plan()) {
    if (s.status() == v1::PLAN_STEP_STATUS_PLANNED) {
      keys.push_back(absl::StrCat(s.responsible(), kSep, s.planned_date(), kSep,
                                  o.opportunity_id(), kSep, s.step_id()));
    }
  }
  return keys;
}

std::vector<std::string> CampaignKeys(const v1::Opportunity& o) {
  if (o.opportunity_id().empty() || o.details().source() != v1::OPPORTUNITY_SOURCE_CAMPAIGN ||
      o.details().campaign_id().empty()) {
    return {};
  }
  return {absl::StrCat(o.details().campaign_id(), kSep, o.opportunity_id())};
}

// The NUL-separated parts of an index key.
std::vector<std::string> Parts(const std::string& key) { return absl::StrSplit(key, '\0'); }

}  // namespace

std::string OpportunityStreamFor(std::string_view opportunity_id) {
  return absl::StrCat("opportunity-", std::string(opportunity_id));
}

std::vector<ProjectionWrite> OpportunityRowWrites(const v1::Opportunity& before,
                                                  const v1::Opportunity& after) {
  std::vector<ProjectionWrite> writes;
  writes.push_back(ProjectionWrite::Put(std::string(kOpportunitiesProjection),
                                        after.opportunity_id(), after.SerializeAsString()));
  eventstore::IndexKeyWrites(kOpportunityIndexProjection, IndexKeys(before), IndexKeys(after),
                             writes);
  eventstore::IndexKeyWrites(kPlanDueProjection, DueKeys(before), DueKeys(after), writes);
  eventstore::IndexKeyWrites(kPlanTodoProjection, TodoKeys(before), TodoKeys(after), writes);
  // Never removed: a report as of a past time counts an opportunity whose
  // source was the campaign then, even when it names another one now.
  std::vector<std::string> named = CampaignKeys(before);
  for (std::string& key : CampaignKeys(after)) named.push_back(std::move(key));
  eventstore::IndexKeyWrites(kCampaignOpportunitiesProjection, CampaignKeys(before), named,
                             writes);
  return writes;
}

absl::StatusOr<std::optional<v1::Opportunity>> LoadOpportunity(eventstore::EventStore& store,
                                                               std::string_view opportunity_id) {
  if (opportunity_id.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   store.GetProjection(kOpportunitiesProjection, opportunity_id));
  if (!row) return std::nullopt;
  v1::Opportunity o;
  if (!o.ParseFromString(*row)) return absl::DataLossError("corrupt opportunity row");
  return o;
}

absl::StatusOr<OpportunityPage> ListOpportunities(
    eventstore::EventStore& store, const OpportunityQuery& q,
    const std::function<bool(const v1::Opportunity&)>& keep) {
  OpportunityPage page;
  ASSIGN_OR_RETURN(
      page.next_page_token,
      eventstore::WalkIndex(
          store, kOpportunityIndexProjection, Prefix(q.index, q.value),
          {.page_size = q.page_size,
           .page_token = q.page_token,
           .binding = q.binding,
           .max_examined = q.max_examined},
          [&](const std::string& key) -> absl::StatusOr<eventstore::WalkStep> {
            ASSIGN_OR_RETURN(std::optional<v1::Opportunity> o,
                             LoadOpportunity(store, key.substr(key.rfind('\0') + 1)));
            if (!o || !keep(*o)) return eventstore::WalkStep::kSkipped;
            page.opportunities.push_back(*std::move(o));
            return eventstore::WalkStep::kKept;
          }));
  return page;
}

absl::Status ForEachOpportunity(eventstore::EventStore& store,
                                const std::function<absl::Status(const v1::Opportunity&)>& visit) {
  // Rows with their values, a page at a time (no second lookup per row).
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto rows, store.ScanProjection(kOpportunitiesProjection, "", after, 2000));
    if (rows.empty()) return absl::OkStatus();
    v1::Opportunity o;
    for (const auto& [key, value] : rows) {
      if (!o.ParseFromString(value)) return absl::DataLossError("corrupt opportunity row");
      RETURN_IF_ERROR(visit(o));
    }
    after = rows.back().first;
  }
}

absl::Status ForEachCampaignOpportunity(
    eventstore::EventStore& store, const std::string& campaign_id,
    const std::function<absl::Status(const v1::Opportunity&)>& visit) {
  const std::string prefix = campaign_id + kSep;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto rows,
                     store.ScanProjection(kCampaignOpportunitiesProjection, prefix, after, 500));
    if (rows.empty()) return absl::OkStatus();
    for (const auto& [key, unused] : rows) {
      ASSIGN_OR_RETURN(std::optional<v1::Opportunity> o,
                       LoadOpportunity(store, key.substr(prefix.size())));
      if (o) RETURN_IF_ERROR(visit(*o));
    }
    after = rows.back().first;
  }
}

absl::StatusOr<std::vector<StepRef>> StepsPlannedBefore(eventstore::EventStore& store,
                                                        const std::string& day, size_t limit) {
  ASSIGN_OR_RETURN(auto rows, store.ScanProjection(kPlanDueProjection, "", "", limit));
  std::vector<StepRef> out;
  for (const auto& [key, unused] : rows) {
    if (key >= day) break;  // keys start with the planned date
    const std::vector<std::string> p = Parts(key);
    if (p.size() != 3) return absl::DataLossError("corrupt plan_due key");
    out.push_back({p[1], p[2], p[0]});
  }
  return out;
}

absl::StatusOr<TodoPage> ListTodo(eventstore::EventStore& store, const std::string& responsible,
                                  const std::string& day, size_t page_size,
                                  const std::string& page_token, const std::string& binding,
                                  const std::function<bool(const std::string&)>& keep) {
  TodoPage page;
  const std::string limit = absl::StrCat(responsible, kSep, day);
  ASSIGN_OR_RETURN(
      page.next_page_token,
      eventstore::WalkIndex(
          store, kPlanTodoProjection, absl::StrCat(responsible, kSep),
          {.page_size = page_size, .page_token = page_token, .binding = binding},
          [&](const std::string& key) -> absl::StatusOr<eventstore::WalkStep> {
            if (key >= limit) return eventstore::WalkStep::kStop;
            const std::vector<std::string> p = Parts(key);
            if (p.size() != 4) return absl::DataLossError("corrupt plan_todo key");
            if (!keep(p[2])) return eventstore::WalkStep::kSkipped;
            page.steps.push_back({p[2], p[3], p[1]});
            return eventstore::WalkStep::kKept;
          }));
  return page;
}

}  // namespace crm::interaction
