// Hostile input over every RPC of the four services, on real processes
// (crm-devbroker + crm-customer + crm-interaction + crm-ticket +
// crm-classification). The RPCs are not listed here: every proto/crm/*/v1/
// *_service.proto is found in the source tree, its services looked up in the
// descriptors linked into this test (a service file not linked in fails the
// test), each service's process found by asking every process's gRPC health
// for it, and every method's request walked by protobuf reflection. So a new
// RPC, a new field or a new service is covered without touching this file.
//
// For every RPC, with an admin token (authentication comes first; bounds are
// then checked before anything else, so no role check hides them), sent as raw
// bytes over a GenericStub:
// - every id-like field (command::IsIdField) at any depth at 300 bytes and at
//   66 KB: INVALID_ARGUMENT "<path>: at most 256 bytes";
// - every page token at 4097 bytes, every other string at 64 KiB + 1:
//   INVALID_ARGUMENT "<path>: at most N bytes";
// - every repeated field at its bound + 1 items: INVALID_ARGUMENT "<path>: at
//   most N items";
// - every string field holding invalid UTF-8, and three kinds of garbage
//   bytes: INVALID_ARGUMENT "request: not a valid <request type> ...";
// and after each: the process is SERVING (grpc.health.v1), a normal call on the
// same channel succeeds, the channel stayed READY; at the end nothing was
// written (each store's last position, read with AdminService.Backup, is
// unchanged).
//
// And: RegisterCustomer with 100,000 contacts (and the same near the 4 MB
// message limit) is refused with INVALID_ARGUMENT naming `contacts`, quickly
// (the time is printed; the issue asks for < 100 ms, the assertion allows 1 s
// as the machine is shared).
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
#include "common/testing/eventually.h"
#include "common/testing/temp_dir.h"
#include "crm/admin/v1/admin_service.pb.h"
#include "crm/auth/grpc_auth.h"
#include "crm/classification/v1/classification_service.pb.h"
#include "crm/command/limits.h"
#include "crm/common/field_errors.h"
#include "crm/common/v1/bounds.pb.h"
#include "crm/customer/v1/customer_service.pb.h"
#include "crm/events/v1/event_log_service.pb.h"
#include "crm/interaction/v1/campaign_service.pb.h"
#include "crm/interaction/v1/churn_service.pb.h"
#include "crm/interaction/v1/interaction_service.pb.h"
#include "crm/interaction/v1/sales_service.pb.h"
#include "crm/runtime/log.h"
#include "crm/ticket/v1/ticket_service.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/rpc_catalog.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

using crm::testing::DevToken;
using crm::testing::ServiceProcess;
using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::MessageFactory;
using ::google::protobuf::Reflection;
using ::google::protobuf::ServiceDescriptor;

// ---------------------------------------------------------------------------
// Raw calls

using Reply = crm::testing::RawReply;
using crm::testing::Health;
using crm::testing::MethodPath;
using crm::testing::RawCall;

// ---------------------------------------------------------------------------
// Walking requests

// A field reachable from a request: the fields on the way (message fields; a
// repeated one is entered at its element 0) and the path as CheckBounds names it.
struct Slot {
  std::vector<const FieldDescriptor*> fields;
  std::string path;
  const FieldDescriptor& last() const { return *fields.back(); }
};

void Walk(const Descriptor& type, std::vector<const FieldDescriptor*>& on_the_way,
          const std::string& prefix, std::set<const Descriptor*>& open, std::vector<Slot>& out) {
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor* f = type.field(i);
    on_the_way.push_back(f);
    const std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    out.push_back({on_the_way, path});
    const Descriptor* sub = f->message_type();
    if (sub != nullptr && !absl::StartsWith(sub->full_name(), "google.protobuf.") &&
        open.insert(sub).second) {
      Walk(*sub, on_the_way, f->is_repeated() ? Indexed(path, 0) : path, open, out);
      open.erase(sub);
    }
    on_the_way.pop_back();
  }
}

std::vector<Slot> SlotsOf(const Descriptor& request) {
  std::vector<Slot> out;
  std::vector<const FieldDescriptor*> on_the_way;
  std::set<const Descriptor*> open = {&request};
  Walk(request, on_the_way, "", open, out);
  return out;
}

// A map entry's key, distinct per element (a map keeps one entry per key).
void SetKey(Message& entry, int n) {
  const FieldDescriptor* key = entry.GetDescriptor()->map_key();
  const Reflection& r = *entry.GetReflection();
  switch (key->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      r.SetString(&entry, key, absl::StrCat("k", n));
      break;
    case FieldDescriptor::CPPTYPE_INT32:
      r.SetInt32(&entry, key, n);
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      r.SetInt64(&entry, key, n);
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      r.SetUInt32(&entry, key, static_cast<uint32_t>(n));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      r.SetUInt64(&entry, key, static_cast<uint64_t>(n));
      break;
    default:
      ADD_FAILURE() << "map key type of " << entry.GetDescriptor()->full_name();
  }
}

// Adds one default element to a repeated field (the n-th).
void AddElement(Message& m, const FieldDescriptor& f, int n) {
  const Reflection& r = *m.GetReflection();
  switch (f.cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message* e = r.AddMessage(&m, &f);
      if (f.is_map()) SetKey(*e, n);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING:
      r.AddString(&m, &f, "x");
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      r.AddEnumValue(&m, &f, 0);
      break;
    case FieldDescriptor::CPPTYPE_INT32:
      r.AddInt32(&m, &f, 0);
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      r.AddInt64(&m, &f, 0);
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      r.AddUInt32(&m, &f, 0);
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      r.AddUInt64(&m, &f, 0);
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      r.AddDouble(&m, &f, 0);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      r.AddFloat(&m, &f, 0);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      r.AddBool(&m, &f, false);
      break;
  }
}

// A request of `type` with the fields on the way to `slot` present, and `set`
// applied to the message holding its last field.
template <typename Set>
std::string Build(const Descriptor& type, const Slot& slot, Set set) {
  std::unique_ptr<Message> request(MessageFactory::generated_factory()->GetPrototype(&type)->New());
  Message* m = request.get();
  for (size_t i = 0; i + 1 < slot.fields.size(); ++i) {
    const FieldDescriptor& f = *slot.fields[i];
    const Reflection& r = *m->GetReflection();
    if (f.is_repeated()) {
      Message* e = r.AddMessage(m, &f);
      if (f.is_map()) SetKey(*e, 0);
      m = e;
    } else {
      m = r.MutableMessage(m, &f);
    }
  }
  set(*m, slot.last());
  return request->SerializeAsString();
}

// The request with the slot's string field (or its element 0) set to `value`.
std::string WithString(const Descriptor& type, const Slot& slot, const std::string& value) {
  return Build(type, slot, [&](Message& m, const FieldDescriptor& f) {
    if (f.is_repeated()) {
      m.GetReflection()->AddString(&m, &f, value);
    } else {
      m.GetReflection()->SetString(&m, &f, value);
    }
  });
}

std::string ElementPath(const Slot& slot) {
  return slot.last().is_repeated() ? Indexed(slot.path, 0) : slot.path;
}

std::vector<const ServiceDescriptor*> ServicesOfTheSourceTree() {
  return crm::testing::ServicesOfTheSourceTree("bad_input_e2e_test");
}

// Every repeated field that a request of any RPC can carry declares its bound
// ([(crm.common.v1.max_items) = N] and "At most N." in its comment), so that
// none is left at the default by oversight.
TEST(RequestBoundsTest, EveryRepeatedFieldOfARequestDeclaresItsBound) {
  int repeated = 0;
  for (const ServiceDescriptor* service : ServicesOfTheSourceTree()) {
    for (int m = 0; m < service->method_count(); ++m) {
      const Descriptor& request = *service->method(m)->input_type();
      for (const Slot& slot : SlotsOf(request)) {
        if (!slot.last().is_repeated()) continue;
        ++repeated;
        EXPECT_GT(slot.last().options().GetExtension(common::v1::max_items), 0)
            << slot.last().full_name() << " (" << request.full_name() << "." << slot.path
            << ") has no (crm.common.v1.max_items)";
      }
    }
  }
  EXPECT_GT(repeated, 30);
}

// ---------------------------------------------------------------------------
// The suite

struct Process {
  std::string name;
  ServiceProcess* process;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  // A normal call that succeeds for an admin: method and request bytes.
  std::string probe_method;
  std::string probe_body;
};

class BadInputE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    runtime::SetLogLevel(runtime::LogLevel::kError);
    dir_ = new crm::testing::TempDir();
    broker_ = new messaging::testing::DevBroker(DEVBROKER_PATH, dir_->path());
    const std::string secret = std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE;
    const std::string kafka = "--kafka_brokers=" + broker_->bootstrap();
    const std::string root = dir_->path();
    customer_ =
        new ServiceProcess(CUSTOMER_PATH, {"--data_dir=" + root + "/customer", kafka, secret});
    const std::string customer_addr = "--customer_addr=" + customer_->grpc_address();
    interaction_ = new ServiceProcess(
        INTERACTION_PATH, {"--data_dir=" + root + "/interaction", kafka, secret, customer_addr});
    ticket_ = new ServiceProcess(TICKET_PATH,
                                 {"--data_dir=" + root + "/ticket", kafka, secret, customer_addr});
    classification_ = new ServiceProcess(CLASSIFICATION_PATH,
                                         {"--data_dir=" + root + "/classification", kafka, secret});
  }
  static void TearDownTestSuite() {
    for (ServiceProcess* p : {classification_, ticket_, interaction_, customer_}) {
      p->Stop();
      delete p;
    }
    delete broker_;
    delete dir_;
  }

  void SetUp() override {
    admin_ = DevToken("root", {"admin"}, "north");
    const auto add = [&](const std::string& name, ServiceProcess* p, const Message& probe,
                         const std::string& probe_method) {
      Process& proc = processes_.emplace_back();
      proc.name = name;
      proc.process = p;
      proc.channel = p->Channel();
      proc.stub = std::make_unique<grpc::GenericStub>(proc.channel);
      proc.probe_method = probe_method;
      proc.probe_body = probe.SerializeAsString();
    };
    add("crm-customer", customer_, customer::v1::ListCustomersRequest(),
        "/crm.customer.v1.CustomerService/ListCustomers");
    add("crm-interaction", interaction_, interaction::v1::ListCampaignsRequest(),
        "/crm.interaction.v1.CampaignService/ListCampaigns");
    add("crm-ticket", ticket_, ticket::v1::GetSlaConfigRequest(),
        "/crm.ticket.v1.TicketService/GetSlaConfig");
    add("crm-classification", classification_, classification::v1::GetRuleSetRequest(),
        "/crm.classification.v1.ClassificationService/GetRuleSet");
    for (Process& p : processes_) {
      Reply r = RawCall(*p.stub, p.probe_method, p.probe_body, admin_);
      ASSERT_TRUE(r.status.ok()) << p.name << " " << p.probe_method << ": "
                                 << r.status.error_message();
    }
  }

  // The store's last position, from a checkpoint (AdminService.Backup).
  uint64_t LastPosition(Process& p) {
    admin::v1::BackupRequest req;
    req.set_target_dir(absl::StrCat(dir_->path(), "/backup-", p.name, "-", ++backups_));
    Reply r =
        RawCall(*p.stub, "/crm.admin.v1.AdminService/Backup", req.SerializeAsString(), admin_);
    EXPECT_TRUE(r.status.ok()) << p.name << ": " << r.status.error_message();
    admin::v1::BackupResponse resp;
    EXPECT_TRUE(resp.ParseFromString(r.body));
    return resp.last_position();
  }

  // After a refused call: still serving, and a normal call on the same channel works.
  void ExpectStillServing(Process& p, const std::string& what) {
    EXPECT_EQ(Health(*p.stub, ""), "SERVING") << p.name << " after " << what;
    Reply r = RawCall(*p.stub, p.probe_method, p.probe_body, admin_);
    EXPECT_TRUE(r.status.ok()) << p.name << " after " << what << ": " << r.status.error_code()
                               << " " << r.status.error_message();
    EXPECT_EQ(p.channel->GetState(false), GRPC_CHANNEL_READY) << p.name << " after " << what;
  }

  // Every crm service of the source tree, each with the process(es) serving it.
  std::vector<std::pair<const ServiceDescriptor*, Process*>> Services() {
    std::vector<std::pair<const ServiceDescriptor*, Process*>> out;
    for (const ServiceDescriptor* service : ServicesOfTheSourceTree()) {
      int served_by = 0;
      for (Process& p : processes_) {
        if (Health(*p.stub, service->full_name()) == "SERVING") {
          out.emplace_back(service, &p);
          ++served_by;
        }
      }
      EXPECT_GE(served_by, 1) << service->full_name() << " is served by no process";
    }
    return out;
  }

  static crm::testing::TempDir* dir_;
  static messaging::testing::DevBroker* broker_;
  static ServiceProcess* customer_;
  static ServiceProcess* interaction_;
  static ServiceProcess* ticket_;
  static ServiceProcess* classification_;
  std::vector<Process> processes_;
  std::string admin_;
  static int backups_;
};

crm::testing::TempDir* BadInputE2eTest::dir_ = nullptr;
messaging::testing::DevBroker* BadInputE2eTest::broker_ = nullptr;
ServiceProcess* BadInputE2eTest::customer_ = nullptr;
ServiceProcess* BadInputE2eTest::interaction_ = nullptr;
ServiceProcess* BadInputE2eTest::ticket_ = nullptr;
ServiceProcess* BadInputE2eTest::classification_ = nullptr;
int BadInputE2eTest::backups_ = 0;

// One row of the table: what is sent and what must come back.
struct Case {
  std::string kind;  // "oversize id"
  std::string what;  // "oversize id options.command_id (300 bytes)"
  std::string body;
  std::string message;        // the exact message expected, or
  std::string message_start;  // its beginning
};

bool IsString(const FieldDescriptor& f) { return f.type() == FieldDescriptor::TYPE_STRING; }

// Every case of the table for one request type.
std::vector<Case> CasesFor(const Descriptor& type) {
  const command::Limits limits;
  std::vector<Case> cases;
  const std::string unparsable = absl::StrCat("request: not a valid ", type.full_name(), " (");
  for (const Slot& slot : SlotsOf(type)) {
    const FieldDescriptor& f = slot.last();
    if (f.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      const bool id = command::IsIdField(f);
      const bool token = !id && absl::EndsWith(f.name(), "_token");
      const size_t max = id      ? limits.max_id_bytes
                         : token ? limits.max_token_bytes
                                 : limits.max_string_bytes;
      const std::string expected = absl::StrCat(ElementPath(slot), ": at most ", max, " bytes");
      const char* kind = id ? "id" : token ? "page token" : "string";
      std::vector<size_t> sizes = {max + 1};
      if (id) sizes = {300, 66 << 10};
      for (size_t size : sizes) {
        cases.push_back({absl::StrCat("oversize ", kind),
                         absl::StrCat("oversize ", kind, " ", slot.path, " (", size, " bytes)"),
                         WithString(type, slot, std::string(size, 'a')), expected, ""});
      }
      if (IsString(f)) {
        // Same length as the placeholder, so no length prefix changes.
        const std::string placeholder = "PLACEHOLDER-7f3a";
        std::string body = WithString(type, slot, placeholder);
        const size_t at = body.find(placeholder);
        body.replace(at, placeholder.size(),
                     std::string("\xc3\x28", 2) + std::string(13, 'x') + "\xff");
        cases.push_back({"invalid UTF-8", "invalid UTF-8 in " + slot.path, body, "", unparsable});
      }
    }
    if (f.is_repeated()) {
      const size_t max = command::MaxItems(f, limits);
      std::string body = Build(type, slot, [&](Message& m, const FieldDescriptor& field) {
        for (size_t i = 0; i <= max; ++i) AddElement(m, field, static_cast<int>(i));
      });
      cases.push_back({"oversize repeated",
                       absl::StrCat("oversize repeated ", slot.path, " (", max + 1, " items)"),
                       body, absl::StrCat(slot.path, ": at most ", max, " items"), ""});
    }
  }
  // Garbage: an invalid wire type; a length running past the end; a varint of
  // eleven bytes.
  cases.push_back({"garbage", "garbage (wire type 6)", "not a protobuf message", "", unparsable});
  cases.push_back({"garbage", "garbage (truncated)",
                   std::string("\x0a\x7f"
                               "abc",
                               5),
                   "", unparsable});
  cases.push_back({"garbage", "garbage (endless varint)", std::string(11, '\xff'), "", unparsable});
  return cases;
}

TEST_F(BadInputE2eTest, EveryRpcRefusesBadInputWithItsCodeKeepsServingAndWritesNothing) {
  std::map<std::string, uint64_t> before;
  for (Process& p : processes_) before[p.name] = LastPosition(p);

  int rpcs = 0, cases = 0;
  std::map<std::string, int> per_kind;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& [service, process] : Services()) {
    for (int m = 0; m < service->method_count(); ++m) {
      const google::protobuf::MethodDescriptor& method = *service->method(m);
      ++rpcs;
      for (const Case& c : CasesFor(*method.input_type())) {
        ++cases;
        ++per_kind[c.kind];
        const std::string where =
            absl::StrCat(process->name, " ", method.full_name(), ": ", c.what);
        Reply r = RawCall(*process->stub, MethodPath(method), c.body, admin_);
        EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
            << where << " → " << r.status.error_message();
        if (!c.message.empty()) {
          EXPECT_EQ(r.status.error_message(), c.message) << where;
        } else {
          EXPECT_TRUE(absl::StartsWith(r.status.error_message(), c.message_start))
              << where << " → " << r.status.error_message();
        }
        ExpectStillServing(*process, where);
        if (::testing::Test::HasFailure()) return;  // one clear failure, not thousands
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d RPCs, %d bad requests in %.1f s:", rpcs, cases, seconds);
  for (const auto& [kind, n] : per_kind) std::printf(" %s %d;", kind.c_str(), n);
  std::printf("\n");
  EXPECT_GE(rpcs, 90);

  for (Process& p : processes_) {
    EXPECT_EQ(LastPosition(p), before[p.name]) << p.name << " wrote something";
  }
}

// Authentication comes before the bounds: an oversize id without a valid token
// is UNAUTHENTICATED, and says nothing about the request.
TEST_F(BadInputE2eTest, AnOversizeIdWithoutAValidTokenIsUnauthenticated) {
  customer::v1::GetCustomerRequest get;
  get.set_customer_id(std::string(66 << 10, 'c'));
  for (const std::string& token : {std::string(), std::string("not-a-jwt")}) {
    Reply r = RawCall(*processes_[0].stub, "/crm.customer.v1.CustomerService/GetCustomer",
                      get.SerializeAsString(), token);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << r.status.error_message();
    ExpectStillServing(processes_[0], "an unauthenticated oversize id");
  }
}

// An 8 KB customer id given to crm-ticket and crm-interaction is refused there,
// before they would look the customer up in crm-customer.
TEST_F(BadInputE2eTest, AnOversizeCustomerIdIsRefusedBeforeAnyLookup) {
  ticket::v1::OpenTicketRequest open;
  open.set_customer_id(std::string(8 << 10, 'c'));
  open.set_subject("s");
  Reply r = RawCall(*processes_[2].stub, "/crm.ticket.v1.TicketService/OpenTicket",
                    open.SerializeAsString(), admin_);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r.status.error_message(), "customer_id: at most 256 bytes");
}

// RegisterCustomer with 100,000 contacts, and with 100,000 contacts that make the
// message nearly 4 MB: refused at once, naming the field.
TEST_F(BadInputE2eTest, HundredThousandContactsAreRefusedAtOnce) {
  const std::string sales = DevToken("alice", {"sales_rep"}, "north");
  for (size_t name_bytes : {size_t{1}, size_t{28}}) {
    customer::v1::RegisterCustomerRequest reg;
    reg.mutable_basic()->set_name("Many Contacts Ltd");
    for (int i = 0; i < 100000; ++i) {
      reg.add_contacts()->mutable_personal()->set_name(std::string(name_bytes, 'n'));
    }
    const std::string body = reg.SerializeAsString();
    ASSERT_LT(body.size(), 4u << 20);
    double best_ms = 1e9;
    for (int round = 0; round < 3; ++round) {
      const auto start = std::chrono::steady_clock::now();
      Reply r = RawCall(*processes_[0].stub, "/crm.customer.v1.CustomerService/RegisterCustomer",
                        body, sales);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      best_ms = std::min(best_ms, ms);
      EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_EQ(r.status.error_message(), "contacts: at most 100 items");
    }
    std::printf(
        "RegisterCustomer with 100000 contacts (%zu bytes) refused in %.1f ms "
        "(best of 3, client-side, over loopback)\n",
        body.size(), best_ms);
    EXPECT_LT(best_ms, 1000.0);
    ExpectStillServing(processes_[0], "100000 contacts");
  }
}

// Page tokens of one list given to another list, by another caller, or altered:
// INVALID_ARGUMENT "page_token: not a token of this list" on every RPC that
// takes a page token, the process keeps serving and nothing is written. Runs
// last: it writes the data that makes the tokens.
TEST_F(BadInputE2eTest, ForeignAndAlteredPageTokensAreRefusedEverywhere) {
  Process& customers = processes_[0];
  Process& interactions = processes_[1];
  Process& tickets = processes_[2];
  const auto call = [&](Process& p, const std::string& method, const Message& req, Message* resp,
                        const std::string& token) {
    Reply r = RawCall(*p.stub, method, req.SerializeAsString(), token);
    if (r.status.ok() && resp != nullptr) {
      EXPECT_TRUE(resp->ParseFromString(r.body));
    }
    return r.status;
  };

  // Two customers, two tickets, an opportunity and a campaign.
  std::vector<std::string> ids;
  for (const char* name : {"Token Works A", "Token Works B"}) {
    customer::v1::RegisterCustomerRequest reg;
    reg.mutable_basic()->set_name(name);
    reg.set_region("north");
    customer::v1::RegisterCustomerResponse registered;
    grpc::Status s = call(customers, "/crm.customer.v1.CustomerService/RegisterCustomer", reg,
                          &registered, admin_);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ids.push_back(registered.customer_id());
  }
  for (int i = 0; i < 2; ++i) {
    ticket::v1::OpenTicketRequest open;
    open.set_customer_id(ids[0]);
    open.set_type(ticket::v1::TICKET_TYPE_COMPLAINT);
    open.set_channel(ticket::v1::TICKET_CHANNEL_PHONE);
    open.set_priority(ticket::v1::PRIORITY_NORMAL);
    open.set_subject(absl::StrCat("late delivery ", i));
    grpc::Status s =
        call(tickets, "/crm.ticket.v1.TicketService/OpenTicket", open, nullptr, admin_);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  interaction::v1::CreateOpportunityRequest create;
  create.set_customer_id(ids[0]);
  create.mutable_details()->set_title("Retrofit");
  create.mutable_details()->set_source(interaction::v1::OPPORTUNITY_SOURCE_EXHIBITION);
  create.mutable_details()->mutable_expected_amount()->set_currency_code("CNY");
  create.mutable_details()->mutable_expected_amount()->set_amount_minor(100'000);
  create.mutable_details()->set_expected_close_date(
      absl::FormatTime("%Y-%m-%d", absl::Now() + absl::Hours(24 * 30), absl::UTCTimeZone()));
  interaction::v1::CreateOpportunityResponse opportunity;
  ASSERT_TRUE(crm::testing::Eventually([&] {
    return call(interactions, "/crm.interaction.v1.SalesService/CreateOpportunity", create,
                &opportunity, admin_)
        .ok();
  }));
  interaction::v1::PlanCampaignRequest plan;
  plan.mutable_details()->set_name("Token seminar");
  plan.mutable_details()->set_type(interaction::v1::CAMPAIGN_TYPE_SEMINAR);
  const std::string today = absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  plan.mutable_details()->set_start_date(today);
  plan.mutable_details()->set_end_date(today);
  plan.mutable_details()->mutable_budget()->set_currency_code("CNY");
  plan.mutable_details()->mutable_budget()->set_amount_minor(100'000);
  plan.mutable_selection()->add_regions("north");
  interaction::v1::PlanCampaignResponse campaign;
  grpc::Status planned = call(interactions, "/crm.interaction.v1.CampaignService/PlanCampaign",
                              plan, &campaign, admin_);
  ASSERT_TRUE(planned.ok()) << planned.error_message();

  // Real tokens: page 1 of the customers and of the tickets, one row a page.
  customer::v1::ListCustomersRequest list_customers;
  list_customers.set_page_size(1);
  customer::v1::ListCustomersResponse customer_page;
  ASSERT_TRUE(call(customers, "/crm.customer.v1.CustomerService/ListCustomers", list_customers,
                   &customer_page, admin_)
                  .ok());
  ticket::v1::ListTicketsRequest list_tickets;
  list_tickets.set_page_size(1);
  ticket::v1::ListTicketsResponse ticket_page;
  ASSERT_TRUE(
      call(tickets, "/crm.ticket.v1.TicketService/ListTickets", list_tickets, &ticket_page, admin_)
          .ok());
  const std::string customer_token = customer_page.next_page_token();
  const std::string ticket_token = ticket_page.next_page_token();
  ASSERT_FALSE(customer_token.empty());
  ASSERT_FALSE(ticket_token.empty());
  std::string altered = customer_token;
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  // Each still opens where it was made.
  list_customers.set_page_token(customer_token);
  EXPECT_TRUE(call(customers, "/crm.customer.v1.CustomerService/ListCustomers", list_customers,
                   nullptr, admin_)
                  .ok());

  // crm-classification has the customer (its history exists).
  classification::v1::GetClassificationHistoryRequest history;
  history.set_customer_id(ids[0]);
  ASSERT_TRUE(crm::testing::Eventually([&] {
    return call(processes_[3],
                "/crm.classification.v1.ClassificationService/GetClassificationHistory", history,
                nullptr, admin_)
        .ok();
  }));

  // Settled: the writes above have been consumed wherever they go.
  std::map<std::string, uint64_t> before;
  ASSERT_TRUE(crm::testing::Eventually(
      [&] {
        std::map<std::string, uint64_t> now;
        for (Process& p : processes_) now[p.name] = LastPosition(p);
        const bool same = now == before;
        before = now;
        if (!same) absl::SleepFor(absl::Seconds(1));
        return same;
      },
      absl::Seconds(60)));

  const std::string refused = "page_token: not a token of this list";
  // Another caller's token on the very list that made it.
  const std::string alice = DevToken("alice", {"sales_rep"}, "north");
  grpc::Status s = call(customers, "/crm.customer.v1.CustomerService/ListCustomers", list_customers,
                        nullptr, alice);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), refused) << "another caller's token";

  // The ids a request may need to reach its token check: the entities above.
  const std::map<std::string, std::string> id_for = {
      {"customer_id", ids[0]},
      {"opportunity_id", opportunity.opportunity_id()},
      {"campaign_id", campaign.campaign_id()},
      {"case_id", "no-such-case"}};
  int checked = 0;
  for (const auto& [service, process] : Services()) {
    for (int m = 0; m < service->method_count(); ++m) {
      const google::protobuf::MethodDescriptor& method = *service->method(m);
      const Descriptor& type = *method.input_type();
      const FieldDescriptor* token_field = type.FindFieldByName("page_token");
      if (token_field == nullptr) continue;
      for (const auto& [name, token] :
           std::vector<std::pair<std::string, std::string>>{{"customers' token", customer_token},
                                                            {"tickets' token", ticket_token},
                                                            {"altered token", altered}}) {
        if (method.name() == "ListCustomers" && token == customer_token) continue;
        if (method.name() == "ListTickets" && token == ticket_token) continue;
        std::unique_ptr<Message> req(
            MessageFactory::generated_factory()->GetPrototype(&type)->New());
        for (const auto& [field, id] : id_for) {
          const FieldDescriptor* f = type.FindFieldByName(field);
          if (f != nullptr && IsString(*f) && !f->is_repeated()) {
            req->GetReflection()->SetString(req.get(), f, id);
          }
        }
        req->GetReflection()->SetString(req.get(), token_field, token);
        const std::string where = absl::StrCat(method.full_name(), " with the ", name);
        Reply r = RawCall(*process->stub, MethodPath(method), req->SerializeAsString(), admin_);
        ++checked;
        // A churn case history needs a case this test cannot make: its access
        // check (the case exists and may be seen) comes first.
        if (type.FindFieldByName("case_id") != nullptr) {
          EXPECT_EQ(r.status.error_code(), grpc::StatusCode::NOT_FOUND) << where;
        } else {
          EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
              << where << " → " << r.status.error_message();
          EXPECT_EQ(r.status.error_message(), refused) << where;
        }
        ExpectStillServing(*process, where);
      }
    }
  }
  std::printf("%d calls with a foreign or altered page token\n", checked);
  EXPECT_GE(checked, 30);
  for (Process& p : processes_) {
    EXPECT_EQ(LastPosition(p), before[p.name]) << p.name << " wrote something";
  }
}

}  // namespace
}  // namespace crm
