// One page of a stream's history with each event's envelope (version, event id,
// type, actor, time): the history RPCs (GetCustomerHistory, GetOpportunityHistory,
// GetChurnCaseHistory, GetCampaignHistory). The page token is sealed and bound to
// the RPC, the request's filters and the caller (page.h, eventstore::ReadStreamPage).
//
//   RETURN_IF_ERROR(command::PageSize(req.page_size(), command::kHistoryPageSize).status());
//   RETURN_IF_ERROR(LoadVisible(who, req.campaign_id()).status());  // access
//   return command::ReadHistoryPage(store, CampaignStreamFor(req.campaign_id()),
//                                   "GetCampaignHistory", req, who, resp);
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crm/auth/principal.h"
#include "crm/command/limits.h"
#include "crm/command/page.h"
#include "crm/eventstore/index_walk.h"

namespace crm::command {

// A history's page size when the request leaves it 0.
inline constexpr size_t kHistoryPageSize = 100;

// Fills the entries of `resp` (any message with repeated `entries` having
// version, event_id, event_type, actor, occurred_at and `event`, a message
// parsed from the payload) and its next_page_token ("" on the last page), oldest
// first; `req` has page_size and page_token. INVALID_ARGUMENT "page_size: ..." /
// "page_token: not a token of this list"; DATA_LOSS for an event that does not
// parse. Access is the caller's check, made before.
template <typename Req, typename Resp>
absl::Status ReadHistoryPage(eventstore::EventStore& store, const std::string& stream,
                             std::string_view rpc, const Req& req, const auth::Principal& who,
                             Resp* resp) {
  absl::StatusOr<size_t> page_size = PageSize(req.page_size(), kHistoryPageSize);
  if (!page_size.ok()) return page_size.status();
  absl::StatusOr<eventstore::StreamPage> page = eventstore::ReadStreamPage(
      store, stream,
      {.page_size = *page_size, .page_token = req.page_token(), .binding = PageBinding(rpc, req, who)});
  if (!page.ok()) return page.status();
  for (const eventstore::EventEnvelope& e : page->events) {
    auto* entry = resp->add_entries();
    entry->set_version(e.stream_version());
    entry->set_event_id(e.event_id());
    entry->set_event_type(e.event_type());
    entry->set_actor(e.actor());
    *entry->mutable_occurred_at() = e.occurred_at();
    if (!entry->mutable_event()->ParseFromString(e.payload())) {
      return absl::DataLossError(
          absl::StrCat("corrupt event ", e.stream_version(), " of ", stream));
    }
  }
  resp->set_next_page_token(page->next_page_token);
  return absl::OkStatus();
}

}  // namespace crm::command
