#include "crm/messaging/dedupe.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crm/common/status_macros.h"

namespace crm::messaging {

bool IsValidIncarnation(std::string_view incarnation) {
  if (incarnation.size() > kMaxIncarnationBytes) return false;
  return std::all_of(incarnation.begin(), incarnation.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_' || c == '.';
  });
}

absl::StatusOr<DedupeRow> DedupeRow::Parse(const std::optional<std::string>& row) {
  DedupeRow parsed;
  if (!row) return parsed;
  for (absl::string_view entry : absl::StrSplit(*row, ',')) {
    const size_t at = entry.find('@');
    const absl::string_view number = entry.substr(0, at);
    const absl::string_view incarnation =
        at == absl::string_view::npos ? absl::string_view() : entry.substr(at + 1);
    uint64_t position = 0;
    if (!absl::SimpleAtoi(number, &position) ||
        !IsValidIncarnation(std::string_view(incarnation.data(), incarnation.size()))) {
      return absl::DataLossError(absl::StrCat("corrupt dedupe row '", *row, "'"));
    }
    parsed.entries_.emplace_back(std::string(incarnation), position);
  }
  return parsed;
}

bool DedupeRow::IsNew(std::string_view incarnation, uint64_t position) const {
  for (const auto& [seen, last] : entries_) {
    if (seen == incarnation) return position > last;
  }
  return true;
}

void DedupeRow::Record(std::string_view incarnation, uint64_t position) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const auto& e) { return e.first == incarnation; });
  if (it != entries_.end()) {
    position = std::max(position, it->second);
    entries_.erase(it);
  }
  entries_.emplace_back(std::string(incarnation), position);
  if (entries_.size() > kMaxDedupeIncarnations) {
    entries_.erase(entries_.begin(), entries_.end() - kMaxDedupeIncarnations);
  }
}

std::string DedupeRow::Serialize() const {
  std::string out;
  for (const auto& [incarnation, position] : entries_) {
    if (!out.empty()) out.push_back(',');
    absl::StrAppend(&out, position);
    if (!incarnation.empty()) absl::StrAppend(&out, "@", incarnation);
  }
  return out;
}

std::string DedupeKey(std::string_view group, std::string_view topic, std::string_view key) {
  return absl::StrCat(std::string(group), "/", std::string(topic), "/", std::string(key));
}

absl::StatusOr<std::optional<eventstore::ProjectionWrite>> DecideDedupe(
    const BatchView& view, std::string_view group, std::string_view topic,
    const eventstore::EventEnvelope& event) {
  if (!IsValidIncarnation(event.incarnation())) {
    return absl::InvalidArgumentError("incarnation: malformed");
  }
  std::string key = DedupeKey(group, topic, event.partition_key());
  ASSIGN_OR_RETURN(std::optional<std::string> stored, view.Get(kConsumerDedupeProjection, key));
  ASSIGN_OR_RETURN(DedupeRow row, DedupeRow::Parse(stored));
  if (!row.IsNew(event.incarnation(), event.global_position())) return std::nullopt;
  row.Record(event.incarnation(), event.global_position());
  return eventstore::ProjectionWrite::Put(std::string(kConsumerDedupeProjection), std::move(key),
                                          row.Serialize());
}

}  // namespace crm::messaging
