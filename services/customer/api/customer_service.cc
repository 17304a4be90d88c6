#include "crm/customer/api/customer_service.h"

#include "crm/command/serve.h"
#include "crm/eventlog/event_log_service.h"

namespace crm::customer {

#define CRM_DEFINE_CUSTOMER_RPC(Method, Request, Response) \
  CRM_DEFINE_RPC(CustomerServiceImpl, Method, Request, Response)
CRM_CUSTOMER_RPCS(CRM_DEFINE_CUSTOMER_RPC)
#undef CRM_DEFINE_CUSTOMER_RPC

// The log in crm-customer's own message (older than crm.events.v1.EventLogService,
// which every service serves; kept wire-compatible): the same streamer.
grpc::ServerWriteReactor<v1::StreamedEvent>* CustomerServiceImpl::StreamEvents(
    grpc::CallbackServerContext* ctx, const v1::StreamEventsRequest* req) {
  return eventlog::StreamLog<v1::StreamedEvent>(
      ctx, verifier_, store_, req->from_position(), req->max_events(),
      [](const eventstore::EventEnvelope& e, v1::StreamedEvent& out) {
        out.set_global_position(e.global_position());
        out.set_event_id(e.event_id());
        out.set_event_type(e.event_type());
        out.set_customer_id(e.partition_key());
        out.set_version(e.stream_version());
        out.set_actor(e.actor());
        *out.mutable_occurred_at() = e.occurred_at();
        if (!out.mutable_event()->ParseFromString(e.payload())) {
          return absl::DataLossError("corrupt customer event");
        }
        return absl::OkStatus();
      });
}

}  // namespace crm::customer
