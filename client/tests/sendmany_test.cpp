// sendmail_many (algo::SendmanyAlgo), scripted without sockets: the next message's group written
// behind the previous message's end, replies matched to messages in order, refusals kept per
// message, and what a lost connection means for each message.
#include <gtest/gtest.h>

#include <smtp/algo/sendmany.hpp>
#include <smtp/client.hpp>
#include <string>
#include <vector>

#include "script.hpp"

namespace smtp {
namespace {

using test::closes;
using test::idle;
using test::play;
using test::read;
using test::writes;

SessionState greeted(bool chunking, bool pipelining = true, bool lmtp = false) {
  SessionState s;
  s.local_hostname = "client.example";
  s.lmtp = lmtp;
  s.ehlo_resp = "mx";
  s.does_esmtp = true;
  if (pipelining) s.esmtp_features["pipelining"] = "";
  if (chunking) s.esmtp_features["chunking"] = "";
  return s;
}

std::string body(int i) {
  return "Subject: " + std::to_string(i) + "\n\nhi\n";
}
std::string rcpt(int i) {
  return "r" + std::to_string(i) + "@example.com";
}
OutgoingMail mail(int i) {
  return OutgoingMail{"f@example.com", {rcpt(i)}, body(i), nullptr, {}, {}};
}
std::vector<OutgoingMail> mails(int n) {
  std::vector<OutgoingMail> v;
  for (int i = 0; i < n; ++i) v.push_back(mail(i));
  return v;
}

std::string group(int i, std::string_view tail) {
  return "mail FROM:<f@example.com>\r\nrcpt TO:<" + rcpt(i) + ">\r\n" + std::string(tail);
}
// MAIL, RCPT, DATA; RSET first when it follows another message's end (so a refusal swapped with
// the reply to that end shows as a reply RSET cannot get).
std::string data_group(int i, bool rset = false) {
  return (rset ? "rset\r\n" : "") + group(i, "data\r\n");
}
std::string dot_body(int i) {
  return "Subject: " + std::to_string(i) + "\r\n\r\nhi\r\n.\r\n";
}
// MAIL, RCPT and the whole message as one BDAT LAST chunk; RSET first when it follows another.
std::string bdat_group(int i, bool rset) {
  const std::string payload = "Subject: " + std::to_string(i) + "\r\n\r\nhi\r\n";
  return (rset ? "rset\r\n" : "") +
         group(i, "BDAT " + std::to_string(payload.size()) + " LAST\r\n" + payload);
}

std::string what(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  }
}

bool delivery_unknown(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const SMTPServerDisconnected& d) {
    return d.delivery_unknown();
  } catch (...) {
    return false;
  }
}

template <class E>
bool is(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const E&) {
    return true;
  } catch (...) {
    return false;
  }
}

TEST(Sendmany, data_next_group_goes_behind_the_previous_dot) {
  auto s = greeted(false);
  const auto m = mails(3);
  algo::SendmanyAlgo a(s, m, 32);
  // The end of one message and the next message's group leave in one write.
  play(a, {writes(data_group(0)), read(250, "ok"), read(250, "ok"), read(354, "go"),
           writes(dot_body(0) + data_group(1, true)), read(250, "queued 0"), read(250, "reset"),
           read(250, "ok"), read(250, "ok"), read(354, "go"),
           writes(dot_body(1) + data_group(2, true)), read(250, "queued 1"), read(250, "reset"),
           read(250, "ok"), read(250, "ok"), read(354, "go"), writes(dot_body(2)),
           read(250, "queued 2"), idle()});
  ASSERT_EQ(a.results().size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const MailResult& r = a.results()[static_cast<std::size_t>(i)];
    EXPECT_TRUE(r.ok()) << i;
    ASSERT_EQ(r.data_replies.size(), 1u);
    EXPECT_EQ(r.data_replies[0].second.text, "queued " + std::to_string(i));
  }
  EXPECT_EQ(a.overlapped(), 2u);
}

TEST(Sendmany, bdat_messages_stream_up_to_the_depth_before_any_reply) {
  auto s = greeted(true);
  const auto m = mails(3);
  algo::SendmanyAlgo a(s, m, 2);
  play(a, {writes(bdat_group(0, false) + bdat_group(1, true)), read(250, "ok"), read(250, "ok"),
           read(250, "got 0"), writes(bdat_group(2, true)), read(250, "reset"), read(250, "ok"),
           read(250, "ok"), read(250, "got 1"), read(250, "reset"), read(250, "ok"),
           read(250, "ok"), read(250, "got 2"), idle()});
  for (int i = 0; i < 3; ++i) {
    const MailResult& r = a.results()[static_cast<std::size_t>(i)];
    EXPECT_TRUE(r.ok()) << i;
    ASSERT_EQ(r.data_replies.size(), 1u);
    EXPECT_EQ(r.data_replies[0].second.text, "got " + std::to_string(i));
  }
}

TEST(Sendmany, a_refusal_in_flight_fails_only_its_message_and_sends_no_rset) {
  auto s = greeted(true);
  const auto m = mails(3);
  algo::SendmanyAlgo a(s, m, 32);
  play(a, {writes(bdat_group(0, false) + bdat_group(1, true) + bdat_group(2, true)),
           read(250, "ok"), read(250, "ok"), read(250, "got 0"),
           // message 1: recipient refused, so its BDAT is refused too
           read(250, "reset"), read(250, "ok"), read(550, "no such user"),
           read(554, "no valid recipients"),
           // message 2 starts with its own RSET, which clears message 1's open MAIL
           read(250, "reset"), read(250, "ok"), read(250, "ok"), read(250, "got 2"), idle()});
  EXPECT_TRUE(a.results()[0].ok());
  ASSERT_FALSE(a.results()[1].ok());
  EXPECT_TRUE(is<SMTPRecipientsRefused>(a.results()[1].error));
  EXPECT_TRUE(a.results()[2].ok());
}

TEST(Sendmany, a_refusal_before_the_message_is_written_resets_as_sendmail) {
  // DATA refused: nothing of message 0 was sent after DATA, so it is reset as sendmail() would,
  // and message 1 follows.
  auto s = greeted(false);
  const auto m = mails(2);
  algo::SendmanyAlgo a(s, m, 32);
  play(a, {writes(data_group(0)), read(250, "ok"), read(250, "ok"), read(451, "try later"),
           writes("rset\r\n"), read(250, "reset"), writes(data_group(1)), read(250, "ok"),
           read(250, "ok"), read(354, "go"), writes(dot_body(1)), read(250, "queued"), idle()});
  EXPECT_TRUE(is<SMTPDataError>(a.results()[0].error));
  EXPECT_TRUE(a.results()[1].ok());
}

TEST(Sendmany, final_reply_refused_after_the_next_group_is_that_message_only) {
  auto s = greeted(false);
  const auto m = mails(2);
  algo::SendmanyAlgo a(s, m, 32);
  play(a, {writes(data_group(0)), read(250, "ok"), read(250, "ok"), read(354, "go"),
           writes(dot_body(0) + data_group(1, true)), read(554, "spam"), read(250, "reset"),
           read(250, "ok"), read(250, "ok"), read(354, "go"), writes(dot_body(1)),
           read(250, "queued"), idle()});
  EXPECT_TRUE(is<SMTPDataError>(a.results()[0].error));
  EXPECT_TRUE(a.results()[1].ok());
}

TEST(Sendmany, a_421_closes_and_says_what_happened_to_each_message) {
  auto s = greeted(true);
  const auto m = mails(4);
  algo::SendmanyAlgo a(s, m, 2);
  play(a, {writes(bdat_group(0, false) + bdat_group(1, true)), read(421, "going down"), closes()});
  EXPECT_TRUE(is<SMTPSenderRefused>(a.results()[0].error));
  EXPECT_TRUE(is<SMTPServerDisconnected>(a.results()[1].error));
  EXPECT_NE(what(a.results()[1].error).find("may or may not have been delivered"),
            std::string::npos)
      << what(a.results()[1].error);
  for (std::size_t i : {2u, 3u}) {
    EXPECT_TRUE(is<SMTPServerDisconnected>(a.results()[i].error));
    EXPECT_NE(what(a.results()[i].error).find("not sent"), std::string::npos);
  }
}

TEST(Sendmany, a_disconnect_at_any_step_never_reports_an_unconfirmed_message_as_sent) {
  const std::vector<test::Step> happy = {writes(data_group(0)),
                                         read(250, "ok"),
                                         read(250, "ok"),
                                         read(354, "go"),
                                         writes(dot_body(0) + data_group(1, true)),
                                         read(250, "q0"),
                                         read(250, "reset"),
                                         read(250, "ok"),
                                         read(250, "ok"),
                                         read(354, "go"),
                                         writes(dot_body(1)),
                                         read(250, "q1"),
                                         idle()};
  for (std::size_t k = 0; k < happy.size(); ++k) {
    auto s = greeted(false);
    const auto m = mails(2);
    algo::SendmanyAlgo a(s, m, 32);
    play(a, happy, k);
    // Message 0's reply comes at step 5 but is believed only once message 1's 354 (step 9)
    // confirms the pairing; message 1's reply at step 11 once nothing else is waiting (step 12).
    // A failure before that leaves each message failed: "may or may not have been delivered"
    // once its end was written (step 4, step 10).
    EXPECT_EQ(a.results()[0].ok(), k > 9) << "disconnect at step " << k;
    EXPECT_EQ(a.results()[1].ok(), k > 12) << "disconnect at step " << k;
    for (std::size_t i : {0u, 1u}) {
      const MailResult& r = a.results()[i];
      if (r.ok()) continue;
      ASSERT_TRUE(is<SMTPServerDisconnected>(r.error)) << k;
      const std::size_t end_step = i == 0 ? 4 : 10;
      EXPECT_EQ(delivery_unknown(r.error), k >= end_step)
          << "message " << i << ", disconnect at step " << k << ": " << what(r.error);
    }
  }
}

TEST(Sendmany, bad_input_fails_that_message_with_nothing_of_it_written) {
  auto s = greeted(true);
  auto m = mails(3);
  m[1].msg = std::string("bad\0byte", 8);
  algo::SendmanyAlgo a(s, m, 32);
  play(a, {writes(bdat_group(0, false) + bdat_group(2, true)), read(250, "ok"), read(250, "ok"),
           read(250, "got 0"), read(250, "reset"), read(250, "ok"), read(250, "ok"),
           read(250, "got 2"), idle()});
  EXPECT_TRUE(a.results()[0].ok());
  EXPECT_TRUE(is<std::invalid_argument>(a.results()[1].error));
  EXPECT_TRUE(a.results()[2].ok());
}

TEST(Sendmany, without_pipelining_each_message_waits_as_sendmail) {
  auto s = greeted(false, /*pipelining=*/false);
  const auto m = mails(2);
  algo::SendmanyAlgo a(s, m, 32);
  std::vector<test::Step> script;
  for (int i = 0; i < 2; ++i) {
    script.push_back(writes("mail FROM:<f@example.com>\r\n"));
    script.push_back(read(250, "ok"));
    script.push_back(writes("rcpt TO:<" + rcpt(i) + ">\r\n"));
    script.push_back(read(250, "ok"));
    script.push_back(writes("data\r\n"));
    script.push_back(read(354, "go"));
    script.push_back(writes(dot_body(i)));
    script.push_back(read(250, "queued"));
  }
  play(a, script);
  EXPECT_TRUE(a.results()[0].ok());
  EXPECT_TRUE(a.results()[1].ok());
  EXPECT_EQ(a.overlapped(), 0u);
}

TEST(Sendmany, depth_one_waits_for_each_outcome) {
  auto s = greeted(true);
  const auto m = mails(2);
  algo::SendmanyAlgo a(s, m, 1);
  play(a, {writes(bdat_group(0, false)), read(250, "ok"), read(250, "ok"), read(250, "got 0"),
           writes(bdat_group(1, false)), read(250, "ok"), read(250, "ok"), read(250, "got 1"),
           idle()});
  EXPECT_TRUE(a.results()[1].ok());
  EXPECT_EQ(a.overlapped(), 0u);
}

TEST(Sendmany, lmtp_replies_per_recipient_go_to_the_right_message) {
  auto s = greeted(false, true, /*lmtp=*/true);
  std::vector<OutgoingMail> m = {
      {"f@example.com", {"a@example.com", "b@example.com"}, body(0), nullptr, {}, {}}, mail(1)};
  algo::SendmanyAlgo a(s, m, 32);
  play(a, {writes("mail FROM:<f@example.com>\r\nrcpt TO:<a@example.com>\r\n"
                  "rcpt TO:<b@example.com>\r\ndata\r\n"),
           read(250, "ok"), read(250, "ok"), read(250, "ok"), read(354, "go"),
           writes(dot_body(0) + data_group(1, true)), read(250, "a delivered"),
           read(552, "b over quota"), read(250, "reset"), read(250, "ok"), read(250, "ok"),
           read(354, "go"), writes(dot_body(1)), read(250, "r1 delivered"), idle()});
  ASSERT_TRUE(a.results()[0].ok());
  ASSERT_EQ(a.results()[0].refused.size(), 1u);
  EXPECT_EQ(a.results()[0].refused.at("b@example.com").code, 552);
  ASSERT_EQ(a.results()[1].data_replies.size(), 1u);
  EXPECT_EQ(a.results()[1].data_replies[0].first, "r1@example.com");
}

TEST(Sendmany, a_helo_failure_fails_every_message) {
  SessionState s;
  s.local_hostname = "client.example";
  const auto m = mails(3);
  algo::SendmanyAlgo a(s, m, 32);
  play(a, {writes("ehlo client.example\r\n"), read(502, "no"), writes("helo client.example\r\n"),
           read(554, "go away")});
  for (const MailResult& r : a.results()) EXPECT_TRUE(is<SMTPHeloError>(r.error));
}

// The driver refuses bytes that arrive before a write unless the write says replies are due:
// only a write made while an earlier message waits for its reply may say so.
TEST(Sendmany, only_writes_behind_outstanding_replies_allow_waiting_bytes) {
  auto s = greeted(true);
  const auto m = mails(3);
  algo::SendmanyAlgo a(s, m, 2);
  const std::vector<Reply> replies = {{250, "ok"}, {250, "ok"}, {250, "got 0"}, {250, "reset"},
                                      {250, "ok"}, {250, "ok"}, {250, "got 1"}, {250, "reset"},
                                      {250, "ok"}, {250, "ok"}, {250, "got 2"}};
  std::vector<std::pair<std::string, bool>> writes_seen;
  algo::step_result r;
  std::size_t next_reply = 0;
  for (;;) {
    const algo::action act = a.resume(r);
    r = {};
    if (act.kind == algo::action_kind::done) break;
    if (act.kind == algo::action_kind::expect_idle) continue;
    if (act.kind == algo::action_kind::write) {
      writes_seen.emplace_back(std::string(act.bytes), act.replies_pending);
    } else {
      ASSERT_EQ(static_cast<int>(act.kind), static_cast<int>(algo::action_kind::read_reply));
      ASSERT_LT(next_reply, replies.size());
      r.reply = replies[next_reply++];
    }
  }
  ASSERT_EQ(writes_seen.size(), 2u);
  EXPECT_EQ(writes_seen[0].first, bdat_group(0, false) + bdat_group(1, true));
  EXPECT_FALSE(writes_seen[0].second);  // nothing was due before the first write
  EXPECT_EQ(writes_seen[1].first, bdat_group(2, true));
  EXPECT_TRUE(writes_seen[1].second);  // message 1's replies are due
  for (const MailResult& res : a.results()) EXPECT_TRUE(res.ok());
}

TEST(Sendmany, the_smtp_class_has_a_depth_setting) {
  SMTP c;
  EXPECT_EQ(c.pipeline_depth(), 32u);
  c.set_pipeline_depth(0);
  EXPECT_EQ(c.pipeline_depth(), 1u);
}

}  // namespace
}  // namespace smtp
