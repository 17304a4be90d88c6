#include "crm/auth/principal.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(AuthPrincipalTest, RoleNamesRoundTrip) {
  EXPECT_EQ(RoleName(Role::kSalesRep), "sales_rep");
  EXPECT_EQ(RoleName(Role::kServiceAgent), "service_agent");
  EXPECT_EQ(RoleName(Role::kRegionalManager), "regional_manager");
  EXPECT_EQ(RoleName(Role::kExecutive), "executive");
  EXPECT_EQ(RoleName(Role::kAdmin), "admin");
  EXPECT_EQ(RoleName(Role::kService), "service");
  for (Role role : kAllRoles) EXPECT_EQ(ParseRole(RoleName(role)), role) << RoleName(role);
}

TEST(AuthPrincipalTest, ParseRoleRejectsOtherStrings) {
  EXPECT_EQ(ParseRole(""), std::nullopt);
  EXPECT_EQ(ParseRole("wizard"), std::nullopt);
  EXPECT_EQ(ParseRole("Admin"), std::nullopt);  // Case-sensitive.
  EXPECT_EQ(ParseRole("admin "), std::nullopt);
  EXPECT_EQ(ParseRole("kAdmin"), std::nullopt);
}

TEST(AuthPrincipalTest, ParseRolesIgnoresUnknownAndDuplicates) {
  EXPECT_THAT(ParseRoles({"wizard", "sales_rep", "EXECUTIVE", "admin", "sales_rep"}),
              ElementsAre(Role::kSalesRep, Role::kAdmin));
  EXPECT_THAT(ParseRoles({"wizard"}), IsEmpty());
  EXPECT_THAT(ParseRoles({}), IsEmpty());
}

TEST(AuthPrincipalTest, Has) {
  Principal p{.subject = "u-1", .roles = {Role::kRegionalManager, Role::kSalesRep}};
  EXPECT_TRUE(p.Has(Role::kRegionalManager));
  EXPECT_TRUE(p.Has(Role::kSalesRep));
  EXPECT_FALSE(p.Has(Role::kAdmin));
  EXPECT_FALSE(Principal{}.Has(Role::kService));
}

}  // namespace
}  // namespace crm::auth
