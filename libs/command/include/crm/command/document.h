// A configuration kept as a versioned document: one stream (the aggregate of id
// ""), each event carrying the whole new document, the version in force in one
// row ("current") of its projection. The SLA configuration (crm-ticket) and the
// classification rule set are two.
//
//   const auto kRuleSets = command::DocumentAggregate<v1::RuleSet, v1::ClassificationEvent>(
//       "rule set", "rule-sets", "rule_set", &PublishedRuleSet, &EventType);
//   ASSIGN_OR_RETURN(std::optional<v1::RuleSet> current,
//                    command::ReadCurrentDocument<v1::RuleSet>(store, "rule_set"));
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "crm/command/pipeline.h"
#include "crm/eventstore/event_store.h"

namespace crm::command {

// The row of a document's projection that holds the version in force.
inline constexpr char kCurrentDocumentKey[] = "current";

// The aggregate of a document `S` whose events `E` carry it whole:
// `document_of(event)` is the new document (null for an event that carries none),
// keyed by the event's customer_id (the stream's name, set by the decision).
template <typename S, typename E>
Aggregate<S, E> DocumentAggregate(std::string name, std::string stream, std::string projection,
                                  const S* (*document_of)(const E&),
                                  std::string (*event_type)(const E&)) {
  return {.name = std::move(name),
          .stream_prefix = std::move(stream),
          .state_projection = projection,
          .apply =
              [document_of](S& s, const E& e, const domain::EventMeta& m) {
                if (const S* document = document_of(e)) s = *document;
                s.set_version(m.version);
              },
          .event_type = event_type,
          .partition_key = [](const E& e) { return e.customer_id(); },
          .rows = [projection](const S&, const S& after, const std::vector<E>&, absl::Time) {
            return std::vector<eventstore::ProjectionWrite>{eventstore::ProjectionWrite::Put(
                projection, kCurrentDocumentKey, after.SerializeAsString())};
          }};
}

// The document in force, std::nullopt before the first one; DATA_LOSS for a
// corrupt row.
template <typename S>
absl::StatusOr<std::optional<S>> ReadCurrentDocument(eventstore::EventStore& store,
                                                     std::string_view projection) {
  absl::StatusOr<std::optional<std::string>> row =
      store.GetProjection(projection, kCurrentDocumentKey);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return std::nullopt;
  S document;
  if (!document.ParseFromString(**row)) {
    return absl::DataLossError(absl::StrCat("corrupt row of ", std::string(projection)));
  }
  return document;
}

}  // namespace crm::command
