// The session builder: a proxied exchange in, a scenario out that the one parser reads back and
// the fake server can play. Each test reads as the transcript the proxy saw.
#include "smtp/recorder/session_builder.hpp"

#include <gtest/gtest.h>

#include <map>

#include "smtp/scenario/parser.hpp"

using namespace smtp::recorder;
namespace sc = smtp::scenario;

namespace {

struct Live {
  SessionBuilder b{BuilderOptions{}};
  double t = 0;
  Live& S(std::string_view bytes, double after = 1) {
    b.server_bytes(bytes, t += after);
    return *this;
  }
  Live& C(std::string_view bytes, double after = 1) {
    b.client_bytes(bytes, t += after);
    return *this;
  }
};

// What the file says after a write and a parse: the recording must survive its own format.
sc::Scenario reread(const Recording& r) {
  return sc::parse_text(r.text(), "recorded.scn");
}

std::string script_of(const sc::Scenario& s) {
  std::string out;
  for (const auto& st : s.steps) {
    switch (st.kind) {
      case sc::Step::Kind::server_line:
        out += "S: " + st.pattern->source() + "\n";
        break;
      case sc::Step::Kind::client_line:
        out += "C: " + st.pattern->source() + "\n";
        break;
      default:
        out += st.text + "\n";
    }
  }
  return out;
}

Live one_message_session() {
  Live l;
  l.S("220 mx.example ESMTP\r\n")
      .C("EHLO laptop-42.local\r\n")
      .S("250-mx.example\r\n250-SIZE 1000\r\n250 PIPELINING\r\n")
      .C("MAIL FROM:<alice@example.org> SIZE=321\r\n")
      .S("250 ok\r\n")
      .C("RCPT TO:<bob@example.org>\r\n")
      .S("250 ok\r\n")
      .C("RCPT TO:<carol@example.org>\r\n")
      .S("550 5.1.1 no such user\r\n")
      .C("DATA\r\n")
      .S("354 go ahead\r\n")
      .C("Message-ID: <123@laptop>\r\nSubject: hi\r\n\r\n..dotted\r\n.\r\n")
      .S("250 2.0.0 queued as 4711\r\n")
      .C("QUIT\r\n")
      .S("221 bye\r\n");
  l.b.server_closed(l.t += 1);
  return l;
}

}  // namespace

TEST(SessionBuilder, OneMessageGeneralisesNoiseAndKeepsServerBytes) {
  auto l = one_message_session();
  auto r = l.b.finish();
  EXPECT_TRUE(r.problems.empty());
  auto s = reread(r);
  EXPECT_TRUE(s.playable_as_server());
  EXPECT_EQ(script_of(s),
            "S: 220 mx.example ESMTP\n"
            "C: EHLO *\n"
            "S: 250-mx.example\nS: 250-SIZE 1000\nS: 250 PIPELINING\n"
            "C: MAIL FROM:<alice@example.org> SIZE=*\n"
            "S: 250 ok\nC: RCPT TO:<bob@example.org>\nS: 250 ok\n"
            "C: RCPT TO:<carol@example.org>\nS: 550 5.1.1 no such user\n"
            "C: DATA\nS: 354 go ahead\ndata\nS: 250 2.0.0 queued as 4711\n"
            "C: QUIT\nS: 221 bye\nclose\n");
  ASSERT_EQ(s.client.calls.size(), 2u);
  EXPECT_EQ(s.client.calls[0].name, "sendmail");
  EXPECT_EQ(s.client.calls[0].args,
            (std::vector<std::string>{"alice@example.org", "bob@example.org,carol@example.org"}));
  EXPECT_EQ(s.client.calls[1].name, "quit");
  EXPECT_EQ(*s.client.message, "Message-ID: <123@laptop>\r\nSubject: hi\r\n\r\n.dotted\r\n");
  ASSERT_TRUE(s.client.expect);
  EXPECT_TRUE(s.client.expect->ok);
  EXPECT_EQ(s.client.expect->refused, (std::map<std::string, int>{{"carol@example.org", 550}}));
}

TEST(SessionBuilder, SenderRefusedThenRsetIsSendmailRaising) {
  Live l;
  l.S("220 mx\r\n").C("EHLO x\r\n").S("250 mx\r\n").C("MAIL FROM:<a@b>\r\n");
  l.S("553 5.7.1 go away\r\n").C("RSET\r\n").S("250 ok\r\n");
  l.b.client_closed(l.t += 1);
  auto s = reread(l.b.finish());
  ASSERT_TRUE(s.client.expect);
  EXPECT_FALSE(s.client.expect->ok);
  EXPECT_EQ(s.client.expect->exception, "SMTPSenderRefused");
  EXPECT_EQ(s.client.expect->code, 553);
  EXPECT_EQ(s.steps.back().kind, sc::Step::Kind::expect_close);
}

TEST(SessionBuilder, GarbageAndCutLinesAreKeptByteForByte) {
  Live l;
  l.S(std::string("220 ok\r\nhello\n\0\xff", 16)).S("250-cut mid-li", 0.1);
  l.b.server_closed(l.t += 1);
  auto s = reread(l.b.finish());
  ASSERT_EQ(s.steps.size(), 3u);
  EXPECT_EQ(s.steps[0].kind, sc::Step::Kind::server_line);
  EXPECT_EQ(s.steps[1].kind, sc::Step::Kind::server_raw);
  EXPECT_EQ(s.steps[1].bytes, std::string("hello\n\0\xff", 8) + "250-cut mid-li");
  EXPECT_EQ(s.steps[2].kind, sc::Step::Kind::close);
  EXPECT_FALSE(s.client.expect->ok);
}

TEST(SessionBuilder, PausesAboveTheThresholdBecomeSleeps) {
  Live l;
  l.S("220-first\r\n", 10).S("220 second\r\n", 900);
  l.b.server_closed(l.t += 5);
  auto s = reread(l.b.finish());
  ASSERT_GE(s.steps.size(), 3u);
  EXPECT_EQ(s.steps[1].kind, sc::Step::Kind::sleep);
  EXPECT_EQ(s.steps[1].duration.count(), 900);
}

TEST(SessionBuilder, AuthIsReplacedByPlaceholders) {
  Live l;
  l.S("220 mx\r\n").C("EHLO x\r\n").S("250-mx\r\n250 AUTH PLAIN LOGIN\r\n");
  l.C("AUTH LOGIN\r\n").S("334 VXNlcm5hbWU6\r\n").C("c2VjcmV0LXVzZXI=\r\n");
  l.S("334 UGFzc3dvcmQ6\r\n").C("aHVudGVyMg==\r\n").S("235 2.7.0 ok\r\n");
  l.C("QUIT\r\n").S("221 bye\r\n");
  l.b.server_closed(l.t += 1);
  auto r = l.b.finish();
  const auto text = r.text();
  EXPECT_EQ(text.find("c2VjcmV0LXVzZXI"), std::string::npos) << text;
  EXPECT_EQ(text.find("aHVudGVyMg"), std::string::npos) << text;
  EXPECT_NE(text.find("placeholder"), std::string::npos);
  auto s = reread(r);
  EXPECT_TRUE(s.playable_as_server());
  EXPECT_EQ(s.client.calls[0].name, "login");
  EXPECT_TRUE(s.client.expect->ok);
  EXPECT_TRUE(s.steps[4].pattern->matches("AUTH LOGIN"));
  EXPECT_TRUE(s.steps[6].pattern->matches("anything at all"));
}

TEST(SessionBuilder, StartTlsIsTheScriptsOwnStep) {
  Live l;
  l.S("220 mx\r\n").C("EHLO x\r\n").S("250-mx\r\n250 STARTTLS\r\n").C("STARTTLS\r\n");
  EXPECT_TRUE(l.b.starttls_pending());
  l.S("220 go\r\n");
  EXPECT_EQ(l.b.take_starttls_reply(), 220);
  l.b.tls_started(l.t += 1);
  l.C("EHLO x\r\n").S("250 mx\r\n").C("QUIT\r\n").S("221 bye\r\n");
  l.b.server_closed(l.t += 1);
  auto s = reread(l.b.finish());
  EXPECT_EQ(s.steps[6].kind, sc::Step::Kind::starttls);
  EXPECT_EQ(s.client.calls[0].name, "starttls");
  EXPECT_TRUE(s.client.expect->ok);
}

TEST(SessionBuilder, CloseInTheMiddleOfTheMessageIsDataLinesThenClose) {
  Live l;
  l.S("220 mx\r\n").C("HELO x\r\n").S("250 mx\r\n").C("MAIL FROM:<a@b>\r\n").S("250 ok\r\n");
  l.C("RCPT TO:<c@d>\r\n").S("250 ok\r\n").C("DATA\r\n").S("354 go\r\n");
  l.C("Subject: x\r\n\r\nline\r\n");
  l.b.server_closed(l.t += 1);
  auto s = reread(l.b.finish());
  const auto& cut = s.steps[s.steps.size() - 2];
  EXPECT_EQ(cut.kind, sc::Step::Kind::data_lines);
  EXPECT_EQ(cut.count, 3u);
  EXPECT_EQ(s.client.expect->exception, "SMTPServerDisconnected");
}

TEST(SessionBuilder, BytesAfterStartTlsAreReported) {
  Live l;
  l.S("220 mx\r\n").C("EHLO x\r\n").S("250 STARTTLS\r\n").C("STARTTLS\r\nNOOP\r\n");
  auto r = l.b.finish();
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("RFC 3207"), std::string::npos);
  // The file says so on its first line.
  EXPECT_TRUE(r.text().starts_with("# NOT REPLAYABLE AS RECORDED")) << r.text();
}

// PIPELINING: the commands go out in one write and the replies come back in one; the script keeps
// that order, and DATA's 354 still opens the message.
TEST(SessionBuilder, PipelinedCommandsAndReplies) {
  Live l;
  l.S("220 mx\r\n").C("EHLO x\r\n").S("250-mx\r\n250 PIPELINING\r\n");
  l.C("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n");
  l.S("250 ok\r\n550 no\r\n250 ok\r\n354 go\r\n");
  l.C("hi\r\n.\r\n").S("250 queued\r\n").C("QUIT\r\n").S("221 bye\r\n");
  l.b.client_closed(l.t += 1);
  auto s = reread(l.b.finish());
  EXPECT_EQ(script_of(s),
            "S: 220 mx\nC: EHLO *\nS: 250-mx\nS: 250 PIPELINING\n"
            "C: MAIL FROM:<a@b>\nC: RCPT TO:<c@d>\nC: RCPT TO:<e@f>\nC: DATA\n"
            "S: 250 ok\nS: 550 no\nS: 250 ok\nS: 354 go\ndata\nS: 250 queued\n"
            "C: QUIT\nS: 221 bye\nexpect-close\n");
  EXPECT_TRUE(s.client.expect->ok);
  EXPECT_EQ(s.client.expect->refused, (std::map<std::string, int>{{"c@d", 550}}));
  EXPECT_EQ(*s.client.message, "hi\r\n");
}

// LMTP (RFC 2033 section 4.2): one reply per accepted recipient after the dot; a refusal there is
// in the refused map like a refusal at RCPT.
TEST(SessionBuilder, LmtpRepliesPerRecipientAfterTheDot) {
  BuilderOptions o;
  o.protocol = sc::Protocol::lmtp;
  Live l{SessionBuilder{o}};
  l.S("220 lmtp\r\n").C("LHLO x\r\n").S("250 lmtp\r\n").C("MAIL FROM:<a@b>\r\n").S("250 ok\r\n");
  l.C("RCPT TO:<c@d>\r\n").S("250 ok\r\n").C("RCPT TO:<e@f>\r\n").S("250 ok\r\n");
  l.C("DATA\r\n").S("354 go\r\n").C("x\r\n.\r\n").S("250 c ok\r\n452 e full\r\n");
  l.C("QUIT\r\n").S("221 bye\r\n");
  l.b.server_closed(l.t += 1);
  auto s = reread(l.b.finish());
  EXPECT_EQ(s.protocol, sc::Protocol::lmtp);
  EXPECT_TRUE(s.client.expect->ok);
  EXPECT_EQ(s.client.expect->refused, (std::map<std::string, int>{{"e@f", 452}}));
}

// The greeting is refused: the client never speaks, the outcome is smtplib's SMTPConnectError.
TEST(SessionBuilder, RefusedGreetingIsConnectError) {
  Live l;
  l.S("554 5.3.2 go away\r\n");
  l.b.server_closed(l.t += 1);
  auto s = reread(l.b.finish());
  EXPECT_EQ(s.client.expect->exception, "SMTPConnectError");
  EXPECT_EQ(s.client.expect->code, 554);
}

namespace {

std::string option(const sc::Scenario& s, const std::string& name) {
  auto it = s.client.options.find(name);
  return it == s.client.options.end() ? "" : it->second;
}

}  // namespace

// CHUNKING with PIPELINING, as our client sends it to Postfix: MAIL, RCPT and the whole message as
// `BDAT n LAST` in one write. The chunk is one `bdat` step; its lines (a blank line, a line that is
// "AUTH" or "." or "QUIT") are payload, never commands or AUTH responses; smtplib is left out.
TEST(SessionBuilder, PipelinedBdatChunkIsOneBdatStep) {
  const std::string body = "Subject: x\r\n\r\nQUIT\r\n.\r\nAUTH PLAIN\r\n";
  Live l;
  l.S("220 mx\r\n").C("EHLO x\r\n").S("250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SIZE\r\n");
  l.C("MAIL FROM:<a@b> SIZE=41\r\nRCPT TO:<c@d>\r\nBDAT " + std::to_string(body.size()) +
      " LAST\r\n" + body.substr(0, 7));
  l.C(body.substr(7));
  l.S("250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n").C("QUIT\r\n").S("221 bye\r\n");
  l.b.server_closed(l.t += 1);
  auto r = l.b.finish();
  EXPECT_TRUE(r.problems.empty()) << r.text();
  auto s = reread(r);
  EXPECT_EQ(script_of(s),
            "S: 220 mx\nC: EHLO *\nS: 250-mx\nS: 250-PIPELINING\nS: 250-CHUNKING\nS: 250 SIZE\n"
            "C: MAIL FROM:<a@b> SIZE=*\nC: RCPT TO:<c@d>\nbdat " +
                std::to_string(body.size()) +
                " last\n"
                "S: 250 ok\nS: 250 ok\nS: 250 2.0.0 queued\nC: QUIT\nS: 221 bye\nclose\n");
  EXPECT_EQ(*s.client.message, body);
  EXPECT_TRUE(s.client.expect->ok) << r.text();
  EXPECT_EQ(option(s, "pipelining"), "1");
  EXPECT_EQ(option(s, "chunking"), "1");
  EXPECT_EQ(s.clients, (std::vector<std::string>{"cpp", "cpp-async"}));
  EXPECT_NE(s.clients_note.find("CHUNKING"), std::string::npos);
  EXPECT_EQ(r.text().find("placeholder"), std::string::npos) << r.text();
}

// Several chunks (chunk_size visible), without PIPELINING: each chunk is answered before the next.
TEST(SessionBuilder, SeveralChunksGiveChunkSize) {
  Live l;
  l.S("220 mx\r\n").C("EHLO x\r\n").S("250-mx\r\n250 CHUNKING\r\n");
  l.C("MAIL FROM:<a@b>\r\n").S("250 ok\r\n").C("RCPT TO:<c@d>\r\n").S("250 ok\r\n");
  l.C("BDAT 10\r\n0123456789").S("250 more\r\n").C("BDAT 10\r\nabcdefgh\r\n").S("250 more\r\n");
  l.C("BDAT 4 LAST\r\nxy\r\n").S("250 done\r\n").C("QUIT\r\n").S("221 bye\r\n");
  l.b.server_closed(l.t += 1);
  auto r = l.b.finish();
  auto s = reread(r);
  EXPECT_NE(
      script_of(s).find("bdat 10 more\nS: 250 more\nbdat 10 more\nS: 250 more\nbdat 4 last\n"),
      std::string::npos)
      << r.text();
  EXPECT_EQ(option(s, "chunk_size"), "10");
  EXPECT_EQ(option(s, "chunking"), "1");
  EXPECT_EQ(option(s, "pipelining"), "");  // not advertised: nothing to say
  EXPECT_TRUE(s.client.expect->ok);
}

// DATA although CHUNKING and PIPELINING were offered, one command at a time: the section says so,
// and smtplib can follow.
TEST(SessionBuilder, NoChunkingNoPipeliningAreOptions) {
  Live l;
  l.S("220 mx\r\n").C("EHLO x\r\n").S("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
  l.C("MAIL FROM:<a@b> BODY=8BITMIME SMTPUTF8\r\n").S("250 ok\r\n");
  l.C("RCPT TO:<c@d>\r\n").S("250 ok\r\n").C("DATA\r\n").S("354 go\r\n");
  l.C("Subject: y\r\n\r\nBDAT 5\r\nMAIL FROM:<evil@x>\r\n.\r\n").S("250 queued\r\n");
  l.C("QUIT\r\n").S("221 bye\r\n");
  l.b.server_closed(l.t += 1);
  auto s = reread(l.b.finish());
  EXPECT_EQ(option(s, "pipelining"), "0");
  EXPECT_EQ(option(s, "chunking"), "0");
  EXPECT_TRUE(s.clients.empty());
  ASSERT_EQ(s.client.calls[0].name, "sendmail");
  EXPECT_EQ(s.client.calls[0].kwargs.at("mail_options"), "BODY=8BITMIME,SMTPUTF8");
  EXPECT_EQ(*s.client.message, "Subject: y\r\n\r\nBDAT 5\r\nMAIL FROM:<evil@x>\r\n");
  EXPECT_NE(script_of(s).find("C: MAIL FROM:<a@b> BODY=8BITMIME SMTPUTF8\n"), std::string::npos);
}

// sendmail_many: the second message's RSET/MAIL/RCPT/BDAT written behind the first's BDAT LAST.
TEST(SessionBuilder, MessagesBehindAnEndAreSendmailMany) {
  const std::string body = "Subject: m\r\n\r\nhi\r\n";
  const std::string chunk = "BDAT " + std::to_string(body.size()) + " LAST\r\n" + body;
  Live l;
  l.S("220 mx\r\n").C("EHLO x\r\n").S("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
  l.C("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n" + chunk);
  l.C("RSET\r\nMAIL FROM:<a@b>\r\nRCPT TO:<e@f>\r\n" + chunk);
  l.S("250 ok\r\n250 ok\r\n250 queued 1\r\n250 reset\r\n250 ok\r\n550 no such user\r\n554 no "
      "valid recipients\r\n");
  l.C("QUIT\r\n").S("221 bye\r\n");
  l.b.server_closed(l.t += 1);
  auto r = l.b.finish();
  auto s = reread(r);
  ASSERT_GE(s.client.calls.size(), 2u) << r.text();
  EXPECT_EQ(s.client.calls[0].name, "sendmail_many");
  EXPECT_EQ(s.client.calls[0].args, (std::vector<std::string>{"a@b", "c@d", "a@b", "e@f"}));
  EXPECT_EQ(s.client.calls[1].name, "quit");
  ASSERT_TRUE(s.client.expect->ok) << r.text();
  ASSERT_TRUE(s.client.expect->results);
  ASSERT_EQ(s.client.expect->results->size(), 2u);
  EXPECT_TRUE((*s.client.expect->results)[0].ok);
  EXPECT_EQ((*s.client.expect->results)[1].exception, "SMTPRecipientsRefused");
  EXPECT_NE(s.clients_note.find("sendmail_many"), std::string::npos);
}

// LMTP over BDAT: one reply per accepted recipient after LAST; smtplib (one reply) differs.
TEST(SessionBuilder, LmtpBdatLastGetsOneReplyPerRecipient) {
  BuilderOptions o;
  o.protocol = sc::Protocol::lmtp;
  Live l{SessionBuilder{o}};
  l.S("220 lmtp\r\n").C("LHLO x\r\n").S("250-lmtp\r\n250 CHUNKING\r\n");
  l.C("MAIL FROM:<a@b>\r\n").S("250 ok\r\n").C("RCPT TO:<c@d>\r\n").S("250 ok\r\n");
  l.C("RCPT TO:<e@f>\r\n").S("250 ok\r\n").C("BDAT 3 LAST\r\nx\r\n");
  l.S("250 c ok\r\n").S("452 e full\r\n").C("QUIT\r\n").S("221 bye\r\n");
  l.b.server_closed(l.t += 1);
  auto s = reread(l.b.finish());
  EXPECT_TRUE(s.client.expect->ok);
  EXPECT_EQ(s.client.expect->refused, (std::map<std::string, int>{{"e@f", 452}}));
  ASSERT_TRUE(s.client.expect_smtplib);
  EXPECT_TRUE(s.client.expect_smtplib->refused.empty());
  EXPECT_EQ(s.client.calls.back().name, "quit");
}

// A message that our client cannot resend byte for byte (no final CRLF): the chunk's size is not
// kept, so a replay with the section's message still follows the script.
TEST(SessionBuilder, ChunkOfAnUnsendableMessageAcceptsAnySize) {
  Live l;
  l.S("220 mx\r\n").C("EHLO x\r\n").S("250-mx\r\n250 CHUNKING\r\n");
  l.C("MAIL FROM:<a@b>\r\n").S("250 ok\r\n").C("RCPT TO:<c@d>\r\n").S("250 ok\r\n");
  l.C("BDAT 2 LAST\r\nab").S("250 ok\r\n");
  l.b.client_closed(l.t += 1);
  auto r = l.b.finish();
  auto s = reread(r);
  EXPECT_NE(script_of(s).find("bdat * last\n"), std::string::npos) << r.text();
}

// The server answers while the message is open by RFC 5321 (the client ended it with a bare LF
// dot): the file cuts the message there and says so; it does not guess an end.
TEST(SessionBuilder, ReplyInsideAnOpenMessageIsNoted) {
  Live l;
  l.S("220 mx\r\n").C("HELO x\r\n").S("250 mx\r\n").C("MAIL FROM:<a@b>\r\n").S("250 ok\r\n");
  l.C("RCPT TO:<c@d>\r\n").S("250 ok\r\n").C("DATA\r\n").S("354 go\r\n");
  l.C("Subject: x\r\n\r\nbody\n.\n").S("250 queued\r\n");
  l.b.server_closed(l.t += 1);
  auto r = l.b.finish();
  auto s = reread(r);
  EXPECT_NE(script_of(s).find("data-lines 4\nS: 250 queued\nclose\n"), std::string::npos)
      << r.text();
  EXPECT_NE(r.text().find("still open by RFC 5321"), std::string::npos) << r.text();
  EXPECT_NE(r.text().find("lf-dot-lf"), std::string::npos) << r.text();
}

// A chunk larger than a scenario file may be: recorded as a `bdat` step, the message not kept in
// memory, and a problem saying `message:` cannot carry it (never a crash, never unbounded memory).
TEST(SessionBuilder, MessageLargerThanAFileIsAProblem) {
  const std::size_t size = sc::ParserLimits::max_file_bytes + 1000;
  Live l;
  l.S("220 mx\r\n").C("EHLO x\r\n").S("250-mx\r\n250 CHUNKING\r\n");
  l.C("MAIL FROM:<a@b>\r\n").S("250 ok\r\n").C("RCPT TO:<c@d>\r\n").S("250 ok\r\n");
  l.C("BDAT " + std::to_string(size) + " LAST\r\n");
  const std::string piece(64 * 1024, 'x');
  for (std::size_t sent = 0; sent < size; sent += piece.size())
    l.C(std::string_view(piece).substr(0, std::min(piece.size(), size - sent)), 0);
  l.S("250 ok\r\n").C("QUIT\r\n").S("221 bye\r\n");
  l.b.server_closed(l.t += 1);
  auto r = l.b.finish();
  ASSERT_EQ(r.problems.size(), 1u) << r.text();
  EXPECT_NE(r.problems[0].find("message:"), std::string::npos);
  EXPECT_NE(r.text().find("bdat * last"), std::string::npos);
}
