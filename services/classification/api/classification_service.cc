#include "crm/classification/api/classification_service.h"

#include "crm/auth/authenticated_call.h"
#include "crm/common/status_macros.h"

namespace crm::classification {

#define CRM_CLASSIFICATION_DEFINE(Method, Request, Response)                                   \
  grpc::ServerUnaryReactor* ClassificationServiceImpl::Method(                                \
      grpc::CallbackServerContext* ctx, const v1::Request* req, v1::Response* resp) {          \
    return auth::ServeAuthenticated(                                                         \
        pool_, *verifier_, ctx, [this, req, resp](const auth::Principal& who) -> absl::Status { \
          ASSIGN_OR_RETURN(*resp, logic_->Method(who, *req));                                 \
          return absl::OkStatus();                                                            \
        });                                                                                   \
  }
CRM_CLASSIFICATION_RPCS(CRM_CLASSIFICATION_DEFINE)
#undef CRM_CLASSIFICATION_DEFINE

}  // namespace crm::classification
