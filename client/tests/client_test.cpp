// The SMTP and LMTP classes through the sync driver over a scripted transport: smtplib's
// semantics, what reaches the wire, and what the caller gets when the server misbehaves.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <smtp/smtp.hpp>

#include "fake_transport.hpp"
#include "split_feed.hpp"

namespace smtp {
namespace {

using test::FakeServer;
using test::FakeTransport;
using test::visible;

struct Session {
  std::shared_ptr<FakeServer> server = std::make_shared<FakeServer>();
  std::unique_ptr<SMTP> client;

  explicit Session(std::vector<std::string> replies, bool lmtp = false) {
    server->to_client.assign(replies.begin(), replies.end());
    if (lmtp) {
      client = std::make_unique<LMTP>(std::string(), 0, std::string("me.example"));
    } else {
      client = std::make_unique<SMTP>(std::string(), 0, std::string("me.example"));
    }
    greeting = client->connect(std::make_unique<FakeTransport>(server));
  }
  Reply greeting;
};

TEST(SMTP, methods_before_connect_raise_please_run_connect_first) {
  SMTP c(std::string(), 0, std::string("me.example"));
  EXPECT_FALSE(c.connected());
  try {
    c.noop();
    FAIL();
  } catch (const SMTPServerDisconnected& e) {
    EXPECT_STREQ(e.what(), "please run connect() first");
  }
  EXPECT_THROW(c.ehlo(), SMTPServerDisconnected);
  EXPECT_THROW(c.sendmail("a@example.com", {"b@example.com"}, "x"), SMTPServerDisconnected);
  EXPECT_THROW(c.getreply(), SMTPServerDisconnected);
  EXPECT_THROW(c.quit(), SMTPServerDisconnected);
}

TEST(SMTP, greeting_is_returned_by_connect) {
  Session s({"220 mx.example ESMTP\r\n"});
  EXPECT_EQ(s.greeting, (Reply{220, "mx.example ESMTP"}));
}

TEST(SMTP, sendmail_transcript) {
  Session s({"220 mx\r\n", "250-mx\r\n250-SIZE 1000\r\n250 8BITMIME\r\n", "250 ok\r\n",
             "250 ok\r\n", "550 5.1.1 nobody\r\n", "354 go\r\n", "250 queued\r\n"});
  const auto refused = s.client->sendmail("Me <me@example.com>", {"a@example.com", "b@example.com"},
                                          "Subject: x\n\n.dot\n", {"BODY=8BITMIME"});
  EXPECT_EQ(visible(s.server->written),
            visible("ehlo me.example\r\n"
                    "mail FROM:<me@example.com> size=20 BODY=8BITMIME\r\n"
                    "rcpt TO:<a@example.com>\r\n"
                    "rcpt TO:<b@example.com>\r\n"
                    "data\r\n"
                    "Subject: x\r\n\r\n..dot\r\n.\r\n"));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused.at("b@example.com"), (Reply{550, "5.1.1 nobody"}));
  EXPECT_TRUE(s.client->does_esmtp());
  EXPECT_TRUE(s.client->has_extn("SIZE"));
  EXPECT_EQ(s.client->esmtp_features().at("size"), "1000");
}

TEST(SMTP, injection_is_refused_before_any_byte_is_written) {
  Session s({"220 mx\r\n"});
  EXPECT_THROW(
      s.client->sendmail("me@example.com", {"a@example.com>\r\nRCPT TO:<b@example.com"}, "x"),
      std::invalid_argument);
  EXPECT_THROW(s.client->sendmail("me@example.com", {"a@example.com"}, "x", {"X=1\r\nRSET"}),
               std::invalid_argument);
  EXPECT_THROW(s.client->sendmail("me@example.com", {"a@example.com"}, std::string("a\0", 2)),
               std::invalid_argument);
  EXPECT_THROW(s.client->docmd("noop", "x\r\nquit"), std::invalid_argument);
  EXPECT_THROW(s.client->verify("a\nb"), std::invalid_argument);
  EXPECT_THROW(s.client->expn("a\rb"), std::invalid_argument);
  EXPECT_THROW(s.client->ehlo("evil\r\nhost"), std::invalid_argument);
  EXPECT_THROW(s.client->helo(std::string("nul\0", 4)), std::invalid_argument);
  EXPECT_THROW(s.client->mail("a@b.example", std::vector<std::string>{"A=\x01"}),
               std::invalid_argument);
  EXPECT_THROW(s.client->rcpt("a@b.example\n"), std::invalid_argument);
  EXPECT_EQ(s.server->written, "");
  EXPECT_TRUE(s.client->connected());
}

TEST(SMTP, ehlo_or_helo_if_needed_falls_back_and_raises_helo_error) {
  Session s({"220 mx\r\n", "502 no ehlo\r\n", "550 no helo either\r\n"});
  try {
    s.client->ehlo_or_helo_if_needed();
    FAIL();
  } catch (const SMTPHeloError& e) {
    EXPECT_EQ(e.smtp_code, 550);
  }
  EXPECT_EQ(s.server->written, "ehlo me.example\r\nhelo me.example\r\n");
}

TEST(SMTP, low_level_commands_use_smtplib_verbs) {
  Session s({"220 mx\r\n", "250 ok\r\n", "250 reset\r\n", "252 maybe\r\n", "550 no list\r\n",
             "214-help\r\n214 end\r\n", "250 custom\r\n", "221 bye\r\n"});
  EXPECT_EQ(s.client->noop(), (Reply{250, "ok"}));
  EXPECT_EQ(s.client->rset(), (Reply{250, "reset"}));
  const auto [code, text] = s.client->verify("Ann <ann@example.com>");
  EXPECT_EQ(code, 252);
  EXPECT_EQ(text, "maybe");
  EXPECT_EQ(s.client->expn("staff").code, 550);
  EXPECT_EQ(s.client->help(), "help\nend");
  EXPECT_EQ(s.client->docmd("XFOO", "bar baz").text, "custom");
  EXPECT_EQ(s.client->quit(), (Reply{221, "bye"}));
  EXPECT_EQ(s.server->written,
            "noop\r\nrset\r\nvrfy ann@example.com\r\nexpn staff\r\nhelp\r\nXFOO bar baz\r\n"
            "quit\r\n");
  EXPECT_FALSE(s.client->connected());
  EXPECT_TRUE(s.server->closed);
}

TEST(SMTP, quit_forgets_the_hello) {
  Session s({"220 mx\r\n", "250-mx\r\n250 SIZE 5\r\n", "221 bye\r\n"});
  s.client->ehlo();
  EXPECT_TRUE(s.client->ehlo_resp());
  s.client->quit();
  EXPECT_FALSE(s.client->ehlo_resp());
  EXPECT_FALSE(s.client->helo_resp());
  EXPECT_FALSE(s.client->does_esmtp());
  EXPECT_TRUE(s.client->esmtp_features().empty());
}

TEST(SMTP, helo_sets_helo_resp) {
  Session s({"220 mx\r\n", "250 hello me\r\n"});
  EXPECT_EQ(s.client->helo("other.example").code, 250);
  EXPECT_EQ(s.client->helo_resp(), "hello me");
  EXPECT_EQ(s.server->written, "helo other.example\r\n");
}

TEST(SMTP, mail_options_sent_only_to_esmtp_servers) {
  Session s({"220 mx\r\n", "250 ok\r\n", "250 ok\r\n"});
  const std::vector<std::string> opts{"BODY=8BITMIME"};
  s.client->mail("a@example.com", opts);
  s.client->rcpt("b@example.com", opts);
  EXPECT_EQ(s.server->written, "mail FROM:<a@example.com>\r\nrcpt TO:<b@example.com>\r\n");
}

TEST(SMTP, low_level_mail_rcpt_data) {
  Session s({"220 mx\r\n", "250-mx\r\n250 DSN\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
             "250 2.0.0 queued\r\n"});
  s.client->ehlo();
  const std::vector<std::string> opts{"RET=HDRS"};
  EXPECT_EQ(s.client->mail("<>", opts).code, 250);
  EXPECT_EQ(s.client->rcpt("postmaster", std::vector<std::string>{"NOTIFY=NEVER"}).code, 250);
  const Reply r = s.client->data("hello");
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.enhanced_status()->to_string(), "2.0.0");
  EXPECT_EQ(s.server->written,
            "ehlo me.example\r\nmail FROM:<> RET=HDRS\r\nrcpt TO:<postmaster> NOTIFY=NEVER\r\n"
            "data\r\nhello\r\n.\r\n");
}

TEST(SMTP, data_refused_before_body_raises_data_error) {
  Session s({"220 mx\r\n", "503 need rcpt\r\n"});
  EXPECT_THROW(s.client->data("x"), SMTPDataError);
  EXPECT_EQ(s.server->written, "data\r\n");
}

TEST(SMTP, server_closing_during_data_is_a_disconnect_never_delivery) {
  // The server closes after 354: the body write succeeds locally, the reply never comes.
  Session s({"220 mx\r\n", "250 mx\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n"});
  EXPECT_THROW(s.client->sendmail("a@example.com", {"b@example.com"}, "body"),
               SMTPServerDisconnected);
  EXPECT_FALSE(s.client->connected());
}

TEST(SMTP, write_failure_during_data_is_a_disconnect) {
  Session s({"220 mx\r\n", "250 mx\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n"});
  s.server->fail_write = 4;  // ehlo, mail, rcpt, data, then the body
  EXPECT_THROW(s.client->sendmail("a@example.com", {"b@example.com"}, "body"),
               SMTPServerDisconnected);
  EXPECT_FALSE(s.client->connected());
}

TEST(SMTP, closed_in_the_middle_of_a_reply) {
  Session s({"220 mx\r\n", "250-mx\r\n250-SI"});
  try {
    s.client->ehlo();
    FAIL();
  } catch (const SMTPServerDisconnected& e) {
    EXPECT_NE(std::string(e.what()).find("middle of a reply"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(s.client->connected());
}

TEST(SMTP, protocol_violation_closes_the_connection) {
  Session s({"220 mx\r\n", "250 ok\n"});
  try {
    s.client->noop();
    FAIL();
  } catch (const SMTPProtocolError& e) {
    EXPECT_NE(e.rule().find("bare LF"), std::string::npos);
  }
  EXPECT_FALSE(s.client->connected());
  EXPECT_TRUE(s.server->closed);
  EXPECT_THROW(s.client->noop(), SMTPServerDisconnected);
}

TEST(SMTP, bytes_after_a_reply_with_no_command_outstanding_are_a_violation) {
  Session s({"220 mx\r\n", "250 ok\r\n250 surprise\r\n"});
  EXPECT_EQ(s.client->noop().code, 250);
  EXPECT_THROW(s.client->noop(), SMTPProtocolError);
  EXPECT_EQ(s.server->written, "noop\r\n");
  EXPECT_FALSE(s.client->connected());
}

TEST(SMTP, unsolicited_bytes_before_a_command_are_a_violation) {
  Session s({"220 mx\r\n"});
  s.server->unsolicited = "421 idle timeout\r\n";
  try {
    s.client->noop();
    FAIL();
  } catch (const SMTPProtocolError& e) {
    EXPECT_EQ(e.bytes(), "421 idle timeout\r\n");
  }
  EXPECT_EQ(s.server->written, "");
}

TEST(SMTP, greeting_split_anywhere_gives_the_same_reply) {
  const std::string wire = "220-mx.example\r\n220 ESMTP ready\r\n";
  test::for_each_split(wire, [&](const auto& chunks, const std::string& how) {
    auto server = std::make_shared<FakeServer>();
    for (auto c : chunks) {
      if (!c.empty()) server->to_client.emplace_back(c);
    }
    SMTP c(std::string(), 0, std::string("me.example"));
    EXPECT_EQ(c.connect(std::make_unique<FakeTransport>(server)),
              (Reply{220, "mx.example\nESMTP ready"}))
        << how;
  });
}

TEST(SMTP, debuglevel_1_writes_smtplib_style_lines_to_the_sink) {
  Session s({"220 mx\r\n", "250 ok\r\n"});
  testing::MockFunction<void(std::string_view)> sink;
  {
    testing::InSequence seq;
    EXPECT_CALL(sink, Call(std::string_view("send: 'noop\\r\\n'")));
    EXPECT_CALL(sink, Call(std::string_view("reply: b'250 ok\\r\\n'")));
    EXPECT_CALL(sink, Call(std::string_view("reply: retcode (250); Msg: b'ok'")));
  }
  s.client->set_debug_sink(sink.AsStdFunction());
  s.client->set_debuglevel(1);
  s.client->noop();
}

TEST(SMTP, debuglevel_2_prefixes_a_timestamp) {
  Session s({"220 mx\r\n", "250 ok\r\n"});
  std::vector<std::string> lines;
  s.client->set_debug_sink([&](std::string_view l) { lines.emplace_back(l); });
  s.client->set_debuglevel(2);
  s.client->noop();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0],
              testing::MatchesRegex("[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\\.[0-9]+ send: 'noop.*"));
}

TEST(SMTP, debuglevel_0_is_quiet) {
  Session s({"220 mx\r\n", "250 ok\r\n"});
  testing::MockFunction<void(std::string_view)> sink;
  EXPECT_CALL(sink, Call(testing::_)).Times(0);
  s.client->set_debug_sink(sink.AsStdFunction());
  s.client->noop();
}

TEST(SMTP, send_message_takes_the_envelope_from_headers_and_drops_bcc) {
  Session s({"220 mx\r\n", "250 mx\r\n", "250 ok\r\n", "250 ok\r\n", "250 ok\r\n", "250 ok\r\n",
             "250 ok\r\n", "354 go\r\n", "250 queued\r\n"});
  const std::string msg =
      "From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nBcc: secret@example.com,\r\n"
      " other@example.com\r\nCc: \"Carl, C.\" <carl@example.com>\r\nSubject: s\r\n\r\nBcc: "
      "body\r\n";
  EXPECT_TRUE(s.client->send_message(msg).empty());
  EXPECT_EQ(visible(s.server->written),
            visible("ehlo me.example\r\nmail FROM:<ann@example.com>\r\n"
                    "rcpt TO:<bob@example.com>\r\nrcpt TO:<secret@example.com>\r\n"
                    "rcpt TO:<other@example.com>\r\nrcpt TO:<carl@example.com>\r\ndata\r\n"
                    "From: Ann <ann@example.com>\r\nTo: bob@example.com\r\n"
                    "Cc: \"Carl, C.\" <carl@example.com>\r\nSubject: s\r\n\r\nBcc: body\r\n"
                    ".\r\n"));
}

TEST(SMTP, send_message_with_explicit_envelope) {
  Session s(
      {"220 mx\r\n", "250 mx\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 queued\r\n"});
  s.client->send_message("From: a@example.com\nTo: b@example.com\n\nx\n",
                         std::string("env@example.com"), std::vector<std::string>{"c@example.com"});
  EXPECT_NE(s.server->written.find("mail FROM:<env@example.com>"), std::string::npos);
  EXPECT_NE(s.server->written.find("rcpt TO:<c@example.com>"), std::string::npos);
  EXPECT_EQ(s.server->written.find("rcpt TO:<b@example.com>"), std::string::npos);
}

TEST(SMTP, send_message_without_from_is_refused_before_sending) {
  Session s({"220 mx\r\n"});
  EXPECT_THROW(s.client->send_message("To: b@example.com\n\nx\n"), std::invalid_argument);
  EXPECT_THROW(s.client->send_message("Resent-Date: x\nResent-Date: y\nFrom: a@example.com\n\n"),
               std::invalid_argument);
  EXPECT_EQ(s.server->written, "");
}

TEST(SMTP, send_message_uses_the_resent_block) {
  Session s(
      {"220 mx\r\n", "250 mx\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 queued\r\n"});
  s.client->send_message(
      "From: orig@example.com\nTo: orig-to@example.com\nResent-Date: today\n"
      "Resent-From: fwd@example.com\nResent-To: new@example.com\nResent-Bcc: \n\nbody\n");
  EXPECT_EQ(
      visible(s.server->written),
      visible("ehlo me.example\r\nmail FROM:<fwd@example.com>\r\nrcpt TO:<new@example.com>\r\n"
              "data\r\nFrom: orig@example.com\r\nTo: orig-to@example.com\r\n"
              "Resent-Date: today\r\nResent-From: fwd@example.com\r\n"
              "Resent-To: new@example.com\r\n\r\nbody\r\n.\r\n"));
}

TEST(SMTP, huge_timeout_means_no_deadline) {
  Session s({"220 mx\r\n", "250 ok\r\n"});
  s.client->set_timeout(std::chrono::duration<double>(1e300));
  EXPECT_EQ(s.client->noop().code, 250);
}

TEST(SMTP, putcmd_then_getreply) {
  Session s({"220 mx\r\n", "250-one\r\n250 two\r\n"});
  s.client->putcmd("noop");
  EXPECT_EQ(s.server->written, "noop\r\n");
  EXPECT_EQ(s.client->getreply(), (Reply{250, "one\ntwo"}));
  EXPECT_THROW(s.client->putcmd("noop", "a\r\nb"), std::invalid_argument);
}

TEST(SMTP, send_message_with_international_address_uses_smtputf8) {
  Session s({"220 mx\r\n", "250-mx\r\n250-SMTPUTF8\r\n250 8BITMIME\r\n", "250 ok\r\n", "250 ok\r\n",
             "354 go\r\n", "250 queued\r\n"});
  s.client->send_message("From: j\xc3\xb6rg@example.com\nTo: b@example.com\n\nx\n");
  EXPECT_NE(
      s.server->written.find("mail FROM:<j\xc3\xb6rg@example.com> SMTPUTF8 BODY=8BITMIME\r\n"),
      std::string::npos)
      << visible(s.server->written);
}

TEST(SMTP, send_message_with_international_address_needs_the_extension) {
  Session s({"220 mx\r\n", "250 mx\r\n"});
  EXPECT_THROW(s.client->send_message("From: a@example.com\nTo: b@\xc3\xa9x.example\n\nx\n"),
               SMTPNotSupportedError);
  EXPECT_EQ(s.server->written, "ehlo me.example\r\n");
}

TEST(SMTP, docmd_accepts_a_whole_command_as_smtplib) {
  Session s({"220 mx\r\n", "250 ok\r\n"});
  EXPECT_EQ(s.client->docmd("MAIL FROM:<a@example.com>").code, 250);
  EXPECT_EQ(s.server->written, "MAIL FROM:<a@example.com>\r\n");
}

TEST(SMTP, byte_messages_are_sent_like_text) {
  Session s({"220 mx\r\n", "250 mx\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 queued\r\n",
             "354 go\r\n", "250 queued\r\n"});
  const std::string text = "a\n.b\rc";
  std::vector<std::byte> bytes;
  for (char c : text) bytes.push_back(static_cast<std::byte>(c));
  s.client->sendmail("a@example.com", {"b@example.com"}, std::span<const std::byte>(bytes));
  s.client->data(std::span<const std::byte>(bytes));
  const std::string wire = "a\r\n..b\r\nc\r\n.\r\n";
  EXPECT_EQ(visible(s.server->written),
            visible("ehlo me.example\r\nmail FROM:<a@example.com>\r\nrcpt TO:<b@example.com>\r\n"
                    "data\r\n" +
                    wire + "data\r\n" + wire));
}

TEST(SMTP, failed_ehlo_is_not_retried_as_smtplib) {
  // smtplib sets ehlo_resp even for a refusal, so ehlo_or_helo_if_needed() does nothing later.
  Session s({"220 mx\r\n", "502 no\r\n"});
  EXPECT_EQ(s.client->ehlo().code, 502);
  EXPECT_EQ(s.client->ehlo_resp(), "no");
  EXPECT_FALSE(s.client->does_esmtp());
  s.client->ehlo_or_helo_if_needed();
  EXPECT_EQ(s.server->written, "ehlo me.example\r\n");
}

TEST(SMTP, helo_fallback_means_no_extensions) {
  Session s({"220 mx\r\n", "500 what\r\n", "250 hi\r\n"});
  s.client->ehlo_or_helo_if_needed();
  EXPECT_FALSE(s.client->has_extn("size"));
  EXPECT_FALSE(s.client->does_esmtp());
  EXPECT_EQ(s.client->helo_resp(), "hi");
}

TEST(SMTP, sendmail_with_no_recipients_raises_recipients_refused_after_rset) {
  Session s({"220 mx\r\n", "250 mx\r\n", "250 ok\r\n", "250 reset\r\n"});
  try {
    s.client->sendmail("a@example.com", {}, "x");
    FAIL();
  } catch (const SMTPRecipientsRefused& e) {
    EXPECT_TRUE(e.recipients.empty());
  }
  EXPECT_EQ(s.server->written, "ehlo me.example\r\nmail FROM:<a@example.com>\r\nrset\r\n");
}

TEST(SMTP, sender_refused_then_server_gone_during_rset_still_reports_sender_refused) {
  Session s({"220 mx\r\n", "250 mx\r\n", "550 5.7.1 go away\r\n"});
  try {
    s.client->sendmail("a@example.com", {"b@example.com"}, "x");
    FAIL();
  } catch (const SMTPSenderRefused& e) {
    EXPECT_EQ(e.smtp_code, 550);
    EXPECT_EQ(e.sender, "a@example.com");
  }
  EXPECT_FALSE(s.client->connected());
}

TEST(SMTP, after_close_methods_raise_disconnected) {
  Session s({"220 mx\r\n", "250 mx\r\n"});
  s.client->ehlo();
  s.client->close();
  EXPECT_THROW(s.client->sendmail("a@example.com", {"b@example.com"}, "x"), SMTPServerDisconnected);
}

TEST(SMTP, reconnect_forgets_the_previous_hello) {
  Session s({"220 mx\r\n", "250-mx\r\n250 SIZE 9\r\n"});
  s.client->ehlo();
  auto second = std::make_shared<FakeServer>();
  second->to_client = {"220 other\r\n"};
  s.client->connect(std::make_unique<FakeTransport>(second));
  EXPECT_FALSE(s.client->ehlo_resp());
  EXPECT_FALSE(s.client->has_extn("size"));
}

TEST(LMTP, sendmail_reports_per_recipient_replies) {
  Session s({"220 lmtp\r\n", "250-lmtp\r\n250 PIPELINING\r\n", "250 ok\r\n", "250 ok\r\n",
             "250 ok\r\n", "354 go\r\n", "250 a ok\r\n", "452 b full\r\n"},
            true);
  const auto refused = s.client->sendmail("f@example.com", {"a@example.com", "b@example.com"}, "x");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused.at("b@example.com"), (Reply{452, "b full"}));
  EXPECT_EQ(s.client->data_replies().size(), 2u);
  EXPECT_EQ(s.server->written.substr(0, 17), "lhlo me.example\r\n");
}

TEST(LMTP, low_level_data_reads_a_reply_per_accepted_rcpt) {
  Session s({"220 lmtp\r\n", "250 ok\r\n", "250 ok\r\n", "550 no\r\n", "250 ok\r\n", "354 go\r\n",
             "250 a ok\r\n", "250 c ok\r\n", "250 noop\r\n"},
            true);
  s.client->mail("f@example.com");
  s.client->rcpt("a@example.com");
  s.client->rcpt("b@example.com");
  s.client->rcpt("c@example.com");
  EXPECT_EQ(s.client->data("x").text, "a ok");
  ASSERT_EQ(s.client->data_replies().size(), 2u);
  EXPECT_EQ(s.client->data_replies()[1].first, "c@example.com");
  EXPECT_EQ(s.client->noop().text, "noop");  // nothing left unread
}

TEST(Exceptions, hierarchy_matches_smtplib) {
  static_assert(std::is_base_of_v<SMTPException, SMTPServerDisconnected>);
  static_assert(std::is_base_of_v<SMTPException, SMTPResponseException>);
  static_assert(std::is_base_of_v<SMTPResponseException, SMTPSenderRefused>);
  static_assert(std::is_base_of_v<SMTPException, SMTPRecipientsRefused>);
  static_assert(!std::is_base_of_v<SMTPResponseException, SMTPRecipientsRefused>);
  static_assert(std::is_base_of_v<SMTPResponseException, SMTPDataError>);
  static_assert(std::is_base_of_v<SMTPResponseException, SMTPConnectError>);
  static_assert(std::is_base_of_v<SMTPResponseException, SMTPHeloError>);
  static_assert(std::is_base_of_v<SMTPResponseException, SMTPAuthenticationError>);
  static_assert(std::is_base_of_v<SMTPException, SMTPNotSupportedError>);
  static_assert(std::is_base_of_v<SMTPServerDisconnected, SMTPTimeoutError>);
  static_assert(std::is_base_of_v<SMTPServerDisconnected, SMTPProtocolError>);
  const SMTPDataError e(554, "no");
  EXPECT_EQ(e.type_name(), "SMTPDataError");
  EXPECT_EQ(SMTPRecipientsRefused({}).type_name(), "SMTPRecipientsRefused");
}

TEST(LocalHostname, default_is_fqdn_or_bracketed_ip) {
  const std::string h = default_local_hostname();
  ASSERT_FALSE(h.empty());
  EXPECT_TRUE(h.find('.') != std::string::npos || (h.front() == '[' && h.back() == ']')) << h;
  EXPECT_NO_THROW(wire::command::check_hostname(h));
}

TEST(EnhancedStatus, kept_in_response_exceptions) {
  const SMTPSenderRefused e(553, "5.7.1 Sender rejected", "a@b");
  ASSERT_TRUE(e.enhanced_status);
  EXPECT_EQ(e.enhanced_status->to_string(), "5.7.1");
  EXPECT_EQ(e.smtp_code, 553);
  EXPECT_EQ(e.smtp_error, "5.7.1 Sender rejected");
  EXPECT_EQ(e.sender, "a@b");
}

TEST(Ports, out_of_range_is_refused_before_connecting) {
  // Issue 19: SMTP("127.0.0.1", 70000) connected to port 4464 (65536 wrapped away).
  for (int bad : {70000, 65536, -1}) {
    try {
      SMTP c("127.0.0.1", bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("out of range (1-65535)"), std::string::npos)
          << e.what();
    }
  }
  for (const char* bad : {"127.0.0.1:70000", "127.0.0.1:-1", "[::1]:99999", "127.0.0.1:abc"}) {
    EXPECT_THROW(SMTP{std::string(bad)}, std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace smtp
