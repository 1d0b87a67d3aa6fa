#include "smtp/sasl/scram.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

#include "smtp/sasl/base64.hpp"

namespace {

using smtp::sasl::base64_decode;
using smtp::sasl::base64_encode;
using smtp::sasl::error_kind;
using smtp::sasl::scram_escape_name;
using smtp::sasl::scram_sha256;

// RFC 7677 section 3: user "user", password "pencil".
constexpr const char* client_nonce = "rOprNGfwEbeRWgbNEkqO";
constexpr const char* client_first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr const char* server_first =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr const char* client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr const char* server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

std::string decoded(const smtp::sasl::step_result& r) {
  EXPECT_TRUE(r.ok()) << r.error().message();
  if (!r.ok()) return {};
  return base64_decode(r.response()).value_or("<not base64>");
}

scram_sha256 rfc_client() {
  return scram_sha256{"user", "pencil", client_nonce};
}

// Replace the first occurrence of `from` in the RFC's server-first.
std::string server_first_with(std::string_view from, std::string_view to) {
  std::string s = server_first;
  s.replace(s.find(from), from.size(), to);
  return s;
}

smtp::sasl::sasl_error first_error(std::string_view server_first_message) {
  auto mech = rfc_client();
  EXPECT_TRUE(mech.initial_response());
  const auto r = mech.step(base64_encode(server_first_message));
  EXPECT_FALSE(r.ok());
  if (r.ok()) return {error_kind::unexpected_challenge, "succeeded"};
  return r.error();
}

TEST(SaslScram, FollowsTheRfc7677Example) {
  auto mech = rfc_client();
  EXPECT_EQ(mech.name(), "SCRAM-SHA-256");
  EXPECT_FALSE(mech.exposes_secret());
  EXPECT_EQ(base64_decode(*mech.initial_response()), client_first);
  EXPECT_EQ(decoded(mech.step(base64_encode(server_first))), client_final);
  EXPECT_FALSE(mech.server_verified());
  const auto r = mech.step(base64_encode(server_final));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response(), "");  // the empty line that lets the server say 235
  EXPECT_TRUE(mech.server_verified());
  EXPECT_TRUE(mech.done());
  EXPECT_FALSE(mech.on_success("2.7.0 Authentication successful"));
}

// A second vector, computed with Python's hashlib/hmac (an independent implementation): a user
// name that needs saslname escaping, a password with ',' and '=', and 10000 iterations.
TEST(SaslScram, MatchesAnIndependentlyComputedVector) {
  scram_sha256 mech{"us,er=x", "p@ss w0rd,=", "fyko+d2lbbFgONRv9qkxdawL"};
  EXPECT_EQ(base64_decode(*mech.initial_response()), "n,,n=us=2Cer=3Dx,r=fyko+d2lbbFgONRv9qkxdawL");
  EXPECT_EQ(
      decoded(mech.step(base64_encode(
          "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=AAECAwQFBgcICQoLDA0ODw==,i=10000"))),
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
      "p=ZQlE71Rg34KRVfQU4MJGwmjs3IpOWiYwp1L2fDmZJwM=");
  EXPECT_TRUE(mech.step(base64_encode("v=XdmLMwmeIxBrLWNFi1Vs4DWFirQcAZac2sNwVrWU8/4=")));
  EXPECT_TRUE(mech.server_verified());
}

// The RFC's server signature belongs to the RFC's password: with another password it must fail.
TEST(SaslScram, ServerSignatureForAnotherPasswordIsAFailure) {
  scram_sha256 mech{"user", "pencil2", client_nonce};
  ASSERT_TRUE(mech.initial_response());
  const auto r = mech.step(base64_encode(server_first));
  ASSERT_TRUE(r.ok());
  EXPECT_NE(decoded(r), client_final);
  const auto final_result = mech.step(base64_encode(server_final));
  ASSERT_FALSE(final_result.ok());
  EXPECT_EQ(final_result.error().kind, error_kind::server_signature_mismatch);
}

TEST(SaslScram, WithoutInitialResponseSendsClientFirstOnTheEmptyChallenge) {
  auto mech = rfc_client();
  EXPECT_EQ(decoded(mech.step("")), client_first);
  EXPECT_EQ(decoded(mech.step(base64_encode(server_first))), client_final);
  EXPECT_TRUE(mech.step(base64_encode(server_final)));
  EXPECT_TRUE(mech.server_verified());
}

TEST(SaslScram, NonEmptyChallengeBeforeClientFirstIsMalformed) {
  auto mech = rfc_client();
  const auto r = mech.step(base64_encode(server_first));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::malformed_server_message);
}

// Server-final carried in the 235 text instead of a 334 is verified there.
TEST(SaslScram, AcceptsServerFinalInThe235Text) {
  auto mech = rfc_client();
  ASSERT_TRUE(mech.initial_response());
  ASSERT_TRUE(mech.step(base64_encode(server_first)));
  EXPECT_FALSE(mech.on_success(base64_encode(server_final)));
  EXPECT_TRUE(mech.server_verified());
}

// A server that says 235 without proving it knows the password is not believed.
TEST(SaslScram, SuccessWithoutServerSignatureIsAFailure) {
  auto mech = rfc_client();
  ASSERT_TRUE(mech.initial_response());
  ASSERT_TRUE(mech.step(base64_encode(server_first)));
  const auto e = mech.on_success("2.7.0 Authentication successful");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, error_kind::missing_server_signature);
  EXPECT_FALSE(mech.server_verified());
}

TEST(SaslScram, SuccessBeforeTheProofIsAFailure) {
  auto mech = rfc_client();
  ASSERT_TRUE(mech.initial_response());
  const auto e = mech.on_success("2.7.0 OK");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, error_kind::missing_server_signature);
}

TEST(SaslScram, WrongServerSignatureIsAFailure) {
  auto mech = rfc_client();
  ASSERT_TRUE(mech.initial_response());
  ASSERT_TRUE(mech.step(base64_encode(server_first)));
  const auto r = mech.step(base64_encode("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::server_signature_mismatch);
  EXPECT_FALSE(mech.server_verified());
  // Once failed, a later 235 is not believed either.
  EXPECT_TRUE(mech.on_success(base64_encode(server_final)));
}

TEST(SaslScram, WrongServerSignatureIn235IsAFailure) {
  auto mech = rfc_client();
  ASSERT_TRUE(mech.initial_response());
  ASSERT_TRUE(mech.step(base64_encode(server_first)));
  const auto e = mech.on_success(base64_encode("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, error_kind::server_signature_mismatch);
}

TEST(SaslScram, TruncatedServerSignatureIsAFailure) {
  auto mech = rfc_client();
  ASSERT_TRUE(mech.initial_response());
  ASSERT_TRUE(mech.step(base64_encode(server_first)));
  const auto r = mech.step(base64_encode("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5n"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::server_signature_mismatch);
}

TEST(SaslScram, ServerFinalErrorIsReported) {
  auto mech = rfc_client();
  ASSERT_TRUE(mech.initial_response());
  ASSERT_TRUE(mech.step(base64_encode(server_first)));
  const auto r = mech.step(base64_encode("e=invalid-proof"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::server_error);
  EXPECT_EQ(r.error().detail, "invalid-proof");
}

TEST(SaslScram, MalformedServerFinalIsAFailure) {
  for (const char* bad : {"", "v", "x=abc", "v=not base64", "=abc", "v=6rri,"}) {
    auto mech = rfc_client();
    ASSERT_TRUE(mech.initial_response());
    ASSERT_TRUE(mech.step(base64_encode(server_first)));
    const auto r = mech.step(base64_encode(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, error_kind::malformed_server_message) << bad;
  }
}

TEST(SaslScram, ServerFinalExtensionsAfterVAreIgnored) {
  auto mech = rfc_client();
  ASSERT_TRUE(mech.initial_response());
  ASSERT_TRUE(mech.step(base64_encode(server_first)));
  EXPECT_TRUE(mech.step(base64_encode(std::string{server_final} + ",x=ext")));
  EXPECT_TRUE(mech.server_verified());
}

TEST(SaslScram, ChallengeAfterVerificationIsUnexpected) {
  auto mech = rfc_client();
  ASSERT_TRUE(mech.initial_response());
  ASSERT_TRUE(mech.step(base64_encode(server_first)));
  ASSERT_TRUE(mech.step(base64_encode(server_final)));
  const auto r = mech.step("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::unexpected_challenge);
}

// The server must extend our nonce: otherwise it could replay an old exchange.
TEST(SaslScram, RejectsServerNonceNotStartingWithClientNonce) {
  EXPECT_EQ(first_error(server_first_with("r=rOpr", "r=XOpr")).kind, error_kind::nonce_mismatch);
  EXPECT_EQ(first_error("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").kind,
            error_kind::nonce_mismatch);  // nothing added by the server
  EXPECT_EQ(first_error("r=rOprNG,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").kind,
            error_kind::nonce_mismatch);  // shorter than ours
}

TEST(SaslScram, RejectsIterationCountBelow4096) {
  const auto e = first_error(server_first_with("i=4096", "i=4095"));
  EXPECT_EQ(e.kind, error_kind::iteration_count_too_low);
  EXPECT_EQ(first_error(server_first_with("i=4096", "i=0")).kind,
            error_kind::iteration_count_too_low);
  EXPECT_EQ(first_error(server_first_with("i=4096", "i=1")).kind,
            error_kind::iteration_count_too_low);
}

TEST(SaslScram, RejectsIterationCountThatWouldPinTheCpu) {
  EXPECT_EQ(first_error(server_first_with("i=4096", "i=1000001")).kind,
            error_kind::iteration_count_too_high);
  EXPECT_EQ(first_error(server_first_with("i=4096", "i=99999999999999999999999")).kind,
            error_kind::iteration_count_too_high);
}

TEST(SaslScram, RejectsMalformedServerFirst) {
  const std::string nonce = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  for (const std::string& bad : {
           std::string{},                                      // empty
           std::string{"garbage"},                             // not attributes
           nonce,                                              // s= and i= missing
           nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==",              // i= missing
           nonce + ",i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==",       // out of order
           "s=W22ZaJ0SNY7soEsUEjb6gQ==," + nonce + ",i=4096",  // out of order
           nonce + ",s=,i=4096",                               // empty salt
           nonce + ",s=not base64!,i=4096",                    // bad salt
           nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",           // empty count
           nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x",      // junk after count
           nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-4096",      // negative
           nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=+4096",      // sign
           nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i= 4096",      // space
           nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,",      // trailing comma
           nonce + ",,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",      // empty attribute
           std::string{
               "r=rOprNGfwEbeRWgbNEkqO\x7f,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"},  // non-printable
           std::string{"m=ext,"} + nonce +
               ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",  // mandatory extension
       }) {
    auto mech = rfc_client();
    ASSERT_TRUE(mech.initial_response());
    const auto r = mech.step(base64_encode(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, error_kind::malformed_server_message) << bad;
  }
}

TEST(SaslScram, ServerFirstExtensionsAreAllowed) {
  auto mech = rfc_client();
  ASSERT_TRUE(mech.initial_response());
  // The extension is part of AuthMessage, so the proof changes; the exchange still proceeds.
  const auto r = mech.step(base64_encode(std::string{server_first} + ",x=ext"));
  ASSERT_TRUE(r.ok());
  EXPECT_NE(decoded(r), client_final);
}

TEST(SaslScram, ServerFirstThatIsNotBase64IsInvalid) {
  auto mech = rfc_client();
  ASSERT_TRUE(mech.initial_response());
  const auto r = mech.step(server_first);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, error_kind::invalid_base64);
}

TEST(SaslScram, EscapesSaslName) {
  EXPECT_EQ(scram_escape_name("user"), "user");
  EXPECT_EQ(scram_escape_name("a,b=c"), "a=2Cb=3Dc");
  EXPECT_EQ(scram_escape_name(",="), "=2C=3D");
  scram_sha256 mech{"us,er=", "pencil", client_nonce};
  EXPECT_EQ(base64_decode(*mech.initial_response()), "n,,n=us=2Cer=3D,r=rOprNGfwEbeRWgbNEkqO");
}

TEST(SaslScram, RandomNoncesArePrintableAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 64; ++i) {
    const std::string nonce = scram_sha256::random_nonce();
    EXPECT_EQ(nonce.size(), 24U);
    EXPECT_EQ(nonce.find(','), std::string::npos);
    seen.insert(nonce);
  }
  EXPECT_EQ(seen.size(), 64U);
  scram_sha256 mech{"user", "pencil"};  // default nonce comes from the CSPRNG
  const auto first = base64_decode(*mech.initial_response());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->rfind("n,,n=user,r=", 0), 0U);
  EXPECT_EQ(first->size(), std::string_view{"n,,n=user,r="}.size() + 24U);
}

TEST(SaslScram, RejectsBadNonceOrUser) {
  EXPECT_THROW((scram_sha256{"user", "pw", ""}), std::invalid_argument);
  EXPECT_THROW((scram_sha256{"user", "pw", "a,b"}), std::invalid_argument);
  EXPECT_THROW((scram_sha256{"user", "pw", "a b"}), std::invalid_argument);
  EXPECT_THROW((scram_sha256{std::string("u\0", 2), "pw", "abc"}), std::invalid_argument);
}

}  // namespace
