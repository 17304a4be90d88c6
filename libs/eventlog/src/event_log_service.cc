#include "crm/eventlog/event_log_service.h"

#include "crm/eventlog/access.h"

namespace crm::eventlog {

absl::Status CheckAccess(const auth::Principal& who) {
  if (!who.Has(auth::Role::kAdmin)) {
    return absl::PermissionDeniedError("the event log is for admin callers");
  }
  return absl::OkStatus();
}

grpc::ServerWriteReactor<events::v1::EventEnvelope>* EventLogServiceImpl::StreamEvents(
    grpc::CallbackServerContext* ctx, const events::v1::StreamEventsRequest* req) {
  return StreamLog<events::v1::EventEnvelope>(
      ctx, verifier_, store_, req->from_position(), req->max_events(),
      [](const eventstore::EventEnvelope& e, events::v1::EventEnvelope& out) {
        out = e;
        return absl::OkStatus();
      });
}

}  // namespace crm::eventlog
