// The given/when/then fixture of every aggregate's domain tests: given these
// events (folded into the state), when this command (a pure Decide), then these
// events (compared field by field, then folded) or this error (its code and the
// field its message starts with).
//
//   struct CustomerTraits {
//     using State = v1::Customer;
//     using Event = v1::CustomerEvent;
//     using Context = DecideContext;
//     static void Apply(State& s, const Event& e, const domain::EventMeta& m) { ... }
//     // Checks every event a command returned is of the aggregate under test.
//     static void CheckIds(const Event& e) { EXPECT_EQ(e.customer_id(), kCustomerId); }
//   };
//   class CustomerTest : public domain::testing::AggregateTest<CustomerTraits> { ... };
//   TEST_F(CustomerTest, AddsAContact) {
//     Given({Registered()});
//     When(DecideAddContact(state_, request, ctx_));
//     Then({ContactAdded("id-1")});
//   }
//
// Events given are folded as "bob" at given_at_; the events of a successful
// command as ctx_.actor at ctx_.now, so tests can inspect the state it produced.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/testing/proto_testing.h"
#include "crm/domain/aggregate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::domain::testing {

template <typename Traits>
class AggregateTest : public ::testing::Test {
 protected:
  // No State or Event alias here: tests have functions of those names.
  using Events = std::vector<typename Traits::Event>;
  using Code = absl::StatusCode;

  // Folds `events` into the state as if "bob" had appended them at given_at_.
  void Given(const Events& events) {
    for (const auto& e : events) Fold(e, given_at_, "bob");
  }

  // The outcome of a command: the result of a Decide call.
  void When(absl::StatusOr<Events> result) { result_ = std::move(result); }

  // The command succeeded with exactly `expected` (each also passing
  // Traits::CheckIds); the events are then folded at ctx_.now by ctx_.actor.
  void Then(const Events& expected) {
    ASSERT_TRUE(result_.ok()) << result_.status();
    const Events& actual = *result_;
    ASSERT_EQ(actual.size(), expected.size()) << crm::testing::DumpMessages(actual);
    for (size_t i = 0; i < actual.size(); ++i) {
      EXPECT_THAT(actual[i], crm::testing::EqualsProto(expected[i])) << "event " << i;
      SCOPED_TRACE("event " + std::to_string(i));
      Traits::CheckIds(actual[i]);
    }
    for (const auto& e : actual) Fold(e, ctx_.now, ctx_.actor);
  }
  void ThenNoEvents() { Then({}); }

  // The command failed with `code`, its message starting with "<field>: " (and
  // equal to `message` when given).
  void ThenError(Code code, const std::string& field, const std::string& message = "") {
    ASSERT_FALSE(result_.ok()) << "expected an error at " << field << ", got"
                               << crm::testing::DumpMessages(*result_);
    EXPECT_EQ(result_.status().code(), code) << result_.status();
    const std::string actual(result_.status().message());
    EXPECT_EQ(actual.rfind(field + ": ", 0), 0u) << "message: " << actual;
    if (!message.empty()) {
      EXPECT_EQ(actual, message);
    }
  }

  // The command failed with exactly this code and message.
  void ThenFailed(Code code, const std::string& message) {
    ASSERT_FALSE(result_.ok()) << crm::testing::DumpMessages(*result_);
    EXPECT_EQ(result_.status().code(), code) << result_.status();
    EXPECT_EQ(result_.status().message(), message);
  }

  // Applies one event with the next version, and logs it with its metadata.
  void Fold(const typename Traits::Event& event, absl::Time at, const std::string& actor) {
    const EventMeta meta{.version = state_.version() + 1, .occurred_at = at, .actor = actor};
    Traits::Apply(state_, event, meta);
    log_.push_back({event, meta});
  }

  typename Traits::Context ctx_;
  typename Traits::State state_;
  absl::Time given_at_;
  absl::StatusOr<Events> result_ = absl::UnknownError("no command yet");
  std::vector<std::pair<typename Traits::Event, EventMeta>> log_;
};

}  // namespace crm::domain::testing
