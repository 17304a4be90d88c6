#include "bearer.h"

#include "crm/auth/grpc_auth.h"
#include "gtest/gtest.h"

namespace crm::auth {
namespace {

using internal::ParseBearer;

struct BearerCase {
  std::string header;
  std::string token;  // Expected token when ok.
  std::string error;  // Expected UNAUTHENTICATED message otherwise.
};

TEST(AuthBearerTest, ParsesHeaderValues) {
  const BearerCase cases[] = {
      {"Bearer abc.def.ghi", "abc.def.ghi", ""},
      {"bearer abc.def.ghi", "abc.def.ghi", ""},
      {"BEARER abc", "abc", ""},
      {"BeArEr abc", "abc", ""},
      {"Bearer    abc", "abc", ""},
      {"   Bearer abc   ", "abc", ""},
      {"Bearer\tabc", "abc", ""},
      {"", "", "missing bearer token"},
      {"   ", "", "missing bearer token"},
      {"Bearer", "", "missing bearer token"},
      {"Bearer    ", "", "missing bearer token"},
      {"abc.def.ghi", "", "authorization is not a bearer token"},  // Missing scheme.
      {"Basic dXNlcjpwYXNz", "", "authorization is not a bearer token"},
      {"Bearerabc", "", "authorization is not a bearer token"},
      {"Bearer: abc", "", "authorization is not a bearer token"},
      {"Bearer abc def", "", "malformed bearer token"},
  };
  for (const BearerCase& c : cases) {
    SCOPED_TRACE("header: \"" + c.header + "\"");
    absl::StatusOr<std::string_view> token = ParseBearer(c.header);
    if (c.error.empty()) {
      ASSERT_TRUE(token.ok()) << token.status();
      EXPECT_EQ(*token, c.token);
    } else {
      ASSERT_FALSE(token.ok());
      EXPECT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated);
      EXPECT_EQ(token.status().message(), c.error);
    }
  }
}

TEST(AuthBearerTest, BearerHeaderRoundTrips) {
  EXPECT_EQ(BearerHeader("abc.def.ghi"), "Bearer abc.def.ghi");
  std::string header = BearerHeader("abc.def.ghi");  // The result points into it.
  absl::StatusOr<std::string_view> token = ParseBearer(header);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "abc.def.ghi");
}

}  // namespace
}  // namespace crm::auth
