// The command pipeline: the one write path of every service. A service declares
// its aggregate's parts once (stream naming, apply, event type, partition key,
// projection rows) and each command as one Command: how to load what it acts on
// (with the access check), the pure decision, and the answer. The pipeline does
// the rest, the same way for every RPC and background worker:
//
//   1. bounds on the request (ids, repeated fields)                INVALID_ARGUMENT
//   2. load the target and check the caller's access      NOT_FOUND, PERMISSION_DENIED
//   3. a command id seen before, for this caller and this RPC: the first answer,
//      exactly; the same id with another request                 INVALID_ARGUMENT
//   4. the expected version                                 ABORTED with the current one
//   5. decide (pure; after an optional read, `prepare`), each event within the
//      size limit                                      INVALID_ARGUMENT naming the field
//   6. fold, projection rows, the answer; one asynchronous append with the command
//      record; the event store's completion thread finishes the call once the
//      group commit holding it is durable
//   7. a write that lost a race is decided again on fresh state (bounded), unless
//      the caller pinned an expected version; from then on the stream's writes
//      take turns until the race is over, so every one of them gets through
//
//   const command::Aggregate<v1::Customer, v1::CustomerEvent> kCustomer{...};
//   const command::Command<..., v1::AddContactRequest, v1::AddContactResponse> kAddContact{
//       .aggregate = &kCustomer, .rpc = "AddContact", .options = ..., .load = ...,
//       .decide = ..., .respond = ...};
//   pipeline.Run(kAddContact, who, request, &response, [reactor](absl::Status s) {...});
//   absl::StatusOr<v1::AddContactResponse> r = pipeline.Execute(kAddContact, who, request);
//
// Why the asynchronous append and the scoped command ids:
// docs/adr/0006-one-command-pipeline.md.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "crm/auth/principal.h"
#include "crm/command/limits.h"
#include "crm/common/clock.h"
#include "crm/common/field_errors.h"
#include "crm/common/ids.h"
#include "crm/common/thread_pool.h"
#include "crm/domain/aggregate.h"
#include "crm/eventstore/event_store.h"
#include "google/protobuf/message.h"

namespace crm::command {

// Finishes a call with its status (the response, when OK, is filled before).
using Done = std::function<void(absl::Status)>;

// An aggregate's parts, declared once per aggregate type. State is the folded
// read model (a proto with version()), Event the domain's event oneof message.
template <typename S, typename E>
struct Aggregate {
  using State = S;
  using Event = E;
  // For messages: "customer" in "customer c-1 is at version 3, expected 2".
  std::string name;
  // The aggregate with id X is the stream stream_prefix + X ("customer-" + id;
  // a singleton, like a configuration, is the stream of id "").
  std::string stream_prefix;
  // The projection whose row, keyed by id, holds the folded state (what a
  // rebuild reads the state before each event from); "" when none does.
  std::string state_projection;
  // Folds one event (never fails).
  std::function<void(S&, const E&, const domain::EventMeta&)> apply;
  // "crm.<domain>.v1.<Message>".
  std::function<std::string(const E&)> event_type;
  // The Kafka key: the customer the event concerns.
  std::function<std::string(const E&)> partition_key;
  // The read-model rows the change from `before` to `after` writes.
  std::function<std::vector<eventstore::ProjectionWrite>(const S& before, const S& after,
                                                         const std::vector<E>& events,
                                                         absl::Time now)>
      rows;
};

// What a command acts on, as its load found it (after the access check): the
// aggregate's id and state (version 0: it does not exist yet, the command
// creates it), and what else the decision needs (X: a resolved customer, an SLA
// engine, ...).
template <typename S, typename X = std::monostate>
struct Target {
  std::string id;
  S state;
  X context{};
};

// What the decision may use besides target and request: who decides, and when.
struct Decision {
  std::string actor;
  absl::Time now;
};

// A command that was applied: the state before and after, the new version
// (unchanged when the decision had no events), the events and their ids.
template <typename S, typename E>
struct Outcome {
  const S& before;
  S after;
  uint64_t version = 0;
  const std::vector<E>& events;
  std::vector<std::string> event_ids;
};

// A request's command id and expected version (every write request's
// options).
struct WriteOptions {
  std::string command_id;
  std::optional<uint64_t> expected_version;
  // Where the request holds the command id, for error messages.
  std::string command_id_field = "options.command_id";
  // For a command that reacts to another event (a consumer's follow-up): that
  // event's id, and the id its chain shares, copied into the envelope of every
  // event the command appends (causation_id, correlation_id); "" = none.
  std::string causation_id;
  std::string correlation_id;

  // From a service's v1.WriteOptions message (the request's `options`).
  template <typename Proto>
  static WriteOptions Of(const Proto& o) {
    return {o.command_id(), o.has_expected_version() ? std::optional<uint64_t>(o.expected_version())
                                                     : std::nullopt};
  }
  // From a request that holds command_id and expected_version itself.
  template <typename Request>
  static WriteOptions OfRequest(const Request& r) {
    WriteOptions o = Of(r);
    o.command_id_field = "command_id";
    return o;
  }
};

// One command over aggregate A: a request type, a response type, and the
// service's parts. X is the extra context its load hands the decision.
template <typename A, typename Req, typename Resp, typename X = std::monostate>
struct Command {
  using State = typename A::State;
  using Event = typename A::Event;
  using AggregateType = A;
  using TargetType = Target<State, X>;
  using Request = Req;
  using Response = Resp;

  const A* aggregate = nullptr;
  // The RPC (or worker duty) name: scopes command ids, with the caller.
  std::string rpc;
  // The request's command id and expected version; none when unset.
  std::function<WriteOptions(const Req&)> options;
  // Loads the target and checks `who` may run the command on it.
  std::function<absl::StatusOr<TargetType>(const auth::Principal& who, const Req&)> load;
  // Reads what the decision needs that must come after the replay check, into
  // the target's context (customer registration's duplicate lookup: a replay
  // would find the customer its first attempt registered). May fail the
  // command. May be empty.
  std::function<absl::Status(TargetType&, const Req&)> prepare;
  // The pure decision: events (empty: nothing changes) or an error.
  std::function<absl::StatusOr<std::vector<Event>>(const TargetType&, const Req&,
                                                   const Decision&)>
      decide;
  // Fills the answer of an applied command.
  std::function<void(const TargetType&, const Outcome<State, Event>&, Resp&)> respond;
  // Rows besides the aggregate's own (a work queue), committed with the events;
  // may be empty.
  std::function<void(const TargetType&, const std::vector<Event>&,
                      std::vector<eventstore::ProjectionWrite>&)>
      extra_rows;
  // Sets data of the state that no event carries (classification's copy of the
  // customer's owner, region and industry) after the events are folded; returns
  // true when it changed something, so the rows are written even without
  // events. May be empty.
  std::function<bool(const TargetType&, State& after)> refresh;
};

// Calls `start(done)` and waits until `done` ran; returns the status it got.
// For callers that may block (workers, tests, tools), never a gRPC thread.
template <typename Start>
absl::Status RunAndWait(Start start) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<absl::Status> status;
  start([&](absl::Status s) {
    // Notified under the lock: the waiter may return (and destroy `cv`) as soon
    // as it sees the status.
    std::lock_guard<std::mutex> lock(mu);
    status = std::move(s);
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return status.has_value(); });
  return *std::move(status);
}

// Fills a service's v1.WriteResponse (version, event ids) from an outcome.
template <typename W, typename S, typename E>
void FillWrite(const Outcome<S, E>& outcome, W& write) {
  write.set_version(outcome.version);
  for (const std::string& id : outcome.event_ids) write.add_event_ids(id);
}

struct PipelineOptions {
  eventstore::EventStore* store = nullptr;  // required
  const Clock* clock = &SystemClock();
  Limits limits;
  // Decisions of one command, at most, when appends keep losing races.
  int max_attempts = 5;
};

// Thread safety: Run and Execute may be called from any thread, concurrently.
// Lifecycle: the store, the clock and every Command must outlive the pipeline;
// destroying it waits for the commands it is running.
class Pipeline {
 public:
  explicit Pipeline(PipelineOptions options);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Runs `command` for `who` and calls `done` once, with `*response` filled when
  // OK. Runs on the calling thread up to the append (reads, decision), and
  // finishes on the event store's completion thread once the append is durable (or at
  // once, on the calling thread, when nothing is to be written or it failed
  // before). `request` and `response` must stay valid until `done` runs.
  template <typename C>
  void Run(const C& command, const auth::Principal& who, const typename C::Request& request,
           typename C::Response* response, Done done);

  // Run, waiting for the outcome: for background workers and tests.
  template <typename C>
  absl::StatusOr<typename C::Response> Execute(const C& command, const auth::Principal& who,
                                               const typename C::Request& request);

  eventstore::EventStore& store() const { return store_; }
  const Clock& clock() const { return clock_; }
  const Limits& limits() const { return limits_; }

 private:
  template <typename C>
  class Execution;

  // Runs `attempt` again away from the store's completion thread.
  void Retry(std::function<void()> attempt);
  void Started();
  void Finished();

  // Streams that saw a race take turns: one attempt at a time holds the stream's
  // turn, the others wait in line. Returns true when `resume` was put in line
  // (it runs, holding the turn, when the holder releases it).
  bool WaitIfContended(const std::string& stream, std::function<void()> resume);
  // After a race: takes the turn (and runs `resume` on the retry thread) or
  // waits in line for it.
  void TakeTurn(const std::string& stream, std::function<void()> resume);
  // The holder is done with the stream: the next in line gets the turn.
  void ReleaseTurn(const std::string& stream);

  eventstore::EventStore& store_;
  const Clock& clock_;
  const Limits limits_;
  const int max_attempts_;

  std::mutex mu_;
  std::condition_variable idle_;
  size_t running_ = 0;

  std::mutex turns_mu_;
  // Contended stream -> attempts waiting for its turn (an entry: the turn is held).
  std::map<std::string, std::deque<std::function<void()>>> turns_;

  std::unique_ptr<ThreadPool> retry_;
};

// ---------------------------------------------------------------------------
// Implementation

template <typename C>
class Pipeline::Execution {
 public:
  using State = typename C::State;
  using Event = typename C::Event;
  using Req = typename C::Request;
  using Resp = typename C::Response;

  Execution(Pipeline& pipeline, const C& command, const auth::Principal& who, const Req& request,
            Resp* response, Done done)
      : pipeline_(pipeline),
        command_(command),
        who_(who),
        request_(request),
        response_(response),
        done_(std::move(done)) {}

  void Start() {
    if (absl::Status s = Prepare(); !s.ok()) return Finish(s);
    Attempt();
  }

 private:
  // What every attempt shares: bounds, options, the command's key.
  absl::Status Prepare() {
    if constexpr (std::is_base_of_v<google::protobuf::Message, Req>) {
      absl::Status bounds = CheckBounds(request_, pipeline_.limits_);
      if (!bounds.ok()) return bounds;
    }
    if (command_.options) options_ = command_.options(request_);
    if (!options_.command_id.empty()) {
      if constexpr (std::is_base_of_v<google::protobuf::Message, Req> &&
                    std::is_base_of_v<google::protobuf::Message, Resp>) {
        key_ = ScopedCommandKey(command_.rpc, who_.subject, options_.command_id);
        fingerprint_ = Fingerprint(request_);
      } else {
        return absl::InternalError("command ids need protobuf requests and responses");
      }
    }
    return absl::OkStatus();
  }

  void Attempt() {
    if (std::optional<absl::Status> now = Decide()) Finish(*std::move(now));
  }

  // Runs the attempt again holding the turn of `stream`.
  std::function<void()> Resume(std::string stream) {
    return [this, stream = std::move(stream)]() mutable {
      turn_ = std::move(stream);
      Attempt();
    };
  }

  // Load, replay, version check, decision, append. Returns the call's status
  // when it ends here, std::nullopt when the append's callback ends it.
  std::optional<absl::Status> Decide() {
    const typename C::AggregateType& aggregate = *command_.aggregate;
    absl::StatusOr<typename C::TargetType> loaded = command_.load(who_, request_);
    if (!loaded.ok()) return loaded.status();
    target_ = *std::move(loaded);
    stream_ = aggregate.stream_prefix + target_.id;
    // Others are taking turns on this stream after a race: wait for ours.
    if (!turn_ && pipeline_.WaitIfContended(stream_, Resume(stream_))) return std::nullopt;
    if (!key_.empty()) {
      absl::StatusOr<std::optional<eventstore::AppendResult>> first =
          pipeline_.store_.LookupCommand(key_);
      if (!first.ok()) return first.status();
      if (first->has_value()) return Replay(**first);
    }
    if (command_.prepare) {
      if (absl::Status s = command_.prepare(target_, request_); !s.ok()) return s;
    }
    const uint64_t version = target_.state.version();
    if (options_.expected_version && *options_.expected_version != version) {
      return absl::AbortedError(absl::StrCat(Named(), " is at version ", version, ", expected ",
                                             *options_.expected_version));
    }
    const Decision decision{who_.subject, pipeline_.clock_.Now()};
    absl::StatusOr<std::vector<Event>> decided = command_.decide(target_, request_, decision);
    if (!decided.ok()) return decided.status();
    events_ = *std::move(decided);

    eventstore::AppendRequest append;
    append.stream_id = stream_;
    append.expected_version = version == 0 ? eventstore::ExpectedVersion::NoStream()
                                           : eventstore::ExpectedVersion::Exactly(version);
    append.command_id = options_.command_id;
    append.command_key = key_;
    append.request_fingerprint = fingerprint_;
    Outcome<State, Event> outcome{target_.state, target_.state, version, events_, {}};
    for (const Event& e : events_) {
      eventstore::NewEvent event{.event_type = aggregate.event_type(e),
                                 .partition_key = aggregate.partition_key(e),
                                 .payload = e.SerializeAsString(),
                                 .actor = who_.subject,
                                 .correlation_id = options_.correlation_id,
                                 .causation_id = options_.causation_id,
                                 .event_id = NewIdAt(decision.now),
                                 .occurred_at = decision.now};
      if (event.payload.size() > pipeline_.limits_.max_event_bytes) {
        return TooLarge(event.payload.size());
      }
      aggregate.apply(outcome.after, e,
                      {.version = ++outcome.version, .occurred_at = decision.now,
                       .actor = who_.subject});
      outcome.event_ids.push_back(event.event_id);
      append.events.push_back(std::move(event));
    }
    const bool refreshed = command_.refresh && command_.refresh(target_, outcome.after);
    command_.respond(target_, outcome, *response_);
    if (!append.events.empty() || refreshed) {
      append.projection_writes =
          aggregate.rows(target_.state, outcome.after, events_, decision.now);
    }
    if (command_.extra_rows) command_.extra_rows(target_, events_, append.projection_writes);
    if (append.events.empty() && append.projection_writes.empty() && key_.empty()) {
      return absl::OkStatus();  // nothing to write
    }
    if constexpr (std::is_base_of_v<google::protobuf::Message, Resp>) {
      if (!key_.empty()) append.response = response_->SerializeAsString();
    }
    // `this` may be gone once AppendAsync returns (its callback may have run).
    pipeline_.store_.AppendAsync(std::move(append),
                                 [this](absl::StatusOr<eventstore::AppendResult> r) {
                                   Appended(std::move(r));
                                 });
    return std::nullopt;
  }

  void Appended(absl::StatusOr<eventstore::AppendResult> result) {
    if (result.ok()) {
      // A concurrent attempt under the same key committed first: its answer.
      if (result->duplicate) return Finish(Replay(*result));
      return Finish(absl::OkStatus());
    }
    if (result.status().code() == absl::StatusCode::kAborted && !options_.expected_version) {
      if (++races_ < pipeline_.max_attempts_) {
        *response_ = Resp();
        if (turn_) return pipeline_.Retry([this] { Attempt(); });
        return pipeline_.TakeTurn(stream_, Resume(stream_));
      }
      return Finish(
          absl::AbortedError(absl::StrCat(Named(), " is being changed concurrently; retry")));
    }
    Finish(result.status());
  }

  // The recorded answer, if the request is the one it answered.
  absl::Status Replay(const eventstore::AppendResult& first) {
    if (first.request_fingerprint != fingerprint_) {
      return InvalidField(options_.command_id_field,
                          "already used for a different request (a new command needs a new id)");
    }
    if constexpr (std::is_base_of_v<google::protobuf::Message, Resp>) {
      if (!response_->ParseFromString(first.response)) {
        return absl::DataLossError("corrupt recorded response");
      }
    }
    return absl::OkStatus();
  }

  // "customer c-1"; "SLA configuration" for a singleton.
  std::string Named() const {
    return target_.id.empty() ? command_.aggregate->name
                              : absl::StrCat(command_.aggregate->name, " ", target_.id);
  }

  absl::Status TooLarge(size_t bytes) {
    std::string field;
    if constexpr (std::is_base_of_v<google::protobuf::Message, Req>) field = LargestField(request_);
    if (field.empty()) field = "request";
    return InvalidField(field, absl::StrCat("makes an event of ", bytes, " bytes, more than the ",
                                            pipeline_.limits_.max_event_bytes, " allowed"));
  }

  void Finish(absl::Status status) {
    Pipeline& pipeline = pipeline_;
    Done done = std::move(done_);
    if (turn_) pipeline.ReleaseTurn(*turn_);
    delete this;
    done(std::move(status));
    pipeline.Finished();
  }

  Pipeline& pipeline_;
  const C& command_;
  const auth::Principal who_;
  const Req& request_;
  Resp* const response_;
  Done done_;
  WriteOptions options_;
  std::string key_;
  std::string fingerprint_;
  typename C::TargetType target_;
  std::string stream_;
  std::vector<Event> events_;
  int races_ = 0;  // appends that lost a race
  // The stream whose turn this command holds (the one it took it on, even if a
  // later attempt acts on another stream).
  std::optional<std::string> turn_;
};

template <typename C>
void Pipeline::Run(const C& command, const auth::Principal& who,
                   const typename C::Request& request, typename C::Response* response,
                   Done done) {
  Started();
  (new Execution<C>(*this, command, who, request, response, std::move(done)))->Start();
}

template <typename C>
absl::StatusOr<typename C::Response> Pipeline::Execute(const C& command,
                                                       const auth::Principal& who,
                                                       const typename C::Request& request) {
  typename C::Response response;
  absl::Status status =
      RunAndWait([&](Done done) { Run(command, who, request, &response, std::move(done)); });
  if (!status.ok()) return status;
  return response;
}

}  // namespace crm::command
