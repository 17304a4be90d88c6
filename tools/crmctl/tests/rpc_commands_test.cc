// The RPC command groups of crm-interaction's sales, churn and campaign services,
// driven like main.cc drives them but against mock stubs (RpcEnv::stub_factory):
// every RPC of each service has exactly one subcommand; every field a caller sets
// in a request has a flag, and every flag names a real field; the requests the
// flags build (enums by short name, money in major units, repeated and
// SCHEME:CLASS flags); usage and call errors with their exit codes; the text forms.
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "campaign_command.h"
#include "churn_command.h"
#include "common/testing/proto_testing.h"
#include "crm/interaction/v1/campaign_service_mock.grpc.pb.h"
#include "crm/interaction/v1/churn_service_mock.grpc.pb.h"
#include "crm/interaction/v1/sales_service_mock.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"
#include "rpc_command.h"
#include "run_crmctl.h"
#include "sales_command.h"

namespace crm::crmctl {
namespace {

namespace pb = google::protobuf;
namespace v1 = crm::interaction::v1;
using ::crm::testing::EqualsProto;
using ::crm::testing::TextProto;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::Not;

// What the mock stubs saw, and what they answer.
struct Calls {
  std::vector<std::string> methods;       // every RPC called, in order
  std::unique_ptr<pb::Message> request;   // the last request
  std::unique_ptr<pb::Message> response;  // copied into the response of its type
  grpc::Status status;                    // returned by every call
};

// The action of every mocked RPC: record the call, answer with `calls->response`.
auto Record(std::shared_ptr<Calls> calls, std::string method) {
  return [calls, method](grpc::ClientContext*, const auto& request, auto* response) {
    calls->methods.push_back(method);
    calls->request.reset(request.New());
    calls->request->CopyFrom(request);
    if (calls->response != nullptr &&
        calls->response->GetDescriptor() == response->GetDescriptor()) {
      response->CopyFrom(*calls->response);
    }
    return calls->status;
  };
}

#define RECORD(Method) ON_CALL(stub, Method).WillByDefault(Record(calls, #Method))

void RecordAll(v1::MockSalesServiceStub& stub, const std::shared_ptr<Calls>& calls) {
  RECORD(CreateOpportunity);
  RECORD(UpdateOpportunity);
  RECORD(AssignOpportunity);
  RECORD(MoveOpportunityStage);
  RECORD(SetOpportunityProbability);
  RECORD(WinOpportunity);
  RECORD(LoseOpportunity);
  RECORD(ReopenOpportunity);
  RECORD(AddPlanStep);
  RECORD(CompletePlanStep);
  RECORD(GetOpportunity);
  RECORD(GetOpportunityHistory);
  RECORD(ListOpportunities);
  RECORD(ListOverduePlanSteps);
  RECORD(GetPipelineReport);
}

void RecordAll(v1::MockChurnServiceStub& stub, const std::shared_ptr<Calls>& calls) {
  RECORD(RecordRetentionMeasure);
  RECORD(PostponeChurn);
  RECORD(RetainChurnCase);
  RECORD(ConfirmChurn);
  RECORD(GetChurnCase);
  RECORD(GetChurnCaseHistory);
  RECORD(ListChurnCases);
  RECORD(GetChurnReport);
}

void RecordAll(v1::MockCampaignServiceStub& stub, const std::shared_ptr<Calls>& calls) {
  RECORD(PlanCampaign);
  RECORD(UpdateCampaign);
  RECORD(StartCampaign);
  RECORD(RecordCampaignCost);
  RECORD(RecordCampaignInvitations);
  RECORD(RecordCampaignResponse);
  RECORD(RecordCampaignAttendance);
  RECORD(RecordCampaignOutcome);
  RECORD(CloseCampaign);
  RECORD(GetCampaign);
  RECORD(GetCampaignHistory);
  RECORD(ListCampaigns);
  RECORD(ListCampaignTargets);
  RECORD(GetCampaignReport);
}

#undef RECORD

// One command group (`crmctl <group> ...`) over a mock of its service.
template <typename Service, typename Mock>
class Group {
 public:
  using Env = RpcEnv<Service>;
  using Adder = void (*)(CLI::App&, std::shared_ptr<const Env>);

  Group(std::string name, Adder add) : name_(std::move(name)), add_(add) {
    env_->out = &out_;
    env_->err = &err_;
    env_->stub_factory = [calls = calls_](const ClientOptions&)
        -> absl::StatusOr<std::unique_ptr<typename Service::StubInterface>> {
      auto stub = std::make_unique<NiceMock<Mock>>();
      RecordAll(*stub, calls);
      return std::unique_ptr<typename Service::StubInterface>(std::move(stub));
    };
  }

  const std::string& name() const { return name_; }
  const pb::ServiceDescriptor& service() const {
    return *pb::DescriptorPool::generated_pool()->FindServiceByName(Service::service_full_name());
  }
  Calls& calls() { return *calls_; }
  std::string out() const { return out_.str(); }
  std::string err() const { return err_.str(); }

  // Runs `crmctl <group> <args...>` as main.cc does; returns the exit code.
  int Run(const std::vector<std::string>& args) {
    out_.str("");
    err_.str("");
    calls_->methods.clear();
    calls_->request.reset();
    std::vector<std::string> argv = {"crmctl", name_};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--token=t");
    return RunCrmctl([this](CLI::App& app) { add_(app, env_); }, argv, out_, err_);
  }

  // The last request, as a T (a failure when none or of another type).
  template <typename T>
  T Request() {
    T request;
    if (calls_->request == nullptr) {
      ADD_FAILURE() << "no RPC was called";
    } else if (calls_->request->GetDescriptor() != T::descriptor()) {
      ADD_FAILURE() << "called with " << calls_->request->GetDescriptor()->full_name();
    } else {
      request.CopyFrom(*calls_->request);
    }
    return request;
  }

  // The names of the group's subcommands, and each one's options.
  std::map<std::string, std::vector<const CLI::Option*>> Subcommands() {
    apps_.push_back(std::make_unique<CLI::App>("crmctl"));
    add_(*apps_.back(), env_);
    std::map<std::string, std::vector<const CLI::Option*>> result;
    for (const CLI::App* sub : apps_.back()->get_subcommand(name_)->get_subcommands({})) {
      result[sub->get_name()] = sub->get_options();
    }
    return result;
  }

 private:
  std::string name_;
  Adder add_;
  std::shared_ptr<Env> env_ = std::make_shared<Env>();
  std::shared_ptr<Calls> calls_ = std::make_shared<Calls>();
  std::ostringstream out_, err_;
  std::vector<std::unique_ptr<CLI::App>> apps_;  // keep the options alive
};

using SalesGroup = Group<v1::SalesService, v1::MockSalesServiceStub>;
using ChurnGroup = Group<v1::ChurnService, v1::MockChurnServiceStub>;
using CampaignGroup = Group<v1::CampaignService, v1::MockCampaignServiceStub>;

SalesGroup Sales() { return SalesGroup("sales", &AddSalesCommands); }
ChurnGroup Churn() { return ChurnGroup("churn", &AddChurnCommands); }
CampaignGroup Campaign() { return CampaignGroup("campaign", &AddCampaignCommands); }

// ------------------------------------------- one subcommand per RPC, every field

// Fields of a request the service sets itself: no flag (--json still reaches them).
const std::set<std::string> kSetByService = {"measure.measure_id",  "measure.recorded_by",
                                             "measure.recorded_at", "cost.cost_id",
                                             "cost.recorded_by",    "cost.recorded_at"};

// Creates: there is no version to expect yet, so no --expected_version.
const std::set<std::string> kCreates = {"create-opportunity", "plan"};

// The request field path of a flag: its help ends with "[path]" (then maybe
// " (default ...)"); "" for options that set no field (--addr, --json, ...).
std::string PathOf(const CLI::Option& option) {
  if (option.get_group() != "Request" && option.get_group() != "Write") return "";
  const std::string& help = option.get_description();
  const size_t open = help.rfind('[');
  const size_t close = help.find(']', open);
  if (open == std::string::npos || close == std::string::npos) return "";
  return help.substr(open + 1, close - open - 1);
}

// The field at dotted `path` of `type`, or nullptr.
const pb::FieldDescriptor* FieldAt(const pb::Descriptor& type, const std::string& path) {
  const pb::Descriptor* current = &type;
  const pb::FieldDescriptor* field = nullptr;
  std::stringstream parts(path);
  for (std::string part; std::getline(parts, part, '.');) {
    if (current == nullptr) return nullptr;
    field = current->FindFieldByName(part);
    if (field == nullptr) return nullptr;
    current = field->is_repeated() ? nullptr : field->message_type();
  }
  return field;
}

// The paths of the fields a caller sets: the leaves of the request, a repeated
// field or a timestamp counting as a leaf.
void Leaves(const pb::Descriptor& type, const std::string& prefix, std::vector<std::string>& out) {
  for (int i = 0; i < type.field_count(); ++i) {
    const pb::FieldDescriptor* field = type.field(i);
    const std::string path = prefix + field->name();
    if (field->message_type() != nullptr && !field->is_repeated() &&
        field->message_type() != pb::Timestamp::descriptor()) {
      Leaves(*field->message_type(), path + ".", out);
    } else {
      out.push_back(path);
    }
  }
}

template <typename G>
void ExpectOneSubcommandPerRpcAndAFlagPerField(G group) {
  SCOPED_TRACE("crmctl " + group.name());
  const pb::ServiceDescriptor& service = group.service();
  std::map<std::string, std::string> subcommand_of;  // RPC -> subcommand
  const auto subcommands = group.Subcommands();
  for (const auto& [name, options] : subcommands) {
    SCOPED_TRACE(name);
    ASSERT_EQ(group.Run({name}), kExitOk) << group.err();
    ASSERT_EQ(group.calls().methods.size(), 1u) << "one RPC per subcommand";
    const std::string& method = group.calls().methods[0];
    EXPECT_FALSE(subcommand_of.contains(method))
        << method << " has two subcommands: " << subcommand_of[method] << " and " << name;
    subcommand_of[method] = name;

    const pb::MethodDescriptor* rpc = service.FindMethodByName(method);
    ASSERT_NE(rpc, nullptr) << method;
    const pb::Descriptor& request = *rpc->input_type();
    std::set<std::string> paths;
    for (const CLI::Option* option : options) {
      const std::string path = PathOf(*option);
      if (path.empty()) continue;
      EXPECT_NE(FieldAt(request, path), nullptr)
          << option->get_name() << " sets " << path << ", which " << request.full_name()
          << " does not have";
      paths.insert(path);
    }
    std::vector<std::string> leaves;
    Leaves(request, "", leaves);
    for (const std::string& leaf : leaves) {
      if (kSetByService.contains(leaf)) continue;
      if (leaf == "options.expected_version" && kCreates.contains(name)) continue;
      EXPECT_TRUE(paths.contains(leaf)) << request.full_name() << "." << leaf << " has no flag";
    }
  }
  EXPECT_EQ(subcommands.size(), static_cast<size_t>(service.method_count()));
  for (int i = 0; i < service.method_count(); ++i) {
    EXPECT_TRUE(subcommand_of.contains(service.method(i)->name()))
        << service.method(i)->full_name() << " has no subcommand";
  }
}

TEST(RpcCommandsTest, SalesHasOneSubcommandPerRpcAndAFlagPerField) {
  ExpectOneSubcommandPerRpcAndAFlagPerField(Sales());
}

TEST(RpcCommandsTest, ChurnHasOneSubcommandPerRpcAndAFlagPerField) {
  ExpectOneSubcommandPerRpcAndAFlagPerField(Churn());
}

TEST(RpcCommandsTest, CampaignHasOneSubcommandPerRpcAndAFlagPerField) {
  ExpectOneSubcommandPerRpcAndAFlagPerField(Campaign());
}

// ------------------------------------------------------------------- requests

TEST(RpcCommandsTest, SalesWinTakesMoneyInMajorUnits) {
  SalesGroup sales = Sales();
  ASSERT_EQ(
      sales.Run({"win", "--id=o1", "--amount=240000.50", "--currency=CNY", "--expected_version=4"}),
      kExitOk)
      << sales.err();
  EXPECT_THAT(sales.Request<v1::WinOpportunityRequest>(),
              EqualsProto(TextProto<v1::WinOpportunityRequest>(R"pb(
                options { expected_version: 4 }
                opportunity_id: "o1"
                final_amount { currency_code: "CNY" amount_minor: 24000050 }
              )pb")));
}

TEST(RpcCommandsTest, ChurnMeasure) {
  ChurnGroup churn = Churn();
  ASSERT_EQ(churn.Run({"measure", "--id=k1", "--action=Visited the plant manager",
                       "--taken_on=2026-12-02", "--taken_by=bob", "--interaction_id=i7",
                       "--command_id=cmd-1", "--expected_version=2"}),
            kExitOk)
      << churn.err();
  EXPECT_THAT(churn.Request<v1::RecordRetentionMeasureRequest>(),
              EqualsProto(TextProto<v1::RecordRetentionMeasureRequest>(R"pb(
                options { expected_version: 2 command_id: "cmd-1" }
                case_id: "k1"
                measure {
                  action: "Visited the plant manager"
                  taken_on: "2026-12-02"
                  taken_by: "bob"
                  interaction_id: "i7"
                }
              )pb")));
}

TEST(RpcCommandsTest, ChurnPostponeRetainConfirm) {
  ChurnGroup churn = Churn();
  ASSERT_EQ(churn.Run({"postpone", "--id=k1", "--review_date=2027-01-15", "--note=budget"}),
            kExitOk);
  EXPECT_THAT(churn.Request<v1::PostponeChurnRequest>(),
              EqualsProto(TextProto<v1::PostponeChurnRequest>(R"pb(case_id: "k1"
                                                                   review_date: "2027-01-15"
                                                                   note: "budget")pb")));

  ASSERT_EQ(churn.Run({"retain", "--id=k1", "--note=signed again"}), kExitOk);
  EXPECT_THAT(churn.Request<v1::RetainChurnCaseRequest>(),
              EqualsProto(TextProto<v1::RetainChurnCaseRequest>(R"pb(case_id: "k1"
                                                                     note: "signed again")pb")));

  ASSERT_EQ(churn.Run({"confirm", "--id=k1", "--reason=competitor", "--note=gone"}), kExitOk);
  EXPECT_THAT(churn.Request<v1::ConfirmChurnRequest>(),
              EqualsProto(TextProto<v1::ConfirmChurnRequest>(R"pb(case_id: "k1"
                                                                  reason:
                                                                      CHURN_LOSS_REASON_COMPETITOR
                                                                  note: "gone")pb")));

  ASSERT_EQ(churn.Run({"confirm", "--id=k1", "--reason", "service-quality"}), kExitOk);
  EXPECT_EQ(churn.Request<v1::ConfirmChurnRequest>().reason(),
            v1::CHURN_LOSS_REASON_SERVICE_QUALITY);

  ASSERT_EQ(churn.Run({"confirm", "--id=k1", "--reason=other", "--reason_text=merged"}), kExitOk);
  EXPECT_THAT(churn.Request<v1::ConfirmChurnRequest>(),
              EqualsProto(TextProto<v1::ConfirmChurnRequest>(R"pb(case_id: "k1"
                                                                  reason: CHURN_LOSS_REASON_OTHER
                                                                  reason_text: "merged")pb")));
}

TEST(RpcCommandsTest, ChurnReads) {
  ChurnGroup churn = Churn();
  ASSERT_EQ(churn.Run({"get", "--id=k1", "--as_of=2026-12-31"}), kExitOk);
  EXPECT_THAT(
      churn.Request<v1::GetChurnCaseRequest>(),
      EqualsProto(TextProto<v1::GetChurnCaseRequest>(R"pb(case_id: "k1"
                                                          as_of { seconds: 1798675200 })pb")));

  ASSERT_EQ(churn.Run({"history", "--id=k1", "--page_size=10", "--page_token=p"}), kExitOk);
  EXPECT_THAT(churn.Request<v1::GetChurnCaseHistoryRequest>(),
              EqualsProto(TextProto<v1::GetChurnCaseHistoryRequest>(R"pb(case_id: "k1"
                                                                         page_size: 10
                                                                         page_token: "p")pb")));

  ASSERT_EQ(churn.Run({"list", "--owner=alice", "--region=north", "--customer_id=c1",
                       "--status=open", "--overdue_only", "--page_size=5"}),
            kExitOk);
  EXPECT_THAT(churn.Request<v1::ListChurnCasesRequest>(),
              EqualsProto(TextProto<v1::ListChurnCasesRequest>(R"pb(
                customer_id: "c1"
                owner: "alice"
                region: "north"
                status: CHURN_CASE_STATUS_OPEN
                overdue_only: true
                page_size: 5
              )pb")));

  ASSERT_EQ(churn.Run({"report", "--period_from=2026-10-01", "--period_to=2026-12-31",
                       "--owner=alice", "--region=north", "--scheme=large-account"}),
            kExitOk);
  EXPECT_THAT(churn.Request<v1::GetChurnReportRequest>(),
              EqualsProto(TextProto<v1::GetChurnReportRequest>(R"pb(
                period_from: "2026-10-01"
                period_to: "2026-12-31"
                owner: "alice"
                region: "north"
                scheme: SCHEME_LARGE_ACCOUNT
              )pb")));
}

TEST(RpcCommandsTest, CampaignPlanWithEverySelectionFilter) {
  CampaignGroup campaign = Campaign();
  ASSERT_EQ(campaign.Run({"plan", "--name=Spring seminar", "--type=seminar",
                          "--start_date=2027-03-01", "--end_date=2027-03-02", "--budget=50000.5",
                          "--currency=CNY", "--description=Automation", "--class=abcd:A", "--class",
                          "large_account:strategic", "--region=north,south", "--region=east",
                          "--industry=manufacturing", "--lifecycle=following,cooperating",
                          "--customer=c1", "--customer=c2", "--owner=bob", "--command_id=plan-1"}),
            kExitOk)
      << campaign.err();
  EXPECT_THAT(campaign.Request<v1::PlanCampaignRequest>(),
              EqualsProto(TextProto<v1::PlanCampaignRequest>(R"pb(
                options { command_id: "plan-1" }
                details {
                  name: "Spring seminar"
                  type: CAMPAIGN_TYPE_SEMINAR
                  start_date: "2027-03-01"
                  end_date: "2027-03-02"
                  budget { currency_code: "CNY" amount_minor: 5000050 }
                  description: "Automation"
                }
                selection {
                  classes { scheme: SCHEME_ABCD class_name: "A" }
                  classes { scheme: SCHEME_LARGE_ACCOUNT class_name: "strategic" }
                  regions: [ "north", "south", "east" ]
                  industries: "manufacturing"
                  lifecycles: [ LIFECYCLE_FOLLOWING, LIFECYCLE_COOPERATING ]
                  customer_ids: [ "c1", "c2" ]
                }
                owner: "bob"
              )pb")));
}

TEST(RpcCommandsTest, CampaignUpdateReplacesDetailsAndSelection) {
  CampaignGroup campaign = Campaign();
  ASSERT_EQ(campaign.Run({"update", "--id=m1", "--name=Greetings", "--type=holiday-greeting",
                          "--start_date=2027-02-01", "--class=tier:key", "--expected_version=3"}),
            kExitOk)
      << campaign.err();
  EXPECT_THAT(
      campaign.Request<v1::UpdateCampaignRequest>(),
      EqualsProto(TextProto<v1::UpdateCampaignRequest>(R"pb(
        options { expected_version: 3 }
        campaign_id: "m1"
        details { name: "Greetings" type: CAMPAIGN_TYPE_HOLIDAY_GREETING start_date: "2027-02-01" }
        selection { classes { scheme: SCHEME_TIER class_name: "key" } }
      )pb")));
}

TEST(RpcCommandsTest, CampaignRecords) {
  CampaignGroup campaign = Campaign();
  ASSERT_EQ(campaign.Run({"start", "--id=m1"}), kExitOk);
  EXPECT_THAT(campaign.Request<v1::StartCampaignRequest>(),
              EqualsProto(TextProto<v1::StartCampaignRequest>(R"pb(campaign_id: "m1")pb")));

  ASSERT_EQ(campaign.Run({"cost", "--id=m1", "--amount=1200.50", "--currency=CNY",
                          "--description=Venue", "--incurred_on=2027-03-01"}),
            kExitOk);
  EXPECT_THAT(campaign.Request<v1::RecordCampaignCostRequest>(),
              EqualsProto(TextProto<v1::RecordCampaignCostRequest>(R"pb(
                campaign_id: "m1"
                cost {
                  amount { currency_code: "CNY" amount_minor: 120050 }
                  description: "Venue"
                  incurred_on: "2027-03-01"
                }
              )pb")));

  ASSERT_EQ(campaign.Run({"invite", "--id=m1", "--customer=c1,c2", "--customer", "c3"}), kExitOk);
  EXPECT_THAT(campaign.Request<v1::RecordCampaignInvitationsRequest>(),
              EqualsProto(TextProto<v1::RecordCampaignInvitationsRequest>(
                  R"pb(campaign_id: "m1"
                       customer_ids: [ "c1", "c2", "c3" ])pb")));

  ASSERT_EQ(campaign.Run({"respond", "--id=m1", "--customer_id=c1", "--response=accepted",
                          "--note=two people"}),
            kExitOk);
  EXPECT_THAT(campaign.Request<v1::RecordCampaignResponseRequest>(),
              EqualsProto(TextProto<v1::RecordCampaignResponseRequest>(R"pb(
                campaign_id: "m1"
                customer_id: "c1"
                response: CAMPAIGN_RESPONSE_ACCEPTED
                note: "two people"
              )pb")));

  ASSERT_EQ(campaign.Run({"attend", "--id=m1", "--customer_id=c1", "--attended"}), kExitOk);
  EXPECT_TRUE(campaign.Request<v1::RecordCampaignAttendanceRequest>().attended());
  ASSERT_EQ(campaign.Run({"attend", "--id=m1", "--customer_id=c1", "--attended=false"}), kExitOk);
  EXPECT_THAT(
      campaign.Request<v1::RecordCampaignAttendanceRequest>(),
      EqualsProto(TextProto<v1::RecordCampaignAttendanceRequest>(R"pb(campaign_id: "m1"
                                                                      customer_id: "c1")pb")));

  ASSERT_EQ(campaign.Run({"outcome", "--id=m1", "--note=3 quotes asked"}), kExitOk);
  EXPECT_THAT(
      campaign.Request<v1::RecordCampaignOutcomeRequest>(),
      EqualsProto(TextProto<v1::RecordCampaignOutcomeRequest>(R"pb(campaign_id: "m1"
                                                                   note: "3 quotes asked")pb")));

  ASSERT_EQ(campaign.Run({"close", "--id=m1", "--note=done"}), kExitOk);
  EXPECT_THAT(
      campaign.Request<v1::CloseCampaignRequest>(),
      EqualsProto(TextProto<v1::CloseCampaignRequest>(R"pb(campaign_id: "m1" note: "done")pb")));
}

TEST(RpcCommandsTest, CampaignReads) {
  CampaignGroup campaign = Campaign();
  ASSERT_EQ(campaign.Run({"list", "--status=running", "--type=appreciation-event", "--owner=bob",
                          "--page_size=20", "--page_token=p"}),
            kExitOk);
  EXPECT_THAT(campaign.Request<v1::ListCampaignsRequest>(),
              EqualsProto(TextProto<v1::ListCampaignsRequest>(R"pb(
                status: CAMPAIGN_STATUS_RUNNING
                type: CAMPAIGN_TYPE_APPRECIATION_EVENT
                owner: "bob"
                page_size: 20
                page_token: "p"
              )pb")));

  ASSERT_EQ(campaign.Run({"targets", "--id=m1", "--page_size=1000"}), kExitOk);
  EXPECT_THAT(campaign.Request<v1::ListCampaignTargetsRequest>(),
              EqualsProto(TextProto<v1::ListCampaignTargetsRequest>(R"pb(campaign_id: "m1"
                                                                         page_size: 1000)pb")));

  ASSERT_EQ(campaign.Run({"report", "--id=m1", "--as_of=2027-01-01T00:00:00Z"}), kExitOk);
  EXPECT_THAT(campaign.Request<v1::GetCampaignReportRequest>(),
              EqualsProto(TextProto<v1::GetCampaignReportRequest>(
                  R"pb(campaign_id: "m1"
                       as_of { seconds: 1798761600 })pb")));
}

TEST(RpcCommandsTest, JsonAndDryRun) {
  CampaignGroup campaign = Campaign();
  // --json reaches any field (here one the service sets), flags win over it.
  ASSERT_EQ(campaign.Run({"cost", "--id=m1", "--amount=10",
                          R"(--json={"campaign_id": "other", "cost": {"cost_id": "9",
                             "description": "Print"}})"}),
            kExitOk)
      << campaign.err();
  EXPECT_THAT(campaign.Request<v1::RecordCampaignCostRequest>(),
              EqualsProto(TextProto<v1::RecordCampaignCostRequest>(R"pb(
                campaign_id: "m1"
                cost {
                  cost_id: "9"
                  amount { amount_minor: 1000 }
                  description: "Print"
                }
              )pb")));

  ASSERT_EQ(campaign.Run({"plan", "--name=X", "--class=abcd:B", "--dry_run"}), kExitOk);
  EXPECT_TRUE(campaign.calls().methods.empty());
  EXPECT_EQ(
      campaign.out(),
      R"({"details":{"name":"X"},"selection":{"classes":[{"scheme":"SCHEME_ABCD","class_name":"B"}]}})"
      "\n");
}

// ---------------------------------------------------------------------- errors

TEST(RpcCommandsTest, BadValuesAreUsageErrorsNamingTheFlag) {
  ChurnGroup churn = Churn();
  EXPECT_EQ(churn.Run({"confirm", "--id=k1", "--reason=bogus"}), kExitUsage);
  EXPECT_TRUE(churn.calls().methods.empty());
  EXPECT_THAT(churn.err(), HasSubstr("--reason: 'bogus' is not a ChurnLossReason; one of "
                                     "price|service_quality|competitor|business_closed|"
                                     "relocated|other"));

  CampaignGroup campaign = Campaign();
  EXPECT_EQ(campaign.Run({"plan", "--name=X", "--class=A"}), kExitUsage);
  EXPECT_THAT(campaign.err(), HasSubstr("--class: 'A' is not SCHEME:CLASS_NAME"));
  EXPECT_EQ(campaign.Run({"plan", "--name=X", "--class=gold:A"}), kExitUsage);
  EXPECT_THAT(campaign.err(), HasSubstr("--class: 'gold' is not a Scheme"));
  EXPECT_EQ(campaign.Run({"plan", "--name=X", "--lifecycle=lost"}), kExitUsage);
  EXPECT_THAT(campaign.err(), HasSubstr("--lifecycle: 'lost' is not a Lifecycle"));
  EXPECT_EQ(campaign.Run({"cost", "--id=m1", "--amount=1.234"}), kExitUsage);
  EXPECT_THAT(campaign.err(), HasSubstr("--amount: '1.234' is not an amount"));
  EXPECT_EQ(campaign.Run({"start", "--id=m1", "--nope"}), kExitUsage);
  EXPECT_TRUE(campaign.calls().methods.empty());
}

TEST(RpcCommandsTest, CallErrorsExitOne) {
  CampaignGroup campaign = Campaign();
  campaign.calls().status =
      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "campaign m1 is CLOSED");
  EXPECT_EQ(campaign.Run({"respond", "--id=m1", "--customer_id=c1", "--response=declined"}),
            kExitFailed);
  EXPECT_THAT(campaign.err(), HasSubstr("error: FAILED_PRECONDITION: campaign m1 is CLOSED"));
  EXPECT_EQ(campaign.out(), "");
}

// ------------------------------------------------------------------ text forms

TEST(RpcCommandsTest, ChurnCaseText) {
  ChurnGroup churn = Churn();
  churn.calls().response =
      std::make_unique<v1::GetChurnCaseResponse>(TextProto<v1::GetChurnCaseResponse>(R"pb(
        churn_case {
          case_id: "k1"
          customer_id: "c1"
          owner: "alice"
          region: "north"
          status: CHURN_CASE_STATUS_LOST
          warnings {
            score: 3
            criteria: [ "no_orders_90d", "open_complaint" ]
            rule_set_version: 2
          }
          warning_count: 1
          classes { scheme: SCHEME_ABCD class_name: "B" }
          measures {
            measure_id: "1"
            action: "Visited"
            taken_on: "2026-12-02"
            taken_by: "alice"
            interaction_id: "i7"
            recorded_by: "alice"
          }
          review_date: "2026-12-20"
          loss_reason: CHURN_LOSS_REASON_COMPETITOR
          loss_reason_text: "cheaper offer"
          closed_by: "alice"
          win_back { lifecycle: LIFECYCLE_FOLLOWING actor: "bob" }
          version: 6
        }
      )pb"));
  ASSERT_EQ(churn.Run({"get", "--id=k1"}), kExitOk) << churn.err();
  const std::string out = churn.out();
  EXPECT_THAT(out, HasSubstr("status:          lost\n"));
  EXPECT_THAT(out, HasSubstr("classes:         abcd B\n"));
  EXPECT_THAT(out, HasSubstr("score 3  criteria no_orders_90d, open_complaint  rule set v2\n"));
  EXPECT_THAT(out, HasSubstr("  1  2026-12-02  alice  Visited  (interaction i7)"));
  EXPECT_THAT(out, HasSubstr("review_date:     2026-12-20\n"));  // closed: not overdue
  EXPECT_THAT(out, HasSubstr("loss_reason:     competitor -- cheaper offer\n"));
  EXPECT_THAT(out, HasSubstr("won_back:        following  - by bob\n"));

  ASSERT_EQ(churn.Run({"get", "--id=k1", "--output=json"}), kExitOk);
  EXPECT_THAT(churn.out(), HasSubstr(R"("loss_reason":"CHURN_LOSS_REASON_COMPETITOR")"));
}

TEST(RpcCommandsTest, ChurnListShowsOverdueCases) {
  ChurnGroup churn = Churn();
  churn.calls().response =
      std::make_unique<v1::ListChurnCasesResponse>(TextProto<v1::ListChurnCasesResponse>(R"pb(
        cases {
          case_id: "k1"
          customer_id: "c1"
          owner: "alice"
          region: "north"
          status: CHURN_CASE_STATUS_OPEN
          review_date: "2020-01-01"
          warning_count: 2
        }
        cases {
          case_id: "k2"
          customer_id: "c2"
          status: CHURN_CASE_STATUS_RETAINED
          retained_by_risk_cleared: true
          warning_count: 1
        }
        next_page_token: "n"
      )pb"));
  ASSERT_EQ(churn.Run({"list"}), kExitOk) << churn.err();
  EXPECT_EQ(churn.out(),
            "k1  open  c1  alice  north  opened -  review 2020-01-01 OVERDUE  2 warnings\n"
            "k2  retained (risk cleared)  c2  -  -  opened -  review -  1 warning\n"
            "next_page_token: n\n");
}

TEST(RpcCommandsTest, ChurnReportText) {
  ChurnGroup churn = Churn();
  churn.calls().response =
      std::make_unique<v1::GetChurnReportResponse>(TextProto<v1::GetChurnReportResponse>(R"pb(
        report {
          period_from: "2026-10-01"
          period_to: "2026-12-31"
          total { opened: 4 retained: 2 lost: 1 retention_rate_percent: 66.67 }
          open_now: 1
          overdue_now: 1
          by_reason { key: "COMPETITOR" lost: 1 }
          by_owner { key: "alice" opened: 4 retained: 2 lost: 1 retention_rate_percent: 66.67 }
          won_back: 1
        }
      )pb"));
  ASSERT_EQ(churn.Run({"report"}), kExitOk) << churn.err();
  const std::string out = churn.out();
  EXPECT_THAT(out, HasSubstr("period:          2026-10-01 .. 2026-12-31\n"));
  EXPECT_THAT(out, HasSubstr("closed:          2 retained, 1 lost in the period\n"));
  EXPECT_THAT(out, HasSubstr("retention_rate:  66.67%\n"));
  EXPECT_THAT(out, HasSubstr("open_now:        1 (1 past their review date)\n"));
  EXPECT_THAT(
      out,
      HasSubstr(
          "COMPETITOR                        0              0              1          0.00%\n"));
  EXPECT_THAT(
      out,
      HasSubstr(
          "alice                             4              2              1         66.67%\n"));
  EXPECT_THAT(out, HasSubstr("class                        opened       retained           lost    "
                             "  retention\n(no cases)\n"));
}

TEST(RpcCommandsTest, ChurnHistoryText) {
  ChurnGroup churn = Churn();
  churn.calls().response = std::make_unique<v1::GetChurnCaseHistoryResponse>(
      TextProto<v1::GetChurnCaseHistoryResponse>(R"pb(
        entries {
          version: 3
          event_type: "crm.interaction.v1.ChurnLossConfirmed"
          actor: "alice"
          occurred_at { seconds: 1798675200 }
          event { churn_loss_confirmed { reason: CHURN_LOSS_REASON_PRICE } }
        }
      )pb"));
  ASSERT_EQ(churn.Run({"history", "--id=k1"}), kExitOk) << churn.err();
  EXPECT_EQ(churn.out(),
            "3  2026-12-31T00:00:00Z  alice  crm.interaction.v1.ChurnLossConfirmed  (price)\n"
            "next_page_token:\n");
}

TEST(RpcCommandsTest, CampaignText) {
  CampaignGroup campaign = Campaign();
  campaign.calls().response =
      std::make_unique<v1::GetCampaignResponse>(TextProto<v1::GetCampaignResponse>(R"pb(
        campaign {
          campaign_id: "m1"
          details {
            name: "Spring seminar"
            type: CAMPAIGN_TYPE_SEMINAR
            start_date: "2027-03-01"
            end_date: "2027-03-02"
            budget { currency_code: "CNY" amount_minor: 5000000 }
          }
          owner: "bob"
          status: CAMPAIGN_STATUS_RUNNING
          selection {
            classes { scheme: SCHEME_ABCD class_name: "A" }
            regions: "north"
            lifecycles: LIFECYCLE_COOPERATING
          }
          costs {
            cost_id: "1"
            amount { currency_code: "CNY" amount_minor: 1200000 }
            description: "Venue"
          }
          costs {
            cost_id: "2"
            amount { currency_code: "CNY" amount_minor: 300000 }
            description: "Print"
          }
          target_count: 10
          invited_count: 8
          responded_count: 4
          attended_count: 2
          version: 9
        }
      )pb"));
  ASSERT_EQ(campaign.Run({"get", "--id=m1"}), kExitOk) << campaign.err();
  const std::string out = campaign.out();
  EXPECT_THAT(out, HasSubstr("name:            Spring seminar\n"));
  EXPECT_THAT(out, HasSubstr("type:            seminar\n"));
  EXPECT_THAT(out, HasSubstr("dates:           2027-03-01 .. 2027-03-02\n"));
  EXPECT_THAT(out, HasSubstr("budget:          50000.00 CNY\n"));
  EXPECT_THAT(
      out, HasSubstr("selection:       classes abcd A; regions north; lifecycles cooperating\n"));
  EXPECT_THAT(out, HasSubstr("targets:         10 targets, 8 invited, 4 responded, 2 attended\n"));
  EXPECT_THAT(out, HasSubstr("costs:           2 entries, total 15000.00 CNY\n"));
  EXPECT_THAT(out, HasSubstr("  2  -  3000.00 CNY  Print  recorded -"));
  EXPECT_THAT(out, Not(HasSubstr("closed:")));
}

TEST(RpcCommandsTest, CampaignReportText) {
  CampaignGroup campaign = Campaign();
  campaign.calls().response =
      std::make_unique<v1::GetCampaignReportResponse>(TextProto<v1::GetCampaignReportResponse>(R"pb(
        report {
          campaign_id: "m1"
          name: "Spring seminar"
          status: CAMPAIGN_STATUS_CLOSED
          targets: 10
          invited: 10
          responded: 4
          accepted: 3
          attended: 2
          opportunities_sourced: 2
          opportunities_won: 1
          opportunities_open: 1
          budget { currency_code: "CNY" amount_minor: 5000000 }
          money { currency_code: "CNY" cost_minor: 1500000 won_minor: 24000000 roi_percent: 1500 }
          money { currency_code: "USD" won_minor: 100000 }
        }
      )pb"));
  ASSERT_EQ(campaign.Run({"report", "--id=m1"}), kExitOk) << campaign.err();
  const std::string out = campaign.out();
  EXPECT_THAT(out, HasSubstr("responded:       4 (3 accepted)\n"));
  EXPECT_THAT(out, HasSubstr("opportunities:   2 sourced, 1 won, 1 open\n"));
  EXPECT_THAT(out, HasSubstr("budget:          50000.00 CNY\n"));
  EXPECT_THAT(out,
              HasSubstr("CNY                        15000.00      240000.00       1500.00%\n"));
  EXPECT_THAT(out,
              HasSubstr("USD                            0.00        1000.00              -\n"));
  EXPECT_THAT(out, Not(HasSubstr("partial")));

  campaign.calls().response =
      std::make_unique<v1::GetCampaignReportResponse>(TextProto<v1::GetCampaignReportResponse>(R"pb(
        report { campaign_id: "m1" partial: true targets: 2 }
      )pb"));
  ASSERT_EQ(campaign.Run({"report", "--id=m1"}), kExitOk) << campaign.err();
  EXPECT_THAT(campaign.out(), HasSubstr("partial:         only the targets you may see"));
  EXPECT_THAT(campaign.out(), Not(HasSubstr("budget:")));
  EXPECT_THAT(campaign.out(), HasSubstr("(no costs and nothing won)\n"));
}

TEST(RpcCommandsTest, CampaignTargetsAndHistoryText) {
  CampaignGroup campaign = Campaign();
  campaign.calls().response = std::make_unique<v1::ListCampaignTargetsResponse>(
      TextProto<v1::ListCampaignTargetsResponse>(R"pb(
        targets {
          customer_id: "c1"
          owner: "alice"
          region: "north"
          invited_at { seconds: 1798675200 }
          response: CAMPAIGN_RESPONSE_ACCEPTED
          response_note: "two people"
          attended: true
        }
        targets { customer_id: "c2" owner: "bob" region: "south" }
      )pb"));
  ASSERT_EQ(campaign.Run({"targets", "--id=m1"}), kExitOk) << campaign.err();
  EXPECT_EQ(campaign.out(),
            "c1  alice  north  invited 2026-12-31T00:00:00Z  accepted  attended  -- two people\n"
            "c2  bob  south  not invited  no response  -\n"
            "next_page_token:\n");

  campaign.calls().response = std::make_unique<v1::GetCampaignHistoryResponse>(
      TextProto<v1::GetCampaignHistoryResponse>(R"pb(
        entries {
          version: 5
          event_type: "crm.interaction.v1.CampaignResponseRecorded"
          actor: "alice"
          event {
            customer_id: "c1"
            campaign_response_recorded { response: CAMPAIGN_RESPONSE_INTERESTED }
          }
        }
        entries {
          version: 6
          event_type: "crm.interaction.v1.CampaignCostRecorded"
          actor: "bob"
          event {
            campaign_cost_recorded {
              cost {
                cost_id: "2"
                amount { currency_code: "CNY" amount_minor: 300000 }
                description: "Print"
              }
            }
          }
        }
      )pb"));
  ASSERT_EQ(campaign.Run({"history", "--id=m1"}), kExitOk) << campaign.err();
  EXPECT_EQ(campaign.out(),
            "5  -  alice  crm.interaction.v1.CampaignResponseRecorded  (customer c1: interested)\n"
            "6  -  bob  crm.interaction.v1.CampaignCostRecorded  (cost 2: 3000.00 CNY Print)\n"
            "next_page_token:\n");
}

}  // namespace
}  // namespace crm::crmctl
