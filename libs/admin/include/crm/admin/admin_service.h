// crm.admin.v1.AdminService for any service binary: operator actions on the
// service's event store (today: Backup, a consistent RocksDB checkpoint).
// Callers need the `admin` role.
//
//   crm::admin::AdminServiceImpl admin(store.get(), verifier.get());
//   runtime.AddService(&admin);
#pragma once

#include "crm/admin/v1/admin_service.grpc.pb.h"
#include "crm/auth/jwt.h"
#include "crm/common/thread_pool.h"
#include "crm/eventstore/event_store.h"

namespace crm::admin {

// Thread safety: gRPC calls it concurrently. `store` and `verifier` must outlive it.
class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  AdminServiceImpl(eventstore::EventStore* store, const auth::TokenVerifier* verifier)
      : store_(store), verifier_(verifier), pool_(1) {}

  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* ctx, const v1::BackupRequest* req,
                                   v1::BackupResponse* resp) override;

 private:
  eventstore::EventStore* store_;
  const auth::TokenVerifier* verifier_;
  ThreadPool pool_;  // checkpoints flush memtables: keep them off gRPC's threads
};

}  // namespace crm::admin
