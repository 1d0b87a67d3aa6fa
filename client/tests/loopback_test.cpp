// The sync SMTP/LMTP classes over real sockets against a tiny scripted server thread in the test
// (port 0 / a temporary Unix socket path; no fixed ports, no sleeps to wait for readiness).
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <smtp/smtp.hpp>
#include <thread>

#include "loopback_server.hpp"

namespace smtp {
namespace {

using namespace test;
using namespace std::chrono_literals;

TEST(Loopback, sendmail_over_tcp_with_host_port_string) {
  std::vector<std::string> seen;
  std::string body;
  TcpServer server(any_loopback(), [&](tcp::socket& s) {
    std::string buf;
    send(s, "220 loop ESMTP\r\n");
    seen.push_back(read_line(s, buf));
    send(s, "250-loop\r\n250 SIZE 1000\r\n");
    seen.push_back(read_line(s, buf));
    send(s, "250 ok\r\n");
    seen.push_back(read_line(s, buf));
    send(s, "250 ok\r\n");
    seen.push_back(read_line(s, buf));
    send(s, "550 5.1.1 no such user\r\n");
    seen.push_back(read_line(s, buf));
    send(s, "354 go\r\n");
    body = read_until_dot(s, buf);
    send(s, "250 2.0.0 queued\r\n");
    seen.push_back(read_line(s, buf));
    send(s, "221 bye\r\n");
  });
  SMTP c("127.0.0.1:" + std::to_string(server.endpoint().port()), 0, std::string("me.example"),
         std::chrono::duration<double>(5));
  const auto refused = c.sendmail("a@example.com", {"b@example.com", "c@example.com"}, "hi\n.\n");
  EXPECT_EQ(c.quit().code, 221);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused.at("c@example.com").code, 550);
  const std::vector<std::string> expected = {"ehlo me.example\r\n",
                                             "mail FROM:<a@example.com> size=7\r\n",
                                             "rcpt TO:<b@example.com>\r\n",
                                             "rcpt TO:<c@example.com>\r\n",
                                             "data\r\n",
                                             "quit\r\n"};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(body, "hi\r\n..\r\n");
}

TEST(Loopback, greeting_other_than_220_raises_connect_error) {
  TcpServer server(any_loopback(), [](tcp::socket& s) { send(s, "554 go away\r\n"); });
  try {
    SMTP c("127.0.0.1", server.endpoint().port(), std::string("me.example"));
    FAIL();
  } catch (const SMTPConnectError& e) {
    EXPECT_EQ(e.smtp_code, 554);
    EXPECT_EQ(e.smtp_error, "go away");
  }
}

TEST(Loopback, refused_connection_raises_connect_error) {
  unsigned short port = 0;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, any_loopback());
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  SMTP c(std::string(), 0, std::string("me.example"), std::chrono::duration<double>(5));
  try {
    c.connect("127.0.0.1", port);
    FAIL();
  } catch (const SMTPConnectError& e) {
    EXPECT_EQ(e.smtp_code, -1);
  }
}

TEST(Loopback, ipv6_loopback) {
  boost::system::error_code ec;
  asio::io_context probe;
  tcp::acceptor test_v6(probe);
  test_v6.open(tcp::v6(), ec);
  if (!ec) test_v6.bind({asio::ip::make_address("::1"), 0}, ec);
  if (ec) GTEST_SKIP() << "no IPv6 loopback on this machine: " << ec.message();
  test_v6.close();
  TcpServer server({asio::ip::make_address("::1"), 0}, [](tcp::socket& s) {
    std::string buf;
    send(s, "220 v6\r\n");
    read_line(s, buf);
    send(s, "250 ok\r\n");
  });
  SMTP c("[::1]:" + std::to_string(server.endpoint().port()), 0, std::string("me.example"),
         std::chrono::duration<double>(5));
  EXPECT_EQ(c.noop().code, 250);
}

TEST(Loopback, timeout_is_a_deadline_per_reply_not_per_byte) {
  // The server drips its reply a byte every 100 ms (1.1 s in all); with a 0.5 s timeout the
  // client must give up at about 0.5 s, not wait for the whole reply.
  std::atomic<bool> stop{false};
  TcpServer server(any_loopback(), [&](tcp::socket& s) {
    std::string buf;
    send(s, "220 slow\r\n");
    read_line(s, buf);
    for (char c : std::string("250 dripping\r\n")) {
      if (stop) break;
      boost::system::error_code ec;
      asio::write(s, asio::buffer(&c, 1), ec);
      if (ec) break;
      std::this_thread::sleep_for(100ms);
    }
  });
  SMTP c("127.0.0.1", server.endpoint().port(), std::string("me.example"),
         std::chrono::duration<double>(0.5));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(c.noop(), SMTPTimeoutError);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  stop = true;
  EXPECT_GE(elapsed, 450ms);
  EXPECT_LT(elapsed, 1000ms);
  EXPECT_FALSE(c.connected());
}

TEST(Loopback, server_closing_during_data_is_a_disconnect_and_no_sigpipe) {
  // 8 MiB of body against a server that closes right after 354: the write fails with EPIPE or
  // ECONNRESET. Without MSG_NOSIGNAL this test process would die of SIGPIPE.
  TcpServer server(any_loopback(), [](tcp::socket& s) {
    std::string buf;
    send(s, "220 x\r\n");
    read_line(s, buf);
    send(s, "250 x\r\n");
    read_line(s, buf);
    send(s, "250 ok\r\n");
    read_line(s, buf);
    send(s, "250 ok\r\n");
    read_line(s, buf);
    send(s, "354 go\r\n");
    boost::system::error_code ec;
    s.close(ec);
  });
  SMTP c("127.0.0.1", server.endpoint().port(), std::string("me.example"),
         std::chrono::duration<double>(10));
  const std::string big(8 << 20, 'x');
  EXPECT_THROW(c.sendmail("a@example.com", {"b@example.com"}, big), SMTPServerDisconnected);
  EXPECT_FALSE(c.connected());
}

TEST(Loopback, lmtp_over_unix_socket) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("smtpkit-lmtp-" + std::to_string(::getpid()) + ".sock"))
                               .string();
  std::filesystem::remove(path);
  std::vector<std::string> seen;
  {
    OneShotServer<asio::local::stream_protocol> server(
        asio::local::stream_protocol::endpoint(path), [&](auto& s) {
          std::string buf;
          send(s, "220 lmtp ready\r\n");
          seen.push_back(read_line(s, buf));
          send(s, "250-lmtp\r\n250 ENHANCEDSTATUSCODES\r\n");
          for (int i = 0; i < 4; ++i) {  // MAIL, 3 x RCPT
            seen.push_back(read_line(s, buf));
            send(s, i == 2 ? "550 5.1.1 unknown\r\n" : "250 ok\r\n");
          }
          seen.push_back(read_line(s, buf));  // DATA
          send(s, "354 go\r\n");
          read_until_dot(s, buf);
          send(s, "250 2.0.0 a delivered\r\n452 4.2.2 c over quota\r\n");
          seen.push_back(read_line(s, buf));
          send(s, "221 bye\r\n");
        });
    LMTP c(path, 0, std::string("me.example"), std::chrono::duration<double>(5));
    const auto refused =
        c.sendmail("f@example.com", {"a@example.com", "b@example.com", "c@example.com"}, "x");
    EXPECT_EQ(c.quit().code, 221);
    ASSERT_EQ(refused.size(), 2u);
    EXPECT_EQ(refused.at("b@example.com").code, 550);
    EXPECT_EQ(refused.at("c@example.com"), (Reply{452, "4.2.2 c over quota"}));
  }
  std::filesystem::remove(path);
  ASSERT_EQ(seen.size(), 7u);
  EXPECT_EQ(seen[0], "lhlo me.example\r\n");
  EXPECT_EQ(seen[6], "quit\r\n");
}

}  // namespace
}  // namespace smtp
