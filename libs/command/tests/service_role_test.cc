// LimitServiceRole: the service role reaches only kServiceRoleRpcs; with other
// roles it is dropped and they decide.
#include "crm/command/service_role.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace crm::command {
namespace {

using auth::Principal;
using auth::Role;

TEST(ServiceRoleTest, RpcNameDropsTheAdaptersImplSuffix) {
  EXPECT_EQ(RpcName("CustomerServiceImpl", "GetCustomer"), "CustomerService.GetCustomer");
  EXPECT_EQ(RpcName("TicketService", "OpenTicket"), "TicketService.OpenTicket");
  EXPECT_EQ(RpcName("Impl", "X"), "Impl.X");
}

TEST(ServiceRoleTest, TheServiceRoleReachesOnlyGetCustomer) {
  EXPECT_TRUE(ServiceRoleMayCall("CustomerService.GetCustomer"));
  for (const char* rpc :
       {"CustomerService.ListCustomers", "CustomerService.AssignOwner",
        "CustomerService.GrantAccess", "CustomerService.RegisterCustomer",
        "CustomerService.GetCustomerHistory", "TicketService.GetTicket",
        "InteractionService.GetTimeline", "ClassificationService.GetClassification"}) {
    SCOPED_TRACE(rpc);
    EXPECT_FALSE(ServiceRoleMayCall(rpc));
    Principal service{"crm-ticket", {Role::kService}, ""};
    absl::Status s = LimitServiceRole(service, rpc);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(s.message(), std::string("the service role may not call ") + rpc);
  }
  Principal service{"crm-ticket", {Role::kService}, ""};
  EXPECT_TRUE(LimitServiceRole(service, "CustomerService.GetCustomer").ok());
  EXPECT_TRUE(service.Has(Role::kService));  // kept: it is what lets the lookup see all
}

TEST(ServiceRoleTest, WithOtherRolesTheServiceRoleIsDroppedAndTheyDecide) {
  Principal both{"ops", {Role::kService, Role::kSalesRep}, "north"};
  EXPECT_TRUE(LimitServiceRole(both, "CustomerService.AssignOwner").ok());
  EXPECT_FALSE(both.Has(Role::kService));
  EXPECT_TRUE(both.Has(Role::kSalesRep));

  Principal admin{"root", {Role::kAdmin}, ""};
  EXPECT_TRUE(LimitServiceRole(admin, "CustomerService.AssignOwner").ok());
  EXPECT_EQ(admin.roles, (std::set<Role>{Role::kAdmin}));
  Principal none{"x", {}, ""};  // no role at all: the app decides (grants)
  EXPECT_TRUE(LimitServiceRole(none, "TicketService.GetTicket").ok());
}

}  // namespace
}  // namespace crm::command
