#include "crm/interaction/api/churn_service.h"

namespace crm::interaction {

#define CRM_DEFINE_CHURN_RPC(Method, Request, Response) \
  CRM_DEFINE_RPC(ChurnServiceImpl, Method, Request, Response)
CRM_CHURN_RPCS(CRM_DEFINE_CHURN_RPC)
#undef CRM_DEFINE_CHURN_RPC

}  // namespace crm::interaction
