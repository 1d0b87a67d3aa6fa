#include "smtp/sasl/cram_md5.hpp"

#include <gtest/gtest.h>

#include "smtp/sasl/base64.hpp"

namespace {

using smtp::sasl::base64_decode;
using smtp::sasl::base64_encode;
using smtp::sasl::cram_md5;
using smtp::sasl::error_kind;

// RFC 2195 section 2 example.
// S: 334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+
// C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw
TEST(SaslCramMd5, MatchesRfc2195Example) {
  cram_md5 mech{"tim", "tanstaaftanstaaf"};
  EXPECT_EQ(mech.name(), "CRAM-MD5");
  EXPECT_FALSE(mech.exposes_secret());
  EXPECT_FALSE(mech.initial_response());
  const auto r = mech.step("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.response(), "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
  EXPECT_EQ(base64_decode(r.response()), "tim b913a602c7eda7a495b4e6e7334d3890");
  EXPECT_TRUE(mech.done());
}

// RFC 2104 test case 2 (key "Jefe") shows the digest is HMAC-MD5 in lower-case hex.
TEST(SaslCramMd5, DigestIsLowerCaseHexHmacMd5) {
  cram_md5 mech{"u", "Jefe"};
  const auto r = mech.step(base64_encode("what do ya want for nothing?"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(base64_decode(r.response()), "u 750c783e6ab0b503eaa86e310a5db738");
}

TEST(SaslCramMd5, EmptyChallengeIsMalformed) {
  cram_md5 mech{"tim", "pw"};
  const auto r = mech.step("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::malformed_server_message);
}

TEST(SaslCramMd5, SecondChallengeIsUnexpected) {
  cram_md5 mech{"tim", "pw"};
  ASSERT_TRUE(mech.step(base64_encode("<1@x>")));
  const auto r = mech.step(base64_encode("<2@x>"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::unexpected_challenge);
}

TEST(SaslCramMd5, ChallengeWithWhitespaceIsInvalidBase64) {
  cram_md5 mech{"tim", "pw"};
  const auto r = mech.step("PDE4OTYu Njk3");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::invalid_base64);
}

// A large challenge (within mechanism::max_challenge_length) is answered like a small one.
TEST(SaslCramMd5, AnswersAHugeChallenge) {
  const std::string challenge(3 * 16000, 'c');  // 64000 base64 characters
  cram_md5 mech{"tim", "pw"};
  const auto r = mech.step(base64_encode(challenge));
  ASSERT_TRUE(r.ok()) << r.error().message();
  const auto text = base64_decode(r.response());
  ASSERT_TRUE(text);
  EXPECT_EQ(text->size(), 4U + 32U);
  EXPECT_EQ(text->substr(0, 4), "tim ");
}

}  // namespace
