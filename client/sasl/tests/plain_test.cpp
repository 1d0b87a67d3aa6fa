#include "smtp/sasl/plain.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

using smtp::sasl::error_kind;
using smtp::sasl::plain;

// C: AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm  (\0tim\0tanstaaftanstaaf)
TEST(SaslPlain, InitialResponseIsNulUserNulPassword) {
  plain mech{"tim", "tanstaaftanstaaf"};
  EXPECT_EQ(mech.name(), "PLAIN");
  EXPECT_TRUE(mech.exposes_secret());
  EXPECT_FALSE(mech.done());
  EXPECT_EQ(mech.initial_response(), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
  EXPECT_TRUE(mech.done());
  EXPECT_FALSE(mech.on_success("2.7.0 Authentication successful"));
}

TEST(SaslPlain, AuthzidGoesFirst) {
  plain mech{"tim", "pw", "admin"};
  // "admin\0tim\0pw"
  EXPECT_EQ(mech.initial_response(), "YWRtaW4AdGltAHB3");
}

// C: AUTH PLAIN / S: 334 / C: AHRpbQB0YW5zdGFhZnRhbnN0YWFm
TEST(SaslPlain, WithoutInitialResponseAnswersTheEmptyChallenge) {
  plain mech{"tim", "tanstaaftanstaaf"};
  const auto r = mech.step("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response(), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
  EXPECT_TRUE(mech.done());
}

TEST(SaslPlain, EmptyCredentialsStillEncodeTheSeparators) {
  plain mech{"", ""};
  EXPECT_EQ(mech.initial_response(), "AAA=");  // "\0\0"
}

TEST(SaslPlain, RejectsASecondChallenge) {
  plain mech{"tim", "pw"};
  ASSERT_TRUE(mech.initial_response());
  const auto r = mech.step("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::unexpected_challenge);
}

TEST(SaslPlain, InvalidBase64ChallengeIsAnError) {
  plain mech{"tim", "pw"};
  const auto r = mech.step("not base64!");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::invalid_base64);
  EXPECT_FALSE(mech.done());
}

// A NUL inside a field would shift the fields the server sees.
TEST(SaslPlain, RejectsNulInCredentials) {
  EXPECT_THROW((plain{std::string("ti\0m", 4), "pw"}), std::invalid_argument);
  EXPECT_THROW((plain{"tim", std::string("p\0w", 3)}), std::invalid_argument);
  EXPECT_THROW((plain{"tim", "pw", std::string("a\0", 2)}), std::invalid_argument);
}

}  // namespace
