#include "crm/interaction/app/app_parts.h"

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "crm/auth/access.h"
#include "crm/common/field_errors.h"
#include "crm/common/status_macros.h"
#include "crm/domain/validation.h"
#include "crm/interaction/domain/interaction_aggregate.h"
#include "crm/interaction/projection/interaction_projection.h"

namespace crm::interaction {

const auth::Principal& ServicePrincipal() {
  static const auth::Principal* const kService =
      new auth::Principal{.subject = "crm-interaction", .roles = {auth::Role::kService}};
  return *kService;
}

AppParts::AppParts(command::Pipeline& pipeline, directory::CustomerLookup* customers)
    : store(pipeline.store()), pipeline_(pipeline), customers_(customers) {}

absl::Time AppParts::Now() const { return pipeline_.clock().Now(); }

absl::StatusOr<domain::CustomerRef> AppParts::VisibleCustomer(
    const auth::Principal& who, const std::string& customer_id) const {
  return directory::VisibleCustomer(store, customers_, who, customer_id, Now());
}

std::function<bool(const std::string&)> AppParts::CustomerFilter(const auth::Principal& who) const {
  if (auth::ScopeFor(who).all) return [](const std::string&) { return true; };
  auto cache = std::make_shared<directory::VisibilityCache>(store, nullptr, who, Now());
  return [cache](const std::string& customer_id) { return cache->Visible(customer_id); };
}

absl::Status AppParts::CheckCarriedOutBy(std::string_view field, const std::string& interaction_id,
                                         const std::string& customer_id) const {
  if (interaction_id.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(domain::ValidateId(field, interaction_id, domain::Presence::kRequired));
  ASSIGN_OR_RETURN(std::optional<v1::Interaction> i, LoadInteraction(store, interaction_id));
  if (!i || i->customer_id() != customer_id) {
    return FieldNotFound(
        field, absl::StrCat("no interaction ", interaction_id, " of customer ", customer_id));
  }
  if (i->type() != v1::INTERACTION_TYPE_VISIT && i->type() != v1::INTERACTION_TYPE_FOLLOW_UP) {
    return InvalidField(field, absl::StrCat("interaction ", interaction_id, " is a ",
                                            TypeName(i->type()), ", not a VISIT or FOLLOW_UP"));
  }
  if (i->type() == v1::INTERACTION_TYPE_VISIT &&
      i->visit().status() != v1::VISIT_STATUS_COMPLETED) {
    return RefusedField(
        field, absl::StrCat("visit ", interaction_id, " is not recorded yet (RecordVisit first)"));
  }
  return absl::OkStatus();
}

}  // namespace crm::interaction
