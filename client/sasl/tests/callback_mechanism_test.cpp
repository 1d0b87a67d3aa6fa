#include "smtp/sasl/callback_mechanism.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "smtp/sasl/base64.hpp"

namespace {

using smtp::sasl::base64_encode;
using smtp::sasl::callback_mechanism;
using smtp::sasl::error_kind;
using smtp::sasl::normalize_mechanism_name;

// Like smtplib's authobject: called with no challenge for the IR, then with decoded challenges.
TEST(SaslCallbackMechanism, PassesDecodedChallengesAndEncodesAnswers) {
  std::vector<std::optional<std::string>> seen;
  callback_mechanism mech{
      "x-custom", [&](std::optional<std::string_view> challenge) {
        seen.emplace_back(challenge);
        return std::optional<std::string>{challenge ? "re:" + std::string{*challenge} : "hello"};
      }};
  EXPECT_EQ(mech.name(), "X-CUSTOM");
  EXPECT_TRUE(mech.exposes_secret());
  EXPECT_EQ(mech.initial_response(), base64_encode("hello"));
  const auto r = mech.step(base64_encode("ping"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response(), base64_encode("re:ping"));
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_FALSE(seen[0]);
  EXPECT_EQ(seen[1], "ping");
}

TEST(SaslCallbackMechanism, NoInitialResponseWhenCallbackHasNone) {
  callback_mechanism mech{"X", [](std::optional<std::string_view> c) -> std::optional<std::string> {
                            if (!c) return std::nullopt;
                            return std::string{};
                          }};
  EXPECT_FALSE(mech.initial_response());
}

TEST(SaslCallbackMechanism, EmptyInitialResponseIsSentAsEquals) {
  callback_mechanism mech{"X", [](std::optional<std::string_view>) { return std::string{}; }};
  EXPECT_EQ(mech.initial_response(), "=");  // RFC 4954 section 4
}

TEST(SaslCallbackMechanism, CallbackDecliningCancels) {
  callback_mechanism mech{"X", [](std::optional<std::string_view>) -> std::optional<std::string> {
                            return std::nullopt;
                          }};
  const auto r = mech.step("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::declined);
}

// The name goes onto the AUTH line: it must not carry spaces, CR or LF.
TEST(SaslCallbackMechanism, RejectsNamesThatAreNotSaslNames) {
  const auto cb = [](std::optional<std::string_view>) { return std::string{}; };
  EXPECT_THROW((callback_mechanism{"", cb}), std::invalid_argument);
  EXPECT_THROW((callback_mechanism{"PLAIN\r\nMAIL FROM:<x>", cb}), std::invalid_argument);
  EXPECT_THROW((callback_mechanism{"A B", cb}), std::invalid_argument);
  EXPECT_THROW((callback_mechanism{"ABCDEFGHIJKLMNOPQRSTU", cb}), std::invalid_argument);  // 21
  EXPECT_THROW((callback_mechanism{"X", {}}), std::invalid_argument);
  EXPECT_EQ(normalize_mechanism_name("scram-sha-256"), "SCRAM-SHA-256");
  EXPECT_EQ(normalize_mechanism_name("ABCDEFGHIJKLMNOPQRST"), "ABCDEFGHIJKLMNOPQRST");  // 20
  EXPECT_EQ(normalize_mechanism_name("X_Y-1"), "X_Y-1");
}

}  // namespace
