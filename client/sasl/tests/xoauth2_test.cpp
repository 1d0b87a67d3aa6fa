#include "smtp/sasl/xoauth2.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "smtp/sasl/base64.hpp"

namespace {

using smtp::sasl::base64_encode;
using smtp::sasl::error_kind;
using smtp::sasl::xoauth2;

constexpr const char* user = "someuser@example.com";
constexpr const char* token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
// Google's documented example of the encoded XOAUTH2 string for the user and token above.
constexpr const char* encoded =
    "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJo"
    "ZG1semRHRXVZMjl0Q2cBAQ==";

TEST(SaslXoauth2, InitialResponseMatchesTheDocumentedEncoding) {
  xoauth2 mech{user, token};
  EXPECT_EQ(mech.name(), "XOAUTH2");
  EXPECT_TRUE(mech.exposes_secret());
  EXPECT_EQ(mech.initial_response(), encoded);
  EXPECT_TRUE(mech.done());
  EXPECT_FALSE(mech.server_error());
}

TEST(SaslXoauth2, WithoutInitialResponseAnswersTheEmptyChallenge) {
  xoauth2 mech{user, token};
  const auto r = mech.step("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response(), encoded);
}

// S: 334 eyJzdGF0dXMiOiI0MDEi...  C: (empty line)  S: 535 ...
TEST(SaslXoauth2, ErrorJsonChallengeIsAnsweredWithAnEmptyLine) {
  const std::string json =
      R"({"status":"401","schemes":"bearer","scope":"https://mail.google.com/"})";
  xoauth2 mech{user, token};
  ASSERT_TRUE(mech.initial_response());
  const auto r = mech.step(base64_encode(json));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response(), "");
  ASSERT_TRUE(mech.server_error());
  EXPECT_EQ(*mech.server_error(), json);
}

TEST(SaslXoauth2, OnlyOneErrorChallengeIsAnswered) {
  xoauth2 mech{user, token};
  ASSERT_TRUE(mech.initial_response());
  ASSERT_TRUE(mech.step(base64_encode("{}")));
  const auto r = mech.step(base64_encode("{}"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::unexpected_challenge);
}

TEST(SaslXoauth2, InvalidBase64ErrorChallengeGetsCancelled) {
  xoauth2 mech{user, token};
  ASSERT_TRUE(mech.initial_response());
  const auto r = mech.step("{\"status\":\"401\"}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::invalid_base64);
}

// ^A ends a field; letting one through would forge fields.
TEST(SaslXoauth2, RejectsControlAInUserOrToken) {
  EXPECT_THROW((xoauth2{"a\x01"
                        "auth=Bearer x",
                        token}),
               std::invalid_argument);
  EXPECT_THROW((xoauth2{user, "tok\x01"}), std::invalid_argument);
}

}  // namespace
