// The fault drill: mixed load on all four services while each service in turn is
// SIGKILLed and restarted and the broker is taken down for 10 s. Afterwards:
// - every acknowledged write is readable (customers, transactions, follow-ups,
//   complaint tickets);
// - every consumed event was applied exactly once: crm-classification counts, per
//   customer, the transactions (from crm.customer.v1.events), the interactions
//   (crm.interaction.v1.events) and the complaints (crm.ticket.v1.events) it
//   consumed, and each count equals what the clients had acknowledged;
// - every service's projections equal a clean rebuild from its own log: a copy of
//   its data directory started with --rebuild_projections answers every read the
//   same.
//
// Clients retry a failed call with the same command id until it is acknowledged,
// as a real client would: a call whose answer was lost in a kill must not write
// twice.
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/auth/grpc_auth.h"
#include "crm/classification/v1/classification_service.grpc.pb.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"
#include "crm/runtime/log.h"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/metrics_scrape.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace cv1 = ::crm::customer::v1;
namespace iv1 = ::crm::interaction::v1;
namespace kv1 = ::crm::classification::v1;
namespace tv1 = ::crm::ticket::v1;
using crm::testing::CallAs;
using crm::testing::DevToken;
using crm::testing::Eventually;
using crm::testing::ServiceProcess;

constexpr int kWorkers = 4;

std::string Today() { return absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone()); }

// A service process that can be killed and started again on the same data
// directory; callers take its current channel.
class Restartable {
 public:
  Restartable(std::string name, std::string binary, std::vector<std::string> flags)
      : name_(std::move(name)), binary_(std::move(binary)), flags_(std::move(flags)) {
    Start();
  }
  const std::string& name() const { return name_; }
  std::shared_ptr<grpc::Channel> Channel() {
    std::lock_guard<std::mutex> lock(mu_);
    return channel_;
  }
  std::string Address() {
    std::lock_guard<std::mutex> lock(mu_);
    return process_->grpc_address();
  }
  std::string AdminAddress() {
    std::lock_guard<std::mutex> lock(mu_);
    return process_->admin_address();
  }
  void Start() {
    auto p = std::make_unique<ServiceProcess>(binary_, flags_);
    ASSERT_FALSE(p->grpc_address().empty()) << name_ << " did not start";
    std::lock_guard<std::mutex> lock(mu_);
    process_ = std::move(p);
    channel_ = process_->Channel();
  }
  void KillAndRestart() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      process_->Kill();
    }
    Start();
  }
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    process_->Stop();
  }
  // Replaces a flag (by its "--name=" prefix) for the next start.
  void SetFlag(const std::string& prefix, const std::string& value) {
    for (std::string& f : flags_) {
      if (f.rfind(prefix, 0) == 0) f = prefix + value;
    }
  }

 private:
  const std::string name_, binary_;
  std::vector<std::string> flags_;
  std::mutex mu_;
  std::unique_ptr<ServiceProcess> process_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Calls until acknowledged, with the same request (and so the same command id),
// at most until `deadline`.
template <typename Stub, typename Req, typename Resp>
bool CallUntilAcked(Restartable& svc, const std::string& token,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp, absl::Time deadline, std::atomic<int>* retries) {
  while (absl::Now() < deadline) {
    auto stub = std::make_unique<Stub>(svc.Channel());
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", auth::BearerHeader(token));
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status s = (stub.get()->*method)(&ctx, req, resp);
    if (s.ok()) return true;
    ++*retries;
    // UNAVAILABLE / DEADLINE_EXCEEDED: the service is down or restarting.
    // NOT_FOUND: the customer has not reached crm-interaction / crm-ticket yet
    // (the broker is down, or their lookup points at a killed crm-customer).
    const grpc::StatusCode c = s.error_code();
    if (c != grpc::StatusCode::UNAVAILABLE && c != grpc::StatusCode::DEADLINE_EXCEEDED &&
        c != grpc::StatusCode::NOT_FOUND && c != grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ADD_FAILURE() << svc.name() << ": " << c << " " << s.error_message();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

struct Acked {
  std::string customer_id, follow_up_id, ticket_id;
};

// What a read answers, as text (one line per response), or the error; a list is read
// page by page to its end and its page tokens are left out (they are sealed with
// a fresh nonce each time, so equal lists have different tokens).
template <typename Stub, typename Req, typename Resp>
std::string Read(const std::shared_ptr<grpc::Channel>& channel, const std::string& token,
                 grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                 Req req) {
  Stub stub(channel);
  std::string out;
  for (int page = 0; page < 10'000; ++page) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", auth::BearerHeader(token));
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    Resp resp;
    grpc::Status s = (stub.*method)(&ctx, req, &resp);
    if (!s.ok()) return out + absl::StrCat("error ", s.error_code(), ": ", s.error_message());
    const google::protobuf::FieldDescriptor* next =
        Resp::descriptor()->FindFieldByName("next_page_token");
    std::string next_token;
    if (next != nullptr) {
      next_token = resp.GetReflection()->GetString(resp, next);
      resp.GetReflection()->ClearField(&resp, next);
    }
    out += resp.ShortDebugString() + "\n";
    if (next_token.empty()) return out;
    req.GetReflection()->SetString(&req, Req::descriptor()->FindFieldByName("page_token"),
                                   next_token);
  }
  return out + "error: too many pages";
}

// The first line that differs, from each side.
std::string FirstDifference(const std::string& a, const std::string& b) {
  std::vector<std::string> la = absl::StrSplit(a, '\n'), lb = absl::StrSplit(b, '\n');
  for (size_t i = 0; i < std::max(la.size(), lb.size()); ++i) {
    std::string x = i < la.size() ? la[i] : "(none)", y = i < lb.size() ? lb[i] : "(none)";
    if (x != y) {
      return absl::StrCat("line ", i, "\nlive:    ", std::string(x.substr(0, 1500)),
                          "\nrebuilt: ", std::string(y.substr(0, 1500)));
    }
  }
  return "";
}

std::map<kv1::Metric, double> MetricsOf(const kv1::GetClassificationResponse& r) {
  std::map<kv1::Metric, double> out;
  for (const kv1::MetricValue& m : r.metrics()) out[m.metric()] = m.value();
  return out;
}

TEST(FaultDrillTest, KillsAndABrokerOutageLoseNothingAndApplyEverythingOnce) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  messaging::testing::DevBroker broker(DEVBROKER_PATH, dir.path());
  const std::string secret = std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE;
  const std::string kafka = "--kafka_brokers=" + broker.bootstrap();
  const std::string session = "--kafka_session_timeout_ms=6000";
  auto data = [&](const std::string& s) { return "--data_dir=" + dir.path() + "/" + s; };

  Restartable customer("crm-customer", CUSTOMER_PATH, {data("customer"), kafka, secret, session});
  const std::string customer_addr = "--customer_addr=";
  Restartable interaction("crm-interaction", INTERACTION_PATH,
                          {data("interaction"), kafka, secret, customer_addr + customer.Address(),
                           "--scan_interval_ms=200", session});
  Restartable ticket("crm-ticket", TICKET_PATH,
                     {data("ticket"), kafka, secret, customer_addr + customer.Address(),
                      "--scan_interval_ms=200", session});
  Restartable classification("crm-classification", CLASSIFICATION_PATH,
                             {data("classification"), kafka, secret, "--scan_interval_ms=200",
                              "--sweep_interval_ms=500", session});
  const std::string alice = DevToken("alice", {"sales_rep"}, "north");
  const std::string admin = DevToken("ops", {"admin"}, "");

  // The load: each worker registers a customer, records a transaction, logs a
  // follow-up and opens a complaint, over and over, until told to stop.
  std::atomic<bool> stop{false};
  std::atomic<int> retries{0};
  std::mutex mu;
  std::vector<Acked> acked;
  const absl::Time hard_deadline = absl::Now() + absl::Minutes(4);
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string tag = absl::StrCat("drill-", w, "-", i);
        cv1::RegisterCustomerRequest reg;
        reg.mutable_options()->set_command_id(tag + "-register");
        reg.mutable_basic()->set_name(absl::StrCat("Drill Customer ", w, "-", i));
        reg.set_lifecycle(cv1::LIFECYCLE_COOPERATING);
        cv1::RegisterCustomerResponse registered;
        if (!CallUntilAcked(customer, alice, &cv1::CustomerService::Stub::RegisterCustomer, reg,
                            &registered, hard_deadline, &retries)) {
          return;
        }
        Acked a{.customer_id = registered.customer_id()};

        cv1::RecordTransactionRequest tx;
        tx.set_customer_id(a.customer_id);
        tx.mutable_options()->set_command_id(tag + "-tx");
        tx.mutable_transaction()->set_party(cv1::TRANSACTION_PARTY_OWN_COMPANY);
        tx.mutable_transaction()->mutable_amount()->set_currency_code("CNY");
        tx.mutable_transaction()->mutable_amount()->set_amount_minor(100'000 + i);
        tx.mutable_transaction()->set_date(Today());
        tx.mutable_transaction()->set_paid_date(Today());
        cv1::RecordTransactionResponse recorded;
        if (!CallUntilAcked(customer, alice, &cv1::CustomerService::Stub::RecordTransaction, tx,
                            &recorded, hard_deadline, &retries)) {
          return;
        }

        iv1::LogFollowUpRequest follow;
        follow.mutable_options()->set_command_id(tag + "-follow-up");
        follow.set_customer_id(a.customer_id);
        follow.mutable_follow_up()->set_channel(iv1::CHANNEL_PHONE);
        follow.mutable_follow_up()->set_content("Drill call");
        iv1::CreateResponse logged;
        if (!CallUntilAcked(interaction, alice, &iv1::InteractionService::Stub::LogFollowUp,
                            follow, &logged, hard_deadline, &retries)) {
          return;
        }
        a.follow_up_id = logged.interaction_id();

        tv1::OpenTicketRequest open;
        open.mutable_options()->set_command_id(tag + "-ticket");
        open.set_customer_id(a.customer_id);
        open.set_type(tv1::TICKET_TYPE_COMPLAINT);
        open.set_channel(tv1::TICKET_CHANNEL_PHONE);
        open.set_priority(tv1::PRIORITY_HIGH);
        open.set_subject("drill complaint");
        tv1::OpenTicketResponse opened;
        if (!CallUntilAcked(ticket, alice, &tv1::TicketService::Stub::OpenTicket, open, &opened,
                            hard_deadline, &retries)) {
          return;
        }
        a.ticket_id = opened.ticket_id();
        std::lock_guard<std::mutex> lock(mu);
        acked.push_back(a);
      }
    });
  }

  // The faults, one after the other, under load.
  auto pause = [](int seconds) { std::this_thread::sleep_for(std::chrono::seconds(seconds)); };
  pause(4);
  customer.KillAndRestart();
  // crm-interaction and crm-ticket find the new crm-customer when they restart.
  interaction.SetFlag(customer_addr, customer.Address());
  ticket.SetFlag(customer_addr, customer.Address());
  pause(4);
  interaction.KillAndRestart();
  pause(4);
  classification.KillAndRestart();
  pause(4);
  ticket.KillAndRestart();
  pause(4);
  broker.Signal(SIGUSR1);  // every broker down: no publishing, no consuming
  pause(10);
  broker.Signal(SIGUSR2);
  pause(5);
  stop = true;
  for (std::thread& t : workers) t.join();
  ASSERT_FALSE(::testing::Test::HasFailure());
  std::printf("fault drill: %zu customers acknowledged with their writes, %d retried calls\n",
              acked.size(), retries.load());
  ASSERT_GT(acked.size(), 10u);

  // Every acknowledged write is readable.
  {
    cv1::CustomerService::Stub customers(customer.Channel());
    iv1::InteractionService::Stub interactions(interaction.Channel());
    tv1::TicketService::Stub tickets(ticket.Channel());
    for (const Acked& a : acked) {
      cv1::GetCustomerRequest get;
      get.set_customer_id(a.customer_id);
      cv1::GetCustomerResponse got;
      grpc::Status s =
          CallAs(customers, alice, &cv1::CustomerService::Stub::GetCustomer, get, &got);
      ASSERT_TRUE(s.ok()) << a.customer_id << ": " << s.error_message();
      EXPECT_EQ(got.customer().transactions_size(), 1) << a.customer_id;
      iv1::GetInteractionRequest gi;
      gi.set_interaction_id(a.follow_up_id);
      iv1::GetInteractionResponse interaction_resp;
      s = CallAs(interactions, alice, &iv1::InteractionService::Stub::GetInteraction, gi,
                 &interaction_resp);
      EXPECT_TRUE(s.ok()) << a.follow_up_id << ": " << s.error_message();
      tv1::GetTicketRequest gt;
      gt.set_ticket_id(a.ticket_id);
      tv1::GetTicketResponse ticket_resp;
      s = CallAs(tickets, alice, &tv1::TicketService::Stub::GetTicket, gt, &ticket_resp);
      EXPECT_TRUE(s.ok()) << a.ticket_id << ": " << s.error_message();
    }
  }

  // Every consumed event applied exactly once: one transaction, one interaction
  // and one complaint per customer in crm-classification's inputs. (A lost event
  // shows as 0, a twice-applied one as 2.)
  std::map<std::string, std::string> wrong;
  const bool converged = Eventually(
      [&] {
        wrong.clear();
        kv1::ClassificationService::Stub stub(classification.Channel());
        for (const Acked& a : acked) {
          kv1::GetClassificationRequest req;
          req.set_customer_id(a.customer_id);
          kv1::GetClassificationResponse resp;
          grpc::Status s =
              CallAs(stub, alice, &kv1::ClassificationService::Stub::GetClassification, req, &resp);
          if (!s.ok()) {
            wrong[a.customer_id] = s.error_message();
            continue;
          }
          auto m = MetricsOf(resp);
          if (m[kv1::METRIC_TRANSACTIONS_12M] != 1 || m[kv1::METRIC_INTERACTIONS_90D] != 1 ||
              m[kv1::METRIC_COMPLAINTS_12M] != 1) {
            wrong[a.customer_id] = absl::StrCat(
                "transactions ", m[kv1::METRIC_TRANSACTIONS_12M], ", interactions ",
                m[kv1::METRIC_INTERACTIONS_90D], ", complaints ", m[kv1::METRIC_COMPLAINTS_12M]);
          }
        }
        return wrong.empty();
      },
      absl::Seconds(120));
  EXPECT_TRUE(converged) << wrong.size() << " customers differ, e.g. " << wrong.begin()->first
                         << ": " << wrong.begin()->second;

  // The suite settles: classification may still reclassify, and crm-interaction
  // plan revisits from the class events. Wait until no service has appended
  // anything for 3 s, so that what is read live is what the log holds at the stop.
  for (Restartable* svc : {&customer, &classification, &interaction, &ticket}) {
    double before = -2;
    bool quiet = false;
    for (const absl::Time until = absl::Now() + absl::Seconds(90); !quiet && absl::Now() < until;) {
      std::this_thread::sleep_for(std::chrono::seconds(3));
      const double now =
          crm::testing::ScrapeMetric(svc->AdminAddress(), "crm_eventstore_appends");
      quiet = now >= 0 && now == before;
      before = now;
    }
    EXPECT_TRUE(quiet) << svc->name() << " kept appending";
  }

  // Every projection equals a clean rebuild from the service's own log: stop the
  // service, start a copy of its data directory with --rebuild_projections (no
  // broker: it only reads), and compare the answers of the same reads.
  auto customer_reads = [&](const std::shared_ptr<grpc::Channel>& ch) {
    std::string out;
    for (const Acked& a : acked) {
      cv1::GetCustomerRequest req;
      req.set_customer_id(a.customer_id);
      out += Read(ch, admin, &cv1::CustomerService::Stub::GetCustomer, req);
    }
    cv1::ListCustomersRequest list;
    list.set_page_size(100);
    out += Read(ch, admin, &cv1::CustomerService::Stub::ListCustomers, list);
    return out;
  };
  auto interaction_reads = [&](const std::shared_ptr<grpc::Channel>& ch) {
    std::string out;
    for (const Acked& a : acked) {
      iv1::GetInteractionRequest req;
      req.set_interaction_id(a.follow_up_id);
      out += Read(ch, admin, &iv1::InteractionService::Stub::GetInteraction, req);
      iv1::ListInteractionsRequest list;
      list.set_customer_id(a.customer_id);
      out += Read(ch, admin, &iv1::InteractionService::Stub::ListInteractions, list);
    }
    return out;
  };
  auto ticket_reads = [&](const std::shared_ptr<grpc::Channel>& ch) {
    std::string out;
    for (const Acked& a : acked) {
      tv1::GetTicketRequest req;
      req.set_ticket_id(a.ticket_id);
      out += Read(ch, admin, &tv1::TicketService::Stub::GetTicket, req);
    }
    tv1::ListTicketsRequest list;
    list.set_page_size(100);
    out += Read(ch, admin, &tv1::TicketService::Stub::ListTickets, list);
    return out;
  };
  auto classification_reads = [&](const std::shared_ptr<grpc::Channel>& ch) {
    std::string out;
    for (const Acked& a : acked) {
      kv1::GetClassificationRequest req;
      req.set_customer_id(a.customer_id);
      out += Read(ch, admin, &kv1::ClassificationService::Stub::GetClassification, req);
    }
    return out;
  };
  struct Check {
    Restartable* svc;
    std::string binary, data;
    std::function<std::string(const std::shared_ptr<grpc::Channel>&)> reads;
  };
  for (const Check& c : std::vector<Check>{
           {&customer, CUSTOMER_PATH, "customer", customer_reads},
           {&interaction, INTERACTION_PATH, "interaction", interaction_reads},
           {&ticket, TICKET_PATH, "ticket", ticket_reads},
           {&classification, CLASSIFICATION_PATH, "classification", classification_reads}}) {
    const std::string live = c.reads(c.svc->Channel());
    c.svc->Stop();
    const std::string copy = dir.path() + "/" + c.data + "-rebuilt";
    std::filesystem::copy(dir.path() + "/" + c.data, copy,
                          std::filesystem::copy_options::recursive);
    ServiceProcess rebuilt(c.binary, {"--data_dir=" + copy, secret, "--rebuild_projections"});
    ASSERT_FALSE(rebuilt.grpc_address().empty()) << c.data;
    const std::string from_log = c.reads(rebuilt.Channel());
    EXPECT_EQ(live.find("error "), std::string::npos) << c.data << ": " << live.substr(0, 300);
    EXPECT_TRUE(live == from_log) << c.data << ": the live projections differ from a rebuild ("
                                  << live.size() << " vs " << from_log.size() << " bytes)\n"
                                  << FirstDifference(live, from_log);
  }
}

}  // namespace
}  // namespace crm
