#include "crm/messaging/catch_up.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crm/common/status_macros.h"
#include "crm/events/v1/event_log_service.grpc.pb.h"
#include "crm/messaging/dedupe.h"
#include "crm/runtime/log.h"
#include "crm/runtime/status.h"
#include "grpcpp/grpcpp.h"

namespace crm::messaging {
namespace {

using eventstore::ProjectionWrite;

// One batch of streamed events: decided and handled over the batch's pending
// writes, committed in one synced write.
class Batch {
 public:
  Batch(eventstore::EventStore& store, EventHandler& handler, const CatchUpOptions& options,
        CatchUpResult& result)
      : store_(store), handler_(handler), options_(options), result_(result), view_(&store) {}

  absl::Status Add(eventstore::EventEnvelope event) {
    ++result_.received;
    ++size_;
    const uint64_t position = event.global_position();
    ASSIGN_OR_RETURN(std::optional<ProjectionWrite> dedupe,
                     DecideDedupe(view_, options_.group, options_.topic, event));
    if (!dedupe) {
      ++skipped_;
      next_position_ = position + 1;
      return absl::OkStatus();
    }
    // Not from Kafka: no partition or offset.
    ConsumedEvent consumed{options_.topic, -1, -1, std::move(event)};
    out_.clear();
    if (absl::Status s = handler_.Handle(consumed, view_, out_); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("event at position ", position, " (",
                                                 consumed.event.event_type(), "): ", s.message()));
    }
    out_.push_back(*std::move(dedupe));
    for (ProjectionWrite& w : out_) {
      view_.Apply(w);
      writes_.push_back(std::move(w));
    }
    ++applied_;
    next_position_ = position + 1;
    return absl::OkStatus();
  }

  size_t size() const { return size_; }

  absl::Status Commit() {
    if (!writes_.empty()) RETURN_IF_ERROR(store_.WriteProjections(writes_));
    result_.applied += applied_;
    result_.skipped += skipped_;
    result_.next_position = std::max(result_.next_position, next_position_);
    if (applied_ > 0 && options_.on_committed) options_.on_committed();
    writes_.clear();
    view_ = PendingWritesView(&store_);
    size_ = applied_ = skipped_ = 0;
    return absl::OkStatus();
  }

 private:
  eventstore::EventStore& store_;
  EventHandler& handler_;
  const CatchUpOptions& options_;
  CatchUpResult& result_;
  PendingWritesView view_;
  std::vector<ProjectionWrite> writes_, out_;
  size_t size_ = 0;
  uint64_t applied_ = 0, skipped_ = 0;
  uint64_t next_position_ = 0;  // after the last event handled or skipped
};

}  // namespace

absl::StatusOr<CatchUpResult> CatchUpFromStream(eventstore::EventStore& store,
                                                EventHandler& handler,
                                                std::shared_ptr<grpc::Channel> channel,
                                                const CatchUpOptions& options) {
  if (options.group.empty()) return absl::InvalidArgumentError("group: required");
  if (options.topic.empty()) return absl::InvalidArgumentError("topic: required");
  if (options.max_batch == 0) return absl::InvalidArgumentError("max_batch: must be positive");
  CatchUpResult result;
  result.next_position = std::max<uint64_t>(options.from_position, 1);
  auto stub = events::v1::EventLogService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", options.token));
  events::v1::StreamEventsRequest request;
  request.set_from_position(result.next_position);
  std::unique_ptr<grpc::ClientReader<eventstore::EventEnvelope>> reader =
      stub->StreamEvents(&ctx, request);

  Batch batch(store, handler, options, result);
  absl::Status failed;
  for (eventstore::EventEnvelope event; reader->Read(&event);) {
    if (failed = batch.Add(std::move(event)); !failed.ok()) break;
    if (batch.size() >= options.max_batch) {
      if (failed = batch.Commit(); !failed.ok()) break;
    }
  }
  if (!failed.ok()) {
    ctx.TryCancel();
    (void)reader->Finish();  // cancelled by us; the failure is ours
    // The events before the failing one are committed (the failing one's writes
    // never joined the batch).
    if (absl::Status committed = batch.Commit(); !committed.ok()) failed = committed;
    runtime::Log(runtime::LogLevel::kError, "catch_up_failed",
                 {{"group", options.group},
                  {"topic", options.topic},
                  {"error", failed.ToString()},
                  {"applied", result.applied}});
    return failed;
  }
  RETURN_IF_ERROR(batch.Commit());
  if (grpc::Status s = reader->Finish(); !s.ok()) {
    return runtime::FromGrpcStatus(s);
  }
  runtime::Log(runtime::LogLevel::kInfo, "catch_up_done",
               {{"group", options.group},
                {"topic", options.topic},
                {"received", result.received},
                {"applied", result.applied},
                {"skipped", result.skipped},
                {"next_position", result.next_position}});
  return result;
}

}  // namespace crm::messaging
