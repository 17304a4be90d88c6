#include "crm/admin/admin_service.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "crm/auth/grpc_auth.h"
#include "crm/auth/principal.h"
#include "crm/command/limits.h"
#include "crm/command/page.h"
#include "crm/command/serve.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/common/text.h"
#include "crm/messaging/dead_letters.h"
#include "crm/runtime/admission.h"
#include "crm/runtime/log.h"
#include "crm/runtime/status.h"

namespace crm::admin {
namespace {

absl::Status DoBackup(eventstore::EventStore& store, const v1::BackupRequest& req,
                      v1::BackupResponse* resp) {
  if (!absl::StartsWith(req.target_dir(), "/")) {
    return absl::InvalidArgumentError("target_dir: must be an absolute path");
  }
  ASSIGN_OR_RETURN(eventstore::EventStore::CheckpointInfo info, store.Checkpoint(req.target_dir()));
  resp->set_target_dir(req.target_dir());
  resp->set_last_position(info.last_position);
  resp->set_published_position(info.published_position);
  runtime::Log(runtime::LogLevel::kInfo, "backup_taken",
               {{"target_dir", req.target_dir()}, {"last_position", info.last_position}});
  return absl::OkStatus();
}

absl::Status DoResetConsumerOffsets(messaging::ConsumerRunner* consumer,
                                    const v1::ResetConsumerOffsetsRequest& req,
                                    v1::ResetConsumerOffsetsResponse* resp) {
  if (req.topic().empty()) return absl::InvalidArgumentError("topic: required");
  if (consumer == nullptr) {
    return absl::FailedPreconditionError(
        "this service runs no consumer (it consumes no topic, or --kafka_brokers is unset)");
  }
  ASSIGN_OR_RETURN(messaging::OffsetReset reset,
                   consumer->ResetOffsets(req.topic(), absl::Seconds(30)));
  resp->set_offsets_deleted(reset.offsets_deleted);
  for (int32_t p : reset.partitions_rewound) resp->add_partitions_rewound(p);
  for (int32_t p : reset.partitions_resumed) resp->add_partitions_resumed(p);
  return absl::OkStatus();
}

absl::Status DoListDeadLetters(eventstore::EventStore& store, const v1::ListDeadLettersRequest& req,
                               const auth::Principal& who, v1::ListDeadLettersResponse* resp) {
  if (req.page_size() < 0 || req.page_size() > 500) {
    return absl::InvalidArgumentError("page_size: must be 0..500");
  }
  ASSIGN_OR_RETURN(messaging::DeadLetterPage page,
                   messaging::ListDeadLetters(store, req.topic(),
                                              static_cast<size_t>(req.page_size()),
                                              req.page_token(),
                                              command::PageBinding("ListDeadLetters", req, who)));
  for (const events::v1::DeadLetter& letter : page.dead_letters) {
    v1::DeadLetter* out = resp->add_dead_letters();
    out->set_id(messaging::DeadLetterId(letter));
    out->set_topic(letter.topic());
    out->set_partition(letter.partition());
    out->set_offset(letter.offset());
    // A proto3 string must be UTF-8; a poison record's key may be anything.
    out->set_key(Utf8Length(letter.key()) ? letter.key() : absl::CHexEscape(letter.key()));
    out->set_event_type(letter.event_type());
    out->set_event_id(letter.event_id());
    out->set_reason(letter.reason());
    *out->mutable_dead_lettered_at() = letter.dead_lettered_at();
    out->set_replay_attempts(letter.replay_attempts());
    if (letter.has_last_replay_at()) *out->mutable_last_replay_at() = letter.last_replay_at();
    out->set_value_bytes(static_cast<int64_t>(letter.value().size()));
  }
  resp->set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

absl::Status DoReplayDeadLetters(messaging::ConsumerRunner* consumer,
                                 const v1::ReplayDeadLettersRequest& req,
                                 v1::ReplayDeadLettersResponse* resp) {
  if (req.ids().empty() == !req.all()) {
    return absl::InvalidArgumentError("ids: give dead letter ids, or all (not both)");
  }
  if (consumer == nullptr) {
    return absl::FailedPreconditionError(
        "this service runs no consumer (it consumes no topic, or --kafka_brokers is unset)");
  }
  const std::vector<std::string> ids(req.ids().begin(), req.ids().end());
  ASSIGN_OR_RETURN(messaging::DeadLetterReplay replay,
                   consumer->ReplayDeadLetters(ids, req.all(), absl::Seconds(60)));
  resp->set_replayed(replay.replayed);
  resp->set_failed(replay.failed);
  for (const std::string& id : replay.replayed_ids) resp->add_replayed_ids(id);
  for (const auto& [id, reason] : replay.failures) {
    v1::ReplayFailure* f = resp->add_failures();
    f->set_id(id);
    f->set_reason(reason);
  }
  for (const std::string& id : replay.not_found_ids) resp->add_not_found_ids(id);
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* AdminServiceImpl::ServeAdmin(grpc::CallbackServerContext* ctx,
                                                       const google::protobuf::Message& request,
                                                       AdminCall call) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const bool queued = pool_.Submit([this, ctx, reactor, &request, call = std::move(call)] {
    // Operators' calls are authenticated and bounded, never shed nor counted in
    // flight: they must get through an overload (the pool's queue bounds them).
    absl::StatusOr<auth::Principal> who = command::Admit(*ctx, *verifier_, request);
    absl::Status status = who.status();
    if (status.ok() && !who->Has(auth::Role::kAdmin)) {
      status = absl::PermissionDeniedError("operator calls need the admin role");
    }
    if (status.ok()) status = call(*who);
    reactor->Finish(runtime::ToGrpcStatus(status));
  });
  if (!queued) {
    reactor->Finish(runtime::ToGrpcStatus(runtime::Admission::Default().QueueFull("admin")));
  }
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListDeadLetters(
    grpc::CallbackServerContext* ctx, const v1::ListDeadLettersRequest* req,
    v1::ListDeadLettersResponse* resp) {
  return ServeAdmin(ctx, *req, [this, req, resp](const auth::Principal& who) {
    return DoListDeadLetters(*store_, *req, who, resp);
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ReplayDeadLetters(
    grpc::CallbackServerContext* ctx, const v1::ReplayDeadLettersRequest* req,
    v1::ReplayDeadLettersResponse* resp) {
  return ServeAdmin(ctx, *req, [this, req, resp](const auth::Principal&) {
    return DoReplayDeadLetters(consumer_.load(), *req, resp);
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ResetConsumerOffsets(
    grpc::CallbackServerContext* ctx, const v1::ResetConsumerOffsetsRequest* req,
    v1::ResetConsumerOffsetsResponse* resp) {
  return ServeAdmin(ctx, *req, [this, req, resp](const auth::Principal&) {
    return DoResetConsumerOffsets(consumer_.load(), *req, resp);
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::Backup(grpc::CallbackServerContext* ctx,
                                                   const v1::BackupRequest* req,
                                                   v1::BackupResponse* resp) {
  return ServeAdmin(ctx, *req, [this, req, resp](const auth::Principal&) {
    return DoBackup(*store_, *req, resp);
  });
}

}  // namespace crm::admin
