// What the use cases of crm-interaction (interactions, sales, churn cases,
// campaigns) share in their commands and reads: the principal their background
// duties act as, a write request's options, the reads every load makes through
// the directory (a customer the caller may see, a visibility filter for lists
// and reports, the visit or follow-up that carried out a step or a measure), and
// the rounds an overdue reporter works in.
//
//   struct SalesApp::Parts : AppParts {
//     explicit Parts(const SalesAppOptions& o) : AppParts(*o.pipeline, o.customers), o(o) {}
//     ...
//   };
//   ASSIGN_OR_RETURN(CustomerRef c, parts.VisibleCustomer(who, req.customer_id()));
//   auto visible = parts.CustomerFilter(who);  // for a list: visible(row.customer_id())
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/auth/principal.h"
#include "crm/command/pipeline.h"
#include "crm/directory/customer_directory.h"
#include "crm/eventstore/event_store.h"

namespace crm::interaction {

// Who the service's background duties act as (overdue reporters, the revisit
// planner, the churn signal worker), and what their events record as actor:
// subject "crm-interaction", role service.
const auth::Principal& ServicePrincipal();

// What a background duty's command answers: how many events it appended.
struct Applied {
  size_t events = 0;
};

// A write request's command id and expected version (its `options`).
template <typename Req>
command::WriteOptions OptionsOf(const Req& request) {
  return command::WriteOptions::Of(request.options());
}

// The store, the clock and the customer lookup an app's Parts reads through.
// Thread-safe (each call reads the store on its own).
class AppParts {
 public:
  // `customers`: asked about customers not in the directory yet; may be null.
  AppParts(command::Pipeline& pipeline, directory::CustomerLookup* customers);

  eventstore::EventStore& store;

  absl::Time Now() const;

  // The customer, when it exists (the directory, else the lookup) and `who` may
  // see it: directory::VisibleCustomer (INVALID_ARGUMENT "customer_id: required",
  // NOT_FOUND, PERMISSION_DENIED).
  absl::StatusOr<domain::CustomerRef> VisibleCustomer(const auth::Principal& who,
                                                      const std::string& customer_id) const;

  // For lists and reports: whether `who` may see a customer, asked once per
  // customer, from the directory only (a list never waits for crm-customer);
  // every customer for a principal whose scope is all. Not thread-safe; `who`
  // must outlive the function.
  std::function<bool(const std::string& customer_id)> CustomerFilter(
      const auth::Principal& who) const;

  // The interaction that carried out a plan step or a retention measure ("" is
  // none: OK): a follow-up or a recorded visit of `customer_id`. `field` names
  // it in the errors: INVALID_ARGUMENT for an id that is not one (domain::
  // ValidateId) or an interaction of another type, NOT_FOUND when the customer
  // has no such interaction, FAILED_PRECONDITION for a visit not recorded yet.
  absl::Status CheckCarriedOutBy(std::string_view field, const std::string& interaction_id,
                                 const std::string& customer_id) const;

 private:
  command::Pipeline& pipeline_;
  directory::CustomerLookup* customers_;
};

// An overdue reporter's run: lists what is due (`due`, a batch at a time, each
// item leaving the list once reported) and reports each (`report`: true when it
// appended an event), until the list is empty or a round reports fewer items
// than it listed (a race lost, or an item no longer due: the next run sees it
// again). Returns how many it reported; stops at the first error.
template <typename Item>
absl::StatusOr<int> ReportInRounds(const std::function<absl::StatusOr<std::vector<Item>>()>& due,
                                   const std::function<absl::StatusOr<bool>(const Item&)>& report) {
  int reported = 0;
  while (true) {
    absl::StatusOr<std::vector<Item>> items = due();
    if (!items.ok()) return items.status();
    if (items->empty()) break;
    size_t this_round = 0;
    for (const Item& item : *items) {
      absl::StatusOr<bool> done = report(item);
      if (!done.ok()) return done.status();
      if (*done) ++this_round;
    }
    reported += static_cast<int>(this_round);
    if (this_round < items->size()) break;
  }
  return reported;
}

}  // namespace crm::interaction
