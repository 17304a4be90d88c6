#include "base64url.h"

#include "gtest/gtest.h"

namespace crm::auth::internal {
namespace {

TEST(AuthBase64UrlTest, Rfc4648Vectors) {
  // RFC 4648 §10, without padding.
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlDecode("Zm9vYmE"), "fooba");
  EXPECT_EQ(Base64UrlDecode(""), "");
}

TEST(AuthBase64UrlTest, UsesUrlAlphabet) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff\xbf"), "-_-_");
  EXPECT_EQ(Base64UrlDecode("-_-_"), "\xfb\xff\xbf");
}

TEST(AuthBase64UrlTest, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    bytes.push_back(static_cast<char>(i * 37 + 11));
    std::optional<std::string> decoded = Base64UrlDecode(Base64UrlEncode(bytes));
    ASSERT_TRUE(decoded.has_value()) << i;
    EXPECT_EQ(*decoded, bytes);
  }
}

TEST(AuthBase64UrlTest, RejectsNonCanonicalInput) {
  EXPECT_EQ(Base64UrlDecode("Zm9v+g"), std::nullopt);  // Standard alphabet.
  EXPECT_EQ(Base64UrlDecode("Zm9v/g"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zg=="), std::nullopt);   // Padding.
  EXPECT_EQ(Base64UrlDecode("Zm 9v"), std::nullopt);  // Whitespace.
  EXPECT_EQ(Base64UrlDecode("Zm9vY"), std::nullopt);  // 4k+1 characters.
  EXPECT_EQ(Base64UrlDecode("Zh"), std::nullopt);     // "f" is "Zg": low bits set.
  EXPECT_EQ(Base64UrlDecode("Zm9"), std::nullopt);    // "fo" is "Zm8".
  EXPECT_EQ(Base64UrlDecode(std::string_view("Zg\0", 3)), std::nullopt);
}

}  // namespace
}  // namespace crm::auth::internal
