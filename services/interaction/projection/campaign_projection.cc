#include "crm/interaction/projection/campaign_projection.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/eventstore/index_walk.h"

namespace crm::interaction {
namespace {

using eventstore::ProjectionWrite;

const std::string kSep(1, '\0');
// Bytes of eventstore::TimeKey.
constexpr size_t kTimeKeyBytes = 8;

std::string_view ProjectionOf(CampaignWalk::Kind kind) {
  return kind == CampaignWalk::kAll || kind == CampaignWalk::kOwner ? kCampaignIndexProjection
                                                                    : kCampaignReachProjection;
}

std::string Prefix(const CampaignWalk& walk) {
  switch (walk.kind) {
    case CampaignWalk::kAll:
      return absl::StrCat("a/", kSep);
    case CampaignWalk::kOwner:
    case CampaignWalk::kReachOwner:
      return absl::StrCat("o/", walk.value, kSep);
    case CampaignWalk::kReachRegion:
      return absl::StrCat("r/", walk.value, kSep);
  }
  return "";
}

// "<created, newest first>\0<id>": what every key of both indexes ends with.
std::string Tail(const v1::Campaign& c) {
  return absl::StrCat(eventstore::TimeKey(FromProtoTimestamp(c.created_at()), true), kSep,
                      c.campaign_id());
}

std::vector<std::string> IndexKeys(const v1::Campaign& c) {
  if (c.campaign_id().empty()) return {};
  return {Prefix({CampaignWalk::kAll, ""}) + Tail(c),
          Prefix({CampaignWalk::kOwner, c.owner()}) + Tail(c)};
}

// The reach of the campaign itself: its owner, and its region when it has one.
std::vector<std::string> OwnReachKeys(const v1::Campaign& c) {
  if (c.campaign_id().empty()) return {};
  std::vector<std::string> keys = {Prefix({CampaignWalk::kReachOwner, c.owner()}) + Tail(c)};
  if (!c.region().empty())
    keys.push_back(Prefix({CampaignWalk::kReachRegion, c.region()}) + Tail(c));
  return keys;
}

std::string TargetKey(std::string_view campaign_id, std::string_view customer_id) {
  return absl::StrCat(std::string(campaign_id), kSep, std::string(customer_id));
}

std::string FactKey(std::string_view campaign_id, std::string_view customer_id, char fact) {
  return absl::StrCat(TargetKey(campaign_id, customer_id), kSep, std::string(1, fact));
}

ProjectionWrite PutFact(const std::string& campaign_id, const std::string& customer_id, char fact,
                        const v1::CampaignTarget& value) {
  return ProjectionWrite::Put(std::string(kCampaignTargetFactsProjection),
                              FactKey(campaign_id, customer_id, fact), value.SerializeAsString());
}

// The target's facts merged into its frozen row.
absl::Status MergeFacts(eventstore::EventStore& store, v1::CampaignTarget& target) {
  ASSIGN_OR_RETURN(
      auto facts,
      store.ScanProjection(kCampaignTargetFactsProjection,
                           TargetKey(target.campaign_id(), target.customer_id()) + kSep, "", 8));
  for (const auto& [key, value] : facts) {
    v1::CampaignTarget fact;
    if (!fact.ParseFromString(value)) return absl::DataLossError("corrupt campaign target fact");
    target.MergeFrom(fact);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::CampaignTarget> ParseTarget(const std::string& value) {
  v1::CampaignTarget t;
  if (!t.ParseFromString(value)) return absl::DataLossError("corrupt campaign target row");
  return t;
}

}  // namespace

std::string CampaignStreamFor(std::string_view campaign_id) {
  return absl::StrCat("campaign-", std::string(campaign_id));
}

std::vector<ProjectionWrite> CampaignRowWrites(const v1::Campaign& before,
                                               const v1::Campaign& after,
                                               const std::vector<v1::InteractionEvent>& events,
                                               absl::Time now) {
  std::vector<ProjectionWrite> writes;
  writes.push_back(ProjectionWrite::Put(std::string(kCampaignsProjection), after.campaign_id(),
                                        after.SerializeAsString()));
  eventstore::IndexKeyWrites(kCampaignIndexProjection, IndexKeys(before), IndexKeys(after), writes);
  eventstore::IndexKeyWrites(kCampaignReachProjection, OwnReachKeys(before), OwnReachKeys(after),
                             writes);
  const std::string& id = after.campaign_id();
  v1::CampaignTarget updated;
  updated.set_updated_by(after.updated_by());
  std::set<std::string> reach;
  for (const v1::InteractionEvent& e : events) {
    switch (e.kind_case()) {
      case v1::InteractionEvent::kCampaignTargetsFrozen:
        for (const v1::CampaignTarget& t : e.campaign_targets_frozen().targets()) {
          v1::CampaignTarget row;
          row.set_campaign_id(id);
          row.set_customer_id(t.customer_id());
          row.set_owner(t.owner());
          row.set_region(t.region());
          writes.push_back(ProjectionWrite::Put(std::string(kCampaignTargetsProjection),
                                                TargetKey(id, t.customer_id()),
                                                row.SerializeAsString()));
          if (!t.owner().empty()) {
            reach.insert(Prefix({CampaignWalk::kReachOwner, t.owner()}) + Tail(after));
          }
          if (!t.region().empty()) {
            reach.insert(Prefix({CampaignWalk::kReachRegion, t.region()}) + Tail(after));
          }
        }
        break;
      case v1::InteractionEvent::kCampaignInvitationsSent: {
        v1::CampaignTarget invited;
        *invited.mutable_invited_at() = ToProtoTimestamp(now);
        for (const std::string& customer : e.campaign_invitations_sent().customer_ids()) {
          writes.push_back(PutFact(id, customer, 'i', invited));
          writes.push_back(PutFact(id, customer, 'u', updated));
        }
        break;
      }
      case v1::InteractionEvent::kCampaignResponseRecorded: {
        v1::CampaignTarget response;
        response.set_response(e.campaign_response_recorded().response());
        response.set_response_note(e.campaign_response_recorded().note());
        *response.mutable_responded_at() = ToProtoTimestamp(now);
        writes.push_back(PutFact(id, e.customer_id(), 'r', response));
        writes.push_back(PutFact(id, e.customer_id(), 'u', updated));
        break;
      }
      case v1::InteractionEvent::kCampaignAttendanceRecorded: {
        v1::CampaignTarget attendance;
        attendance.set_attended(e.campaign_attendance_recorded().attended());
        if (attendance.attended()) *attendance.mutable_attended_at() = ToProtoTimestamp(now);
        writes.push_back(PutFact(id, e.customer_id(), 'a', attendance));
        writes.push_back(PutFact(id, e.customer_id(), 'u', updated));
        break;
      }
      default:
        break;
    }
  }
  for (const std::string& key : reach) {
    writes.push_back(ProjectionWrite::Put(std::string(kCampaignReachProjection), key, ""));
  }
  return writes;
}

absl::StatusOr<std::optional<v1::Campaign>> LoadCampaign(eventstore::EventStore& store,
                                                         std::string_view campaign_id) {
  if (campaign_id.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   store.GetProjection(kCampaignsProjection, campaign_id));
  if (!row) return std::nullopt;
  v1::Campaign c;
  if (!c.ParseFromString(*row)) return absl::DataLossError("corrupt campaign row");
  return c;
}

absl::StatusOr<std::optional<v1::CampaignTarget>> LoadCampaignTarget(eventstore::EventStore& store,
                                                                     std::string_view campaign_id,
                                                                     std::string_view customer_id) {
  if (campaign_id.empty() || customer_id.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(
      std::optional<std::string> row,
      store.GetProjection(kCampaignTargetsProjection, TargetKey(campaign_id, customer_id)));
  if (!row) return std::nullopt;
  ASSIGN_OR_RETURN(v1::CampaignTarget target, ParseTarget(*row));
  RETURN_IF_ERROR(MergeFacts(store, target));
  return target;
}

absl::StatusOr<CampaignTargetPage> ListCampaignTargets(
    eventstore::EventStore& store, const std::string& campaign_id, size_t page_size,
    const std::string& page_token, const std::string& binding,
    const std::function<bool(const std::string&)>& keep, size_t max_examined) {
  CampaignTargetPage page;
  const std::string prefix = campaign_id + kSep;
  ASSIGN_OR_RETURN(
      page.next_page_token,
      eventstore::WalkIndex(
          store, kCampaignTargetsProjection, prefix,
          {.page_size = page_size,
           .page_token = page_token,
           .binding = binding,
           .max_examined = max_examined},
          [&](const std::string& key) -> absl::StatusOr<eventstore::WalkStep> {
            if (!keep(key.substr(prefix.size()))) return eventstore::WalkStep::kSkipped;
            ASSIGN_OR_RETURN(std::optional<std::string> row,
                             store.GetProjection(kCampaignTargetsProjection, key));
            if (!row) return eventstore::WalkStep::kSkipped;
            ASSIGN_OR_RETURN(v1::CampaignTarget target, ParseTarget(*row));
            RETURN_IF_ERROR(MergeFacts(store, target));
            page.targets.push_back(std::move(target));
            return eventstore::WalkStep::kKept;
          }));
  return page;
}

absl::Status ForEachCampaignTarget(
    eventstore::EventStore& store, const std::string& campaign_id,
    const std::function<absl::Status(const v1::CampaignTarget&)>& visit) {
  const std::string prefix = campaign_id + kSep;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto rows,
                     store.ScanProjection(kCampaignTargetsProjection, prefix, after, 1000));
    if (rows.empty()) return absl::OkStatus();
    for (const auto& [key, value] : rows) {
      ASSIGN_OR_RETURN(v1::CampaignTarget target, ParseTarget(value));
      RETURN_IF_ERROR(MergeFacts(store, target));
      RETURN_IF_ERROR(visit(target));
    }
    after = rows.back().first;
  }
}

absl::StatusOr<bool> CampaignUnder(eventstore::EventStore& store, const v1::Campaign& campaign,
                                   const CampaignWalk& walk) {
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   store.GetProjection(ProjectionOf(walk.kind), Prefix(walk) + Tail(campaign)));
  return row.has_value();
}

namespace {

// One walk of a merged list: its rows a batch at a time.
class Cursor {
 public:
  Cursor(const CampaignWalk& walk, const std::string& after_tail)
      : projection_(ProjectionOf(walk.kind)),
        prefix_(Prefix(walk)),
        after_(after_tail.empty() ? std::string() : prefix_ + after_tail) {}

  // The tail ("<created>\0<id>") of the current row, "" when the walk is over.
  absl::StatusOr<std::string> Current(eventstore::EventStore& store) {
    if (pos_ == rows_.size() && !exhausted_) {
      ASSIGN_OR_RETURN(rows_, store.ScanProjection(projection_, prefix_, after_, kBatch));
      pos_ = 0;
      exhausted_ = rows_.size() < kBatch;
      if (!rows_.empty()) after_ = rows_.back().first;
    }
    if (pos_ == rows_.size()) return std::string();
    return rows_[pos_].first.substr(prefix_.size());
  }
  void Next() { ++pos_; }

 private:
  static constexpr size_t kBatch = 128;
  const std::string_view projection_;
  const std::string prefix_;
  std::string after_;
  std::vector<std::pair<std::string, std::string>> rows_;
  size_t pos_ = 0;
  bool exhausted_ = false;
};

}  // namespace

absl::StatusOr<CampaignPage> ListCampaigns(eventstore::EventStore& store, const CampaignQuery& q,
                                           const std::function<bool(const v1::Campaign&)>& keep) {
  // The token seals the tail of the last campaign examined (eventstore paging).
  std::string after;
  if (!q.page_token.empty()) {
    ASSIGN_OR_RETURN(after, eventstore::OpenPageToken(store, q.binding, q.page_token));
    if (after.size() <= kTimeKeyBytes + 1 || after[kTimeKeyBytes] != '\0') {
      return absl::InvalidArgumentError("page_token: not a token of this list");
    }
  }
  std::vector<Cursor> cursors;
  for (const CampaignWalk& w : q.walks) cursors.emplace_back(w, after);
  CampaignPage page;
  size_t kept = 0, examined = 0;
  while (true) {
    // The smallest tail (the newest campaign) of every walk, once.
    std::string tail;
    for (Cursor& c : cursors) {
      ASSIGN_OR_RETURN(std::string current, c.Current(store));
      if (!current.empty() && (tail.empty() || current < tail)) tail = current;
    }
    if (tail.empty()) return page;  // every walk is over
    if (kept == q.page_size || examined == q.max_examined) {
      ASSIGN_OR_RETURN(page.next_page_token, eventstore::SealPageToken(store, q.binding, after));
      return page;
    }
    for (Cursor& c : cursors) {
      ASSIGN_OR_RETURN(std::string current, c.Current(store));
      if (current == tail) c.Next();
    }
    after = tail;
    ++examined;
    ASSIGN_OR_RETURN(std::optional<v1::Campaign> campaign,
                     LoadCampaign(store, tail.substr(kTimeKeyBytes + 1)));
    if (campaign && keep(*campaign)) {
      page.campaigns.push_back(*std::move(campaign));
      ++kept;
    }
  }
}

}  // namespace crm::interaction
