#include "crm/auth/access.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::auth {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

// The caller is "u-1" of region "east". Four customers, one per combination of
// (owned by the caller or by someone else) x (in the caller's region or not).
const CustomerScope kOwnInRegion{"c-own-east", "u-1", "east"};
const CustomerScope kOtherInRegion{"c-other-east", "u-2", "east"};
const CustomerScope kOwnOtherRegion{"c-own-west", "u-1", "west"};
const CustomerScope kOtherOtherRegion{"c-other-west", "u-2", "west"};

struct RoleCase {
  std::string name;
  std::set<Role> roles;
  // Expected access to kOwnInRegion, kOtherInRegion, kOwnOtherRegion, kOtherOtherRegion.
  bool own_in_region, other_in_region, own_other_region, other_other_region;
};

std::vector<RoleCase> RoleCases() {
  return {
      {"sales_rep", {Role::kSalesRep}, true, false, true, false},
      {"service_agent", {Role::kServiceAgent}, true, false, true, false},
      {"regional_manager", {Role::kRegionalManager}, true, true, false, false},
      {"executive", {Role::kExecutive}, true, true, true, true},
      {"admin", {Role::kAdmin}, true, true, true, true},
      {"service", {Role::kService}, true, true, true, true},
      {"no role", {}, false, false, false, false},
      // Several roles add up.
      {"sales_rep+regional_manager",
       {Role::kSalesRep, Role::kRegionalManager},
       true,
       true,
       true,
       false},
  };
}

TEST(AuthAccessTest, EveryRoleAgainstOwnerAndRegion) {
  for (const RoleCase& c : RoleCases()) {
    Principal principal{.subject = "u-1", .roles = c.roles, .region = "east"};
    ListScope scope = ScopeFor(principal);
    EXPECT_EQ(scope.subject, "u-1");
    const std::pair<const CustomerScope*, bool> expectations[] = {
        {&kOwnInRegion, c.own_in_region},
        {&kOtherInRegion, c.other_in_region},
        {&kOwnOtherRegion, c.own_other_region},
        {&kOtherOtherRegion, c.other_other_region},
    };
    for (const auto& [customer, allowed] : expectations) {
      SCOPED_TRACE(c.name + " -> " + customer->customer_id);
      absl::Status status = CheckCustomerAccess(principal, *customer, kNow, {});
      if (allowed) {
        EXPECT_TRUE(status.ok()) << status;
      } else {
        EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
        EXPECT_EQ(status.message(), "caller may not access customer " + customer->customer_id);
      }
      // Lists must agree with single reads.
      EXPECT_EQ(scope.Allows(*customer), allowed);
    }
  }
}

TEST(AuthAccessTest, ScopeForDescribesTheFilter) {
  ListScope exec = ScopeFor({.subject = "u-1", .roles = {Role::kExecutive}, .region = "east"});
  EXPECT_TRUE(exec.all);
  EXPECT_FALSE(exec.Empty());

  ListScope manager =
      ScopeFor({.subject = "u-1", .roles = {Role::kRegionalManager}, .region = "east"});
  EXPECT_FALSE(manager.all);
  EXPECT_EQ(manager.region, "east");
  EXPECT_EQ(manager.owner, "");

  ListScope rep = ScopeFor({.subject = "u-1", .roles = {Role::kSalesRep}, .region = "east"});
  EXPECT_FALSE(rep.all);
  EXPECT_EQ(rep.region, "");
  EXPECT_EQ(rep.owner, "u-1");

  ListScope agent = ScopeFor({.subject = "u-1", .roles = {Role::kServiceAgent}});
  EXPECT_EQ(agent.owner, "u-1");

  ListScope nobody = ScopeFor({.subject = "u-1", .region = "east"});
  EXPECT_TRUE(nobody.Empty());
  EXPECT_EQ(nobody.subject, "u-1");  // Grants may still apply.
}

TEST(AuthAccessTest, EmptyRegionOrSubjectNeverMatches) {
  const CustomerScope unassigned{"c-unassigned", "", ""};
  Principal manager{.subject = "u-1", .roles = {Role::kRegionalManager}, .region = ""};
  EXPECT_EQ(CheckCustomerAccess(manager, unassigned, kNow, {}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(ScopeFor(manager).Allows(unassigned));

  Principal anonymous_rep{.subject = "", .roles = {Role::kSalesRep}, .region = ""};
  EXPECT_EQ(CheckCustomerAccess(anonymous_rep, unassigned, kNow, {}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(ScopeFor(anonymous_rep).Allows(unassigned));
  // Nor does a grant with empty fields.
  EXPECT_EQ(
      CheckCustomerAccess(anonymous_rep, {"", "", ""}, kNow, {{"", "", kNow + absl::Hours(1)}})
          .code(),
      absl::StatusCode::kPermissionDenied);
}

struct GrantCase {
  std::string name;
  std::vector<AccessGrant> grants;
  bool allowed;
};

TEST(AuthAccessTest, GrantsOpenOneCustomerToOneSubjectUntilExpiry) {
  const GrantCase cases[] = {
      {"none", {}, false},
      {"valid", {{"u-1", "c-other-west", kNow + absl::Hours(1)}}, true},
      {"valid until the next nanosecond",
       {{"u-1", "c-other-west", kNow + absl::Nanoseconds(1)}},
       true},
      {"expires now", {{"u-1", "c-other-west", kNow}}, false},
      {"expired", {{"u-1", "c-other-west", kNow - absl::Seconds(1)}}, false},
      {"another customer", {{"u-1", "c-other-east", kNow + absl::Hours(1)}}, false},
      {"another subject", {{"u-2", "c-other-west", kNow + absl::Hours(1)}}, false},
      {"one valid among others",
       {{"u-2", "c-other-west", kNow + absl::Hours(1)},
        {"u-1", "c-other-west", kNow - absl::Hours(1)},
        {"u-1", "c-other-west", kNow + absl::Hours(1)}},
       true},
  };
  // A grant works for a caller with no role and for one whose role does not reach.
  const std::set<Role> role_sets[] = {{}, {Role::kSalesRep}, {Role::kRegionalManager}};
  for (const std::set<Role>& roles : role_sets) {
    Principal principal{.subject = "u-1", .roles = roles, .region = "east"};
    for (const GrantCase& c : cases) {
      SCOPED_TRACE(c.name + ", roles: " + std::to_string(roles.size()));
      absl::Status status = CheckCustomerAccess(principal, kOtherOtherRegion, kNow, c.grants);
      if (c.allowed) {
        EXPECT_TRUE(status.ok()) << status;
      } else {
        EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
      }
    }
  }
}

TEST(AuthAccessTest, GrantAllows) {
  AccessGrant grant{"u-1", "c-1", kNow + absl::Minutes(5)};
  EXPECT_TRUE(GrantAllows(grant, "u-1", "c-1", kNow));
  EXPECT_FALSE(GrantAllows(grant, "u-1", "c-1", kNow + absl::Minutes(5)));
  EXPECT_FALSE(GrantAllows(grant, "u-2", "c-1", kNow));
  EXPECT_FALSE(GrantAllows(grant, "u-1", "c-2", kNow));
}

TEST(AuthAccessTest, CanGrantAccessAndIsService) {
  for (Role role : kAllRoles) {
    Principal p{.subject = "u-1", .roles = {role}};
    SCOPED_TRACE(std::string(RoleName(role)));
    EXPECT_EQ(CanGrantAccess(p), role == Role::kExecutive || role == Role::kAdmin);
    EXPECT_EQ(IsService(p), role == Role::kService);
  }
  EXPECT_FALSE(CanGrantAccess(Principal{.subject = "u-1"}));
  EXPECT_FALSE(IsService(Principal{.subject = "u-1"}));
}

// Seed 004 §7.1: a service agent reaches a customer it serves (an open ticket
// assigned to it); nobody else does through an assignment.
TEST(AuthAccessTest, AServiceAgentServesTheCustomersOfItsOpenTickets) {
  const Principal agent{.subject = "u-1", .roles = {Role::kServiceAgent}, .region = "east"};
  EXPECT_TRUE(ServesCustomer(agent, {"u-2", "u-1"}));
  EXPECT_FALSE(ServesCustomer(agent, {}));
  EXPECT_FALSE(ServesCustomer(agent, {"u-2", ""}));
  EXPECT_FALSE(ServesCustomer(agent, {"U-1"}));
  for (const std::set<Role>& roles :
       std::vector<std::set<Role>>{{Role::kSalesRep}, {Role::kRegionalManager}, {}}) {
    EXPECT_FALSE(ServesCustomer({.subject = "u-1", .roles = roles, .region = "east"}, {"u-1"}));
  }
  EXPECT_FALSE(ServesCustomer({.subject = "", .roles = {Role::kServiceAgent}, .region = ""}, {""}));
  // The list scope names the agent, so the service adds the customers it serves.
  EXPECT_EQ(ScopeFor(agent).serving_agent, "u-1");
  EXPECT_EQ(ScopeFor({.subject = "u-1", .roles = {Role::kSalesRep}, .region = "east"}).serving_agent,
            "");
}

}  // namespace
}  // namespace crm::auth
