// The client-role player against a scripted server: what the probe wrote, what the server
// answered, the verdict.
#include "smtp/probe/player.hpp"

#include <gtest/gtest.h>

#include <deque>

#include "smtp/probe/check.hpp"
#include "smtp/probe/reply_line.hpp"
#include "smtp/scenario/escape.hpp"
#include "smtp/scenario/parser.hpp"

using namespace smtp::probe;
namespace sc = smtp::scenario;

namespace {

// The server's bytes are given up front, per probe write: reply[i] answers write i.
class ScriptedServer final : public Connection {
 public:
  explicit ScriptedServer(std::vector<std::string> replies)
      : replies_(replies.begin(), replies.end()) {}
  void write(std::string_view bytes, Clock::time_point) override {
    writes.emplace_back(bytes);
    if (!replies_.empty()) {
      in_ += replies_.front();
      replies_.pop_front();
    }
  }
  Line read_line(Clock::time_point) override {
    if (!greeted_ && !replies_.empty()) {
      greeted_ = true;
      in_ += replies_.front();
      replies_.pop_front();
    }
    auto lf = in_.find('\n');
    if (lf == std::string::npos) throw IoError(IoError::Kind::timeout, "timed out");
    Line l{in_.substr(0, lf), "\n"};
    if (!l.text.empty() && l.text.back() == '\r') {
      l.text.pop_back();
      l.terminator = "\r\n";
    }
    in_.erase(0, lf + 1);
    return l;
  }
  std::string read_for(Clock::time_point, bool& closed) override {
    closed = false;
    return std::exchange(in_, {});
  }
  std::string read_until_eof(Clock::time_point) override { return std::exchange(in_, {}); }
  std::size_t buffered() const override { return in_.size(); }
  TlsResult start_tls(const TlsOptions&, Clock::time_point) override {
    tls_ = true;
    return TlsResult{true, "", "TLSv1.3", "X", "/CN=x"};
  }
  bool tls() const override { return tls_; }
  void close() noexcept override {}
  void reset() noexcept override { reset_ = true; }

  std::vector<std::string> writes;
  bool reset_ = false;

 private:
  std::deque<std::string> replies_;
  std::string in_;
  bool greeted_ = false;
  bool tls_ = false;
};

PlayResult play_text(const std::string& script, ScriptedServer& server) {
  auto s = sc::parse_text("description: t\n" + script, "t.scn");
  Variables v;
  v.set("helo_name", "probe.test");
  return play(s.steps, server, v, PlayOptions{}, Clock::now() + std::chrono::seconds(5));
}

}  // namespace

// Issue 17: replies are read by the client's own parser (wire::ReplyParser) with the client's
// limits; what a client would refuse is a finding that names the rule, not tolerated.
TEST(Player, ReplyTheClientRefusesIsAFindingNamingTheRule) {
  {
    ScriptedServer srv({"199 mx\r\n"});
    auto r = play_text("S: 1xx *\n", srv);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.evidence.find("reply code outside 2xx-5xx"), std::string::npos) << r.evidence;
  }
  {
    ScriptedServer srv({"220 mx\r\n", "250 " + std::string(9000, 'x') + "\r\n"});
    auto r = play_text("S: 220 *\nC: NOOP\nS: 250 *\n", srv);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.evidence.find("longer than 8192 bytes"), std::string::npos) << r.evidence;
    EXPECT_NE(r.evidence.find("to NOOP"), std::string::npos) << r.evidence;
  }
  {
    ScriptedServer srv({"220 mx\r\n", "250 a\x01b\r\n"});
    auto r = play_text("S: 220 *\nC: NOOP\nS: 250 *\n", srv);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.evidence.find("control character"), std::string::npos) << r.evidence;
  }
}

TEST(ReplyLine, ContinuationPatternsStartWithCodeAndDash) {
  std::string err;
  EXPECT_TRUE(is_continuation_pattern(*sc::LinePattern::parse("250-*", true, err)));
  EXPECT_TRUE(is_continuation_pattern(*sc::LinePattern::parse("2xx-*", true, err)));
  EXPECT_TRUE(is_continuation_pattern(*sc::LinePattern::parse("~ 250-(?!STARTTLS).*", true, err)));
  EXPECT_FALSE(is_continuation_pattern(*sc::LinePattern::parse("250 *", true, err)));
  EXPECT_FALSE(is_continuation_pattern(*sc::LinePattern::parse("2xx*", true, err)));
}

// An EHLO reply has as many lines as the server has extensions: the last continuation pattern
// stands for all of them.
TEST(Player, ContinuationPatternAbsorbsEveryExtensionLine) {
  ScriptedServer srv({"220 mx ESMTP\r\n",
                      "250-mx\r\n250-PIPELINING\r\n250-SIZE 10\r\n250 8BITMIME\r\n",
                      "221 bye\r\n"});
  auto r = play_text("S: 220 *\nC: EHLO ${helo_name}\nS: 250-*\nS: 250 *\nC: QUIT\nS: 221*\n", srv);
  EXPECT_TRUE(r.ok) << r.evidence;
  ASSERT_EQ(srv.writes.size(), 2u);
  EXPECT_EQ(srv.writes[0], "EHLO probe.test\r\n");
}

TEST(Player, WholeReplyPatternIsJudgedByItsFinalLine) {
  ScriptedServer srv({"220-mx first\r\n220 mx second\r\n", "221 bye\r\n"});
  auto r = play_text("S: 220 mx second\nC: QUIT\nS: 221*\n", srv);
  EXPECT_TRUE(r.ok) << r.evidence;
}

TEST(Player, MultilineReplyWithMixedCodesDiverges) {
  ScriptedServer srv({"220 mx\r\n", "250-mx\r\n251-PIPELINING\r\n250 SIZE\r\n"});
  auto r = play_text("S: 220 *\nC: EHLO x\nS: 250-*\nS: 250 *\n", srv);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("same code (first was 250)"), std::string::npos) << r.reason;
  EXPECT_TRUE(srv.reset_);
}

TEST(Player, NegativeLookaheadFlagsAnExtensionThatMustBeAbsent) {
  ScriptedServer srv({"220 mx\r\n", "250-mx\r\n250-STARTTLS\r\n250 SIZE\r\n"});
  auto r =
      play_text("S: 220 *\nC: EHLO x\nS: ~ 250-(?!STARTTLS).*\nS: ~ 250 (?!STARTTLS).*\n", srv);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.received, "250-STARTTLS");
}

TEST(Player, ConsecutiveClientLinesGoOutInOneWrite) {
  ScriptedServer srv({"220 mx\r\n", "250 ok\r\n250 ok\r\n"});
  auto r = play_text("S: 220 *\nC: MAIL FROM:<>\nC: RSET\nS: 250 *\nS: 250 *\n", srv);
  EXPECT_TRUE(r.ok) << r.evidence;
  ASSERT_EQ(srv.writes.size(), 1u);
  EXPECT_EQ(srv.writes[0], "MAIL FROM:<>\r\nRSET\r\n");
}

TEST(Player, ReplyEndingInBareLfDiverges) {
  ScriptedServer srv({"220 mx\n"});
  auto r = play_text("S: 220 *\n", srv);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("bare LF"), std::string::npos);
}

// CVE-2011-0411: the answer to a command injected after STARTTLS shows up as an extra reply.
TEST(Player, BytesAfterStarttlsReplyBeforeHandshakeDiverge) {
  ScriptedServer srv({"220 mx\r\n", "220 go ahead\r\n250 injected NOOP answered\r\n"});
  auto r = play_text("S: 220 *\nC: STARTTLS\nC: NOOP\nS: 220 *\nstarttls\n", srv);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("after its STARTTLS reply"), std::string::npos) << r.reason;
}

TEST(Player, QuietPauseDivergesWhenTheServerAnswers) {
  ScriptedServer srv({"220 mx\r\n", "250 queued\r\n"});
  auto r = play_text("S: 220 *\nC+ body\\n.\\n\nsleep 10ms quiet\nreset\n", srv);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.received, "250 queued\\r\\n");
}

TEST(Player, TimeoutIsADivergenceNotAnException) {
  ScriptedServer srv({"220 mx\r\n"});
  auto r = play_text("S: 220 *\nC: NOOP\nS: 250 *\n", srv);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("timeout"), std::string::npos);
}

TEST(Variables, ExpandsNamesAndPadding) {
  Variables v;
  v.set("rcpt", "a@b");
  EXPECT_EQ(v.expand("RCPT TO:<${rcpt}>"), "RCPT TO:<a@b>");
  EXPECT_EQ(v.expand("NOOP ${pad:3}"), "NOOP xxx");
  EXPECT_THROW(v.expand("${nope}"), std::invalid_argument);
}

// Safe by default: a check that can complete a message must declare it.
TEST(Check, RefusesADataStepWithoutNeedsDelivery) {
  auto s = sc::parse_text("description: d\nS: 220*\nC: DATA\nS: 354*\ndata\nS: 250*\n", "d.scn");
  EXPECT_THROW(make_check(s), std::runtime_error);
  auto ok = sc::parse_text(
      "description: d\ntags: needs:delivery ref:RFC5321#4.1.1.4\nS: 220*\n"
      "C: DATA\nS: 354*\ndata\nS: 250*\n",
      "d.scn");
  auto c = make_check(ok);
  EXPECT_EQ(c.reference, "RFC5321#4.1.1.4");
}

TEST(Suite, EveryBuiltInCheckLoadsAndNamesItsRfc) {
  auto checks = load_suite(SMTPKIT_PROBE_SUITE_SOURCE);
  EXPECT_GE(checks.size(), 20u);
  for (const auto& c : checks) EXPECT_FALSE(c.reference.empty()) << c.scenario.file;
}

// Issue 17: a check that spells the transaction out (`C: DATA` ... `C: .`, or BDAT in `C+` bytes)
// can deliver as surely as a `data` step; the loader sees it whatever the syntax.
TEST(Check, RefusesDataOrBdatAfterARecipientInAnySyntax) {
  const char* scripts[] = {
      ("S: 220*\nC: MAIL FROM:<a@b>\nS: 250*\nC: RCPT TO:<c@d>\nS: 250*\nC: DATA\nS: 354*\n"
       "C: Subject: x\nC:\nC: .\nS: 250*\n"),
      "S: 220*\nC: mail from:<a@b>\nS: 250*\nC: rcpt to:<c@d>\nS: 250*\nC: data\nS: 354*\n",
      "S: 220*\nC+ MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\nDATA\\r\\n\nS: 250*\n",
      "S: 220*\nC: MAIL FROM:<a@b>\nS: 250*\nC: RCPT TO:<c@d>\nS: 250*\nC+ BDAT 3 LAST\\r\\nabc\n",
  };
  for (const char* body : scripts) {
    auto s = sc::parse_text(std::string("description: d\n") + body, "d.scn");
    EXPECT_THROW(make_check(s), std::runtime_error) << body;
    auto ok = sc::parse_text(std::string("description: d\ntags: needs:delivery\n") + body, "d.scn");
    EXPECT_NO_THROW(make_check(ok)) << body;
  }
  // DATA without any recipient cannot deliver (the built-in data-before-rcpt check).
  auto safe = sc::parse_text(
      "description: d\nS: 220*\nC: MAIL FROM:<a@b>\nS: 250*\nC: DATA\nS: 503*\n", "d.scn");
  EXPECT_NO_THROW(make_check(safe));
}
