#include "crm/interaction/api/interaction_service.h"

namespace crm::interaction {

#define CRM_DEFINE_INTERACTION_RPC(Method, Request, Response) \
  CRM_DEFINE_RPC(InteractionServiceImpl, Method, Request, Response)
CRM_INTERACTION_RPCS(CRM_DEFINE_INTERACTION_RPC)
#undef CRM_DEFINE_INTERACTION_RPC

}  // namespace crm::interaction
