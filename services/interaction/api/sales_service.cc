#include "crm/interaction/api/sales_service.h"

namespace crm::interaction {

#define CRM_DEFINE_SALES_RPC(Method, Request, Response) \
  CRM_DEFINE_RPC(SalesServiceImpl, Method, Request, Response)
CRM_SALES_RPCS(CRM_DEFINE_SALES_RPC)
#undef CRM_DEFINE_SALES_RPC

}  // namespace crm::interaction
