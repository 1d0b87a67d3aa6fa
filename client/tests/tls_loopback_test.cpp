// Real TLS handshakes on loopback against a scripted server thread, with certificates made at
// test time: verification passes and fails where it should, for SMTP_SSL, starttls() and the
// async driver; the trace never shows the password.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl.hpp>
#include <smtp/algo/command.hpp>
#include <smtp/algo/hello.hpp>
#include <smtp/algo/starttls.hpp>
#include <smtp/async_driver.hpp>
#include <smtp/async_tls_stream.hpp>
#include <smtp/async_client.hpp>
#include <smtp/smtp.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "loopback_server.hpp"
#include "tls_server.hpp"

namespace smtp {
namespace {

using namespace test;
namespace ssl = boost::asio::ssl;
constexpr std::string_view password = "hunter2-Secret";
TEST(TlsLoopback, smtp_ssl_verifies_good_certificate) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(), tls_server(certs().good, /*implicit=*/true, seen));
  SMTP_SSL client(std::string(), 0, std::string("me.example"), std::nullopt, std::nullopt,
                  std::chrono::duration<double>(5), trusting_test_ca());
  const Reply greeting = client.connect("127.0.0.1", server.endpoint().port());
  EXPECT_EQ(greeting.code, 220);
  EXPECT_TRUE(client.encrypted());
  EXPECT_EQ(client.noop().code, 250);
  client.quit();
}

TEST(TlsLoopback, starttls_forgets_ehlo_and_login_is_redacted) {
  for (int level : {1, 2}) {
    std::vector<std::string> seen;
    TcpServer server(any_loopback(), tls_server(certs().good, /*implicit=*/false, seen));
    SMTP client(std::string(), 0, std::string("me.example"), std::chrono::duration<double>(5));
    std::vector<std::string> trace;
    client.set_debug_sink([&](std::string_view l) { trace.emplace_back(l); });
    client.set_debuglevel(level);
    client.connect("127.0.0.1", server.endpoint().port());
    EXPECT_EQ(client.starttls(trusting_test_ca()).code, 220);
    EXPECT_TRUE(client.encrypted());
    EXPECT_FALSE(client.ehlo_resp());
    EXPECT_FALSE(client.does_esmtp());
    EXPECT_TRUE(client.esmtp_features().empty());
    EXPECT_EQ(client.login("alice", password).code, 235);  // sends EHLO again first
    client.quit();
    ASSERT_GE(seen.size(), 4u);
    EXPECT_EQ(seen[2], "ehlo me.example\r\n");
    EXPECT_THAT(seen[3], testing::StartsWith("AUTH PLAIN "));
    for (const auto& l : trace) EXPECT_EQ(l.find(password), std::string::npos) << l;
    EXPECT_THAT(trace, testing::Contains(testing::HasSubstr("AUTH PLAIN <redacted>")));
  }
}

class TlsLoopbackBadCert : public testing::TestWithParam<int> {};

TEST_P(TlsLoopbackBadCert, starttls_refuses_it) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(), tls_server(bad_cert(GetParam()), /*implicit=*/false, seen));
  SMTP client(std::string(), 0, std::string("me.example"), std::chrono::duration<double>(5));
  client.connect("127.0.0.1", server.endpoint().port());
  EXPECT_THROW(client.starttls(trusting_test_ca()), SSLCertVerificationError);
  EXPECT_FALSE(client.connected());
}

TEST_P(TlsLoopbackBadCert, smtp_ssl_refuses_it) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(), tls_server(bad_cert(GetParam()), /*implicit=*/true, seen));
  SMTP_SSL client(std::string(), 0, std::string("me.example"), std::nullopt, std::nullopt,
                  std::chrono::duration<double>(5), trusting_test_ca());
  EXPECT_THROW(client.connect("localhost", server.endpoint().port()), SSLCertVerificationError);
  EXPECT_TRUE(seen.empty());
}

TEST_P(TlsLoopbackBadCert, insecure_skip_verify_accepts_it) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(), tls_server(bad_cert(GetParam()), /*implicit=*/true, seen));
  TlsContext insecure;
  insecure.insecure_skip_verify = true;
  SMTP_SSL client(std::string(), 0, std::string("me.example"), std::nullopt, std::nullopt,
                  std::chrono::duration<double>(5), insecure);
  EXPECT_EQ(client.connect("127.0.0.1", server.endpoint().port()).code, 220);
  client.quit();
}

INSTANTIATE_TEST_SUITE_P(WrongNameExpiredSelfSigned, TlsLoopbackBadCert, testing::Values(0, 1, 2));

TEST(TlsLoopback, system_store_does_not_trust_a_throwaway_ca) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(), tls_server(certs().good, /*implicit=*/true, seen));
  SMTP_SSL client(std::string(), 0, std::string("me.example"), std::nullopt, std::nullopt,
                  std::chrono::duration<double>(5));
  EXPECT_THROW(client.connect("127.0.0.1", server.endpoint().port()), SSLCertVerificationError);
}

TEST(TlsLoopback, name_override_checks_the_given_name_not_the_connected_one) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(), tls_server(certs().wrong_name, /*implicit=*/true, seen));
  TlsContext t = trusting_test_ca();
  t.server_hostname = "mail.example.org";
  SMTP_SSL client(std::string(), 0, std::string("me.example"), std::nullopt, std::nullopt,
                  std::chrono::duration<double>(5), t);
  EXPECT_EQ(client.connect("127.0.0.1", server.endpoint().port()).code, 220);
  client.quit();
}

TEST(TlsLoopback, async_driver_runs_starttls_over_async_tls_stream) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(), tls_server(certs().good, /*implicit=*/false, seen));
  asio::io_context ioc;
  SessionState session;
  session.local_hostname = "me.example";
  std::exception_ptr failure;
  bool encrypted = false;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        tcp::socket socket(ioc);
        co_await socket.async_connect(server.endpoint(), asio::use_awaitable);
        AsyncDriver<AsyncTlsStream> driver(
            AsyncTlsStream(std::move(socket), trusting_test_ca(), "127.0.0.1"),
            std::chrono::duration<double>(5));
        algo::ReadReplyAlgo greeting;
        co_await driver.run(greeting);
        algo::StartTlsAlgo starttls(session);
        co_await driver.run(starttls);
        encrypted = driver.stream().encrypted();
        algo::EhloOrHeloAlgo hello(session);
        co_await driver.run(hello);
        algo::CommandAlgo quit("quit\r\n");
        co_await driver.run(quit);
      },
      [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  EXPECT_TRUE(encrypted);
  EXPECT_EQ(session.ehlo_resp, std::optional<std::string>("tls.test\nAUTH PLAIN LOGIN"));
  EXPECT_TRUE(has_feature(session.esmtp_features, "auth"));
  ASSERT_GE(seen.size(), 3u);
  EXPECT_EQ(seen[2], "ehlo me.example\r\n");  // the first command inside TLS
}

// A server that answers DATA with 354 and a premature 250 as two TLS records in one TCP segment
// (TCP_CORK holds both), then 554 after the dot if the client sends the message anyway. The
// client reads the 354 record; the 250 record sits undecrypted in its buffers. Believing it would
// report a refused message delivered.
std::function<void(tcp::socket&)> premature_reply_in_second_record(bool implicit,
                                                                   std::vector<std::string>& seen) {
  return [implicit, &seen](tcp::socket& s) {
    std::string buf;
    if (!implicit) plaintext_until_starttls(s, seen);
    ssl::context ctx = server_context(certs().good);
    ssl::stream<tcp::socket&> tls(s, ctx);
    boost::system::error_code ec;
    tls.handshake(ssl::stream_base::server, ec);
    if (ec) return;
    if (implicit) send(tls, "220 implicit\r\n");
    for (;;) {
      const std::string line = read_line(tls, buf);
      if (line.empty()) return;
      seen.push_back(line);
      if (line.starts_with("ehlo")) {
        send(tls, "250 tls.test\r\n");
      } else if (line.starts_with("data")) {
        int on = 1;
        setsockopt(s.native_handle(), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
        send(tls, "354 go\r\n");
        send(tls, "250 premature\r\n");
        int off = 0;
        setsockopt(s.native_handle(), IPPROTO_TCP, TCP_CORK, &off, sizeof off);
        // Empty when the client closed instead of sending the message.
        if (read_until_dot(tls, buf).empty()) return;
        seen.push_back("<message>");
        send(tls, "554 rejected\r\n");
      } else if (line.starts_with("quit")) {
        send(tls, "221 bye\r\n");
        return;
      } else {
        send(tls, "250 ok\r\n");
      }
    }
  };
}

void expect_premature_reply_refused(const std::vector<std::string>& seen,
                                    const std::exception_ptr& error) {
  ASSERT_TRUE(error) << "sendmail returned: the premature 250 was taken as the reply to the dot";
  try {
    std::rethrow_exception(error);
  } catch (const SMTPProtocolError& e) {
    EXPECT_THAT(e.what(), testing::HasSubstr("no command outstanding")) << e.what();
    EXPECT_THAT(e.what(), testing::HasSubstr("250 premature")) << e.what();
  }
  // Caught before the body: nothing of the message went out.
  EXPECT_THAT(seen, testing::Not(testing::Contains("<message>")));
}

TEST(TlsRecords, sync_client_sees_a_reply_in_an_undecrypted_record_before_the_body) {
  for (const bool implicit : {true, false}) {
    std::vector<std::string> seen;
    TcpServer server(any_loopback(), premature_reply_in_second_record(implicit, seen));
    std::exception_ptr error;
    {
      std::unique_ptr<SMTP> client;
      if (implicit) {
        client = std::make_unique<SMTP_SSL>(std::string(), 0, std::string("me.example"),
                                            std::nullopt, std::nullopt,
                                            std::chrono::duration<double>(5), trusting_test_ca());
      } else {
        client = std::make_unique<SMTP>(std::string(), 0, std::string("me.example"),
                                        std::chrono::duration<double>(5));
      }
      client->set_pipelining(false);
      client->connect("127.0.0.1", server.endpoint().port());
      if (!implicit) client->starttls(trusting_test_ca());
      try {
        client->sendmail("a@example.org", {"b@example.org"}, "Subject: x\r\n\r\nbody\r\n");
      } catch (...) {
        error = std::current_exception();
      }
    }
    expect_premature_reply_refused(seen, error);
  }
}

TEST(TlsRecords, async_client_sees_a_reply_in_an_undecrypted_record_before_the_body) {
  for (const bool implicit : {true, false}) {
    std::vector<std::string> seen;
    TcpServer server(any_loopback(), premature_reply_in_second_record(implicit, seen));
    asio::io_context ioc;
    std::exception_ptr error;
    std::exception_ptr failure;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          std::unique_ptr<AsyncSMTP> client;
          if (implicit) {
            client = std::make_unique<AsyncSMTP_SSL>(ioc.get_executor(), std::string("me.example"),
                                                     std::nullopt, std::nullopt,
                                                     std::chrono::duration<double>(5),
                                                     trusting_test_ca());
          } else {
            client = std::make_unique<AsyncSMTP>(ioc.get_executor(), std::string("me.example"),
                                                 std::chrono::duration<double>(5));
          }
          client->set_pipelining(false);
          co_await client->connect("127.0.0.1", server.endpoint().port());
          if (!implicit) co_await client->starttls(trusting_test_ca());
          // GCC 12 rejects a braced list as an argument inside a coroutine: a named vector.
          std::vector<std::string> to;
          to.emplace_back("b@example.org");
          try {
            co_await client->sendmail("a@example.org", std::move(to),
                                      "Subject: x\r\n\r\nbody\r\n");
          } catch (...) {
            error = std::current_exception();
          }
          client->close();
        },
        [&](std::exception_ptr e) { failure = e; });
    ioc.run();
    if (failure) std::rethrow_exception(failure);
    expect_premature_reply_refused(seen, error);
  }
}

}  // namespace
}  // namespace smtp
