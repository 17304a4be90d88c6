// What a service other than crm-customer knows about customers, from events:
// owner, region, access grants and contacts (crm.customer.v1.events), and classes
// per scheme (crm.classification.v1.events). Used for validation and access
// scoping by the interaction and ticket services; each service keeps its own copy
// in its own store.
//
//   DirectoryHandler handler({.on_change = [](const DirectoryChange& c, auto& out) {
//     if (c.kind == DirectoryChange::kClassChanged) out.push_back(...);  // queue work
//   }});
//   ConsumerRunner::Start(*store, handler, {.group_id = "crm-ticket",
//       .topics = {"crm.customer.v1.events", "crm.classification.v1.events"}});
//   ASSIGN_OR_RETURN(CustomerRef c, VisibleCustomer(*store, lookup, who, id, now));
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/auth/principal.h"
#include "crm/customer/v1/customer.pb.h"
#include "crm/domain/aggregate.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/consumer_runner.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace crm::directory {

// customer id -> crm.customer.v1.Customer holding only id, owner, region, access
// grants, contacts (contact id, name, birthday), basic.industry and lifecycle.
inline constexpr std::string_view kDirectoryProjection = "directory";
// "<customer id>/<scheme number>" -> class name.
inline constexpr std::string_view kClassesProjection = "classes";

// What a consumed event changed, for the service's own follow-up work.
struct DirectoryChange {
  enum Kind {
    kNewCustomer,    // first event seen for the customer (whatever its kind)
    kOwnerChanged,   // owner or region changed: OwnerAssigned (or a repeated Registered)
    kClassChanged,   // a classification event (any scheme)
    kOther,          // contacts, grants
  };
  Kind kind;
  std::string customer_id;
  // messaging::EventToken of the consumed event: unique across topics, for queue
  // keys ("<customer>/<token>").
  std::string event;
};

struct DirectoryHandlerOptions {
  // Called once per kept event, inside the handler, after the row write; writes
  // appended to `out` commit atomically with the directory rows and the consumer
  // offset. Must be deterministic, like the handler. May be empty.
  // Events the directory does not keep (transactions, lifecycle, ...) and
  // undecodable ones (logged, skipped) call nothing and write nothing.
  std::function<void(const DirectoryChange&, std::vector<eventstore::ProjectionWrite>& out)>
      on_change;
};

// Deterministic; called from the runner's thread.
class DirectoryHandler final : public messaging::EventHandler {
 public:
  explicit DirectoryHandler(DirectoryHandlerOptions options = {});
  absl::Status Handle(const messaging::ConsumedEvent& event, const messaging::BatchView& view,
                      std::vector<eventstore::ProjectionWrite>& out) override;

 private:
  DirectoryHandlerOptions options_;
};

// The directory row of a customer, std::nullopt when unknown.
absl::StatusOr<std::optional<customer::v1::Customer>> LoadDirectoryEntry(
    eventstore::EventStore& store, std::string_view customer_id);

// Every directory row, in customer id order, handed to `visit` (stops at its
// first error). Reads in batches: memory does not grow with the directory.
absl::Status ForEachDirectoryEntry(
    eventstore::EventStore& store,
    const std::function<absl::Status(const customer::v1::Customer&)>& visit);

// The customer's classes by scheme number (classification::v1::Scheme).
absl::StatusOr<std::map<int, std::string>> LoadClasses(eventstore::EventStore& store,
                                                       std::string_view customer_id);

// A customer as far as access and scoping go.
using ::crm::domain::CustomerRef;

// Where a customer's owner and region come from when this service has not yet
// consumed the customer's events (registered a moment ago): the customer service.
class CustomerLookup {
 public:
  virtual ~CustomerLookup() = default;
  // The customer, std::nullopt when the customer service does not know it.
  virtual absl::StatusOr<std::optional<CustomerRef>> Lookup(const std::string& customer_id) = 0;
};

// Asks crm.customer.v1.CustomerService.GetCustomer with a service token from
// `token()` (called per request, so it may be refreshed); 5 s deadline. NOT_FOUND
// from the service is std::nullopt, any other failure UNAVAILABLE.
std::unique_ptr<CustomerLookup> NewGrpcCustomerLookup(std::shared_ptr<grpc::Channel> channel,
                                                      std::function<std::string()> token);

// Whether `who` may see the customer of directory row `entry` at `now`: the
// libs/auth rules (auth::CheckCustomerAccess) on its owner and region, with the
// row's access grants. For walks over directory rows (no error built per row);
// VisibleCustomer decides a row it found the same way.
bool VisibleIn(const customer::v1::Customer& entry, const auth::Principal& who, absl::Time now);

// The customer `customer_id` if it exists (directory, else `lookup`, which may be
// null) and `who` may see it (libs/auth rules, with the directory's grants).
// INVALID_ARGUMENT "customer_id: required", NOT_FOUND "customer <id> not found",
// (also when the customer exists but `who` may not see it: the same status, so an
// invisible customer is indistinguishable from an absent one, domain::CustomerNotFound),
// the lookup's error (UNAVAILABLE) when it fails; DATA_LOSS for a
// corrupt directory row.
absl::StatusOr<CustomerRef> VisibleCustomer(eventstore::EventStore& store, CustomerLookup* lookup,
                                            const auth::Principal& who,
                                            const std::string& customer_id, absl::Time now);

// VisibleCustomer(...).ok() for list filtering, asked once per customer: a list
// walk meets the same customer many times. One per call; not thread-safe.
class VisibilityCache {
 public:
  VisibilityCache(eventstore::EventStore& store, CustomerLookup* lookup, const auth::Principal& who,
                  absl::Time now)
      : store_(store), lookup_(lookup), who_(who), now_(now) {}
  bool Visible(const std::string& customer_id);

 private:
  eventstore::EventStore& store_;
  CustomerLookup* lookup_;
  const auth::Principal& who_;
  const absl::Time now_;
  std::map<std::string, bool> known_;
};

// The token a service shows crm-customer: read from a file (its first word), or
// minted with the shared HS256 secret (development) for `subject` with role
// "service", valid one hour and renewed five minutes before it expires. The
// file is re-read when Get() is called a second or more after the last read,
// so a token rotated in place (a renewed Kubernetes secret, say) is used
// without a restart; a file that cannot be read then keeps the last token and
// logs an error.
// Error messages name the flags --service_token_file / --customer_addr /
// --jwt_secret_file, as services' main() calls it with those.
class ServiceToken {
 public:
  // token_file wins when both are set. INVALID_ARGUMENT when both are empty;
  // NOT_FOUND when token_file is unreadable (or empty) or secret_file unreadable;
  // INVALID_ARGUMENT for a secret shorter than 32 bytes.
  static absl::StatusOr<std::unique_ptr<ServiceToken>> Create(const std::string& subject,
                                                              const std::string& token_file,
                                                              const std::string& secret_file);
  virtual ~ServiceToken() = default;
  // Thread-safe.
  virtual std::string Get() = 0;
};

// The lookup a service's main() builds from its flags: none (nullptr, OK) when
// `customer_addr` is empty; else gRPC to it, TLS when `tls_ca_file` is set, with a
// ServiceToken::Create(subject, service_token_file, jwt_secret_file) (its errors;
// NOT_FOUND when tls_ca_file is unreadable). The returned lookup owns its token.
absl::StatusOr<std::unique_ptr<CustomerLookup>> MakeCustomerLookup(
    const std::string& subject, const std::string& customer_addr, const std::string& tls_ca_file,
    const std::string& service_token_file, const std::string& jwt_secret_file);

}  // namespace crm::directory
