// Protobuf helpers for tests: messages written as text protos, a matcher that
// compares messages field by field and shows the differences, and a readable dump
// of a list of messages (e.g. the events a decision returned).
//
//   v1::CustomerEvent e = crm::testing::TextProto<v1::CustomerEvent>(R"pb(customer_id: "c1")pb");
//   EXPECT_THAT(events[0], crm::testing::EqualsProto(e)) << crm::testing::DumpMessages(events);
#pragma once

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace crm::testing {

// `text` parsed as a T; a test failure (and an empty message) when it does not parse.
template <typename T>
T TextProto(const std::string& text) {
  T message;
  if (!google::protobuf::TextFormat::ParseFromString(text, &message)) {
    ADD_FAILURE() << "bad text proto: " << text;
  }
  return message;
}

MATCHER_P(EqualsProto, expected, "") {
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(expected, arg)) return true;
  *result_listener << "\nexpected: " << expected.ShortDebugString()
                   << "\nactual:   " << arg.ShortDebugString() << "\ndifferences:\n"
                   << diff;
  return false;
}

// One message per line, or "(no events)" for none.
template <typename M>
std::string DumpMessages(const std::vector<M>& messages) {
  std::string out;
  for (const auto& m : messages) out += "\n  " + m.ShortDebugString();
  return out.empty() ? "(no events)" : out;
}

}  // namespace crm::testing
