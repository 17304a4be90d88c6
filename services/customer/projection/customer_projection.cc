#include "crm/customer/projection/customer_projection.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/customer/domain/customer_aggregate.h"
#include "crm/eventstore/index_walk.h"

namespace crm::customer {
namespace {

using eventstore::ProjectionWrite;

// Index keys: "<kind>/<value>\0<normalized name>\0<id>"; for kAll "a/\0<name>\0<id>".
// Names sort before ids, so every index lists in (name, id) order.
std::string IndexPrefix(ListQuery::Index index, std::string_view value) {
  std::string out;
  switch (index) {
    case ListQuery::Index::kAll:
      out = "a/";
      break;
    case ListQuery::Index::kOwner:
      out = "o/";
      out.append(value);
      break;
    case ListQuery::Index::kRegion:
      out = "r/";
      out.append(value);
      break;
  }
  out.push_back('\0');
  return out;
}

std::string IndexKey(ListQuery::Index index, std::string_view value, const v1::Customer& c) {
  std::string key = IndexPrefix(index, value);
  key.append(NormalizeName(c.basic().name()));
  key.push_back('\0');
  key.append(c.customer_id());
  return key;
}

std::vector<std::string> IndexKeys(const v1::Customer& c) {
  if (c.customer_id().empty()) return {};
  return {IndexKey(ListQuery::Index::kAll, "", c), IndexKey(ListQuery::Index::kOwner, c.owner(), c),
          IndexKey(ListQuery::Index::kRegion, c.region(), c)};
}

std::vector<std::string> DuplicateKeys(const v1::Customer& c) {
  std::vector<std::string> out;
  if (c.customer_id().empty()) return out;
  if (!c.basic().name().empty()) out.push_back("name/" + NormalizeName(c.basic().name()));
  if (!c.basic().registration_number().empty()) {
    out.push_back("reg/" + NormalizeRegistrationNumber(c.basic().registration_number()));
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::string StreamFor(std::string_view customer_id) {
  return absl::StrCat("customer-", std::string(customer_id));
}

std::vector<ProjectionWrite> RowWrites(const v1::Customer& before, const v1::Customer& after) {
  std::vector<ProjectionWrite> writes;
  const std::string projection(kCustomersProjection);
  v1::Customer row = after;
  row.clear_customer_class();  // kept in kClassProjection
  writes.push_back(ProjectionWrite::Put(projection, after.customer_id(), row.SerializeAsString()));

  eventstore::IndexKeyWrites(kIndexProjection, IndexKeys(before), IndexKeys(after), writes);

  const std::string dup(kDuplicateProjection);
  const std::vector<std::string> old_dup = DuplicateKeys(before), new_dup = DuplicateKeys(after);
  for (const std::string& k : new_dup) {
    if (!Contains(old_dup, k)) writes.push_back(ProjectionWrite::Put(dup, k, after.customer_id()));
  }
  // Keys the customer no longer has are left to whichever customer wrote them last;
  // FindDuplicate re-checks the row, so a stale key never reports a false match.
  return writes;
}

std::vector<std::string> CustomerRebuildTargets() {
  return {std::string(kCustomersProjection), std::string(kIndexProjection),
          std::string(kDuplicateProjection), std::string(kAccessRequestsProjection),
          std::string(kAccessRequestIndexProjection)};
}

std::string AccessRequestIndexPrefix(v1::AccessRequestStatus status) {
  if (status == v1::ACCESS_REQUEST_STATUS_UNSPECIFIED) return "";
  return absl::StrCat(static_cast<int>(status) < 10 ? "0" : "", static_cast<int>(status), "/");
}

std::vector<ProjectionWrite> AccessRequestWrites(const std::vector<v1::CustomerEvent>& events) {
  std::vector<ProjectionWrite> writes;
  const std::string rows(kAccessRequestsProjection), index(kAccessRequestIndexProjection);
  for (const v1::CustomerEvent& e : events) {
    const v1::AccessRequest* r = e.has_access_requested()         ? &e.access_requested().request()
                                 : e.has_access_request_approved() ? &e.access_request_approved().request()
                                 : e.has_access_request_denied()   ? &e.access_request_denied().request()
                                                                   : nullptr;
    if (r == nullptr || r->request_id().empty()) continue;
    writes.push_back(ProjectionWrite::Put(rows, r->request_id(), r->SerializeAsString()));
    if (!e.has_access_requested()) {  // a decision: the request was pending
      writes.push_back(ProjectionWrite::Delete(
          index, AccessRequestIndexPrefix(v1::ACCESS_REQUEST_STATUS_PENDING) + r->request_id()));
    }
    writes.push_back(
        ProjectionWrite::Put(index, AccessRequestIndexPrefix(r->status()) + r->request_id(), ""));
  }
  return writes;
}

absl::StatusOr<std::optional<v1::AccessRequest>> LoadAccessRequest(eventstore::EventStore& store,
                                                                   std::string_view request_id) {
  if (request_id.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   store.GetProjection(kAccessRequestsProjection, request_id));
  if (!row) return std::nullopt;
  v1::AccessRequest r;
  if (!r.ParseFromString(*row)) return absl::DataLossError("corrupt access request row");
  return r;
}

absl::StatusOr<std::optional<v1::Customer>> LoadCustomer(eventstore::EventStore& store,
                                                         std::string_view customer_id) {
  if (customer_id.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   store.GetProjection(kCustomersProjection, customer_id));
  if (!row) return std::nullopt;
  v1::Customer c;
  if (!c.ParseFromString(*row)) return absl::DataLossError("corrupt customer row");
  ASSIGN_OR_RETURN(std::optional<std::string> customer_class,
                   store.GetProjection(kClassProjection, customer_id));
  if (customer_class) c.set_customer_class(*customer_class);
  return c;
}

eventstore::ProjectionWrite ClassWrite(std::string_view customer_id,
                                       std::string_view customer_class) {
  return ProjectionWrite::Put(std::string(kClassProjection), std::string(customer_id),
                              std::string(customer_class));
}

absl::StatusOr<std::optional<DuplicateMatch>> FindDuplicate(eventstore::EventStore& store,
                                                            const v1::BasicData& basic) {
  struct Probe {
    std::string key, matched_on;
  };
  std::vector<Probe> probes;
  if (!basic.name().empty()) probes.push_back({"name/" + NormalizeName(basic.name()), "name"});
  if (!basic.registration_number().empty()) {
    probes.push_back({"reg/" + NormalizeRegistrationNumber(basic.registration_number()),
                      "registration_number"});
  }
  for (const Probe& p : probes) {
    ASSIGN_OR_RETURN(std::optional<std::string> id, store.GetProjection(kDuplicateProjection, p.key));
    if (!id) continue;
    ASSIGN_OR_RETURN(std::optional<v1::Customer> c, LoadCustomer(store, *id));
    if (!c) continue;
    const bool still_matches =
        p.matched_on == "name"
            ? NormalizeName(c->basic().name()) == NormalizeName(basic.name())
            : NormalizeRegistrationNumber(c->basic().registration_number()) ==
                  NormalizeRegistrationNumber(basic.registration_number());
    if (still_matches) return DuplicateMatch{*id, p.matched_on};
  }
  return std::nullopt;
}

absl::StatusOr<ListPage> ListCustomers(eventstore::EventStore& store, const ListQuery& q,
                                       const std::function<bool(const v1::Customer&)>& visible) {
  const std::string prefix =
      IndexPrefix(q.index, q.index_value) + (q.name_prefix.empty() ? "" : NormalizeName(q.name_prefix));
  ListPage page;
  ASSIGN_OR_RETURN(
      page.next_page_token,
      eventstore::WalkIndex(
          store, kIndexProjection, prefix,
          {.page_size = q.page_size,
           .page_token = q.page_token,
           .binding = q.binding,
           .max_examined = q.max_examined},
          [&](const std::string& key) -> absl::StatusOr<eventstore::WalkStep> {
            ASSIGN_OR_RETURN(std::optional<v1::Customer> c,
                             LoadCustomer(store, key.substr(key.rfind('\0') + 1)));
            if (!c || (!q.owner.empty() && c->owner() != q.owner) ||
                (!q.region.empty() && c->region() != q.region) ||
                (!q.industry.empty() && c->basic().industry() != q.industry) ||
                (q.lifecycle != 0 && c->lifecycle() != q.lifecycle) ||
                (!q.customer_class.empty() && c->customer_class() != q.customer_class) ||
                !visible(*c)) {
              return eventstore::WalkStep::kSkipped;
            }
            page.customers.push_back(*std::move(c));
            return eventstore::WalkStep::kKept;
          }));
  return page;
}

}  // namespace crm::customer
