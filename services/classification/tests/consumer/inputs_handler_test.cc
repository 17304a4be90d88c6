// InputsHandler on a real store and on an in-memory batch view: the exact row
// for every kept event kind of the customer, interaction and ticket topics, the
// ignored kinds, events before registration, several events of one customer in
// one batch, deterministic replays, undecodable payloads, the per-customer bounds
// and the reclassification queue.
#include "crm/classification/consumer/inputs_handler.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/testing/temp_dir.h"
#include "crm/classification/domain/rules.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/dead_letters.h"
#include "crm/ticket/v1/ticket_events.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "common/testing/proto_testing.h"
#include "messaging/testing/store_view.h"

namespace crm::classification {
namespace {

using ::crm::testing::TextProto;

using eventstore::ProjectionWrite;
namespace cv1 = ::crm::customer::v1;
namespace iv1 = ::crm::interaction::v1;
namespace tv1 = ::crm::ticket::v1;

// One event as the runner hands it: topic, payload, position, id, occurred_at.
messaging::ConsumedEvent Consumed(std::string_view topic, const std::string& payload,
                                  uint64_t position, int64_t occurred_seconds) {
  messaging::ConsumedEvent e;
  e.topic = std::string(topic);
  e.event.set_payload(payload);
  e.event.set_global_position(position);
  e.event.set_event_id(absl::StrCat("event-", position));
  e.event.mutable_occurred_at()->set_seconds(occurred_seconds);
  return e;
}

std::string CustomerPayload(const std::string& text) {
  return TextProto<cv1::CustomerEvent>(text).SerializeAsString();
}
std::string InteractionPayload(const std::string& text) {
  return TextProto<iv1::InteractionEvent>(text).SerializeAsString();
}
std::string TicketPayload(const std::string& text) {
  return TextProto<tv1::TicketEvent>(text).SerializeAsString();
}

constexpr char kRegistered[] = R"pb(
  customer_id: "c1"
  registered {
    basic { name: "Acme" industry: "manufacturing" address: "not kept" }
    characteristics {
      annual_revenue { currency_code: "CNY" amount_minor: 900000 }
      employee_count: 120
    }
    lifecycle: LIFECYCLE_FOLLOWING
    owner: "alice"
    region: "north"
  })pb";

constexpr char kRegisteredRow[] = R"pb(
  customer_id: "c1"
  name: "Acme"
  owner: "alice"
  region: "north"
  industry: "manufacturing"
  employees: 120
  annual_revenue_minor: 900000
  lifecycle: 2
  registered_at { seconds: 1000 })pb";

class InputsHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = eventstore::OpenEventStore({.path = dir_.path() + "/db"});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  // Handles one event as a single-event batch and commits its writes; returns them.
  std::vector<ProjectionWrite> Feed(std::string_view topic, const std::string& payload,
                                    int64_t occurred_seconds = 0) {
    ++position_;
    const messaging::ConsumedEvent e = Consumed(
        topic, payload, position_, occurred_seconds != 0 ? occurred_seconds : 1000 + position_);
    std::vector<ProjectionWrite> writes;
    absl::Status s = handler_.Handle(e, messaging::testing::StoreView(*store_), writes);
    EXPECT_TRUE(s.ok()) << s;
    if (!writes.empty()) {
      EXPECT_TRUE(store_->WriteProjections(writes).ok());
    }
    return writes;
  }
  std::vector<ProjectionWrite> Customer(const std::string& text, int64_t at = 0) {
    return Feed(messaging::kCustomerTopic, CustomerPayload(text), at);
  }
  std::vector<ProjectionWrite> Interaction(const std::string& text, int64_t at = 0) {
    return Feed(messaging::kInteractionTopic, InteractionPayload(text), at);
  }
  std::vector<ProjectionWrite> Ticket(const std::string& text, int64_t at = 0) {
    return Feed(messaging::kTicketTopic, TicketPayload(text), at);
  }

  // The committed row, in text format ("<none>" when absent).
  std::string Row(const std::string& id) {
    auto row = LoadInputs(*store_, id);
    EXPECT_TRUE(row.ok()) << row.status();
    if (!row.ok() || !row->has_value()) return "<none>";
    return (*row)->DebugString();
  }
  static std::string Expected(const std::string& text) {
    return TextProto<v1::CustomerInputs>(text).DebugString();
  }

  std::vector<std::string> Queue() {
    auto rows = store_->ScanProjection(kReclassifyQueueProjection, "", "", 1000);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> keys;
    if (rows.ok()) {
      for (const auto& [key, value] : *rows) keys.push_back(key);
    }
    return keys;
  }

  crm::testing::TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  InputsHandler handler_;
  uint64_t position_ = 0;
};

// --- crm.customer.v1 ----------------------------------------------------------

TEST_F(InputsHandlerTest, RegisteredKeepsTheProfileAndQueuesTheCustomer) {
  std::vector<ProjectionWrite> writes = Customer(kRegistered, 1000);
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].projection, kInputsProjection);
  EXPECT_EQ(writes[0].key, "c1");
  EXPECT_EQ(writes[1].projection, kReclassifyQueueProjection);
  EXPECT_EQ(writes[1].key, "c1/event-1");
  EXPECT_EQ(writes[1].value, "");
  EXPECT_EQ(Row("c1"), Expected(kRegisteredRow));
  EXPECT_EQ(Queue(), std::vector<std::string>{"c1/event-1"});
}

TEST_F(InputsHandlerTest, RegisteredWithoutLifecycleIsPotential) {
  Customer(R"pb(customer_id: "c2"
                registered {
                  basic { name: "B" }
                  owner: "bob"
                })pb", 50);
  EXPECT_EQ(Row("c2"), Expected(R"pb(customer_id: "c2"
                                     name: "B"
                                     owner: "bob"
                                     lifecycle: 1
                                     registered_at { seconds: 50 })pb"));
}

TEST_F(InputsHandlerTest, UpdatedAppliesOnlyTheNamedPaths) {
  Customer(kRegistered, 1000);
  Customer(R"pb(customer_id: "c1"
                updated {
                  paths: "basic.name"
                  basic { name: "Acme Ltd" industry: "not named" }
                  characteristics { employee_count: 7 }
                })pb");
  EXPECT_EQ(Row("c1"), Expected(R"pb(
              customer_id: "c1"
              name: "Acme Ltd"
              owner: "alice"
              region: "north"
              industry: "manufacturing"
              employees: 120
              annual_revenue_minor: 900000
              lifecycle: 2
              registered_at { seconds: 1000 })pb"));

  Customer(R"pb(customer_id: "c1"
                updated {
                  paths: "basic.industry"
                  paths: "characteristics.employee_count"
                  basic { name: "not named" industry: "retail" }
                  characteristics {
                    employee_count: 300
                    annual_revenue { amount_minor: 1 }
                  }
                })pb");
  EXPECT_EQ(Row("c1"), Expected(R"pb(
              customer_id: "c1"
              name: "Acme Ltd"
              owner: "alice"
              region: "north"
              industry: "retail"
              employees: 300
              annual_revenue_minor: 900000
              lifecycle: 2
              registered_at { seconds: 1000 })pb"));

  Customer(R"pb(customer_id: "c1"
                updated {
                  paths: "characteristics.annual_revenue"
                  characteristics {
                    annual_revenue { amount_minor: 5000 }
                    employee_count: 1
                  }
                })pb");
  EXPECT_EQ(Row("c1"), Expected(R"pb(
              customer_id: "c1"
              name: "Acme Ltd"
              owner: "alice"
              region: "north"
              industry: "retail"
              employees: 300
              annual_revenue_minor: 5000
              lifecycle: 2
              registered_at { seconds: 1000 })pb"));
}

TEST_F(InputsHandlerTest, UpdatedWholePartsReplaceAllTheirKeptFields) {
  Customer(kRegistered, 1000);
  Customer(R"pb(customer_id: "c1"
                updated {
                  paths: "basic"
                  paths: "characteristics"
                  basic { name: "New" }
                  characteristics { employee_count: 9 }
                })pb");
  EXPECT_EQ(Row("c1"), Expected(R"pb(
              customer_id: "c1"
              name: "New"
              owner: "alice"
              region: "north"
              employees: 9
              lifecycle: 2
              registered_at { seconds: 1000 })pb"));
}

TEST_F(InputsHandlerTest, UpdatedOfOtherPathsChangesNothing) {
  Customer(kRegistered, 1000);
  EXPECT_TRUE(Customer(R"pb(customer_id: "c1"
                            updated {
                              paths: "basic.address"
                              paths: "source"
                              paths: "characteristics.needs"
                              basic { name: "ignored" address: "x" }
                            })pb")
                  .empty());
  EXPECT_EQ(Row("c1"), Expected(kRegisteredRow));
  EXPECT_EQ(Queue(), std::vector<std::string>{"c1/event-1"});
}

TEST_F(InputsHandlerTest, TransactionsOwnAndCompetitor) {
  Customer(kRegistered, 1000);
  Customer(R"pb(customer_id: "c1"
                transaction_recorded {
                  transaction {
                    transaction_id: "t1"
                    party: TRANSACTION_PARTY_OWN_COMPANY
                    amount { currency_code: "CNY" amount_minor: 12345 }
                    date: "2026-01-02"
                    paid_date: "2026-02-01"
                    contract_number: "not kept"
                  }
                })pb");
  Customer(R"pb(customer_id: "c1"
                transaction_recorded {
                  transaction {
                    transaction_id: "t2"
                    party: TRANSACTION_PARTY_COMPETITOR
                    competitor: "Rival"
                    amount { currency_code: "USD" amount_minor: 99 }
                    date: "2026-03-04"
                  }
                })pb");
  EXPECT_EQ(Row("c1"), Expected(absl::StrCat(kRegisteredRow, R"pb(
              transactions {
                transaction_id: "t1"
                own_company: true
                amount_minor: 12345
                currency_code: "CNY"
                date: "2026-01-02"
                paid_date: "2026-02-01"
              }
              transactions {
                transaction_id: "t2"
                amount_minor: 99
                currency_code: "USD"
                date: "2026-03-04"
              }
            )pb")));
  EXPECT_EQ(Queue(), (std::vector<std::string>{"c1/event-1", "c1/event-2", "c1/event-3"}));
}

TEST_F(InputsHandlerTest, LifecycleChangedAndOwnerAssigned) {
  Customer(kRegistered, 1000);
  Customer(R"pb(customer_id: "c1"
                lifecycle_changed { from: LIFECYCLE_FOLLOWING to: LIFECYCLE_COOPERATING })pb",
           2000);
  Customer(R"pb(customer_id: "c1"
                lifecycle_changed {
                  from: LIFECYCLE_COOPERATING
                  to: LIFECYCLE_CHURNED
                  churn_reason: "price"
                })pb",
           3000);
  Customer(R"pb(customer_id: "c1"
                owner_assigned {
                  change { from_owner: "alice" to_owner: "carol" to_region: "south" reason: "x" }
                })pb");
  EXPECT_EQ(Row("c1"), Expected(R"pb(
              customer_id: "c1"
              name: "Acme"
              owner: "carol"
              region: "south"
              industry: "manufacturing"
              employees: 120
              annual_revenue_minor: 900000
              lifecycle: 4
              registered_at { seconds: 1000 }
              lifecycle_changes {
                from: 2
                to: 3
                at { seconds: 2000 }
              }
              lifecycle_changes {
                from: 3
                to: 4
                at { seconds: 3000 }
              })pb"));
}

TEST_F(InputsHandlerTest, OtherCustomerKindsAreIgnored) {
  Customer(kRegistered, 1000);
  for (const char* text : {
           R"pb(customer_id: "c1"
                contact_added { contact { contact_id: "k1" } })pb",
           R"pb(customer_id: "c1"
                contact_updated { contact { contact_id: "k1" } })pb",
           R"pb(customer_id: "c1"
                contact_removed { contact_id: "k1" })pb",
           R"pb(customer_id: "c1"
                agreement_recorded { agreement { agreement_id: "a" } })pb",
           R"pb(customer_id: "c1"
                agreement_status_changed { agreement_id: "a" })pb",
           R"pb(customer_id: "c1"
                verification_changed { to: VERIFICATION_STATE_VERIFIED })pb",
           R"pb(customer_id: "c1"
                access_granted { grant { subject: "s" } })pb",
           R"pb(customer_id: "c1"
                access_revoked { subject: "s" })pb",
           R"pb(registered { basic { name: "no customer id" } })pb",
       }) {
    EXPECT_TRUE(Customer(text).empty()) << text;
  }
  EXPECT_EQ(Row("c1"), Expected(kRegisteredRow));
  EXPECT_EQ(Queue(), std::vector<std::string>{"c1/event-1"});
}

// --- crm.interaction.v1 -------------------------------------------------------

TEST_F(InputsHandlerTest, VisitRecordedKeepsTimeAndIntent) {
  const std::vector<std::pair<std::string, int>> intents = {{"COOPERATION_INTENT_STRONG", 4},
                                                            {"COOPERATION_INTENT_MODERATE", 3},
                                                            {"COOPERATION_INTENT_WEAK", 2},
                                                            {"COOPERATION_INTENT_NONE", 1},
                                                            {"COOPERATION_INTENT_UNSPECIFIED", 0}};
  std::string expected = R"pb(customer_id: "c1")pb";
  int n = 0;
  for (const auto& [name, score] : intents) {
    ++n;
    Interaction(absl::StrFormat(R"pb(interaction_id: "v%d"
                                     customer_id: "c1"
                                     visit_recorded {
                                       record {
                                         summary: "s"
                                         cooperation_intent: %s
                                         visited_at { seconds: %d }
                                       }
                                     })pb",
                                n, name, 500 + n));
    absl::StrAppend(&expected, absl::StrFormat(
                                   R"pb(interactions {
                                          interaction_id: "v%d"
                                          at { seconds: %d }
                                          intent: %d
                                        })pb",
                                   n, 500 + n, score));
  }
  EXPECT_EQ(Row("c1"), Expected(expected));
}

TEST_F(InputsHandlerTest, EveryHappenedInteractionKindIsKept) {
  Interaction(R"pb(interaction_id: "f1"
                   customer_id: "c1"
                   follow_up_logged {
                     follow_up {
                       content: "x"
                       performed_at { seconds: 11 }
                     }
                   })pb");
  Interaction(R"pb(interaction_id: "r1"
                   customer_id: "c1"
                   revisit_completed {
                     record {
                       satisfaction: 4
                       performed_at { seconds: 12 }
                     }
                   })pb");
  Interaction(R"pb(interaction_id: "k1"
                   customer_id: "c1"
                   care_done {
                     done_at { seconds: 13 }
                     outcome: "ok"
                   })pb");
  Interaction(R"pb(interaction_id: "s1"
                   customer_id: "c1"
                   satisfaction_recorded {
                     survey {
                       score: 2
                       surveyed_at { seconds: 14 }
                     }
                   })pb");
  EXPECT_EQ(Row("c1"), Expected(R"pb(
              customer_id: "c1"
              interactions {
                interaction_id: "f1"
                at { seconds: 11 }
              }
              interactions {
                interaction_id: "r1"
                at { seconds: 12 }
                satisfaction: 4
              }
              interactions {
                interaction_id: "k1"
                at { seconds: 13 }
              }
              interactions {
                interaction_id: "s1"
                at { seconds: 14 }
                satisfaction: 2
              })pb"));
  EXPECT_EQ(Queue(),
            (std::vector<std::string>{"c1/event-1", "c1/event-2", "c1/event-3", "c1/event-4"}));
}

TEST_F(InputsHandlerTest, UnsetTimeOfAnInteractionIsTheEventsTime) {
  Interaction(R"pb(interaction_id: "f1"
                   customer_id: "c1"
                   follow_up_logged { follow_up { content: "x" } })pb",
              777);
  EXPECT_EQ(Row("c1"), Expected(R"pb(customer_id: "c1"
                                     interactions {
                                       interaction_id: "f1"
                                       at { seconds: 777 }
                                     })pb"));
}

TEST_F(InputsHandlerTest, PlannedInteractionsAreNotKept) {
  for (const char* text : {
           R"pb(interaction_id: "v1"
                customer_id: "c1"
                visit_planned {
                  plan { scheduled_at { seconds: 99 } }
                  owner: "alice"
                })pb",
           R"pb(interaction_id: "v1"
                customer_id: "c1"
                visit_rescheduled { reason: "x" })pb",
           R"pb(interaction_id: "v2"
                customer_id: "c1"
                visit_cancelled { reason: "x" })pb",
           R"pb(interaction_id: "r1"
                customer_id: "c1"
                revisit_scheduled {
                  due_at { seconds: 5 }
                  cadence_days: 30
                })pb",
           R"pb(interaction_id: "r1"
                customer_id: "c1"
                revisit_replanned { replaced_by: "r2" })pb",
           R"pb(interaction_id: "r2"
                customer_id: "c1"
                revisit_overdue { due_at { seconds: 5 } })pb",
           R"pb(interaction_id: "k1"
                customer_id: "c1"
                care_planned { care { title: "t" } })pb",
           R"pb(interaction_id: "k1"
                customer_id: "c1"
                care_evaluated { evaluation_score: 5 })pb",
           R"pb(customer_id: "c1"
                care_done { done_at { seconds: 1 } })pb",
           R"pb(interaction_id: "k1"
                care_done { done_at { seconds: 1 } })pb",
       }) {
    EXPECT_TRUE(Interaction(text).empty()) << text;
  }
  EXPECT_EQ(Row("c1"), "<none>");
  EXPECT_TRUE(Queue().empty());
}

TEST_F(InputsHandlerTest, VisitRecordedAfterVisitPlannedIsOneInteraction) {
  EXPECT_TRUE(Interaction(R"pb(interaction_id: "v1"
                               customer_id: "c1"
                               visit_planned { plan { scheduled_at { seconds: 99 } } })pb")
                  .empty());
  Interaction(R"pb(interaction_id: "v1"
                   customer_id: "c1"
                   visit_recorded {
                     record {
                       cooperation_intent: COOPERATION_INTENT_WEAK
                       visited_at { seconds: 120 }
                     }
                   })pb");
  EXPECT_EQ(Row("c1"), Expected(R"pb(customer_id: "c1"
                                     interactions {
                                       interaction_id: "v1"
                                       at { seconds: 120 }
                                       intent: 2
                                     })pb"));
}

TEST_F(InputsHandlerTest, ALaterEventOfTheSameInteractionUpdatesIt) {
  Interaction(R"pb(interaction_id: "i1"
                   customer_id: "c1"
                   visit_recorded {
                     record {
                       cooperation_intent: COOPERATION_INTENT_STRONG
                       visited_at { seconds: 10 }
                     }
                   })pb");
  Interaction(R"pb(interaction_id: "i2"
                   customer_id: "c1"
                   follow_up_logged { follow_up { performed_at { seconds: 15 } } })pb");
  // Same id again: time replaced, satisfaction added, the intent kept.
  Interaction(R"pb(interaction_id: "i1"
                   customer_id: "c1"
                   revisit_completed {
                     record {
                       satisfaction: 5
                       performed_at { seconds: 20 }
                     }
                   })pb");
  EXPECT_EQ(Row("c1"), Expected(R"pb(
              customer_id: "c1"
              interactions {
                interaction_id: "i1"
                at { seconds: 20 }
                satisfaction: 5
                intent: 4
              }
              interactions {
                interaction_id: "i2"
                at { seconds: 15 }
              })pb"));
  // The same facts again change nothing: no write, no queue entry.
  EXPECT_TRUE(Interaction(R"pb(interaction_id: "i1"
                               customer_id: "c1"
                               revisit_completed {
                                 record {
                                   satisfaction: 5
                                   performed_at { seconds: 20 }
                                 }
                               })pb")
                  .empty());
  EXPECT_EQ(Queue(), (std::vector<std::string>{"c1/event-1", "c1/event-2", "c1/event-3"}));
}

// --- crm.ticket.v1 ------------------------------------------------------------

TEST_F(InputsHandlerTest, TicketLifecycle) {
  Ticket(R"pb(ticket_id: "k1"
              customer_id: "c1"
              opened { type: TICKET_TYPE_COMPLAINT subject: "late" owner: "alice" })pb",
         100);
  Ticket(R"pb(ticket_id: "k2"
              customer_id: "c1"
              opened { type: TICKET_TYPE_CONSULTATION })pb", 110);
  EXPECT_EQ(Row("c1"), Expected(R"pb(
              customer_id: "c1"
              tickets {
                ticket_id: "k1"
                complaint: true
                opened_at { seconds: 100 }
              }
              tickets {
                ticket_id: "k2"
                opened_at { seconds: 110 }
              })pb"));

  Ticket(R"pb(ticket_id: "k1"
              customer_id: "c1"
              resolved { resolved_at { seconds: 150 } })pb");
  Ticket(R"pb(ticket_id: "k1"
              customer_id: "c1"
              feedback_recorded { feedback { score: 2 } })pb");
  EXPECT_EQ(Row("c1"), Expected(R"pb(
              customer_id: "c1"
              tickets {
                ticket_id: "k1"
                complaint: true
                opened_at { seconds: 100 }
                resolved_at { seconds: 150 }
                satisfaction: 2
              }
              tickets {
                ticket_id: "k2"
                opened_at { seconds: 110 }
              })pb"));

  Ticket(R"pb(ticket_id: "k1"
              customer_id: "c1"
              reopened { reason: "not fixed" })pb");
  EXPECT_EQ(Row("c1"), Expected(R"pb(
              customer_id: "c1"
              tickets {
                ticket_id: "k1"
                complaint: true
                opened_at { seconds: 100 }
                satisfaction: 2
              }
              tickets {
                ticket_id: "k2"
                opened_at { seconds: 110 }
              })pb"));

  // Resolved without a time: the event's time.
  Ticket(R"pb(ticket_id: "k1"
              customer_id: "c1"
              resolved { summary: "x" })pb", 300);
  EXPECT_EQ(Row("c1"), Expected(R"pb(
              customer_id: "c1"
              tickets {
                ticket_id: "k1"
                complaint: true
                opened_at { seconds: 100 }
                resolved_at { seconds: 300 }
                satisfaction: 2
              }
              tickets {
                ticket_id: "k2"
                opened_at { seconds: 110 }
              })pb"));
  EXPECT_EQ(Queue(), (std::vector<std::string>{"c1/event-1", "c1/event-2", "c1/event-3",
                                               "c1/event-4", "c1/event-5", "c1/event-6"}));
}

TEST_F(InputsHandlerTest, OtherTicketEventsAndUnknownTicketsChangeNothing) {
  Ticket(R"pb(ticket_id: "k1"
              customer_id: "c1"
              opened { type: TICKET_TYPE_COMPLAINT })pb", 100);
  for (const char* text : {
           R"pb(ticket_id: "k1"
                customer_id: "c1"
                assigned { to_assignee: "bob" })pb",
           R"pb(ticket_id: "k1"
                customer_id: "c1"
                investigation_started {})pb",
           R"pb(ticket_id: "k1"
                customer_id: "c1"
                comment_added { comment { text: "x" } })pb",
           R"pb(ticket_id: "k1"
                customer_id: "c1"
                sla_breached { due_at { seconds: 1 } })pb",
           R"pb(ticket_id: "k1"
                customer_id: "c1"
                closed { reason: "done" })pb",
           R"pb(ticket_id: "k1"
                customer_id: "c1"
                reopened {})pb",  // not resolved: no change
           R"pb(ticket_id: "zz"
                customer_id: "c1"
                resolved { resolved_at { seconds: 5 } })pb",
           R"pb(ticket_id: "zz"
                customer_id: "c1"
                feedback_recorded { feedback { score: 1 } })pb",
           R"pb(ticket_id: "zz"
                customer_id: "c9"
                resolved { resolved_at { seconds: 5 } })pb",
           R"pb(sla_config_changed {})pb",
           R"pb(customer_id: "c1"
                opened { type: TICKET_TYPE_COMPLAINT })pb",
       }) {
    EXPECT_TRUE(Ticket(text).empty()) << text;
  }
  EXPECT_EQ(Row("c1"), Expected(R"pb(
              customer_id: "c1"
              tickets {
                ticket_id: "k1"
                complaint: true
                opened_at { seconds: 100 }
              })pb"));
  EXPECT_EQ(Row("c9"), "<none>");
  EXPECT_EQ(Queue(), std::vector<std::string>{"c1/event-1"});
}

// --- crm.interaction.v1: opportunities ------------------------------------------

// 2026-01-01 00:00 UTC and whole days after it.
constexpr int64_t kT0 = 1767225600;
constexpr int64_t kDaySeconds = 86400;
int64_t Day(int n) { return kT0 + n * kDaySeconds; }

// The figures every opportunity event carries: after the event.
struct Figures {
  std::string stage;
  int probability;
  std::string currency;
  int64_t expected_minor;
  int64_t final_minor = 0;  // final_amount in `currency` when non-zero
};

// An opportunity event of c1: `kind` is the event's kind in text format.
std::string OpportunityEvent(const std::string& id, const std::string& kind, const Figures& f,
                             const std::string& customer_id = "c1") {
  std::string final_amount;
  if (f.final_minor != 0) {
    final_amount = absl::StrFormat(R"pb(final_amount { currency_code: "%s" amount_minor: %d })pb",
                                   f.currency, f.final_minor);
  }
  return absl::StrFormat(R"pb(customer_id: "%s"
                              opportunity_id: "%s"
                              opportunity_figures {
                                stage: %s
                                probability: %d
                                expected_amount { currency_code: "%s" amount_minor: %d } %s
                                owner: "alice"
                                region: "north"
                              } %s)pb",
                         customer_id, id, f.stage, f.probability, f.currency, f.expected_minor,
                         final_amount, kind);
}

std::string Created(const std::string& currency, int64_t expected_minor) {
  return absl::StrFormat(R"pb(opportunity_created {
                                details {
                                  title: "deal"
                                  source: OPPORTUNITY_SOURCE_EXHIBITION
                                  expected_amount { currency_code: "%s" amount_minor: %d }
                                  expected_close_date: "2026-06-30"
                                }
                                owner: "alice"
                                region: "north"
                                stage: OPPORTUNITY_STAGE_QUALIFICATION
                                probability: 10
                              })pb",
                         currency, expected_minor);
}

std::string StageChanged(const std::string& from, const std::string& to, int probability) {
  return absl::StrFormat(R"pb(opportunity_stage_changed { from: %s to: %s probability: %d })pb",
                         from, to, probability);
}

std::string Won(const std::string& from, const std::string& currency, int64_t final_minor) {
  return absl::StrFormat(
      R"pb(opportunity_won {
             from: %s
             final_amount { currency_code: "%s" amount_minor: %d }
           })pb",
      from, currency, final_minor);
}

constexpr char kQualification[] = "OPPORTUNITY_STAGE_QUALIFICATION";
constexpr char kNeedsAnalysis[] = "OPPORTUNITY_STAGE_NEEDS_ANALYSIS";
constexpr char kProposal[] = "OPPORTUNITY_STAGE_PROPOSAL";
constexpr char kNegotiation[] = "OPPORTUNITY_STAGE_NEGOTIATION";
constexpr char kWon[] = "OPPORTUNITY_STAGE_WON";
constexpr char kLost[] = "OPPORTUNITY_STAGE_LOST";

// The hand-made sequence of opportunity events of c1 (two currencies), as
// (payload, occurred_at):
//   o1 CNY 1,000,000.00: created, → proposal (50), probability set to 65: open.
//   o2 USD 50,000.00: created, → negotiation (80), won for 48,000.00 USD on day 10.
//   o3 CNY 333.33: created, → needs analysis (25), probability set to 35: open.
//   o4 CNY 200,000.00: created, won for 180,000.00 on day 20, reopened on day 25
//      to negotiation (80; the figures still carry the final amount): open.
//   o5 CNY 70,000.00: created, won for 75,000.00 on day 30.
//   o6 CNY 40,000.00: created, lost on day 15.
//   A plan step added to o1 (same figures): nothing changes.
std::vector<std::pair<std::string, int64_t>> OpportunityHistory() {
  std::vector<std::pair<std::string, int64_t>> h;
  auto add = [&](const std::string& id, const std::string& kind, const Figures& f, int64_t at) {
    h.emplace_back(OpportunityEvent(id, kind, f), at);
  };
  add("o1", Created("CNY", 100000000), {kQualification, 10, "CNY", 100000000}, Day(1));
  add("o1", StageChanged(kQualification, kProposal, 50), {kProposal, 50, "CNY", 100000000}, Day(2));
  add("o1", R"pb(opportunity_probability_set { probability: 65 overridden: true })pb",
      {kProposal, 65, "CNY", 100000000}, Day(3));
  add("o2", Created("USD", 5000000), {kQualification, 10, "USD", 5000000}, Day(1) + 60);
  add("o2", StageChanged(kQualification, kNegotiation, 80), {kNegotiation, 80, "USD", 5000000},
      Day(5));
  add("o2", Won(kNegotiation, "USD", 4800000), {kWon, 100, "USD", 5000000, 4800000}, Day(10));
  add("o3", Created("CNY", 33333), {kQualification, 10, "CNY", 33333}, Day(2) + 60);
  add("o3", StageChanged(kQualification, kNeedsAnalysis, 25), {kNeedsAnalysis, 25, "CNY", 33333},
      Day(4));
  add("o3", R"pb(opportunity_probability_set { probability: 35 overridden: true })pb",
      {kNeedsAnalysis, 35, "CNY", 33333}, Day(6));
  add("o4", Created("CNY", 20000000), {kQualification, 10, "CNY", 20000000}, Day(3) + 60);
  add("o4", Won(kQualification, "CNY", 18000000), {kWon, 100, "CNY", 20000000, 18000000}, Day(20));
  add("o4",
      absl::StrFormat(R"pb(opportunity_reopened { from: %s to: %s probability: 80 reason: "x" })pb",
                      kWon, kNegotiation),
      {kNegotiation, 80, "CNY", 20000000, 18000000}, Day(25));
  add("o5", Created("CNY", 7000000), {kQualification, 10, "CNY", 7000000}, Day(4) + 60);
  add("o5", Won(kQualification, "CNY", 7500000), {kWon, 100, "CNY", 7000000, 7500000}, Day(30));
  add("o6", Created("CNY", 4000000), {kQualification, 10, "CNY", 4000000}, Day(5) + 60);
  add("o6",
      absl::StrFormat(R"pb(opportunity_lost { from: %s reason: LOST_REASON_PRICE })pb",
                      kQualification),
      {kLost, 10, "CNY", 4000000}, Day(15));
  add("o1",
      R"pb(plan_step_added { step { step_id: "1" action: "call" planned_date: "2026-02-01" } })pb",
      {kProposal, 65, "CNY", 100000000}, Day(31));
  return h;
}

constexpr char kOpportunityRow[] = R"pb(
  customer_id: "c1"
  opportunities {
    opportunity_id: "o1"
    stage: 3
    probability: 65
    currency_code: "CNY"
    expected_amount_minor: 100000000
    created_at { seconds: 1767312000 }
  }
  opportunities {
    opportunity_id: "o2"
    stage: 5
    probability: 100
    currency_code: "USD"
    expected_amount_minor: 5000000
    won_currency_code: "USD"
    won_amount_minor: 4800000
    created_at { seconds: 1767312060 }
    closed_at { seconds: 1768089600 }
  }
  opportunities {
    opportunity_id: "o3"
    stage: 2
    probability: 35
    currency_code: "CNY"
    expected_amount_minor: 33333
    created_at { seconds: 1767398460 }
  }
  opportunities {
    opportunity_id: "o4"
    stage: 4
    probability: 80
    currency_code: "CNY"
    expected_amount_minor: 20000000
    created_at { seconds: 1767484860 }
  }
  opportunities {
    opportunity_id: "o5"
    stage: 5
    probability: 100
    currency_code: "CNY"
    expected_amount_minor: 7000000
    won_currency_code: "CNY"
    won_amount_minor: 7500000
    created_at { seconds: 1767571260 }
    closed_at { seconds: 1769817600 }
  }
  opportunities {
    opportunity_id: "o6"
    stage: 6
    probability: 10
    currency_code: "CNY"
    expected_amount_minor: 4000000
    created_at { seconds: 1767657660 }
    closed_at { seconds: 1768521600 }
  })pb";

TEST_F(InputsHandlerTest, OpportunityEventsKeepEachOpportunitysLatestFigures) {
  const auto history = OpportunityHistory();
  std::vector<size_t> writes;
  for (const auto& [payload, at] : history) {
    writes.push_back(Interaction(payload, at).size());
  }
  EXPECT_EQ(Row("c1"), Expected(kOpportunityRow));
  // Every event but the plan step (same figures) wrote the row and queued c1.
  std::vector<size_t> expected_writes(history.size(), 2);
  expected_writes.back() = 0;
  EXPECT_EQ(writes, expected_writes);
  EXPECT_EQ(Queue().size(), history.size() - 1);
}

TEST_F(InputsHandlerTest, OpportunityWonThenReopenedIsNoLongerAWin) {
  Interaction(OpportunityEvent("o1", Created("CNY", 500000), {kQualification, 10, "CNY", 500000}),
              Day(1));
  Interaction(OpportunityEvent("o1", Won(kQualification, "CNY", 450000),
                               {kWon, 100, "CNY", 500000, 450000}),
              Day(2));
  EXPECT_EQ(Row("c1"), Expected(R"pb(customer_id: "c1"
                                     opportunities {
                                       opportunity_id: "o1"
                                       stage: 5
                                       probability: 100
                                       currency_code: "CNY"
                                       expected_amount_minor: 500000
                                       won_currency_code: "CNY"
                                       won_amount_minor: 450000
                                       created_at { seconds: 1767312000 }
                                       closed_at { seconds: 1767398400 }
                                     })pb"));
  // Reopened to proposal: open again, the won amount and closing time are gone.
  Interaction(OpportunityEvent(
                  "o1",
                  absl::StrFormat(R"pb(opportunity_reopened { from: %s to: %s probability: 50 })pb",
                                  kWon, kProposal),
                  {kProposal, 50, "CNY", 500000, 450000}),
              Day(3));
  const std::string reopened = R"pb(customer_id: "c1"
                                    opportunities {
                                      opportunity_id: "o1"
                                      stage: 3
                                      probability: 50
                                      currency_code: "CNY"
                                      expected_amount_minor: 500000
                                      created_at { seconds: 1767312000 }
                                    })pb";
  EXPECT_EQ(Row("c1"), Expected(reopened));
  // Lost afterwards: closed on day 4, still no won amount.
  Interaction(OpportunityEvent(
                  "o1",
                  absl::StrFormat(R"pb(opportunity_lost { from: %s reason: LOST_REASON_TIMING })pb",
                                  kProposal),
                  {kLost, 50, "CNY", 500000}),
              Day(4));
  EXPECT_EQ(Row("c1"), Expected(R"pb(customer_id: "c1"
                                     opportunities {
                                       opportunity_id: "o1"
                                       stage: 6
                                       probability: 50
                                       currency_code: "CNY"
                                       expected_amount_minor: 500000
                                       created_at { seconds: 1767312000 }
                                       closed_at { seconds: 1767571200 }
                                     })pb"));
  // A later event of the lost opportunity keeps its closing time.
  Interaction(OpportunityEvent("o1", R"pb(plan_step_overdue { step_id: "1" })pb",
                               {kLost, 50, "CNY", 500000}),
              Day(9));
  EXPECT_EQ(Row("c1"), Expected(R"pb(customer_id: "c1"
                                     opportunities {
                                       opportunity_id: "o1"
                                       stage: 6
                                       probability: 50
                                       currency_code: "CNY"
                                       expected_amount_minor: 500000
                                       created_at { seconds: 1767312000 }
                                       closed_at { seconds: 1767571200 }
                                     })pb"));
}

TEST_F(InputsHandlerTest, OpportunityFirstSeenClosedIsClosedAtThatEvent) {
  // The consumer starts after the win: the first event seen is an update of a won one.
  Interaction(OpportunityEvent("o1", R"pb(opportunity_updated { details { title: "t" } })pb",
                               {kWon, 100, "EUR", 1000, 900}),
              Day(7));
  EXPECT_EQ(Row("c1"), Expected(R"pb(customer_id: "c1"
                                     opportunities {
                                       opportunity_id: "o1"
                                       stage: 5
                                       probability: 100
                                       currency_code: "EUR"
                                       expected_amount_minor: 1000
                                       won_currency_code: "EUR"
                                       won_amount_minor: 900
                                       created_at { seconds: 1767830400 }
                                       closed_at { seconds: 1767830400 }
                                     })pb"));
}

TEST_F(InputsHandlerTest, OpportunityEventsWithoutCustomerIdOrFiguresAreIgnored) {
  EXPECT_TRUE(Interaction(OpportunityEvent("o1", Created("CNY", 100),
                                           {kQualification, 10, "CNY", 100}, /*customer_id=*/""),
                          Day(1))
                  .empty());
  EXPECT_TRUE(Interaction(R"pb(customer_id: "c1"
                               opportunity_id: "o1"
                               opportunity_created { probability: 10 })pb",
                          Day(1))
                  .empty());
  EXPECT_TRUE(Interaction(R"pb(customer_id: "c1"
                               opportunity_figures { stage: OPPORTUNITY_STAGE_QUALIFICATION }
                               opportunity_created { probability: 10 })pb",
                          Day(1))
                  .empty());
  EXPECT_EQ(Row("c1"), "<none>");
  EXPECT_TRUE(Queue().empty());
}

// The metrics of the hand-made sequence at day 40, under the default rule set
// (CNY) and under the same in USD: amounts only in the rule set's currency, wins
// counted in every currency; o4 (won, then reopened) is pipeline, not a win; o6
// (lost) counts nowhere.
TEST_F(InputsHandlerTest, OpportunityHistoryGivesExactPipelineAndWinMetrics) {
  for (const auto& [payload, at] : OpportunityHistory()) Interaction(payload, at);
  auto row = LoadInputs(*store_, "c1");
  ASSERT_TRUE(row.ok() && row->has_value());
  const absl::Time now = absl::FromUnixSeconds(Day(40));

  const Metrics cny = ComputeMetrics(**row, DefaultRuleSet(), now);
  // o1 1,000,000.00 + o3 333.33 + o4 200,000.00.
  EXPECT_DOUBLE_EQ(cny.at(v1::METRIC_OPEN_PIPELINE_AMOUNT), 1'200'333.33);
  // o1 65% = 650,000.00; o3 35% of 333.33 = 116.6655 → 116.67; o4 80% = 160,000.00.
  EXPECT_DOUBLE_EQ(cny.at(v1::METRIC_WEIGHTED_PIPELINE_AMOUNT), 810'116.67);
  EXPECT_DOUBLE_EQ(cny.at(v1::METRIC_WINS_12M), 2.0);  // o2 (USD), o5
  EXPECT_DOUBLE_EQ(cny.at(v1::METRIC_WON_AMOUNT_12M), 75'000.0);

  v1::RuleSet usd = DefaultRuleSet();
  usd.set_currency_code("USD");
  const Metrics in_usd = ComputeMetrics(**row, usd, now);
  EXPECT_DOUBLE_EQ(in_usd.at(v1::METRIC_OPEN_PIPELINE_AMOUNT), 0.0);
  EXPECT_DOUBLE_EQ(in_usd.at(v1::METRIC_WEIGHTED_PIPELINE_AMOUNT), 0.0);
  EXPECT_DOUBLE_EQ(in_usd.at(v1::METRIC_WINS_12M), 2.0);
  EXPECT_DOUBLE_EQ(in_usd.at(v1::METRIC_WON_AMOUNT_12M), 48'000.0);

  // A year and a day after o5's win (day 30): neither win is in the last 365 days.
  const Metrics later = ComputeMetrics(**row, DefaultRuleSet(), absl::FromUnixSeconds(Day(396)));
  EXPECT_DOUBLE_EQ(later.at(v1::METRIC_WINS_12M), 0.0);
  EXPECT_DOUBLE_EQ(later.at(v1::METRIC_WON_AMOUNT_12M), 0.0);
  EXPECT_DOUBLE_EQ(later.at(v1::METRIC_OPEN_PIPELINE_AMOUNT), 1'200'333.33);
  // On day 394 (364 days after day 30) o5 still counts; o2 (day 10) does not.
  const Metrics before = ComputeMetrics(**row, DefaultRuleSet(), absl::FromUnixSeconds(Day(394)));
  EXPECT_DOUBLE_EQ(before.at(v1::METRIC_WINS_12M), 1.0);
  EXPECT_DOUBLE_EQ(before.at(v1::METRIC_WON_AMOUNT_12M), 75'000.0);
}

// --- Across topics ------------------------------------------------------------

TEST_F(InputsHandlerTest, EventsBeforeRegistrationAreKeptAndRegistrationAddsTheProfile) {
  Interaction(R"pb(interaction_id: "s1"
                   customer_id: "c1"
                   satisfaction_recorded {
                     survey {
                       score: 3
                       surveyed_at { seconds: 40 }
                     }
                   })pb");
  Ticket(R"pb(ticket_id: "k1"
              customer_id: "c1"
              opened { type: TICKET_TYPE_COMPLAINT })pb", 50);
  EXPECT_EQ(Row("c1"), Expected(R"pb(
              customer_id: "c1"
              interactions {
                interaction_id: "s1"
                at { seconds: 40 }
                satisfaction: 3
              }
              tickets {
                ticket_id: "k1"
                complaint: true
                opened_at { seconds: 50 }
              })pb"));
  Customer(kRegistered, 1000);
  EXPECT_EQ(Row("c1"), Expected(absl::StrCat(kRegisteredRow, R"pb(
              interactions {
                interaction_id: "s1"
                at { seconds: 40 }
                satisfaction: 3
              }
              tickets {
                ticket_id: "k1"
                complaint: true
                opened_at { seconds: 50 }
              })pb")));
  EXPECT_EQ(Queue(), (std::vector<std::string>{"c1/event-1", "c1/event-2", "c1/event-3"}));
}

// An undecodable payload, or one of a kind this binary does not know, is a
// permanent error (the runner dead-letters the record); other topics are skipped.
TEST_F(InputsHandlerTest, UndecodablePayloadsAreDeadLetteredAndOtherTopicsSkipped) {
  for (std::string_view topic :
       {messaging::kCustomerTopic, messaging::kInteractionTopic, messaging::kTicketTopic}) {
    std::vector<ProjectionWrite> writes;
    absl::Status s = handler_.Handle(
        Consumed(topic, std::string("\xff\xff\xff\x07garbage", 11), ++position_, 1000),
        messaging::testing::StoreView(*store_), writes);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << topic << ": " << s;
    EXPECT_TRUE(messaging::IsPermanentHandlerError(s));
    // Parses, but sets no kind: an event kind of a newer producer.
    s = handler_.Handle(Consumed(topic, "", ++position_, 1000),
                        messaging::testing::StoreView(*store_), writes);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << topic << ": " << s;
  }
  EXPECT_TRUE(Feed(messaging::kClassificationTopic, CustomerPayload(kRegistered)).empty());
  EXPECT_TRUE(Feed("some.other.topic", CustomerPayload(kRegistered)).empty());
  EXPECT_EQ(Row("c1"), "<none>");
  EXPECT_TRUE(Queue().empty());
  // The next good event is handled as usual.
  Customer(kRegistered, 1000);
  EXPECT_EQ(Row("c1"), Expected(kRegisteredRow));
}

TEST_F(InputsHandlerTest, CorruptRowIsAnError) {
  ASSERT_TRUE(store_
                  ->WriteProjections({ProjectionWrite::Put(std::string(kInputsProjection), "c1",
                                                           std::string("\xff\xff\xff", 3))})
                  .ok());
  std::vector<ProjectionWrite> writes;
  absl::Status s =
      handler_.Handle(Consumed(messaging::kCustomerTopic, CustomerPayload(kRegistered), 1, 1000),
                      messaging::testing::StoreView(*store_), writes);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_FALSE(LoadInputs(*store_, "c1").ok());
}

// --- Batches and determinism ----------------------------------------------------

// A mixed history of two customers, as (topic, payload, occurred_at).
std::vector<std::tuple<std::string_view, std::string, int64_t>> History() {
  return {
      {messaging::kTicketTopic, TicketPayload(R"pb(ticket_id: "k1"
                                                   customer_id: "c1"
                                                   opened { type: TICKET_TYPE_COMPLAINT })pb"),
       90},
      {messaging::kCustomerTopic, CustomerPayload(kRegistered), 1000},
      {messaging::kCustomerTopic, CustomerPayload(R"pb(customer_id: "c2"
                                                       registered {
                                                         basic { name: "Beta" }
                                                         owner: "bob"
                                                       })pb"),
       1001},
      {messaging::kCustomerTopic,
       CustomerPayload(R"pb(customer_id: "c1"
                            transaction_recorded {
                              transaction {
                                transaction_id: "t1"
                                party: TRANSACTION_PARTY_OWN_COMPANY
                                amount { currency_code: "CNY" amount_minor: 500 }
                                date: "2026-01-01"
                              }
                            })pb"),
       1002},
      {messaging::kInteractionTopic,
       InteractionPayload(R"pb(interaction_id: "v1"
                               customer_id: "c1"
                               visit_planned { plan { scheduled_at { seconds: 2000 } } })pb"),
       1003},
      {messaging::kInteractionTopic,
       InteractionPayload(R"pb(interaction_id: "v1"
                               customer_id: "c1"
                               visit_recorded {
                                 record {
                                   cooperation_intent: COOPERATION_INTENT_MODERATE
                                   visited_at { seconds: 2000 }
                                 }
                               })pb"),
       2001},
      {messaging::kCustomerTopic, CustomerPayload(R"pb(customer_id: "c1"
                                                       lifecycle_changed {
                                                         from: LIFECYCLE_FOLLOWING
                                                         to: LIFECYCLE_COOPERATING
                                                       })pb"),
       2002},
      {messaging::kTicketTopic, TicketPayload(R"pb(ticket_id: "k1"
                                                   customer_id: "c1"
                                                   resolved { resolved_at { seconds: 2100 } })pb"),
       2100},
      {messaging::kTicketTopic,
       TicketPayload(R"pb(ticket_id: "k1"
                          customer_id: "c1"
                          feedback_recorded { feedback { score: 4 } })pb"),
       2101},
      {messaging::kInteractionTopic, InteractionPayload(R"pb(interaction_id: "s1"
                                                             customer_id: "c2"
                                                             satisfaction_recorded {
                                                               survey {
                                                                 score: 5
                                                                 surveyed_at { seconds: 2200 }
                                                               }
                                                             })pb"),
       2200},
      {messaging::kCustomerTopic,
       CustomerPayload(R"pb(customer_id: "c1"
                            owner_assigned { change { to_owner: "dave" to_region: "west" } })pb"),
       2300},
  };
}

constexpr char kHistoryC1[] = R"pb(
  customer_id: "c1"
  name: "Acme"
  owner: "dave"
  region: "west"
  industry: "manufacturing"
  employees: 120
  annual_revenue_minor: 900000
  lifecycle: 3
  registered_at { seconds: 1000 }
  transactions {
    transaction_id: "t1"
    own_company: true
    amount_minor: 500
    currency_code: "CNY"
    date: "2026-01-01"
  }
  interactions {
    interaction_id: "v1"
    at { seconds: 2000 }
    intent: 3
  }
  tickets {
    ticket_id: "k1"
    complaint: true
    opened_at { seconds: 90 }
    resolved_at { seconds: 2100 }
    satisfaction: 4
  }
  lifecycle_changes {
    from: 2
    to: 3
    at { seconds: 2002 }
  })pb";

TEST_F(InputsHandlerTest, OneBatchWithSeveralEventsPerCustomerReadsItsOwnWrites) {
  messaging::PendingWritesView batch(store_.get());
  std::vector<ProjectionWrite> all;
  uint64_t position = 0;
  for (const auto& [topic, payload, at] : History()) {
    std::vector<ProjectionWrite> writes;
    absl::Status s = handler_.Handle(Consumed(topic, payload, ++position, at), batch, writes);
    ASSERT_TRUE(s.ok()) << s;
    batch.Apply(writes);
    all.insert(all.end(), writes.begin(), writes.end());
  }
  ASSERT_TRUE(store_->WriteProjections(all).ok());
  EXPECT_EQ(Row("c1"), Expected(kHistoryC1));
  EXPECT_EQ(Row("c2"), Expected(R"pb(
              customer_id: "c2"
              name: "Beta"
              owner: "bob"
              lifecycle: 1
              registered_at { seconds: 1001 }
              interactions {
                interaction_id: "s1"
                at { seconds: 2200 }
                satisfaction: 5
              })pb"));
  // Every event but the planned visit changed a row.
  EXPECT_EQ(Queue(), (std::vector<std::string>{
                         "c1/event-1", "c1/event-11", "c1/event-2", "c1/event-4", "c1/event-6",
                         "c1/event-7", "c1/event-8", "c1/event-9", "c2/event-10", "c2/event-3"}));
}

// All rows of both projections, raw.
std::vector<std::pair<std::string, std::string>> AllRows(eventstore::EventStore& store) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string_view projection : {kInputsProjection, kReclassifyQueueProjection}) {
    auto rows = store.ScanProjection(projection, "", "", 10000);
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok()) continue;
    for (auto& [key, value] : *rows)
      out.emplace_back(absl::StrCat(std::string(projection), "/", key), value);
  }
  return out;
}

TEST_F(InputsHandlerTest, ReplayingTheSameEventsYieldsByteIdenticalRows) {
  // Once event by event into this store, once as two batches into another.
  uint64_t position = 0;
  for (const auto& [topic, payload, at] : History()) {
    std::vector<ProjectionWrite> writes;
    ASSERT_TRUE(handler_
                    .Handle(Consumed(topic, payload, ++position, at),
                            messaging::testing::StoreView(*store_), writes)
                    .ok());
    if (!writes.empty()) {
      ASSERT_TRUE(store_->WriteProjections(writes).ok());
    }
  }
  crm::testing::TempDir other_dir;
  auto other = eventstore::OpenEventStore({.path = other_dir.path() + "/db"});
  ASSERT_TRUE(other.ok()) << other.status();
  InputsHandler other_handler;
  const auto history = History();
  position = 0;
  for (const auto& [begin, end] : {std::pair<size_t, size_t>{0, 5}, {5, history.size()}}) {
    messaging::PendingWritesView batch(other->get());
    std::vector<ProjectionWrite> all;
    for (size_t i = begin; i < end; ++i) {
      const auto& [topic, payload, at] = history[i];
      std::vector<ProjectionWrite> writes;
      ASSERT_TRUE(
          other_handler.Handle(Consumed(topic, payload, ++position, at), batch, writes).ok());
      batch.Apply(writes);
      all.insert(all.end(), writes.begin(), writes.end());
    }
    ASSERT_TRUE((*other)->WriteProjections(all).ok());
  }
  const auto mine = AllRows(*store_);
  EXPECT_EQ(mine.size(), 12u);  // 2 rows, 10 queue entries
  EXPECT_EQ(mine, AllRows(**other));
  EXPECT_EQ(Row("c1"), Expected(kHistoryC1));
}

// --- Bounds -------------------------------------------------------------------

// Feeds `events` payloads of `topic` into an in-memory view; returns c1's row.
v1::CustomerInputs FeedInMemory(InputsHandler& handler, std::string_view topic,
                                const std::vector<std::string>& payloads) {
  messaging::PendingWritesView view(nullptr);
  uint64_t position = 0;
  for (const std::string& payload : payloads) {
    std::vector<ProjectionWrite> writes;
    ++position;
    absl::Status s =
        handler.Handle(Consumed(topic, payload, position, 1000 + position), view, writes);
    EXPECT_TRUE(s.ok()) << s;
    view.Apply(writes);
  }
  auto row = view.Get(kInputsProjection, "c1");
  v1::CustomerInputs out;
  if (row.ok() && row->has_value()) {
    EXPECT_TRUE(out.ParseFromString(**row));
  }
  return out;
}

std::string Transaction(int n, const std::string& date, bool paid) {
  cv1::CustomerEvent e;
  e.set_customer_id("c1");
  cv1::Transaction& t = *e.mutable_transaction_recorded()->mutable_transaction();
  t.set_transaction_id(absl::StrCat("t", n));
  t.set_party(cv1::TRANSACTION_PARTY_OWN_COMPANY);
  t.mutable_amount()->set_amount_minor(n);
  t.set_date(date);
  if (paid) t.set_paid_date(date);
  return e.SerializeAsString();
}

std::string DateOf(int n) {  // distinct, increasing dates
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(int64_t{86400} * n),
                          absl::UTCTimeZone());
}

TEST_F(InputsHandlerTest, AtMost2000TransactionsTheOldestPaidDropped) {
  std::vector<std::string> payloads;
  // t0: the oldest, unpaid (kept); t1..t2001 paid, dated increasingly, recorded newest
  // first for t2001 so that arrival order is not date order.
  payloads.push_back(Transaction(0, DateOf(0), false));
  payloads.push_back(Transaction(2001, DateOf(2001), true));
  for (int n = 1; n <= 2000; ++n) payloads.push_back(Transaction(n, DateOf(n), true));
  const v1::CustomerInputs row = FeedInMemory(handler_, messaging::kCustomerTopic, payloads);
  ASSERT_EQ(row.transactions_size(), 2000);
  std::set<std::string> ids;
  for (const auto& t : row.transactions()) ids.insert(t.transaction_id());
  EXPECT_TRUE(ids.count("t0"));   // unpaid: kept
  EXPECT_FALSE(ids.count("t1"));  // the two oldest paid: dropped
  EXPECT_FALSE(ids.count("t2"));
  EXPECT_TRUE(ids.count("t3"));
  EXPECT_TRUE(ids.count("t2001"));
  EXPECT_EQ(row.transactions(0).transaction_id(), "t0");
  EXPECT_EQ(row.transactions(1).transaction_id(), "t2001");
}

TEST_F(InputsHandlerTest, AtMost2000InteractionsTheOldestDropped) {
  std::vector<std::string> payloads;
  for (int n = 0; n < 2003; ++n) {
    iv1::InteractionEvent e;
    e.set_customer_id("c1");
    e.set_interaction_id(absl::StrCat("i", n));
    // i0 happened last; i1, i2, i3 are the oldest.
    e.mutable_follow_up_logged()->mutable_follow_up()->mutable_performed_at()->set_seconds(
        n == 0 ? 999999 : n);
    payloads.push_back(e.SerializeAsString());
  }
  const v1::CustomerInputs row = FeedInMemory(handler_, messaging::kInteractionTopic, payloads);
  ASSERT_EQ(row.interactions_size(), 2000);
  EXPECT_EQ(row.interactions(0).interaction_id(), "i0");
  EXPECT_EQ(row.interactions(1).interaction_id(), "i4");
  EXPECT_EQ(row.interactions(1999).interaction_id(), "i2002");
}

std::string Opened(int n) {
  tv1::TicketEvent e;
  e.set_customer_id("c1");
  e.set_ticket_id(absl::StrCat("k", n));
  e.mutable_opened()->set_type(tv1::TICKET_TYPE_COMPLAINT);
  return e.SerializeAsString();
}

std::string Resolved(int n) {
  tv1::TicketEvent e;
  e.set_customer_id("c1");
  e.set_ticket_id(absl::StrCat("k", n));
  e.mutable_resolved()->mutable_resolved_at()->set_seconds(5000);
  return e.SerializeAsString();
}

TEST_F(InputsHandlerTest, AtMost500TicketsTheOldestResolvedDroppedFirst) {
  std::vector<std::string> payloads;
  // k0..k499 opened (opened_at = 1000 + position); k10 and k20 resolved; then k500,
  // k501, k502 opened: k10 and k20 go first, then the oldest open one (k0).
  for (int n = 0; n < 500; ++n) payloads.push_back(Opened(n));
  payloads.push_back(Resolved(20));
  payloads.push_back(Resolved(10));
  for (int n = 500; n < 503; ++n) payloads.push_back(Opened(n));
  const v1::CustomerInputs row = FeedInMemory(handler_, messaging::kTicketTopic, payloads);
  ASSERT_EQ(row.tickets_size(), 500);
  std::set<std::string> ids;
  for (const auto& t : row.tickets()) ids.insert(t.ticket_id());
  EXPECT_FALSE(ids.count("k0"));
  EXPECT_FALSE(ids.count("k10"));
  EXPECT_FALSE(ids.count("k20"));
  EXPECT_TRUE(ids.count("k1"));
  EXPECT_TRUE(ids.count("k502"));
  EXPECT_EQ(row.tickets(0).ticket_id(), "k1");
  EXPECT_EQ(row.tickets(499).ticket_id(), "k502");
}

std::string OpportunityPayload(int n, const std::string& kind, const Figures& f) {
  return InteractionPayload(OpportunityEvent(absl::StrCat("o", n), kind, f));
}

TEST_F(InputsHandlerTest, AtMost500OpportunitiesTheLongestClosedDroppedFirst) {
  std::vector<std::string> payloads;
  // o0..o499 created (created_at = 1000 + position); o20 lost, then o10 won; then
  // o500, o501, o502 created: o20 (closed first) and o10 go, then the oldest open (o0).
  const Figures open = {kQualification, 10, "CNY", 100};
  for (int n = 0; n < 500; ++n)
    payloads.push_back(OpportunityPayload(n, Created("CNY", 100), open));
  payloads.push_back(OpportunityPayload(
      20,
      absl::StrFormat(R"pb(opportunity_lost { from: %s reason: LOST_REASON_PRICE })pb",
                      kQualification),
      {kLost, 10, "CNY", 100}));
  payloads.push_back(
      OpportunityPayload(10, Won(kQualification, "CNY", 90), {kWon, 100, "CNY", 100, 90}));
  for (int n = 500; n < 503; ++n)
    payloads.push_back(OpportunityPayload(n, Created("CNY", 100), open));
  const v1::CustomerInputs row = FeedInMemory(handler_, messaging::kInteractionTopic, payloads);
  ASSERT_EQ(row.opportunities_size(), 500);
  std::set<std::string> ids;
  for (const auto& o : row.opportunities()) ids.insert(o.opportunity_id());
  EXPECT_FALSE(ids.count("o0"));
  EXPECT_FALSE(ids.count("o10"));
  EXPECT_FALSE(ids.count("o20"));
  EXPECT_TRUE(ids.count("o1"));
  EXPECT_TRUE(ids.count("o502"));
  EXPECT_EQ(row.opportunities(0).opportunity_id(), "o1");
  EXPECT_EQ(row.opportunities(499).opportunity_id(), "o502");
}

}  // namespace
}  // namespace crm::classification
