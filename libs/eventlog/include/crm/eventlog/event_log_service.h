// A service's event log over gRPC: crm.events.v1.EventLogService, served by every
// service binary (libs/service registers it), and the one streaming reactor
// behind it, which a service's own streaming RPC of its log can use with its own
// message (crm-customer's CustomerService.StreamEvents).
//
//   eventlog::EventLogServiceImpl log(store, verifier);
//   runtime.AddService(&log);
//
//   // Another message for the same log:
//   return eventlog::StreamLog<v1::StreamedEvent>(ctx, verifier_, store_,
//       req->from_position(), req->max_events(),
//       [](const eventstore::EventEnvelope& e, v1::StreamedEvent& out) { ...; return ok; });
//
// Only callers with the `admin` role may read a log (CheckAccess).
// A stream reads the log in batches of kBatch events on gRPC's callback threads,
// one write at a time (flow control: the next read waits for the client), and
// ends when a read finds nothing more or after max_events.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "crm/auth/grpc_auth.h"
#include "crm/auth/jwt.h"
#include "crm/auth/principal.h"
#include "crm/eventlog/access.h"
#include "crm/events/v1/event_log_service.grpc.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/runtime/admission.h"
#include "crm/runtime/status.h"
#include "grpcpp/grpcpp.h"

namespace crm::eventlog {

// Turns a stored event into the stream's message; an error ends the stream with it.
template <typename Msg>
using Convert = std::function<absl::Status(const eventstore::EventEnvelope& event, Msg& out)>;

// Events read from the log at a time (and held by a stream at most).
inline constexpr size_t kBatch = 64;

namespace internal {

// A stream that ends at once with its status (unauthenticated, refused).
template <typename Msg>
class FinishedWriter final : public grpc::ServerWriteReactor<Msg> {
 public:
  explicit FinishedWriter(const grpc::Status& s) { this->Finish(s); }
  void OnDone() override { delete this; }
};

// Sends the log from a position, batch by batch, until caught up or `max` sent.
template <typename Msg>
class LogStreamer final : public grpc::ServerWriteReactor<Msg> {
 public:
  LogStreamer(eventstore::EventStore& store, uint64_t from, uint64_t max, Convert<Msg> convert)
      : store_(store),
        next_(std::max<uint64_t>(from, 1)),
        remaining_(max == 0 ? UINT64_MAX : max),
        convert_(std::move(convert)) {
    WriteNext();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
    WriteNext();
  }
  // The stream held a place among the process's calls in flight (StreamLog).
  void OnDone() override {
    runtime::Admission::Default().Leave();
    delete this;
  }

 private:
  void WriteNext() {
    if (remaining_ == 0) return this->Finish(grpc::Status::OK);
    if (index_ == batch_.size()) {
      auto batch = store_.ReadAll(next_, static_cast<size_t>(std::min<uint64_t>(kBatch, remaining_)));
      if (!batch.ok()) return this->Finish(runtime::ToGrpcStatus(batch.status()));
      if (batch->empty()) return this->Finish(grpc::Status::OK);
      batch_ = *std::move(batch);
      index_ = 0;
    }
    const eventstore::EventEnvelope& e = batch_[index_++];
    next_ = e.global_position() + 1;
    --remaining_;
    current_.Clear();
    if (absl::Status s = convert_(e, current_); !s.ok()) {
      return this->Finish(runtime::ToGrpcStatus(s));
    }
    this->StartWrite(&current_);
  }

  eventstore::EventStore& store_;
  uint64_t next_;
  uint64_t remaining_;
  Convert<Msg> convert_;
  std::vector<eventstore::EventEnvelope> batch_;
  size_t index_ = 0;
  Msg current_;
};

}  // namespace internal

// The reactor of one log stream: authenticates the call, checks CheckAccess, then
// streams events from `from_position` (0 = 1) on, each converted by `convert`,
// until caught up or `max_events` (0 = no limit) were sent; RESOURCE_EXHAUSTED
// at once when --max_in_flight calls are in flight (runtime::Admission: a stream
// holds its place until it ends). The store and the verifier must outlive the
// call.
template <typename Msg>
grpc::ServerWriteReactor<Msg>* StreamLog(grpc::CallbackServerContext* ctx,
                                         const auth::TokenVerifier& verifier,
                                         eventstore::EventStore& store, uint64_t from_position,
                                         uint64_t max_events, Convert<Msg> convert) {
  absl::StatusOr<auth::Principal> who = auth::Authenticate(*ctx, verifier);
  absl::Status allowed = who.ok() ? CheckAccess(*who) : who.status();
  if (!allowed.ok()) return new internal::FinishedWriter<Msg>(runtime::ToGrpcStatus(allowed));
  // A stream counts among the calls in flight (--max_in_flight) until it ends.
  if (runtime::Admission& admission = runtime::Admission::Default(); !admission.TryEnter()) {
    return new internal::FinishedWriter<Msg>(runtime::ToGrpcStatus(admission.Busy()));
  }
  return new internal::LogStreamer<Msg>(store, from_position, max_events, std::move(convert));
}

// crm.events.v1.EventLogService over a store: the stored envelopes as they are.
// Thread safety: gRPC calls it concurrently. The store and verifier must outlive it.
class EventLogServiceImpl final : public events::v1::EventLogService::CallbackService {
 public:
  EventLogServiceImpl(eventstore::EventStore& store, const auth::TokenVerifier& verifier)
      : store_(store), verifier_(verifier) {}

  grpc::ServerWriteReactor<events::v1::EventEnvelope>* StreamEvents(
      grpc::CallbackServerContext* ctx, const events::v1::StreamEventsRequest* req) override;

 private:
  eventstore::EventStore& store_;
  const auth::TokenVerifier& verifier_;
};

}  // namespace crm::eventlog
