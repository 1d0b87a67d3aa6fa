// Seeded random inputs: strict base64 means every accepted text is the canonical encoding of what
// it decodes to, and no challenge, however odd, makes a mechanism do anything but answer or fail.

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>

#include "smtp/sasl/base64.hpp"
#include "smtp/sasl/factory.hpp"
#include "smtp/sasl/scram.hpp"

namespace {

using namespace smtp::sasl;

constexpr unsigned seed = 20261128;  // fixed: a failure reproduces
constexpr int rounds = 3000;

std::string random_text(std::mt19937& rng, std::string_view alphabet, std::size_t max_length) {
  std::uniform_int_distribution<std::size_t> length(0, max_length);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string out(length(rng), '\0');
  for (auto& c : out) c = alphabet[pick(rng)];
  return out;
}

std::string random_bytes(std::mt19937& rng, std::size_t max_length) {
  std::uniform_int_distribution<std::size_t> length(0, max_length);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out(length(rng), '\0');
  for (auto& c : out) c = static_cast<char>(byte(rng));
  return out;
}

TEST(SaslRandomInput, AcceptedBase64IsCanonical) {
  std::mt19937 rng{seed};
  // Mostly alphabet characters and '=', so that many inputs get past the first checks.
  constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/==";
  int accepted = 0;
  for (int i = 0; i < rounds * 10; ++i) {
    const std::string text = random_text(rng, alphabet, 12);
    const auto decoded = base64_decode(text);
    if (!decoded) continue;
    ++accepted;
    EXPECT_EQ(base64_encode(*decoded), text);
  }
  EXPECT_GT(accepted, 100);  // the property was exercised
}

TEST(SaslRandomInput, RandomBytesRoundTrip) {
  std::mt19937 rng{seed};
  for (int i = 0; i < rounds; ++i) {
    const std::string bytes = random_bytes(rng, 100);
    EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes);
  }
}

// Every mechanism, at every point of its exchange, answers or fails; the limit always ends it.
TEST(SaslRandomInput, MechanismsSurviveArbitraryChallenges) {
  std::mt19937 rng{seed};
  const credentials creds{"user", std::string{"pencil"}, std::string{"token"}, {}};
  const std::string prefixes[] = {
      "", "r=abc", "r=abcdef,s=", "v=", "e=", "m=", "r=abc,s=QUJD,i=4096"};
  for (int i = 0; i < rounds; ++i) {
    for (const std::string_view name : {"SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2"}) {
      auto mech = make_mechanism(name, creds, "abc");
      ASSERT_TRUE(mech);
      if (rng() % 2 == 0) (void)mech->initial_response();
      int steps = 0;
      while (true) {
        std::string challenge = prefixes[rng() % std::size(prefixes)] + random_bytes(rng, 40);
        if (rng() % 4 != 0) challenge = base64_encode(challenge);
        const auto r = mech->step(challenge);
        ++steps;
        if (!r) break;
        ASSERT_LE(steps, mechanism::max_challenges) << name;
      }
      (void)mech->on_success("2.7.0 ok");
    }
  }
}

}  // namespace
