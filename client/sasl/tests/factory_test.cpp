#include "smtp/sasl/factory.hpp"

#include <gtest/gtest.h>

#include "smtp/sasl/base64.hpp"

namespace {

using smtp::sasl::choose_mechanism;
using smtp::sasl::credentials;
using smtp::sasl::make_mechanism;
using smtp::sasl::preference_order;

credentials with_password() {
  return {"tim", std::string{"pw"}, std::nullopt, {}};
}
credentials with_token() {
  return {"tim", std::nullopt, std::string{"tok"}, {}};
}
credentials with_both() {
  return {"tim", std::string{"pw"}, std::string{"tok"}, {}};
}

TEST(SaslFactory, PreferenceOrderExtendsSmtplibs) {
  using v = std::vector<std::string_view>;
  EXPECT_EQ(preference_order(with_password()), (v{"SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"}));
  EXPECT_EQ(preference_order(with_token()), (v{"XOAUTH2"}));
  EXPECT_EQ(preference_order(with_both()),
            (v{"XOAUTH2", "SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"}));
  EXPECT_TRUE(preference_order(credentials{"tim", std::nullopt, std::nullopt, {}}).empty());
}

TEST(SaslFactory, ChoosesTheBestAdvertisedMechanism) {
  const auto creds = with_password();
  EXPECT_EQ(choose_mechanism("LOGIN PLAIN CRAM-MD5", creds), "CRAM-MD5");
  EXPECT_EQ(choose_mechanism("LOGIN PLAIN", creds), "PLAIN");
  EXPECT_EQ(choose_mechanism("LOGIN", creds), "LOGIN");
  EXPECT_EQ(choose_mechanism("PLAIN SCRAM-SHA-256 CRAM-MD5", creds), "SCRAM-SHA-256");
  EXPECT_EQ(choose_mechanism("  plain\tlogin ", creds), "PLAIN");  // case and spacing
  EXPECT_EQ(choose_mechanism("GSSAPI NTLM", creds), std::nullopt);
  EXPECT_EQ(choose_mechanism("", creds), std::nullopt);
  EXPECT_EQ(choose_mechanism("XOAUTH2", creds), std::nullopt);        // no token given
  EXPECT_EQ(choose_mechanism("PLAINX LOGINY", creds), std::nullopt);  // whole words only
}

TEST(SaslFactory, Xoauth2OnlyWithAToken) {
  EXPECT_EQ(choose_mechanism("PLAIN XOAUTH2", with_token()), "XOAUTH2");
  EXPECT_EQ(choose_mechanism("PLAIN", with_token()), std::nullopt);
  EXPECT_EQ(choose_mechanism("PLAIN XOAUTH2 SCRAM-SHA-256", with_both()), "XOAUTH2");
}

TEST(SaslFactory, MakesEachMechanism) {
  const auto creds = with_both();
  for (const std::string_view name : {"SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2"}) {
    const auto mech = make_mechanism(name, creds);
    ASSERT_TRUE(mech) << name;
    EXPECT_EQ(mech->name(), name);
  }
  EXPECT_EQ(make_mechanism("plain", creds)->name(), "PLAIN");
  EXPECT_FALSE(make_mechanism("GSSAPI", creds));
  EXPECT_FALSE(make_mechanism("bad name!", creds));
  EXPECT_FALSE(make_mechanism("PLAIN", with_token()));
  EXPECT_FALSE(make_mechanism("XOAUTH2", with_password()));
}

TEST(SaslFactory, PassesAuthzidAndNonce) {
  credentials creds = with_password();
  creds.authzid = "admin";
  EXPECT_EQ(make_mechanism("PLAIN", creds)->initial_response(),
            smtp::sasl::base64_encode(std::string("admin\0tim\0pw", 12)));
  EXPECT_EQ(make_mechanism("SCRAM-SHA-256", creds, "abc")->initial_response(),
            smtp::sasl::base64_encode("n,,n=tim,r=abc"));
}

TEST(SaslFactory, SecretExposureIsReportedForTheTlsPolicy) {
  const auto creds = with_both();
  EXPECT_TRUE(make_mechanism("PLAIN", creds)->exposes_secret());
  EXPECT_TRUE(make_mechanism("LOGIN", creds)->exposes_secret());
  EXPECT_TRUE(make_mechanism("XOAUTH2", creds)->exposes_secret());
  EXPECT_FALSE(make_mechanism("CRAM-MD5", creds)->exposes_secret());
  EXPECT_FALSE(make_mechanism("SCRAM-SHA-256", creds)->exposes_secret());
}

}  // namespace
