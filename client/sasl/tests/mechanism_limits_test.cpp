#include <gtest/gtest.h>

#include <stdexcept>
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

namespace {

callback_mechanism with_initial_response(std::size_t raw_length) {
  return callback_mechanism{"X-LONGER", [raw_length](std::optional<std::string_view> challenge) {
                              if (challenge) return std::string{"late"};
                              return std::string(raw_length, 'i');
                            }};
}

// RFC 4954 section 4: "AUTH X-LONGER " (14) + 12272 base64 characters + CRLF = 12288 fits.
TEST(SaslMechanismLimits, InitialResponseThatFitsGoesOnTheAuthLine) {
  auto mech = with_initial_response(9204);
  const std::string line = mech.auth_command(true);
  EXPECT_EQ(line.size() + 2, mechanism::max_auth_line);
  EXPECT_EQ(line, "AUTH X-LONGER " + base64_encode(std::string(9204, 'i')));
}

// One byte more and the IR must not be sent on the AUTH line: it answers the empty 334 instead.
TEST(SaslMechanismLimits, InitialResponseTooLongForTheAuthLineIsSentAfterTheChallenge) {
  auto mech = with_initial_response(9205);
  EXPECT_EQ(mech.auth_command(true), "AUTH X-LONGER");
  const auto r = mech.step("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response(), base64_encode(std::string(9205, 'i')));
  const auto next = mech.step(base64_encode("?"));  // later challenges reach the mechanism
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next.response(), base64_encode("late"));
}

TEST(SaslMechanismLimits, AuthCommandWithoutInitialResponse) {
  auto mech = with_initial_response(3);
  EXPECT_EQ(mech.auth_command(false), "AUTH X-LONGER");
  const auto r = mech.step("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response(), base64_encode("late"));  // the callback answers the challenge
}

TEST(SaslMechanismLimits, EmptyInitialResponseIsEqualsOnTheAuthLine) {
  auto mech = with_initial_response(0);
  EXPECT_EQ(mech.auth_command(true), "AUTH X-LONGER =");
}

// Asking for the IR twice, or after the exchange started, is a driver bug: it would reset SCRAM.
TEST(SaslMechanismLimits, InitialResponseOutOfTurnIsALogicError) {
  auto twice = with_initial_response(3);
  ASSERT_TRUE(twice.initial_response());
  EXPECT_THROW((void)twice.initial_response(), std::logic_error);
  auto after_command = with_initial_response(3);
  (void)after_command.auth_command(false);
  EXPECT_THROW((void)after_command.initial_response(), std::logic_error);
  auto after_step = with_initial_response(3);
  ASSERT_TRUE(after_step.step(""));
  EXPECT_THROW((void)after_step.initial_response(), std::logic_error);
}

}  // namespace
