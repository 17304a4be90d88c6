// Least privilege and no existence leaks (issue 18, items 4 and 5), on real
// processes: crm-devbroker + crm-customer + crm-interaction + crm-ticket +
// crm-classification, crm-interaction and crm-ticket asking crm-customer about
// customers they have not consumed yet (--customer_addr, service token).
//
// 1. The `service` role x every RPC: every crm service of the source tree (found
//    from proto/crm/*/v1/*_service.proto, like bad_input_e2e_test, so a new RPC is
//    covered without touching this file), on every process that serves it (each
//    asked through grpc.health.v1), called with a token whose only role is
//    `service`: PERMISSION_DENIED exactly where the table of libs/auth/README.md
//    ("Role x RPC") says, OK on the one RPC it allows (CustomerService.GetCustomer,
//    the customer lookups of crm-interaction and crm-ticket), which answers only
//    the customer's id, version, owner and region. Nothing is written.
// 2. With another role beside `service`, that role alone decides.
// 3. An invisible customer and an absent one answer every per-customer read and
//    write of every service with the same code (NOT_FOUND) and the same message
//    once the id is taken out (byte for byte); an object of an invisible customer
//    (a ticket) answers like an absent object; the duplicate check names a
//    duplicate only to a caller who sees it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/admin/v1/admin_service.pb.h"
#include "crm/auth/grpc_auth.h"
#include "crm/classification/v1/classification_service.grpc.pb.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/events/v1/event_log_service.pb.h"
#include "crm/interaction/v1/campaign_service.pb.h"
#include "crm/interaction/v1/churn_service.grpc.pb.h"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"
#include "crm/interaction/v1/sales_service.grpc.pb.h"
#include "crm/runtime/log.h"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/rpc_catalog.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

using crm::testing::CallAs;
using crm::testing::DevToken;
using crm::testing::Eventually;
using crm::testing::ServiceProcess;
using ::google::protobuf::Descriptor;
using ::google::protobuf::ServiceDescriptor;
namespace cv1 = customer::v1;
namespace iv1 = interaction::v1;
namespace tv1 = ticket::v1;
namespace kv1 = classification::v1;

// The table of libs/auth/README.md, "Role x RPC", for the service role: the only
// RPCs it may call. Every other RPC of every service: PERMISSION_DENIED.
const std::set<std::string> kServiceRoleMayCall = {"/crm.customer.v1.CustomerService/GetCustomer"};

using Reply = crm::testing::RawReply;
using crm::testing::RawCall;

bool Serves(grpc::GenericStub& stub, const std::string& service) {
  return crm::testing::Health(stub, service) == "SERVING";
}

std::vector<const ServiceDescriptor*> ServicesOfTheSourceTree() {
  return crm::testing::ServicesOfTheSourceTree("least_privilege_e2e_test");
}

class LeastPrivilegeE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    runtime::SetLogLevel(runtime::LogLevel::kError);
    dir_ = new crm::testing::TempDir();
    broker_ = new messaging::testing::DevBroker(DEVBROKER_PATH, dir_->path());
    const std::string secret = std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE;
    const std::string kafka = "--kafka_brokers=" + broker_->bootstrap();
    const std::string session = "--kafka_session_timeout_ms=6000";
    const std::string root = dir_->path();
    customer_ = new ServiceProcess(CUSTOMER_PATH,
                                   {"--data_dir=" + root + "/customer", kafka, secret, session});
    const std::string customer_addr = "--customer_addr=" + customer_->grpc_address();
    interaction_ = new ServiceProcess(INTERACTION_PATH, {"--data_dir=" + root + "/interaction",
                                                         kafka, secret, session, customer_addr});
    ticket_ = new ServiceProcess(
        TICKET_PATH, {"--data_dir=" + root + "/ticket", kafka, secret, session, customer_addr});
    classification_ = new ServiceProcess(
        CLASSIFICATION_PATH, {"--data_dir=" + root + "/classification", kafka, secret, session});
  }
  static void TearDownTestSuite() {
    for (ServiceProcess* p : {classification_, ticket_, interaction_, customer_}) {
      p->Stop();
      delete p;
    }
    delete broker_;
    delete dir_;
  }

  // Registers a customer as the admin; its id.
  std::string Register(const std::string& name, const std::string& owner,
                       const std::string& region) {
    auto stub = cv1::CustomerService::NewStub(customer_->Channel());
    cv1::RegisterCustomerRequest req;
    req.mutable_basic()->set_name(name);
    req.set_owner(owner);
    req.set_region(region);
    req.set_confirm_duplicate(true);
    cv1::RegisterCustomerResponse resp;
    grpc::Status s = CallAs(*stub, admin_, &cv1::CustomerService::Stub::RegisterCustomer, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.customer_id();
  }

  const std::string admin_ = DevToken("root", {"admin"}, "");
  const std::string service_ = DevToken("crm-ticket", {"service"}, "");

  static crm::testing::TempDir* dir_;
  static messaging::testing::DevBroker* broker_;
  static ServiceProcess* customer_;
  static ServiceProcess* interaction_;
  static ServiceProcess* ticket_;
  static ServiceProcess* classification_;
};

crm::testing::TempDir* LeastPrivilegeE2eTest::dir_ = nullptr;
messaging::testing::DevBroker* LeastPrivilegeE2eTest::broker_ = nullptr;
ServiceProcess* LeastPrivilegeE2eTest::customer_ = nullptr;
ServiceProcess* LeastPrivilegeE2eTest::interaction_ = nullptr;
ServiceProcess* LeastPrivilegeE2eTest::ticket_ = nullptr;
ServiceProcess* LeastPrivilegeE2eTest::classification_ = nullptr;

TEST_F(LeastPrivilegeE2eTest, TheServiceRoleGetsExactlyTheRpcsOfTheTable) {
  const std::string id = Register("Looked Up Ltd", "alice", "north");
  ASSERT_FALSE(id.empty());
  struct Proc {
    std::string name;
    ServiceProcess* process;
    std::unique_ptr<grpc::GenericStub> stub;
  };
  std::vector<Proc> procs;
  for (auto [name, p] : std::vector<std::pair<std::string, ServiceProcess*>>{
           {"crm-customer", customer_},
           {"crm-interaction", interaction_},
           {"crm-ticket", ticket_},
           {"crm-classification", classification_}}) {
    procs.push_back({name, p, std::make_unique<grpc::GenericStub>(p->Channel())});
  }
  auto last_position = [&](Proc& p) {
    admin::v1::BackupRequest req;
    static int n = 0;
    req.set_target_dir(absl::StrCat(dir_->path(), "/backup-", p.name, "-", ++n));
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", auth::BearerHeader(admin_));
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    grpc::Slice slice(req.SerializeAsString());
    grpc::ByteBuffer request(&slice, 1), response;
    std::promise<grpc::Status> done;
    p.stub->UnaryCall(&ctx, "/crm.admin.v1.AdminService/Backup", grpc::StubOptions(), &request,
                      &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
    EXPECT_TRUE(done.get_future().get().ok()) << p.name;
    std::vector<grpc::Slice> slices;
    std::string body;
    if (response.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) body.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    admin::v1::BackupResponse resp;
    EXPECT_TRUE(resp.ParseFromString(body));
    return resp.last_position();
  };
  std::map<std::string, uint64_t> before;
  for (Proc& p : procs) before[p.name] = last_position(p);

  int rpcs = 0, allowed = 0, denied = 0;
  for (const ServiceDescriptor* service : ServicesOfTheSourceTree()) {
    int served_by = 0;
    for (Proc& p : procs) {
      if (!Serves(*p.stub, service->full_name())) continue;
      ++served_by;
      for (int m = 0; m < service->method_count(); ++m) {
        const std::string method =
            absl::StrCat("/", service->full_name(), "/", service->method(m)->name());
        ++rpcs;
        const bool may = kServiceRoleMayCall.contains(method);
        // An empty request: the role check comes before the request is looked at;
        // the allowed lookup gets a real customer.
        std::string body;
        if (method == "/crm.customer.v1.CustomerService/GetCustomer") {
          cv1::GetCustomerRequest get;
          get.set_customer_id(id);
          body = get.SerializeAsString();
        }
        Reply r = RawCall(*p.stub, method, body, service_);
        const std::string where = absl::StrCat(p.name, " ", method, ": ", r.status.error_message());
        if (may) {
          ++allowed;
          EXPECT_TRUE(r.status.ok()) << where;
        } else {
          ++denied;
          EXPECT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << where;
        }
      }
    }
    EXPECT_GE(served_by, 1) << service->full_name() << " is served by no process";
  }
  std::printf("service role: %d RPC endpoints, %d allowed, %d PERMISSION_DENIED\n", rpcs, allowed,
              denied);
  // What the allowed lookup gets: the customer's id, owner and region, no data.
  {
    auto customers = cv1::CustomerService::NewStub(customer_->Channel());
    cv1::GetCustomerRequest get;
    get.set_customer_id(id);
    cv1::GetCustomerResponse got;
    ASSERT_TRUE(CallAs(*customers, service_, &cv1::CustomerService::Stub::GetCustomer, get, &got).ok());
    EXPECT_EQ(got.customer().customer_id(), id);
    EXPECT_EQ(got.customer().owner(), "alice");
    EXPECT_EQ(got.customer().region(), "north");
    EXPECT_EQ(got.customer().basic().name(), "");
    EXPECT_FALSE(got.customer().has_created_at());
  }
  EXPECT_EQ(allowed, 1);
  EXPECT_GE(rpcs, 90);
  for (Proc& p : procs) EXPECT_EQ(last_position(p), before[p.name]) << p.name << " wrote something";
}

// The event log is admin only: a consumer's catch-up needs an admin token
// (--catch_up_token_file); the service token the lookups use is refused.
TEST_F(LeastPrivilegeE2eTest, OnlyAnAdminStreamsAServicesEventLog) {
  Register("Logged Ltd", "alice", "north");
  for (ServiceProcess* p : {customer_, interaction_, ticket_, classification_}) {
    grpc::GenericStub stub(p->Channel());
    events::v1::StreamEventsRequest req;
    req.set_max_events(1);
    for (const auto& [token, want] : std::vector<std::pair<std::string, grpc::StatusCode>>{
             {admin_, grpc::StatusCode::OK},
             {service_, grpc::StatusCode::PERMISSION_DENIED},
             {DevToken("eve", {"executive"}, ""), grpc::StatusCode::PERMISSION_DENIED}}) {
      Reply r = RawCall(stub, "/crm.events.v1.EventLogService/StreamEvents",
                        req.SerializeAsString(), token);
      EXPECT_EQ(r.status.error_code(), want) << p->grpc_address() << ": " << r.status.error_message();
    }
  }
}

// With another role beside `service`, the other role alone decides: a sales rep
// who also holds `service` lists only its own customers and transfers nothing.
TEST_F(LeastPrivilegeE2eTest, BesideAnotherRoleTheServiceRoleAddsNothing) {
  const std::string own = Register("Mixed Own Ltd", "mixer", "north");
  const std::string other = Register("Mixed Other Ltd", "someone", "south");
  const std::string mixed = DevToken("mixer", {"service", "sales_rep"}, "north");
  auto stub = cv1::CustomerService::NewStub(customer_->Channel());
  cv1::ListCustomersRequest list;
  list.set_page_size(500);
  list.set_name_prefix("Mixed");
  cv1::ListCustomersResponse page;
  ASSERT_TRUE(CallAs(*stub, mixed, &cv1::CustomerService::Stub::ListCustomers, list, &page).ok());
  ASSERT_EQ(page.customers_size(), 1);
  EXPECT_EQ(page.customers(0).customer_id(), own);
  cv1::AssignOwnerRequest assign;
  assign.set_customer_id(own);
  assign.set_owner("someone-else");
  cv1::WriteResponse w;
  EXPECT_EQ(CallAs(*stub, mixed, &cv1::CustomerService::Stub::AssignOwner, assign, &w).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // GetCustomer is the service role's: it reaches every customer.
  cv1::GetCustomerRequest get;
  get.set_customer_id(other);
  cv1::GetCustomerResponse got;
  EXPECT_TRUE(CallAs(*stub, mixed, &cv1::CustomerService::Stub::GetCustomer, get, &got).ok());
}

// An id of the same length as `id` that no customer has.
std::string AbsentLike(const std::string& id) {
  std::string absent = id;
  for (char& c : absent) {
    if (c != '-') c = 'f';
  }
  return absent;
}

TEST_F(LeastPrivilegeE2eTest, AnInvisibleCustomerIsIndistinguishableFromAnAbsentOne) {
  // carol's customer in the south: bob (sales rep, north) and a northern manager
  // do not see it.
  const std::string hidden = Register("Hidden Ltd", "carol", "south");
  ASSERT_FALSE(hidden.empty());
  const std::string absent = AbsentLike(hidden);
  ASSERT_NE(absent, hidden);
  // A ticket of the hidden customer, opened by the admin (through the lookup or
  // the directory).
  auto tickets = tv1::TicketService::NewStub(ticket_->Channel());
  auto open_ticket = [&](const std::string& token, const std::string& customer) {
    tv1::OpenTicketRequest open;
    open.set_customer_id(customer);
    open.set_type(tv1::TICKET_TYPE_CONSULTATION);
    open.set_channel(tv1::TICKET_CHANNEL_EMAIL);
    open.set_subject("a question");
    tv1::OpenTicketResponse opened;
    grpc::Status s = CallAs(*tickets, token, &tv1::TicketService::Stub::OpenTicket, open, &opened);
    return std::make_pair(s, opened.ticket_id());
  };
  auto [opened, hidden_ticket] = open_ticket(admin_, hidden);
  ASSERT_TRUE(opened.ok()) << opened.error_message();
  // Every consumer has the customer in its directory (the classification too).
  auto classifications = kv1::ClassificationService::NewStub(classification_->Channel());
  ASSERT_TRUE(Eventually([&] {
    kv1::GetClassificationRequest req;
    req.set_customer_id(hidden);
    kv1::GetClassificationResponse resp;
    grpc::Status s = CallAs(*classifications, admin_,
                            &kv1::ClassificationService::Stub::GetClassification, req, &resp);
    return s.ok();
  }));

  auto customers = cv1::CustomerService::NewStub(customer_->Channel());
  auto interactions = iv1::InteractionService::NewStub(interaction_->Channel());
  auto sales = iv1::SalesService::NewStub(interaction_->Channel());
  auto churn = iv1::ChurnService::NewStub(interaction_->Channel());

  int compared = 0;
  for (const std::string& token :
       {DevToken("bob", {"sales_rep"}, "north"), DevToken("nora", {"regional_manager"}, "north"),
        DevToken("agent", {"service_agent"}, "south"), DevToken("nobody", {}, "")}) {
    // Calls `call(customer_id)` with the hidden and the absent id: the same code
    // (NOT_FOUND where `not_found`) and the same message once the id is out.
    auto same = [&](const std::string& what, auto call, bool not_found = true) {
      SCOPED_TRACE(what);
      grpc::Status on_hidden = call(hidden);
      grpc::Status on_absent = call(absent);
      ++compared;
      EXPECT_EQ(on_hidden.error_code(), on_absent.error_code())
          << on_hidden.error_message() << " / " << on_absent.error_message();
      EXPECT_EQ(absl::StrReplaceAll(on_hidden.error_message(), {{hidden, "<id>"}}),
                absl::StrReplaceAll(on_absent.error_message(), {{absent, "<id>"}}));
      EXPECT_EQ(on_hidden.error_details(), on_absent.error_details());
      EXPECT_EQ(on_hidden.error_message().find("carol"), std::string::npos);
      if (not_found) {
        EXPECT_EQ(on_hidden.error_code(), grpc::StatusCode::NOT_FOUND) << on_hidden.error_message();
      }
    };
    same("GetCustomer", [&](const std::string& id) {
      cv1::GetCustomerRequest r;
      r.set_customer_id(id);
      cv1::GetCustomerResponse out;
      return CallAs(*customers, token, &cv1::CustomerService::Stub::GetCustomer, r, &out);
    });
    same("GetCustomer as_of", [&](const std::string& id) {
      cv1::GetCustomerRequest r;
      r.set_customer_id(id);
      r.mutable_as_of()->set_seconds(absl::ToUnixSeconds(absl::Now()));
      cv1::GetCustomerResponse out;
      return CallAs(*customers, token, &cv1::CustomerService::Stub::GetCustomer, r, &out);
    });
    same("GetCustomerHistory", [&](const std::string& id) {
      cv1::GetCustomerHistoryRequest r;
      r.set_customer_id(id);
      cv1::GetCustomerHistoryResponse out;
      return CallAs(*customers, token, &cv1::CustomerService::Stub::GetCustomerHistory, r, &out);
    });
    same("AddContact", [&](const std::string& id) {
      cv1::AddContactRequest r;
      r.set_customer_id(id);
      r.mutable_contact()->mutable_personal()->set_name("Li Lei");
      cv1::AddContactResponse out;
      return CallAs(*customers, token, &cv1::CustomerService::Stub::AddContact, r, &out);
    });
    same("AssignOwner", [&](const std::string& id) {
      cv1::AssignOwnerRequest r;
      r.set_customer_id(id);
      r.set_owner("bob");
      cv1::WriteResponse out;
      return CallAs(*customers, token, &cv1::CustomerService::Stub::AssignOwner, r, &out);
    });
    same("GrantAccess", [&](const std::string& id) {
      cv1::GrantAccessRequest r;
      r.set_customer_id(id);
      r.set_subject("bob");
      r.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
      cv1::WriteResponse out;
      return CallAs(*customers, token, &cv1::CustomerService::Stub::GrantAccess, r, &out);
    });
    same("GetTimeline", [&](const std::string& id) {
      iv1::GetTimelineRequest r;
      r.set_customer_id(id);
      iv1::GetTimelineResponse out;
      return CallAs(*interactions, token, &iv1::InteractionService::Stub::GetTimeline, r, &out);
    });
    same("ListInteractions", [&](const std::string& id) {
      iv1::ListInteractionsRequest r;
      r.set_customer_id(id);
      iv1::ListInteractionsResponse out;
      return CallAs(*interactions, token, &iv1::InteractionService::Stub::ListInteractions, r,
                    &out);
    }, /*not_found=*/false);
    same("ListOpportunities", [&](const std::string& id) {
      iv1::ListOpportunitiesRequest r;
      r.set_customer_id(id);
      iv1::ListOpportunitiesResponse out;
      return CallAs(*sales, token, &iv1::SalesService::Stub::ListOpportunities, r, &out);
    }, /*not_found=*/false);
    same("ListChurnCases", [&](const std::string& id) {
      iv1::ListChurnCasesRequest r;
      r.set_customer_id(id);
      iv1::ListChurnCasesResponse out;
      return CallAs(*churn, token, &iv1::ChurnService::Stub::ListChurnCases, r, &out);
    }, /*not_found=*/false);
    same("OpenTicket", [&](const std::string& id) { return open_ticket(token, id).first; });
    same("ListTickets", [&](const std::string& id) {
      tv1::ListTicketsRequest r;
      r.set_customer_id(id);
      tv1::ListTicketsResponse out;
      return CallAs(*tickets, token, &tv1::TicketService::Stub::ListTickets, r, &out);
    }, /*not_found=*/false);
    same("GetClassification", [&](const std::string& id) {
      kv1::GetClassificationRequest r;
      r.set_customer_id(id);
      kv1::GetClassificationResponse out;
      return CallAs(*classifications, token, &kv1::ClassificationService::Stub::GetClassification,
                    r, &out);
    });
    same("GetClassificationHistory", [&](const std::string& id) {
      kv1::GetClassificationHistoryRequest r;
      r.set_customer_id(id);
      kv1::GetClassificationHistoryResponse out;
      return CallAs(*classifications, token,
                    &kv1::ClassificationService::Stub::GetClassificationHistory, r, &out);
    });

    // A ticket of the hidden customer answers like a ticket that does not exist.
    SCOPED_TRACE("GetTicket");
    tv1::GetTicketRequest get;
    get.set_ticket_id(hidden_ticket);
    tv1::GetTicketResponse out;
    grpc::Status on_hidden = CallAs(*tickets, token, &tv1::TicketService::Stub::GetTicket, get, &out);
    get.set_ticket_id(AbsentLike(hidden_ticket));
    grpc::Status on_absent = CallAs(*tickets, token, &tv1::TicketService::Stub::GetTicket, get, &out);
    EXPECT_EQ(on_hidden.error_code(), grpc::StatusCode::NOT_FOUND) << on_hidden.error_message();
    EXPECT_EQ(on_hidden.error_code(), on_absent.error_code());
    EXPECT_EQ(absl::StrReplaceAll(on_hidden.error_message(), {{hidden_ticket, "<id>"}}),
              absl::StrReplaceAll(on_absent.error_message(), {{AbsentLike(hidden_ticket), "<id>"}}));
    EXPECT_EQ(on_hidden.error_message().find(hidden), std::string::npos);
  }
  EXPECT_EQ(compared, 4 * 14);
}

TEST_F(LeastPrivilegeE2eTest, TheDuplicateCheckNamesADuplicateOnlyToWhoSeesIt) {
  const std::string hidden = Register("Twin Peaks Trading", "carol", "south");
  auto stub = cv1::CustomerService::NewStub(customer_->Channel());
  cv1::RegisterCustomerRequest dup;
  dup.mutable_basic()->set_name("TWIN  peaks trading");
  cv1::RegisterCustomerResponse resp;
  // carol sees her customer: told its id.
  grpc::Status carols = CallAs(*stub, DevToken("carol", {"sales_rep"}, "south"),
                               &cv1::CustomerService::Stub::RegisterCustomer, dup, &resp);
  EXPECT_EQ(carols.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(carols.error_message().find(hidden), std::string::npos) << carols.error_message();
  // bob does not: refused the same way, without its id or name.
  const std::string bob = DevToken("bob", {"sales_rep"}, "north");
  grpc::Status bobs = CallAs(*stub, bob, &cv1::CustomerService::Stub::RegisterCustomer, dup, &resp);
  EXPECT_EQ(bobs.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(bobs.error_message(),
            "possible duplicate of a customer you cannot see (same name); set confirm_duplicate "
            "to register anyway");
  // Confirmed, bob registers his own; its history does not name carol's.
  dup.set_confirm_duplicate(true);
  ASSERT_TRUE(CallAs(*stub, bob, &cv1::CustomerService::Stub::RegisterCustomer, dup, &resp).ok());
  cv1::GetCustomerHistoryRequest history;
  history.set_customer_id(resp.customer_id());
  cv1::GetCustomerHistoryResponse trail;
  ASSERT_TRUE(
      CallAs(*stub, bob, &cv1::CustomerService::Stub::GetCustomerHistory, history, &trail).ok());
  ASSERT_GE(trail.entries_size(), 1);
  EXPECT_EQ(trail.entries(0).event().registered().confirmed_duplicate_of(), "");
  EXPECT_EQ(trail.SerializeAsString().find(hidden), std::string::npos);
}

}  // namespace
}  // namespace crm
