#include "crm/admin/admin_service.h"

#include "absl/strings/match.h"
#include "crm/auth/grpc_auth.h"
#include "crm/auth/principal.h"
#include "crm/common/status_macros.h"
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

}  // namespace

grpc::ServerUnaryReactor* AdminServiceImpl::Backup(grpc::CallbackServerContext* ctx,
                                                   const v1::BackupRequest* req,
                                                   v1::BackupResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  pool_.Submit([this, ctx, req, resp, reactor] {
    absl::StatusOr<auth::Principal> who = auth::Authenticate(*ctx, *verifier_);
    absl::Status status = who.status();
    if (status.ok() && !who->Has(auth::Role::kAdmin)) {
      status = absl::PermissionDeniedError("backups need the admin role");
    }
    if (status.ok()) status = DoBackup(*store_, *req, resp);
    reactor->Finish(runtime::ToGrpcStatus(status));
  });
  return reactor;
}

}  // namespace crm::admin
