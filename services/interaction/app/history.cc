#include "crm/interaction/app/history.h"

#include "absl/strings/numbers.h"
#include "crm/command/limits.h"
#include "crm/common/field_errors.h"
#include "crm/common/status_macros.h"

namespace crm::interaction {

absl::StatusOr<HistoryPage> ParseHistoryPage(int32_t page_size, const std::string& page_token) {
  HistoryPage page;
  ASSIGN_OR_RETURN(page.page_size, command::PageSize(page_size, 100));
  if (!page_token.empty() &&
      (!absl::SimpleAtoi(page_token, &page.from_version) || page.from_version == 0)) {
    return InvalidField("page_token", "not a token of this query");
  }
  return page;
}

}  // namespace crm::interaction
