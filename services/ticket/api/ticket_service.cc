#include "crm/ticket/api/ticket_service.h"

#include "crm/auth/authenticated_call.h"
#include "crm/common/status_macros.h"

namespace crm::ticket {

#define CRM_TICKET_DEFINE(Method, Request, Response)                                            \
  grpc::ServerUnaryReactor* TicketServiceImpl::Method(                                         \
      grpc::CallbackServerContext* ctx, const v1::Request* req, v1::Response* resp) {           \
    return auth::ServeAuthenticated(                                                          \
        pool_, *verifier_, ctx, [this, req, resp](const auth::Principal& who) -> absl::Status { \
          ASSIGN_OR_RETURN(*resp, logic_->Method(who, *req));                                  \
          return absl::OkStatus();                                                             \
        });                                                                                    \
  }
CRM_TICKET_RPCS(CRM_TICKET_DEFINE)
#undef CRM_TICKET_DEFINE

}  // namespace crm::ticket
