// The classification service's read model, committed with the events that change
// it: the current Classification per customer, the churn-risk index (customers at
// risk by region, by owner, all), and the current rule set.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/classification/v1/classification.pb.h"
#include "crm/eventstore/event_store.h"

namespace crm::classification {

inline constexpr std::string_view kClassificationsProjection = "classifications";
inline constexpr std::string_view kChurnRiskIndexProjection = "churn_risk_index";
// "current" -> serialized RuleSet.
inline constexpr std::string_view kRuleSetProjection = "rule_set";
inline constexpr std::string_view kRuleSetStream = "rule-sets";

std::string StreamFor(std::string_view customer_id);

// Rows to write when a customer's classification goes from `before` to `after`.
std::vector<eventstore::ProjectionWrite> RowWrites(const v1::Classification& before,
                                                   const v1::Classification& after);

absl::StatusOr<std::optional<v1::Classification>> LoadClassification(eventstore::EventStore& store,
                                                                      std::string_view customer_id);

enum class RiskIndex { kAll, kRegion, kOwner };

struct RiskPage {
  std::vector<v1::Classification> customers;
  std::string next_page_token;
};

// Customers at churn risk, by customer id, from the index chosen. `binding`:
// what the token is bound to (command::PageBinding).
absl::StatusOr<RiskPage> ListChurnRisks(eventstore::EventStore& store, RiskIndex index,
                                        const std::string& value, size_t page_size,
                                        const std::string& page_token, const std::string& binding,
                                        const std::function<bool(const v1::Classification&)>& keep);

}  // namespace crm::classification
