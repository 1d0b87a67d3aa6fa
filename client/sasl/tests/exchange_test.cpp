// Whole AUTH exchanges as transcripts: a minimal driver, written the way the client's AUTH
// algorithm is meant to use smtp::sasl, plays scripted server replies. It shows the wiring
// (initial_response_ok, "*" on a bad challenge, on_success at 235, the redacted trace) and checks
// that the pieces fit together.

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "smtp/sasl/base64.hpp"
#include "smtp/sasl/factory.hpp"
#include "smtp/sasl/redact.hpp"
#include "smtp/sasl/scram.hpp"

namespace {

using namespace smtp::sasl;

struct outcome {
  std::vector<std::string> wire;   // what the client wrote, verbatim
  std::vector<std::string> trace;  // what a debug trace would print
  std::string result;              // "authenticated", or why not
};

// Replies are "334 <text>", "235 <text>" or anything else (a failure code).
outcome run(mechanism& mech, bool initial_response_ok, std::deque<std::string> replies) {
  outcome out;
  bool in_exchange = false;
  auto send = [&](const std::string& line) {
    out.wire.push_back(line);
    out.trace.push_back(redact_client_line(line, in_exchange));
  };
  send(mech.auth_command(initial_response_ok));
  while (!replies.empty()) {
    const std::string reply = replies.front();
    replies.pop_front();
    const std::string code = reply.substr(0, 3);
    const std::string text = reply.size() > 4 ? reply.substr(4) : std::string{};
    if (code == "334") {
      in_exchange = true;
      const auto r = mech.step(text);
      if (!r) {
        send("*");
        out.result = "SMTPAuthenticationError: " + r.error().message();
        return out;
      }
      send(r.response());
      continue;
    }
    if (code == "235") {
      if (const auto e = mech.on_success(text)) {
        out.result = "SMTPAuthenticationError: " + e->message();
      } else {
        out.result = "authenticated";
      }
      return out;
    }
    out.result = "SMTPAuthenticationError: " + reply;
    return out;
  }
  out.result = "server went quiet";
  return out;
}

const credentials tim{"tim", std::string{"tanstaaftanstaaf"}, std::nullopt, {}};

TEST(SaslExchange, PlainWithInitialResponse) {
  auto mech = make_mechanism("PLAIN", tim);
  const auto out = run(*mech, true, {"235 2.7.0 Authentication successful"});
  EXPECT_EQ(out.wire, (std::vector<std::string>{"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm"}));
  EXPECT_EQ(out.trace, (std::vector<std::string>{"AUTH PLAIN <redacted>"}));
  EXPECT_EQ(out.result, "authenticated");
}

TEST(SaslExchange, PlainWithoutInitialResponse) {
  auto mech = make_mechanism("PLAIN", tim);
  const auto out = run(*mech, false, {"334 ", "235 2.7.0 ok"});
  EXPECT_EQ(out.wire, (std::vector<std::string>{"AUTH PLAIN", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"}));
  EXPECT_EQ(out.trace, (std::vector<std::string>{"AUTH PLAIN", "<redacted>"}));
  EXPECT_EQ(out.result, "authenticated");
}

TEST(SaslExchange, LoginPromptsAndA535) {
  auto mech = make_mechanism("LOGIN", tim);
  const auto out = run(*mech, false,
                       {"334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", "535 5.7.8 Authentication failed"});
  EXPECT_EQ(out.wire,
            (std::vector<std::string>{"AUTH LOGIN", "dGlt", base64_encode("tanstaaftanstaaf")}));
  EXPECT_EQ(out.trace, (std::vector<std::string>{"AUTH LOGIN", "<redacted>", "<redacted>"}));
  EXPECT_EQ(out.result, "SMTPAuthenticationError: 535 5.7.8 Authentication failed");
}

TEST(SaslExchange, InvalidBase64ChallengeIsCancelledWithStar) {
  auto mech = make_mechanism("CRAM-MD5", tim);
  const auto out = run(*mech, true, {"334 <1896.697170952@postoffice>", "501 5.7.0 cancelled"});
  EXPECT_EQ(out.wire, (std::vector<std::string>{"AUTH CRAM-MD5", "*"}));
  EXPECT_EQ(out.trace, out.wire);  // nothing secret was sent
  EXPECT_EQ(out.result, "SMTPAuthenticationError: challenge is not valid base64");
}

TEST(SaslExchange, EndlessChallengesAreCutOff) {
  auto mech = make_mechanism("LOGIN", tim);
  std::deque<std::string> replies(10, "334 VXNlcm5hbWU6");
  const auto out = run(*mech, false, replies);
  EXPECT_EQ(out.wire.back(), "*");
  EXPECT_LE(out.wire.size(), static_cast<std::size_t>(mechanism::max_challenges) + 2);
  EXPECT_EQ(out.result.rfind("SMTPAuthenticationError: ", 0), 0U);
}

TEST(SaslExchange, ScramRfc7677WithServerProof) {
  scram_sha256 mech{"user", "pencil", "rOprNGfwEbeRWgbNEkqO"};
  const auto out = run(
      mech, true,
      {"334 " + base64_encode("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                              "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
       "334 " + base64_encode("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), "235 2.7.0 ok"});
  ASSERT_EQ(out.wire.size(), 3U);
  EXPECT_EQ(out.wire[0], "AUTH SCRAM-SHA-256 " + base64_encode("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
  EXPECT_EQ(out.wire[2], "");  // empty answer to server-final
  EXPECT_EQ(out.trace,
            (std::vector<std::string>{"AUTH SCRAM-SHA-256 <redacted>", "<redacted>", ""}));
  EXPECT_EQ(out.result, "authenticated");
}

// An impostor that accepts any proof but cannot compute v= is caught at 235.
TEST(SaslExchange, ScramServerThatSkipsItsProofIsNotBelieved) {
  scram_sha256 mech{"user", "pencil", "rOprNGfwEbeRWgbNEkqO"};
  const auto out =
      run(mech, true,
          {"334 " + base64_encode("r=rOprNGfwEbeRWgbNEkqOserver,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
           "235 2.7.0 ok"});
  EXPECT_EQ(out.result,
            "SMTPAuthenticationError: server did not prove it knows the password: 235 before a "
            "verified v=");
}

TEST(SaslExchange, Xoauth2ErrorJsonThen535) {
  const credentials c{"someuser@example.com", std::nullopt, std::string{"tok"}, {}};
  auto mech = make_mechanism("XOAUTH2", c);
  const auto out =
      run(*mech, true, {"334 " + base64_encode(R"({"status":"401"})"), "535 5.7.8 bad token"});
  ASSERT_EQ(out.wire.size(), 2U);
  EXPECT_EQ(out.wire[1], "");
  EXPECT_EQ(out.trace[0], "AUTH XOAUTH2 <redacted>");
  EXPECT_EQ(out.result, "SMTPAuthenticationError: 535 5.7.8 bad token");
}

}  // namespace
