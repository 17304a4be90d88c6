#include "crm/customer/api/customer_service.h"

#include <algorithm>
#include <vector>

#include "crm/auth/grpc_auth.h"
#include "crm/command/serve.h"
#include "crm/runtime/status.h"

namespace crm::customer {
namespace {

// An unauthenticated or refused stream ends at once with its status.
class FinishedWriter final : public grpc::ServerWriteReactor<v1::StreamedEvent> {
 public:
  explicit FinishedWriter(const grpc::Status& s) { Finish(s); }
  void OnDone() override { delete this; }
};

// Sends the log from a position, batch by batch, until caught up.
class EventStreamer final : public grpc::ServerWriteReactor<v1::StreamedEvent> {
 public:
  EventStreamer(eventstore::EventStore& store, uint64_t from, uint64_t max)
      : store_(store), next_(std::max<uint64_t>(from, 1)), remaining_(max == 0 ? UINT64_MAX : max) {
    WriteNext();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
    WriteNext();
  }
  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    if (remaining_ == 0) return Finish(grpc::Status::OK);
    if (index_ == batch_.size()) {
      auto batch = store_.ReadAll(next_, 256);
      if (!batch.ok()) return Finish(runtime::ToGrpcStatus(batch.status()));
      if (batch->empty()) return Finish(grpc::Status::OK);
      batch_ = *std::move(batch);
      index_ = 0;
    }
    const eventstore::EventEnvelope& e = batch_[index_++];
    next_ = e.global_position() + 1;
    --remaining_;
    current_.Clear();
    current_.set_global_position(e.global_position());
    current_.set_event_id(e.event_id());
    current_.set_event_type(e.event_type());
    current_.set_customer_id(e.partition_key());
    current_.set_version(e.stream_version());
    current_.set_actor(e.actor());
    *current_.mutable_occurred_at() = e.occurred_at();
    if (!current_.mutable_event()->ParseFromString(e.payload())) {
      return Finish(grpc::Status(grpc::StatusCode::DATA_LOSS, "corrupt customer event"));
    }
    StartWrite(&current_);
  }

  eventstore::EventStore& store_;
  uint64_t next_;
  uint64_t remaining_;
  std::vector<eventstore::EventEnvelope> batch_;
  size_t index_ = 0;
  v1::StreamedEvent current_;
};

}  // namespace

#define CRM_DEFINE_CUSTOMER_RPC(Method, Request, Response) \
  CRM_DEFINE_RPC(CustomerServiceImpl, Method, Request, Response)
CRM_CUSTOMER_RPCS(CRM_DEFINE_CUSTOMER_RPC)
#undef CRM_DEFINE_CUSTOMER_RPC

grpc::ServerWriteReactor<v1::StreamedEvent>* CustomerServiceImpl::StreamEvents(
    grpc::CallbackServerContext* ctx, const v1::StreamEventsRequest* req) {
  absl::StatusOr<auth::Principal> who = auth::Authenticate(*ctx, verifier_);
  absl::Status allowed = who.ok() ? CustomerApp::CheckStreamAccess(*who) : who.status();
  if (!allowed.ok()) return new FinishedWriter(runtime::ToGrpcStatus(allowed));
  return new EventStreamer(store_, req->from_position(), req->max_events());
}

}  // namespace crm::customer
