// CheckBounds: ids by name and by option, page tokens, other strings, repeated
// and map fields with and without a declared bound, at any depth; the count of a
// list checked before its elements; its cost, linear in what is set.
#include "crm/command/limits.h"

#include <chrono>
#include <cstdio>
#include <string>

#include "crm/command/testing/v1/bounds_test.pb.h"
#include "gtest/gtest.h"

namespace crm::command {
namespace {

namespace tv1 = ::crm::command::testing::v1;

std::string Refusal(const tv1::BoundedRequest& request) {
  const absl::Status s = CheckBounds(request, Limits());
  if (s.ok()) return "OK";
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  return std::string(s.message());
}

TEST(CheckBoundsTest, IdsByNameAndByOptionAtMost256Bytes) {
  using Setter = void (tv1::BoundedRequest::*)(const std::string&);
  const std::pair<const char*, Setter> ids[] = {
      {"id", &tv1::BoundedRequest::set_id},
      {"owner", &tv1::BoundedRequest::set_owner},
      {"region", &tv1::BoundedRequest::set_region},
      {"assignee", &tv1::BoundedRequest::set_assignee},
      {"responsible", &tv1::BoundedRequest::set_responsible},
      {"lookup_key", &tv1::BoundedRequest::set_lookup_key},
      {"subject", &tv1::BoundedRequest::set_subject},
  };
  for (const auto& [name, set] : ids) {
    tv1::BoundedRequest r;
    (r.*set)(std::string(256, 'a'));
    EXPECT_EQ(Refusal(r), "OK") << name;
    (r.*set)(std::string(257, 'a'));
    EXPECT_EQ(Refusal(r), std::string(name) + ": at most 256 bytes");
  }
  tv1::BoundedRequest r;
  r.add_customer_ids("c-1");
  r.add_customer_ids(std::string(66 << 10, 'c'));
  EXPECT_EQ(Refusal(r), "customer_ids[1]: at most 256 bytes");
}

TEST(CheckBoundsTest, PageTokensAndOtherStrings) {
  tv1::BoundedRequest r;
  r.set_page_token(std::string(4096, 't'));
  r.set_note(std::string(64 << 10, 'n'));
  r.set_blob(std::string(64 << 10, 'b'));
  EXPECT_EQ(Refusal(r), "OK");
  r.set_page_token(std::string(4097, 't'));
  EXPECT_EQ(Refusal(r), "page_token: at most 4096 bytes");
  r.clear_page_token();
  r.set_note(std::string((64 << 10) + 1, 'n'));
  EXPECT_EQ(Refusal(r), "note: at most 65536 bytes");
  r.clear_note();
  r.set_blob(std::string((64 << 10) + 1, 'b'));
  EXPECT_EQ(Refusal(r), "blob: at most 65536 bytes");
}

TEST(CheckBoundsTest, RepeatedAndMapFieldsByTheirDeclaredBoundAtAnyDepth) {
  tv1::BoundedRequest r;
  for (int i = 0; i < 5; ++i) r.add_items()->set_item_id("i");
  for (int i = 0; i < 4; ++i) (*r.mutable_counts())[std::to_string(i)] = i;
  for (int i = 0; i < 1000; ++i) r.add_numbers(i);
  for (int i = 0; i < 3; ++i) r.mutable_items(1)->add_labels("l");
  EXPECT_EQ(Refusal(r), "OK");

  r.add_items();
  EXPECT_EQ(Refusal(r), "items: at most 5 items");
  r.mutable_items()->RemoveLast();
  r.mutable_items(1)->add_labels("l");
  EXPECT_EQ(Refusal(r), "items[1].labels: at most 3 items");
  r.mutable_items(1)->mutable_labels()->RemoveLast();
  r.mutable_items(4)->set_item_id(std::string(300, 'i'));
  EXPECT_EQ(Refusal(r), "items[4].item_id: at most 256 bytes");
  r.mutable_items(4)->set_item_id("i");
  (*r.mutable_counts())["4"] = 4;
  EXPECT_EQ(Refusal(r), "counts: at most 4 items");
  r.mutable_counts()->erase("4");
  (*r.mutable_counts())[std::string(257, 'k')] = 0;
  r.mutable_counts()->erase("3");
  EXPECT_EQ(Refusal(r).substr(0, 7), "counts[");
  EXPECT_NE(Refusal(r).find("].key: at most 256 bytes"), std::string::npos) << Refusal(r);
  r.mutable_counts()->clear();
  r.add_numbers(1000);
  EXPECT_EQ(Refusal(r), "numbers: at most 1000 items");
  r.clear_numbers();
  r.mutable_single()->set_item_id(std::string(257, 's'));
  EXPECT_EQ(Refusal(r), "single.item_id: at most 256 bytes");
}

TEST(CheckBoundsTest, TheCountOfAListComesBeforeItsElements) {
  tv1::BoundedRequest r;
  for (int i = 0; i < 100000; ++i) r.add_items()->set_item_id(std::string(300, 'x'));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Refusal(r), "items: at most 5 items");
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("CheckBounds refused 100000 items in %.3f ms\n", ms);
}

// What the check costs (printed, not asserted: the machine is shared): per
// request of a typical shape, and per element of the largest list allowed.
TEST(CheckBoundsTest, CostIsLinearInWhatIsSet) {
  tv1::BoundedRequest typical;
  typical.set_id("c-0190b3c2-7a1e-7c3d-9f00-5a1b2c3d4e5f");
  typical.set_owner("alice");
  typical.set_note("a note of a few words");
  typical.mutable_single()->set_item_id("i-1");
  tv1::BoundedRequest large = typical;
  for (int i = 0; i < 1000; ++i) large.add_customer_ids("c-" + std::to_string(i));
  for (const auto& [name, request] :
       {std::pair<const char*, const tv1::BoundedRequest*>{"typical", &typical},
        {"1000 ids", &large}}) {
    constexpr int kRounds = 2000;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRounds; ++i) ASSERT_TRUE(CheckBounds(*request, Limits()).ok());
    const double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
        kRounds;
    std::printf("CheckBounds(%s request): %.0f ns\n", name, ns);
  }
}

}  // namespace
}  // namespace crm::command
