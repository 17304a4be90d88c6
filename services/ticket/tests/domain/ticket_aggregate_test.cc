// Given/when/then tests of the ticket aggregate: given these events (or a ticket
// driven to a status by the commands themselves), when this command, then these
// events (or this error). Time is a FakeClock starting on Monday 2026-12-07
// 10:00 UTC, inside the default calendar's hours (Monday to Friday 09-18 UTC);
// the SLA engine is sla::SlaEngine::Default() (NORMAL: first response 4 h,
// resolution 24 h of business time; tier "gold" halves both; warning at 80 %).
// The actor of commands is "alice", of given events "bob".
#include "crm/ticket/domain/ticket_aggregate.h"

#include <cstdint>
#include <functional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/testing/fake_clock.h"
#include "crm/common/proto_time.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "common/testing/proto_testing.h"
#include "domain/testing/aggregate_test.h"

namespace crm::ticket {
namespace {

using ::crm::testing::DumpMessages;
using ::crm::testing::EqualsProto;
using ::crm::testing::TextProto;

using ::google::protobuf::TextFormat;
using ::google::protobuf::Timestamp;
using ::testing::ValuesIn;
using Code = absl::StatusCode;

constexpr char kTicketId[] = "t-1";
constexpr char kCustomerId[] = "cust-1";

// 2026-12-<day> <hour>:<minute> UTC; day 7 is a Monday.
absl::Time At(int day, int hour, int minute = 0) {
  return absl::FromCivil(absl::CivilMinute(2026, 12, day, hour, minute), absl::UTCTimeZone());
}
const absl::Time kStart = At(7, 10);  // Monday 10:00

Timestamp Ts(absl::Time t) { return ToProtoTimestamp(t); }
absl::Time T(const Timestamp& ts) { return FromProtoTimestamp(ts); }

CustomerRef Customer() { return {.customer_id = kCustomerId, .owner = "rep-1", .region = "north"}; }

std::string Long(size_t n) { return std::string(n, 'x'); }

// An event of ticket kTicketId of customer kCustomerId.
v1::TicketEvent Event(const std::string& text) {
  v1::TicketEvent event = TextProto<v1::TicketEvent>(text);
  if (event.ticket_id().empty()) event.set_ticket_id(kTicketId);
  if (event.customer_id().empty()) event.set_customer_id(kCustomerId);
  return event;
}

// One Decide overload per command, so When() takes any request. DecideOpen
// creates ticket kTicketId of Customer().
absl::StatusOr<Events> Decide(const v1::Ticket&, const v1::OpenTicketRequest& r,
                              const DecideContext& c) {
  return DecideOpen(r, kTicketId, Customer(), c);
}
absl::StatusOr<Events> Decide(const v1::Ticket& s, const v1::AssignTicketRequest& r,
                              const DecideContext& c) {
  return DecideAssign(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Ticket& s, const v1::StartInvestigationRequest& r,
                              const DecideContext& c) {
  return DecideStartInvestigation(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Ticket& s, const v1::RecordFindingsRequest& r,
                              const DecideContext& c) {
  return DecideRecordFindings(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Ticket& s, const v1::ProposeResolutionRequest& r,
                              const DecideContext& c) {
  return DecideProposeResolution(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Ticket& s, const v1::AnswerResolutionRequest& r,
                              const DecideContext& c) {
  return DecideAnswerResolution(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Ticket& s, const v1::ResolveTicketRequest& r,
                              const DecideContext& c) {
  return DecideResolve(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Ticket& s, const v1::RecordFeedbackRequest& r,
                              const DecideContext& c) {
  return DecideRecordFeedback(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Ticket& s, const v1::CloseTicketRequest& r,
                              const DecideContext& c) {
  return DecideClose(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Ticket& s, const v1::ReopenTicketRequest& r,
                              const DecideContext& c) {
  return DecideReopen(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Ticket& s, const v1::AddCommentRequest& r,
                              const DecideContext& c) {
  return DecideAddComment(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Ticket& s, const v1::SetWaitingOnCustomerRequest& r,
                              const DecideContext& c) {
  return DecideSetWaiting(s, r, c);
}

// --- Valid requests -------------------------------------------------------------

const char kOpenBase[] = R"pb(customer_id: "cust-1"
                              type: TICKET_TYPE_COMPLAINT
                              channel: TICKET_CHANNEL_EMAIL
                              subject: "Invoice wrong")pb";
v1::OpenTicketRequest OpenRequest() { return TextProto<v1::OpenTicketRequest>(kOpenBase); }
v1::AssignTicketRequest AssignTo(const std::string& assignee, const std::string& team = "support") {
  v1::AssignTicketRequest request;
  request.set_ticket_id(kTicketId);
  request.set_assignee(assignee);
  request.set_team(team);
  return request;
}
v1::StartInvestigationRequest StartRequest() {
  return TextProto<v1::StartInvestigationRequest>(R"pb(ticket_id: "t-1")pb");
}
v1::RecordFindingsRequest FindingsRequest() {
  return TextProto<v1::RecordFindingsRequest>(
      R"pb(ticket_id: "t-1" findings { details: "Billed twice" })pb");
}
v1::ProposeResolutionRequest ProposeRequest() {
  return TextProto<v1::ProposeResolutionRequest>(
      R"pb(ticket_id: "t-1" resolution: "Credit note")pb");
}
v1::AnswerResolutionRequest Answer(bool agreed) {
  v1::AnswerResolutionRequest request;
  request.set_ticket_id(kTicketId);
  request.set_agreed(agreed);
  if (!agreed) request.set_comment("amount too low");
  return request;
}
v1::ResolveTicketRequest ResolveRequest() {
  return TextProto<v1::ResolveTicketRequest>(R"pb(ticket_id: "t-1" summary: "Credited")pb");
}
v1::RecordFeedbackRequest Feedback(bool satisfied) {
  v1::RecordFeedbackRequest request;
  request.set_ticket_id(kTicketId);
  request.set_satisfied(satisfied);
  request.set_score(satisfied ? 5 : 2);
  request.set_comment(satisfied ? "" : "too slow");
  return request;
}
v1::CloseTicketRequest CloseRequest() {
  return TextProto<v1::CloseTicketRequest>(R"pb(ticket_id: "t-1" reason: "done")pb");
}
v1::ReopenTicketRequest ReopenRequest() {
  return TextProto<v1::ReopenTicketRequest>(R"pb(ticket_id: "t-1" reason: "came back")pb");
}
v1::AddCommentRequest CommentRequest(bool customer_visible) {
  v1::AddCommentRequest request;
  request.set_ticket_id(kTicketId);
  request.set_text("We are on it");
  request.set_customer_visible(customer_visible);
  return request;
}
v1::SetWaitingOnCustomerRequest Waiting(bool waiting, const std::string& reason = "") {
  v1::SetWaitingOnCustomerRequest request;
  request.set_ticket_id(kTicketId);
  request.set_waiting(waiting);
  request.set_reason(reason.empty() ? (waiting ? "need the invoice copy" : "sent it") : reason);
  return request;
}

const std::vector<v1::TicketStatus> kAllStatuses = {
    v1::TICKET_STATUS_OPENED,
    v1::TICKET_STATUS_ASSIGNED,
    v1::TICKET_STATUS_INVESTIGATING,
    v1::TICKET_STATUS_RESOLUTION_PROPOSED,
    v1::TICKET_STATUS_RESOLUTION_AGREED,
    v1::TICKET_STATUS_RESOLVED,
    v1::TICKET_STATUS_FEEDBACK_RECEIVED,
    v1::TICKET_STATUS_CLOSED,
    v1::TICKET_STATUS_REOPENED,
};
const std::set<v1::TicketStatus> kOpen = {
    v1::TICKET_STATUS_OPENED,
    v1::TICKET_STATUS_ASSIGNED,
    v1::TICKET_STATUS_INVESTIGATING,
    v1::TICKET_STATUS_RESOLUTION_PROPOSED,
    v1::TICKET_STATUS_RESOLUTION_AGREED,
    v1::TICKET_STATUS_REOPENED,
};

// --- The fixture --------------------------------------------------------------

struct TicketTraits {
  using State = v1::Ticket;
  using Event = v1::TicketEvent;
  using Context = DecideContext;
  static void Apply(State& s, const Event& e, const EventMeta& m) { ticket::Apply(s, e, m); }
  static void CheckIds(const Event& e) {
    EXPECT_EQ(e.ticket_id(), kTicketId);
    EXPECT_EQ(e.customer_id(), kCustomerId);
  }
};

// The shared given/when/then fixture (libs/domain/testing) on a fake clock:
// given events are folded now by "bob", commands run now as "alice".
class TicketTest : public domain::testing::AggregateTest<TicketTraits> {
 protected:
  TicketTest() : engine_(sla::SlaEngine::Default()), clock_(kStart) {
    ctx_.actor = "alice";
    ctx_.now = kStart;
    ctx_.sla = &engine_;
  }

  // Folds `events` into the state as if "bob" had appended them now.
  void Given(const std::vector<v1::TicketEvent>& events) {
    given_at_ = clock_.Now();
    AggregateTest::Given(events);
  }

  using AggregateTest::When;
  template <typename Request>
  void When(const Request& request) {
    ctx_.now = clock_.Now();
    When(Decide(state_, request, ctx_));
  }
  void WhenSlaCheck() {
    ctx_.now = clock_.Now();
    When(DecideSlaCheck(state_, ctx_));
  }
  void WhenRecomputeSla(const std::string& reason) {
    ctx_.now = clock_.Now();
    When(DecideRecomputeSla(state_, reason, ctx_));
  }

  // Runs a command that must succeed and folds its events (by "bob").
  template <typename Request>
  void Do(const Request& request) {
    When(request);
    ASSERT_TRUE(result_.ok()) << result_.status() << " in " << StatusName(state_.status());
    for (const auto& e : *result_) Fold(e, ctx_.now, "bob");
  }

  // A fresh ticket driven to `status` by the commands (all at kStart): opened,
  // assigned to bob of team support, investigated (first response at kStart),
  // proposed, agreed, resolved, satisfied feedback, closed; REOPENED is reopened
  // from RESOLVED. With `waiting`, then waits on the customer. Resets the tier.
  void GivenStatus(v1::TicketStatus status, bool waiting = false) {
    state_ = v1::Ticket();
    clock_.Set(kStart);
    ctx_.tier = "";
    Do(OpenRequest());
    // Further along the road to `status`? (REOPENED is reached from RESOLVED.)
    const auto further = [&] {
      return state_.status() != status && !(status == v1::TICKET_STATUS_REOPENED &&
                                            state_.status() == v1::TICKET_STATUS_RESOLVED);
    };
    if (further()) Do(AssignTo("bob"));
    if (further()) Do(StartRequest());
    if (further()) Do(ProposeRequest());
    if (further()) Do(Answer(true));
    if (further()) Do(ResolveRequest());
    if (status == v1::TICKET_STATUS_REOPENED) Do(ReopenRequest());
    if (further()) Do(Feedback(true));
    if (further()) Do(CloseRequest());
    ASSERT_EQ(state_.status(), status);
    if (waiting) Do(Waiting(true));
  }

  void ThenTicketNotFound() { ThenFailed(Code::kNotFound, "ticket not found"); }


  // The SLA the default engine computes for a NORMAL complaint.
  v1::Sla ComputeSla(absl::Time start, const std::string& tier = "",
                     std::vector<sla::Interval> pauses = {}, const v1::Sla* previous = nullptr,
                     v1::Priority priority = v1::PRIORITY_NORMAL) const {
    return engine_.Compute({.type = v1::TICKET_TYPE_COMPLAINT,
                            .priority = priority,
                            .tier = tier,
                            .clock_started_at = start,
                            .pauses = std::move(pauses),
                            .previous = previous});
  }

  // TicketOpened of a NORMAL complaint at kStart, as DecideOpen emits it.
  v1::TicketEvent Opened() const {
    v1::TicketEvent event = Event(R"pb(opened {
                                         type: TICKET_TYPE_COMPLAINT
                                         channel: TICKET_CHANNEL_EMAIL
                                         priority: PRIORITY_NORMAL
                                         subject: "Invoice wrong"
                                         owner: "rep-1"
                                         region: "north"
                                       })pb");
    *event.mutable_opened()->mutable_sla() = ComputeSla(kStart);
    *event.mutable_opened()->mutable_promised_by() = ComputeSla(kStart).resolution().due_at();
    return event;
  }

  const sla::SlaEngine engine_;
  crm::testing::FakeClock clock_;
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
class BadInputTest : public TicketTest, public ::testing::WithParamInterface<BadCase> {
 protected:
  // Given a ticket in `status` (one that allows the command), `base` merged with
  // the case is refused with INVALID_ARGUMENT and nothing is decided.
  void Run(const Request& base, v1::TicketStatus status = v1::TICKET_STATUS_UNSPECIFIED) {
    if (status != v1::TICKET_STATUS_UNSPECIFIED) GivenStatus(status);
    Request request = base;
    ASSERT_TRUE(TextFormat::MergeFromString(GetParam().merge, &request)) << GetParam().merge;
    When(request);
    ThenError(Code::kInvalidArgument, GetParam().field, GetParam().message);
  }
};

// =============================================================================
// Existence
// =============================================================================

TEST_F(TicketTest, EveryCommandOnAnExistingTicketNeedsOne) {
  When(AssignTo("bob"));
  ThenTicketNotFound();
  When(StartRequest());
  ThenTicketNotFound();
  When(FindingsRequest());
  ThenTicketNotFound();
  When(ProposeRequest());
  ThenTicketNotFound();
  When(Answer(true));
  ThenTicketNotFound();
  When(ResolveRequest());
  ThenTicketNotFound();
  When(Feedback(true));
  ThenTicketNotFound();
  When(CloseRequest());
  ThenTicketNotFound();
  When(ReopenRequest());
  ThenTicketNotFound();
  When(CommentRequest(true));
  ThenTicketNotFound();
  When(Waiting(true));
  ThenTicketNotFound();
  When(Waiting(false));
  ThenTicketNotFound();
  WhenRecomputeSla("tier changed");
  ThenTicketNotFound();
  WhenSlaCheck();
  ThenTicketNotFound();
  // Even an invalid request: the ticket is looked at first.
  When(v1::RecordFeedbackRequest());
  ThenTicketNotFound();
  WhenRecomputeSla("");
  ThenTicketNotFound();
}

TEST_F(TicketTest, OpenNeedsTheIdsTheServiceChose) {
  result_ = DecideOpen(OpenRequest(), "", Customer(), ctx_);
  ThenError(Code::kInvalidArgument, "ticket_id", "ticket_id: required");
  CustomerRef no_customer = Customer();
  no_customer.customer_id = "";
  result_ = DecideOpen(OpenRequest(), kTicketId, no_customer, ctx_);
  ThenError(Code::kInvalidArgument, "customer_id", "customer_id: required");
}

TEST_F(TicketTest, CommandsThatComputeTheSlaNeedTheEngine) {
  ctx_.sla = nullptr;
  result_ = DecideOpen(OpenRequest(), kTicketId, Customer(), ctx_);
  ASSERT_FALSE(result_.ok());
  EXPECT_EQ(result_.status(), absl::InternalError("sla engine required"));

  ctx_.sla = &engine_;
  GivenStatus(v1::TICKET_STATUS_ASSIGNED);
  ctx_.sla = nullptr;
  result_ = DecideSetWaiting(state_, Waiting(true), ctx_);
  EXPECT_EQ(result_.status(), absl::InternalError("sla engine required"));
  result_ = DecideRecomputeSla(state_, "tier changed", ctx_);
  EXPECT_EQ(result_.status(), absl::InternalError("sla engine required"));
  ctx_.now = At(8, 9);  // the first response is overdue: escalating needs the engine
  result_ = DecideSlaCheck(state_, ctx_);
  EXPECT_EQ(result_.status(), absl::InternalError("sla engine required"));

  ctx_.sla = &engine_;
  GivenStatus(v1::TICKET_STATUS_RESOLVED);
  ctx_.sla = nullptr;
  result_ = DecideReopen(state_, ReopenRequest(), ctx_);
  EXPECT_EQ(result_.status(), absl::InternalError("sla engine required"));
  result_ = DecideRecordFeedback(state_, Feedback(false), ctx_);
  EXPECT_EQ(result_.status(), absl::InternalError("sla engine required"));
}

// =============================================================================
// The state machine: every command in every status
// =============================================================================

struct Command {
  std::string name;
  std::function<absl::StatusOr<Events>(const v1::Ticket&, const DecideContext&)> decide;
  // The statuses that allow it (with the ticket not waiting on the customer).
  std::set<v1::TicketStatus> allowed;
  // The status after it.
  std::function<v1::TicketStatus(v1::TicketStatus)> next;
  // Allowed while waiting on the customer (in an allowed status).
  bool while_waiting = false;
};

std::function<v1::TicketStatus(v1::TicketStatus)> To(v1::TicketStatus to) {
  return [to](v1::TicketStatus) { return to; };
}
v1::TicketStatus Same(v1::TicketStatus s) { return s; }

std::vector<Command> Commands() {
  using S = v1::TicketStatus;
  const std::set<S> all(kAllStatuses.begin(), kAllStatuses.end());
  return {
      {"Assign",
       [](const v1::Ticket& s, const DecideContext& c) { return DecideAssign(s, AssignTo("carol"), c); },
       kOpen,
       [](S s) {
         return s == v1::TICKET_STATUS_OPENED || s == v1::TICKET_STATUS_REOPENED
                    ? v1::TICKET_STATUS_ASSIGNED
                    : s;
       },
       true},
      {"StartInvestigation",
       [](const v1::Ticket& s, const DecideContext& c) {
         return DecideStartInvestigation(s, StartRequest(), c);
       },
       {v1::TICKET_STATUS_ASSIGNED, v1::TICKET_STATUS_REOPENED},
       To(v1::TICKET_STATUS_INVESTIGATING)},
      {"RecordFindings",
       [](const v1::Ticket& s, const DecideContext& c) {
         return DecideRecordFindings(s, FindingsRequest(), c);
       },
       {v1::TICKET_STATUS_INVESTIGATING},
       Same,
       true},
      {"ProposeResolution",
       [](const v1::Ticket& s, const DecideContext& c) {
         return DecideProposeResolution(s, ProposeRequest(), c);
       },
       {v1::TICKET_STATUS_INVESTIGATING, v1::TICKET_STATUS_RESOLUTION_PROPOSED},
       To(v1::TICKET_STATUS_RESOLUTION_PROPOSED)},
      {"AnswerResolution(agreed)",
       [](const v1::Ticket& s, const DecideContext& c) {
         return DecideAnswerResolution(s, Answer(true), c);
       },
       {v1::TICKET_STATUS_RESOLUTION_PROPOSED},
       To(v1::TICKET_STATUS_RESOLUTION_AGREED)},
      {"AnswerResolution(not agreed)",
       [](const v1::Ticket& s, const DecideContext& c) {
         return DecideAnswerResolution(s, Answer(false), c);
       },
       {v1::TICKET_STATUS_RESOLUTION_PROPOSED},
       To(v1::TICKET_STATUS_INVESTIGATING)},
      {"Resolve",
       [](const v1::Ticket& s, const DecideContext& c) {
         return DecideResolve(s, ResolveRequest(), c);
       },
       {v1::TICKET_STATUS_RESOLUTION_AGREED},
       To(v1::TICKET_STATUS_RESOLVED)},
      {"RecordFeedback(satisfied)",
       [](const v1::Ticket& s, const DecideContext& c) {
         return DecideRecordFeedback(s, Feedback(true), c);
       },
       {v1::TICKET_STATUS_RESOLVED},
       To(v1::TICKET_STATUS_FEEDBACK_RECEIVED)},
      {"RecordFeedback(not satisfied)",
       [](const v1::Ticket& s, const DecideContext& c) {
         return DecideRecordFeedback(s, Feedback(false), c);
       },
       {v1::TICKET_STATUS_RESOLVED},
       To(v1::TICKET_STATUS_REOPENED)},
      {"Close",
       [](const v1::Ticket& s, const DecideContext& c) { return DecideClose(s, CloseRequest(), c); },
       {v1::TICKET_STATUS_RESOLVED, v1::TICKET_STATUS_FEEDBACK_RECEIVED},
       To(v1::TICKET_STATUS_CLOSED)},
      {"Reopen",
       [](const v1::Ticket& s, const DecideContext& c) { return DecideReopen(s, ReopenRequest(), c); },
       {v1::TICKET_STATUS_RESOLVED, v1::TICKET_STATUS_FEEDBACK_RECEIVED, v1::TICKET_STATUS_CLOSED},
       To(v1::TICKET_STATUS_REOPENED)},
      {"AddComment",
       [](const v1::Ticket& s, const DecideContext& c) {
         return DecideAddComment(s, CommentRequest(true), c);
       },
       all,
       Same,
       true},
      {"SetWaiting(true)",
       [](const v1::Ticket& s, const DecideContext& c) {
         return DecideSetWaiting(s, Waiting(true), c);
       },
       kOpen,
       Same},
  };
}

TEST_F(TicketTest, EachCommandIsAllowedInExactlyTheStatusesOfTheTable) {
  for (const Command& command : Commands()) {
    for (const v1::TicketStatus status : kAllStatuses) {
      SCOPED_TRACE(command.name + " in " + StatusName(status));
      GivenStatus(status);
      result_ = command.decide(state_, ctx_);
      if (command.allowed.count(status) > 0) {
        ASSERT_TRUE(result_.ok()) << result_.status();
        EXPECT_FALSE(result_->empty());
        for (const auto& e : *result_) Fold(e, ctx_.now, "alice");
        EXPECT_EQ(StatusName(state_.status()), StatusName(command.next(status)));
      } else {
        ThenError(Code::kFailedPrecondition, "status");
        const std::string message(result_.status().message());
        EXPECT_THAT(message, ::testing::StartsWith("status: ticket is " + StatusName(status) +
                                                   "; "))
            << message;
      }
    }
  }
}

TEST_F(TicketTest, WhileWaitingOnlyCommentsFindingsAssignmentAndTheResumeAreAllowed) {
  for (const Command& command : Commands()) {
    for (const v1::TicketStatus status : kOpen) {
      SCOPED_TRACE(command.name + " in " + StatusName(status) + " while waiting");
      GivenStatus(status, /*waiting=*/true);
      result_ = command.decide(state_, ctx_);
      if (command.allowed.count(status) == 0) {
        ThenError(Code::kFailedPrecondition, "status");
      } else if (command.while_waiting) {
        ASSERT_TRUE(result_.ok()) << result_.status();
        for (const auto& e : *result_) Fold(e, ctx_.now, "alice");
        EXPECT_EQ(StatusName(state_.status()), StatusName(command.next(status)));
        EXPECT_TRUE(state_.waiting_on_customer());
      } else {
        ThenError(Code::kFailedPrecondition, "waiting_on_customer");
      }
    }
  }
}

TEST_F(TicketTest, TheResumeIsAllowedExactlyWhileWaiting) {
  for (const v1::TicketStatus status : kAllStatuses) {
    SCOPED_TRACE(StatusName(status));
    GivenStatus(status);
    When(Waiting(false));
    ThenError(Code::kFailedPrecondition, "waiting_on_customer",
              "waiting_on_customer: not waiting on the customer");
    if (kOpen.count(status) == 0) continue;
    GivenStatus(status, /*waiting=*/true);
    When(Waiting(false));
    ASSERT_TRUE(result_.ok()) << result_.status();
    ASSERT_EQ(result_->size(), 1u);
    EXPECT_TRUE((*result_)[0].has_customer_responded());
    Fold((*result_)[0], ctx_.now, "alice");
    EXPECT_EQ(state_.status(), status);
    EXPECT_FALSE(state_.waiting_on_customer());
  }
}

TEST_F(TicketTest, RefusalsNameTheStatusAndWhatTheCommandNeeds) {
  GivenStatus(v1::TICKET_STATUS_RESOLVED);
  When(ProposeRequest());
  ThenError(Code::kFailedPrecondition, "status",
            "status: ticket is RESOLVED; ProposeResolution needs INVESTIGATING or "
            "RESOLUTION_PROPOSED");
  When(AssignTo("carol"));
  ThenError(Code::kFailedPrecondition, "status",
            "status: ticket is RESOLVED; Assign needs OPENED, ASSIGNED, INVESTIGATING, "
            "RESOLUTION_PROPOSED, RESOLUTION_AGREED or REOPENED");
  GivenStatus(v1::TICKET_STATUS_OPENED);
  When(ResolveRequest());
  ThenError(Code::kFailedPrecondition, "status",
            "status: ticket is OPENED; Resolve needs RESOLUTION_AGREED");
  GivenStatus(v1::TICKET_STATUS_INVESTIGATING, /*waiting=*/true);
  When(ProposeRequest());
  ThenError(Code::kFailedPrecondition, "waiting_on_customer",
            "waiting_on_customer: ticket is waiting on the customer; resume it before "
            "ProposeResolution");
}

TEST_F(TicketTest, RequestFieldsAreCheckedBeforeTheStatus) {
  GivenStatus(v1::TICKET_STATUS_OPENED);
  v1::RecordFeedbackRequest feedback = Feedback(true);
  feedback.set_score(0);
  When(feedback);  // malformed and refused (OPENED): INVALID_ARGUMENT
  ThenError(Code::kInvalidArgument, "score", "score: must be 1..5");
  v1::ReopenTicketRequest reopen;
  When(reopen);
  ThenError(Code::kInvalidArgument, "reason", "reason: required");
}

// =============================================================================
// Open
// =============================================================================

TEST_F(TicketTest, OpenEmitsTicketOpenedWithTheSlaAndThePromise) {
  auto request = OpenRequest();
  request.set_subject("  Invoice wrong  ");
  request.set_description("Billed twice in November");
  When(request);
  v1::TicketEvent expected = Opened();
  expected.mutable_opened()->set_description("Billed twice in November");
  Then({expected});

  const v1::TicketOpened& opened = (*result_)[0].opened();
  // NORMAL: first response 4 business hours (Monday 14:00), resolution 24
  // (Monday 10-18, Tuesday 09-18, Wednesday 09-16).
  EXPECT_EQ(T(opened.sla().clock_started_at()), kStart);
  EXPECT_EQ(T(opened.sla().first_response().due_at()), At(7, 14));
  EXPECT_EQ(T(opened.sla().first_response().warn_at()), At(7, 13, 12));
  EXPECT_EQ(T(opened.sla().resolution().due_at()), At(9, 16));
  EXPECT_EQ(T(opened.promised_by()), At(9, 16));
  EXPECT_EQ(opened.sla().tier(), "");

  EXPECT_EQ(state_.ticket_id(), kTicketId);
  EXPECT_EQ(state_.customer_id(), kCustomerId);
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_OPENED);
  EXPECT_EQ(state_.type(), v1::TICKET_TYPE_COMPLAINT);
  EXPECT_EQ(state_.channel(), v1::TICKET_CHANNEL_EMAIL);
  EXPECT_EQ(state_.priority(), v1::PRIORITY_NORMAL);
  EXPECT_EQ(state_.subject(), "Invoice wrong");
  EXPECT_EQ(state_.description(), "Billed twice in November");
  EXPECT_EQ(state_.owner(), "rep-1");
  EXPECT_EQ(state_.region(), "north");
  EXPECT_EQ(state_.opened_by(), "alice");
  EXPECT_EQ(T(state_.opened_at()), kStart);
  EXPECT_EQ(T(state_.updated_at()), kStart);
  EXPECT_EQ(T(state_.promised_by()), At(9, 16));
  EXPECT_THAT(state_.sla(), EqualsProto(opened.sla()));
  EXPECT_EQ(state_.version(), 1u);
}

TEST_F(TicketTest, OpenUsesThePriorityAndTheCustomersTier) {
  auto request = OpenRequest();
  request.set_priority(v1::PRIORITY_URGENT);
  ctx_.tier = "gold";
  When(request);
  ASSERT_TRUE(result_.ok()) << result_.status();
  const v1::TicketOpened& opened = (*result_)[0].opened();
  EXPECT_EQ(opened.priority(), v1::PRIORITY_URGENT);
  EXPECT_THAT(opened.sla(),
              EqualsProto(ComputeSla(kStart, "gold", {}, nullptr, v1::PRIORITY_URGENT)));
  // URGENT gold: half of 30 min / 4 h.
  EXPECT_EQ(opened.sla().tier(), "gold");
  EXPECT_EQ(T(opened.sla().first_response().due_at()), At(7, 10, 15));
  EXPECT_EQ(T(opened.promised_by()), At(7, 12));
}

TEST_F(TicketTest, OpenAcceptsTheLongestSubjectAndDescription) {
  auto request = OpenRequest();
  std::string chinese;
  for (int i = 0; i < 200; ++i) chinese += "\xE7\xA5\xA8";  // 票, 3 bytes each
  request.set_subject(chinese);
  request.set_description(Long(kMaxText));
  When(request);
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_EQ((*result_)[0].opened().subject(), chinese);
}

using OpenBadInput = BadInputTest<v1::OpenTicketRequest>;
TEST_P(OpenBadInput, IsRefused) { Run(OpenRequest()); }
INSTANTIATE_TEST_SUITE_P(
    Cases, OpenBadInput,
    ValuesIn(std::vector<BadCase>{
        {"TypeMissing", "type: TICKET_TYPE_UNSPECIFIED", "type", "type: required"},
        {"TypeUnknown", "type: 42", "type", "type: unknown value 42"},
        {"ChannelMissing", "channel: TICKET_CHANNEL_UNSPECIFIED", "channel", "channel: required"},
        {"ChannelUnknown", "channel: 9", "channel", "channel: unknown value 9"},
        {"PriorityUnknown", "priority: 7", "priority", "priority: unknown value 7"},
        {"SubjectEmpty", "subject: ''", "subject", "subject: required"},
        {"SubjectBlank", "subject: '   '", "subject", "subject: required"},
        {"SubjectTooLong", "subject: '" + Long(kMaxSubject + 1) + "'", "subject",
         "subject: at most 200 characters"},
        {"DescriptionTooLong", "description: '" + Long(kMaxText + 1) + "'", "description",
         "description: at most 10000 characters"},
    }),
    CaseName);

TEST_F(TicketTest, OpenRefusesTextThatIsNotUtf8) {
  auto request = OpenRequest();
  request.set_subject("bad \xFF byte");
  When(request);
  ThenError(Code::kInvalidArgument, "subject", "subject: not valid UTF-8");
}

// =============================================================================
// Assign
// =============================================================================

TEST_F(TicketTest, AssignEmitsTicketAssignedAndMovesAnOpenedTicketOn) {
  Given({Opened()});
  auto request = AssignTo("  bob ", " support ");
  request.set_note("billing expert");
  When(request);
  Then({Event(R"pb(assigned { to_assignee: "bob" team: "support" note: "billing expert" })pb")});
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_ASSIGNED);
  EXPECT_EQ(state_.assignee(), "bob");
  EXPECT_EQ(state_.team(), "support");
}

TEST_F(TicketTest, ReassignmentKeepsTheStatusAndNamesThePreviousAssignee) {
  GivenStatus(v1::TICKET_STATUS_INVESTIGATING);
  When(AssignTo("carol", "billing"));
  Then({Event(R"pb(assigned { from_assignee: "bob" to_assignee: "carol" team: "billing" })pb")});
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_INVESTIGATING);
  EXPECT_EQ(state_.assignee(), "carol");
  EXPECT_EQ(state_.team(), "billing");
}

TEST_F(TicketTest, AssigningTheSameAssigneeAndTeamAgainIsRefused) {
  GivenStatus(v1::TICKET_STATUS_ASSIGNED);
  When(AssignTo("bob", "support"));
  ThenError(Code::kFailedPrecondition, "assignee",
            "assignee: already assigned to bob (team support)");
  // Another team for the same person is a change.
  When(AssignTo("bob", "billing"));
  Then({Event(R"pb(assigned { from_assignee: "bob" to_assignee: "bob" team: "billing" })pb")});
}

TEST_F(TicketTest, AReopenedTicketMayBeAssignedToItsAssigneeAgain) {
  GivenStatus(v1::TICKET_STATUS_REOPENED);
  EXPECT_EQ(state_.assignee(), "bob");
  When(AssignTo("bob", "support"));
  Then({Event(R"pb(assigned { from_assignee: "bob" to_assignee: "bob" team: "support" })pb")});
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_ASSIGNED);
}

using AssignBadInput = BadInputTest<v1::AssignTicketRequest>;
TEST_P(AssignBadInput, IsRefused) { Run(AssignTo("carol"), v1::TICKET_STATUS_OPENED); }
INSTANTIATE_TEST_SUITE_P(
    Cases, AssignBadInput,
    ValuesIn(std::vector<BadCase>{
        {"AssigneeMissing", "assignee: ''", "assignee", "assignee: required"},
        {"AssigneeBlank", "assignee: ' '", "assignee", "assignee: required"},
        {"AssigneeTooLong", "assignee: '" + Long(kMaxName + 1) + "'", "assignee",
         "assignee: at most 256 characters"},
        {"TeamTooLong", "team: '" + Long(129) + "'", "team", "team: at most 128 characters"},
        {"NoteTooLong", "note: '" + Long(kMaxText + 1) + "'", "note", "note: at most 10000 characters"},
    }),
    CaseName);

// =============================================================================
// StartInvestigation and the first response
// =============================================================================

TEST_F(TicketTest, StartInvestigationIsTheFirstResponse) {
  GivenStatus(v1::TICKET_STATUS_ASSIGNED);
  clock_.Set(At(7, 11));
  When(StartRequest());
  v1::TicketEvent expected = Event("investigation_started {}");
  *expected.mutable_investigation_started()->mutable_first_response_at() = Ts(At(7, 11));
  Then({expected});
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_INVESTIGATING);
  EXPECT_EQ(T(state_.sla().first_response().met_at()), At(7, 11));
}

TEST_F(TicketTest, TheFirstResponseIsSetExactlyOnce) {
  GivenStatus(v1::TICKET_STATUS_ASSIGNED);
  // An internal comment is no response.
  clock_.Set(At(7, 10, 30));
  When(CommentRequest(false));
  ASSERT_TRUE(result_.ok());
  EXPECT_FALSE((*result_)[0].comment_added().has_first_response_at());
  Then(*result_);
  EXPECT_FALSE(state_.sla().first_response().has_met_at());
  // A customer-visible one is.
  clock_.Set(At(7, 11));
  When(CommentRequest(true));
  ASSERT_TRUE(result_.ok());
  EXPECT_EQ(T((*result_)[0].comment_added().first_response_at()), At(7, 11));
  Then(*result_);
  EXPECT_EQ(T(state_.sla().first_response().met_at()), At(7, 11));
  // Nothing after it is.
  clock_.Set(At(7, 12));
  When(CommentRequest(true));
  ASSERT_TRUE(result_.ok());
  EXPECT_FALSE((*result_)[0].comment_added().has_first_response_at());
  Then(*result_);
  When(StartRequest());
  Then({Event("investigation_started {}")});
  When(ProposeRequest());
  Then({Event(R"pb(resolution_proposed { resolution: "Credit note" })pb")});
  EXPECT_EQ(T(state_.sla().first_response().met_at()), At(7, 11));
}

TEST_F(TicketTest, AProposalCanBeTheFirstResponse) {
  // Investigation started without a first response (an event written so).
  Given({Opened(), Event(R"pb(assigned { to_assignee: "bob" })pb"),
         Event("investigation_started {}")});
  clock_.Set(At(7, 12));
  When(ProposeRequest());
  v1::TicketEvent expected = Event(R"pb(resolution_proposed { resolution: "Credit note" })pb");
  *expected.mutable_resolution_proposed()->mutable_first_response_at() = Ts(At(7, 12));
  Then({expected});
  EXPECT_EQ(T(state_.sla().first_response().met_at()), At(7, 12));
}

TEST_F(TicketTest, AReopenedTicketWithoutAssigneeCannotBeInvestigated) {
  Given({Opened(), Event("reopened { reason: 'x' from_status: TICKET_STATUS_CLOSED }")});
  ASSERT_EQ(state_.status(), v1::TICKET_STATUS_REOPENED);
  When(StartRequest());
  ThenError(Code::kFailedPrecondition, "assignee",
            "assignee: ticket has no assignee; Assign it before StartInvestigation");
}

TEST_F(TicketTest, AReopenedTicketIsInvestigatedAgainWithoutANewFirstResponse) {
  GivenStatus(v1::TICKET_STATUS_REOPENED);
  When(StartRequest());
  Then({Event("investigation_started {}")});
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_INVESTIGATING);
  EXPECT_EQ(T(state_.sla().first_response().met_at()), kStart);
}

// =============================================================================
// Findings
// =============================================================================

TEST_F(TicketTest, RecordFindingsStoresThemWithTheRecorderAndTime) {
  GivenStatus(v1::TICKET_STATUS_INVESTIGATING);
  clock_.Set(At(7, 15));
  When(TextProto<v1::RecordFindingsRequest>(R"pb(
    ticket_id: "t-1"
    findings {
      details: "Billed twice"
      evidence_refs: " doc://inv-7 "
      evidence_refs: "https://x/y"
      cause: "Batch job ran twice"
      responsibility: "Billing"
      recorded_by: "mallory"
      recorded_at { seconds: 1 }
    })pb"));
  v1::TicketEvent expected = Event(R"pb(findings_recorded {
                                          findings {
                                            details: "Billed twice"
                                            evidence_refs: "doc://inv-7"
                                            evidence_refs: "https://x/y"
                                            cause: "Batch job ran twice"
                                            responsibility: "Billing"
                                            recorded_by: "alice"
                                          }
                                        })pb");
  *expected.mutable_findings_recorded()->mutable_findings()->mutable_recorded_at() =
      Ts(At(7, 15));
  Then({expected});
  ASSERT_EQ(state_.findings_size(), 1);
  EXPECT_THAT(state_.findings(0), EqualsProto(expected.findings_recorded().findings()));
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_INVESTIGATING);
  When(FindingsRequest());
  Then(*result_);
  EXPECT_EQ(state_.findings_size(), 2);
}

TEST_F(TicketTest, RecordFindingsAcceptsTheMostEvidence) {
  GivenStatus(v1::TICKET_STATUS_INVESTIGATING);
  auto request = FindingsRequest();
  for (int i = 0; i < kMaxEvidenceRefs; ++i) {
    request.mutable_findings()->add_evidence_refs(i == 0 ? Long(512) : "doc-" + std::to_string(i));
  }
  When(request);
  ASSERT_TRUE(result_.ok()) << result_.status();
}

using FindingsBadInput = BadInputTest<v1::RecordFindingsRequest>;
TEST_P(FindingsBadInput, IsRefused) { Run(FindingsRequest(), v1::TICKET_STATUS_INVESTIGATING); }
std::string Refs(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "evidence_refs: 'r" + std::to_string(i) + "' ";
  return out;
}
INSTANTIATE_TEST_SUITE_P(
    Cases, FindingsBadInput,
    ValuesIn(std::vector<BadCase>{
        {"NoFindings", "findings { details: '' }", "findings.details",
         "findings.details: required"},
        {"DetailsBlank", "findings { details: ' \\t' }", "findings.details",
         "findings.details: required"},
        {"DetailsTooLong", "findings { details: '" + Long(kMaxText + 1) + "' }",
         "findings.details", "findings.details: at most 10000 characters"},
        {"TooManyRefs", "findings { " + Refs(kMaxEvidenceRefs + 1) + "}",
         "findings.evidence_refs", "findings.evidence_refs: more than 50 items"},
        {"RefBlank", "findings { evidence_refs: 'a' evidence_refs: ' ' }",
         "findings.evidence_refs[1]", "findings.evidence_refs[1]: required"},
        {"RefTooLong", "findings { evidence_refs: 'a' evidence_refs: '" + Long(513) + "' }",
         "findings.evidence_refs[1]", "findings.evidence_refs[1]: at most 512 characters"},
        {"CauseTooLong", "findings { cause: '" + Long(kMaxText + 1) + "' }", "findings.cause",
         "findings.cause: at most 10000 characters"},
        {"ResponsibilityTooLong", "findings { responsibility: '" + Long(kMaxText + 1) + "' }",
         "findings.responsibility", "findings.responsibility: at most 10000 characters"},
    }),
    CaseName);

// =============================================================================
// ProposeResolution, AnswerResolution
// =============================================================================

TEST_F(TicketTest, ProposeResolutionStoresTheProposal) {
  GivenStatus(v1::TICKET_STATUS_INVESTIGATING);
  When(ProposeRequest());
  Then({Event(R"pb(resolution_proposed { resolution: "Credit note" })pb")});
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_RESOLUTION_PROPOSED);
  EXPECT_EQ(state_.proposed_resolution(), "Credit note");
  // A better offer replaces it.
  When(TextProto<v1::ProposeResolutionRequest>(R"pb(resolution: "Credit note and voucher")pb"));
  Then({Event(R"pb(resolution_proposed { resolution: "Credit note and voucher" })pb")});
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_RESOLUTION_PROPOSED);
  EXPECT_EQ(state_.proposed_resolution(), "Credit note and voucher");
}

using ProposeBadInput = BadInputTest<v1::ProposeResolutionRequest>;
TEST_P(ProposeBadInput, IsRefused) { Run(ProposeRequest(), v1::TICKET_STATUS_INVESTIGATING); }
INSTANTIATE_TEST_SUITE_P(
    Cases, ProposeBadInput,
    ValuesIn(std::vector<BadCase>{
        {"ResolutionMissing", "resolution: ''", "resolution", "resolution: required"},
        {"ResolutionTooLong", "resolution: '" + Long(kMaxText + 1) + "'", "resolution",
         "resolution: at most 10000 characters"},
    }),
    CaseName);

TEST_F(TicketTest, AnAgreedResolutionCanBeResolved) {
  GivenStatus(v1::TICKET_STATUS_RESOLUTION_PROPOSED);
  When(TextProto<v1::AnswerResolutionRequest>(R"pb(agreed: true comment: "fine")pb"));
  Then({Event(R"pb(resolution_answered { agreed: true comment: "fine" })pb")});
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_RESOLUTION_AGREED);
}

TEST_F(TicketTest, ARejectedResolutionGoesBackToInvestigation) {
  GivenStatus(v1::TICKET_STATUS_RESOLUTION_PROPOSED);
  When(Answer(false));
  Then({Event(R"pb(resolution_answered { agreed: false comment: "amount too low" })pb")});
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_INVESTIGATING);
}

using AnswerBadInput = BadInputTest<v1::AnswerResolutionRequest>;
TEST_P(AnswerBadInput, IsRefused) { Run(Answer(false), v1::TICKET_STATUS_RESOLUTION_PROPOSED); }
INSTANTIATE_TEST_SUITE_P(
    Cases, AnswerBadInput,
    ValuesIn(std::vector<BadCase>{
        {"NotAgreedWithoutComment", "comment: ''", "comment", "comment: required"},
        {"CommentTooLong", "comment: '" + Long(kMaxText + 1) + "'", "comment",
         "comment: at most 10000 characters"},
        {"AgreedCommentTooLong", "agreed: true comment: '" + Long(kMaxText + 1) + "'", "comment",
         "comment: at most 10000 characters"},
    }),
    CaseName);

// =============================================================================
// Resolve
// =============================================================================

TEST_F(TicketTest, ResolveInTimeIsOnTimeAndMeetsTheResolutionTarget) {
  GivenStatus(v1::TICKET_STATUS_RESOLUTION_AGREED);
  clock_.Set(At(9, 16));  // exactly the deadline
  When(ResolveRequest());
  v1::TicketEvent expected = Event(R"pb(resolved {
                                          summary: "Credited"
                                          on_time: true
                                          assignee: "bob"
                                          team: "support"
                                        })pb");
  *expected.mutable_resolved()->mutable_resolved_at() = Ts(At(9, 16));
  Then({expected});
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_RESOLVED);
  EXPECT_EQ(state_.resolution_summary(), "Credited");
  EXPECT_EQ(T(state_.resolved_at()), At(9, 16));
  EXPECT_TRUE(state_.resolved_on_time());
  EXPECT_EQ(T(state_.sla().resolution().met_at()), At(9, 16));
}

TEST_F(TicketTest, ResolveAfterTheDeadlineIsLate) {
  GivenStatus(v1::TICKET_STATUS_RESOLUTION_AGREED);
  clock_.Set(At(9, 16, 1));
  When(ResolveRequest());
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_FALSE((*result_)[0].resolved().on_time());
  Then(*result_);
  EXPECT_FALSE(state_.resolved_on_time());
}

TEST_F(TicketTest, ResolveWithoutSummaryUsesTheAgreedResolution) {
  GivenStatus(v1::TICKET_STATUS_RESOLUTION_AGREED);
  When(v1::ResolveTicketRequest());
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_EQ((*result_)[0].resolved().summary(), "Credit note");
}

using ResolveBadInput = BadInputTest<v1::ResolveTicketRequest>;
TEST_P(ResolveBadInput, IsRefused) { Run(ResolveRequest(), v1::TICKET_STATUS_RESOLUTION_AGREED); }
INSTANTIATE_TEST_SUITE_P(Cases, ResolveBadInput,
                         ValuesIn(std::vector<BadCase>{
                             {"SummaryTooLong", "summary: '" + Long(kMaxText + 1) + "'",
                              "summary", "summary: at most 10000 characters"},
                         }),
                         CaseName);

// =============================================================================
// RecordFeedback
// =============================================================================

TEST_F(TicketTest, SatisfiedFeedbackIsRecorded) {
  GivenStatus(v1::TICKET_STATUS_RESOLVED);
  clock_.Set(At(8, 9));
  When(TextProto<v1::RecordFeedbackRequest>(R"pb(satisfied: true score: 4 comment: "quick")pb"));
  v1::TicketEvent expected = Event(R"pb(feedback_recorded {
                                          feedback { satisfied: true score: 4 comment: "quick" }
                                          assignee: "bob"
                                          team: "support"
                                        })pb");
  *expected.mutable_feedback_recorded()->mutable_feedback()->mutable_recorded_at() =
      Ts(At(8, 9));
  Then({expected});
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_FEEDBACK_RECEIVED);
  EXPECT_THAT(state_.feedback(), EqualsProto(expected.feedback_recorded().feedback()));
}

TEST_F(TicketTest, FeedbackNotSatisfiedReopensTheTicket) {
  GivenStatus(v1::TICKET_STATUS_RESOLVED);
  const v1::Sla before = state_.sla();
  clock_.Set(At(8, 9));  // Tuesday 09:00
  When(Feedback(false));

  v1::TicketEvent feedback = Event(R"pb(feedback_recorded {
                                          feedback { satisfied: false score: 2 comment: "too slow" }
                                          assignee: "bob"
                                          team: "support"
                                        })pb");
  *feedback.mutable_feedback_recorded()->mutable_feedback()->mutable_recorded_at() = Ts(At(8, 9));
  v1::Sla previous = before;  // the resolution timer afresh, the first response kept
  previous.clear_resolution();
  *previous.mutable_clock_started_at() = Ts(At(8, 9));
  const v1::Sla sla = ComputeSla(At(8, 9), "", {}, &previous);
  v1::TicketEvent reopened = Event(R"pb(reopened {
                                          reason: "customer not satisfied: too slow"
                                          from_status: TICKET_STATUS_RESOLVED
                                        })pb");
  *reopened.mutable_reopened()->mutable_sla() = sla;
  *reopened.mutable_reopened()->mutable_promised_by() = sla.resolution().due_at();
  Then({feedback, reopened});

  // 24 business hours from Tuesday 09:00: Thursday 15:00.
  EXPECT_EQ(T(sla.resolution().due_at()), At(10, 15));
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_REOPENED);
  EXPECT_EQ(state_.reopen_count(), 1);
  EXPECT_FALSE(state_.has_resolved_at());
  EXPECT_FALSE(state_.resolved_on_time());
  EXPECT_EQ(T(state_.promised_by()), At(10, 15));
  EXPECT_FALSE(state_.feedback().satisfied());  // kept until the next feedback
  EXPECT_EQ(state_.feedback().score(), 2);
  EXPECT_EQ(state_.assignee(), "bob");
}

using FeedbackBadInput = BadInputTest<v1::RecordFeedbackRequest>;
TEST_P(FeedbackBadInput, IsRefused) { Run(Feedback(false), v1::TICKET_STATUS_RESOLVED); }
INSTANTIATE_TEST_SUITE_P(
    Cases, FeedbackBadInput,
    ValuesIn(std::vector<BadCase>{
        {"ScoreMissing", "score: 0", "score", "score: must be 1..5"},
        {"ScoreNegative", "score: -1", "score", "score: must be 1..5"},
        {"ScoreTooHigh", "score: 6", "score", "score: must be 1..5"},
        {"SatisfiedScoreTooHigh", "satisfied: true score: 6", "score", "score: must be 1..5"},
        {"NotSatisfiedWithoutComment", "comment: ''", "comment", "comment: required"},
        {"NotSatisfiedBlankComment", "comment: '  '", "comment", "comment: required"},
        {"CommentTooLong", "comment: '" + Long(kMaxText + 1) + "'", "comment",
         "comment: at most 10000 characters"},
        {"SatisfiedCommentTooLong", "satisfied: true comment: '" + Long(kMaxText + 1) + "'",
         "comment", "comment: at most 10000 characters"},
    }),
    CaseName);

TEST_F(TicketTest, FeedbackScoresOneToFiveAreAccepted) {
  for (int score = 1; score <= 5; ++score) {
    GivenStatus(v1::TICKET_STATUS_RESOLVED);
    auto request = Feedback(true);
    request.set_score(score);
    When(request);
    EXPECT_TRUE(result_.ok()) << score << ": " << result_.status();
  }
}

// =============================================================================
// Close, Reopen
// =============================================================================

TEST_F(TicketTest, CloseAResolvedOrRatedTicket) {
  GivenStatus(v1::TICKET_STATUS_RESOLVED);
  clock_.Set(At(8, 10));
  When(TextProto<v1::CloseTicketRequest>(R"pb(reason: " no answer ")pb"));
  Then({Event(R"pb(closed { reason: "no answer" })pb")});
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_CLOSED);
  EXPECT_EQ(T(state_.closed_at()), At(8, 10));

  GivenStatus(v1::TICKET_STATUS_FEEDBACK_RECEIVED);
  When(v1::CloseTicketRequest());
  Then({Event("closed {}")});
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_CLOSED);
}

using CloseBadInput = BadInputTest<v1::CloseTicketRequest>;
TEST_P(CloseBadInput, IsRefused) { Run(CloseRequest(), v1::TICKET_STATUS_RESOLVED); }
INSTANTIATE_TEST_SUITE_P(Cases, CloseBadInput,
                         ValuesIn(std::vector<BadCase>{
                             {"ReasonTooLong", "reason: '" + Long(kMaxName + 1) + "'", "reason",
                              "reason: at most 256 characters"},
                         }),
                         CaseName);

using ReopenBadInput = BadInputTest<v1::ReopenTicketRequest>;
TEST_P(ReopenBadInput, IsRefused) { Run(ReopenRequest(), v1::TICKET_STATUS_CLOSED); }
INSTANTIATE_TEST_SUITE_P(
    Cases, ReopenBadInput,
    ValuesIn(std::vector<BadCase>{
        {"ReasonMissing", "reason: ''", "reason", "reason: required"},
        {"ReasonBlank", "reason: '  '", "reason", "reason: required"},
        {"ReasonTooLong", "reason: '" + Long(kMaxName + 1) + "'", "reason",
         "reason: at most 256 characters"},
    }),
    CaseName);

TEST_F(TicketTest, ReopenAClosedTicketRestartsTheResolutionClock) {
  GivenStatus(v1::TICKET_STATUS_CLOSED);
  const v1::Sla before = state_.sla();
  ASSERT_TRUE(before.resolution().has_met_at());
  clock_.Set(At(14, 11));  // the next Monday 11:00
  When(TextProto<v1::ReopenTicketRequest>(R"pb(reason: " wrong again ")pb"));
  v1::Sla previous = before;  // the resolution timer afresh, the first response kept
  previous.clear_resolution();
  *previous.mutable_clock_started_at() = Ts(At(14, 11));
  const v1::Sla sla = ComputeSla(At(14, 11), "", {}, &previous);
  v1::TicketEvent expected =
      Event(R"pb(reopened { reason: "wrong again" from_status: TICKET_STATUS_CLOSED })pb");
  *expected.mutable_reopened()->mutable_sla() = sla;
  *expected.mutable_reopened()->mutable_promised_by() = sla.resolution().due_at();
  Then({expected});

  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_REOPENED);
  EXPECT_EQ(state_.reopen_count(), 1);
  EXPECT_FALSE(state_.has_closed_at());
  EXPECT_FALSE(state_.has_resolved_at());
  EXPECT_EQ(T(state_.sla().clock_started_at()), At(14, 11));
  EXPECT_EQ(T(state_.sla().resolution().due_at()), At(16, 17));  // Wednesday 17:00
  EXPECT_FALSE(state_.sla().resolution().has_met_at());
  EXPECT_EQ(T(state_.sla().first_response().met_at()), kStart);  // kept
  EXPECT_EQ(T(state_.promised_by()), At(16, 17));
}

TEST_F(TicketTest, ReopenResetsTheResolutionTimersFlags) {
  GivenStatus(v1::TICKET_STATUS_RESOLUTION_AGREED);
  // Let the resolution deadline pass: warned, breached, escalated.
  clock_.Set(At(10, 9));
  WhenSlaCheck();
  ASSERT_TRUE(result_.ok()) << result_.status();
  Then(*result_);
  ASSERT_TRUE(state_.sla().resolution().warned());
  ASSERT_TRUE(state_.sla().resolution().breached());
  ASSERT_TRUE(state_.sla().resolution().escalated());
  Do(ResolveRequest());
  EXPECT_FALSE(state_.resolved_on_time());
  clock_.Set(At(10, 10));
  When(ReopenRequest());
  ASSERT_TRUE(result_.ok()) << result_.status();
  Then(*result_);
  const v1::SlaTimer& resolution = state_.sla().resolution();
  EXPECT_FALSE(resolution.warned());
  EXPECT_FALSE(resolution.breached());
  EXPECT_FALSE(resolution.escalated());
  EXPECT_FALSE(resolution.has_met_at());
  EXPECT_GT(T(resolution.due_at()), At(10, 10));
  EXPECT_EQ(state_.escalations_size(), 1);  // history kept
  // The new clock fires again, once.
  clock_.Set(At(14, 18));
  WhenSlaCheck();
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_EQ(result_->size(), 3u) << DumpMessages(*result_);
}

TEST_F(TicketTest, ReopenTwiceCountsTwice) {
  GivenStatus(v1::TICKET_STATUS_REOPENED);
  Do(StartRequest());
  Do(ProposeRequest());
  Do(Answer(true));
  Do(ResolveRequest());
  Do(ReopenRequest());
  EXPECT_EQ(state_.reopen_count(), 2);
}

// =============================================================================
// Comments
// =============================================================================

TEST_F(TicketTest, CommentsAreNumberedAndAllowedEvenOnAClosedTicket) {
  GivenStatus(v1::TICKET_STATUS_CLOSED);
  const int before = state_.comments_size();
  clock_.Set(At(8, 12));
  When(TextProto<v1::AddCommentRequest>(R"pb(text: "Archived" customer_visible: false)pb"));
  v1::TicketEvent expected =
      Event("comment_added { comment { author: 'alice' text: 'Archived' } }");
  v1::Comment& comment = *expected.mutable_comment_added()->mutable_comment();
  comment.set_comment_id("c" + std::to_string(before + 1));
  *comment.mutable_created_at() = Ts(At(8, 12));
  Then({expected});
  ASSERT_EQ(state_.comments_size(), before + 1);
  EXPECT_THAT(state_.comments(before), EqualsProto(comment));
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_CLOSED);
}

TEST_F(TicketTest, CommentIdsCountTheComments) {
  Given({Opened()});
  When(CommentRequest(false));
  Then(*result_);
  When(CommentRequest(false));
  ASSERT_TRUE(result_.ok());
  EXPECT_EQ((*result_)[0].comment_added().comment().comment_id(), "c2");
}

TEST_F(TicketTest, ATicketHoldsAtMostAThousandComments) {
  Given({Opened()});
  for (int i = 0; i < kMaxComments; ++i) state_.add_comments()->set_text("x");
  When(CommentRequest(false));
  ThenError(Code::kFailedPrecondition, "comments");
  state_.mutable_comments()->RemoveLast();
  When(CommentRequest(false));
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_EQ((*result_)[0].comment_added().comment().comment_id(), "c1000");
}

using CommentBadInput = BadInputTest<v1::AddCommentRequest>;
TEST_P(CommentBadInput, IsRefused) { Run(CommentRequest(true), v1::TICKET_STATUS_OPENED); }
INSTANTIATE_TEST_SUITE_P(
    Cases, CommentBadInput,
    ValuesIn(std::vector<BadCase>{
        {"TextMissing", "text: ''", "text", "text: required"},
        {"TextBlank", "text: '\\n'", "text", "text: required"},
        {"TextTooLong", "text: '" + Long(kMaxText + 1) + "'", "text", "text: at most 10000 characters"},
    }),
    CaseName);

// =============================================================================
// Waiting on the customer
// =============================================================================

TEST_F(TicketTest, WaitingOnTheCustomerPausesTheClocks) {
  GivenStatus(v1::TICKET_STATUS_OPENED);
  const v1::Sla before = state_.sla();
  clock_.Set(At(7, 11));
  When(Waiting(true, " need the invoice copy "));
  const v1::Sla sla =
      ComputeSla(kStart, "", {{At(7, 11), absl::InfiniteFuture()}}, &before);
  v1::TicketEvent expected = Event(R"pb(waiting_on_customer { reason: "need the invoice copy" })pb");
  *expected.mutable_waiting_on_customer()->mutable_sla() = sla;
  Then({expected});

  EXPECT_TRUE(sla.paused());
  EXPECT_FALSE(sla.first_response().has_due_at());
  EXPECT_FALSE(sla.resolution().has_due_at());
  EXPECT_TRUE(state_.waiting_on_customer());
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_OPENED);
  ASSERT_EQ(state_.pauses_size(), 1);
  EXPECT_EQ(T(state_.pauses(0).from()), At(7, 11));
  EXPECT_FALSE(state_.pauses(0).has_to());
  EXPECT_EQ(state_.pauses(0).reason(), "need the invoice copy");
  EXPECT_THAT(state_.sla(), EqualsProto(sla));
  EXPECT_EQ(T(state_.promised_by()), At(9, 16));  // the promise stays
  const std::vector<sla::Interval> pauses = PausesOf(state_);
  ASSERT_EQ(pauses.size(), 1u);
  EXPECT_EQ(pauses[0].from, At(7, 11));
  EXPECT_EQ(pauses[0].to, absl::InfiniteFuture());

  When(Waiting(true));
  ThenError(Code::kFailedPrecondition, "waiting_on_customer",
            "waiting_on_customer: already waiting on the customer");
}

TEST_F(TicketTest, TheCustomersResponseShiftsTheDeadlinesByThePause) {
  GivenStatus(v1::TICKET_STATUS_OPENED);
  clock_.Set(At(7, 11));
  Do(Waiting(true));
  const v1::Sla paused = state_.sla();
  clock_.Set(At(7, 12));
  When(Waiting(false, " sent the copy "));
  const v1::Sla sla = ComputeSla(kStart, "", {{At(7, 11), At(7, 12)}}, &paused);
  v1::TicketEvent expected = Event(R"pb(customer_responded { note: "sent the copy" })pb");
  *expected.mutable_customer_responded()->mutable_sla() = sla;
  Then({expected});

  // One business hour later each.
  EXPECT_EQ(T(state_.sla().first_response().due_at()), At(7, 15));
  EXPECT_EQ(T(state_.sla().resolution().due_at()), At(9, 17));
  EXPECT_FALSE(state_.sla().paused());
  EXPECT_FALSE(state_.waiting_on_customer());
  ASSERT_EQ(state_.pauses_size(), 1);
  EXPECT_EQ(T(state_.pauses(0).to()), At(7, 12));
  EXPECT_EQ(T(state_.promised_by()), At(9, 16));
  const std::vector<sla::Interval> pauses = PausesOf(state_);
  ASSERT_EQ(pauses.size(), 1u);
  EXPECT_EQ(pauses[0].to, At(7, 12));

  // A second wait counts both pauses.
  clock_.Set(At(7, 13));
  Do(Waiting(true));
  clock_.Set(At(7, 14));
  Do(Waiting(false));
  EXPECT_EQ(state_.pauses_size(), 2);
  EXPECT_EQ(T(state_.sla().first_response().due_at()), At(7, 16));
}

TEST_F(TicketTest, PausesBeforeTheClocksRestartedDoNotCount) {
  v1::Ticket ticket;
  *ticket.mutable_sla()->mutable_clock_started_at() = Ts(At(8, 9));
  v1::Pause* old = ticket.add_pauses();
  *old->mutable_from() = Ts(At(7, 11));
  *old->mutable_to() = Ts(At(7, 12));
  v1::Pause* recent = ticket.add_pauses();
  *recent->mutable_from() = Ts(At(8, 10));
  const std::vector<sla::Interval> pauses = PausesOf(ticket);
  ASSERT_EQ(pauses.size(), 1u);
  EXPECT_EQ(pauses[0].from, At(8, 10));
  EXPECT_EQ(pauses[0].to, absl::InfiniteFuture());
}

using WaitingBadInput = BadInputTest<v1::SetWaitingOnCustomerRequest>;
TEST_P(WaitingBadInput, IsRefused) { Run(Waiting(true), v1::TICKET_STATUS_OPENED); }
INSTANTIATE_TEST_SUITE_P(Cases, WaitingBadInput,
                         ValuesIn(std::vector<BadCase>{
                             {"ReasonTooLong", "reason: '" + Long(kMaxName + 1) + "'", "reason",
                              "reason: at most 256 characters"},
                             {"ResumeNoteTooLong",
                              "waiting: false reason: '" + Long(kMaxName + 1) + "'", "reason",
                              "reason: at most 256 characters"},
                         }),
                         CaseName);

// =============================================================================
// SLA check
// =============================================================================

TEST_F(TicketTest, SlaCheckWarnsThenBreachesAndEscalatesOnceEach) {
  GivenStatus(v1::TICKET_STATUS_OPENED);
  Do(AssignTo("bob"));  // no first response yet
  clock_.Set(At(7, 13, 11));
  WhenSlaCheck();
  ThenNoEvents();

  clock_.Set(At(7, 13, 12));  // 80 % of 4 h
  WhenSlaCheck();
  v1::TicketEvent warning = Event("sla_warning { target: SLA_TARGET_FIRST_RESPONSE }");
  *warning.mutable_sla_warning()->mutable_due_at() = Ts(At(7, 13, 12));
  *warning.mutable_sla_warning()->mutable_detected_at() = Ts(At(7, 13, 12));
  Then({warning});
  EXPECT_TRUE(state_.sla().first_response().warned());
  WhenSlaCheck();
  ThenNoEvents();

  clock_.Set(At(7, 14, 5));
  WhenSlaCheck();
  v1::TicketEvent breached = Event(R"pb(sla_breached {
                                          target: SLA_TARGET_FIRST_RESPONSE
                                          assignee: "bob"
                                          team: "support"
                                        })pb");
  *breached.mutable_sla_breached()->mutable_due_at() = Ts(At(7, 14));
  *breached.mutable_sla_breached()->mutable_detected_at() = Ts(At(7, 14, 5));
  v1::TicketEvent escalated = Event(R"pb(escalated {
                                           escalation {
                                             target: SLA_TARGET_FIRST_RESPONSE
                                             to: "escalations"
                                             to_queue: true
                                             reason: "FIRST_RESPONSE target breached"
                                           }
                                         })pb");
  *escalated.mutable_escalated()->mutable_escalation()->mutable_escalated_at() =
      Ts(At(7, 14, 5));
  Then({breached, escalated});
  EXPECT_TRUE(state_.sla().first_response().breached());
  EXPECT_TRUE(state_.sla().first_response().escalated());
  ASSERT_EQ(state_.escalations_size(), 1);
  EXPECT_THAT(state_.escalations(0), EqualsProto(escalated.escalated().escalation()));
  WhenSlaCheck();
  ThenNoEvents();

  // The resolution timer: warning Wednesday 11:12, breach Wednesday 16:00.
  clock_.Set(At(9, 11, 12));
  WhenSlaCheck();
  ASSERT_TRUE(result_.ok()) << result_.status();
  ASSERT_EQ(result_->size(), 1u) << DumpMessages(*result_);
  EXPECT_EQ((*result_)[0].sla_warning().target(), v1::SLA_TARGET_RESOLUTION);
  Then(*result_);
  WhenSlaCheck();
  ThenNoEvents();
  clock_.Set(At(9, 16));
  WhenSlaCheck();
  ASSERT_TRUE(result_.ok()) << result_.status();
  ASSERT_EQ(result_->size(), 2u) << DumpMessages(*result_);
  EXPECT_EQ((*result_)[0].sla_breached().target(), v1::SLA_TARGET_RESOLUTION);
  EXPECT_EQ((*result_)[1].escalated().escalation().reason(), "RESOLUTION target breached");
  Then(*result_);
  EXPECT_EQ(state_.escalations_size(), 2);
  WhenSlaCheck();
  ThenNoEvents();
}

TEST_F(TicketTest, SlaCheckLongOverdueWarnsAndBreachesAtOnce) {
  GivenStatus(v1::TICKET_STATUS_OPENED);
  clock_.Set(At(7, 17));
  WhenSlaCheck();
  ASSERT_TRUE(result_.ok()) << result_.status();
  ASSERT_EQ(result_->size(), 3u) << DumpMessages(*result_);
  EXPECT_TRUE((*result_)[0].has_sla_warning());
  EXPECT_TRUE((*result_)[1].has_sla_breached());
  EXPECT_EQ((*result_)[1].sla_breached().assignee(), "");  // nobody assigned yet
  EXPECT_TRUE((*result_)[2].has_escalated());
  Then(*result_);
  WhenSlaCheck();
  ThenNoEvents();
}

TEST_F(TicketTest, SlaCheckFindsNothingWhileWaitingOrOnceMet) {
  GivenStatus(v1::TICKET_STATUS_OPENED, /*waiting=*/true);
  clock_.Set(At(14, 9));  // long after both deadlines
  WhenSlaCheck();
  ThenNoEvents();
  GivenStatus(v1::TICKET_STATUS_INVESTIGATING);  // first response met at kStart
  clock_.Set(At(7, 17));
  WhenSlaCheck();
  ThenNoEvents();
}

TEST_F(TicketTest, SlaCheckIgnoresTicketsNoLongerOpen) {
  for (const v1::TicketStatus status :
       {v1::TICKET_STATUS_RESOLVED, v1::TICKET_STATUS_FEEDBACK_RECEIVED,
        v1::TICKET_STATUS_CLOSED}) {
    SCOPED_TRACE(StatusName(status));
    GivenStatus(status);
    // Pretend a deadline is still pending.
    state_.mutable_sla()->mutable_resolution()->clear_met_at();
    clock_.Set(At(21, 9));
    WhenSlaCheck();
    ThenNoEvents();
  }
}

// =============================================================================
// SLA recomputation
// =============================================================================

TEST_F(TicketTest, RecomputeSlaIsEmptyWhenNothingChanged) {
  GivenStatus(v1::TICKET_STATUS_INVESTIGATING);
  clock_.Set(At(8, 10));
  WhenRecomputeSla("configuration 1");
  ThenNoEvents();
  GivenStatus(v1::TICKET_STATUS_ASSIGNED, /*waiting=*/true);
  WhenRecomputeSla("configuration 1");
  ThenNoEvents();
}

TEST_F(TicketTest, RecomputeSlaForAGoldCustomerTightensTheDeadlines) {
  GivenStatus(v1::TICKET_STATUS_INVESTIGATING);  // first response met at kStart
  const v1::Sla before = state_.sla();
  ctx_.tier = engine_.TierFor({"key"});
  ASSERT_EQ(ctx_.tier, "gold");
  clock_.Set(At(7, 11));
  WhenRecomputeSla(" class changed to key ");
  const v1::Sla gold = ComputeSla(kStart, "gold", {}, &before);
  v1::TicketEvent expected = Event(R"pb(sla_recomputed { reason: "class changed to key" })pb");
  *expected.mutable_sla_recomputed()->mutable_sla() = gold;
  *expected.mutable_sla_recomputed()->mutable_previous() = before;
  Then({expected});

  EXPECT_EQ(state_.sla().tier(), "gold");
  EXPECT_EQ(T(state_.sla().resolution().due_at()), At(8, 13));  // 12 business hours
  EXPECT_EQ(T(state_.sla().first_response().met_at()), kStart);  // kept
  EXPECT_EQ(T(state_.promised_by()), At(9, 16));  // the promise told stays
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_INVESTIGATING);

  WhenRecomputeSla("again");
  ThenNoEvents();
  // A later waiting keeps the gold tier.
  Do(Waiting(true));
  EXPECT_EQ(state_.sla().tier(), "gold");
}

TEST_F(TicketTest, RecomputeSlaLeavesResolvedTicketsAlone) {
  for (const v1::TicketStatus status :
       {v1::TICKET_STATUS_RESOLVED, v1::TICKET_STATUS_FEEDBACK_RECEIVED,
        v1::TICKET_STATUS_CLOSED}) {
    SCOPED_TRACE(StatusName(status));
    GivenStatus(status);
    ctx_.tier = "gold";
    WhenRecomputeSla("class changed");
    ThenNoEvents();
  }
  GivenStatus(v1::TICKET_STATUS_REOPENED);
  ctx_.tier = "gold";
  WhenRecomputeSla("class changed");
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_EQ(result_->size(), 1u);
}

TEST_F(TicketTest, RecomputeSlaNeedsAReason) {
  GivenStatus(v1::TICKET_STATUS_OPENED);
  WhenRecomputeSla(" ");
  ThenError(Code::kInvalidArgument, "reason", "reason: required");
  WhenRecomputeSla(Long(kMaxName + 1));
  ThenError(Code::kInvalidArgument, "reason", "reason: at most 256 characters");
}

// =============================================================================
// Folding
// =============================================================================

TEST_F(TicketTest, ApplyFoldsEveryKindOfTicketEvent) {
  std::set<std::string> applied;
  const auto fold = [&](const v1::TicketEvent& e, absl::Time at) {
    applied.insert(EventType(e));
    Fold(e, at, "bob");
  };
  fold(Opened(), kStart);
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_OPENED);
  EXPECT_EQ(state_.opened_by(), "bob");

  fold(Event(R"pb(assigned { to_assignee: "bob" team: "support" })pb"), At(7, 10, 5));
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_ASSIGNED);
  EXPECT_EQ(state_.assignee(), "bob");

  fold(Event("sla_warning { target: SLA_TARGET_FIRST_RESPONSE }"), At(7, 13, 12));
  EXPECT_TRUE(state_.sla().first_response().warned());
  fold(Event("sla_breached { target: SLA_TARGET_FIRST_RESPONSE }"), At(7, 14));
  EXPECT_TRUE(state_.sla().first_response().breached());
  fold(Event("escalated { escalation { target: SLA_TARGET_FIRST_RESPONSE to: 'm' } }"),
       At(7, 14));
  EXPECT_TRUE(state_.sla().first_response().escalated());
  ASSERT_EQ(state_.escalations_size(), 1);
  EXPECT_EQ(state_.escalations(0).to(), "m");

  v1::TicketEvent started = Event("investigation_started {}");
  *started.mutable_investigation_started()->mutable_first_response_at() = Ts(At(7, 15));
  fold(started, At(7, 15));
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_INVESTIGATING);
  EXPECT_EQ(T(state_.sla().first_response().met_at()), At(7, 15));

  fold(Event("comment_added { comment { comment_id: 'c1' text: 'hi' } }"), At(7, 15));
  ASSERT_EQ(state_.comments_size(), 1);
  EXPECT_EQ(state_.comments(0).text(), "hi");

  fold(Event("findings_recorded { findings { details: 'd' } }"), At(7, 16));
  ASSERT_EQ(state_.findings_size(), 1);

  v1::TicketEvent waiting = Event("waiting_on_customer { reason: 'copy' sla { paused: true } }");
  fold(waiting, At(7, 16));
  EXPECT_TRUE(state_.waiting_on_customer());
  EXPECT_TRUE(state_.sla().paused());
  ASSERT_EQ(state_.pauses_size(), 1);
  EXPECT_EQ(T(state_.pauses(0).from()), At(7, 16));
  EXPECT_EQ(state_.pauses(0).reason(), "copy");

  v1::TicketEvent responded = Event("customer_responded { note: 'sent' sla { tier: 'x' } }");
  fold(responded, At(7, 17));
  EXPECT_FALSE(state_.waiting_on_customer());
  EXPECT_FALSE(state_.sla().paused());
  EXPECT_EQ(state_.sla().tier(), "x");
  EXPECT_EQ(T(state_.pauses(0).to()), At(7, 17));

  fold(Event("sla_recomputed { reason: 'r' sla { tier: 'gold' } previous { tier: 'x' } }"),
       At(7, 17));
  EXPECT_EQ(state_.sla().tier(), "gold");

  fold(Event("resolution_proposed { resolution: 'credit' }"), At(8, 9));
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_RESOLUTION_PROPOSED);
  EXPECT_EQ(state_.proposed_resolution(), "credit");
  fold(Event("resolution_answered { agreed: false comment: 'no' }"), At(8, 9));
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_INVESTIGATING);
  fold(Event("resolution_proposed { resolution: 'more credit' }"), At(8, 10));
  fold(Event("resolution_answered { agreed: true }"), At(8, 10));
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_RESOLUTION_AGREED);

  v1::TicketEvent resolved = Event("resolved { summary: 's' on_time: true }");
  *resolved.mutable_resolved()->mutable_resolved_at() = Ts(At(8, 11));
  fold(resolved, At(8, 11));
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_RESOLVED);
  EXPECT_EQ(state_.resolution_summary(), "s");
  EXPECT_TRUE(state_.resolved_on_time());
  EXPECT_EQ(T(state_.resolved_at()), At(8, 11));
  EXPECT_EQ(T(state_.sla().resolution().met_at()), At(8, 11));

  fold(Event("feedback_recorded { feedback { satisfied: true score: 5 } }"), At(8, 12));
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_FEEDBACK_RECEIVED);
  EXPECT_EQ(state_.feedback().score(), 5);

  fold(Event("closed { reason: 'done' }"), At(8, 13));
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_CLOSED);
  EXPECT_EQ(T(state_.closed_at()), At(8, 13));

  v1::TicketEvent reopened = Event("reopened { reason: 'r' from_status: TICKET_STATUS_CLOSED }");
  *reopened.mutable_reopened()->mutable_sla()->mutable_clock_started_at() = Ts(At(8, 14));
  *reopened.mutable_reopened()->mutable_promised_by() = Ts(At(11, 14));
  fold(reopened, At(8, 14));
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_REOPENED);
  EXPECT_EQ(state_.reopen_count(), 1);
  EXPECT_EQ(T(state_.promised_by()), At(11, 14));
  EXPECT_EQ(T(state_.sla().clock_started_at()), At(8, 14));
  EXPECT_FALSE(state_.has_resolved_at());
  EXPECT_FALSE(state_.has_closed_at());
  EXPECT_FALSE(state_.resolved_on_time());
  EXPECT_EQ(state_.assignee(), "bob");

  EXPECT_EQ(state_.version(), 19u);
  EXPECT_EQ(T(state_.updated_at()), At(8, 14));

  // Every kind but SlaConfigChanged (not a ticket's event) was folded.
  std::set<std::string> all;
  const google::protobuf::OneofDescriptor* kind =
      v1::TicketEvent::descriptor()->FindOneofByName("kind");
  for (int i = 0; i < kind->field_count(); ++i) {
    all.insert(kind->field(i)->message_type()->full_name());
  }
  all.erase("crm.ticket.v1.SlaConfigChanged");
  EXPECT_EQ(applied, all);
}

TEST_F(TicketTest, EventsOfNoOrAnotherKindOnlyMoveTheVersion) {
  Given({Opened()});
  const v1::Ticket before = state_;
  clock_.Set(At(7, 12));
  Given({Event(""), Event("sla_config_changed { config { version: 3 } }"), Opened()});
  EXPECT_EQ(state_.version(), 4u);
  EXPECT_EQ(T(state_.updated_at()), At(7, 12));
  v1::Ticket rest = state_;
  rest.set_version(before.version());
  *rest.mutable_updated_at() = before.updated_at();
  EXPECT_THAT(rest, EqualsProto(before));  // a second TicketOpened changes nothing either
}

TEST_F(TicketTest, EventTypeNamesTheMessageOfTheKind) {
  EXPECT_EQ(EventType(Opened()), "crm.ticket.v1.TicketOpened");
  EXPECT_EQ(EventType(Event("escalated {}")), "crm.ticket.v1.TicketEscalated");
  EXPECT_EQ(EventType(Event("sla_breached {}")), "crm.ticket.v1.SlaBreached");
  EXPECT_EQ(EventType(v1::TicketEvent()), "");
  const google::protobuf::OneofDescriptor* kind =
      v1::TicketEvent::descriptor()->FindOneofByName("kind");
  for (int i = 0; i < kind->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = kind->field(i);
    v1::TicketEvent event;
    event.GetReflection()->MutableMessage(&event, field);
    EXPECT_EQ(EventType(event), "crm.ticket.v1." + field->message_type()->name())
        << field->name();
  }
}

TEST_F(TicketTest, NamesAndOpenStatuses) {
  EXPECT_EQ(TypeName(v1::TICKET_TYPE_COMPLAINT), "COMPLAINT");
  EXPECT_EQ(TypeName(v1::TICKET_TYPE_PROCEDURE_HANDLING), "PROCEDURE_HANDLING");
  EXPECT_EQ(TypeName(static_cast<v1::TicketType>(42)), "42");
  EXPECT_EQ(StatusName(v1::TICKET_STATUS_RESOLVED), "RESOLVED");
  EXPECT_EQ(StatusName(v1::TICKET_STATUS_RESOLUTION_AGREED), "RESOLUTION_AGREED");
  EXPECT_EQ(StatusName(v1::TICKET_STATUS_UNSPECIFIED), "UNSPECIFIED");
  for (const v1::TicketStatus status : kAllStatuses) {
    EXPECT_EQ(IsOpen(status), kOpen.count(status) > 0) << StatusName(status);
  }
  EXPECT_FALSE(IsOpen(v1::TICKET_STATUS_UNSPECIFIED));
}

// A whole life, folded from the decisions alone.
TEST_F(TicketTest, ALifecycleFromOpeningToClosing) {
  Do(OpenRequest());
  clock_.Set(At(7, 10, 30));
  Do(AssignTo("bob"));
  clock_.Set(At(7, 11));
  Do(StartRequest());
  Do(FindingsRequest());
  clock_.Set(At(7, 12));
  Do(Waiting(true));
  clock_.Set(At(7, 13));
  Do(Waiting(false));
  Do(ProposeRequest());
  Do(Answer(true));
  clock_.Set(At(8, 16));
  Do(ResolveRequest());
  Do(Feedback(true));
  Do(CloseRequest());
  EXPECT_EQ(state_.status(), v1::TICKET_STATUS_CLOSED);
  EXPECT_TRUE(state_.resolved_on_time());
  EXPECT_EQ(T(state_.sla().first_response().met_at()), At(7, 11));
  EXPECT_EQ(T(state_.sla().resolution().due_at()), At(9, 17));  // one hour of waiting
  EXPECT_EQ(T(state_.promised_by()), At(9, 16));
  EXPECT_EQ(state_.version(), 11u);
}

}  // namespace
}  // namespace crm::ticket
