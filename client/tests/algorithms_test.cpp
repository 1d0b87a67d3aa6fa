// The exchange algorithms, scripted: what the client wrote, what the server answered, what the
// caller got. No sockets.
#include <gtest/gtest.h>

#include <smtp/algo/command.hpp>
#include <smtp/algo/data.hpp>
#include <smtp/algo/hello.hpp>
#include <smtp/algo/sendmail.hpp>
#include <smtp/wire/body_encoder.hpp>

#include "script.hpp"

namespace smtp {
namespace {

using test::closes;
using test::exchange;
using test::play;
using test::read;
using test::rethrow;

SessionState session(bool lmtp = false) {
  SessionState s;
  s.local_hostname = "client.example";
  s.lmtp = lmtp;
  return s;
}

algo::SendmailAlgo sendmail(SessionState& s, std::vector<std::string> to,
                            std::vector<std::string> mail_opts = {},
                            std::vector<std::string> rcpt_opts = {}) {
  return algo::SendmailAlgo(s, "from@example.com", std::move(to), "Subject: t\n\nhi\n",
                            std::move(mail_opts), std::move(rcpt_opts));
}

const char* const body_wire = "Subject: t\r\n\r\nhi\r\n.\r\n";

TEST(HelloAlgo, ehlo_records_features_as_smtplib) {
  auto s = session();
  algo::HelloAlgo a(s, algo::HelloAlgo::kind::ehlo, {});
  play(a, {exchange("ehlo client.example\r\n", 250, "mx\nSIZE 1000\nAUTH PLAIN")});
  EXPECT_EQ(a.reply().code, 250);
  EXPECT_TRUE(s.does_esmtp);
  EXPECT_EQ(s.ehlo_resp, "mx\nSIZE 1000\nAUTH PLAIN");
  EXPECT_EQ(s.esmtp_features.at("size"), "1000");
  EXPECT_EQ(s.esmtp_features.at("auth"), " PLAIN");
}

TEST(HelloAlgo, refused_ehlo_keeps_response_but_not_esmtp) {
  auto s = session();
  algo::HelloAlgo a(s, algo::HelloAlgo::kind::ehlo, "me.example");
  play(a, {exchange("ehlo me.example\r\n", 502, "no")});
  EXPECT_FALSE(s.does_esmtp);
  EXPECT_EQ(s.ehlo_resp, "no");
  EXPECT_TRUE(s.esmtp_features.empty());
}

TEST(HelloAlgo, lmtp_says_lhlo) {
  auto s = session(true);
  algo::HelloAlgo a(s, algo::HelloAlgo::kind::ehlo, {});
  play(a, {exchange("lhlo client.example\r\n", 250, "lmtp\nPIPELINING")});
  EXPECT_TRUE(s.does_esmtp);
}

TEST(HelloAlgo, refuses_bad_hostname_before_any_action) {
  auto s = session();
  EXPECT_THROW(algo::HelloAlgo(s, algo::HelloAlgo::kind::helo, "x\r\nRSET"), std::invalid_argument);
}

TEST(EhloOrHeloAlgo, falls_back_to_helo) {
  auto s = session();
  algo::EhloOrHeloAlgo a(s);
  play(a, {exchange("ehlo client.example\r\n", 500, "what?"),
           exchange("helo client.example\r\n", 250, "hi")});
  EXPECT_FALSE(a.error());
  EXPECT_EQ(s.helo_resp, "hi");
  EXPECT_FALSE(s.does_esmtp);
}

TEST(EhloOrHeloAlgo, helo_refused_raises_smtp_helo_error) {
  auto s = session();
  algo::EhloOrHeloAlgo a(s);
  play(a, {exchange("ehlo client.example\r\n", 500, "what?"),
           exchange("helo client.example\r\n", 501, "go away")});
  try {
    rethrow(a);
    FAIL();
  } catch (const SMTPHeloError& e) {
    EXPECT_EQ(e.smtp_code, 501);
    EXPECT_EQ(e.smtp_error, "go away");
  }
}

TEST(EhloOrHeloAlgo, nothing_when_already_greeted) {
  auto s = session();
  s.helo_resp = "earlier";
  algo::EhloOrHeloAlgo a(s);
  play(a, {});
  EXPECT_FALSE(a.error());
}

TEST(SendmailAlgo, esmtp_transaction_with_size_and_options) {
  auto s = session();
  auto a = sendmail(s, {"a@example.com", "b@example.com"}, {"BODY=8BITMIME"}, {"NOTIFY=NEVER"});
  play(a, {exchange("ehlo client.example\r\n", 250, "mx\nSIZE 100000\n8BITMIME\nDSN"),
           exchange("mail FROM:<from@example.com> size=18 BODY=8BITMIME\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com> NOTIFY=NEVER\r\n", 250, "ok"),
           exchange("rcpt TO:<b@example.com> NOTIFY=NEVER\r\n", 251, "will forward"),
           exchange("data\r\n", 354, "go ahead"), exchange(body_wire, 250, "queued")});
  EXPECT_FALSE(a.error());
  EXPECT_TRUE(a.refused().empty());
  EXPECT_EQ(a.message_size(), 18u);
}

TEST(SendmailAlgo, options_dropped_for_a_helo_only_server) {
  auto s = session();
  auto a = sendmail(s, {"a@example.com"}, {"BODY=8BITMIME"}, {"NOTIFY=NEVER"});
  play(a, {exchange("ehlo client.example\r\n", 502, "no"),
           exchange("helo client.example\r\n", 250, "hi"),
           exchange("mail FROM:<from@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"), exchange("data\r\n", 354, "go"),
           exchange(body_wire, 250, "queued")});
  EXPECT_FALSE(a.error());
}

TEST(SendmailAlgo, no_size_when_not_advertised) {
  auto s = session();
  auto a = sendmail(s, {"a@example.com"});
  play(a, {exchange("ehlo client.example\r\n", 250, "mx"),
           exchange("mail FROM:<from@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"), exchange("data\r\n", 354, "go"),
           exchange(body_wire, 250, "queued")});
  EXPECT_FALSE(a.error());
}

TEST(SendmailAlgo, refused_sender_is_followed_by_rset) {
  auto s = session();
  s.helo_resp = "greeted";
  auto a = sendmail(s, {"a@example.com"});
  play(a, {exchange("mail FROM:<from@example.com>\r\n", 550, "5.7.1 no"),
           exchange("rset\r\n", 250, "flushed")});
  try {
    rethrow(a);
    FAIL();
  } catch (const SMTPSenderRefused& e) {
    EXPECT_EQ(e.smtp_code, 550);
    EXPECT_EQ(e.sender, "from@example.com");
    // A HELO server cannot advertise ENHANCEDSTATUSCODES: the text is not parsed (RFC 2034).
    EXPECT_FALSE(e.enhanced_status);
  }
}

TEST(SendmailAlgo, sender_refused_with_421_closes_without_rset) {
  auto s = session();
  s.helo_resp = "greeted";
  auto a = sendmail(s, {"a@example.com"});
  play(a, {exchange("mail FROM:<from@example.com>\r\n", 421, "closing"), closes()});
  EXPECT_THROW(rethrow(a), SMTPSenderRefused);
}

TEST(SendmailAlgo, failing_rset_after_refusal_still_reports_the_refusal) {
  auto s = session();
  s.helo_resp = "greeted";
  auto a = sendmail(s, {"a@example.com"});
  play(a, {exchange("mail FROM:<from@example.com>\r\n", 550, "no"), exchange("rset\r\n", 0, "")},
       1);
  EXPECT_THROW(rethrow(a), SMTPSenderRefused);
}

TEST(SendmailAlgo, some_recipients_refused_are_returned) {
  auto s = session();
  s.helo_resp = "greeted";
  auto a = sendmail(s, {"a@example.com", "b@example.com", "c@example.com"});
  play(a, {exchange("mail FROM:<from@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 550, "5.1.1 unknown"),
           exchange("rcpt TO:<b@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<c@example.com>\r\n", 452, "4.2.2 full"),
           exchange("data\r\n", 354, "go"), exchange(body_wire, 250, "queued")});
  EXPECT_FALSE(a.error());
  const RefusedRecipients expected = {{"a@example.com", {550, "5.1.1 unknown"}},
                                      {"c@example.com", {452, "4.2.2 full"}}};
  EXPECT_EQ(a.refused(), expected);
}

TEST(SendmailAlgo, all_recipients_refused_is_followed_by_rset) {
  auto s = session();
  s.helo_resp = "greeted";
  auto a = sendmail(s, {"a@example.com", "b@example.com"});
  play(a, {exchange("mail FROM:<from@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 550, "no a"),
           exchange("rcpt TO:<b@example.com>\r\n", 553, "no b"), exchange("rset\r\n", 250, "ok")});
  try {
    rethrow(a);
    FAIL();
  } catch (const SMTPRecipientsRefused& e) {
    EXPECT_EQ(e.recipients.size(), 2u);
    EXPECT_EQ(e.recipients.at("b@example.com"), (Reply{553, "no b"}));
  }
}

TEST(SendmailAlgo, recipient_421_closes_at_once) {
  auto s = session();
  s.helo_resp = "greeted";
  auto a = sendmail(s, {"a@example.com", "b@example.com"});
  play(a, {exchange("mail FROM:<from@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 421, "shutting down"), closes()});
  EXPECT_THROW(rethrow(a), SMTPRecipientsRefused);
}

TEST(SendmailAlgo, data_refused_is_followed_by_rset) {
  auto s = session();
  s.helo_resp = "greeted";
  auto a = sendmail(s, {"a@example.com"});
  play(a, {exchange("mail FROM:<from@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"),
           exchange("data\r\n", 554, "no data for you"), exchange("rset\r\n", 250, "ok")});
  EXPECT_THROW(rethrow(a), SMTPDataError);
}

TEST(SendmailAlgo, message_refused_after_dot_is_a_data_error) {
  auto s = session();
  s.helo_resp = "greeted";
  auto a = sendmail(s, {"a@example.com"});
  play(a, {exchange("mail FROM:<from@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"), exchange("data\r\n", 354, "go"),
           exchange(body_wire, 552, "5.3.4 too big"), exchange("rset\r\n", 250, "ok")});
  try {
    rethrow(a);
    FAIL();
  } catch (const SMTPDataError& e) {
    EXPECT_EQ(e.smtp_code, 552);
  }
}

TEST(SendmailAlgo, message_421_after_dot_closes) {
  auto s = session();
  s.helo_resp = "greeted";
  auto a = sendmail(s, {"a@example.com"});
  play(a, {exchange("mail FROM:<from@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"), exchange("data\r\n", 354, "go"),
           exchange(body_wire, 421, "bye"), closes()});
  EXPECT_THROW(rethrow(a), SMTPDataError);
}

TEST(SendmailAlgo, lmtp_reads_one_reply_per_accepted_recipient) {
  // RFC 2033 section 4.2; smtplib reads only one (CPython gh-76984).
  auto s = session(true);
  auto a = sendmail(s, {"a@example.com", "b@example.com", "c@example.com"});
  play(a, {exchange("lhlo client.example\r\n", 250, "lmtp"),
           exchange("mail FROM:<from@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<b@example.com>\r\n", 550, "unknown"),
           exchange("rcpt TO:<c@example.com>\r\n", 250, "ok"), exchange("data\r\n", 354, "go"),
           exchange(body_wire, 250, "a delivered"), read(452, "c over quota")});
  EXPECT_FALSE(a.error());
  const RefusedRecipients expected = {{"b@example.com", {550, "unknown"}},
                                      {"c@example.com", {452, "c over quota"}}};
  EXPECT_EQ(a.refused(), expected);
  ASSERT_EQ(a.data_replies().size(), 2u);
  EXPECT_EQ(a.data_replies()[1].first, "c@example.com");
}

TEST(SendmailAlgo, lmtp_every_recipient_refused_after_dot) {
  auto s = session(true);
  s.ehlo_resp = "lmtp";
  auto a = sendmail(s, {"a@example.com", "b@example.com"});
  play(a, {exchange("mail FROM:<from@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<b@example.com>\r\n", 250, "ok"), exchange("data\r\n", 354, "go"),
           exchange(body_wire, 550, "a no"), read(551, "b no"), exchange("rset\r\n", 250, "ok")});
  try {
    rethrow(a);
    FAIL();
  } catch (const SMTPRecipientsRefused& e) {
    EXPECT_EQ(e.recipients.size(), 2u);
  }
}

TEST(SendmailAlgo, disconnect_at_any_step_is_reported_never_success) {
  const std::vector<test::Step> happy = {
      exchange("ehlo client.example\r\n", 250, "mx\nSIZE 100000"),
      exchange("mail FROM:<from@example.com> size=18\r\n", 250, "ok"),
      exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"),
      exchange("rcpt TO:<b@example.com>\r\n", 250, "ok"),
      exchange("data\r\n", 354, "go"),
      exchange(body_wire, 250, "queued")};
  for (std::size_t k = 0; k < happy.size(); ++k) {
    auto s = session();
    auto a = sendmail(s, {"a@example.com", "b@example.com"});
    play(a, happy, k);
    EXPECT_THROW(rethrow(a), SMTPServerDisconnected) << "failure injected at step " << k;
  }
}

TEST(SendmailAlgo, lmtp_disconnect_between_recipient_replies_is_reported) {
  const std::vector<test::Step> happy = {exchange("lhlo client.example\r\n", 250, "lmtp"),
                                         exchange("mail FROM:<from@example.com>\r\n", 250, "ok"),
                                         exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"),
                                         exchange("rcpt TO:<b@example.com>\r\n", 250, "ok"),
                                         exchange("data\r\n", 354, "go"),
                                         exchange(body_wire, 250, "a ok"),
                                         read(250, "b ok")};
  for (std::size_t k = 0; k < happy.size(); ++k) {
    auto s = session(true);
    auto a = sendmail(s, {"a@example.com", "b@example.com"});
    play(a, happy, k);
    EXPECT_THROW(rethrow(a), SMTPServerDisconnected) << "failure injected at step " << k;
  }
}

TEST(SendmailAlgo, bad_input_is_refused_before_any_action) {
  auto s = session();
  EXPECT_THROW(sendmail(s, {"a@example.com\r\nRSET"}), std::invalid_argument);
  EXPECT_THROW(sendmail(s, {"a@example.com"}, {"SIZE=1\r\nRSET"}), std::invalid_argument);
  EXPECT_THROW(sendmail(s, {"a@example.com"}, {}, {"NOTIFY=NEVER X"}), std::invalid_argument);
  EXPECT_THROW(algo::SendmailAlgo(s, "f@example.com", {"a@example.com"},
                                  std::string_view("a\0b", 3), {}, {}),
               std::invalid_argument);
  EXPECT_THROW(algo::SendmailAlgo(s, "not an address", {"a@example.com"}, "x", {}, {}),
               std::invalid_argument);
}

TEST(SendmailAlgo, smtputf8_needs_the_extension) {
  auto s = session();
  auto a = sendmail(s, {"a@example.com"}, {"SMTPUTF8"});
  play(a, {exchange("ehlo client.example\r\n", 250, "mx")});
  EXPECT_THROW(rethrow(a), SMTPNotSupportedError);
}

TEST(DataAlgo, non_354_is_a_data_error_without_rset) {
  auto s = session();
  algo::DataAlgo a(s, wire::BodyEncoder::encode_all("x"));
  play(a, {exchange("data\r\n", 503, "need RCPT")});
  EXPECT_THROW(rethrow(a), SMTPDataError);
}

TEST(DataAlgo, lmtp_collects_a_reply_per_accepted_recipient) {
  auto s = session(true);
  s.accepted_recipients = {"a@x.example", "b@x.example"};
  algo::DataAlgo a(s, wire::BodyEncoder::encode_all("x"));
  play(a, {exchange("data\r\n", 354, "go"), exchange("x\r\n.\r\n", 250, "a ok"),
           read(550, "b failed")});
  EXPECT_FALSE(a.error());
  EXPECT_EQ(a.reply(), (Reply{250, "a ok"}));
  ASSERT_EQ(a.replies().size(), 2u);
  EXPECT_EQ(a.replies()[1], (std::pair<std::string, Reply>{"b@x.example", {550, "b failed"}}));
}

TEST(CommandAlgo, one_line_one_reply) {
  algo::CommandAlgo a("noop\r\n");
  play(a, {exchange("noop\r\n", 250, "ok")});
  EXPECT_EQ(a.reply(), (Reply{250, "ok"}));
}

TEST(CommandAlgo, failure_is_reported) {
  algo::CommandAlgo a("noop\r\n");
  play(a, {exchange("noop\r\n", 250, "ok")}, 0);
  EXPECT_THROW(rethrow(a), SMTPServerDisconnected);
}

}  // namespace
}  // namespace smtp
