#include "crm/classification/projection/classification_projection.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "crm/common/status_macros.h"
#include "crm/eventstore/index_walk.h"

namespace crm::classification {
namespace {

using eventstore::ProjectionWrite;

const std::string kSep(1, '\0');

std::string Prefix(RiskIndex index, std::string_view value) {
  switch (index) {
    case RiskIndex::kAll:
      return "a/" + kSep;
    case RiskIndex::kRegion:
      return absl::StrCat("r/", std::string(value), kSep);
    case RiskIndex::kOwner:
      return absl::StrCat("o/", std::string(value), kSep);
  }
  return "";
}

std::vector<std::string> RiskKeys(const v1::Classification& c) {
  if (c.customer_id().empty() || !c.churn().at_risk()) return {};
  return {Prefix(RiskIndex::kAll, "") + c.customer_id(),
          Prefix(RiskIndex::kRegion, c.region()) + c.customer_id(),
          Prefix(RiskIndex::kOwner, c.owner()) + c.customer_id()};
}

}  // namespace

std::string StreamFor(std::string_view customer_id) {
  return absl::StrCat("classification-", std::string(customer_id));
}

std::vector<ProjectionWrite> RowWrites(const v1::Classification& before,
                                       const v1::Classification& after) {
  std::vector<ProjectionWrite> writes;
  writes.push_back(ProjectionWrite::Put(std::string(kClassificationsProjection), after.customer_id(),
                                        after.SerializeAsString()));
  eventstore::IndexKeyWrites(kChurnRiskIndexProjection, RiskKeys(before), RiskKeys(after), writes);
  return writes;
}

absl::StatusOr<std::optional<v1::Classification>> LoadClassification(eventstore::EventStore& store,
                                                                      std::string_view customer_id) {
  if (customer_id.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   store.GetProjection(kClassificationsProjection, customer_id));
  if (!row) return std::nullopt;
  v1::Classification c;
  if (!c.ParseFromString(*row)) return absl::DataLossError("corrupt classification row");
  return c;
}

absl::StatusOr<RiskPage> ListChurnRisks(eventstore::EventStore& store, RiskIndex index,
                                        const std::string& value, size_t page_size,
                                        const std::string& page_token, const std::string& binding,
                                        const std::function<bool(const v1::Classification&)>& keep) {
  const std::string prefix = Prefix(index, value);
  RiskPage page;
  ASSIGN_OR_RETURN(
      page.next_page_token,
      eventstore::WalkIndex(
          store, kChurnRiskIndexProjection, prefix,
          {.page_size = page_size, .page_token = page_token, .binding = binding},
          [&](const std::string& key) -> absl::StatusOr<eventstore::WalkStep> {
            ASSIGN_OR_RETURN(std::optional<v1::Classification> c,
                             LoadClassification(store, key.substr(prefix.size())));
            if (!c || !keep(*c)) return eventstore::WalkStep::kSkipped;
            page.customers.push_back(*std::move(c));
            return eventstore::WalkStep::kKept;
          }));
  return page;
}

}  // namespace crm::classification
