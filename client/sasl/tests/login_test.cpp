#include "smtp/sasl/login.hpp"

#include <gtest/gtest.h>

#include "smtp/sasl/base64.hpp"

namespace {

using smtp::sasl::base64_decode;
using smtp::sasl::error_kind;
using smtp::sasl::login;

constexpr const char* username_prompt = "VXNlcm5hbWU6";  // "Username:"
constexpr const char* password_prompt = "UGFzc3dvcmQ6";  // "Password:"

// C: AUTH LOGIN / S: 334 VXNlcm5hbWU6 / C: dGlt / S: 334 UGFzc3dvcmQ6 / C: c2VjcmV0
TEST(SaslLogin, AnswersBothPromptsWithoutInitialResponse) {
  login mech{"tim", "secret"};
  EXPECT_EQ(mech.name(), "LOGIN");
  EXPECT_TRUE(mech.exposes_secret());
  auto r = mech.step(username_prompt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response(), "dGlt");
  EXPECT_FALSE(mech.done());
  r = mech.step(password_prompt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response(), "c2VjcmV0");
  EXPECT_TRUE(mech.done());
}

// C: AUTH LOGIN dGlt / S: 334 UGFzc3dvcmQ6 / C: c2VjcmV0   (smtplib's initial_response_ok)
TEST(SaslLogin, InitialResponseIsTheUserName) {
  login mech{"tim", "secret"};
  EXPECT_EQ(mech.initial_response(), "dGlt");
  const auto r = mech.step(password_prompt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response(), "c2VjcmV0");
  EXPECT_TRUE(mech.done());
}

// A server that ignores the initial response asks for the user name again.
TEST(SaslLogin, ServerIgnoringInitialResponseGetsTheUserAgain) {
  login mech{"tim", "secret"};
  ASSERT_TRUE(mech.initial_response());
  auto r = mech.step(username_prompt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response(), "dGlt");
  r = mech.step(password_prompt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response(), "c2VjcmV0");
}

TEST(SaslLogin, PromptsAreMatchedCaseInsensitively) {
  login mech{"tim", "secret"};
  auto r = mech.step("dXNlcm5hbWU6");  // "username:"
  EXPECT_EQ(base64_decode(r.response()), "tim");
  r = mech.step("UEFTU1dPUkQ6");  // "PASSWORD:"
  EXPECT_EQ(base64_decode(r.response()), "secret");
}

TEST(SaslLogin, UnrecognisedPromptsGetUserThenPassword) {
  login mech{"tim", "secret"};
  auto r = mech.step("");  // empty prompt
  EXPECT_EQ(base64_decode(r.response()), "tim");
  r = mech.step("TmFtZT8=");  // "Name?"
  EXPECT_EQ(base64_decode(r.response()), "secret");
  EXPECT_TRUE(mech.done());
}

TEST(SaslLogin, NothingIsSentAfterThePassword) {
  login mech{"tim", "secret"};
  ASSERT_TRUE(mech.step(username_prompt));
  ASSERT_TRUE(mech.step(password_prompt));
  const auto r = mech.step(password_prompt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::unexpected_challenge);
}

TEST(SaslLogin, InvalidBase64PromptIsAnError) {
  login mech{"tim", "secret"};
  const auto r = mech.step("Username:");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::invalid_base64);
}

}  // namespace
