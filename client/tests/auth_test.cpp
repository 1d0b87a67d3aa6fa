// login() / auth() and starttls() through the sync driver over a scripted transport: what is
// written, what the caller gets, and what the debug trace shows (never a credential).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <smtp/sasl/base64.hpp>
#include <smtp/sasl/factory.hpp>
#include <smtp/smtp.hpp>

#include "fake_transport.hpp"

namespace smtp {
namespace {

using test::FakeServer;
using test::FakeTransport;

constexpr std::string_view password = "pencil-Secret9";

struct Session {
  std::shared_ptr<FakeServer> server = std::make_shared<FakeServer>();
  SMTP client{std::string(), 0, std::string("me.example")};
  std::vector<std::string> trace;

  explicit Session(std::vector<std::string> replies, int debuglevel = 1) {
    server->to_client.assign(replies.begin(), replies.end());
    client.set_debug_sink([this](std::string_view l) { trace.emplace_back(l); });
    client.set_debuglevel(debuglevel);
    client.connect(std::make_unique<FakeTransport>(server));
    // The fake transport has no peer address: allow what a loopback peer would be allowed.
    client.set_allow_cleartext_auth(true);
  }
  std::string all_trace() const {
    std::string s;
    for (const auto& l : trace) s += l + "\n";
    return s;
  }
  // Neither the password nor any base64 form that carries it may appear in the trace.
  void expect_no_secret() const {
    const std::string t = all_trace();
    EXPECT_EQ(t.find(password), std::string::npos) << t;
    EXPECT_EQ(t.find(sasl::base64_encode(password)), std::string::npos) << t;
    EXPECT_EQ(t.find(sasl::base64_encode(std::string("\0alice\0", 7) + std::string(password))),
              std::string::npos)
        << t;
  }
};

const std::string ehlo_auth(std::string_view mechs) {
  return "250-mx.example\r\n250-8BITMIME\r\n250 AUTH " + std::string(mechs) + "\r\n";
}

TEST(Auth, login_plain_sends_initial_response_and_redacts_it) {
  for (int level : {1, 2}) {
    Session s({"220 mx\r\n", ehlo_auth("PLAIN LOGIN"), "235 2.7.0 ok\r\n"}, level);
    const Reply r = s.client.login("alice", password);
    EXPECT_EQ(r.code, 235);
    EXPECT_TRUE(s.client.authenticated());
    const std::string ir = sasl::base64_encode(std::string("\0alice\0", 7) + std::string(password));
    EXPECT_THAT(s.server->written, testing::EndsWith("AUTH PLAIN " + ir + "\r\n"));
    EXPECT_THAT(s.all_trace(), testing::HasSubstr("send: 'AUTH PLAIN <redacted>\\r\\n'"));
    s.expect_no_secret();
  }
}

TEST(Auth, login_login_without_initial_response_redacts_each_answer) {
  for (int level : {1, 2}) {
    Session s({"220 mx\r\n", ehlo_auth("LOGIN"), "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n",
               "235 ok\r\n"},
              level);
    s.client.login("alice", password, /*initial_response_ok=*/false);
    EXPECT_THAT(s.server->written,
                testing::HasSubstr("AUTH LOGIN\r\n" + sasl::base64_encode("alice") + "\r\n" +
                                   sasl::base64_encode(password) + "\r\n"));
    EXPECT_EQ(std::count(s.trace.begin(), s.trace.end(),
                         level == 1 ? "send: '<redacted>\\r\\n'" : std::string()),
              level == 1 ? 2 : 0);
    s.expect_no_secret();
  }
}

TEST(Auth, cram_md5_preferred_over_plain_and_redacted) {
  Session s({"220 mx\r\n", ehlo_auth("PLAIN LOGIN CRAM-MD5"),
             "334 " + sasl::base64_encode("<1896.697170952@postoffice.example.net>") + "\r\n",
             "235 ok\r\n"});
  s.client.login("alice", password);
  EXPECT_THAT(s.server->written, testing::HasSubstr("AUTH CRAM-MD5\r\n"));
  EXPECT_EQ(s.server->written.find("AUTH PLAIN"), std::string::npos);
  s.expect_no_secret();
}

TEST(Auth, refusal_535_stops_without_trying_another_mechanism) {
  Session s({"220 mx\r\n", ehlo_auth("CRAM-MD5 PLAIN LOGIN"), "334 PDEyMzQ+\r\n",
             "535 5.7.8 bad credentials\r\n"});
  try {
    s.client.login("alice", password);
    FAIL() << "no exception";
  } catch (const SMTPAuthenticationError& e) {
    EXPECT_EQ(e.smtp_code, 535);
    EXPECT_EQ(e.smtp_error, "5.7.8 bad credentials");
  }
  EXPECT_EQ(s.server->written.find("AUTH PLAIN"), std::string::npos);
  EXPECT_EQ(s.server->written.find("AUTH LOGIN"), std::string::npos);
  EXPECT_FALSE(s.client.authenticated());
}

TEST(Auth, challenge_that_is_not_base64_is_cancelled_with_star) {
  Session s({"220 mx\r\n", ehlo_auth("LOGIN"), "334 not*base64!\r\n", "501 5.7.0 cancelled\r\n"});
  EXPECT_THROW(s.client.login("alice", password, false), SMTPAuthenticationError);
  EXPECT_THAT(s.server->written, testing::EndsWith("AUTH LOGIN\r\n*\r\n"));
}

TEST(Auth, server_that_keeps_challenging_is_cut_off) {
  std::vector<std::string> replies = {"220 mx\r\n", ehlo_auth("PLAIN")};
  for (int i = 0; i < 10; ++i) replies.push_back("334 \r\n");
  replies.push_back("501 cancelled\r\n");
  Session s(replies);
  s.client.ehlo();  // auth(), like smtplib's, does not say hello itself
  // A callback mechanism answers anything, so only the driver's step limit can stop the loop.
  int calls = 0;
  EXPECT_THROW(s.client.auth(
                   "X-ECHO",
                   [&](std::optional<std::string_view>) -> std::optional<std::string> {
                     ++calls;
                     return std::string("again");
                   },
                   false),
               SMTPAuthenticationError);
  EXPECT_LE(calls, sasl::mechanism::max_challenges);
  EXPECT_THAT(s.server->written, testing::EndsWith("*\r\n"));
}

TEST(Auth, reply_503_is_an_error_unless_already_authenticated) {
  Session s({"220 mx\r\n", ehlo_auth("PLAIN"), "503 5.5.1 bad sequence\r\n"});
  EXPECT_THROW(s.client.login("alice", password), SMTPAuthenticationError);

  Session t({"220 mx\r\n", ehlo_auth("PLAIN"), "235 ok\r\n", "503 already authenticated\r\n"});
  t.client.login("alice", password);
  EXPECT_EQ(t.client.login("alice", password).code, 503);
}

TEST(Auth, no_suitable_mechanism_and_no_auth_extension) {
  Session s({"220 mx\r\n", ehlo_auth("GSSAPI NTLM")});
  try {
    s.client.login("alice", password);
    FAIL();
  } catch (const SMTPException& e) {
    EXPECT_STREQ(e.what(), "No suitable authentication method found.");
  }
  Session t({"220 mx\r\n", "250 mx.example\r\n"});
  EXPECT_THROW(t.client.login("alice", password), SMTPNotSupportedError);
}

TEST(Auth, secret_mechanisms_refused_in_cleartext_to_a_non_loopback_peer) {
  Session s({"220 mx\r\n", ehlo_auth("PLAIN LOGIN")});
  s.client.set_allow_cleartext_auth(false);  // the fake peer is not known to be loopback
  EXPECT_THROW(s.client.login("alice", password), SMTPException);
  EXPECT_EQ(s.server->written.find("AUTH"), std::string::npos) << s.server->written;
}

TEST(Auth, require_tls_refuses_sendmail_and_login_in_plaintext) {
  Session s({"220 mx\r\n", ehlo_auth("PLAIN")});
  s.client.set_require_tls(true);
  EXPECT_THROW(s.client.sendmail("a@b.example", {"c@d.example"}, "x\r\n"), SMTPNotSupportedError);
  EXPECT_THROW(s.client.login("alice", password), SMTPNotSupportedError);
  EXPECT_EQ(s.server->written.find("mail"), std::string::npos);
  EXPECT_EQ(s.server->written.find("AUTH"), std::string::npos);
}

// Every call that can send MAIL, a message or AUTH refuses a connection in clear when TLS is
// required, and writes nothing.
TEST(Auth, require_tls_refuses_every_submission_path_in_plaintext) {
  Session s({"220 mx\r\n", ehlo_auth("PLAIN")});
  s.client.set_require_tls(true);
  s.client.ehlo();
  const std::size_t before = s.server->written.size();
  const std::vector<std::string> to = {"c@d.example"};
  EXPECT_THROW(s.client.mail("a@b.example"), SMTPNotSupportedError);
  EXPECT_THROW(s.client.data("x\r\n"), SMTPNotSupportedError);
  StringBody body("x\r\n");
  EXPECT_THROW(s.client.data(body), SMTPNotSupportedError);
  EXPECT_THROW(s.client.sendmail("a@b.example", to, body), SMTPNotSupportedError);
  EXPECT_THROW(s.client.send_message("From: a@b.example\r\nTo: c@d.example\r\n\r\nx\r\n"),
               SMTPNotSupportedError);
  const std::vector<OutgoingMail> mails = {{"a@b.example", to, "x\r\n", nullptr, {}, {}}};
  EXPECT_THROW(s.client.sendmail_many(mails), SMTPNotSupportedError);
  EXPECT_THROW(s.client.login("alice", password), SMTPNotSupportedError);
  EXPECT_EQ(s.server->written.substr(before), "") << "written in clear: " << s.server->written;
}

TEST(Auth, auth_line_sent_through_docmd_is_redacted_in_the_trace) {
  Session s({"220 mx\r\n", "235 ok\r\n"}, 2);
  const std::string ir = sasl::base64_encode(std::string("\0alice\0", 7) + std::string(password));
  s.client.docmd("AUTH PLAIN " + ir);
  EXPECT_THAT(s.server->written, testing::EndsWith("AUTH PLAIN " + ir + "\r\n"));
  EXPECT_THAT(s.all_trace(), testing::HasSubstr("AUTH PLAIN <redacted>"));
  s.expect_no_secret();
}

// RFC 7677's example (user "user", password "pencil") through the client's AUTH algorithm.
constexpr std::string_view scram_server_first =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

std::unique_ptr<sasl::mechanism> rfc7677_scram() {
  return sasl::make_mechanism("SCRAM-SHA-256", {"user", std::string("pencil"), std::nullopt, ""},
                              "rOprNGfwEbeRWgbNEkqO");
}

TEST(Auth, scram_sha_256_verifies_the_server_signature) {
  Session s(
      {"220 mx\r\n", ehlo_auth("SCRAM-SHA-256"),
       "334 " + sasl::base64_encode(scram_server_first) + "\r\n",
       "334 " + sasl::base64_encode("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=") + "\r\n",
       "235 2.7.0 ok\r\n"});
  s.client.ehlo();
  auto mech = rfc7677_scram();
  EXPECT_EQ(s.client.auth(*mech).code, 235);
  EXPECT_THAT(s.server->written,
              testing::HasSubstr("AUTH SCRAM-SHA-256 " +
                                 sasl::base64_encode("n,,n=user,r=rOprNGfwEbeRWgbNEkqO") + "\r\n"));
  EXPECT_THAT(s.server->written, testing::EndsWith("\r\n\r\n"));  // empty answer to v=
  EXPECT_EQ(s.all_trace().find("pencil"), std::string::npos);
}

TEST(Auth, scram_sha_256_forged_server_signature_is_cancelled) {
  Session s(
      {"220 mx\r\n", ehlo_auth("SCRAM-SHA-256"),
       "334 " + sasl::base64_encode(scram_server_first) + "\r\n",
       "334 " + sasl::base64_encode("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=") + "\r\n",
       "501 cancelled\r\n"});
  s.client.ehlo();
  auto mech = rfc7677_scram();
  EXPECT_THROW(s.client.auth(*mech), SMTPAuthenticationError);
  EXPECT_THAT(s.server->written, testing::EndsWith("*\r\n"));
  EXPECT_FALSE(s.client.authenticated());
}

TEST(Auth, scram_sha_256_235_without_server_signature_is_a_failure) {
  Session s({"220 mx\r\n", ehlo_auth("SCRAM-SHA-256"),
             "334 " + sasl::base64_encode(scram_server_first) + "\r\n", "235 2.7.0 ok\r\n"});
  s.client.ehlo();
  auto mech = rfc7677_scram();
  EXPECT_THROW(s.client.auth(*mech), SMTPAuthenticationError);
  EXPECT_FALSE(s.client.authenticated());
}

TEST(StartTls, not_advertised_raises_not_supported) {
  Session s({"220 mx\r\n", "250-mx.example\r\n250 8BITMIME\r\n"});
  EXPECT_THROW(s.client.starttls(), SMTPNotSupportedError);
  EXPECT_EQ(s.server->written.find("STARTTLS"), std::string::npos);
}

TEST(StartTls, refused_raises_response_exception) {
  Session s({"220 mx\r\n", "250-mx.example\r\n250 STARTTLS\r\n", "454 4.7.0 no TLS now\r\n"});
  try {
    s.client.starttls();
    FAIL();
  } catch (const SMTPResponseException& e) {
    EXPECT_EQ(e.smtp_code, 454);
  }
}

TEST(StartTls, rejects_bytes_after_starttls_220) {
  // NO STARTTLS: a reply injected in plaintext after the 220 must never be read inside TLS.
  Session s(
      {"220 mx\r\n", "250-mx.example\r\n250 STARTTLS\r\n", "220 go ahead\r\n250 injected\r\n"});
  EXPECT_THROW(s.client.starttls(), SMTPProtocolError);
  EXPECT_FALSE(s.client.connected());
  EXPECT_TRUE(s.server->closed);
}

TEST(StartTls, rejects_bytes_arriving_before_the_handshake) {
  Session s({"220 mx\r\n", "250-mx.example\r\n250 STARTTLS\r\n", "220 go ahead\r\n"});
  // available() reports these once the 220 has been read, before any handshake byte.
  s.client.ehlo();
  auto* srv = s.server.get();
  // The late bytes become pending right after the 220 reply is parsed, before the handshake.
  s.client.set_debug_sink([srv](std::string_view l) {
    if (l.find("retcode (220)") != std::string_view::npos) srv->unsolicited = "250 late\r\n";
  });
  EXPECT_THROW(s.client.starttls(), SMTPProtocolError);
  EXPECT_FALSE(s.client.connected());
}

}  // namespace
}  // namespace smtp
