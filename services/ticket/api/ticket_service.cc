#include "crm/ticket/api/ticket_service.h"

namespace crm::ticket {

#define CRM_DEFINE_TICKET_RPC(Method, Request, Response) \
  CRM_DEFINE_RPC(TicketServiceImpl, Method, Request, Response)
CRM_TICKET_RPCS(CRM_DEFINE_TICKET_RPC)
#undef CRM_DEFINE_TICKET_RPC

}  // namespace crm::ticket
