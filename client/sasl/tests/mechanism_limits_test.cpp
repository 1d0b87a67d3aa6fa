#include <gtest/gtest.h>

#include <string>

#include "smtp/sasl/base64.hpp"
#include "smtp/sasl/callback_mechanism.hpp"
#include "smtp/sasl/cram_md5.hpp"
#include "smtp/sasl/mechanism.hpp"

namespace {

using smtp::sasl::base64_encode;
using smtp::sasl::callback_mechanism;
using smtp::sasl::error_kind;
using smtp::sasl::mechanism;

// A mechanism that would answer forever: only the step limit stops the server.
callback_mechanism endless() {
  return callback_mechanism{"X-ENDLESS",
                            [](std::optional<std::string_view>) { return std::string{"more"}; }};
}

// A server that keeps challenging is cut off after mechanism::max_challenges (smtplib: 5).
TEST(SaslMechanismLimits, ServerThatKeepsChallengingIsCutOff) {
  auto mech = endless();
  for (int i = 1; i <= mechanism::max_challenges; ++i) {
    ASSERT_TRUE(mech.step("")) << "challenge " << i;
  }
  const auto r = mech.step("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::too_many_challenges);
  EXPECT_EQ(mech.challenges(), mechanism::max_challenges + 1);
}

TEST(SaslMechanismLimits, AfterAFailureEveryStepFails) {
  auto mech = endless();
  ASSERT_FALSE(mech.step("!!!!"));
  const auto r = mech.step("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::unexpected_challenge);
  EXPECT_TRUE(mech.on_success("ok"));  // a 235 after "*" is not believed
}

TEST(SaslMechanismLimits, ChallengeAtTheLengthLimitIsDecoded) {
  smtp::sasl::cram_md5 mech{"tim", "pw"};
  const std::string challenge(mechanism::max_challenge_length / 4 * 3, 'a');
  const std::string text = base64_encode(challenge);
  ASSERT_EQ(text.size(), mechanism::max_challenge_length);
  EXPECT_TRUE(mech.step(text));
}

TEST(SaslMechanismLimits, ChallengeOverTheLengthLimitIsRefused) {
  smtp::sasl::cram_md5 mech{"tim", "pw"};
  const std::string text(mechanism::max_challenge_length + 4, 'A');
  const auto r = mech.step(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::challenge_too_long);
}

TEST(SaslMechanismLimits, ErrorMessagesNameTheProblem) {
  auto mech = endless();
  const auto r = mech.step("Zm9v YmFy");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "challenge is not valid base64");
  const smtp::sasl::sasl_error e{error_kind::server_error, "invalid-proof"};
  EXPECT_EQ(e.message(), "server reported an error: invalid-proof");
}

}  // namespace
