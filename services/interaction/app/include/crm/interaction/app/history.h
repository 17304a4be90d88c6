// One page of a stream's history with each event's envelope (version, event id,
// type, actor, time): the history RPCs of opportunities, churn cases and
// campaigns (GetOpportunityHistory, GetChurnCaseHistory, GetCampaignHistory).
// The page token is the version the next page starts at.
//
//   RETURN_IF_ERROR(ParseHistoryPage(req.page_size(), req.page_token()).status());  // before
//   access RETURN_IF_ERROR(LoadVisible(...)); return ReadHistoryPage(store, CampaignStreamFor(id),
//   req.page_size(), req.page_token(), resp);
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "crm/eventstore/event_store.h"

namespace crm::interaction {

struct HistoryPage {
  size_t page_size = 100;
  uint64_t from_version = 1;
};

// page_size (command::PageSize, default 100) and the token (a version ≥ 1, "" =
// the first). INVALID_ARGUMENT "page_size: ..." / "page_token: not a token of
// this query".
absl::StatusOr<HistoryPage> ParseHistoryPage(int32_t page_size, const std::string& page_token);

// Fills the entries of `resp` (any message with repeated `entries` having
// version, event_id, event_type, actor, occurred_at and `event`, a message
// parsed from the payload) and its next_page_token ("" on the last page), oldest
// first. INVALID_ARGUMENT as ParseHistoryPage; DATA_LOSS for an event that does
// not parse. Access is the caller's check.
template <typename Resp>
absl::Status ReadHistoryPage(eventstore::EventStore& store, const std::string& stream,
                             int32_t page_size, const std::string& page_token, Resp* resp) {
  absl::StatusOr<HistoryPage> page = ParseHistoryPage(page_size, page_token);
  if (!page.ok()) return page.status();
  absl::StatusOr<std::vector<eventstore::EventEnvelope>> events =
      store.ReadStream(stream, page->from_version, page->page_size + 1);
  if (!events.ok()) return events.status();
  for (size_t i = 0; i < events->size() && i < page->page_size; ++i) {
    const eventstore::EventEnvelope& e = (*events)[i];
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
  if (events->size() > page->page_size) {
    resp->set_next_page_token(absl::StrCat(events->back().stream_version()));
  }
  return absl::OkStatus();
}

}  // namespace crm::interaction
