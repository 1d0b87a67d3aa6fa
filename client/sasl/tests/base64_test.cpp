#include "smtp/sasl/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using smtp::sasl::base64_decode;
using smtp::sasl::base64_encode;

// RFC 4648 section 10 test vectors.
TEST(SaslBase64, EncodesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(SaslBase64, DecodesRfc4648Vectors) {
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
}

TEST(SaslBase64, RoundTripsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 7) {
    const std::string part = all.substr(0, n);
    EXPECT_EQ(base64_decode(base64_encode(part)), part) << n;
  }
  EXPECT_EQ(base64_encode("\xfb\xff\xbf"), "+/+/");
}

// A challenge that is not strict base64 must be detectable so the client answers "*".
TEST(SaslBase64, RejectsBytesOutsideTheAlphabet) {
  EXPECT_FALSE(base64_decode("Zm9v!A=="));
  EXPECT_FALSE(base64_decode("Zm9-"));  // base64url is not SASL's alphabet
  EXPECT_FALSE(base64_decode("Zm9_"));
  EXPECT_FALSE(base64_decode(std::string("Zm\0v", 4)));
  EXPECT_FALSE(base64_decode("Zm9\x80"));
}

TEST(SaslBase64, RejectsWhitespaceAndLineBreaks) {
  EXPECT_FALSE(base64_decode("Zm9v YmFy"));
  EXPECT_FALSE(base64_decode(" Zm9v"));
  EXPECT_FALSE(base64_decode("Zm9v\r\n"));
  EXPECT_FALSE(base64_decode("Zm9v\n"));
  EXPECT_FALSE(base64_decode("Zm9v\t"));
}

TEST(SaslBase64, RejectsBadPadding) {
  EXPECT_FALSE(base64_decode("Zg"));     // missing padding
  EXPECT_FALSE(base64_decode("Zg="));    // short padding
  EXPECT_FALSE(base64_decode("Zg==="));  // too much
  EXPECT_FALSE(base64_decode("Z==="));   // three '='
  EXPECT_FALSE(base64_decode("===="));
  EXPECT_FALSE(base64_decode("="));         // "=" is only an empty initial response, not base64
  EXPECT_FALSE(base64_decode("Zg==Zm9v"));  // padding in the middle
  EXPECT_FALSE(base64_decode("Zm=v"));
  EXPECT_FALSE(base64_decode("Z=9v"));
  EXPECT_FALSE(base64_decode("Zm9vY"));  // length not a multiple of 4
}

TEST(SaslBase64, RejectsNonCanonicalTrailingBits) {
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_FALSE(base64_decode("Zh=="));  // same byte, stray low bits
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_FALSE(base64_decode("Zm9="));
}

TEST(SaslBase64, HandlesHugeInput) {
  const std::string big(3 * 100000 + 1, 'x');
  const std::string encoded = base64_encode(big);
  EXPECT_EQ(encoded.size(), 4U * 100001U);
  EXPECT_EQ(base64_decode(encoded), big);
}

}  // namespace
