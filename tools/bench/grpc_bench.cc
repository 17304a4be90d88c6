#include "grpc_bench.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench_util.h"
#include "crm/auth/grpc_auth.h"
#include "crm/auth/jwt.h"
#include "crm/classification/v1/classification_service.grpc.pb.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/interaction/v1/interaction_service.grpc.pb.h"
#include "crm/interaction/v1/sales_service.grpc.pb.h"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"

// The repository's dev HS256 secret (set by tools/bench/CMakeLists.txt).
#ifndef CRM_DEV_SECRET_FILE
#define CRM_DEV_SECRET_FILE "libs/auth/dev/dev_hs256.secret"
#endif

namespace crm::bench {
namespace {

namespace cv1 = ::crm::customer::v1;
namespace iv1 = ::crm::interaction::v1;
namespace tv1 = ::crm::ticket::v1;
namespace clv1 = ::crm::classification::v1;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// The subject, roles and region of the minted token. An executive sees and writes
// every customer, ticket and interaction; registering, it becomes the owner (owner
// defaults to the caller) in its own region (region defaults to the token's).
constexpr char kSubject[] = "bench";
constexpr char kRole[] = "executive";
constexpr char kRegion[] = "north";

// Defaults of scripts/run.sh.
constexpr char kDefaultCustomerAddr[] = "127.0.0.1:50051";
constexpr char kDefaultInteractionAddr[] = "127.0.0.1:50052";
constexpr char kDefaultTicketAddr[] = "127.0.0.1:50053";
constexpr char kDefaultClassificationAddr[] = "127.0.0.1:50054";

// Every call's deadline: bounds how long the end of a run can wait for stragglers.
constexpr std::chrono::seconds kCallDeadline(10);
constexpr std::chrono::seconds kConnectTimeout(10);
// Propagation: how long a registered customer may stay invisible before it counts as lost.
constexpr std::chrono::seconds kPropagationTimeout(60);
// Open loop default for propagation when --rate is not given.
constexpr double kDefaultPropagationRate = 10;
constexpr int kListPageSize = 50;
// --existing: ListCustomers page size when collecting ids.
constexpr int kExistingPageSize = 500;
// generate: progress line interval, attempts per item (retryable codes only), and
// the failures after which no new item is started.
constexpr std::chrono::seconds kProgressInterval(5);
constexpr int kMaxAttempts = 3;
constexpr int64_t kMaxGenerateFailures = 100;
// generate: what the customers are spread over.
constexpr std::array<const char*, 4> kRegions = {"north", "south", "east", "west"};
constexpr std::array<const char*, 5> kIndustries = {"manufacturing", "retail", "logistics",
                                                    "software", "healthcare"};

// Rows of the output table: one per RPC method, plus the ticket flow as a whole.
enum Row : int {
  kRegister,
  kUpdate,
  kGet,
  kList,
  kLogFollowUp,
  kOpenTicket,
  kAssignTicket,
  kAddComment,
  kHealthCheck,
  kGetClassification,
  kRecordTransaction,
  kTicketFlow,  // OpenTicket -> AssignTicket -> AddComment, first call's start to last return
  kCreateOpportunity,
  kMoveOpportunityStage,
  kWinOpportunity,
  kPipelineReport,
  kRowCount,
};
constexpr std::array<const char*, kRowCount> kRowNames = {
    "RegisterCustomer", "UpdateCustomer", "GetCustomer",       "ListCustomers",
    "LogFollowUp",      "OpenTicket",     "AssignTicket",      "AddComment",
    "Health/Check",     "GetClassification", "RecordTransaction", "ticket flow (3 calls)",
    "CreateOpportunity", "MoveOpportunityStage", "WinOpportunity", "GetPipelineReport"};

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

void PrintError(const std::string& message) {
  std::fprintf(stderr, "crm-bench grpc: error: %s\n", message.c_str());
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// One generator per thread (the callback API runs completions on its own threads).
FastRandom& Rng() {
  thread_local FastRandom rng(std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
                              static_cast<uint64_t>(absl::GetCurrentTimeNanos()));
  return rng;
}

struct Percentiles {
  double p50 = 0, p95 = 0, p99 = 0, p999 = 0, max = 0;
  size_t n = 0;
};

// Nearest-rank percentiles of `ms` (sorted in place).
template <typename T>
Percentiles Summarize(std::vector<T>& ms) {
  Percentiles p;
  p.n = ms.size();
  if (ms.empty()) return p;
  std::sort(ms.begin(), ms.end());
  auto rank = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(ms.size())));
    return static_cast<double>(ms[std::clamp<size_t>(i, 1, ms.size()) - 1]);
  };
  p.p50 = rank(0.50);
  p.p95 = rank(0.95);
  p.p99 = rank(0.99);
  p.p999 = rank(0.999);
  p.max = static_cast<double>(ms.back());
  return p;
}

// Latencies of successful calls returning inside the window, and failures by code
// (any time, warm-up included), per row. Thread-safe.
// What a process has used so far: context switches of all its threads
// (voluntary and not, from /proc/PID/task/*/status) and CPU time (utime + stime
// of /proc/PID/stat). Threads that already exited are not counted; the services'
// threads live as long as the process.
struct ProcessUsage {
  uint64_t context_switches = 0;
  double cpu_seconds = 0;
  bool ok = false;
};

ProcessUsage ReadProcessUsage(int pid) {
  ProcessUsage u;
  const std::string base = absl::StrCat("/proc/", pid);
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(base + "/task", ec)) {
    std::ifstream status(task.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      uint64_t n = 0;
      if ((absl::StartsWith(line, "voluntary_ctxt_switches:") ||
           absl::StartsWith(line, "nonvoluntary_ctxt_switches:")) &&
          absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(line.find(':') + 1)), &n)) {
        u.context_switches += n;
      }
    }
  }
  if (ec) return u;
  std::ifstream stat(base + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) in parentheses.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return u;
  std::vector<std::string> fields = absl::StrSplit(text.substr(close + 2), ' ');
  uint64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return u;
  }
  u.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  u.ok = true;
  return u;
}

class Stats {
 public:
  Stats(TimePoint window_start, TimePoint window_end)
      : window_start_(window_start), window_end_(window_end) {}

  bool InWindow(TimePoint t) const { return t >= window_start_ && t < window_end_; }

  // `ok` false counts an error under `code` (with `message`, the first one kept).
  void Record(Row row, TimePoint t0, TimePoint t1, bool ok, int code, const std::string& message) {
    RowStats& r = rows_[row];
    std::lock_guard<std::mutex> lock(r.mu);
    if (ok) {
      if (InWindow(t1)) r.ms.push_back(static_cast<float>(Ms(t1 - t0)));
      return;
    }
    if (r.errors[code]++ == 0) r.first_error[code] = message;
  }

  struct RowResult {
    Row row;
    Percentiles latency;
    std::map<int, uint64_t> errors;
    std::map<int, std::string> first_error;
  };
  // Rows that saw any call (in row order).
  std::vector<RowResult> Results() {
    std::vector<RowResult> out;
    for (int i = 0; i < kRowCount; ++i) {
      RowStats& r = rows_[i];
      std::lock_guard<std::mutex> lock(r.mu);
      if (r.ms.empty() && r.errors.empty()) continue;
      out.push_back({static_cast<Row>(i), Summarize(r.ms), r.errors, r.first_error});
    }
    return out;
  }

 private:
  struct RowStats {
    std::mutex mu;
    std::vector<float> ms;
    std::map<int, uint64_t> errors;
    std::map<int, std::string> first_error;
  };
  const TimePoint window_start_, window_end_;
  std::array<RowStats, kRowCount> rows_;
};

// N channels to one address, each its own TCP connection (a local subchannel pool
// and a distinct argument keep gRPC from sharing one connection between them),
// with a stub per channel, handed out round robin.
template <typename Stub, typename MakeStub>
class StubPool {
 public:
  absl::Status Connect(const std::string& what, const std::string& addr, int channels,
                       MakeStub make) {
    addr_ = addr;
    for (int i = 0; i < channels; ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("crm_bench.channel_index", i);
      std::shared_ptr<grpc::Channel> channel =
          grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args);
      if (!channel->WaitForConnected(std::chrono::system_clock::now() + kConnectTimeout)) {
        return absl::UnavailableError(absl::StrCat("cannot connect to ", what, " at ", addr,
                                                   " within ", kConnectTimeout.count(), " s"));
      }
      stubs_.push_back(make(channel));
    }
    return absl::OkStatus();
  }
  bool empty() const { return stubs_.empty(); }
  const std::string& addr() const { return addr_; }
  Stub* Pick() { return stubs_[next_.fetch_add(1, std::memory_order_relaxed) % stubs_.size()].get(); }

 private:
  std::string addr_;
  std::vector<std::unique_ptr<Stub>> stubs_;
  std::atomic<uint64_t> next_{0};
};

template <typename Service>
auto NewStubFn() {
  return [](const std::shared_ptr<grpc::Channel>& c) { return Service::NewStub(c); };
}
auto NewGenericStubFn() {
  return [](const std::shared_ptr<grpc::Channel>& c) { return std::make_unique<grpc::GenericStub>(c); };
}
using CustomerStubs = StubPool<cv1::CustomerService::Stub, decltype(NewStubFn<cv1::CustomerService>())>;
using InteractionStubs =
    StubPool<iv1::InteractionService::Stub, decltype(NewStubFn<iv1::InteractionService>())>;
using TicketStubs = StubPool<tv1::TicketService::Stub, decltype(NewStubFn<tv1::TicketService>())>;
using SalesStubs = StubPool<iv1::SalesService::Stub, decltype(NewStubFn<iv1::SalesService>())>;
using ClassificationStubs =
    StubPool<clv1::ClassificationService::Stub, decltype(NewStubFn<clv1::ClassificationService>())>;
using HealthStubs = StubPool<grpc::GenericStub, decltype(NewGenericStubFn())>;

constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";

// What a scenario needs.
struct Needs {
  bool customer = false, interaction = false, ticket = false, classification = false;
  bool sales = false;
  bool preload = false, token = true;
};

Needs NeedsOf(const GrpcBenchOptions& o) {
  const std::string& scenario = o.scenario;
  Needs n;
  if (scenario == "noop") {
    n.token = false;
    return n;
  }
  if (scenario == "pipeline-report") {
    n.sales = true;
    return n;
  }
  n.customer = true;
  if (scenario == "generate") {
    n.interaction = o.interactions > 0;
    n.ticket = o.tickets > 0;
    n.sales = o.opportunities > 0;
    return n;
  }
  n.sales = scenario == "opportunity";
  n.preload = scenario != "register" && scenario != "propagation";
  n.interaction = scenario == "log-interaction" || scenario == "mixed";
  n.ticket = scenario == "ticket" || scenario == "mixed";
  n.classification = scenario == "propagation";
  return n;
}

std::string Describe(const std::string& scenario) {
  if (scenario == "register") return "RegisterCustomer, each with a new unique name";
  if (scenario == "update") {
    return "UpdateCustomer of a random preloaded customer, update_paths [characteristics.needs] "
           "(a new value each time), no expected_version (the service retries a race itself)";
  }
  if (scenario == "log-interaction") return "LogFollowUp (phone) for a random preloaded customer";
  if (scenario == "ticket") {
    return "OpenTicket for a random preloaded customer, then AssignTicket, then AddComment (one "
           "operation = the 3 calls in turn)";
  }
  if (scenario == "get") return "GetCustomer of a random preloaded customer";
  if (scenario == "list") {
    return absl::StrCat("ListCustomers with a region filter (the preloaded customers' region), "
                        "page_size ", kListPageSize, ", first page");
  }
  if (scenario == "mixed") {
    return "10% register, 20% update, 20% log-interaction, 10% ticket (3 calls), 30% get, "
           "10% list (shares of operations)";
  }
  if (scenario == "noop") return "grpc.health.v1.Health/Check (no token)";
  if (scenario == "propagation") {
    return "RegisterCustomer, then GetClassification polled until the customer is classified "
           "(NOT_FOUND -> found)";
  }
  if (scenario == "opportunity") {
    return "CreateOpportunity (CNY, a new title each) for a random preloaded customer";
  }
  if (scenario == "pipeline-report") {
    return "GetPipelineReport of the whole store (the token's scope: executive), now or, with "
           "--as_of_seconds_ago, as of that long ago";
  }
  if (scenario == "generate") {
    return "data generator: --customers RegisterCustomer (unique names, spread over regions and "
           "industries) + RecordTransaction each, then --interactions LogFollowUp spread over "
           "them, then --tickets OpenTicket, then --opportunities CreateOpportunity (CNY or "
           "USD; then, for four in five, a move to NEEDS_ANALYSIS, PROPOSAL or NEGOTIATION, or "
           "a win)";
  }
  return scenario;
}

class GrpcBench {
 public:
  explicit GrpcBench(const GrpcBenchOptions& options) : o_(options), needs_(NeedsOf(o_)) {
    if (o_.scenario == "propagation" && o_.rate <= 0) o_.rate = kDefaultPropagationRate;
  }

  int Run();

 private:
  using Done = std::function<void(bool ok)>;
  using Operation = std::function<void(TimePoint due, Done done)>;

  absl::Status Setup();
  absl::Status StartNoopServer();
  absl::Status CheckServing();
  absl::Status Preload();
  absl::Status CollectExisting();

  // generate: one item (a customer with its transaction, a follow-up, a ticket);
  // calls `done` exactly once with the last call's status.
  using ItemDone = std::function<void(const grpc::Status&)>;
  using Item = std::function<void(int64_t i, ItemDone done)>;
  struct PhaseResult {
    int64_t ok = 0, failed = 0, retries = 0;
    double seconds = 0;
    std::string first_error;
  };
  // Runs items 0..count-1, o_.callers in flight, retrying retryable failures;
  // progress on stderr every kProgressInterval.
  PhaseResult RunPhase(const char* kind, int64_t count, const Item& item);
  void GenCustomer(int64_t i, ItemDone done);
  void GenFollowUp(int64_t i, ItemDone done);
  void GenTicket(int64_t i, ItemDone done);
  void GenOpportunity(int64_t i, ItemDone done);
  int Generate();
  void PrintHeader() const;
  // Runs `op_` closed or open loop over warm-up + window; returns once every
  // started operation (and, for propagation, every poll) has finished.
  void Drive();
  void DriveClosed(int caller);
  void DriveOpen();
  void OpFinished(bool ok);
  // Until every call's state is destroyed.
  void WaitForCalls() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return live_calls_.load() == 0; });
  }
  int Report();

  // One unary call through the callback API. `invoke(ctx, req, resp, callback)`
  // starts it on a stub; `then(status, response)` runs on a gRPC thread when it
  // returns, after the call was recorded under `row` with latency from `t0`.
  template <typename Resp, typename Req, typename Invoke, typename Then>
  void Call(Row row, TimePoint t0, Req req, Invoke invoke, Then then) {
    // Counted until destroyed: the last reference may go on a gRPC thread after
    // the operation reported done, and the process must not exit under it (a
    // ClientContext destroyed during gRPC's shutdown aborted crm-bench now and
    // then: "ref_counted.h: assertion failed: prior > 0").
    struct State {
      explicit State(GrpcBench& bench) : bench(bench) { bench.live_calls_.fetch_add(1); }
      ~State() {
        if (bench.live_calls_.fetch_sub(1) == 1) {
          std::lock_guard<std::mutex> lock(bench.mu_);
          bench.cv_.notify_all();
        }
      }
      GrpcBench& bench;
      grpc::ClientContext ctx;
      Req req;
      Resp resp;
    };
    auto state = std::make_shared<State>(*this);
    state->req = std::move(req);
    state->ctx.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    if (!bearer_.empty()) state->ctx.AddMetadata(std::string(auth::kAuthorizationKey), bearer_);
    invoke(&state->ctx, &state->req, &state->resp,
           std::function<void(grpc::Status)>([this, row, t0, state, then](grpc::Status s) {
             Record(row, t0, Clock::now(), s.ok(), s);
             then(s, state->resp);
           }));
  }
  void Record(Row row, TimePoint t0, TimePoint t1, bool ok, const grpc::Status& s) {
    if (stats_ != nullptr) {
      stats_->Record(row, t0, t1, ok, static_cast<int>(s.error_code()), s.error_message());
    }
  }

  // Operations: each calls `done` exactly once, from a gRPC thread.
  void OpRegister(TimePoint due, Done done);
  void OpUpdate(TimePoint due, Done done);
  void OpGet(TimePoint due, Done done);
  void OpList(TimePoint due, Done done);
  void OpLogFollowUp(TimePoint due, Done done);
  void OpTicket(TimePoint due, Done done);
  void OpMixed(TimePoint due, Done done);
  void OpHealth(TimePoint due, Done done);
  void OpPropagation(TimePoint due, Done done);
  void OpCreateOpportunity(TimePoint due, Done done);
  void OpPipelineReport(TimePoint due, Done done);
  Operation OperationFor(const std::string& scenario);

  // Propagation: customers registered and not yet seen by the classification service.
  struct Pending {
    std::string customer_id;
    TimePoint acked;
    TimePoint next_poll;
    bool operator>(const Pending& other) const { return next_poll > other.next_poll; }
  };
  void AddPending(std::string customer_id, TimePoint acked);
  void PollLoop();
  void Poll(Pending p);

  std::string NextName() {
    return absl::StrCat("crm-bench ", run_tag_, " ", name_counter_.fetch_add(1) + 1);
  }
  const std::string& RandomCustomer() { return customers_[Rng().Uniform(customers_.size())]; }

  GrpcBenchOptions o_;
  const Needs needs_;
  std::string bearer_;
  std::string token_origin_;
  std::string run_tag_;
  std::atomic<uint64_t> name_counter_{0};
  std::atomic<uint64_t> counter_{0};  // distinct field values for updates, tickets, ...

  grpc::CallbackGenericService noop_generic_;
  std::unique_ptr<grpc::Server> noop_server_;
  std::string noop_addr_;
  CustomerStubs customer_;
  InteractionStubs interaction_;
  TicketStubs ticket_;
  ClassificationStubs classification_;
  SalesStubs sales_;
  HealthStubs health_;

  std::vector<std::string> customers_;  // preloaded, read-only once the run starts
  std::vector<std::string> generated_;  // generate: customer ids by item index
  std::string list_region_;
  double preload_seconds_ = 0;

  // The run.
  Operation op_;
  std::unique_ptr<Stats> stats_;
  TimePoint start_, window_start_, window_end_;
  std::atomic<uint64_t> ops_ok_{0};      // successful operations finished inside the window
  std::atomic<uint64_t> ops_failed_{0};  // failed operations, any time
  uint64_t ops_sent_ = 0;                // open loop: operations started
  uint64_t ops_unsent_ = 0;              // open loop: due in the window, no free slot before its end
  Clock::duration max_late_{0};          // open loop: latest start behind schedule
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int64_t> live_calls_{0};  // calls whose state is not destroyed yet
  ProcessUsage server_before_, server_after_;  // --server_pid at the window's ends
  int active_ = 0;     // closed loop: callers still going; open loop: operations in flight
  bool stopping_ = false;

  // Propagation.
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> pending_;
  int polls_in_flight_ = 0;
  std::vector<double> propagation_ms_;
  uint64_t lost_ = 0;
  std::string first_lost_;
};

absl::StatusOr<std::string> MintToken(const std::string& secret_file) {
  ASSIGN_OR_RETURN(auth::SignerConfig config, auth::LoadSignerConfig(secret_file, ""));
  ASSIGN_OR_RETURN(std::unique_ptr<auth::TokenSigner> signer, auth::TokenSigner::Create(config));
  const absl::Time now = absl::Now();
  return signer->Sign({.sub = kSubject,
                       .roles = {kRole},
                       .region = kRegion,
                       .issued_at = now,
                       .expires_at = now + absl::Hours(24)});
}

absl::Status GrpcBench::Setup() {
  std::random_device rd;
  run_tag_ = absl::StrFormat("%08x", rd());
  if (needs_.token) {
    std::string token = o_.token;
    if (token.empty()) {
      const std::string file = o_.jwt_secret_file.empty() ? CRM_DEV_SECRET_FILE : o_.jwt_secret_file;
      ASSIGN_OR_RETURN(token, MintToken(file));
      token_origin_ = absl::StrCat("minted from ", file, " (sub ", kSubject, ", roles ", kRole,
                                   ", region ", kRegion, ")");
    } else {
      token_origin_ = "--token";
    }
    bearer_ = auth::BearerHeader(token);
  }
  auto addr = [](const std::string& given, const char* fallback) {
    return given.empty() ? std::string(fallback) : given;
  };
  if (needs_.customer) {
    RETURN_IF_ERROR(customer_.Connect("crm-customer", addr(o_.customer_addr, kDefaultCustomerAddr),
                                      o_.channels, NewStubFn<cv1::CustomerService>()));
  }
  if (needs_.interaction) {
    RETURN_IF_ERROR(interaction_.Connect("crm-interaction",
                                         addr(o_.interaction_addr, kDefaultInteractionAddr),
                                         o_.channels, NewStubFn<iv1::InteractionService>()));
  }
  if (needs_.ticket) {
    RETURN_IF_ERROR(ticket_.Connect("crm-ticket", addr(o_.ticket_addr, kDefaultTicketAddr),
                                    o_.channels, NewStubFn<tv1::TicketService>()));
  }
  if (needs_.sales) {
    RETURN_IF_ERROR(sales_.Connect("crm-interaction (SalesService)",
                                   addr(o_.interaction_addr, kDefaultInteractionAddr), o_.channels,
                                   NewStubFn<iv1::SalesService>()));
  }
  if (needs_.classification) {
    RETURN_IF_ERROR(classification_.Connect(
        "crm-classification", addr(o_.classification_addr, kDefaultClassificationAddr),
        o_.channels, NewStubFn<clv1::ClassificationService>()));
  }
  if (o_.scenario == "noop") {
    std::string target = o_.customer_addr;
    if (target.empty()) {
      RETURN_IF_ERROR(StartNoopServer());
      target = noop_addr_;
    }
    RETURN_IF_ERROR(health_.Connect(o_.customer_addr.empty() ? "the in-process no-op server"
                                                             : "crm-customer",
                                    target, o_.channels, NewGenericStubFn()));
    RETURN_IF_ERROR(CheckServing());
  }
  return absl::OkStatus();
}

// A gRPC server with only the built-in health service, on a free loopback port.
// (It also gets the library's callback generic service, which answers UNIMPLEMENTED
// to any other method: without a callback or sync service the builder refuses to
// start a server that has no completion queue to poll.)
absl::Status GrpcBench::StartNoopServer() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&noop_generic_);
  noop_server_ = builder.BuildAndStart();
  if (noop_server_ == nullptr || port == 0) {
    return absl::InternalError("cannot start the in-process no-op gRPC server on 127.0.0.1:0");
  }
  noop_addr_ = absl::StrCat("127.0.0.1:", port);
  return absl::OkStatus();
}

// One health check before the run: the target must answer SERVING.
absl::Status GrpcBench::CheckServing() {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);  // HealthCheckRequest{service: ""}
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  health_.Pick()->UnaryCall(&ctx, kHealthCheckMethod, grpc::StubOptions(), &request, &response,
                            [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status s = done.get_future().get();
  if (!s.ok()) {
    return absl::UnavailableError(absl::StrCat("health check of ", health_.addr(), " failed: ",
                                               CodeName(s.error_code()), " ", s.error_message()));
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  if (bytes != std::string("\x08\x01", 2)) {  // HealthCheckResponse{status: SERVING}
    return absl::UnavailableError(absl::StrCat(health_.addr(), " is not SERVING"));
  }
  return absl::OkStatus();
}

// Registers o_.preload customers, o_.callers at a time (unmeasured), and learns
// their region for the list scenario.
absl::Status GrpcBench::Preload() {
  if (!needs_.preload) return absl::OkStatus();
  if (o_.existing > 0) return CollectExisting();
  const int total = std::max(o_.preload, 1);
  const TimePoint t0 = Clock::now();
  std::mutex mu;
  std::condition_variable cv;
  int next = 0, running = 0;
  std::string first_error;
  customers_.reserve(static_cast<size_t>(total));
  // Each call, when it returns, starts the next one before it stops counting as
  // running, so `running` reaches 0 only once every customer was asked for.
  std::function<void()> issue = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (next >= total || !first_error.empty()) return;
      ++next;
      ++running;
    }
    cv1::RegisterCustomerRequest req;
    req.mutable_basic()->set_name(NextName());
    req.mutable_basic()->set_industry("manufacturing");
    Call<cv1::RegisterCustomerResponse>(
        kRegister, Clock::now(), std::move(req),
        [stub = customer_.Pick()](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
          stub->async()->RegisterCustomer(c, rq, rs, std::move(f));
        },
        [&](const grpc::Status& s, const cv1::RegisterCustomerResponse& r) {
          {
            std::lock_guard<std::mutex> lock(mu);
            if (s.ok()) {
              customers_.push_back(r.customer_id());
            } else if (first_error.empty()) {
              first_error = absl::StrCat(CodeName(s.error_code()), " ", s.error_message());
            }
          }
          issue();
          std::lock_guard<std::mutex> lock(mu);
          --running;
          cv.notify_all();
        });
  };
  for (int i = 0; i < std::min(o_.callers, total); ++i) issue();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return running == 0; });
  }
  if (!first_error.empty()) {
    return absl::UnavailableError(absl::StrCat("preload: RegisterCustomer failed: ", first_error));
  }
  // Where the preloaded customers live (the token's region, or the service's default).
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  ctx.AddMetadata(std::string(auth::kAuthorizationKey), bearer_);
  cv1::GetCustomerRequest get;
  get.set_customer_id(customers_.front());
  cv1::GetCustomerResponse got;
  grpc::Status s = customer_.Pick()->GetCustomer(&ctx, get, &got);
  if (!s.ok()) {
    return absl::UnavailableError(absl::StrCat("preload: GetCustomer failed: ",
                                               CodeName(s.error_code()), " ", s.error_message()));
  }
  list_region_ = got.customer().region();
  preload_seconds_ = std::chrono::duration<double>(Clock::now() - t0).count();
  return absl::OkStatus();
}

// --existing: up to o_.existing ids from ListCustomers pages (no filter: the
// token's scope), instead of registering customers; learns the list region from
// the first one.
absl::Status GrpcBench::CollectExisting() {
  const TimePoint t0 = Clock::now();
  std::string page_token;
  while (customers_.size() < static_cast<size_t>(o_.existing)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    ctx.AddMetadata(std::string(auth::kAuthorizationKey), bearer_);
    cv1::ListCustomersRequest req;
    req.set_page_size(kExistingPageSize);
    req.set_page_token(page_token);
    cv1::ListCustomersResponse resp;
    grpc::Status s = customer_.Pick()->ListCustomers(&ctx, req, &resp);
    if (!s.ok()) {
      return absl::UnavailableError(absl::StrCat("--existing: ListCustomers failed: ",
                                                 CodeName(s.error_code()), " ", s.error_message()));
    }
    for (const cv1::Customer& c : resp.customers()) {
      if (list_region_.empty()) list_region_ = c.region();
      if (customers_.size() < static_cast<size_t>(o_.existing)) customers_.push_back(c.customer_id());
    }
    page_token = resp.next_page_token();
    if (page_token.empty()) break;
  }
  if (customers_.empty()) return absl::FailedPreconditionError("--existing: no customers listed");
  preload_seconds_ = std::chrono::duration<double>(Clock::now() - t0).count();
  return absl::OkStatus();
}

void GrpcBench::OpRegister(TimePoint due, Done done) {
  cv1::RegisterCustomerRequest req;
  req.mutable_basic()->set_name(NextName());
  req.mutable_basic()->set_industry("manufacturing");
  Call<cv1::RegisterCustomerResponse>(
      kRegister, due, std::move(req),
      [stub = customer_.Pick()](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
        stub->async()->RegisterCustomer(c, rq, rs, std::move(f));
      },
      [done](const grpc::Status& s, const cv1::RegisterCustomerResponse&) { done(s.ok()); });
}

void GrpcBench::OpUpdate(TimePoint due, Done done) {
  cv1::UpdateCustomerRequest req;
  req.set_customer_id(RandomCustomer());
  req.add_update_paths("characteristics.needs");
  req.mutable_characteristics()->set_needs(absl::StrCat("bench needs ", counter_.fetch_add(1)));
  Call<cv1::WriteResponse>(
      kUpdate, due, std::move(req),
      [stub = customer_.Pick()](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
        stub->async()->UpdateCustomer(c, rq, rs, std::move(f));
      },
      [done](const grpc::Status& s, const cv1::WriteResponse&) { done(s.ok()); });
}

void GrpcBench::OpGet(TimePoint due, Done done) {
  cv1::GetCustomerRequest req;
  req.set_customer_id(RandomCustomer());
  Call<cv1::GetCustomerResponse>(
      kGet, due, std::move(req),
      [stub = customer_.Pick()](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
        stub->async()->GetCustomer(c, rq, rs, std::move(f));
      },
      [done](const grpc::Status& s, const cv1::GetCustomerResponse&) { done(s.ok()); });
}

void GrpcBench::OpList(TimePoint due, Done done) {
  cv1::ListCustomersRequest req;
  req.set_region(list_region_);
  req.set_page_size(kListPageSize);
  Call<cv1::ListCustomersResponse>(
      kList, due, std::move(req),
      [stub = customer_.Pick()](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
        stub->async()->ListCustomers(c, rq, rs, std::move(f));
      },
      [done](const grpc::Status& s, const cv1::ListCustomersResponse&) { done(s.ok()); });
}

void GrpcBench::OpLogFollowUp(TimePoint due, Done done) {
  iv1::LogFollowUpRequest req;
  req.set_customer_id(RandomCustomer());
  req.mutable_follow_up()->set_channel(iv1::CHANNEL_PHONE);
  req.mutable_follow_up()->set_content(absl::StrCat("bench follow-up ", counter_.fetch_add(1)));
  Call<iv1::CreateResponse>(
      kLogFollowUp, due, std::move(req),
      [stub = interaction_.Pick()](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
        stub->async()->LogFollowUp(c, rq, rs, std::move(f));
      },
      [done](const grpc::Status& s, const iv1::CreateResponse&) { done(s.ok()); });
}

void GrpcBench::OpTicket(TimePoint due, Done done) {
  const uint64_t n = counter_.fetch_add(1);
  tv1::OpenTicketRequest open;
  open.set_customer_id(RandomCustomer());
  open.set_type(tv1::TICKET_TYPE_CONSULTATION);
  open.set_channel(tv1::TICKET_CHANNEL_PHONE);
  open.set_subject(absl::StrCat("bench ticket ", n));
  tv1::TicketService::Stub* stub = ticket_.Pick();
  Call<tv1::OpenTicketResponse>(
      kOpenTicket, due, std::move(open),
      [stub](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
        stub->async()->OpenTicket(c, rq, rs, std::move(f));
      },
      [this, stub, due, done, n](const grpc::Status& s, const tv1::OpenTicketResponse& opened) {
        if (!s.ok()) return done(false);
        tv1::AssignTicketRequest assign;
        assign.set_ticket_id(opened.ticket_id());
        assign.set_assignee("bench-agent");
        assign.set_team("bench");
        Call<tv1::WriteResponse>(
            kAssignTicket, Clock::now(), std::move(assign),
            [stub](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
              stub->async()->AssignTicket(c, rq, rs, std::move(f));
            },
            [this, stub, due, done, n, id = opened.ticket_id()](const grpc::Status& s2,
                                                                 const tv1::WriteResponse&) {
              if (!s2.ok()) return done(false);
              tv1::AddCommentRequest comment;
              comment.set_ticket_id(id);
              comment.set_text(absl::StrCat("bench comment ", n));
              Call<tv1::WriteResponse>(
                  kAddComment, Clock::now(), std::move(comment),
                  [stub](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
                    stub->async()->AddComment(c, rq, rs, std::move(f));
                  },
                  [this, due, done](const grpc::Status& s3, const tv1::WriteResponse&) {
                    // The flow row keeps latencies only; failures show in the call's row.
                    if (s3.ok()) Record(kTicketFlow, due, Clock::now(), true, s3);
                    done(s3.ok());
                  });
            });
      });
}

void GrpcBench::OpMixed(TimePoint due, Done done) {
  const uint64_t r = Rng().Uniform(100);
  if (r < 10) return OpRegister(due, std::move(done));
  if (r < 30) return OpUpdate(due, std::move(done));
  if (r < 50) return OpLogFollowUp(due, std::move(done));
  if (r < 60) return OpTicket(due, std::move(done));
  if (r < 90) return OpGet(due, std::move(done));
  return OpList(due, std::move(done));
}

void GrpcBench::OpHealth(TimePoint due, Done done) {
  static const grpc::Slice kEmpty("");
  Call<grpc::ByteBuffer>(
      kHealthCheck, due, grpc::ByteBuffer(&kEmpty, 1),
      [stub = health_.Pick()](grpc::ClientContext* c, const grpc::ByteBuffer* rq,
                              grpc::ByteBuffer* rs, std::function<void(grpc::Status)> f) {
        stub->UnaryCall(c, kHealthCheckMethod, grpc::StubOptions(), rq, rs, std::move(f));
      },
      [done](const grpc::Status& s, const grpc::ByteBuffer&) { done(s.ok()); });
}

void GrpcBench::OpPropagation(TimePoint due, Done done) {
  cv1::RegisterCustomerRequest req;
  req.mutable_basic()->set_name(NextName());
  req.mutable_basic()->set_industry("manufacturing");
  Call<cv1::RegisterCustomerResponse>(
      kRegister, due, std::move(req),
      [stub = customer_.Pick()](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
        stub->async()->RegisterCustomer(c, rq, rs, std::move(f));
      },
      [this, done](const grpc::Status& s, const cv1::RegisterCustomerResponse& r) {
        if (s.ok()) AddPending(r.customer_id(), Clock::now());
        done(s.ok());
      });
}

iv1::CreateOpportunityRequest OpportunityRequest(const std::string& customer_id, uint64_t n,
                                                 const std::string& currency) {
  iv1::CreateOpportunityRequest req;
  req.set_customer_id(customer_id);
  iv1::OpportunityDetails* d = req.mutable_details();
  d->set_title(absl::StrCat("crm-bench opportunity ", n));
  d->set_source(iv1::OPPORTUNITY_SOURCE_WEB_MEDIA);
  d->mutable_expected_amount()->set_currency_code(currency);
  d->mutable_expected_amount()->set_amount_minor(static_cast<int64_t>(100000 * (1 + n % 997)));
  // Spread over the next twelve months.
  d->set_expected_close_date(absl::FormatTime(
      "%Y-%m-%d", absl::Now() + absl::Hours(24 * static_cast<int64_t>(1 + n % 365)),
      absl::UTCTimeZone()));
  return req;
}

void GrpcBench::OpCreateOpportunity(TimePoint due, Done done) {
  Call<iv1::CreateOpportunityResponse>(
      kCreateOpportunity, due, OpportunityRequest(RandomCustomer(), counter_.fetch_add(1), "CNY"),
      [stub = sales_.Pick()](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
        stub->async()->CreateOpportunity(c, rq, rs, std::move(f));
      },
      [done](const grpc::Status& s, const iv1::CreateOpportunityResponse&) { done(s.ok()); });
}

void GrpcBench::OpPipelineReport(TimePoint due, Done done) {
  iv1::GetPipelineReportRequest req;
  if (o_.as_of_seconds_ago > 0) {
    *req.mutable_as_of() = ToProtoTimestamp(absl::Now() - absl::Seconds(o_.as_of_seconds_ago));
  }
  Call<iv1::GetPipelineReportResponse>(
      kPipelineReport, due, std::move(req),
      [stub = sales_.Pick()](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
        stub->async()->GetPipelineReport(c, rq, rs, std::move(f));
      },
      [done](const grpc::Status& s, const iv1::GetPipelineReportResponse&) { done(s.ok()); });
}

GrpcBench::Operation GrpcBench::OperationFor(const std::string& scenario) {
  auto bind = [this](void (GrpcBench::*fn)(TimePoint, Done)) -> Operation {
    return [this, fn](TimePoint due, Done done) { (this->*fn)(due, std::move(done)); };
  };
  if (scenario == "register") return bind(&GrpcBench::OpRegister);
  if (scenario == "update") return bind(&GrpcBench::OpUpdate);
  if (scenario == "log-interaction") return bind(&GrpcBench::OpLogFollowUp);
  if (scenario == "ticket") return bind(&GrpcBench::OpTicket);
  if (scenario == "get") return bind(&GrpcBench::OpGet);
  if (scenario == "list") return bind(&GrpcBench::OpList);
  if (scenario == "mixed") return bind(&GrpcBench::OpMixed);
  if (scenario == "noop") return bind(&GrpcBench::OpHealth);
  if (scenario == "opportunity") return bind(&GrpcBench::OpCreateOpportunity);
  if (scenario == "pipeline-report") return bind(&GrpcBench::OpPipelineReport);
  return bind(&GrpcBench::OpPropagation);
}

// --- propagation polling ---

void GrpcBench::AddPending(std::string customer_id, TimePoint acked) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.push({std::move(customer_id), acked, acked});
  cv_.notify_all();
}

// Takes due polls off the queue and starts them, at most o_.max_poll_rate per
// second (so that a backlog of pending customers does not turn into a load of its
// own on the service measured: each is then polled less often); ends once the run
// stopped and nothing is pending or being polled.
void GrpcBench::PollLoop() {
  const auto spacing = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / o_.max_poll_rate));
  TimePoint next_allowed = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (pending_.empty()) {
      if (stopping_ && polls_in_flight_ == 0) return;
      cv_.wait(lock);
      continue;
    }
    const TimePoint next = std::max(pending_.top().next_poll, next_allowed);
    const TimePoint now = Clock::now();
    if (next > now) {
      cv_.wait_until(lock, next);
      continue;
    }
    // Spacing from the previous poll's slot, without saving up a burst while idle.
    next_allowed = std::max(next_allowed + spacing, now - 10 * spacing);
    Pending p = pending_.top();
    pending_.pop();
    ++polls_in_flight_;
    lock.unlock();
    Poll(std::move(p));
    lock.lock();
  }
}

void GrpcBench::Poll(Pending p) {
  clv1::GetClassificationRequest req;
  req.set_customer_id(p.customer_id);
  const TimePoint sent = Clock::now();
  auto invoke = [stub = classification_.Pick()](auto* c, auto* rq, auto* rs,
                                                std::function<void(grpc::Status)> f) {
    stub->async()->GetClassification(c, rq, rs, std::move(f));
  };
  // Recorded here rather than in Call: NOT_FOUND is an expected answer, not an error.
  struct State {
    grpc::ClientContext ctx;
    clv1::GetClassificationRequest req;
    clv1::GetClassificationResponse resp;
  };
  auto state = std::make_shared<State>();
  state->req = std::move(req);
  state->ctx.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  state->ctx.AddMetadata(std::string(auth::kAuthorizationKey), bearer_);
  invoke(&state->ctx, &state->req, &state->resp,
         std::function<void(grpc::Status)>([this, state, p, sent](grpc::Status s) mutable {
           const TimePoint now = Clock::now();
           const bool not_yet = s.error_code() == grpc::StatusCode::NOT_FOUND;
           Record(kGetClassification, sent, now, s.ok() || not_yet, s);
           std::lock_guard<std::mutex> lock(mu_);
           --polls_in_flight_;
           if (s.ok()) {
             if (stats_->InWindow(p.acked)) propagation_ms_.push_back(Ms(now - p.acked));
           } else if (now - p.acked > kPropagationTimeout) {
             if (lost_++ == 0) first_lost_ = p.customer_id;
           } else {
             p.next_poll = sent + std::chrono::milliseconds(o_.poll_interval_ms);
             pending_.push(std::move(p));
           }
           cv_.notify_all();
         }));
}

// --- driving the load ---

void GrpcBench::OpFinished(bool ok) {
  if (!ok) {
    ops_failed_.fetch_add(1, std::memory_order_relaxed);
  } else if (stats_->InWindow(Clock::now())) {
    ops_ok_.fetch_add(1, std::memory_order_relaxed);
  }
}

// One closed-loop caller: the next operation starts when the previous one returned,
// until the window closes.
void GrpcBench::DriveClosed(int caller) {
  if (Clock::now() >= window_end_) {
    std::lock_guard<std::mutex> lock(mu_);
    if (--active_ == 0) cv_.notify_all();
    return;
  }
  op_(Clock::now(), [this, caller](bool ok) {
    OpFinished(ok);
    DriveClosed(caller);
  });
}

// Open loop: operation i is due at start + i / rate; it is sent then, or as soon as
// one of the o_.callers in-flight slots frees up; its latency counts from when it
// was due either way.
void GrpcBench::DriveOpen() {
  const double interval_ns = 1e9 / o_.rate;
  for (uint64_t i = 0;; ++i) {
    const TimePoint due =
        start_ + std::chrono::nanoseconds(static_cast<int64_t>(interval_ns * static_cast<double>(i)));
    if (due >= window_end_) break;
    std::this_thread::sleep_until(due);
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Operations still waiting for a slot when the window closes are not sent
      // (counted as unsent), so an overload does not drag the run on.
      if (!cv_.wait_until(lock, window_end_, [&] { return active_ < o_.callers; })) {
        const double window_ns = static_cast<double>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(window_end_ - start_).count());
        ops_unsent_ = static_cast<uint64_t>(std::ceil(window_ns / interval_ns)) - i;
        break;
      }
      ++active_;
    }
    max_late_ = std::max(max_late_, Clock::now() - due);
    ++ops_sent_;
    op_(due, [this](bool ok) {
      OpFinished(ok);
      std::lock_guard<std::mutex> lock(mu_);
      --active_;
      cv_.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return active_ == 0; });
}

void GrpcBench::Drive() {
  op_ = OperationFor(o_.scenario);
  start_ = Clock::now();
  window_start_ = start_ + std::chrono::microseconds(static_cast<int64_t>(o_.warmup_seconds * 1e6));
  window_end_ = window_start_ + std::chrono::microseconds(static_cast<int64_t>(o_.seconds * 1e6));
  stats_ = std::make_unique<Stats>(window_start_, window_end_);
  std::thread sampler;
  if (o_.server_pid > 0) {
    sampler = std::thread([this] {
      std::this_thread::sleep_until(window_start_);
      server_before_ = ReadProcessUsage(o_.server_pid);
      std::this_thread::sleep_until(window_end_);
      server_after_ = ReadProcessUsage(o_.server_pid);
    });
  }
  std::thread poller;
  if (o_.scenario == "propagation") poller = std::thread([this] { PollLoop(); });
  if (o_.rate > 0) {
    DriveOpen();
  } else {
    {
      std::lock_guard<std::mutex> lock(mu_);
      active_ = o_.callers;
    }
    for (int i = 0; i < o_.callers; ++i) DriveClosed(i);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return active_ == 0; });
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (poller.joinable()) poller.join();
  if (sampler.joinable()) sampler.join();
}

void GrpcBench::PrintHeader() const {
  std::printf("crm-bench grpc: scenario %s: %s\n", o_.scenario.c_str(), Describe(o_.scenario).c_str());
  if (o_.rate > 0) {
    std::printf(
        "  open loop: %.1f operations/s on a fixed schedule (one every %.3f ms), at most %d in "
        "flight;\n    an operation's first call is timed from its scheduled send time (a late "
        "send counts as latency)\n",
        o_.rate, 1e3 / o_.rate, o_.callers);
  } else {
    std::printf("  closed loop: %d callers, each starting its next operation when the last returned\n",
                o_.callers);
  }
  std::vector<std::string> targets;
  if (!customer_.empty()) targets.push_back("customer " + customer_.addr());
  if (!interaction_.empty()) targets.push_back("interaction " + interaction_.addr());
  if (!ticket_.empty()) targets.push_back("ticket " + ticket_.addr());
  if (!classification_.empty()) targets.push_back("classification " + classification_.addr());
  if (!health_.empty()) {
    targets.push_back(noop_server_ ? "in-process no-op server (health service only) " + noop_addr_
                                   : "crm-customer " + health_.addr());
  }
  std::printf("  targets: %s; %d channels (TCP connections) each; gRPC callback API; %u hardware "
              "threads\n",
              absl::StrJoin(targets, ", ").c_str(), o_.channels, std::thread::hardware_concurrency());
  if (needs_.token) std::printf("  token: %s\n", token_origin_.c_str());
  std::printf("  window: %.1f s warm-up, then %.1f s measured (steady clock; a call counts when it "
              "returns inside the window; errors count from the start)\n",
              o_.warmup_seconds, o_.seconds);
  if (needs_.preload && o_.existing > 0) {
    std::printf("  existing: %zu customers' ids from ListCustomers in %.2f s (not measured); "
                "list region %s\n",
                customers_.size(), preload_seconds_, list_region_.c_str());
  } else if (needs_.preload) {
    std::printf("  preload: %zu customers in %.2f s (not measured)\n", customers_.size(),
                preload_seconds_);
  }
  if (o_.scenario == "propagation") {
    std::printf("  propagation: from RegisterCustomer returning to the GetClassification call that "
                "found the customer returning;\n    each pending customer polled every %d ms or "
                "less often (at most %.0f polls/s in all; NOT_FOUND = not yet); counted for\n"
                "    registrations acknowledged in the window\n",
                o_.poll_interval_ms, o_.max_poll_rate);
  }
  std::printf("\n");
}

int GrpcBench::Report() {
  const double window_s = std::chrono::duration<double>(window_end_ - window_start_).count();
  std::printf("%-22s %9s %10s %9s %9s %9s %9s  %s\n", "method", "calls", "ops/s", "p50 ms", "p95 ms",
              "p99 ms", "p99.9 ms", "errors");
  uint64_t errors = 0;
  for (const Stats::RowResult& r : stats_->Results()) {
    std::vector<std::string> codes;
    for (const auto& [code, n] : r.errors) {
      codes.push_back(absl::StrCat(CodeName(code), "=", n));
      errors += n;
      PrintError(absl::StrCat(kRowNames[r.row], ": ", n, " x ", CodeName(code),
                              ", first: ", r.first_error.at(code)));
    }
    const Percentiles& p = r.latency;
    std::printf("%-22s %9zu %10.1f %9.2f %9.2f %9.2f %9.2f  %s\n", kRowNames[r.row], p.n,
                static_cast<double>(p.n) / window_s, p.p50, p.p95, p.p99, p.p999,
                codes.empty() ? "0" : absl::StrJoin(codes, " ").c_str());
  }
  const double rate = static_cast<double>(ops_ok_.load()) / window_s;
  if (o_.rate > 0) {
    std::printf("open loop: offered %.1f/s, %lu operations sent, %lu not sent (no free slot before "
                "the window closed), %.1f/s succeeded in the window; latest send %.2f ms behind "
                "schedule\n",
                o_.rate, static_cast<unsigned long>(ops_sent_),
                static_cast<unsigned long>(ops_unsent_), rate, Ms(max_late_));
  }
  if (o_.scenario == "propagation") {
    Percentiles p = Summarize(propagation_ms_);
    if (lost_ > 0) {
      PrintError(absl::StrCat(lost_, " registered customers never became visible in ",
                              kPropagationTimeout.count(), " s (first: ", first_lost_, ")"));
    }
    errors += lost_;
    std::printf("propagation (RegisterCustomer acknowledged -> GetClassification finds it): "
                "p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms  (n=%zu, lost %lu)\n",
                p.p50, p.p95, p.p99, p.max, p.n, static_cast<unsigned long>(lost_));
    std::printf("errors: %lu\n", static_cast<unsigned long>(errors));
    std::printf("propagation p99 ms: %.1f\n", p.p99);
  } else {
    std::printf("errors: %lu\n", static_cast<unsigned long>(errors));
    if (o_.server_pid > 0) {
      const uint64_t calls = ops_ok_.load();
      if (!server_before_.ok || !server_after_.ok || calls == 0) {
        PrintError(absl::StrCat("could not read /proc/", o_.server_pid, " (or no call)"));
      } else {
        std::printf("server %d: %.2f context switches/call, %.1f us CPU/call (window)\n",
                    o_.server_pid,
                    static_cast<double>(server_after_.context_switches -
                                        server_before_.context_switches) / calls,
                    1e6 * (server_after_.cpu_seconds - server_before_.cpu_seconds) / calls);
      }
    }
    std::printf("rate %s: %.1f\n", o_.scenario.c_str(), rate);
  }
  std::fflush(stdout);
  return errors == 0 && ops_failed_.load() == 0 ? 0 : 1;
}

// --- generate ---

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::ABORTED || code == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

GrpcBench::PhaseResult GrpcBench::RunPhase(const char* kind, int64_t count, const Item& item) {
  PhaseResult r;
  const TimePoint t0 = Clock::now();
  TimePoint next_progress = t0 + kProgressInterval;
  std::mutex mu;
  std::condition_variable cv;
  int64_t next = 0, running = 0;
  // Every item carries its own command id, so that a retry of a write that did
  // happen returns its first result rather than writing twice.
  std::function<void(int64_t, int)> start = [&](int64_t i, int attempt) {
    item(i, [&, i, attempt](const grpc::Status& s) {
      if (!s.ok() && attempt < kMaxAttempts && Retryable(s.error_code())) {
        {
          std::lock_guard<std::mutex> lock(mu);
          ++r.retries;
        }
        return start(i, attempt + 1);
      }
      std::lock_guard<std::mutex> lock(mu);
      --running;
      if (s.ok()) {
        ++r.ok;
      } else if (r.failed++ == 0) {
        r.first_error = absl::StrCat(CodeName(s.error_code()), " ", s.error_message());
      }
      cv.notify_all();
    });
  };
  std::unique_lock<std::mutex> lock(mu);
  while (true) {
    if (next < count && running < o_.callers && r.failed < kMaxGenerateFailures) {
      const int64_t i = next++;
      ++running;
      lock.unlock();
      start(i, 1);
      lock.lock();
      continue;
    }
    if (running == 0 && (next >= count || r.failed >= kMaxGenerateFailures)) break;
    if (cv.wait_until(lock, next_progress) == std::cv_status::timeout) {
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      std::fprintf(stderr, "crm-bench grpc: generate %s: %ld/%ld (%.1f%%), %.1f/s, failed %ld\n",
                   kind, static_cast<long>(r.ok), static_cast<long>(count),
                   100.0 * static_cast<double>(r.ok) / static_cast<double>(count),
                   static_cast<double>(r.ok) / s, static_cast<long>(r.failed));
      next_progress += kProgressInterval;
    }
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

void GrpcBench::GenCustomer(int64_t i, ItemDone done) {
  cv1::RegisterCustomerRequest req;
  req.mutable_options()->set_command_id(absl::StrCat("crm-bench-", run_tag_, "-customer-", i));
  req.mutable_basic()->set_name(absl::StrCat("crm-bench ", run_tag_, " customer ", i + 1));
  const auto n = static_cast<uint64_t>(i);
  req.mutable_basic()->set_industry(kIndustries[n % kIndustries.size()]);
  req.set_region(kRegions[(n / kIndustries.size()) % kRegions.size()]);
  Call<cv1::RegisterCustomerResponse>(
      kRegister, Clock::now(), std::move(req),
      [stub = customer_.Pick()](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
        stub->async()->RegisterCustomer(c, rq, rs, std::move(f));
      },
      [this, i, n, done](const grpc::Status& s, const cv1::RegisterCustomerResponse& r) {
        if (!s.ok()) return done(s);
        generated_[static_cast<size_t>(i)] = r.customer_id();
        // One sale in the last 300 days, 1,000 to 1,000,000 CNY: revenue to classify by.
        cv1::RecordTransactionRequest tx;
        tx.set_customer_id(r.customer_id());
        tx.mutable_options()->set_command_id(absl::StrCat("crm-bench-", run_tag_, "-tx-", i));
        cv1::Transaction* t = tx.mutable_transaction();
        t->set_party(cv1::TRANSACTION_PARTY_OWN_COMPANY);
        t->mutable_amount()->set_currency_code("CNY");
        t->mutable_amount()->set_amount_minor(static_cast<int64_t>(100000 * (1 + (n * 7919) % 1000)));
        const std::string date = absl::FormatTime(
            "%Y-%m-%d", absl::Now() - absl::Hours(24 * static_cast<int64_t>(1 + n % 300)),
            absl::UTCTimeZone());
        t->set_date(date);
        t->set_paid_date(date);
        Call<cv1::RecordTransactionResponse>(
            kRecordTransaction, Clock::now(), std::move(tx),
            [stub = customer_.Pick()](auto* c, auto* rq, auto* rs,
                                      std::function<void(grpc::Status)> f) {
              stub->async()->RecordTransaction(c, rq, rs, std::move(f));
            },
            [done](const grpc::Status& s2, const cv1::RecordTransactionResponse&) { done(s2); });
      });
}

void GrpcBench::GenFollowUp(int64_t i, ItemDone done) {
  iv1::LogFollowUpRequest req;
  req.mutable_options()->set_command_id(absl::StrCat("crm-bench-", run_tag_, "-follow-up-", i));
  req.set_customer_id(generated_[static_cast<size_t>(i) % generated_.size()]);
  req.mutable_follow_up()->set_channel(iv1::CHANNEL_PHONE);
  req.mutable_follow_up()->set_content(absl::StrCat("crm-bench follow-up ", i + 1));
  Call<iv1::CreateResponse>(
      kLogFollowUp, Clock::now(), std::move(req),
      [stub = interaction_.Pick()](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
        stub->async()->LogFollowUp(c, rq, rs, std::move(f));
      },
      [done](const grpc::Status& s, const iv1::CreateResponse&) { done(s); });
}

void GrpcBench::GenTicket(int64_t i, ItemDone done) {
  tv1::OpenTicketRequest req;
  req.mutable_options()->set_command_id(absl::StrCat("crm-bench-", run_tag_, "-ticket-", i));
  // A stride through the customers, so tickets do not follow the follow-ups' order.
  const size_t c = static_cast<size_t>((static_cast<uint64_t>(i) * 7919) % generated_.size());
  req.set_customer_id(generated_[c]);
  req.set_type(tv1::TICKET_TYPE_CONSULTATION);
  req.set_channel(tv1::TICKET_CHANNEL_PHONE);
  req.set_subject(absl::StrCat("crm-bench ticket ", i + 1));
  Call<tv1::OpenTicketResponse>(
      kOpenTicket, Clock::now(), std::move(req),
      [stub = ticket_.Pick()](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
        stub->async()->OpenTicket(c, rq, rs, std::move(f));
      },
      [done](const grpc::Status& s, const tv1::OpenTicketResponse&) { done(s); });
}

void GrpcBench::GenOpportunity(int64_t i, ItemDone done) {
  const uint64_t n = static_cast<uint64_t>(i);
  iv1::CreateOpportunityRequest req = OpportunityRequest(
      generated_[static_cast<size_t>((n * 7919) % generated_.size())], n, n % 3 == 0 ? "USD" : "CNY");
  req.mutable_options()->set_command_id(absl::StrCat("crm-bench-", run_tag_, "-opportunity-", i));
  iv1::SalesService::Stub* stub = sales_.Pick();
  Call<iv1::CreateOpportunityResponse>(
      kCreateOpportunity, Clock::now(), std::move(req),
      [stub](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
        stub->async()->CreateOpportunity(c, rq, rs, std::move(f));
      },
      [this, stub, i, n, done](const grpc::Status& s, const iv1::CreateOpportunityResponse& r) {
        if (!s.ok() || n % 5 == 0) return done(s);
        const std::string command_id = absl::StrCat("crm-bench-", run_tag_, "-opportunity-", i, "-2");
        if (n % 5 == 4) {
          iv1::WinOpportunityRequest win;
          win.mutable_options()->set_command_id(command_id);
          win.set_opportunity_id(r.opportunity_id());
          win.mutable_final_amount()->set_currency_code(n % 3 == 0 ? "USD" : "CNY");
          win.mutable_final_amount()->set_amount_minor(static_cast<int64_t>(90000 * (1 + n % 997)));
          return Call<iv1::WriteResponse>(
              kWinOpportunity, Clock::now(), std::move(win),
              [stub](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
                stub->async()->WinOpportunity(c, rq, rs, std::move(f));
              },
              [done](const grpc::Status& s2, const iv1::WriteResponse&) { done(s2); });
        }
        iv1::MoveOpportunityStageRequest move;
        move.mutable_options()->set_command_id(command_id);
        move.set_opportunity_id(r.opportunity_id());
        move.set_stage(static_cast<iv1::OpportunityStage>(1 + n % 5));  // NA, P, N
        Call<iv1::WriteResponse>(
            kMoveOpportunityStage, Clock::now(), std::move(move),
            [stub](auto* c, auto* rq, auto* rs, std::function<void(grpc::Status)> f) {
              stub->async()->MoveOpportunityStage(c, rq, rs, std::move(f));
            },
            [done](const grpc::Status& s2, const iv1::WriteResponse&) { done(s2); });
      });
}

int GrpcBench::Generate() {
  std::printf("crm-bench grpc: scenario generate: %s\n", Describe(o_.scenario).c_str());
  std::vector<std::string> targets = {"customer " + customer_.addr()};
  if (!interaction_.empty()) targets.push_back("interaction " + interaction_.addr());
  if (!ticket_.empty()) targets.push_back("ticket " + ticket_.addr());
  if (!sales_.empty()) targets.push_back("sales " + sales_.addr());
  std::printf("  targets: %s; %d channels each; %d items in flight; %u hardware threads\n",
              absl::StrJoin(targets, ", ").c_str(), o_.channels, o_.callers,
              std::thread::hardware_concurrency());
  std::printf("  token: %s\n", token_origin_.c_str());
  std::printf("  customers: %ld (regions %s; industries %s), interactions: %ld, tickets: %ld, "
              "opportunities: %ld; run tag %s\n\n",
              static_cast<long>(o_.customers), absl::StrJoin(kRegions, ",").c_str(),
              absl::StrJoin(kIndustries, ",").c_str(), static_cast<long>(o_.interactions),
              static_cast<long>(o_.tickets), static_cast<long>(o_.opportunities), run_tag_.c_str());
  std::fflush(stdout);
  generated_.assign(static_cast<size_t>(o_.customers), std::string());
  int64_t errors = 0, items = 0;
  double seconds = 0;
  auto phase = [&](const char* kind, const char* what, int64_t count, Item item) {
    if (count == 0 || errors > 0) return;
    PhaseResult r = RunPhase(kind, count, item);
    if (r.failed > 0) {
      PrintError(absl::StrCat("generate ", kind, ": ", r.failed, " failed, first: ", r.first_error));
    }
    const int64_t missing = count - r.ok - r.failed;
    if (missing > 0) PrintError(absl::StrCat("generate ", kind, ": ", missing, " not started"));
    errors += r.failed + missing;
    items += r.ok;
    seconds += r.seconds;
    std::printf("generate %s: %ld in %.1f s, %.1f/s (%s), failed %ld, retries %ld\n", kind,
                static_cast<long>(r.ok), r.seconds, static_cast<double>(r.ok) / r.seconds, what,
                static_cast<long>(r.failed), static_cast<long>(r.retries));
    std::fflush(stdout);
  };
  phase("customers", "RegisterCustomer + RecordTransaction each", o_.customers,
        [this](int64_t i, ItemDone d) { GenCustomer(i, std::move(d)); });
  phase("interactions", "LogFollowUp", o_.interactions,
        [this](int64_t i, ItemDone d) { GenFollowUp(i, std::move(d)); });
  phase("tickets", "OpenTicket", o_.tickets,
        [this](int64_t i, ItemDone d) { GenTicket(i, std::move(d)); });
  phase("opportunities", "CreateOpportunity + a move or a win for 4 in 5", o_.opportunities,
        [this](int64_t i, ItemDone d) { GenOpportunity(i, std::move(d)); });
  std::printf("errors: %ld\n", static_cast<long>(errors));
  std::printf("rate generate: %.1f\n", seconds > 0 ? static_cast<double>(items) / seconds : 0.0);
  std::fflush(stdout);
  return errors == 0 ? 0 : 1;
}

int GrpcBench::Run() {
  if (absl::Status s = Setup(); !s.ok()) {
    PrintError(s.ToString());
    return 1;
  }
  if (o_.scenario == "generate") {
    if (o_.customers <= 0 && (o_.interactions > 0 || o_.tickets > 0 || o_.opportunities > 0)) {
      PrintError("generate: --interactions, --tickets and --opportunities need --customers > 0");
      return 1;
    }
    const int rc = Generate();
    WaitForCalls();
    return rc;
  }
  if (absl::Status s = Preload(); !s.ok()) {
    PrintError(s.ToString());
    return 1;
  }
  PrintHeader();
  std::fflush(stdout);
  Drive();
  WaitForCalls();
  const int rc = Report();
  if (noop_server_) noop_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  return rc;
}

}  // namespace

CLI::App* AddGrpcSubcommand(CLI::App& app, GrpcBenchOptions* options) {
  CLI::App* cmd = app.add_subcommand(
      "grpc",
      "Load on the services' public gRPC APIs (callback API): per-method throughput, latency "
      "percentiles and errors; closed loop (--callers) or open loop (--rate)");
  cmd->add_option("--scenario", options->scenario,
                  "register | update | log-interaction | ticket | get | list | mixed | noop | "
                  "propagation | opportunity | pipeline-report | generate")
      ->required()
      ->check(CLI::IsMember({"register", "update", "log-interaction", "ticket", "get", "list",
                             "mixed", "noop", "propagation", "opportunity", "pipeline-report",
                             "generate"}));
  cmd->add_option("--callers", options->callers,
                  "Operations in flight (closed loop); their cap in the open loop")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--seconds", options->seconds, "Measured seconds (after the warm-up)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--warmup_seconds", options->warmup_seconds, "Seconds run before the window, not counted")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--rate", options->rate,
                  "Operations per second on a fixed schedule (open loop); 0 = closed loop "
                  "(propagation: default 10)")
      ->check(CLI::Range(0.0, 1e7))
      ->capture_default_str();
  cmd->add_option("--customer_addr", options->customer_addr,
                  "crm-customer host:port (default 127.0.0.1:50051; noop: the health check target, "
                  "default an in-process no-op server)");
  cmd->add_option("--interaction_addr", options->interaction_addr,
                  "crm-interaction host:port (default 127.0.0.1:50052)");
  cmd->add_option("--ticket_addr", options->ticket_addr, "crm-ticket host:port (default 127.0.0.1:50053)");
  cmd->add_option("--classification_addr", options->classification_addr,
                  "crm-classification host:port (default 127.0.0.1:50054)");
  CLI::Option* secret = cmd->add_option(
      "--jwt_secret_file", options->jwt_secret_file,
      "HS256 secret to mint the token (sub bench, roles executive, region north); default the "
      "repository's dev secret");
  CLI::Option* token =
      cmd->add_option("--token", options->token, "Bearer token to send instead of minting one");
  secret->excludes(token);
  cmd->add_option("--preload", options->preload,
                  "Customers registered first (not measured) for update, log-interaction, ticket, "
                  "get, list, mixed")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();
  cmd->add_option("--existing", options->existing,
                  "> 0: instead of --preload, use up to this many existing customers (their ids "
                  "from ListCustomers pages, the list region from the first)")
      ->check(CLI::Range(0, 100000000))
      ->capture_default_str();
  cmd->add_option("--customers", options->customers,
                  "generate: customers to register, each with one transaction")
      ->check(CLI::Range(int64_t{0}, int64_t{100000000}))
      ->capture_default_str();
  cmd->add_option("--interactions", options->interactions,
                  "generate: follow-ups to log, spread over the customers")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000000}))
      ->capture_default_str();
  cmd->add_option("--tickets", options->tickets, "generate: tickets to open, spread over the customers")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000000}))
      ->capture_default_str();
  cmd->add_option("--opportunities", options->opportunities,
                  "generate: opportunities to create, spread over the customers (then a stage "
                  "move or a win for four in five)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000000}))
      ->capture_default_str();
  cmd->add_option("--as_of_seconds_ago", options->as_of_seconds_ago,
                  "pipeline-report: > 0 asks for the report as of this many seconds ago")
      ->check(CLI::Range(0.0, 1e10))
      ->capture_default_str();
  cmd->add_option("--channels", options->channels, "gRPC channels (TCP connections) per service")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--server_pid", options->server_pid,
                  "Also print the context switches and CPU time per call of this process "
                  "(the service under load) over the window, from /proc")
      ->check(CLI::Range(0, 1 << 30))
      ->capture_default_str();
  cmd->add_option("--poll_interval_ms", options->poll_interval_ms,
                  "propagation: how often each pending customer is polled")
      ->check(CLI::Range(1, 60000))
      ->capture_default_str();
  cmd->add_option("--max_poll_rate", options->max_poll_rate,
                  "propagation: GetClassification polls per second in all, at most (a backlog of "
                  "pending customers then means each is polled less often)")
      ->check(CLI::Range(1.0, 1e6))
      ->capture_default_str();
  return cmd;
}

void RunGrpcBench(const GrpcBenchOptions& options) {
  // Ends the process here, without destroying the bench's channels and stubs or
  // running gRPC's teardown at exit: that teardown raced gRPC's own threads now and
  // then after every call had finished ("ref_counted.h: assertion failed: prior >
  // 0", SIGABRT, seen in the smoke test after the figures were printed). Every
  // figure is on stdout by then; nothing else is left to flush or close.
  auto* bench = new GrpcBench(options);
  const int rc = bench->Run();
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(rc);
}

}  // namespace crm::bench
