// Given/when/then tests of the interaction aggregate: given these events, when
// this command, then these events (or this error). Time is fixed at kNow, the
// actor is "alice" and ids are chosen by the test, so every expected event is
// exact.
#include "crm/interaction/domain/interaction_aggregate.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "common/testing/proto_testing.h"
#include "domain/testing/aggregate_test.h"

namespace crm::interaction {
namespace {

using ::crm::testing::DumpMessages;
using ::crm::testing::EqualsProto;
using ::crm::testing::TextProto;

using ::google::protobuf::TextFormat;
using ::testing::ValuesIn;
using Code = absl::StatusCode;

constexpr char kInteractionId[] = "i-1";
constexpr char kCustomerId[] = "cust-1";
// Text protos below spell these as { seconds: N }.
const absl::Time kNow = absl::FromUnixSeconds(1710489600);       // 2024-03-15T08:00:00Z
const absl::Time kEarlier = absl::FromUnixSeconds(1710403200);   // one day before
const absl::Time kTomorrow = absl::FromUnixSeconds(1710576000);  // one day after
// kNow + 5 min (the allowed clock skew) is 1710489900; one second more is refused.

CustomerRef Customer() {
  return {.customer_id = kCustomerId, .owner = "rep-1", .region = "north"};
}

std::string Long(size_t n) { return std::string(n, 'x'); }

// `count` repeats of `field: "<prefix><i>"`, as text format.
std::string Repeated(const std::string& field, int count, const std::string& prefix = "v") {
  std::string out;
  for (int i = 0; i < count; ++i) out += field + ": '" + prefix + std::to_string(i) + "' ";
  return out;
}

// An event of interaction kInteractionId of customer kCustomerId (unless the
// text names others).
v1::InteractionEvent Event(const std::string& text) {
  v1::InteractionEvent event = TextProto<v1::InteractionEvent>(text);
  if (event.interaction_id().empty()) event.set_interaction_id(kInteractionId);
  if (event.customer_id().empty()) event.set_customer_id(kCustomerId);
  return event;
}

// One Decide overload per command, so When() takes any request. Creating
// commands ignore the state and create interaction kInteractionId of Customer().
absl::StatusOr<Events> Decide(const v1::Interaction&, const v1::PlanVisitRequest& r,
                              const DecideContext& c) {
  return DecidePlanVisit(r, kInteractionId, Customer(), c);
}
absl::StatusOr<Events> Decide(const v1::Interaction&, const v1::LogFollowUpRequest& r,
                              const DecideContext& c) {
  return DecideLogFollowUp(r, kInteractionId, Customer(), c);
}
absl::StatusOr<Events> Decide(const v1::Interaction&, const v1::PlanCareRequest& r,
                              const DecideContext& c) {
  return DecidePlanCare(r, kInteractionId, Customer(), c);
}
absl::StatusOr<Events> Decide(const v1::Interaction&, const v1::RecordSatisfactionRequest& r,
                              const DecideContext& c) {
  return DecideRecordSatisfaction(r, kInteractionId, Customer(), c);
}
absl::StatusOr<Events> Decide(const v1::Interaction& s, const v1::RescheduleVisitRequest& r,
                              const DecideContext& c) {
  return DecideRescheduleVisit(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Interaction& s, const v1::CancelVisitRequest& r,
                              const DecideContext& c) {
  return DecideCancelVisit(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Interaction& s, const v1::RecordVisitRequest& r,
                              const DecideContext& c) {
  return DecideRecordVisit(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Interaction& s, const v1::RecordRevisitRequest& r,
                              const DecideContext& c) {
  return DecideRecordRevisit(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Interaction& s, const v1::CompleteCareRequest& r,
                              const DecideContext& c) {
  return DecideCompleteCare(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Interaction& s, const v1::EvaluateCareRequest& r,
                              const DecideContext& c) {
  return DecideEvaluateCare(s, r, c);
}

// --- Events the tests start from --------------------------------------------

// A visit planned for tomorrow.
v1::InteractionEvent VisitPlanned() {
  return Event(R"pb(visit_planned {
                      plan {
                        purpose: "Quarterly review"
                        scheduled_at { seconds: 1710576000 }
                        visitors: "rep-1"
                      }
                      owner: "rep-1"
                      region: "north"
                    })pb");
}
v1::InteractionEvent VisitCancelled() {
  return Event(R"pb(visit_cancelled { reason: "customer busy" })pb");
}
v1::InteractionEvent VisitRecorded() {
  return Event(R"pb(visit_recorded {
                      record {
                        summary: "Went well"
                        visited_at { seconds: 1710403200 }
                      }
                    })pb");
}
v1::InteractionEvent FollowUpLogged() {
  return Event(R"pb(follow_up_logged {
                      follow_up {
                        channel: CHANNEL_PHONE
                        content: "Called about the offer"
                        performed_by: "rep-1"
                        performed_at { seconds: 1710403200 }
                      }
                      owner: "rep-1"
                      region: "north"
                    })pb");
}
// A class A revisit due at `due_seconds` (tomorrow by default).
v1::InteractionEvent RevisitScheduled(int64_t due_seconds = 1710576000) {
  return Event("revisit_scheduled { due_at { seconds: " + std::to_string(due_seconds) +
               " } cadence_class: 'A' cadence_days: 91 owner: 'rep-1' region: 'north' }");
}
v1::InteractionEvent RevisitCompleted() {
  return Event(R"pb(revisit_completed {
                      record {
                        satisfaction: 4
                        performed_at { seconds: 1710403200 }
                      }
                    })pb");
}
v1::InteractionEvent RevisitReplanned() {
  return Event(R"pb(revisit_replanned { replaced_by: "i-2" new_class: "B" })pb");
}
v1::InteractionEvent RevisitOverdue() {
  return Event(R"pb(revisit_overdue {
                      due_at { seconds: 1710403200 }
                      detected_at { seconds: 1710489600 }
                    })pb");
}
v1::InteractionEvent CarePlanned() {
  return Event(R"pb(care_planned {
                      care {
                        kind: CARE_KIND_HOLIDAY_GREETING
                        title: "Spring Festival greeting"
                        planned_for { seconds: 1710576000 }
                        status: CARE_STATUS_PLANNED
                      }
                      owner: "rep-1"
                      region: "north"
                    })pb");
}
v1::InteractionEvent CareDone() {
  return Event(R"pb(care_done {
                      done_at { seconds: 1710403200 }
                      outcome: "Card sent"
                    })pb");
}
v1::InteractionEvent CareEvaluated() {
  return Event(R"pb(care_evaluated { evaluation_score: 5 evaluation: "Appreciated" })pb");
}
v1::InteractionEvent SatisfactionRecorded() {
  return Event(R"pb(satisfaction_recorded {
                      survey {
                        score: 4
                        surveyed_at { seconds: 1710403200 }
                      }
                      owner: "rep-1"
                      region: "north"
                    })pb");
}

// --- The fixture --------------------------------------------------------------

struct InteractionTraits {
  using State = v1::Interaction;
  using Event = v1::InteractionEvent;
  using Context = DecideContext;
  static void Apply(State& s, const Event& e, const EventMeta& m) { interaction::Apply(s, e, m); }
  static void CheckIds(const Event& e) {
    EXPECT_EQ(e.interaction_id(), kInteractionId);
    EXPECT_EQ(e.customer_id(), kCustomerId);
  }
};

// The shared given/when/then fixture (libs/domain/testing): given events are
// folded a day ago by "bob"; commands run at kNow as "alice".
class InteractionTest : public domain::testing::AggregateTest<InteractionTraits> {
 protected:
  InteractionTest() {
    given_at_ = kEarlier;
    ctx_.actor = "alice";
    ctx_.now = kNow;
  }

  using AggregateTest::When;
  template <typename Request>
  void When(const Request& request) {
    When(Decide(state_, request, ctx_));
  }

  void ThenInteractionNotFound() { ThenFailed(Code::kNotFound, "interaction not found"); }
};

// A request that must be refused: the command's valid base request with
// `merge` (text format) merged in.
struct BadCase {
  std::string name;
  std::string merge;
  std::string field;
  std::string message = "";  // exact message, when it matters
};

std::string CaseName(const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; }
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

template <typename Request>
class BadInputTest : public InteractionTest, public ::testing::WithParamInterface<BadCase> {
 protected:
  // Given `given`, `base` merged with the case is refused with INVALID_ARGUMENT
  // (request fields are checked before the state) and nothing changes.
  void Run(const std::string& base, const std::vector<v1::InteractionEvent>& given = {}) {
    Given(given);
    Request request = TextProto<Request>(base);
    ASSERT_TRUE(TextFormat::MergeFromString(GetParam().merge, &request)) << GetParam().merge;
    const uint64_t version = state_.version();
    When(request);
    ThenError(Code::kInvalidArgument, GetParam().field, GetParam().message);
    EXPECT_EQ(state_.version(), version);
  }
};

// =============================================================================
// Existence, ids and types
// =============================================================================

TEST_F(InteractionTest, EveryCommandOnAnExistingInteractionNeedsOne) {
  When(TextProto<v1::RescheduleVisitRequest>(R"pb(scheduled_at { seconds: 1710576000 })pb"));
  ThenInteractionNotFound();
  When(TextProto<v1::CancelVisitRequest>(R"pb(reason: "r")pb"));
  ThenInteractionNotFound();
  When(TextProto<v1::RecordVisitRequest>(R"pb(record { summary: "s" })pb"));
  ThenInteractionNotFound();
  When(TextProto<v1::RecordRevisitRequest>(R"pb(record { satisfaction: 3 })pb"));
  ThenInteractionNotFound();
  When(v1::CompleteCareRequest());
  ThenInteractionNotFound();
  When(TextProto<v1::EvaluateCareRequest>(R"pb(evaluation_score: 3)pb"));
  ThenInteractionNotFound();
  result_ = DecideReplanRevisit(state_, "i-2", "B", ctx_);
  ThenInteractionNotFound();
  result_ = DecideReportOverdue(state_, ctx_);
  ThenInteractionNotFound();
  // Even an invalid request: the interaction is looked at first.
  When(v1::RecordVisitRequest());
  ThenInteractionNotFound();
}

TEST_F(InteractionTest, CreatingCommandsNeedTheIdsTheServiceChose) {
  const auto visit = TextProto<v1::PlanVisitRequest>(R"pb(plan {
                                                        purpose: "p"
                                                        scheduled_at { seconds: 1710576000 }
                                                        visitors: "rep-1"
                                                      })pb");
  result_ = DecidePlanVisit(visit, "", Customer(), ctx_);
  ThenError(Code::kInvalidArgument, "interaction_id", "interaction_id: required");
  CustomerRef no_customer = Customer();
  no_customer.customer_id = "";
  result_ = DecidePlanVisit(visit, kInteractionId, no_customer, ctx_);
  ThenError(Code::kInvalidArgument, "customer_id", "customer_id: required");
  const auto follow_up =
      TextProto<v1::LogFollowUpRequest>(R"pb(follow_up { channel: CHANNEL_PHONE content: "c" })pb");
  result_ = DecideLogFollowUp(follow_up, "", Customer(), ctx_);
  ThenError(Code::kInvalidArgument, "interaction_id");
  const auto care = TextProto<v1::PlanCareRequest>(R"pb(care {
                                                      kind: CARE_KIND_SEMINAR
                                                      title: "t"
                                                      planned_for { seconds: 1710576000 }
                                                    })pb");
  result_ = DecidePlanCare(care, kInteractionId, no_customer, ctx_);
  ThenError(Code::kInvalidArgument, "customer_id");
  const auto survey = TextProto<v1::RecordSatisfactionRequest>(R"pb(survey { score: 3 })pb");
  result_ = DecideRecordSatisfaction(survey, "", Customer(), ctx_);
  ThenError(Code::kInvalidArgument, "interaction_id");
  result_ =
      DecideScheduleRevisit("", Customer(), kTomorrow, {.cadence_class = "A", .days = 91}, ctx_);
  ThenError(Code::kInvalidArgument, "interaction_id");
  result_ = DecideScheduleRevisit(kInteractionId, no_customer, kTomorrow,
                                  {.cadence_class = "A", .days = 91}, ctx_);
  ThenError(Code::kInvalidArgument, "customer_id");
}

TEST_F(InteractionTest, CommandsForAnotherTypeAreRefusedNamingBothTypes) {
  Given({FollowUpLogged()});
  When(TextProto<v1::RescheduleVisitRequest>(R"pb(scheduled_at { seconds: 1710576000 })pb"));
  ThenError(Code::kFailedPrecondition, "type", "type: interaction i-1 is a FOLLOW_UP, not a VISIT");
  When(TextProto<v1::CancelVisitRequest>(R"pb(reason: "r")pb"));
  ThenError(Code::kFailedPrecondition, "type", "type: interaction i-1 is a FOLLOW_UP, not a VISIT");
  When(TextProto<v1::RecordVisitRequest>(R"pb(record { summary: "s" })pb"));
  ThenError(Code::kFailedPrecondition, "type", "type: interaction i-1 is a FOLLOW_UP, not a VISIT");
  When(TextProto<v1::RecordRevisitRequest>(R"pb(record { satisfaction: 3 })pb"));
  ThenError(Code::kFailedPrecondition, "type",
            "type: interaction i-1 is a FOLLOW_UP, not a REVISIT");
  When(v1::CompleteCareRequest());
  ThenError(Code::kFailedPrecondition, "type", "type: interaction i-1 is a FOLLOW_UP, not a CARE");
  When(TextProto<v1::EvaluateCareRequest>(R"pb(evaluation_score: 3)pb"));
  ThenError(Code::kFailedPrecondition, "type", "type: interaction i-1 is a FOLLOW_UP, not a CARE");
  result_ = DecideReplanRevisit(state_, "i-2", "B", ctx_);
  ThenError(Code::kFailedPrecondition, "type",
            "type: interaction i-1 is a FOLLOW_UP, not a REVISIT");
  result_ = DecideReportOverdue(state_, ctx_);
  ThenError(Code::kFailedPrecondition, "type",
            "type: interaction i-1 is a FOLLOW_UP, not a REVISIT");
}

TEST_F(InteractionTest, CareCommandsOnAVisitAndRevisitCommandsOnACare) {
  Given({VisitPlanned()});
  When(v1::CompleteCareRequest());
  ThenError(Code::kFailedPrecondition, "type", "type: interaction i-1 is a VISIT, not a CARE");
  state_ = v1::Interaction();
  Given({CarePlanned()});
  When(TextProto<v1::RecordRevisitRequest>(R"pb(record { satisfaction: 3 })pb"));
  ThenError(Code::kFailedPrecondition, "type", "type: interaction i-1 is a CARE, not a REVISIT");
  When(TextProto<v1::RecordVisitRequest>(R"pb(record { summary: "s" })pb"));
  ThenError(Code::kFailedPrecondition, "type", "type: interaction i-1 is a CARE, not a VISIT");
}

// =============================================================================
// PlanVisit
// =============================================================================

const char kPlanVisitBase[] = R"pb(customer_id: "cust-1"
                                   plan {
                                     purpose: "Quarterly review"
                                     scheduled_at { seconds: 1710576000 }
                                     visitors: "rep-1"
                                   })pb";

TEST_F(InteractionTest, PlanVisitEmitsVisitPlannedWithTheCustomersOwnerAndRegion) {
  When(TextProto<v1::PlanVisitRequest>(R"pb(
    options { command_id: "cmd-1" }
    customer_id: "cust-1"
    plan {
      purpose: "  Quarterly review  "
      scheduled_at { seconds: 1710576000 }
      visitors: " rep-1 "
      visitors: "Wang Wu"
      agenda: "Renewal; new requirements"
      materials: " price list "
      materials: "doc://proposal-7"
      confirmed_with_customer: true
    })pb"));
  Then({Event(R"pb(visit_planned {
                     plan {
                       purpose: "Quarterly review"
                       scheduled_at { seconds: 1710576000 }
                       visitors: "rep-1"
                       visitors: "Wang Wu"
                       agenda: "Renewal; new requirements"
                       materials: "price list"
                       materials: "doc://proposal-7"
                       confirmed_with_customer: true
                     }
                     owner: "rep-1"
                     region: "north"
                   })pb")});
  EXPECT_EQ(state_.type(), v1::INTERACTION_TYPE_VISIT);
  EXPECT_EQ(state_.visit().status(), v1::VISIT_STATUS_PLANNED);
  EXPECT_EQ(state_.owner(), "rep-1");
  EXPECT_EQ(state_.region(), "north");
  EXPECT_EQ(state_.created_by(), "alice");
  EXPECT_EQ(state_.occurs_at().seconds(), 1710576000);
}

TEST_F(InteractionTest, PlanVisitUpToOneDayInThePastIsAllowed) {
  auto request = TextProto<v1::PlanVisitRequest>(kPlanVisitBase);
  request.mutable_plan()->mutable_scheduled_at()->set_seconds(1710403200);  // kNow - 24h
  When(request);
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_EQ((*result_)[0].visit_planned().plan().scheduled_at().seconds(), 1710403200);
}

TEST_F(InteractionTest, PlanVisitAcceptsAHundredVisitors) {
  auto request = TextProto<v1::PlanVisitRequest>(kPlanVisitBase);
  ASSERT_TRUE(TextFormat::MergeFromString("plan { " + Repeated("visitors", 99) + "}", &request));
  When(request);
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_EQ((*result_)[0].visit_planned().plan().visitors_size(), 100);
}

using PlanVisitBadInput = BadInputTest<v1::PlanVisitRequest>;
TEST_P(PlanVisitBadInput, IsRefused) {
  // Cases clear the base's field first where they need to.
  Run(R"pb(customer_id: "cust-1")pb");
}
INSTANTIATE_TEST_SUITE_P(
    Cases, PlanVisitBadInput,
    ValuesIn(std::vector<BadCase>{
        {"PurposeMissing", R"pb(plan {
                                  scheduled_at { seconds: 1710576000 }
                                  visitors: "rep-1"
                                })pb",
         "plan.purpose", "plan.purpose: required"},
        {"PurposeBlank", R"pb(plan {
                                purpose: " \t"
                                scheduled_at { seconds: 1710576000 }
                                visitors: "rep-1"
                              })pb",
         "plan.purpose", "plan.purpose: required"},
        {"PurposeTooLong",
         "plan { purpose: '" + Long(2001) +
             "' scheduled_at { seconds: 1710576000 } visitors: 'rep-1' }",
         "plan.purpose", "plan.purpose: at most 2000 characters"},
        {"PurposeNotUtf8", R"pb(plan {
                                  purpose: "\xff"
                                  scheduled_at { seconds: 1710576000 }
                                  visitors: "rep-1"
                                })pb",
         "plan.purpose", "plan.purpose: not valid UTF-8"},
        {"ScheduledAtMissing", R"pb(plan { purpose: "p" visitors: "rep-1" })pb",
         "plan.scheduled_at", "plan.scheduled_at: required"},
        {"ScheduledAtInvalid", R"pb(plan {
                                      purpose: "p"
                                      scheduled_at { seconds: 1710576000 nanos: -1 }
                                      visitors: "v"
                                    })pb",
         "plan.scheduled_at", "plan.scheduled_at: not a valid timestamp"},
        {"ScheduledAtMoreThanADayInThePast", R"pb(plan {
                                                    purpose: "p"
                                                    scheduled_at { seconds: 1710403199 }
                                                    visitors: "rep-1"
                                                  })pb",
         "plan.scheduled_at", "plan.scheduled_at: in the past"},
        {"NoVisitor", R"pb(plan {
                             purpose: "p"
                             scheduled_at { seconds: 1710576000 }
                           })pb",
         "plan.visitors", "plan.visitors: at least one visitor required"},
        {"BlankVisitor",
         R"pb(plan {
                purpose: "p"
                scheduled_at { seconds: 1710576000 }
                visitors: "rep-1"
                visitors: " "
              })pb",
         "plan.visitors[1]", "plan.visitors[1]: required"},
        {"VisitorTooLong",
         "plan { purpose: 'p' scheduled_at { seconds: 1710576000 } visitors: '" + Long(257) + "' }",
         "plan.visitors[0]", "plan.visitors[0]: at most 256 characters"},
        {"RepeatedVisitor",
         R"pb(plan {
                purpose: "p"
                scheduled_at { seconds: 1710576000 }
                visitors: "rep-1"
                visitors: "rep-2"
                visitors: " rep-1 "
              })pb",
         "plan.visitors[2]", "plan.visitors[2]: repeats plan.visitors[0]"},
        {"TooManyVisitors",
         "plan { purpose: 'p' scheduled_at { seconds: 1710576000 } " + Repeated("visitors", 101) +
             "}",
         "plan.visitors", "plan.visitors: at most 100 items"},
        {"AgendaTooLong",
         "plan { purpose: 'p' scheduled_at { seconds: 1710576000 } visitors: 'v' agenda: '" +
             Long(2001) + "' }",
         "plan.agenda", "plan.agenda: at most 2000 characters"},
        {"BlankMaterial",
         R"pb(plan {
                purpose: "p"
                scheduled_at { seconds: 1710576000 }
                visitors: "v"
                materials: ""
              })pb",
         "plan.materials[0]", "plan.materials[0]: required"},
        {"TooManyMaterials",
         "plan { purpose: 'p' scheduled_at { seconds: 1710576000 } visitors: 'v' " +
             Repeated("materials", 101) + "}",
         "plan.materials", "plan.materials: at most 100 items"},
    }),
    CaseName);

// =============================================================================
// RescheduleVisit
// =============================================================================

TEST_F(InteractionTest, RescheduleVisitRecordsFromToAndReasonAndMovesTheTimeline) {
  Given({VisitPlanned()});
  When(TextProto<v1::RescheduleVisitRequest>(R"pb(interaction_id: "i-1"
                                              scheduled_at { seconds: 1710662400 }
                                              reason: "customer travelling")pb"));
  Then({Event(R"pb(visit_rescheduled {
                     from { seconds: 1710576000 }
                     to { seconds: 1710662400 }
                     reason: "customer travelling"
                   })pb")});
  EXPECT_EQ(state_.visit().plan().scheduled_at().seconds(), 1710662400);
  EXPECT_EQ(state_.occurs_at().seconds(), 1710662400);
  EXPECT_EQ(state_.visit().status(), v1::VISIT_STATUS_PLANNED);
  EXPECT_EQ(state_.version(), 2u);
}

TEST_F(InteractionTest, RescheduleVisitToNowWithinClockSkew) {
  Given({VisitPlanned()});
  When(TextProto<v1::RescheduleVisitRequest>(R"pb(scheduled_at { seconds: 1710489300 })pb"));
  Then({Event(R"pb(visit_rescheduled {
                     from { seconds: 1710576000 }
                     to { seconds: 1710489300 }
                   })pb")});
}

TEST_F(InteractionTest, RescheduleVisitToTheSameTimeIsRefused) {
  Given({VisitPlanned()});
  When(TextProto<v1::RescheduleVisitRequest>(R"pb(scheduled_at { seconds: 1710576000 })pb"));
  ThenError(Code::kFailedPrecondition, "scheduled_at",
            "scheduled_at: already scheduled at 2024-03-16T08:00:00Z");
}

TEST_F(InteractionTest, RescheduleOnlyAPlannedVisit) {
  Given({VisitPlanned(), VisitCancelled()});
  When(TextProto<v1::RescheduleVisitRequest>(R"pb(scheduled_at { seconds: 1710662400 })pb"));
  ThenError(Code::kFailedPrecondition, "visit.status", "visit.status: visit was cancelled");
  state_ = v1::Interaction();
  Given({VisitPlanned(), VisitRecorded()});
  When(TextProto<v1::RescheduleVisitRequest>(R"pb(scheduled_at { seconds: 1710662400 })pb"));
  ThenError(Code::kFailedPrecondition, "visit.status", "visit.status: visit already COMPLETED");
}

using RescheduleBadInput = BadInputTest<v1::RescheduleVisitRequest>;
TEST_P(RescheduleBadInput, IsRefused) { Run(R"pb(interaction_id: "i-1")pb", {VisitPlanned()}); }
INSTANTIATE_TEST_SUITE_P(
    Cases, RescheduleBadInput,
    ValuesIn(std::vector<BadCase>{
        {"TimeMissing", R"pb(reason: "r")pb", "scheduled_at", "scheduled_at: required"},
        {"TimeInvalid", R"pb(scheduled_at { seconds: 253402300800 })pb", "scheduled_at",
         "scheduled_at: not a valid timestamp"},
        {"TimeInThePast", R"pb(scheduled_at { seconds: 1710489299 })pb", "scheduled_at",
         "scheduled_at: in the past"},
        {"ReasonTooLong", "scheduled_at { seconds: 1710662400 } reason: '" + Long(2001) + "'",
         "reason", "reason: at most 2000 characters"},
    }),
    CaseName);

// =============================================================================
// CancelVisit
// =============================================================================

TEST_F(InteractionTest, CancelVisitRecordsTheReason) {
  Given({VisitPlanned()});
  When(TextProto<v1::CancelVisitRequest>(R"pb(interaction_id: "i-1" reason: "customer busy")pb"));
  Then({Event(R"pb(visit_cancelled { reason: "customer busy" })pb")});
  EXPECT_EQ(state_.visit().status(), v1::VISIT_STATUS_CANCELLED);
  EXPECT_EQ(state_.visit().cancel_reason(), "customer busy");
  EXPECT_EQ(state_.occurs_at().seconds(), 1710576000);  // stays where it was planned
}

TEST_F(InteractionTest, CancelVisitNeedsAReason) {
  Given({VisitPlanned()});
  When(v1::CancelVisitRequest());
  ThenError(Code::kInvalidArgument, "reason", "reason: required");
  When(TextProto<v1::CancelVisitRequest>(R"pb(reason: "  ")pb"));
  ThenError(Code::kInvalidArgument, "reason", "reason: required");
  When(TextProto<v1::CancelVisitRequest>("reason: '" + Long(2001) + "'"));
  ThenError(Code::kInvalidArgument, "reason", "reason: at most 2000 characters");
}

TEST_F(InteractionTest, CancelOnlyAPlannedVisit) {
  Given({VisitPlanned(), VisitCancelled()});
  When(TextProto<v1::CancelVisitRequest>(R"pb(reason: "again")pb"));
  ThenError(Code::kFailedPrecondition, "visit.status", "visit.status: visit was cancelled");
  state_ = v1::Interaction();
  Given({VisitPlanned(), VisitRecorded()});
  When(TextProto<v1::CancelVisitRequest>(R"pb(reason: "too late")pb"));
  ThenError(Code::kFailedPrecondition, "visit.status", "visit.status: visit already COMPLETED");
}

// =============================================================================
// RecordVisit
// =============================================================================

TEST_F(InteractionTest, RecordVisitCompletesThePlannedVisit) {
  Given({VisitPlanned()});
  When(TextProto<v1::RecordVisitRequest>(R"pb(interaction_id: "i-1"
                                          record {
                                            summary: "Discussed renewal"
                                            customer_feedback: "Price too high"
                                            cooperation_intent: COOPERATION_INTENT_STRONG
                                            next_steps: "Send revised offer"
                                            visited_at { seconds: 1710486000 }
                                          })pb"));
  Then({Event(R"pb(visit_recorded {
                     record {
                       summary: "Discussed renewal"
                       customer_feedback: "Price too high"
                       cooperation_intent: COOPERATION_INTENT_STRONG
                       next_steps: "Send revised offer"
                       visited_at { seconds: 1710486000 }
                     }
                   })pb")});
  EXPECT_EQ(state_.visit().status(), v1::VISIT_STATUS_COMPLETED);
  EXPECT_EQ(state_.visit().record().summary(), "Discussed renewal");
  EXPECT_EQ(state_.occurs_at().seconds(), 1710486000);  // when it happened
  EXPECT_EQ(state_.visit().plan().scheduled_at().seconds(), 1710576000);
}

TEST_F(InteractionTest, RecordVisitDefaultsVisitedAtToNowAndAllowsClockSkew) {
  Given({VisitPlanned()});
  When(TextProto<v1::RecordVisitRequest>(R"pb(record { summary: "s" })pb"));
  Then({Event(R"pb(visit_recorded {
                     record {
                       summary: "s"
                       visited_at { seconds: 1710489600 }
                     }
                   })pb")});
  EXPECT_EQ(state_.occurs_at().seconds(), 1710489600);
  state_ = v1::Interaction();
  Given({VisitPlanned()});
  When(TextProto<v1::RecordVisitRequest>(R"pb(record {
                                            summary: "s"
                                            visited_at { seconds: 1710489900 }
                                          })pb"));
  Then({Event(R"pb(visit_recorded {
                     record {
                       summary: "s"
                       visited_at { seconds: 1710489900 }
                     }
                   })pb")});
}

TEST_F(InteractionTest, RecordingACancelledVisitIsRefused) {
  Given({VisitPlanned(), VisitCancelled()});
  When(TextProto<v1::RecordVisitRequest>(R"pb(record { summary: "s" })pb"));
  ThenError(Code::kFailedPrecondition, "visit.status", "visit.status: visit was cancelled");
}

TEST_F(InteractionTest, RecordingAVisitTwiceIsRefused) {
  Given({VisitPlanned(), VisitRecorded()});
  When(TextProto<v1::RecordVisitRequest>(R"pb(record { summary: "s" })pb"));
  ThenError(Code::kFailedPrecondition, "visit.status", "visit.status: visit already COMPLETED");
}

TEST_F(InteractionTest, AnInvalidRecordOfACancelledVisitIsAnInvalidArgument) {
  Given({VisitPlanned(), VisitCancelled()});
  When(v1::RecordVisitRequest());
  ThenError(Code::kInvalidArgument, "record.summary");
}

using RecordVisitBadInput = BadInputTest<v1::RecordVisitRequest>;
TEST_P(RecordVisitBadInput, IsRefused) { Run(R"pb(interaction_id: "i-1")pb", {VisitPlanned()}); }
INSTANTIATE_TEST_SUITE_P(
    Cases, RecordVisitBadInput,
    ValuesIn(std::vector<BadCase>{
        {"SummaryMissing", R"pb(record { customer_feedback: "f" })pb", "record.summary",
         "record.summary: required"},
        {"SummaryTooLong", "record { summary: '" + Long(2001) + "' }", "record.summary",
         "record.summary: at most 2000 characters"},
        {"FeedbackTooLong", "record { summary: 's' customer_feedback: '" + Long(2001) + "' }",
         "record.customer_feedback", "record.customer_feedback: at most 2000 characters"},
        {"UnknownIntent", R"pb(record { summary: "s" cooperation_intent: 9 })pb",
         "record.cooperation_intent", "record.cooperation_intent: unknown value 9"},
        {"NextStepsNotUtf8", R"pb(record { summary: "s" next_steps: "\xc3" })pb",
         "record.next_steps", "record.next_steps: not valid UTF-8"},
        {"VisitedInTheFuture", R"pb(record {
                                      summary: "s"
                                      visited_at { seconds: 1710489901 }
                                    })pb",
         "record.visited_at", "record.visited_at: in the future"},
        {"VisitedAtInvalid", R"pb(record {
                                    summary: "s"
                                    visited_at { seconds: 1 nanos: 1000000000 }
                                  })pb",
         "record.visited_at", "record.visited_at: not a valid timestamp"},
    }),
    CaseName);

// =============================================================================
// LogFollowUp
// =============================================================================

TEST_F(InteractionTest, LogFollowUpKeepsWhoAndWhenWhenGiven) {
  When(TextProto<v1::LogFollowUpRequest>(R"pb(customer_id: "cust-1"
                                          follow_up {
                                            channel: CHANNEL_INSTANT_MESSAGE
                                            content: "Asked about delivery dates"
                                            customer_feedback: "Satisfied"
                                            problems_solved: " delivery date "
                                            problems_solved: "invoice address"
                                            performed_by: " rep-2 "
                                            performed_at { seconds: 1710403200 }
                                          })pb"));
  Then({Event(R"pb(follow_up_logged {
                     follow_up {
                       channel: CHANNEL_INSTANT_MESSAGE
                       content: "Asked about delivery dates"
                       customer_feedback: "Satisfied"
                       problems_solved: "delivery date"
                       problems_solved: "invoice address"
                       performed_by: "rep-2"
                       performed_at { seconds: 1710403200 }
                     }
                     owner: "rep-1"
                     region: "north"
                   })pb")});
  EXPECT_EQ(state_.type(), v1::INTERACTION_TYPE_FOLLOW_UP);
  EXPECT_EQ(state_.occurs_at().seconds(), 1710403200);
}

TEST_F(InteractionTest, LogFollowUpDefaultsToTheCallerAndNow) {
  When(TextProto<v1::LogFollowUpRequest>(
      R"pb(follow_up { channel: CHANNEL_PHONE content: "Called" performed_by: "  " })pb"));
  Then({Event(R"pb(follow_up_logged {
                     follow_up {
                       channel: CHANNEL_PHONE
                       content: "Called"
                       performed_by: "alice"
                       performed_at { seconds: 1710489600 }
                     }
                     owner: "rep-1"
                     region: "north"
                   })pb")});
  EXPECT_EQ(state_.occurs_at().seconds(), 1710489600);
}

using FollowUpBadInput = BadInputTest<v1::LogFollowUpRequest>;
TEST_P(FollowUpBadInput, IsRefused) { Run(R"pb(customer_id: "cust-1")pb"); }
INSTANTIATE_TEST_SUITE_P(
    Cases, FollowUpBadInput,
    ValuesIn(std::vector<BadCase>{
        {"ChannelMissing", R"pb(follow_up { content: "c" })pb", "follow_up.channel",
         "follow_up.channel: required"},
        {"ChannelUnknown", R"pb(follow_up { channel: 9 content: "c" })pb", "follow_up.channel",
         "follow_up.channel: unknown value 9"},
        {"ContentMissing", R"pb(follow_up { channel: CHANNEL_EMAIL })pb", "follow_up.content",
         "follow_up.content: required"},
        {"ContentTooLong", "follow_up { channel: CHANNEL_EMAIL content: '" + Long(2001) + "' }",
         "follow_up.content", "follow_up.content: at most 2000 characters"},
        {"FeedbackTooLong",
         "follow_up { channel: CHANNEL_SMS content: 'c' customer_feedback: '" + Long(2001) + "' }",
         "follow_up.customer_feedback", "follow_up.customer_feedback: at most 2000 characters"},
        {"BlankProblem", R"pb(follow_up {
                                channel: CHANNEL_SMS
                                content: "c"
                                problems_solved: "x"
                                problems_solved: ""
                              })pb",
         "follow_up.problems_solved[1]", "follow_up.problems_solved[1]: required"},
        {"PerformedByTooLong",
         "follow_up { channel: CHANNEL_SMS content: 'c' performed_by: '" + Long(257) + "' }",
         "follow_up.performed_by", "follow_up.performed_by: at most 256 characters"},
        {"PerformedInTheFuture", R"pb(follow_up {
                                        channel: CHANNEL_ON_SITE
                                        content: "c"
                                        performed_at { seconds: 1710489901 }
                                      })pb",
         "follow_up.performed_at", "follow_up.performed_at: in the future"},
        {"PerformedAtInvalid", R"pb(follow_up {
                                      channel: CHANNEL_ON_SITE
                                      content: "c"
                                      performed_at { nanos: -5 }
                                    })pb",
         "follow_up.performed_at", "follow_up.performed_at: not a valid timestamp"},
    }),
    CaseName);

// =============================================================================
// RecordSatisfaction
// =============================================================================

TEST_F(InteractionTest, RecordSatisfactionKeepsScoreCommentAndTime) {
  When(TextProto<v1::RecordSatisfactionRequest>(R"pb(customer_id: "cust-1"
                                                 survey {
                                                   score: 5
                                                   comment: "Fast delivery"
                                                   surveyed_at { seconds: 1710403200 }
                                                 })pb"));
  Then({Event(R"pb(satisfaction_recorded {
                     survey {
                       score: 5
                       comment: "Fast delivery"
                       surveyed_at { seconds: 1710403200 }
                     }
                     owner: "rep-1"
                     region: "north"
                   })pb")});
  EXPECT_EQ(state_.type(), v1::INTERACTION_TYPE_SATISFACTION);
  EXPECT_EQ(state_.survey().score(), 5);
  EXPECT_EQ(state_.occurs_at().seconds(), 1710403200);
}

TEST_F(InteractionTest, RecordSatisfactionDefaultsToNow) {
  When(TextProto<v1::RecordSatisfactionRequest>(R"pb(survey { score: 1 })pb"));
  Then({Event(R"pb(satisfaction_recorded {
                     survey {
                       score: 1
                       surveyed_at { seconds: 1710489600 }
                     }
                     owner: "rep-1"
                     region: "north"
                   })pb")});
}

using SatisfactionBadInput = BadInputTest<v1::RecordSatisfactionRequest>;
TEST_P(SatisfactionBadInput, IsRefused) { Run(R"pb(customer_id: "cust-1")pb"); }
INSTANTIATE_TEST_SUITE_P(
    Cases, SatisfactionBadInput,
    ValuesIn(std::vector<BadCase>{
        {"ScoreMissing", R"pb(survey { comment: "c" })pb", "survey.score",
         "survey.score: must be 1..5"},
        {"ScoreZero", R"pb(survey { score: 0 })pb", "survey.score", "survey.score: must be 1..5"},
        {"ScoreSix", R"pb(survey { score: 6 })pb", "survey.score", "survey.score: must be 1..5"},
        {"ScoreNegative", R"pb(survey { score: -1 })pb", "survey.score",
         "survey.score: must be 1..5"},
        {"CommentTooLong", "survey { score: 3 comment: '" + Long(2001) + "' }", "survey.comment",
         "survey.comment: at most 2000 characters"},
        {"SurveyedInTheFuture", R"pb(survey {
                                       score: 3
                                       surveyed_at { seconds: 1710576000 }
                                     })pb",
         "survey.surveyed_at", "survey.surveyed_at: in the future"},
    }),
    CaseName);

// =============================================================================
// PlanCare, CompleteCare, EvaluateCare
// =============================================================================

TEST_F(InteractionTest, PlanCareStartsPlannedAndIgnoresWhatTheServiceOwns) {
  When(TextProto<v1::PlanCareRequest>(R"pb(customer_id: "cust-1"
                                       care {
                                         kind: CARE_KIND_HOLIDAY_GREETING
                                         title: " Spring Festival greeting "
                                         planned_for { seconds: 1710576000 }
                                         status: CARE_STATUS_EVALUATED
                                         done_at { seconds: 1710403200 }
                                         outcome: "x"
                                         evaluation_score: 5
                                         evaluation: "y"
                                       })pb"));
  Then({CarePlanned()});
  EXPECT_EQ(state_.type(), v1::INTERACTION_TYPE_CARE);
  EXPECT_EQ(state_.care().status(), v1::CARE_STATUS_PLANNED);
  EXPECT_EQ(state_.occurs_at().seconds(), 1710576000);
}

TEST_F(InteractionTest, PlanABirthdayWishForAContact) {
  When(TextProto<v1::PlanCareRequest>(R"pb(care {
                                         kind: CARE_KIND_BIRTHDAY_WISH
                                         title: "Birthday of Li Lei"
                                         planned_for { seconds: 1710403200 }
                                         contact_id: "c-1"
                                       })pb"));
  Then({Event(R"pb(care_planned {
                     care {
                       kind: CARE_KIND_BIRTHDAY_WISH
                       title: "Birthday of Li Lei"
                       planned_for { seconds: 1710403200 }
                       contact_id: "c-1"
                       status: CARE_STATUS_PLANNED
                     }
                     owner: "rep-1"
                     region: "north"
                   })pb")});
}

using PlanCareBadInput = BadInputTest<v1::PlanCareRequest>;
TEST_P(PlanCareBadInput, IsRefused) { Run(R"pb(customer_id: "cust-1")pb"); }
INSTANTIATE_TEST_SUITE_P(
    Cases, PlanCareBadInput,
    ValuesIn(std::vector<BadCase>{
        {"KindMissing", R"pb(care {
                               title: "t"
                               planned_for { seconds: 1710576000 }
                             })pb",
         "care.kind", "care.kind: required"},
        {"KindUnknown", R"pb(care {
                               kind: 17
                               title: "t"
                               planned_for { seconds: 1710576000 }
                             })pb",
         "care.kind", "care.kind: unknown value 17"},
        {"TitleMissing", R"pb(care {
                                kind: CARE_KIND_SEMINAR
                                planned_for { seconds: 1710576000 }
                              })pb",
         "care.title", "care.title: required"},
        {"TitleTooLong",
         "care { kind: CARE_KIND_SEMINAR title: '" + Long(201) +
             "' planned_for { seconds: 1710576000 } }",
         "care.title", "care.title: at most 200 characters"},
        {"PlannedForMissing", R"pb(care { kind: CARE_KIND_SEMINAR title: "t" })pb",
         "care.planned_for", "care.planned_for: required"},
        {"PlannedForMoreThanADayAgo", R"pb(care {
                                             kind: CARE_KIND_SEMINAR
                                             title: "t"
                                             planned_for { seconds: 1710403199 }
                                           })pb",
         "care.planned_for", "care.planned_for: in the past"},
        {"BirthdayWithoutContact",
         R"pb(care {
                kind: CARE_KIND_BIRTHDAY_WISH
                title: "t"
                planned_for { seconds: 1710576000 }
              })pb",
         "care.contact_id", "care.contact_id: required for a birthday wish"},
        {"ContactIdTooLong",
         "care { kind: CARE_KIND_APPRECIATION_EVENT title: 't' planned_for { seconds: "
         "1710576000 } contact_id: '" +
             Long(257) + "' }",
         "care.contact_id", "care.contact_id: at most 256 characters"},
    }),
    CaseName);

TEST_F(InteractionTest, CompleteCareRecordsWhenAndOutcome) {
  Given({CarePlanned()});
  When(TextProto<v1::CompleteCareRequest>(R"pb(interaction_id: "i-1"
                                           done_at { seconds: 1710486000 }
                                           outcome: "Cards sent to 12 contacts")pb"));
  Then({Event(R"pb(care_done {
                     done_at { seconds: 1710486000 }
                     outcome: "Cards sent to 12 contacts"
                   })pb")});
  EXPECT_EQ(state_.care().status(), v1::CARE_STATUS_DONE);
  EXPECT_EQ(state_.care().outcome(), "Cards sent to 12 contacts");
  EXPECT_EQ(state_.occurs_at().seconds(), 1710486000);
}

TEST_F(InteractionTest, CompleteCareDefaultsToNow) {
  Given({CarePlanned()});
  When(v1::CompleteCareRequest());
  Then({Event(R"pb(care_done { done_at { seconds: 1710489600 } })pb")});
}

TEST_F(InteractionTest, CompleteCareBadInput) {
  Given({CarePlanned()});
  When(TextProto<v1::CompleteCareRequest>(R"pb(done_at { seconds: 1710489901 })pb"));
  ThenError(Code::kInvalidArgument, "done_at", "done_at: in the future");
  When(TextProto<v1::CompleteCareRequest>("outcome: '" + Long(2001) + "'"));
  ThenError(Code::kInvalidArgument, "outcome", "outcome: at most 2000 characters");
}

TEST_F(InteractionTest, CompleteOnlyAPlannedCare) {
  Given({CarePlanned(), CareDone()});
  When(v1::CompleteCareRequest());
  ThenError(Code::kFailedPrecondition, "care.status", "care.status: care already DONE");
  Given({CareEvaluated()});
  When(v1::CompleteCareRequest());
  ThenError(Code::kFailedPrecondition, "care.status", "care.status: care already EVALUATED");
}

TEST_F(InteractionTest, EvaluateADoneCare) {
  Given({CarePlanned(), CareDone()});
  When(TextProto<v1::EvaluateCareRequest>(R"pb(interaction_id: "i-1"
                                           evaluation_score: 4
                                           evaluation: "Well received")pb"));
  Then({Event(R"pb(care_evaluated { evaluation_score: 4 evaluation: "Well received" })pb")});
  EXPECT_EQ(state_.care().status(), v1::CARE_STATUS_EVALUATED);
  EXPECT_EQ(state_.care().evaluation_score(), 4);
  EXPECT_EQ(state_.occurs_at().seconds(), 1710403200);  // stays at done_at
}

TEST_F(InteractionTest, EvaluatingAPlannedCareIsRefused) {
  Given({CarePlanned()});
  When(TextProto<v1::EvaluateCareRequest>(R"pb(evaluation_score: 4)pb"));
  ThenError(Code::kFailedPrecondition, "care.status", "care.status: care is PLANNED, not yet DONE");
}

TEST_F(InteractionTest, EvaluatingTwiceIsRefused) {
  Given({CarePlanned(), CareDone(), CareEvaluated()});
  When(TextProto<v1::EvaluateCareRequest>(R"pb(evaluation_score: 4)pb"));
  ThenError(Code::kFailedPrecondition, "care.status", "care.status: care already EVALUATED");
}

TEST_F(InteractionTest, EvaluateCareBadInput) {
  Given({CarePlanned(), CareDone()});
  for (int score : {0, 6, -3}) {
    When(TextProto<v1::EvaluateCareRequest>("evaluation_score: " + std::to_string(score)));
    ThenError(Code::kInvalidArgument, "evaluation_score", "evaluation_score: must be 1..5");
  }
  When(TextProto<v1::EvaluateCareRequest>("evaluation_score: 3 evaluation: '" + Long(2001) + "'"));
  ThenError(Code::kInvalidArgument, "evaluation", "evaluation: at most 2000 characters");
  // Request before state: an invalid score on a planned care is INVALID_ARGUMENT.
  state_ = v1::Interaction();
  Given({CarePlanned()});
  When(v1::EvaluateCareRequest());
  ThenError(Code::kInvalidArgument, "evaluation_score");
}

// =============================================================================
// Revisits: schedule, record, replan, overdue
// =============================================================================

TEST_F(InteractionTest, ScheduleRevisitOnTheCadence) {
  result_ = DecideScheduleRevisit(kInteractionId, Customer(), kTomorrow,
                                  {.cadence_class = "A", .days = 91}, ctx_);
  Then({RevisitScheduled()});
  EXPECT_EQ(state_.type(), v1::INTERACTION_TYPE_REVISIT);
  EXPECT_EQ(state_.revisit().status(), v1::REVISIT_STATUS_PLANNED);
  EXPECT_EQ(state_.revisit().cadence_class(), "A");
  EXPECT_EQ(state_.revisit().cadence_days(), 91);
  EXPECT_FALSE(state_.revisit().overdue_reported());
  EXPECT_EQ(state_.occurs_at().seconds(), 1710576000);
  EXPECT_EQ(state_.owner(), "rep-1");
}

TEST_F(InteractionTest, ScheduleRevisitAlreadyDueIsAllowed) {
  result_ = DecideScheduleRevisit(kInteractionId, Customer(), kEarlier,
                                  {.cadence_class = "", .days = 365}, ctx_);
  Then({Event(R"pb(revisit_scheduled {
                     due_at { seconds: 1710403200 }
                     cadence_days: 365
                     owner: "rep-1"
                     region: "north"
                   })pb")});
}

TEST_F(InteractionTest, ScheduleRevisitBadInput) {
  result_ = DecideScheduleRevisit(kInteractionId, Customer(), kTomorrow,
                                  {.cadence_class = "A", .days = 0}, ctx_);
  ThenError(Code::kInvalidArgument, "cadence.days", "cadence.days: must be in 1..3660");
  result_ = DecideScheduleRevisit(kInteractionId, Customer(), kTomorrow,
                                  {.cadence_class = "A", .days = 3661}, ctx_);
  ThenError(Code::kInvalidArgument, "cadence.days");
  result_ = DecideScheduleRevisit(kInteractionId, Customer(), absl::InfiniteFuture(),
                                  {.cadence_class = "A", .days = 91}, ctx_);
  ThenError(Code::kInvalidArgument, "due_at", "due_at: not a valid timestamp");
  result_ = DecideScheduleRevisit(kInteractionId, Customer(), kTomorrow,
                                  {.cadence_class = Long(257), .days = 91}, ctx_);
  ThenError(Code::kInvalidArgument, "cadence.cadence_class");
}

TEST_F(InteractionTest, RecordRevisitCompletesItAndTrimsDepartments) {
  Given({RevisitScheduled()});
  When(TextProto<v1::RecordRevisitRequest>(
      R"pb(interaction_id: "i-1"
           record {
             progress: "Phase 2 live"
             satisfaction: 4
             changed_needs: "Wants API access"
             findings { department: " product " description: "API" }
             findings { department: "finance" description: "Late invoice" }
             performed_at { seconds: 1710486000 }
           })pb"));
  Then({Event(R"pb(revisit_completed {
                     record {
                       progress: "Phase 2 live"
                       satisfaction: 4
                       changed_needs: "Wants API access"
                       findings { department: "product" description: "API" }
                       findings { department: "finance" description: "Late invoice" }
                       performed_at { seconds: 1710486000 }
                     }
                   })pb")});
  EXPECT_EQ(state_.revisit().status(), v1::REVISIT_STATUS_COMPLETED);
  EXPECT_EQ(state_.revisit().record().findings_size(), 2);
  EXPECT_EQ(state_.occurs_at().seconds(), 1710486000);  // from due_at to when it was done
  EXPECT_EQ(state_.revisit().due_at().seconds(), 1710576000);
}

TEST_F(InteractionTest, RecordRevisitDefaultsToNowAndMayBeOverdue) {
  Given({RevisitScheduled(1710403200), RevisitOverdue()});
  When(TextProto<v1::RecordRevisitRequest>(R"pb(record { satisfaction: 3 })pb"));
  Then({Event(R"pb(revisit_completed {
                     record {
                       satisfaction: 3
                       performed_at { seconds: 1710489600 }
                     }
                   })pb")});
  EXPECT_TRUE(state_.revisit().overdue_reported());
}

TEST_F(InteractionTest, CompletingAReplannedRevisitIsRefused) {
  Given({RevisitScheduled(), RevisitReplanned()});
  When(TextProto<v1::RecordRevisitRequest>(R"pb(record { satisfaction: 3 })pb"));
  ThenError(Code::kFailedPrecondition, "revisit.status",
            "revisit.status: revisit was REPLANNED (replaced by i-2)");
}

TEST_F(InteractionTest, CompletingARevisitTwiceIsRefused) {
  Given({RevisitScheduled(), RevisitCompleted()});
  When(TextProto<v1::RecordRevisitRequest>(R"pb(record { satisfaction: 3 })pb"));
  ThenError(Code::kFailedPrecondition, "revisit.status",
            "revisit.status: revisit already COMPLETED");
}

std::vector<BadCase> RecordRevisitCases() {
  std::string too_many = "record { satisfaction: 3 ";
  for (int i = 0; i < 101; ++i) too_many += "findings { department: 'd' description: 'x' } ";
  too_many += "}";
  return {
      {"SatisfactionMissing", R"pb(record { progress: "p" })pb", "record.satisfaction",
       "record.satisfaction: must be 1..5"},
      {"SatisfactionZero", R"pb(record { satisfaction: 0 })pb", "record.satisfaction",
       "record.satisfaction: must be 1..5"},
      {"SatisfactionSix", R"pb(record { satisfaction: 6 })pb", "record.satisfaction",
       "record.satisfaction: must be 1..5"},
      {"ProgressTooLong", "record { satisfaction: 3 progress: '" + Long(2001) + "' }",
       "record.progress", "record.progress: at most 2000 characters"},
      {"ChangedNeedsTooLong", "record { satisfaction: 3 changed_needs: '" + Long(2001) + "' }",
       "record.changed_needs", "record.changed_needs: at most 2000 characters"},
      {"FindingWithoutDepartment",
       R"pb(record {
              satisfaction: 3
              findings { department: "product" description: "d" }
              findings { description: "d" }
            })pb",
       "record.findings[1].department", "record.findings[1].department: required"},
      {"FindingWithoutDescription",
       R"pb(record {
              satisfaction: 3
              findings { department: "product" description: " " }
            })pb",
       "record.findings[0].description", "record.findings[0].description: required"},
      {"DepartmentTooLong",
       "record { satisfaction: 3 findings { department: '" + Long(201) + "' description: 'd' } }",
       "record.findings[0].department", "record.findings[0].department: at most 200 characters"},
      {"TooManyFindings", too_many, "record.findings", "record.findings: at most 100 items"},
      {"PerformedInTheFuture", R"pb(record {
                                      satisfaction: 3
                                      performed_at { seconds: 1710489901 }
                                    })pb",
       "record.performed_at", "record.performed_at: in the future"},
  };
}

using RecordRevisitBadInput = BadInputTest<v1::RecordRevisitRequest>;
TEST_P(RecordRevisitBadInput, IsRefused) {
  Run(R"pb(interaction_id: "i-1")pb", {RevisitScheduled()});
}
INSTANTIATE_TEST_SUITE_P(Cases, RecordRevisitBadInput, ValuesIn(RecordRevisitCases()), CaseName);

TEST_F(InteractionTest, ReplanAPlannedRevisit) {
  Given({RevisitScheduled()});
  result_ = DecideReplanRevisit(state_, "i-2", "B", ctx_);
  Then({RevisitReplanned()});
  EXPECT_EQ(state_.revisit().status(), v1::REVISIT_STATUS_REPLANNED);
  EXPECT_EQ(state_.revisit().replaced_by(), "i-2");
  EXPECT_EQ(state_.occurs_at().seconds(), 1710576000);
}

TEST_F(InteractionTest, ReplanAnOverdueRevisit) {
  Given({RevisitScheduled(1710403200), RevisitOverdue()});
  result_ = DecideReplanRevisit(state_, "i-2", "", ctx_);
  Then({Event(R"pb(revisit_replanned { replaced_by: "i-2" })pb")});
}

TEST_F(InteractionTest, ReplanOnlyFromPlanned) {
  Given({RevisitScheduled(), RevisitCompleted()});
  result_ = DecideReplanRevisit(state_, "i-2", "B", ctx_);
  ThenError(Code::kFailedPrecondition, "revisit.status",
            "revisit.status: revisit already COMPLETED");
  state_ = v1::Interaction();
  Given({RevisitScheduled(), RevisitReplanned()});
  result_ = DecideReplanRevisit(state_, "i-3", "C", ctx_);
  ThenError(Code::kFailedPrecondition, "revisit.status",
            "revisit.status: revisit was REPLANNED (replaced by i-2)");
}

TEST_F(InteractionTest, ReplanBadInput) {
  Given({RevisitScheduled()});
  result_ = DecideReplanRevisit(state_, "", "B", ctx_);
  ThenError(Code::kInvalidArgument, "replaced_by", "replaced_by: required");
  result_ = DecideReplanRevisit(state_, kInteractionId, "B", ctx_);
  ThenError(Code::kInvalidArgument, "replaced_by", "replaced_by: must not be the revisit itself");
  result_ = DecideReplanRevisit(state_, "i-2", Long(257), ctx_);
  ThenError(Code::kInvalidArgument, "new_class", "new_class: at most 256 characters");
}

TEST_F(InteractionTest, OverdueIsReportedExactlyOnce) {
  Given({RevisitScheduled(1710403200)});  // due a day ago
  result_ = DecideReportOverdue(state_, ctx_);
  Then({Event(R"pb(revisit_overdue {
                     due_at { seconds: 1710403200 }
                     detected_at { seconds: 1710489600 }
                   })pb")});
  EXPECT_TRUE(state_.revisit().overdue_reported());
  EXPECT_EQ(state_.revisit().status(), v1::REVISIT_STATUS_PLANNED);  // still to be done
  ctx_.now = kNow + absl::Hours(48);
  result_ = DecideReportOverdue(state_, ctx_);
  ThenNoEvents();
}

TEST_F(InteractionTest, NoOverdueBeforeOrAtTheDueTime) {
  Given({RevisitScheduled()});  // due tomorrow
  result_ = DecideReportOverdue(state_, ctx_);
  ThenNoEvents();
  ctx_.now = kTomorrow;
  result_ = DecideReportOverdue(state_, ctx_);
  ThenNoEvents();
  ctx_.now = kTomorrow + absl::Seconds(1);
  result_ = DecideReportOverdue(state_, ctx_);
  Then({Event(R"pb(revisit_overdue {
                     due_at { seconds: 1710576000 }
                     detected_at { seconds: 1710576001 }
                   })pb")});
}

TEST_F(InteractionTest, NoOverdueForARevisitThatIsNotPlanned) {
  Given({RevisitScheduled(1710403200), RevisitCompleted()});
  result_ = DecideReportOverdue(state_, ctx_);
  ThenNoEvents();
  state_ = v1::Interaction();
  Given({RevisitScheduled(1710403200), RevisitReplanned()});
  result_ = DecideReportOverdue(state_, ctx_);
  ThenNoEvents();
}

// =============================================================================
// Apply: folding events into the state
// =============================================================================

TEST_F(InteractionTest, VisitPlannedCreatesTheInteraction) {
  Given({VisitPlanned()});
  const auto expected = TextProto<v1::Interaction>(R"pb(
    interaction_id: "i-1"
    customer_id: "cust-1"
    type: INTERACTION_TYPE_VISIT
    version: 1
    owner: "rep-1"
    region: "north"
    created_by: "bob"
    created_at { seconds: 1710403200 }
    updated_at { seconds: 1710403200 }
    occurs_at { seconds: 1710576000 }
    visit {
      plan {
        purpose: "Quarterly review"
        scheduled_at { seconds: 1710576000 }
        visitors: "rep-1"
      }
      status: VISIT_STATUS_PLANNED
    })pb");
  EXPECT_THAT(state_, EqualsProto(expected));
}

TEST_F(InteractionTest, EveryCreatingEventSetsTypeScopeAndOccursAt) {
  struct Case {
    v1::InteractionEvent event;
    v1::InteractionType type;
    int64_t occurs_at;
  };
  for (const Case& c : std::vector<Case>{
           {VisitPlanned(), v1::INTERACTION_TYPE_VISIT, 1710576000},
           {FollowUpLogged(), v1::INTERACTION_TYPE_FOLLOW_UP, 1710403200},
           {RevisitScheduled(1710000000), v1::INTERACTION_TYPE_REVISIT, 1710000000},
           {CarePlanned(), v1::INTERACTION_TYPE_CARE, 1710576000},
           {SatisfactionRecorded(), v1::INTERACTION_TYPE_SATISFACTION, 1710403200},
       }) {
    state_ = v1::Interaction();
    Given({c.event});
    SCOPED_TRACE(EventType(c.event));
    EXPECT_EQ(state_.type(), c.type);
    EXPECT_EQ(state_.interaction_id(), kInteractionId);
    EXPECT_EQ(state_.customer_id(), kCustomerId);
    EXPECT_EQ(state_.owner(), "rep-1");
    EXPECT_EQ(state_.region(), "north");
    EXPECT_EQ(state_.created_by(), "bob");
    EXPECT_EQ(state_.created_at().seconds(), 1710403200);
    EXPECT_EQ(state_.occurs_at().seconds(), c.occurs_at);
    EXPECT_EQ(state_.version(), 1u);
  }
}

TEST_F(InteractionTest, OccursAtFollowsTheLifeOfEachType) {
  Given({VisitPlanned()});
  EXPECT_EQ(state_.occurs_at().seconds(), 1710576000);  // scheduled_at
  Given({Event(R"pb(visit_rescheduled {
                      from { seconds: 1710576000 }
                      to { seconds: 1710662400 }
                    })pb")});
  EXPECT_EQ(state_.occurs_at().seconds(), 1710662400);  // the new scheduled_at
  Given({VisitRecorded()});
  EXPECT_EQ(state_.occurs_at().seconds(), 1710403200);  // visited_at

  state_ = v1::Interaction();
  Given({RevisitScheduled()});
  EXPECT_EQ(state_.occurs_at().seconds(), 1710576000);  // due_at
  Given({RevisitCompleted()});
  EXPECT_EQ(state_.occurs_at().seconds(), 1710403200);  // performed_at

  state_ = v1::Interaction();
  Given({CarePlanned()});
  EXPECT_EQ(state_.occurs_at().seconds(), 1710576000);  // planned_for
  Given({CareDone()});
  EXPECT_EQ(state_.occurs_at().seconds(), 1710403200);  // done_at
  Given({CareEvaluated()});
  EXPECT_EQ(state_.occurs_at().seconds(), 1710403200);
}

TEST_F(InteractionTest, EveryEventMovesVersionAndUpdatedAtButNotCreation) {
  Given({CarePlanned()});
  Fold(CareDone(), kNow, "alice");
  EXPECT_EQ(state_.version(), 2u);
  EXPECT_EQ(state_.created_at().seconds(), 1710403200);
  EXPECT_EQ(state_.created_by(), "bob");
  EXPECT_EQ(state_.updated_at().seconds(), 1710489600);
  Apply(state_, CareEvaluated(),
        {.version = 7, .occurred_at = kNow + absl::Milliseconds(1500), .actor = "carol"});
  EXPECT_EQ(state_.version(), 7u);
  EXPECT_EQ(state_.updated_at().seconds(), 1710489601);
  EXPECT_EQ(state_.updated_at().nanos(), 500000000);
  EXPECT_EQ(state_.created_by(), "bob");
}

TEST_F(InteractionTest, EventsThatCannotApplyOnlyMoveTheVersion) {
  Given({VisitPlanned()});
  const v1::Interaction before = state_;
  Given({Event("interaction_id: 'i-1'"),  // no kind (e.g. one of a newer schema)
         FollowUpLogged(),                // a second creating event
         VisitPlanned(),
         RevisitReplanned(),  // events of other types
         RevisitOverdue(), CareDone(), CareEvaluated()});
  EXPECT_EQ(state_.version(), 8u);
  v1::Interaction normalized = state_;
  normalized.set_version(before.version());
  EXPECT_THAT(normalized, EqualsProto(before));
}

TEST_F(InteractionTest, ReplayingTheStreamRebuildsTheSameState) {
  When(TextProto<v1::PlanVisitRequest>(kPlanVisitBase));
  Then({VisitPlanned()});
  When(TextProto<v1::RescheduleVisitRequest>(R"pb(scheduled_at { seconds: 1710662400 })pb"));
  Then({Event(R"pb(visit_rescheduled {
                     from { seconds: 1710576000 }
                     to { seconds: 1710662400 }
                   })pb")});
  When(TextProto<v1::RecordVisitRequest>(
      R"pb(record { summary: "s" cooperation_intent: COOPERATION_INTENT_WEAK })pb"));
  Then({Event(R"pb(visit_recorded {
                     record {
                       summary: "s"
                       cooperation_intent: COOPERATION_INTENT_WEAK
                       visited_at { seconds: 1710489600 }
                     }
                   })pb")});
  v1::Interaction replayed;
  for (const auto& [event, meta] : log_) Apply(replayed, event, meta);
  EXPECT_THAT(replayed, EqualsProto(state_));
  EXPECT_EQ(replayed.version(), 3u);
  EXPECT_EQ(replayed.visit().status(), v1::VISIT_STATUS_COMPLETED);
}

// =============================================================================
// EventType, TypeName
// =============================================================================

TEST(EventTypeTest, NamesTheMessageOfTheSetKind) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"visit_planned {}", "crm.interaction.v1.VisitPlanned"},
      {"visit_rescheduled {}", "crm.interaction.v1.VisitRescheduled"},
      {"visit_cancelled {}", "crm.interaction.v1.VisitCancelled"},
      {"visit_recorded {}", "crm.interaction.v1.VisitRecorded"},
      {"follow_up_logged {}", "crm.interaction.v1.FollowUpLogged"},
      {"revisit_scheduled {}", "crm.interaction.v1.RevisitScheduled"},
      {"revisit_replanned {}", "crm.interaction.v1.RevisitReplanned"},
      {"revisit_completed {}", "crm.interaction.v1.RevisitCompleted"},
      {"revisit_overdue {}", "crm.interaction.v1.RevisitOverdue"},
      {"care_planned {}", "crm.interaction.v1.CarePlanned"},
      {"care_done {}", "crm.interaction.v1.CareDone"},
      {"care_evaluated {}", "crm.interaction.v1.CareEvaluated"},
      {"satisfaction_recorded {}", "crm.interaction.v1.SatisfactionRecorded"},
      {"opportunity_created {}", "crm.interaction.v1.OpportunityCreated"},
      {"opportunity_updated {}", "crm.interaction.v1.OpportunityUpdated"},
      {"opportunity_assigned {}", "crm.interaction.v1.OpportunityAssigned"},
      {"opportunity_stage_changed {}", "crm.interaction.v1.OpportunityStageChanged"},
      {"opportunity_probability_set {}", "crm.interaction.v1.OpportunityProbabilitySet"},
      {"opportunity_won {}", "crm.interaction.v1.OpportunityWon"},
      {"opportunity_lost {}", "crm.interaction.v1.OpportunityLost"},
      {"opportunity_reopened {}", "crm.interaction.v1.OpportunityReopened"},
      {"plan_step_added {}", "crm.interaction.v1.PlanStepAdded"},
      {"plan_step_completed {}", "crm.interaction.v1.PlanStepCompleted"},
      {"plan_step_overdue {}", "crm.interaction.v1.PlanStepOverdue"},
      {"churn_case_opened {}", "crm.interaction.v1.ChurnCaseOpened"},
      {"churn_warning_added {}", "crm.interaction.v1.ChurnWarningAdded"},
      {"retention_measure_recorded {}", "crm.interaction.v1.RetentionMeasureRecorded"},
      {"churn_review_scheduled {}", "crm.interaction.v1.ChurnReviewScheduled"},
      {"churn_case_review_overdue {}", "crm.interaction.v1.ChurnCaseReviewOverdue"},
      {"churn_case_retained {}", "crm.interaction.v1.ChurnCaseRetained"},
      {"churn_loss_confirmed {}", "crm.interaction.v1.ChurnLossConfirmed"},
      {"churn_case_won_back {}", "crm.interaction.v1.ChurnCaseWonBack"},
      {"churn_case_reassigned {}", "crm.interaction.v1.ChurnCaseReassigned"},
      {"campaign_planned {}", "crm.interaction.v1.CampaignPlanned"},
      {"campaign_updated {}", "crm.interaction.v1.CampaignUpdated"},
      {"campaign_started {}", "crm.interaction.v1.CampaignStarted"},
      {"campaign_targets_frozen {}", "crm.interaction.v1.CampaignTargetsFrozen"},
      {"campaign_cost_recorded {}", "crm.interaction.v1.CampaignCostRecorded"},
      {"campaign_invitations_sent {}", "crm.interaction.v1.CampaignInvitationsSent"},
      {"campaign_response_recorded {}", "crm.interaction.v1.CampaignResponseRecorded"},
      {"campaign_attendance_recorded {}", "crm.interaction.v1.CampaignAttendanceRecorded"},
      {"campaign_outcome_recorded {}", "crm.interaction.v1.CampaignOutcomeRecorded"},
      {"campaign_closed {}", "crm.interaction.v1.CampaignClosed"},
  };
  // Every kind of the oneof is covered.
  ASSERT_EQ(static_cast<int>(cases.size()),
            v1::InteractionEvent::descriptor()->FindOneofByName("kind")->field_count());
  for (const auto& [text, type] : cases) EXPECT_EQ(EventType(Event(text)), type) << text;
  EXPECT_EQ(EventType(v1::InteractionEvent()), "");
}

TEST(TypeNameTest, DropsThePrefix) {
  EXPECT_EQ(TypeName(v1::INTERACTION_TYPE_VISIT), "VISIT");
  EXPECT_EQ(TypeName(v1::INTERACTION_TYPE_FOLLOW_UP), "FOLLOW_UP");
  EXPECT_EQ(TypeName(v1::INTERACTION_TYPE_SATISFACTION), "SATISFACTION");
  EXPECT_EQ(TypeName(v1::INTERACTION_TYPE_UNSPECIFIED), "UNSPECIFIED");
  EXPECT_EQ(TypeName(static_cast<v1::InteractionType>(42)), "42");
}

}  // namespace
}  // namespace crm::interaction
