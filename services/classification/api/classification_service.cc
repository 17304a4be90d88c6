#include "crm/classification/api/classification_service.h"

namespace crm::classification {

#define CRM_DEFINE_CLASSIFICATION_RPC(Method, Request, Response) \
  CRM_DEFINE_RPC(ClassificationServiceImpl, Method, Request, Response)
CRM_CLASSIFICATION_RPCS(CRM_DEFINE_CLASSIFICATION_RPC)
#undef CRM_DEFINE_CLASSIFICATION_RPC

}  // namespace crm::classification
