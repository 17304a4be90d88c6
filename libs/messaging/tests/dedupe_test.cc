#include "crm/messaging/dedupe.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::messaging {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

eventstore::EventEnvelope Event(std::string incarnation, uint64_t position,
                                std::string key = "c1") {
  eventstore::EventEnvelope e;
  e.set_incarnation(std::move(incarnation));
  e.set_global_position(position);
  e.set_partition_key(std::move(key));
  return e;
}

// Decides on `event` and, when new, applies the row write to `view`.
bool Consume(PendingWritesView& view, const eventstore::EventEnvelope& event) {
  auto decision = DecideDedupe(view, "crm-ticket", "crm.customer.v1.events", event);
  EXPECT_TRUE(decision.ok()) << decision.status();
  if (!decision.ok() || !decision->has_value()) return false;
  view.Apply(**decision);
  return true;
}

TEST(DedupeTest, AppliesAboveTheLastPositionOfTheEventsOwnIncarnation) {
  PendingWritesView view(nullptr);
  EXPECT_TRUE(Consume(view, Event("A", 1)));
  EXPECT_TRUE(Consume(view, Event("A", 2)));
  EXPECT_TRUE(Consume(view, Event("A", 3)));
  EXPECT_FALSE(Consume(view, Event("A", 3))) << "a duplicate";
  EXPECT_FALSE(Consume(view, Event("A", 1))) << "a replay";
  // The store restored from a backup taken at position 1: its new events reuse
  // positions 2.. under a new incarnation, and are applied.
  EXPECT_TRUE(Consume(view, Event("B", 2)));
  EXPECT_FALSE(Consume(view, Event("B", 2)));
  // The restored relay republishing the old incarnation's events: dropped.
  EXPECT_FALSE(Consume(view, Event("A", 2)));
  EXPECT_FALSE(Consume(view, Event("A", 3)));
  EXPECT_TRUE(Consume(view, Event("B", 3)));
  // Rows are per key: another customer starts from nothing.
  EXPECT_TRUE(Consume(view, Event("A", 1, "c2")));
  auto row =
      view.Get(kConsumerDedupeProjection, DedupeKey("crm-ticket", "crm.customer.v1.events", "c1"));
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ(**row, "3@A,3@B");
}

TEST(DedupeTest, RowsFromBeforeIncarnationsReadAsIncarnationEmpty) {
  PendingWritesView view(nullptr);
  const std::string key = DedupeKey("g", "t", "c1");
  view.Apply(eventstore::ProjectionWrite::Put(std::string(kConsumerDedupeProjection), key, "7"));
  auto decide = [&](eventstore::EventEnvelope e) {
    auto d = DecideDedupe(view, "g", "t", e);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() && d->has_value();
  };
  EXPECT_FALSE(decide(Event("", 7)));
  EXPECT_FALSE(decide(Event("", 3)));
  EXPECT_TRUE(decide(Event("", 8)));
  // The producer's first events with an incarnation are new.
  EXPECT_TRUE(decide(Event("A", 8)));
  auto written = DecideDedupe(view, "g", "t", Event("A", 9));
  ASSERT_TRUE(written.ok() && written->has_value());
  EXPECT_EQ((*written)->value, "7,9@A");
  EXPECT_EQ((*written)->key, key);
}

TEST(DedupeTest, KeepsTheLastEightIncarnationsMostRecentLast) {
  DedupeRow row;
  for (int i = 0; i < 10; ++i) row.Record(absl::StrCat("i", i), 100 + i);
  ASSERT_EQ(row.entries().size(), kMaxDedupeIncarnations);
  EXPECT_EQ(row.entries().front().first, "i2");
  EXPECT_EQ(row.entries().back().first, "i9");
  EXPECT_TRUE(row.IsNew("i0", 1)) << "forgotten: the oldest went";
  // Recording an existing incarnation moves it last and never lowers it.
  row.Record("i3", 50);
  EXPECT_THAT(row.entries().back(), Pair("i3", 103));
  auto parsed = DedupeRow::Parse(row.Serialize());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->entries(), row.entries());
  EXPECT_THAT(DedupeRow::Parse(std::nullopt)->entries(), ElementsAre());
}

TEST(DedupeTest, CorruptRowsAndMalformedIncarnationsAreErrors) {
  for (const char* bad : {"", "x", "5@a,b", "5@a@b", "-1", "5,", "5@a b"}) {
    EXPECT_EQ(DedupeRow::Parse(std::string(bad)).status().code(), absl::StatusCode::kDataLoss)
        << bad;
  }
  PendingWritesView view(nullptr);
  EXPECT_EQ(DecideDedupe(view, "g", "t", Event("a,b", 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(IsValidIncarnation(""));
  EXPECT_TRUE(IsValidIncarnation("0190c2a4-7b1e-7c3d-8f00-1a2b3c4d5e6f"));
  EXPECT_FALSE(IsValidIncarnation(std::string(65, 'a')));
}

}  // namespace
}  // namespace crm::messaging
