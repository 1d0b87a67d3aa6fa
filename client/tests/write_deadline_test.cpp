// A server that stops reading in the middle of a message: the client's writes fill the socket
// buffers and block. The timeout must bound each write too (not only each reply), in the sync and
// the async driver, in clear and inside TLS; the message's end was never written, so the outcome
// is a plain timeout, not "may or may not have been delivered".
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <smtp/async_client.hpp>
#include <smtp/smtp.hpp>
#include <thread>

#include "loopback_server.hpp"
#include "tls_server.hpp"

namespace smtp {
namespace {

using namespace test;
using Seconds = std::chrono::duration<double>;

// Large enough to fill the client's send buffer and the server's receive buffer on loopback.
const std::string& big_message() {
  static const std::string m = [] {
    std::string line(998, 'x');
    line += "\r\n";
    std::string out = "Subject: big\r\n\r\n";
    while (out.size() < 48u * 1024 * 1024) out += line;
    return out;
  }();
  return m;
}

// Greets, accepts MAIL, RCPT and DATA, then reads nothing more until the client gives up (the
// connection closes) or 20 s pass.
template <class Stream>
void accept_then_stop_reading(Stream& s, std::atomic<bool>& client_gone) {
  std::string buf;
  send(s, "220 mx\r\n");
  for (const char* reply : {"250 mx\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n"}) {
    if (read_line(s, buf).empty()) return;
    send(s, reply);
  }
  for (int i = 0; i < 200 && !client_gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::function<void(tcp::socket&)> stalling_server(bool tls, std::atomic<bool>& gone) {
  return [tls, &gone](tcp::socket& s) {
    if (!tls) {
      accept_then_stop_reading(s, gone);
      return;
    }
    ssl::context ctx = server_context(certs().good);
    ssl::stream<tcp::socket&> stream(s, ctx);
    boost::system::error_code ec;
    stream.handshake(ssl::stream_base::server, ec);
    if (!ec) accept_then_stop_reading(stream, gone);
  };
}

void expect_write_timeout(const std::exception_ptr& e, Seconds took) {
  ASSERT_TRUE(e) << "sendmail returned although the server never read the message";
  try {
    std::rethrow_exception(e);
  } catch (const SMTPTimeoutError& t) {
    EXPECT_FALSE(t.delivery_unknown()) << "the end of the message was never written: " << t.what();
  } catch (const std::exception& other) {
    ADD_FAILURE() << "expected SMTPTimeoutError, got " << other.what();
  }
  // One write's deadline (0.5 s) plus scheduling; without a write deadline it would hang.
  EXPECT_LT(took.count(), 5.0);
}

class WriteDeadline : public ::testing::TestWithParam<bool> {};  // true: TLS

TEST_P(WriteDeadline, sync_client_times_out_writing_to_a_server_that_stopped_reading) {
  const bool tls = GetParam();
  std::atomic<bool> gone{false};
  TcpServer server(any_loopback(), stalling_server(tls, gone));
  std::unique_ptr<SMTP> client;
  if (tls) {
    client = std::make_unique<SMTP_SSL>(std::string(), 0, std::string("me.example"), std::nullopt,
                                        std::nullopt, Seconds(0.5), trusting_test_ca());
  } else {
    client = std::make_unique<SMTP>(std::string(), 0, std::string("me.example"), Seconds(0.5));
  }
  client->set_pipelining(false);
  client->connect("127.0.0.1", server.endpoint().port());
  const auto start = std::chrono::steady_clock::now();
  std::exception_ptr error;
  try {
    client->sendmail("a@example.org", {"b@example.org"}, big_message());
  } catch (...) {
    error = std::current_exception();
  }
  const Seconds took = std::chrono::steady_clock::now() - start;
  gone = true;
  expect_write_timeout(error, took);
}

TEST_P(WriteDeadline, async_client_times_out_writing_to_a_server_that_stopped_reading) {
  const bool tls = GetParam();
  std::atomic<bool> gone{false};
  TcpServer server(any_loopback(), stalling_server(tls, gone));
  asio::io_context ioc;
  std::exception_ptr error;
  std::exception_ptr failure;
  Seconds took{};
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        std::unique_ptr<AsyncSMTP> client;
        if (tls) {
          client = std::make_unique<AsyncSMTP_SSL>(ioc.get_executor(), std::string("me.example"),
                                                   std::nullopt, std::nullopt, Seconds(0.5),
                                                   trusting_test_ca());
        } else {
          client = std::make_unique<AsyncSMTP>(ioc.get_executor(), std::string("me.example"),
                                               Seconds(0.5));
        }
        client->set_pipelining(false);
        co_await client->connect("127.0.0.1", server.endpoint().port());
        std::vector<std::string> to;
        to.emplace_back("b@example.org");
        const auto start = std::chrono::steady_clock::now();
        try {
          co_await client->sendmail("a@example.org", std::move(to), big_message());
        } catch (...) {
          error = std::current_exception();
        }
        took = std::chrono::steady_clock::now() - start;
        client->close();
      },
      [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  gone = true;
  if (failure) std::rethrow_exception(failure);
  expect_write_timeout(error, took);
}

INSTANTIATE_TEST_SUITE_P(ClearAndTls, WriteDeadline, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "tls" : "clear"; });

}  // namespace
}  // namespace smtp
