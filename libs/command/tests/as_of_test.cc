// ReportTimeOf: the time a report is taken at (crm/command/as_of.h).
#include "crm/command/as_of.h"

#include "gtest/gtest.h"

namespace crm::command {
namespace {

// A report request as the services' protos have it.
struct Request {
  std::optional<google::protobuf::Timestamp> ts;
  bool has_as_of() const { return ts.has_value(); }
  const google::protobuf::Timestamp& as_of() const { return *ts; }
};

const absl::Time kNow = absl::FromUnixSeconds(1793610000);

TEST(ReportTimeTest, NowWithoutAsOf) {
  absl::StatusOr<ReportTime> t = ReportTimeOf(Request{}, kNow);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->as_of, std::nullopt);
  EXPECT_EQ(t->at, kNow);
}

TEST(ReportTimeTest, AsOfInThePastOrNowButNotInTheFuture) {
  absl::StatusOr<ReportTime> t =
      ReportTimeOf(Request{ToProtoTimestamp(kNow - absl::Hours(1))}, kNow);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->as_of, kNow - absl::Hours(1));
  EXPECT_EQ(t->at, kNow - absl::Hours(1));
  EXPECT_TRUE(ReportTimeOf(Request{ToProtoTimestamp(kNow)}, kNow).ok());
  absl::Status s = ReportTimeOf(Request{ToProtoTimestamp(kNow + absl::Seconds(1))}, kNow).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "as_of: must not be in the future");
  google::protobuf::Timestamp bad;
  bad.set_nanos(-1);
  s = ReportTimeOf(Request{bad}, kNow).status();
  EXPECT_EQ(s.message(), "as_of: not a valid timestamp");
}

}  // namespace
}  // namespace crm::command
