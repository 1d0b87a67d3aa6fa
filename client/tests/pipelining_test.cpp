// PIPELINING (RFC 2920) in sendmail, scripted: one write for MAIL, every RCPT and DATA, then the
// replies in order, each checked. No sockets.
#include <gtest/gtest.h>

#include <smtp/algo/sendmail.hpp>
#include <smtp/client.hpp>

#include "script.hpp"

namespace smtp {
namespace {

using test::closes;
using test::exchange;
using test::play;
using test::read;
using test::rethrow;
using test::writes;

SessionState greeted(bool lmtp = false) {
  SessionState s;
  s.local_hostname = "client.example";
  s.lmtp = lmtp;
  s.helo_resp = std::nullopt;
  s.ehlo_resp = "mx";
  s.does_esmtp = true;
  s.esmtp_features["pipelining"] = "";
  s.esmtp_features["enhancedstatuscodes"] = "";
  s.allow_pipelining = true;
  return s;
}

algo::SendmailAlgo sendmail(SessionState& s, std::vector<std::string> to) {
  return algo::SendmailAlgo(s, "f@example.com", std::move(to), "Subject: t\n\nhi\n", {}, {});
}

const char* const body_wire = "Subject: t\r\n\r\nhi\r\n.\r\n";
const char* const batch2 =
    "mail FROM:<f@example.com>\r\nrcpt TO:<a@example.com>\r\nrcpt TO:<b@example.com>\r\n"
    "data\r\n";

TEST(Pipelining, one_write_then_replies_in_order) {
  auto s = greeted();
  auto a = sendmail(s, {"a@example.com", "b@example.com"});
  play(a, {writes(batch2), read(250, "ok"), read(250, "ok"), read(251, "will forward"),
           read(354, "go"), exchange(body_wire, 250, "queued")});
  EXPECT_FALSE(a.error());
  EXPECT_TRUE(a.refused().empty());
}

TEST(Pipelining, advertised_after_ehlo_is_used) {
  SessionState s;
  s.local_hostname = "client.example";
  s.allow_pipelining = true;
  auto a = sendmail(s, {"a@example.com"});
  play(a, {exchange("ehlo client.example\r\n", 250, "mx\nPIPELINING\nSIZE 1000"),
           writes("mail FROM:<f@example.com> size=18\r\nrcpt TO:<a@example.com>\r\ndata\r\n"),
           read(250, "ok"), read(250, "ok"), read(354, "go"), exchange(body_wire, 250, "queued")});
  EXPECT_FALSE(a.error());
}

TEST(Pipelining, on_by_default) {
  EXPECT_TRUE(SessionState{}.allow_pipelining);
  EXPECT_TRUE(SMTP().pipelining());
}

TEST(Pipelining, switched_off_sends_one_command_at_a_time) {
  auto s = greeted();
  s.allow_pipelining = false;
  auto a = sendmail(s, {"a@example.com"});
  play(a, {exchange("mail FROM:<f@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"), exchange("data\r\n", 354, "go"),
           exchange(body_wire, 250, "queued")});
  EXPECT_FALSE(a.error());
}

TEST(Pipelining, not_advertised_means_not_used) {
  auto s = greeted();
  s.esmtp_features.clear();
  auto a = sendmail(s, {"a@example.com"});
  play(a, {exchange("mail FROM:<f@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"), exchange("data\r\n", 354, "go"),
           exchange(body_wire, 250, "queued")});
  EXPECT_FALSE(a.error());
}

TEST(Pipelining, refused_mail_still_consumes_rcpt_and_data_replies) {
  auto s = greeted();
  auto a = sendmail(s, {"a@example.com", "b@example.com"});
  play(a, {writes(batch2), read(550, "5.1.8 bad sender"), read(503, "need MAIL"),
           read(503, "need MAIL"), read(503, "need RCPT"), exchange("rset\r\n", 250, "ok")});
  try {
    rethrow(a);
    FAIL();
  } catch (const SMTPSenderRefused& e) {
    EXPECT_EQ(e.smtp_code, 550);
    EXPECT_EQ(e.sender, "f@example.com");
    EXPECT_EQ(e.enhanced_status->to_string(), "5.1.8");
  }
  EXPECT_TRUE(s.accepted_recipients.empty());
}

TEST(Pipelining, some_recipients_refused_are_returned) {
  auto s = greeted();
  auto a = sendmail(s, {"a@example.com", "b@example.com"});
  play(a, {writes(batch2), read(250, "ok"), read(550, "no such user"), read(250, "ok"),
           read(354, "go"), exchange(body_wire, 250, "queued")});
  EXPECT_FALSE(a.error());
  ASSERT_EQ(a.refused().size(), 1u);
  EXPECT_EQ(a.refused().at("a@example.com"), (Reply{550, "no such user"}));
}

TEST(Pipelining, all_recipients_refused_then_rset) {
  auto s = greeted();
  auto a = sendmail(s, {"a@example.com", "b@example.com"});
  play(a, {writes(batch2), read(250, "ok"), read(550, "no"), read(450, "later"),
           read(554, "no valid recipients"), exchange("rset\r\n", 250, "ok")});
  try {
    rethrow(a);
    FAIL();
  } catch (const SMTPRecipientsRefused& e) {
    ASSERT_EQ(e.recipients.size(), 2u);
    EXPECT_EQ(e.recipients.at("b@example.com").code, 450);
  }
}

TEST(Pipelining, data_354_with_nothing_valid_is_ended_by_a_lone_dot) {
  auto s = greeted();
  auto a = sendmail(s, {"a@example.com"});
  play(a, {writes("mail FROM:<f@example.com>\r\nrcpt TO:<a@example.com>\r\ndata\r\n"),
           read(250, "ok"), read(550, "no"), read(354, "go anyway"),
           exchange(".\r\n", 554, "no recipients"), exchange("rset\r\n", 250, "ok")});
  EXPECT_THROW(rethrow(a), SMTPRecipientsRefused);
}

TEST(Pipelining, data_refused_is_a_data_error_then_rset) {
  auto s = greeted();
  auto a = sendmail(s, {"a@example.com"});
  play(a,
       {writes("mail FROM:<f@example.com>\r\nrcpt TO:<a@example.com>\r\ndata\r\n"), read(250, "ok"),
        read(250, "ok"), read(451, "4.3.0 try later"), exchange("rset\r\n", 250, "ok")});
  try {
    rethrow(a);
    FAIL();
  } catch (const SMTPDataError& e) {
    EXPECT_EQ(e.smtp_code, 451);
  }
}

TEST(Pipelining, a_421_stops_reading_and_closes) {
  {
    auto s = greeted();
    auto a = sendmail(s, {"a@example.com", "b@example.com"});
    play(a, {writes(batch2), read(421, "shutting down"), closes()});
    EXPECT_THROW(rethrow(a), SMTPSenderRefused);
  }
  {
    auto s = greeted();
    auto a = sendmail(s, {"a@example.com", "b@example.com"});
    play(a, {writes(batch2), read(250, "ok"), read(550, "no"), read(421, "bye"), closes()});
    try {
      rethrow(a);
      FAIL();
    } catch (const SMTPRecipientsRefused& e) {
      EXPECT_EQ(e.recipients.size(), 2u);
      EXPECT_EQ(e.recipients.at("b@example.com").code, 421);
    }
  }
  {
    auto s = greeted();
    auto a = sendmail(s, {"a@example.com"});
    play(a, {writes("mail FROM:<f@example.com>\r\nrcpt TO:<a@example.com>\r\ndata\r\n"),
             read(250, "ok"), read(250, "ok"), read(421, "bye"), closes()});
    EXPECT_THROW(rethrow(a), SMTPDataError);
  }
}

TEST(Pipelining, disconnect_at_any_step_is_reported_never_success) {
  const std::vector<test::Step> happy = {writes(batch2),  read(250, "ok"),
                                         read(250, "ok"), read(250, "ok"),
                                         read(354, "go"), exchange(body_wire, 250, "queued")};
  for (std::size_t k = 0; k < happy.size(); ++k) {
    auto s = greeted();
    auto a = sendmail(s, {"a@example.com", "b@example.com"});
    play(a, happy, k);
    EXPECT_THROW(rethrow(a), SMTPServerDisconnected) << "failure injected at step " << k;
  }
}

TEST(Pipelining, lmtp_pipelines_and_reads_one_reply_per_accepted_recipient) {
  auto s = greeted(true);
  auto a = sendmail(s, {"a@example.com", "b@example.com"});
  play(a, {writes(batch2), read(250, "ok"), read(250, "ok"), read(250, "ok"), read(354, "go"),
           exchange(body_wire, 250, "a delivered"), read(452, "b over quota")});
  EXPECT_FALSE(a.error());
  ASSERT_EQ(a.refused().size(), 1u);
  EXPECT_EQ(a.refused().at("b@example.com").code, 452);
}

}  // namespace
}  // namespace smtp
