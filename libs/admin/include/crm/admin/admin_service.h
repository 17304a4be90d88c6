// crm.admin.v1.AdminService for any service binary: operator actions on the
// service's event store (Backup, a consistent RocksDB checkpoint) and on its
// consumer (ResetConsumerOffsets, ListDeadLetters, ReplayDeadLetters). Callers
// need the `admin` role.
//
//   crm::admin::AdminServiceImpl admin(store.get(), verifier.get());
//   admin.SetConsumer(consumer.get());  // when the service consumes topics
//   runtime.AddService(&admin);
#pragma once

#include <atomic>
#include <functional>

#include "crm/admin/v1/admin_service.grpc.pb.h"
#include "crm/auth/jwt.h"
#include "crm/auth/principal.h"
#include "crm/common/thread_pool.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/consumer_runner.h"

namespace crm::admin {

// Thread safety: gRPC calls it concurrently. `store` and `verifier` must outlive it.
class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  AdminServiceImpl(eventstore::EventStore* store, const auth::TokenVerifier* verifier)
      : store_(store), verifier_(verifier), pool_(2, kMaxQueued) {}

  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* ctx, const v1::BackupRequest* req,
                                   v1::BackupResponse* resp) override;
  grpc::ServerUnaryReactor* ResetConsumerOffsets(
      grpc::CallbackServerContext* ctx, const v1::ResetConsumerOffsetsRequest* req,
      v1::ResetConsumerOffsetsResponse* resp) override;
  grpc::ServerUnaryReactor* ListDeadLetters(grpc::CallbackServerContext* ctx,
                                            const v1::ListDeadLettersRequest* req,
                                            v1::ListDeadLettersResponse* resp) override;
  grpc::ServerUnaryReactor* ReplayDeadLetters(grpc::CallbackServerContext* ctx,
                                              const v1::ReplayDeadLettersRequest* req,
                                              v1::ReplayDeadLettersResponse* resp) override;

  // The service's consumer (null: none); it must outlive the calls that use it
  // (the server is shut down before the consumer goes).
  void SetConsumer(messaging::ConsumerRunner* consumer) { consumer_.store(consumer); }

 private:
  eventstore::EventStore* store_;
  const auth::TokenVerifier* verifier_;
  // Authenticates the caller, checks the request's bounds (command::CheckBounds,
  // as for every RPC), requires the admin role, then runs `call` with the caller
  // on the pool and finishes the call with its status.
  using AdminCall = std::function<absl::Status(const auth::Principal& who)>;
  grpc::ServerUnaryReactor* ServeAdmin(grpc::CallbackServerContext* ctx,
                                       const google::protobuf::Message& request, AdminCall call);

  std::atomic<messaging::ConsumerRunner*> consumer_{nullptr};
  // Checkpoints flush memtables and replays wait for the consumer: keep them off
  // gRPC's threads. Two, so that a long one does not hold up a listing.
  ThreadPool pool_;
  // Operator calls waiting for the pool; more are refused RESOURCE_EXHAUSTED.
  static constexpr size_t kMaxQueued = 64;
};

}  // namespace crm::admin
