#include "crm/interaction/api/campaign_service.h"

namespace crm::interaction {

#define CRM_DEFINE_CAMPAIGN_RPC(Method, Request, Response) \
  CRM_DEFINE_RPC(CampaignServiceImpl, Method, Request, Response)
CRM_CAMPAIGN_RPCS(CRM_DEFINE_CAMPAIGN_RPC)
#undef CRM_DEFINE_CAMPAIGN_RPC

}  // namespace crm::interaction
