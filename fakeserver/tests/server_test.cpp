// The server in-process, as the client's GoogleTest suites will use it: a scenario, a raw
// loopback client, and the report.
#include "smtp/fakeserver/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "smtp/scenario/parser.hpp"

namespace asio = boost::asio;
using namespace smtp::fakeserver;

namespace {

std::unique_ptr<Server> start(const std::string& text, std::uint64_t sessions = 1) {
  ServerOptions o;
  o.scenarios.push_back(
      std::make_shared<smtp::scenario::Scenario>(smtp::scenario::parse_text(text, "inline.scn")));
  o.listens.push_back(Listen{smtp::scenario::Transport::plain, "127.0.0.1", 0, 0});
  o.max_sessions = sessions;
  o.limits.step_timeout = std::chrono::milliseconds(3000);
  auto s = std::make_unique<Server>(std::move(o));
  s->start();
  s->run_in_background();
  return s;
}

struct RawClient {
  asio::io_context io;
  asio::ip::tcp::socket sock{io};
  std::string buf;
  explicit RawClient(std::uint16_t port) {
    sock.connect({asio::ip::make_address("127.0.0.1"), port});
  }
  std::string line() {
    auto n = asio::read_until(sock, asio::dynamic_buffer(buf), "\n");
    std::string l = buf.substr(0, n);
    buf.erase(0, n);
    return l;
  }
  void send(const std::string& s) { asio::write(sock, asio::buffer(s)); }
  std::string rest() {
    boost::system::error_code ec;
    asio::read(sock, asio::dynamic_buffer(buf), ec);
    return std::exchange(buf, {});
  }
};

SessionReport wait_report(Server& s) {
  for (int i = 0; i < 500 && s.reports().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto r = s.reports();
  if (r.empty()) throw std::runtime_error("no report");
  return r.front();
}

const char* greeting_script =
    "description: d\n"
    "S: 220 mx ESMTP\n"
    "C: EHLO *\n"
    "S: 250-mx\n"
    "S: 250 PIPELINING\n"
    "C: QUIT\n"
    "S: 221 bye\n";

}  // namespace

TEST(Server, ClientThatFollowsTheScriptGetsAnOkReport) {
  auto server = start(greeting_script);
  RawClient c(server->listeners().at(0).port);
  EXPECT_EQ(c.line(), "220 mx ESMTP\r\n");
  c.send("EHLO me\r\n");
  EXPECT_EQ(c.line(), "250-mx\r\n");
  EXPECT_EQ(c.line(), "250 PIPELINING\r\n");
  c.send("QUIT\r\n");
  EXPECT_EQ(c.line(), "221 bye\r\n");
  EXPECT_EQ(c.rest(), "");  // then the server closes
  auto r = wait_report(*server);
  EXPECT_TRUE(r.ok) << r.to_text();
  EXPECT_EQ(r.steps.size(), 6u);
  EXPECT_EQ(server->summary().diverged, 0u);
}

TEST(Server, DivergenceNamesLineExpectedAndVisibleBytes) {
  auto server = start(greeting_script);
  RawClient c(server->listeners().at(0).port);
  c.line();
  c.send("HELO me\n");
  EXPECT_EQ(c.rest(), "");  // nothing more is sent after a divergence
  auto r = wait_report(*server);
  ASSERT_FALSE(r.ok);
  ASSERT_TRUE(r.divergence);
  EXPECT_EQ(r.divergence->where, "inline.scn:3");
  EXPECT_EQ(r.divergence->expected, "C: EHLO *");
  EXPECT_EQ(r.divergence->received, "HELO me\\n");
  EXPECT_EQ(r.steps[1].status, "diverged");
  EXPECT_EQ(r.steps[2].status, "not-reached");
  EXPECT_NE(r.to_text().find("DIVERGED at inline.scn:3"), std::string::npos);
  EXPECT_NE(r.to_json().find("\"received\":\"HELO me\\\\n\""), std::string::npos) << r.to_json();
}

TEST(Server, DataIsUnstuffedAndMatched) {
  auto server = start(
      "description: d\nS: 220 mx\nC: DATA\nS: 354 go\ndata capture\nD: Subject: *\nD:\nD: .x\n"
      "S: 250 ok\n");
  RawClient c(server->listeners().at(0).port);
  c.line();
  c.send("DATA\r\n");
  c.line();
  c.send("Subject: hi\r\n\r\n..x\r\n.\r\n");
  EXPECT_EQ(c.line(), "250 ok\r\n");
  auto r = wait_report(*server);
  EXPECT_TRUE(r.ok) << r.to_text();
  EXPECT_NE(r.steps[3].detail.find("Subject: hi\\r\\n\\r\\n.x\\r\\n"), std::string::npos)
      << r.steps[3].detail;
}

TEST(Server, ServerLinesInARowGoOutInOneWriteAndCloseIsAFin) {
  auto server = start("description: d\nS: 220 a\nS: 250 b\nS+ 25\nclose\n");
  RawClient c(server->listeners().at(0).port);
  EXPECT_EQ(c.rest(), "220 a\r\n250 b\r\n25");
  EXPECT_TRUE(wait_report(*server).ok);
}

TEST(Server, ExpectCloseFailsWhenTheClientTalksInstead) {
  auto server = start("description: d\nS: 421 go away\nexpect-close\n");
  RawClient c(server->listeners().at(0).port);
  c.line();
  c.send("QUIT\r\n");
  auto r = wait_report(*server);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.divergence->received, "QUIT\\r\\n");
}

TEST(Server, QuietSleepCatchesBytesSentDuringThePause) {
  // The dot after a bare LF is not the end of data: a client (or proxy) must not go on talking.
  auto server = start("description: d\nS: 220 mx\nsleep 200ms quiet\nS: 250 never sent\n");
  RawClient c(server->listeners().at(0).port);
  c.line();
  c.send("EHLO early\r\n");
  auto r = wait_report(*server);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.divergence->where, "inline.scn:3");
  EXPECT_EQ(r.divergence->received, "EHLO early\\r\\n");
  EXPECT_EQ(r.divergence->reason, "the client sent bytes during a quiet pause");
}

TEST(Server, QuietSleepPassesWhenTheClientWaits) {
  auto server = start("description: d\nS: 220 mx\nsleep 50ms quiet\nS: 250 after the pause\n");
  RawClient c(server->listeners().at(0).port);
  EXPECT_EQ(c.line(), "220 mx\r\n");
  EXPECT_EQ(c.line(), "250 after the pause\r\n");
  EXPECT_TRUE(wait_report(*server).ok);
}

// Turn-taking (RFC 2920): a command sent before the previous reply is pipelining, fine only
// after PIPELINING was advertised and only after MAIL / RCPT / RSET (and message content, BDAT).
const char* envelope_after(const char* ehlo_reply) {
  static std::string text;
  text = std::string("description: d\nS: 220 mx\nC: EHLO *\n") + ehlo_reply +
         "C: MAIL FROM:<a@example.org>\nS: 250 ok\nC: RCPT TO:<b@example.org>\nS: 250 ok\n"
         "C: DATA\nS: 354 go\ndata\nS: 250 queued\nC: QUIT\nS: 221 bye\n";
  return text.c_str();
}

TEST(ServerPipelining, CommandsBeforeTheReplyWithoutPipeliningAreADivergence) {
  auto server = start(envelope_after("S: 250-mx\nS: 250 8BITMIME\n"));
  RawClient c(server->listeners().at(0).port);
  c.line();
  c.send("EHLO me\r\n");
  c.line();
  c.line();
  c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
  auto r = wait_report(*server);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.divergence->received, "RCPT TO:<b@example.org>\\r\\nDATA\\r\\n");
  EXPECT_EQ(r.divergence->reason,
            "the client sent this before the reply to MAIL (PIPELINING was not advertised)");
}

TEST(ServerPipelining, ThePipelinedOrderPassesAfterPipeliningWasAdvertised) {
  auto server = start(envelope_after("S: 250-mx\nS: 250 PIPELINING\n"));
  RawClient c(server->listeners().at(0).port);
  c.line();
  c.send("EHLO me\r\n");
  c.line();
  c.line();
  c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
  EXPECT_EQ(c.line(), "250 ok\r\n");
  EXPECT_EQ(c.line(), "250 ok\r\n");
  EXPECT_EQ(c.line(), "354 go\r\n");
  // Message content may be followed by the next command before the dot's reply.
  c.send("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(c.line(), "250 queued\r\n");
  EXPECT_EQ(c.line(), "221 bye\r\n");
  auto r = wait_report(*server);
  EXPECT_TRUE(r.ok) << (r.divergence ? r.divergence->reason : "");
}

TEST(ServerPipelining, DataMustEndTheGroupEvenWithPipelining) {
  auto server = start(envelope_after("S: 250-mx\nS: 250 pipelining\n"));
  RawClient c(server->listeners().at(0).port);
  c.line();
  c.send("EHLO me\r\n");
  c.line();
  c.line();
  c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: early\r\n");
  auto r = wait_report(*server);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.divergence->reason,
            "the client sent this before the reply to DATA (RFC 2920 section 3.1: DATA must be "
            "the last command of a group)");
  EXPECT_EQ(r.divergence->received, "Subject: early\\r\\n");
}

TEST(ServerPipelining, TalkingBeforeTheGreetingIsADivergence) {
  auto server = start("description: d\nsleep 100ms\nS: 220 mx\nC: QUIT\nS: 221 bye\n");
  RawClient c(server->listeners().at(0).port);
  c.send("QUIT\r\n");
  auto r = wait_report(*server);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.divergence->reason, "the client sent this before the greeting");
}

// BDAT (RFC 3030): the command line and exactly its chunk, D: lines over the whole message.
const char* bdat_script =
    "description: d\nS: 220 mx\nC: EHLO *\nS: 250-mx\nS: 250 CHUNKING\n"
    "C: MAIL FROM:<a@example.org>\nS: 250 ok\nC: RCPT TO:<b@example.org>\nS: 250 ok\n"
    "bdat 12 more\nS: 250 12 octets\nbdat * last capture\nD: Subject: x\nD:\nD: bo*\nD: QUIT\n"
    "S: 250 queued\nC: QUIT\nS: 221 bye\n";

TEST(ServerBdat, ChunksAreConsumedExactlyAndTheMessageIsMatched) {
  auto server = start(bdat_script);
  RawClient c(server->listeners().at(0).port);
  c.line();
  c.send("EHLO me\r\n");
  c.line();
  c.line();
  c.send("MAIL FROM:<a@example.org>\r\n");
  c.line();
  c.send("RCPT TO:<b@example.org>\r\n");
  c.line();
  // The chunk holds a CRLF and a line that looks like a command: it is payload all the same.
  c.send("BDAT 12\r\nSubject: x\r\n");
  EXPECT_EQ(c.line(), "250 12 octets\r\n");
  c.send("bdat 12 last\r\n\r\nbody\r\nQUIT");
  EXPECT_EQ(c.line(), "250 queued\r\n");
  c.send("\r\nQUIT\r\n");  // "QUIT" ended the chunk; this line is not QUIT: a divergence
  auto r = wait_report(*server);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.divergence->expected, "C: QUIT");
  EXPECT_EQ(r.divergence->received, "\\r\\n");
  ASSERT_GE(r.steps.size(), 12u);
  EXPECT_EQ(r.steps[8].detail, "chunk 12 bytes; message 12 bytes");
  EXPECT_EQ(
      r.steps[10].detail,
      "chunk 12 bytes, LAST; message 24 bytes; content: Subject: x\\r\\n\\r\\nbody\\r\\nQUIT");
}

TEST(ServerBdat, WrongSizeOrMissingLastIsADivergence) {
  for (const auto& [sent, reason] : std::vector<std::pair<std::string, std::string>>{
           {"BDAT 13\r\nSubject: x\r\n\r\n", "chunk size 13, expected 12"},
           {"BDAT 12 LAST\r\nSubject: x\r\n", "expected a chunk that is not the last (no LAST)"},
           {"BDAT twelve\r\n", "expected 'BDAT <size>' or 'BDAT <size> LAST'"},
           {"DATA\r\n", "expected 'BDAT <size>' or 'BDAT <size> LAST'"}}) {
    auto server = start(bdat_script);
    RawClient c(server->listeners().at(0).port);
    c.line();
    c.send("EHLO me\r\n");
    c.line();
    c.line();
    c.send("MAIL FROM:<a@example.org>\r\n");
    c.line();
    c.send("RCPT TO:<b@example.org>\r\n");
    c.line();
    c.send(sent);
    auto r = wait_report(*server);
    ASSERT_FALSE(r.ok) << sent;
    EXPECT_EQ(r.divergence->reason, reason) << sent;
    EXPECT_EQ(r.divergence->where, "inline.scn:10") << sent;
  }
}
