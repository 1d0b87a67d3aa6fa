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
#include <smtp/smtp.hpp>

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

}  // namespace
}  // namespace smtp
