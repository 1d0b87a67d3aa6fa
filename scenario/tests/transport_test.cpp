// One file, every transport: the run wraps the script, the file never copies it.
#include "smtp/scenario/transport.hpp"

#include <gtest/gtest.h>

#include "smtp/scenario/parser.hpp"

using namespace smtp::scenario;

namespace {
const char* basic =
    "description: basic\n"
    "transports: plain starttls tls unix\n"
    "S: 220 hi\n"
    "C: EHLO *\n"
    "S: 250 ok\n"
    "C: QUIT\n"
    "S: 221 bye\n";
}

TEST(Transport, PlainAndUnixPlayTheStepsAsWritten) {
  auto s = parse_text(basic, "t.scn");
  EXPECT_EQ(steps_for(s, Transport::plain).size(), s.steps.size());
  EXPECT_EQ(steps_for(s, Transport::unix_socket).size(), s.steps.size());
}

TEST(Transport, ImplicitTlsHandshakesFirst) {
  auto s = parse_text(basic, "t.scn");
  auto steps = steps_for(s, Transport::tls);
  ASSERT_EQ(steps.size(), s.steps.size() + 1);
  EXPECT_EQ(steps[0].kind, Step::Kind::starttls);
  EXPECT_TRUE(steps[0].synthetic);
}

TEST(Transport, ImplicitTlsRejectedHandshakeIsTheScriptItself) {
  auto s = parse_text("description: d\ntransports: tls\nserver-cert: expired\nexpect-tls-reject\n",
                      "t.scn");
  auto steps = steps_for(s, Transport::tls);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].kind, Step::Kind::expect_tls_reject);
  EXPECT_FALSE(steps[0].synthetic);
}

TEST(Transport, StarttlsIsInsertedAfterTheGreeting) {
  auto s = parse_text(basic, "t.scn");
  auto steps = steps_for(s, Transport::starttls);
  ASSERT_EQ(steps.size(), s.steps.size() + 6);
  EXPECT_EQ(steps[0].kind, Step::Kind::server_line);  // the script's greeting
  EXPECT_EQ(steps[1].kind, Step::Kind::client_line);
  EXPECT_TRUE(steps[1].pattern->matches("EHLO me.example"));
  EXPECT_TRUE(steps[4].pattern->matches("STARTTLS"));
  EXPECT_EQ(steps[5].pattern->literal(), "220 2.0.0 Ready to start TLS");
  EXPECT_EQ(steps[6].kind, Step::Kind::starttls);
  EXPECT_TRUE(steps[7].pattern->matches("EHLO again"));  // the script's own EHLO, inside TLS
  EXPECT_FALSE(steps[7].synthetic);
}

TEST(Transport, LmtpPreludeUsesLhlo) {
  auto s = parse_text(
      "description: x\nprotocol: lmtp\ntransports: starttls\nS: 220 hi\nC: LHLO *\n", "l.scn");
  auto steps = steps_for(s, Transport::starttls);
  EXPECT_TRUE(steps[1].pattern->matches("LHLO me"));
  EXPECT_FALSE(steps[1].pattern->matches("EHLO me"));
}
