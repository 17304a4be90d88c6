// The ticket service's behaviour on a real store with a fake clock: customers and
// classes arrive through the directory consumer; access follows the customer and
// the assignment; SLA warnings, breaches and escalations fire once; a class change
// or a new SLA configuration recomputes open tickets; KPIs match a scenario
// computed by hand.
#include "crm/ticket/app/ticket_app.h"

#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crm/classification/v1/classification_events.pb.h"
#include "crm/common/proto_time.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "command/testing/app_test.h"
#include "crm/directory/customer_directory.h"
#include "crm/ticket/consumer/ticket_consumer.h"
#include "crm/messaging/cloudevents.h"
#include "crm/ticket/projection/ticket_projection.h"
#include "crm/ticket/domain/sla_engine.h"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "messaging/testing/store_view.h"

namespace crm::ticket {
namespace {

using auth::Principal;
using auth::Role;

// Monday 2026-12-14 09:00 UTC: the default calendar's first working minute.
const absl::Time kMonday9 = absl::FromCivil(absl::CivilMinute(2026, 12, 14, 9, 0), absl::UTCTimeZone());

class TicketAppTest : public command::testing::AppTest<TicketApp> {
 protected:
  TicketAppTest() : AppTest(kMonday9) {}
  absl::StatusOr<std::unique_ptr<TicketApp>> MakeApp(command::Pipeline& pipeline) override {
    return TicketApp::Create({.pipeline = &pipeline});
  }

  // Feeds one event through the consumer main.cc runs.
  void Consume(std::string_view topic, const std::string& payload) {
    std::unique_ptr<messaging::EventHandler> handler = NewTicketConsumer();
    ASSERT_TRUE(messaging::testing::HandleAndCommit(*handler, *store_, topic, payload, ++position_).ok());
  }


  void Registered(const std::string& id, const std::string& owner, const std::string& region) {
    customer::v1::CustomerEvent e;
    e.set_customer_id(id);
    e.mutable_registered()->set_owner(owner);
    e.mutable_registered()->set_region(region);
    Consume(messaging::kCustomerTopic, e.SerializeAsString());
  }

  void Classified(const std::string& id, const std::string& cls) {
    classification::v1::ClassificationEvent e;
    e.set_customer_id(id);
    e.mutable_classified()->set_scheme(classification::v1::SCHEME_TIER);
    e.mutable_classified()->set_new_class(cls);
    Consume(messaging::kClassificationTopic, e.SerializeAsString());
  }

  std::string OpenTicket(const std::string& customer, v1::TicketType type, v1::Priority priority,
                         const Principal& who) {
    v1::OpenTicketRequest req;
    req.set_customer_id(customer);
    req.set_type(type);
    req.set_channel(v1::TICKET_CHANNEL_PHONE);
    req.set_priority(priority);
    req.set_subject("invoice wrong");
    auto r = Call(&TicketApp::OpenTicket, who, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->ticket_id() : "";
  }

  void Assign(const std::string& id, const std::string& assignee, const std::string& team) {
    v1::AssignTicketRequest req;
    req.set_ticket_id(id);
    req.set_assignee(assignee);
    req.set_team(team);
    auto r = Call(&TicketApp::AssignTicket, exec_, req);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  // Assigned → investigating → proposed → agreed → resolved, by the assignee.
  void Resolve(const std::string& id, const Principal& assignee) {
    v1::StartInvestigationRequest start;
    start.set_ticket_id(id);
    ASSERT_TRUE(Call(&TicketApp::StartInvestigation, assignee, start).ok());
    v1::ProposeResolutionRequest propose;
    propose.set_ticket_id(id);
    propose.set_resolution("credit note");
    ASSERT_TRUE(Call(&TicketApp::ProposeResolution, assignee, propose).ok());
    v1::AnswerResolutionRequest answer;
    answer.set_ticket_id(id);
    answer.set_agreed(true);
    ASSERT_TRUE(Call(&TicketApp::AnswerResolution, assignee, answer).ok());
    v1::ResolveTicketRequest resolve;
    resolve.set_ticket_id(id);
    resolve.set_summary("credit note sent");
    auto r = Call(&TicketApp::ResolveTicket, assignee, resolve);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  void Feedback(const std::string& id, bool satisfied, int score) {
    v1::RecordFeedbackRequest req;
    req.set_ticket_id(id);
    req.set_satisfied(satisfied);
    req.set_score(score);
    if (!satisfied) req.set_comment("still wrong");
    auto r = Call(&TicketApp::RecordFeedback, exec_, req);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  v1::Ticket Get(const std::string& id) {
    v1::GetTicketRequest req;
    req.set_ticket_id(id);
    auto r = Call(&TicketApp::GetTicket, exec_, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->ticket() : v1::Ticket();
  }

  int CountEvents(const std::string& type) {
    int n = 0;
    auto all = store_->ReadAll(1, SIZE_MAX);
    for (const auto& e : *all) n += e.event_type() == type;
    return n;
  }

  v1::GetKpisResponse Kpis(const Principal& who, v1::KpiGrouping group_by) {
    v1::GetKpisRequest req;
    *req.mutable_from() = ToProtoTimestamp(kMonday9 - absl::Hours(9));
    *req.mutable_to() = ToProtoTimestamp(kMonday9 + absl::Hours(15));
    req.set_group_by(group_by);
    auto r = Call(&TicketApp::GetKpis, who, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::GetKpisResponse();
  }

  uint64_t position_ = 0;
  const Principal exec_{"eve", {Role::kExecutive}, ""};
  const Principal alice_{"alice", {Role::kServiceAgent}, "north"};
  const Principal ann_{"ann", {Role::kServiceAgent}, "north"};
  const Principal ben_{"ben", {Role::kServiceAgent}, "south"};
  const Principal north_manager_{"nina", {Role::kRegionalManager}, "north"};
  const Principal south_manager_{"sam", {Role::kRegionalManager}, "south"};
};

TEST_F(TicketAppTest, OpeningAnswersWithThePromisedHandlingTime) {
  Registered("c1", "alice", "north");
  v1::OpenTicketRequest req;
  req.set_customer_id("c1");
  req.set_type(v1::TICKET_TYPE_COMPLAINT);
  req.set_channel(v1::TICKET_CHANNEL_COMPLAINT_MAILBOX);
  req.set_subject("late delivery");
  auto r = Call(&TicketApp::OpenTicket, alice_, req);
  ASSERT_TRUE(r.ok()) << r.status();
  // NORMAL: 24 business hours of Mon-Fri 09-18 from Monday 09:00 = Wednesday 15:00.
  EXPECT_EQ(FromProtoTimestamp(r->promised_by()),
            absl::FromCivil(absl::CivilMinute(2026, 12, 16, 15, 0), absl::UTCTimeZone()));
  EXPECT_EQ(r->write().ticket().status(), v1::TICKET_STATUS_OPENED);
  EXPECT_EQ(r->write().ticket().region(), "north");
  EXPECT_EQ(FromProtoTimestamp(Get(r->ticket_id()).promised_by()), FromProtoTimestamp(r->promised_by()));
}

TEST_F(TicketAppTest, UnknownCustomerIsNotFoundAndNothingIsWritten) {
  v1::OpenTicketRequest req;
  req.set_customer_id("nobody");
  req.set_type(v1::TICKET_TYPE_CONSULTATION);
  req.set_channel(v1::TICKET_CHANNEL_EMAIL);
  req.set_subject("question");
  EXPECT_EQ(Call(&TicketApp::OpenTicket, exec_, req).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->LastPosition(), 0u);
}

TEST_F(TicketAppTest, InvalidRequestNamesTheFieldAndWritesNothing) {
  Registered("c1", "alice", "north");
  v1::OpenTicketRequest req;
  req.set_customer_id("c1");
  req.set_channel(v1::TICKET_CHANNEL_EMAIL);
  req.set_subject("question");
  auto r = Call(&TicketApp::OpenTicket, exec_, req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(r.status().message(), "type:")) << r.status();
  EXPECT_EQ(store_->LastPosition(), 0u);
}

TEST_F(TicketAppTest, RetriedCommandIdAnswersTheFirstResult) {
  Registered("c1", "alice", "north");
  v1::OpenTicketRequest req;
  req.mutable_options()->set_command_id("open-1");
  req.set_customer_id("c1");
  req.set_type(v1::TICKET_TYPE_CONSULTATION);
  req.set_channel(v1::TICKET_CHANNEL_EMAIL);
  req.set_subject("question");
  auto first = Call(&TicketApp::OpenTicket, exec_, req);
  auto again = Call(&TicketApp::OpenTicket, exec_, req);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->ticket_id(), again->ticket_id());
  EXPECT_EQ(FromProtoTimestamp(again->promised_by()), FromProtoTimestamp(first->promised_by()));
  EXPECT_EQ(CountEvents("crm.ticket.v1.TicketOpened"), 1);
}

// A command id is the caller's own (and the RPC's): the same id from two callers
// gives two results; a replay, also after a restart, gets exactly the first
// answer (the ticket as that write left it), and only after the access check.
TEST_F(TicketAppTest, CommandIdsAreScopedReplayedExactlyAndOnlyAfterTheAccessCheck) {
  Registered("c1", "alice", "north");
  Registered("c2", "ben", "south");
  auto open = [](const std::string& customer, const std::string& subject) {
    v1::OpenTicketRequest r;
    r.mutable_options()->set_command_id("open-1");
    r.set_customer_id(customer);
    r.set_type(v1::TICKET_TYPE_CONSULTATION);
    r.set_channel(v1::TICKET_CHANNEL_EMAIL);
    r.set_subject(subject);
    return r;
  };
  auto alices = Call(&TicketApp::OpenTicket, alice_, open("c1", "alice's question"));
  auto bens = Call(&TicketApp::OpenTicket, ben_, open("c2", "ben's question"));
  ASSERT_TRUE(alices.ok() && bens.ok()) << alices.status() << bens.status();
  EXPECT_NE(alices->ticket_id(), bens->ticket_id());
  // The ticket moves on; a replay still answers what the first attempt answered.
  Assign(alices->ticket_id(), "ann", "support");

  Open();  // a restart
  auto replay = Call(&TicketApp::OpenTicket, alice_, open("c1", "alice's question"));
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->SerializeAsString(), alices->SerializeAsString());
  EXPECT_EQ(replay->write().ticket().status(), v1::TICKET_STATUS_OPENED);
  EXPECT_EQ(CountEvents("crm.ticket.v1.TicketOpened"), 2);
  EXPECT_EQ(Call(&TicketApp::OpenTicket, alice_, open("c1", "another")).status().code(),
            absl::StatusCode::kInvalidArgument);

  // Ben replays alice's id on alice's customer: refused, learning nothing.
  auto sneaky = Call(&TicketApp::OpenTicket, ben_, open("c1", "alice's question"));
  EXPECT_EQ(sneaky.status(), absl::NotFoundError("customer c1 not found"));
  EXPECT_EQ(std::string(sneaky.status().message()).find(alices->ticket_id()), std::string::npos);
}

TEST_F(TicketAppTest, ExpectedVersionConflictIsAborted) {
  Registered("c1", "alice", "north");
  const std::string id = OpenTicket("c1", v1::TICKET_TYPE_CONSULTATION, v1::PRIORITY_NORMAL, exec_);
  v1::AssignTicketRequest req;
  req.set_ticket_id(id);
  req.set_assignee("ann");
  req.mutable_options()->set_expected_version(7);
  auto r = Call(&TicketApp::AssignTicket, exec_, req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "version 1")) << r.status();
  req.mutable_options()->set_expected_version(1);
  auto ok = Call(&TicketApp::AssignTicket, exec_, req);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->ticket().status(), v1::TICKET_STATUS_ASSIGNED);
  EXPECT_EQ(ok->version(), 2u);
}

TEST_F(TicketAppTest, AccessFollowsTheCustomerAndTheAssignment) {
  Registered("c1", "alice", "north");
  Registered("c2", "bob", "south");
  const std::string t1 = OpenTicket("c1", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_HIGH, alice_);
  const std::string t2 = OpenTicket("c2", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_HIGH, exec_);
  Assign(t2, "ann", "care");

  v1::GetTicketRequest get;
  get.set_ticket_id(t1);
  EXPECT_TRUE(Call(&TicketApp::GetTicket, alice_, get).ok());          // owns the customer
  EXPECT_TRUE(Call(&TicketApp::GetTicket, north_manager_, get).ok());  // the customer's region
  // A ticket the caller may not see is answered like one that does not exist.
  const absl::Status absent = absl::NotFoundError("ticket " + t1 + " not found");
  EXPECT_EQ(Call(&TicketApp::GetTicket, ann_, get).status(), absent);
  EXPECT_EQ(Call(&TicketApp::GetTicket, south_manager_, get).status(), absent);
  get.set_ticket_id(t2);
  EXPECT_TRUE(Call(&TicketApp::GetTicket, ann_, get).ok());  // assigned to her
  EXPECT_EQ(Call(&TicketApp::GetTicket, alice_, get).status(),
            absl::NotFoundError("ticket " + t2 + " not found"));
  v1::GetTicketRequest no_such;
  no_such.set_ticket_id("no-such-ticket");
  EXPECT_EQ(Call(&TicketApp::GetTicket, alice_, no_such).status(),
            absl::NotFoundError("ticket no-such-ticket not found"));

  // Opening needs access to the customer.
  v1::OpenTicketRequest open;
  open.set_customer_id("c2");
  open.set_type(v1::TICKET_TYPE_CONSULTATION);
  open.set_channel(v1::TICKET_CHANNEL_EMAIL);
  open.set_subject("question");
  EXPECT_EQ(Call(&TicketApp::OpenTicket, alice_, open).status(),
            absl::NotFoundError("customer c2 not found"));
  open.set_customer_id("c9");
  EXPECT_EQ(Call(&TicketApp::OpenTicket, alice_, open).status(),
            absl::NotFoundError("customer c9 not found"));

  auto list = [&](const Principal& who) {
    auto r = Call(&TicketApp::ListTickets, who, v1::ListTicketsRequest());
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> ids;
    if (r.ok()) {
      for (const auto& t : r->tickets()) ids.push_back(t.ticket_id());
    }
    return ids;
  };
  EXPECT_EQ(list(alice_), std::vector<std::string>{t1});
  EXPECT_EQ(list(ann_), std::vector<std::string>{t2});
  EXPECT_EQ(list(south_manager_), std::vector<std::string>{t2});
  EXPECT_EQ(list(exec_).size(), 2u);
}

TEST_F(TicketAppTest, ListFiltersAndPages) {
  Registered("c1", "alice", "north");
  Registered("c2", "bob", "south");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(OpenTicket(i % 2 == 0 ? "c1" : "c2",
                             i < 3 ? v1::TICKET_TYPE_COMPLAINT : v1::TICKET_TYPE_CONSULTATION,
                             v1::PRIORITY_NORMAL, exec_));
    clock_.Advance(absl::Minutes(1));
  }
  Assign(ids[0], "ann", "care");

  v1::ListTicketsRequest req;
  req.set_type(v1::TICKET_TYPE_COMPLAINT);
  req.set_page_size(2);
  auto page1 = Call(&TicketApp::ListTickets, exec_, req);
  ASSERT_TRUE(page1.ok()) << page1.status();
  ASSERT_EQ(page1->tickets_size(), 2);
  EXPECT_EQ(page1->tickets(0).ticket_id(), ids[2]);  // newest first
  EXPECT_EQ(page1->tickets(1).ticket_id(), ids[1]);
  req.set_page_token(page1->next_page_token());
  auto page2 = Call(&TicketApp::ListTickets, exec_, req);
  ASSERT_TRUE(page2.ok()) << page2.status();
  ASSERT_EQ(page2->tickets_size(), 1);
  EXPECT_EQ(page2->tickets(0).ticket_id(), ids[0]);

  v1::ListTicketsRequest by_status;
  by_status.add_statuses(v1::TICKET_STATUS_ASSIGNED);
  auto assigned = Call(&TicketApp::ListTickets, exec_, by_status);
  ASSERT_TRUE(assigned.ok());
  ASSERT_EQ(assigned->tickets_size(), 1);
  EXPECT_EQ(assigned->tickets(0).ticket_id(), ids[0]);

  v1::ListTicketsRequest by_region;
  by_region.set_region("south");
  auto south = Call(&TicketApp::ListTickets, exec_, by_region);
  ASSERT_TRUE(south.ok());
  EXPECT_EQ(south->tickets_size(), 2);

  v1::ListTicketsRequest bad;
  bad.add_statuses(static_cast<v1::TicketStatus>(99));
  auto r = Call(&TicketApp::ListTickets, exec_, bad);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(r.status().message(), "statuses[0]:")) << r.status();
  v1::ListTicketsRequest bad_token;
  bad_token.set_customer_id("c1");
  bad_token.set_page_token(page1->next_page_token());
  EXPECT_EQ(Call(&TicketApp::ListTickets, exec_, bad_token).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TicketAppTest, WarningBreachAndEscalationFireOnceEach) {
  Registered("c2", "bob", "south");
  // URGENT: first response 30 min, resolution 4 h (default configuration).
  const std::string id = OpenTicket("c2", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_URGENT, exec_);
  Assign(id, "ben", "field");
  clock_.Set(kMonday9 + absl::Minutes(23));
  EXPECT_EQ(*app_->CheckSla(), 0);
  clock_.Set(kMonday9 + absl::Minutes(24));  // 0.8 × 30 min
  EXPECT_EQ(*app_->CheckSla(), 1);
  EXPECT_EQ(*app_->CheckSla(), 0);
  clock_.Set(kMonday9 + absl::Minutes(30));
  EXPECT_EQ(*app_->CheckSla(), 2);  // breached + escalated
  EXPECT_EQ(*app_->CheckSla(), 0);
  v1::Ticket t = Get(id);
  EXPECT_TRUE(t.sla().first_response().breached());
  ASSERT_EQ(t.escalations_size(), 1);
  EXPECT_EQ(t.escalations(0).to(), "escalations");
  EXPECT_TRUE(t.escalations(0).to_queue());
  EXPECT_EQ(CountEvents("crm.ticket.v1.SlaWarning"), 1);
  EXPECT_EQ(CountEvents("crm.ticket.v1.SlaBreached"), 1);
  EXPECT_EQ(CountEvents("crm.ticket.v1.TicketEscalated"), 1);

  v1::ListTicketsRequest breached;
  breached.set_breached(true);
  auto r = Call(&TicketApp::ListTickets, exec_, breached);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tickets_size(), 1);
  breached.set_breached(false);
  r = Call(&TicketApp::ListTickets, exec_, breached);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tickets_size(), 0);
}

TEST_F(TicketAppTest, WaitingOnTheCustomerShiftsTheDeadlineByThePause) {
  Registered("c1", "alice", "north");
  const std::string id = OpenTicket("c1", v1::TICKET_TYPE_CONSULTATION, v1::PRIORITY_HIGH, exec_);
  // HIGH: resolution 8 business hours → Monday 17:00.
  const absl::Time due = FromProtoTimestamp(Get(id).sla().resolution().due_at());
  EXPECT_EQ(due, kMonday9 + absl::Hours(8));
  clock_.Set(kMonday9 + absl::Hours(1));
  v1::SetWaitingOnCustomerRequest wait;
  wait.set_ticket_id(id);
  wait.set_waiting(true);
  wait.set_reason("need the contract number");
  ASSERT_TRUE(Call(&TicketApp::SetWaitingOnCustomer, exec_, wait).ok());
  EXPECT_TRUE(Get(id).sla().paused());
  clock_.Set(kMonday9 + absl::Hours(3));
  EXPECT_EQ(*app_->CheckSla(), 0);  // paused: nothing fires, even past the warning time
  wait.set_waiting(false);
  wait.set_reason("sent it");
  ASSERT_TRUE(Call(&TicketApp::SetWaitingOnCustomer, exec_, wait).ok());
  // Two business hours paused: Monday 17:00 + 2 h = Tuesday 10:00.
  EXPECT_EQ(FromProtoTimestamp(Get(id).sla().resolution().due_at()),
            absl::FromCivil(absl::CivilMinute(2026, 12, 15, 10, 0), absl::UTCTimeZone()));
}

TEST_F(TicketAppTest, ClassChangeMovesOpenTicketsToTheTighterTier) {
  Registered("c1", "alice", "north");
  const std::string open = OpenTicket("c1", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_HIGH, exec_);
  const std::string done = OpenTicket("c1", v1::TICKET_TYPE_CONSULTATION, v1::PRIORITY_HIGH, exec_);
  Assign(done, "ann", "care");
  Resolve(done, ann_);
  EXPECT_EQ(FromProtoTimestamp(Get(open).sla().resolution().due_at()), kMonday9 + absl::Hours(8));
  const absl::Time promised = FromProtoTimestamp(Get(open).promised_by());

  Classified("c1", "key");  // → gold: half of each target
  EXPECT_EQ(*app_->RecomputeQueued(), 1);
  v1::Ticket t = Get(open);
  EXPECT_EQ(t.sla().tier(), "gold");
  EXPECT_EQ(FromProtoTimestamp(t.sla().resolution().due_at()), kMonday9 + absl::Hours(4));
  EXPECT_EQ(FromProtoTimestamp(t.promised_by()), promised);  // the promise told stays
  EXPECT_EQ(Get(done).sla().tier(), "");  // resolved tickets keep their SLA
  EXPECT_EQ(CountEvents("crm.ticket.v1.SlaRecomputed"), 1);
  EXPECT_EQ(*app_->RecomputeQueued(), 0);  // the queue was emptied
  // New tickets of the customer start on the gold tier.
  const std::string next = OpenTicket("c1", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_HIGH, exec_);
  EXPECT_EQ(Get(next).sla().tier(), "gold");
}

TEST_F(TicketAppTest, NewSlaConfigurationRecomputesOpenTicketsAndSurvivesRestart) {
  Registered("c1", "alice", "north");
  const std::string id = OpenTicket("c1", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_NORMAL, exec_);
  v1::SetSlaConfigRequest req;
  v1::Calendar* cal = req.mutable_config()->add_calendars();
  cal->set_name("default");
  for (int day = 1; day <= 5; ++day) {
    v1::BusinessHours* h = cal->add_hours();
    h->set_weekday(day);
    h->set_start_minute(8 * 60);
    h->set_end_minute(20 * 60);
  }
  v1::SlaPolicy* p = req.mutable_config()->add_policies();
  p->set_policy_id("complaints");
  p->set_type(v1::TICKET_TYPE_COMPLAINT);
  p->set_first_response_minutes(60);
  p->set_resolution_minutes(6 * 60);

  EXPECT_EQ(Call(&TicketApp::SetSlaConfig, alice_, req).status().code(), absl::StatusCode::kPermissionDenied);
  v1::SetSlaConfigRequest invalid = req;
  invalid.mutable_config()->mutable_policies(0)->set_resolution_minutes(0);
  auto bad = Call(&TicketApp::SetSlaConfig, exec_, invalid);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(bad.status().message(), "config.policies[0].resolution_minutes:"))
      << bad.status();
  req.set_expected_version(3);
  EXPECT_EQ(Call(&TicketApp::SetSlaConfig, exec_, req).status().code(), absl::StatusCode::kAborted);
  req.set_expected_version(0);
  auto r = Call(&TicketApp::SetSlaConfig, exec_, req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config().version(), 1u);
  EXPECT_EQ(r->recomputed_tickets(), 1);
  v1::Ticket t = Get(id);
  EXPECT_EQ(t.sla().policy_id(), "complaints");
  EXPECT_EQ(FromProtoTimestamp(t.sla().resolution().due_at()), kMonday9 + absl::Hours(6));

  Open();  // restart: the configuration is read back
  auto config = Call(&TicketApp::GetSlaConfig, alice_, v1::GetSlaConfigRequest());
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->config().version(), 1u);
  EXPECT_EQ(config->config().policies(0).policy_id(), "complaints");
  EXPECT_EQ(CountEvents("crm.ticket.v1.SlaConfigChanged"), 1);
  // The configuration row and the tickets' rows come back from the log alone.
  ExpectRebuildReproducesTheRows(*NewRebuildProjector(), RebuildTargets());
}

// Every RPC, for callers who may and may not reach the ticket: the customer's
// owner, the region's manager, the assignee and an executive may; another agent,
// another region's manager and a caller without roles may not (PERMISSION_DENIED,
// checked before anything else, so nothing is written).
// The SLA worker recomputes queued deadlines under the configuration committed in
// the store, never under an older one it still holds in memory (a change commits
// its "recompute everything" entry a moment before the changing call swaps its
// engine: a worker pass in between must not use the entry up with the old one).
TEST_F(TicketAppTest, TheWorkerRecomputesUnderTheCommittedConfiguration) {
  auto worker = TicketApp::Create({.pipeline = pipeline_.get()});  // another holder of the engine
  ASSERT_TRUE(worker.ok()) << worker.status();
  v1::SetSlaConfigRequest req;
  *req.mutable_config() = sla::SlaEngine::DefaultConfig();
  req.mutable_config()->set_warning_share(0.5);
  ASSERT_TRUE(Call(&TicketApp::SetSlaConfig, exec_, req).ok());
  auto before = command::Await(**worker, &TicketApp::GetSlaConfig, exec_, v1::GetSlaConfigRequest());
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->config().version(), 0u);  // still the engine it started with
  ASSERT_TRUE((*worker)->RecomputeQueued().ok());
  auto after = command::Await(**worker, &TicketApp::GetSlaConfig, exec_, v1::GetSlaConfigRequest());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->config().version(), 1u);
}

TEST_F(TicketAppTest, AuthorizationMatrixCoversEveryRpc) {
  Registered("c1", "alice", "north");
  const Principal nobody{"nobody", {}, ""};
  const Principal otto{"otto", {Role::kServiceAgent}, "north"};
  const Principal sales{"sally", {Role::kSalesRep}, "north"};
  using Rpc = std::function<absl::Status(const Principal&, const std::string& ticket_id)>;
  const std::vector<std::pair<std::string, Rpc>> rpcs = {
      {"OpenTicket", [&](const Principal& p, const std::string&) {
         v1::OpenTicketRequest r;
         r.set_customer_id("c1");
         r.set_type(v1::TICKET_TYPE_CONSULTATION);
         r.set_channel(v1::TICKET_CHANNEL_EMAIL);
         r.set_subject("q");
         return Call(&TicketApp::OpenTicket, p, r).status();
       }},
      {"AssignTicket", [&](const Principal& p, const std::string& id) {
         v1::AssignTicketRequest r;
         r.set_ticket_id(id);
         r.set_assignee(p.subject + "-x");
         return Call(&TicketApp::AssignTicket, p, r).status();
       }},
      {"StartInvestigation", [&](const Principal& p, const std::string& id) {
         v1::StartInvestigationRequest r;
         r.set_ticket_id(id);
         return Call(&TicketApp::StartInvestigation, p, r).status();
       }},
      {"RecordFindings", [&](const Principal& p, const std::string& id) {
         v1::RecordFindingsRequest r;
         r.set_ticket_id(id);
         r.mutable_findings()->set_details("d");
         return Call(&TicketApp::RecordFindings, p, r).status();
       }},
      {"ProposeResolution", [&](const Principal& p, const std::string& id) {
         v1::ProposeResolutionRequest r;
         r.set_ticket_id(id);
         r.set_resolution("x");
         return Call(&TicketApp::ProposeResolution, p, r).status();
       }},
      {"AnswerResolution", [&](const Principal& p, const std::string& id) {
         v1::AnswerResolutionRequest r;
         r.set_ticket_id(id);
         r.set_agreed(true);
         return Call(&TicketApp::AnswerResolution, p, r).status();
       }},
      {"ResolveTicket", [&](const Principal& p, const std::string& id) {
         v1::ResolveTicketRequest r;
         r.set_ticket_id(id);
         r.set_summary("s");
         return Call(&TicketApp::ResolveTicket, p, r).status();
       }},
      {"RecordFeedback", [&](const Principal& p, const std::string& id) {
         v1::RecordFeedbackRequest r;
         r.set_ticket_id(id);
         r.set_satisfied(true);
         r.set_score(4);
         return Call(&TicketApp::RecordFeedback, p, r).status();
       }},
      {"CloseTicket", [&](const Principal& p, const std::string& id) {
         v1::CloseTicketRequest r;
         r.set_ticket_id(id);
         return Call(&TicketApp::CloseTicket, p, r).status();
       }},
      {"ReopenTicket", [&](const Principal& p, const std::string& id) {
         v1::ReopenTicketRequest r;
         r.set_ticket_id(id);
         r.set_reason("again");
         return Call(&TicketApp::ReopenTicket, p, r).status();
       }},
      {"AddComment", [&](const Principal& p, const std::string& id) {
         v1::AddCommentRequest r;
         r.set_ticket_id(id);
         r.set_text("note");
         return Call(&TicketApp::AddComment, p, r).status();
       }},
      {"SetWaitingOnCustomer", [&](const Principal& p, const std::string& id) {
         v1::SetWaitingOnCustomerRequest r;
         r.set_ticket_id(id);
         r.set_waiting(true);
         r.set_reason("waiting");
         return Call(&TicketApp::SetWaitingOnCustomer, p, r).status();
       }},
      {"GetTicket", [&](const Principal& p, const std::string& id) {
         v1::GetTicketRequest r;
         r.set_ticket_id(id);
         return Call(&TicketApp::GetTicket, p, r).status();
       }},
      {"ListTickets", [&](const Principal& p, const std::string&) -> absl::Status {
         v1::ListTicketsRequest r;
         r.set_customer_id("c1");  // naming a customer checks access to it
         return Call(&TicketApp::ListTickets, p, r).status();
       }},
      {"GetKpis", [&](const Principal& p, const std::string&) {
         v1::GetKpisRequest r;
         *r.mutable_from() = ToProtoTimestamp(kMonday9 - absl::Hours(1));
         *r.mutable_to() = ToProtoTimestamp(kMonday9 + absl::Hours(1));
         return Call(&TicketApp::GetKpis, p, r).status();
       }},
      {"GetSlaConfig", [&](const Principal& p, const std::string&) {
         return Call(&TicketApp::GetSlaConfig, p, v1::GetSlaConfigRequest()).status();
       }},
      {"SetSlaConfig", [&](const Principal& p, const std::string&) {
         v1::SetSlaConfigRequest r;
         *r.mutable_config() = sla::SlaEngine::DefaultConfig();
         return Call(&TicketApp::SetSlaConfig, p, r).status();
       }},
  };
  ASSERT_EQ(rpcs.size(), static_cast<size_t>(v1::GetTicketRequest::descriptor()->file()->FindServiceByName("TicketService")->method_count()));
  // Who may: per RPC, the callers refused. GetSlaConfig is open to every caller;
  // SetSlaConfig needs executive or admin; GetKpis needs a role with a scope.
  for (const auto& [name, rpc] : rpcs) {
    struct Case {
      const Principal* who;
      bool allowed;
    };
    const bool config_write = name == "SetSlaConfig", config_read = name == "GetSlaConfig",
               kpis = name == "GetKpis", needs_assignment = name == "StartInvestigation";
    std::vector<Case> cases = {
        {&alice_, !config_write}, {&north_manager_, !config_write}, {&exec_, true},
        {&otto, config_read || kpis}, {&south_manager_, config_read || kpis},
        {&nobody, config_read}, {&sales, config_read || kpis}};
    for (const Case& c : cases) {
      // A fresh ticket per call, assigned to ann, so state never refuses first.
      const std::string id = OpenTicket("c1", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_NORMAL, exec_);
      Assign(id, "ann", "care");
      const int64_t before = store_->LastPosition();
      absl::Status s = rpc(*c.who, id);
      // Refused on the ticket or its customer: NOT_FOUND, as if absent; refused a
      // role's privilege (the SLA configuration, KPIs): PERMISSION_DENIED.
      const absl::StatusCode refused = config_write || kpis ? absl::StatusCode::kPermissionDenied
                                                             : absl::StatusCode::kNotFound;
      if (c.allowed) {
        EXPECT_NE(s.code(), absl::StatusCode::kPermissionDenied) << name << " as " << c.who->subject << ": " << s;
        EXPECT_NE(s.code(), absl::StatusCode::kNotFound) << name << " as " << c.who->subject << ": " << s;
      } else {
        EXPECT_EQ(s.code(), refused) << name << " as " << c.who->subject << ": " << s;
        EXPECT_EQ(store_->LastPosition(), static_cast<uint64_t>(before)) << name << " wrote while refused";
      }
    }
    // The assignee reaches the ticket without owning the customer.
    if (name != "OpenTicket" && name != "ListTickets" && !config_write) {
      const std::string id = OpenTicket("c1", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_NORMAL, exec_);
      Assign(id, "ann", "care");
      absl::Status s = rpc(ann_, id);
      EXPECT_NE(s.code(), absl::StatusCode::kPermissionDenied) << name << " as assignee: " << s;
      EXPECT_NE(s.code(), absl::StatusCode::kNotFound) << name << " as assignee: " << s;
    }
    (void)needs_assignment;
  }
  // Every row the matrix wrote comes back from the log alone (--rebuild_projections).
  ExpectRebuildReproducesTheRows(*NewRebuildProjector(), RebuildTargets());
}

// The KPI scenario, computed by hand (all on Monday 2026-12-14, UTC):
//   T1 c1/north complaint NORMAL: ann/care, resolved 10:00 on time, feedback 5, closed.
//   T2 c1/north consultation NORMAL: ann/care, resolved 10:00 on time, feedback 2
//      (not satisfied) → reopened (still open, ann).
//   T3 c2/south complaint URGENT: ben/field, first response and resolution
//      breached at 13:00 (2 breaches), resolved 13:05 late.
//   T4 c2/south operations support LOW: never assigned, open.
// Total: opened 4, resolved 3, on time 2, reopened 1, feedback 2 (avg 3.5),
// breaches 2, backlog 2 (T2, T4).
TEST_F(TicketAppTest, KpisMatchTheHandComputedScenario) {
  Registered("c1", "alice", "north");
  Registered("c2", "bob", "south");
  const std::string t1 = OpenTicket("c1", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_NORMAL, exec_);
  const std::string t2 = OpenTicket("c1", v1::TICKET_TYPE_CONSULTATION, v1::PRIORITY_NORMAL, exec_);
  const std::string t3 = OpenTicket("c2", v1::TICKET_TYPE_COMPLAINT, v1::PRIORITY_URGENT, exec_);
  OpenTicket("c2", v1::TICKET_TYPE_OPERATIONS_SUPPORT, v1::PRIORITY_LOW, exec_);
  Assign(t1, "ann", "care");
  Assign(t2, "ann", "care");
  Assign(t3, "ben", "field");
  clock_.Set(kMonday9 + absl::Hours(1));
  Resolve(t1, ann_);
  Resolve(t2, ann_);
  Feedback(t1, true, 5);
  Feedback(t2, false, 2);
  v1::CloseTicketRequest close;
  close.set_ticket_id(t1);
  ASSERT_TRUE(Call(&TicketApp::CloseTicket, exec_, close).ok());
  clock_.Set(kMonday9 + absl::Hours(4));
  EXPECT_EQ(*app_->CheckSla(), 6);  // T3: warning, breach, escalation for both targets
  clock_.Set(kMonday9 + absl::Hours(4) + absl::Minutes(5));
  Resolve(t3, ben_);

  v1::GetKpisResponse all = Kpis(exec_, v1::KPI_GROUPING_UNSPECIFIED);
  const v1::KpiRow& total = all.total();
  EXPECT_EQ(total.opened(), 4);
  EXPECT_EQ(total.resolved(), 3);
  EXPECT_EQ(total.resolved_on_time(), 2);
  EXPECT_EQ(total.reopened(), 1);
  EXPECT_EQ(total.feedback_count(), 2);
  EXPECT_EQ(total.breaches(), 2);
  EXPECT_EQ(total.open_backlog(), 2);
  EXPECT_DOUBLE_EQ(total.on_time_rate(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(total.resolution_rate(), 0.75);
  EXPECT_DOUBLE_EQ(total.reopen_rate(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(total.average_satisfaction(), 3.5);

  // By agent: "opened" counts assignments.
  v1::GetKpisResponse by_agent = Kpis(exec_, v1::KPI_GROUPING_AGENT);
  ASSERT_EQ(by_agent.rows_size(), 3);  // "", ann, ben
  EXPECT_EQ(by_agent.rows(0).key(), "");
  EXPECT_EQ(by_agent.rows(0).open_backlog(), 1);  // T4
  const v1::KpiRow& ann = by_agent.rows(1);
  EXPECT_EQ(ann.key(), "ann");
  EXPECT_EQ(ann.opened(), 2);
  EXPECT_EQ(ann.resolved(), 2);
  EXPECT_DOUBLE_EQ(ann.on_time_rate(), 1.0);
  EXPECT_DOUBLE_EQ(ann.reopen_rate(), 0.5);
  EXPECT_DOUBLE_EQ(ann.average_satisfaction(), 3.5);
  EXPECT_EQ(ann.open_backlog(), 1);  // T2
  const v1::KpiRow& ben = by_agent.rows(2);
  EXPECT_EQ(ben.key(), "ben");
  EXPECT_EQ(ben.resolved(), 1);
  EXPECT_EQ(ben.resolved_on_time(), 0);
  EXPECT_EQ(ben.breaches(), 2);
  EXPECT_DOUBLE_EQ(ben.on_time_rate(), 0.0);

  v1::GetKpisResponse by_region = Kpis(exec_, v1::KPI_GROUPING_REGION);
  ASSERT_EQ(by_region.rows_size(), 2);
  EXPECT_EQ(by_region.rows(0).key(), "north");
  EXPECT_EQ(by_region.rows(0).opened(), 2);
  EXPECT_DOUBLE_EQ(by_region.rows(0).resolution_rate(), 1.0);
  EXPECT_EQ(by_region.rows(1).key(), "south");
  EXPECT_EQ(by_region.rows(1).opened(), 2);
  EXPECT_DOUBLE_EQ(by_region.rows(1).resolution_rate(), 0.5);

  v1::GetKpisResponse by_type = Kpis(exec_, v1::KPI_GROUPING_TYPE);
  ASSERT_EQ(by_type.rows_size(), 3);
  EXPECT_EQ(by_type.rows(0).key(), "COMPLAINT");
  EXPECT_EQ(by_type.rows(0).opened(), 2);
  EXPECT_EQ(by_type.rows(0).resolved_on_time(), 1);

  v1::GetKpisResponse by_team = Kpis(exec_, v1::KPI_GROUPING_TEAM);
  ASSERT_EQ(by_team.rows_size(), 3);  // "", care, field
  EXPECT_EQ(by_team.rows(1).key(), "care");
  EXPECT_EQ(by_team.rows(1).resolved(), 2);

  // Scopes: a regional manager sees their region, an agent their own tickets.
  v1::GetKpisResponse south = Kpis(south_manager_, v1::KPI_GROUPING_UNSPECIFIED);
  EXPECT_EQ(south.total().opened(), 2);
  EXPECT_EQ(south.total().breaches(), 2);
  EXPECT_EQ(south.total().open_backlog(), 1);
  v1::GetKpisResponse mine = Kpis(ann_, v1::KPI_GROUPING_UNSPECIFIED);
  EXPECT_EQ(mine.total().resolved(), 2);
  EXPECT_EQ(mine.total().breaches(), 0);
  EXPECT_EQ(mine.total().opened(), 0);  // opening facts carry no assignee

  // A range before anything happened counts nothing but the backlog.
  v1::GetKpisRequest before;
  *before.mutable_from() = ToProtoTimestamp(kMonday9 - absl::Hours(48));
  *before.mutable_to() = ToProtoTimestamp(kMonday9 - absl::Hours(24));
  auto empty = Call(&TicketApp::GetKpis, exec_, before);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->total().opened(), 0);
  EXPECT_EQ(empty->total().open_backlog(), 2);

  v1::GetKpisRequest bad;
  *bad.mutable_from() = ToProtoTimestamp(kMonday9);
  EXPECT_EQ(Call(&TicketApp::GetKpis, exec_, bad).status().message(), "to: required");
  EXPECT_EQ(Call(&TicketApp::GetKpis, Principal{"x", {}, ""}, before).status().code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace crm::ticket
