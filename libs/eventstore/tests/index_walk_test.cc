#include "crm/eventstore/index_walk.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/testing/fake_clock.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::eventstore {
namespace {

using ::testing::ElementsAre;

class IndexWalkTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Open(dir_.path() + "/db"); }

  std::unique_ptr<EventStore> Open(const std::string& path) {
    auto opened = OpenEventStore({.path = path, .clock = &clock_});
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  // Index rows "<prefix><key>" with empty values.
  void Index(const std::string& projection, const std::vector<std::string>& keys) {
    std::vector<ProjectionWrite> writes;
    for (const std::string& k : keys) writes.push_back(ProjectionWrite::Put(projection, k, ""));
    ASSERT_TRUE(store_->WriteProjections(writes).ok());
  }

  // One page of the walk: the kept keys and the next token; `keep` decides.
  struct Page {
    std::vector<std::string> keys;
    std::string next;
  };
  absl::StatusOr<Page> Walk(const std::string& prefix, const WalkOptions& options,
                            const std::function<bool(const std::string&)>& keep =
                                [](const std::string&) { return true; }) {
    Page page;
    absl::StatusOr<std::string> next =
        WalkIndex(*store_, "idx", prefix, options, [&](const std::string& key) {
          if (!keep(key)) return WalkStep::kSkipped;
          page.keys.push_back(key);
          return WalkStep::kKept;
        });
    if (!next.ok()) return next.status();
    page.next = *next;
    return page;
  }

  crm::testing::TempDir dir_;
  crm::testing::FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  std::unique_ptr<EventStore> store_;
};

void ExpectNotAToken(const absl::Status& s) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(s.message(), "page_token: not a token of this list");
}

TEST_F(IndexWalkTest, SealAndOpenRoundTripAndRefuseEverythingElse) {
  ASSERT_EQ(store_->PageTokenKey().size(), 32u);
  auto token = SealPageToken(*store_, "list-a", "a/secret key");
  ASSERT_TRUE(token.ok()) << token.status();
  // Opaque: the position does not show, in any encoding.
  EXPECT_EQ(token->find("secret"), std::string::npos);
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(*token, &raw));
  EXPECT_EQ(raw.find("secret"), std::string::npos);
  // Two seals of one position differ (a fresh nonce each).
  EXPECT_NE(*SealPageToken(*store_, "list-a", "a/secret key"), *token);

  auto opened = OpenPageToken(*store_, "list-a", *token);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "a/secret key");

  // Another binding.
  ExpectNotAToken(OpenPageToken(*store_, "list-b", *token).status());
  ExpectNotAToken(OpenPageToken(*store_, "", *token).status());
  // Every single altered byte (of the nonce, the ciphertext, the tag).
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string altered = raw;
    altered[i] = static_cast<char>(altered[i] ^ 0x01);
    ExpectNotAToken(OpenPageToken(*store_, "list-a", absl::WebSafeBase64Escape(altered)).status());
  }
  // Truncated, extended, not base64, empty, huge.
  ExpectNotAToken(OpenPageToken(*store_, "list-a", token->substr(0, token->size() - 2)).status());
  ExpectNotAToken(
      OpenPageToken(*store_, "list-a", absl::WebSafeBase64Escape(raw + "x")).status());
  ExpectNotAToken(OpenPageToken(*store_, "list-a", "garbage!").status());
  ExpectNotAToken(OpenPageToken(*store_, "list-a", "").status());
  ExpectNotAToken(OpenPageToken(*store_, "list-a", std::string(100000, 'A')).status());

  // Another store's key; the same store after a restart keeps its key.
  crm::testing::TempDir other_dir;
  std::unique_ptr<EventStore> other = Open(other_dir.path() + "/db");
  ASSERT_NE(other, nullptr);
  EXPECT_NE(other->PageTokenKey(), store_->PageTokenKey());
  ExpectNotAToken(OpenPageToken(*other, "list-a", *token).status());
  store_.reset();
  store_ = Open(dir_.path() + "/db");
  ASSERT_NE(store_, nullptr);
  opened = OpenPageToken(*store_, "list-a", *token);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "a/secret key");
}

TEST_F(IndexWalkTest, PagesThroughAPrefixWithTokensBoundToTheWalk) {
  Index("idx", {"a/1", "a/2", "a/3", "a/4", "a/5", "b/1"});
  std::vector<std::string> all;
  std::string token;
  int pages = 0;
  do {
    auto page = Walk("a/", {.page_size = 2, .page_token = token, .binding = "L"});
    ASSERT_TRUE(page.ok()) << page.status();
    all.insert(all.end(), page->keys.begin(), page->keys.end());
    token = page->next;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_THAT(all, ElementsAre("a/1", "a/2", "a/3", "a/4", "a/5"));
  EXPECT_EQ(pages, 3);

  auto first = Walk("a/", {.page_size = 2, .binding = "L"});
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->next.empty());
  // The token holds no key in the clear.
  EXPECT_EQ(first->next.find("a/2"), std::string::npos);
  // Another binding, another prefix, another projection: refused.
  ExpectNotAToken(Walk("a/", {.page_size = 2, .page_token = first->next, .binding = "M"}).status());
  ExpectNotAToken(Walk("b/", {.page_size = 2, .page_token = first->next, .binding = "L"}).status());
  ExpectNotAToken(WalkIndex(*store_, "other", "a/",
                            {.page_size = 2, .page_token = first->next, .binding = "L"},
                            [](const std::string&) { return WalkStep::kKept; })
                      .status());
  // A token of a stream page does not position a walk, nor the other way round.
  ExpectNotAToken(
      ReadStreamPage(*store_, "s", {.page_size = 2, .page_token = first->next, .binding = "L"})
          .status());
}

TEST_F(IndexWalkTest, ASparseListMovesOnPastTheRowsExamined) {
  std::vector<std::string> keys;
  for (int i = 0; i < 30; ++i) keys.push_back(absl::StrCat("k/", 100 + i));
  Index("idx", keys);
  const auto only_last = [](const std::string& k) { return k == "k/129"; };
  std::string token;
  int pages = 0;
  std::vector<std::string> kept;
  do {
    auto page = Walk("k/", {.page_size = 5, .page_token = token, .binding = "L", .max_examined = 7},
                     only_last);
    ASSERT_TRUE(page.ok()) << page.status();
    kept.insert(kept.end(), page->keys.begin(), page->keys.end());
    token = page->next;
    ++pages;
  } while (!token.empty() && pages < 20);
  EXPECT_THAT(kept, ElementsAre("k/129"));
  EXPECT_EQ(pages, 5);  // 7 + 7 + 7 + 7 + 2 rows examined
}

TEST_F(IndexWalkTest, StreamPagesResumeAfterTheLastEventReturned) {
  for (int i = 0; i < 5; ++i) {
    AppendRequest req;
    req.stream_id = "s-1";
    req.events.push_back({.event_type = "t", .partition_key = "1", .payload = absl::StrCat(i)});
    ASSERT_TRUE(store_->Append(req).ok());
  }
  std::vector<uint64_t> versions;
  std::string token;
  int pages = 0;
  do {
    auto page = ReadStreamPage(*store_, "s-1", {.page_size = 2, .page_token = token, .binding = "H"});
    ASSERT_TRUE(page.ok()) << page.status();
    for (const EventEnvelope& e : page->events) versions.push_back(e.stream_version());
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_THAT(versions, ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ(pages, 3);
  auto first = ReadStreamPage(*store_, "s-1", {.page_size = 2, .binding = "H"});
  ASSERT_TRUE(first.ok());
  ExpectNotAToken(
      ReadStreamPage(*store_, "s-2", {.page_size = 2, .page_token = first->next_page_token,
                                      .binding = "H"})
          .status());
  ExpectNotAToken(
      ReadStreamPage(*store_, "s-1", {.page_size = 2, .page_token = first->next_page_token,
                                      .binding = "I"})
          .status());
  ExpectNotAToken(
      ReadStreamPage(*store_, "s-1", {.page_size = 2, .page_token = "3", .binding = "H"}).status());
}

// The same writes whether the keys are few (compared directly) or many (looked
// up in a set): deletes of the old keys gone, then puts of the new ones, each in
// its list's order.
TEST(IndexKeyWritesTest, DeletesWhatIsGoneAndPutsWhatIsNewForFewAndManyKeys) {
  for (int n : {3, 5000}) {
    std::vector<std::string> old_keys, new_keys;
    for (int i = 0; i < n; ++i) old_keys.push_back(absl::StrCat("k", i));
    for (int i = n / 2; i < n + n / 2; ++i) new_keys.push_back(absl::StrCat("k", i));
    std::vector<ProjectionWrite> out;
    IndexKeyWrites("idx", old_keys, new_keys, out);
    ASSERT_EQ(out.size(), static_cast<size_t>(2 * (n / 2))) << n;
    for (int i = 0; i < n / 2; ++i) {
      EXPECT_EQ(out[i].kind, ProjectionWrite::Kind::kDelete);
      EXPECT_EQ(out[i].key, absl::StrCat("k", i));
      const ProjectionWrite& put = out[n / 2 + i];
      EXPECT_EQ(put.kind, ProjectionWrite::Kind::kPut);
      EXPECT_EQ(put.key, absl::StrCat("k", n + i));
      EXPECT_EQ(put.projection, "idx");
    }
  }
}

}  // namespace
}  // namespace crm::eventstore
