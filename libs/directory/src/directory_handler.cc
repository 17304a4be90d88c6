// DirectoryHandler, LoadDirectoryEntry, LoadClasses: the directory rows kept from
// crm.customer.v1.events and crm.classification.v1.events.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/common/status_macros.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/directory/customer_directory.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/dead_letters.h"

namespace crm::directory {
namespace {

using eventstore::ProjectionWrite;
namespace cv1 = ::crm::customer::v1;

// Keeps only what the directory needs of a contact.
cv1::Contact Slim(const cv1::Contact& c) {
  cv1::Contact out;
  out.set_contact_id(c.contact_id());
  out.mutable_personal()->set_name(c.personal().name());
  out.mutable_personal()->set_birthday(c.personal().birthday());
  return out;
}

absl::StatusOr<std::optional<cv1::Customer>> ParseRow(const std::optional<std::string>& row) {
  if (!row) return std::nullopt;
  cv1::Customer c;
  if (!c.ParseFromString(*row)) return absl::DataLossError("corrupt directory row");
  return c;
}

absl::Status HandleCustomerEvent(const cv1::CustomerEvent& e, const std::string& token,
                                 const messaging::BatchView& view,
                                 const DirectoryHandlerOptions& options,
                                 std::vector<ProjectionWrite>& out) {
  ASSIGN_OR_RETURN(std::optional<std::string> row, view.Get(kDirectoryProjection, e.customer_id()));
  ASSIGN_OR_RETURN(std::optional<cv1::Customer> existing, ParseRow(row));
  cv1::Customer c = existing.value_or(cv1::Customer());
  c.set_customer_id(e.customer_id());
  auto contact_index = [&](const std::string& id) {
    for (int i = 0; i < c.contacts_size(); ++i) {
      if (c.contacts(i).contact_id() == id) return i;
    }
    return -1;
  };
  DirectoryChange::Kind kind = DirectoryChange::kOther;
  switch (e.kind_case()) {
    case cv1::CustomerEvent::kRegistered:
      c.set_owner(e.registered().owner());
      c.set_region(e.registered().region());
      c.mutable_basic()->set_industry(e.registered().basic().industry());
      c.set_lifecycle(e.registered().lifecycle() == cv1::LIFECYCLE_UNSPECIFIED
                          ? cv1::LIFECYCLE_POTENTIAL
                          : e.registered().lifecycle());
      kind = DirectoryChange::kOwnerChanged;  // only when not the first event (below)
      break;
    case cv1::CustomerEvent::kUpdated: {
      // Only the industry is kept (campaign targeting); the paths say whether it changed.
      bool industry = false;
      for (const std::string& path : e.updated().paths()) {
        industry = industry || path == "basic" || path == "basic.industry";
      }
      if (!industry) return absl::OkStatus();
      c.mutable_basic()->set_industry(e.updated().basic().industry());
      break;
    }
    case cv1::CustomerEvent::kLifecycleChanged:
      c.set_lifecycle(e.lifecycle_changed().to());
      break;
    case cv1::CustomerEvent::kOwnerAssigned:
      c.set_owner(e.owner_assigned().change().to_owner());
      c.set_region(e.owner_assigned().change().to_region());
      kind = DirectoryChange::kOwnerChanged;
      break;
    case cv1::CustomerEvent::kContactAdded:
      *c.add_contacts() = Slim(e.contact_added().contact());
      break;
    case cv1::CustomerEvent::kContactUpdated: {
      const int i = contact_index(e.contact_updated().contact().contact_id());
      if (i >= 0) *c.mutable_contacts(i) = Slim(e.contact_updated().contact());
      break;
    }
    case cv1::CustomerEvent::kAccessGranted: {
      auto* grants = c.mutable_access_grants();
      for (int i = grants->size() - 1; i >= 0; --i) {
        if (grants->Get(i).subject() == e.access_granted().grant().subject()) {
          grants->DeleteSubrange(i, 1);
        }
      }
      *c.add_access_grants() = e.access_granted().grant();
      break;
    }
    case cv1::CustomerEvent::kAccessRevoked: {
      auto* grants = c.mutable_access_grants();
      for (int i = grants->size() - 1; i >= 0; --i) {
        if (grants->Get(i).subject() == e.access_revoked().subject()) grants->DeleteSubrange(i, 1);
      }
      break;
    }
    case cv1::CustomerEvent::kContactRemoved: {
      const int i = contact_index(e.contact_removed().contact_id());
      if (i >= 0) c.mutable_contacts()->DeleteSubrange(i, 1);
      break;
    }
    default:
      return absl::OkStatus();  // nothing the directory keeps
  }
  if (!existing.has_value()) kind = DirectoryChange::kNewCustomer;
  out.push_back(ProjectionWrite::Put(std::string(kDirectoryProjection), c.customer_id(),
                                     c.SerializeAsString()));
  if (options.on_change) options.on_change({kind, c.customer_id(), token}, out);
  return absl::OkStatus();
}

absl::Status HandleClassificationEvent(const classification::v1::ClassificationEvent& e,
                                       const std::string& token, const DirectoryHandlerOptions& options,
                                       std::vector<ProjectionWrite>& out) {
  if (!e.has_classified() || e.customer_id().empty()) return absl::OkStatus();
  out.push_back(ProjectionWrite::Put(std::string(kClassesProjection),
                                     absl::StrCat(e.customer_id(), "/", e.classified().scheme()),
                                     e.classified().new_class()));
  if (options.on_change) {
    options.on_change({DirectoryChange::kClassChanged, e.customer_id(), token}, out);
  }
  return absl::OkStatus();
}

}  // namespace

DirectoryHandler::DirectoryHandler(DirectoryHandlerOptions options)
    : options_(std::move(options)) {}

absl::Status DirectoryHandler::Handle(const messaging::ConsumedEvent& event,
                                      const messaging::BatchView& view,
                                      std::vector<ProjectionWrite>& out) {
  // A payload that does not parse, or of a kind this binary does not know, is a
  // permanent error: the runner dead-letters the record and goes on.
  if (event.topic == messaging::kCustomerTopic) {
    cv1::CustomerEvent e;
    RETURN_IF_ERROR(messaging::ParsePayload(event, e));
    return HandleCustomerEvent(e, messaging::EventToken(event), view, options_, out);
  }
  if (event.topic == messaging::kClassificationTopic) {
    classification::v1::ClassificationEvent e;
    RETURN_IF_ERROR(messaging::ParsePayload(event, e));
    return HandleClassificationEvent(e, messaging::EventToken(event), options_, out);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<cv1::Customer>> LoadDirectoryEntry(eventstore::EventStore& store,
                                                                std::string_view customer_id) {
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   store.GetProjection(kDirectoryProjection, customer_id));
  return ParseRow(row);
}

absl::Status ForEachDirectoryEntry(
    eventstore::EventStore& store, const std::function<absl::Status(const cv1::Customer&)>& visit) {
  constexpr size_t kBatch = 500;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(auto rows, store.ScanProjection(kDirectoryProjection, "", after, kBatch));
    for (const auto& [key, value] : rows) {
      after = key;
      cv1::Customer c;
      if (!c.ParseFromString(value)) return absl::DataLossError("corrupt directory row");
      RETURN_IF_ERROR(visit(c));
    }
    if (rows.size() < kBatch) return absl::OkStatus();
  }
}

absl::StatusOr<std::map<int, std::string>> LoadClasses(eventstore::EventStore& store,
                                                       std::string_view customer_id) {
  ASSIGN_OR_RETURN(auto rows,
                   store.ScanProjection(kClassesProjection,
                                        absl::StrCat(std::string(customer_id), "/"), "", 16));
  std::map<int, std::string> out;
  for (const auto& [key, value] : rows) {
    int scheme = 0;
    if (absl::SimpleAtoi(key.substr(key.rfind('/') + 1), &scheme)) out[scheme] = value;
  }
  return out;
}

}  // namespace crm::directory
