// The async (C++20 coroutine) driver runs the very algorithms the sync driver runs, over a real
// socket: same transcript, same outcomes, same per-reply deadline.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <smtp/algo/command.hpp>
#include <smtp/algo/sendmail.hpp>
#include <smtp/async_driver.hpp>

#include "loopback_server.hpp"

namespace smtp {
namespace {

using namespace test;
using namespace std::chrono_literals;

// Runs `body` as a coroutine to completion on a fresh io_context; rethrows what it threw.
template <class Body>
void run_coroutine(asio::io_context& ioc, Body body) {
  std::exception_ptr failure;
  asio::co_spawn(ioc, std::move(body), [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
}

TEST(AsyncDriver, runs_the_sendmail_algorithm_over_tcp) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(), [&](tcp::socket& s) {
    std::string buf;
    send(s, "220 async\r\n");
    seen.push_back(read_line(s, buf));
    send(s, "250-async\r\n250 SIZE 100\r\n");
    seen.push_back(read_line(s, buf));
    send(s, "250 ok\r\n");
    seen.push_back(read_line(s, buf));
    send(s, "250 ok\r\n");
    seen.push_back(read_line(s, buf));
    send(s, "451 later\r\n");
    seen.push_back(read_line(s, buf));
    send(s, "354 go\r\n");
    read_until_dot(s, buf);
    send(s, "250 queued\r\n");
  });
  asio::io_context ioc;
  SessionState session;
  session.local_hostname = "me.example";
  RefusedRecipients refused;
  Reply greeting;
  run_coroutine(ioc, [&]() -> asio::awaitable<void> {
    tcp::socket socket(ioc);
    co_await socket.async_connect(server.endpoint(), asio::use_awaitable);
    AsyncDriver<tcp::socket> driver(std::move(socket), std::chrono::duration<double>(5));
    algo::ReadReplyAlgo hello;
    co_await driver.run(hello);
    greeting = hello.reply();
    algo::SendmailAlgo tx(session, "a@example.com", {"b@example.com", "c@example.com"}, "x\n", {},
                          {});
    co_await driver.run(tx);
    refused = tx.refused();
  });
  EXPECT_EQ(greeting, (Reply{220, "async"}));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused.at("c@example.com"), (Reply{451, "later"}));
  const std::vector<std::string> expected = {
      "ehlo me.example\r\n", "mail FROM:<a@example.com> size=3\r\n", "rcpt TO:<b@example.com>\r\n",
      "rcpt TO:<c@example.com>\r\n", "data\r\n"};
  EXPECT_EQ(seen, expected);
  EXPECT_TRUE(session.does_esmtp);
}

TEST(AsyncDriver, sender_refused_is_raised_from_the_coroutine) {
  TcpServer server(any_loopback(), [&](tcp::socket& s) {
    std::string buf;
    send(s, "220 x\r\n");
    read_line(s, buf);
    send(s, "250 x\r\n");
    read_line(s, buf);
    send(s, "553 5.7.1 no\r\n");
    read_line(s, buf);  // RSET
    send(s, "250 ok\r\n");
  });
  asio::io_context ioc;
  SessionState session;
  session.local_hostname = "me.example";
  EXPECT_THROW(run_coroutine(ioc,
                             [&]() -> asio::awaitable<void> {
                               tcp::socket socket(ioc);
                               co_await socket.async_connect(server.endpoint(),
                                                             asio::use_awaitable);
                               AsyncDriver<tcp::socket> driver(std::move(socket));
                               algo::ReadReplyAlgo hello;
                               co_await driver.run(hello);
                               algo::SendmailAlgo tx(session, "a@example.com", {"b@example.com"},
                                                     "x", {}, {});
                               co_await driver.run(tx);
                             }),
               SMTPSenderRefused);
}

TEST(AsyncDriver, deadline_per_reply_against_a_dripping_server) {
  std::atomic<bool> stop{false};
  TcpServer server(any_loopback(), [&](tcp::socket& s) {
    for (char c : std::string("220 dripping greeting\r\n")) {
      if (stop) break;
      boost::system::error_code ec;
      asio::write(s, asio::buffer(&c, 1), ec);
      if (ec) break;
      std::this_thread::sleep_for(100ms);
    }
  });
  asio::io_context ioc;
  const auto t0 = std::chrono::steady_clock::now();
  bool open_after = true;
  EXPECT_THROW(run_coroutine(ioc,
                             [&]() -> asio::awaitable<void> {
                               tcp::socket socket(ioc);
                               co_await socket.async_connect(server.endpoint(),
                                                             asio::use_awaitable);
                               AsyncDriver<tcp::socket> driver(std::move(socket),
                                                               std::chrono::duration<double>(0.4));
                               algo::ReadReplyAlgo hello;
                               try {
                                 co_await driver.run(hello);
                               } catch (...) {
                                 open_after = driver.is_open();
                                 throw;
                               }
                             }),
               SMTPTimeoutError);
  stop = true;
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_GE(elapsed, 350ms);
  EXPECT_FALSE(open_after);
}

}  // namespace
}  // namespace smtp
