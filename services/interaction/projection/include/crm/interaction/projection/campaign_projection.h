// The read model of campaigns: the current Campaign row per id, a list index
// (all, by owner; newest first), a reach index for scoping (which owners and
// regions a campaign reaches), and the frozen target list with each target's
// invitation, response and attendance. Rows are computed from the state change
// and the events, and committed with the events; a rebuild replays them.
//
// Target rows: the frozen facts (owner and region at the freeze) under
// "<campaign>\0<customer>", and what happened since as fact rows of their own
// (the rows of an event cannot read the store, so a response never rewrites the
// invitation): LoadCampaignTarget and ListCampaignTargets merge them.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/eventstore/event_store.h"
#include "crm/interaction/v1/campaign.pb.h"
#include "crm/interaction/v1/interaction_events.pb.h"

namespace crm::interaction {

// campaign id -> Campaign.
inline constexpr std::string_view kCampaignsProjection = "campaigns";
// "a/\0<created, newest first>\0<id>" and "o/<owner>\0<created>\0<id>".
inline constexpr std::string_view kCampaignIndexProjection = "campaign_index";
// "o/<subject>\0<created>\0<id>" and "r/<region>\0<created>\0<id>": the campaign's
// own owner and region, and the owners and regions of its targets as they were
// when the list was frozen. Never removed (the frozen list does not change).
inline constexpr std::string_view kCampaignReachProjection = "campaign_reach";
// "<campaign>\0<customer>" -> CampaignTarget with campaign_id, customer_id,
// owner and region (as frozen).
inline constexpr std::string_view kCampaignTargetsProjection = "campaign_targets";
// "<campaign>\0<customer>\0<fact>" -> CampaignTarget holding one fact: "a"
// attended (attended_at), "i" invited_at, "r" response (note, responded_at),
// "u" updated_by (the actor of the latest of them).
inline constexpr std::string_view kCampaignTargetFactsProjection = "campaign_target_facts";

std::string CampaignStreamFor(std::string_view campaign_id);

// Rows to write when a campaign goes from `before` (empty when new) to `after`
// by `events` at `now`.
std::vector<eventstore::ProjectionWrite> CampaignRowWrites(
    const v1::Campaign& before, const v1::Campaign& after,
    const std::vector<v1::InteractionEvent>& events, absl::Time now);

absl::StatusOr<std::optional<v1::Campaign>> LoadCampaign(eventstore::EventStore& store,
                                                         std::string_view campaign_id);

// The target row of `customer_id` (frozen facts merged with what happened
// since), std::nullopt when the customer is not a target.
absl::StatusOr<std::optional<v1::CampaignTarget>> LoadCampaignTarget(eventstore::EventStore& store,
                                                                     std::string_view campaign_id,
                                                                     std::string_view customer_id);

struct CampaignTargetPage {
  std::vector<v1::CampaignTarget> targets;
  std::string next_page_token;
};

// The targets of a campaign in customer id order, those for which `keep(customer
// id)` is true. `binding`: what the token is bound to (command::PageBinding).
absl::StatusOr<CampaignTargetPage> ListCampaignTargets(
    eventstore::EventStore& store, const std::string& campaign_id, size_t page_size,
    const std::string& page_token, const std::string& binding,
    const std::function<bool(const std::string&)>& keep, size_t max_examined = 5000);

// Every target of a campaign, in customer id order (stops at an error).
absl::Status ForEachCampaignTarget(
    eventstore::EventStore& store, const std::string& campaign_id,
    const std::function<absl::Status(const v1::CampaignTarget&)>& visit);

// An index (and value) a campaign list walks.
struct CampaignWalk {
  enum Kind {
    kAll,          // campaign_index: every campaign
    kOwner,        // campaign_index: campaigns `value` owns
    kReachOwner,   // campaign_reach: campaigns reaching customers `value` owned
    kReachRegion,  // campaign_reach: campaigns reaching region `value`
  };
  Kind kind = kAll;
  std::string value;
};

// True when the campaign is under `walk` (a reach index lookup).
absl::StatusOr<bool> CampaignUnder(eventstore::EventStore& store, const v1::Campaign& campaign,
                                   const CampaignWalk& walk);

struct CampaignQuery {
  // One or more walks, merged newest first (a campaign under several once).
  std::vector<CampaignWalk> walks;
  size_t page_size = 50;
  std::string page_token;
  std::string binding;  // what the token is bound to: command::PageBinding
  size_t max_examined = 5000;
};

struct CampaignPage {
  std::vector<v1::Campaign> campaigns;
  std::string next_page_token;
};

// Campaigns newest first (by creation), those for which `keep` is true.
// INVALID_ARGUMENT "page_token: ..." for a token of another list (`binding`).
absl::StatusOr<CampaignPage> ListCampaigns(eventstore::EventStore& store,
                                           const CampaignQuery& query,
                                           const std::function<bool(const v1::Campaign&)>& keep);

}  // namespace crm::interaction
