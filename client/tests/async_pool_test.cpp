// smtp::AsyncPool against an in-process sink server on the same io_context: many messages over a
// bounded number of connections, reuse, refusals that keep a connection, failures that drop one,
// a NOOP before reusing an idle connection, and a factory that fails.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <cctype>
#include <smtp/async_pool.hpp>

namespace smtp {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
const Timeout five_seconds = std::chrono::duration<double>(5);
// Named strings rather than literals in co_await expressions (GCC 12, see async_client_test.cpp).
const std::string loopback = "127.0.0.1";
const std::string sender = "from@example.com";
const std::string message = "Subject: x\r\n\r\nbody\r\n";

// A sink: 250 to everything, 550 to a recipient containing "refuse", a message counted at the
// dot. After `close_after` messages in one session it answers the next MAIL with 421 and closes
// (`quietly`: it closes right after the message, without a word).
class SinkServer {
 public:
  struct Counters {
    std::size_t sessions = 0;
    std::size_t concurrent = 0;
    std::size_t max_concurrent = 0;
    std::size_t messages = 0;
    std::size_t noops = 0;
  };

  SinkServer(asio::io_context& ioc, std::size_t close_after = 0, bool quietly = false)
      : acceptor_(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        close_after_(close_after),
        quietly_(quietly) {
    asio::co_spawn(ioc, accept_loop(), asio::detached);
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }
  const Counters& counters() const { return c_; }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(acceptor_.get_executor(), session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket s) {
    ++c_.sessions;
    ++c_.concurrent;
    c_.max_concurrent = std::max(c_.max_concurrent, c_.concurrent);
    try {
      co_await serve(s);
    } catch (const std::exception&) {
    }
    --c_.concurrent;
  }

  static asio::awaitable<void> say(tcp::socket& s, std::string text) {
    co_await asio::async_write(s, asio::buffer(text), asio::use_awaitable);
  }

  asio::awaitable<void> serve(tcp::socket& s) {
    std::string buf;
    std::size_t here = 0;
    co_await say(s, "220 sink\r\n");
    for (;;) {
      auto [ec, n] = co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\r\n",
                                                     asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      std::string line = buf.substr(0, n);
      buf.erase(0, n);
      for (auto& ch : line) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (line.starts_with("ehlo")) {
        co_await say(s, "250-sink\r\n250 8BITMIME\r\n");
      } else if (line.starts_with("mail")) {
        if (close_after_ > 0 && here >= close_after_) {
          co_await say(s, "421 4.3.2 closing\r\n");
          co_return;
        }
        co_await say(s, "250 ok\r\n");
      } else if (line.starts_with("rcpt")) {
        co_await say(s,
                     line.find("refuse") != std::string::npos ? "550 5.1.1 no\r\n" : "250 ok\r\n");
      } else if (line.starts_with("data")) {
        co_await say(s, "354 go\r\n");
        auto [dec, dn] = co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\r\n.\r\n",
                                                         asio::as_tuple(asio::use_awaitable));
        if (dec) co_return;
        buf.erase(0, dn);
        ++c_.messages;
        ++here;
        co_await say(s, "250 2.0.0 queued\r\n");
        if (quietly_ && close_after_ > 0 && here >= close_after_) co_return;
      } else if (line.starts_with("noop")) {
        ++c_.noops;
        co_await say(s, "250 ok\r\n");
      } else if (line.starts_with("quit")) {
        co_await say(s, "221 bye\r\n");
        co_return;
      } else {
        co_await say(s, "250 ok\r\n");
      }
    }
  }

  tcp::acceptor acceptor_;
  std::size_t close_after_;
  bool quietly_;
  Counters c_;
};

AsyncPool::Factory connect_to(asio::any_io_executor ex, unsigned short port) {
  return [ex, port]() -> asio::awaitable<std::unique_ptr<AsyncSMTP>> {
    auto smtp = std::make_unique<AsyncSMTP>(ex, std::string("me.example"), five_seconds);
    co_await smtp->open(loopback, port);
    co_await smtp->ehlo_or_helo_if_needed();
    co_return smtp;
  };
}

struct Results {
  std::size_t ok = 0;
  std::vector<std::string> errors;
};

// `count` concurrent sendmail()s through the pool, then close(); the server stops afterwards.
Results send_many(asio::io_context& ioc, SinkServer& server, AsyncPool& pool, std::size_t count,
                  std::function<std::string(std::size_t)> recipient = {}) {
  Results results;
  std::size_t pending = count;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string to = recipient ? recipient(i) : "rcpt" + std::to_string(i) + "@example.com";
    asio::co_spawn(
        ioc,
        [&, to]() -> asio::awaitable<void> {
          try {
            const std::vector<std::string> recipients = {to};
            co_await pool.sendmail(sender, recipients, message);
            ++results.ok;
          } catch (const SMTPException& e) {
            results.errors.push_back(std::string(e.type_name()) + ": " + e.what());
          }
          if (--pending == 0) {
            co_await pool.close();
            server.stop();
          }
        },
        asio::detached);
  }
  ioc.run();
  return results;
}

// A pool whose connections require TLS, over a plaintext server: every message refused with
// SMTPNotSupportedError, none delivered.
TEST(AsyncPool, require_tls_on_its_connections_refuses_messages_in_clear) {
  asio::io_context ioc;
  SinkServer server(ioc);
  const auto ex = ioc.get_executor();
  const unsigned short port = server.port();
  AsyncPool pool(ex, 2, [ex, port]() -> asio::awaitable<std::unique_ptr<AsyncSMTP>> {
    auto smtp = std::make_unique<AsyncSMTP>(ex, std::string("me.example"), five_seconds);
    smtp->set_require_tls(true);
    co_await smtp->open(loopback, port);
    co_await smtp->ehlo_or_helo_if_needed();
    co_return smtp;
  });
  const Results r = send_many(ioc, server, pool, 4);
  EXPECT_EQ(r.ok, 0u);
  ASSERT_EQ(r.errors.size(), 4u);
  for (const auto& e : r.errors) EXPECT_THAT(e, testing::StartsWith("SMTPNotSupportedError")) << e;
  EXPECT_EQ(server.counters().messages, 0u);
}

TEST(AsyncPool, many_messages_over_a_bounded_number_of_connections) {
  asio::io_context ioc;
  SinkServer server(ioc);
  AsyncPool pool(ioc.get_executor(), 4, connect_to(ioc.get_executor(), server.port()));
  const Results r = send_many(ioc, server, pool, 200);
  EXPECT_EQ(r.ok, 200u);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(server.counters().messages, 200u);
  EXPECT_LE(server.counters().max_concurrent, 4u);
  EXPECT_GE(server.counters().max_concurrent, 2u);  // really in parallel
  EXPECT_LE(pool.stats().opened, 4u);
  EXPECT_EQ(pool.stats().messages, 200u);
  EXPECT_EQ(pool.stats().reused, 200u - pool.stats().opened);
  EXPECT_EQ(pool.stats().dropped, 0u);
  EXPECT_EQ(pool.open_connections(), 0u);  // close() sent QUIT to all of them
}

TEST(AsyncPool, a_refused_recipient_keeps_the_connection) {
  asio::io_context ioc;
  SinkServer server(ioc);
  AsyncPool pool(ioc.get_executor(), 1, connect_to(ioc.get_executor(), server.port()));
  const Results r = send_many(ioc, server, pool, 10, [](std::size_t i) {
    return i % 3 == 0 ? "refuse" + std::to_string(i) + "@example.com" : "ok@example.com";
  });
  EXPECT_EQ(r.ok, 6u);
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors.front().rfind("SMTPRecipientsRefused", 0), 0u) << r.errors.front();
  EXPECT_EQ(pool.stats().opened, 1u);
  EXPECT_EQ(server.counters().sessions, 1u);
  EXPECT_EQ(pool.stats().dropped, 0u);
}

TEST(AsyncPool, a_connection_that_failed_is_dropped_and_replaced) {
  asio::io_context ioc;
  SinkServer server(ioc, 5);  // the 6th MAIL of a session gets 421 and the connection closes
  AsyncPool pool(ioc.get_executor(), 2, connect_to(ioc.get_executor(), server.port()));
  const Results r = send_many(ioc, server, pool, 30);
  EXPECT_EQ(r.ok + r.errors.size(), 30u);
  EXPECT_EQ(server.counters().messages, r.ok);
  EXPECT_FALSE(r.errors.empty());
  for (const auto& e : r.errors) EXPECT_EQ(e.rfind("SMTPSenderRefused", 0), 0u) << e;
  EXPECT_EQ(pool.stats().dropped, r.errors.size());
  EXPECT_EQ(pool.stats().opened, server.counters().sessions);
  EXPECT_GT(pool.stats().opened, 2u);
  EXPECT_LE(server.counters().max_concurrent, 2u);
}

TEST(AsyncPool, an_idle_connection_gets_a_noop_and_a_dead_one_is_replaced) {
  asio::io_context ioc;
  SinkServer server(ioc, 1, true);  // closes each session right after its first message
  AsyncPool pool(ioc.get_executor(), 1, connect_to(ioc.get_executor(), server.port()));
  pool.set_noop_after(std::chrono::steady_clock::duration::zero());
  const Results r = send_many(ioc, server, pool, 5);
  // Every message arrives: the dead connection is found by NOOP before reuse, not by a message.
  EXPECT_EQ(r.ok, 5u);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(server.counters().messages, 5u);
  EXPECT_EQ(pool.stats().opened, 5u);
  EXPECT_EQ(pool.stats().dropped, 4u);
}

TEST(AsyncPool, noop_only_after_the_idle_threshold) {
  asio::io_context ioc;
  SinkServer server(ioc);
  AsyncPool pool(ioc.get_executor(), 1, connect_to(ioc.get_executor(), server.port()));
  const Results r = send_many(ioc, server, pool, 20);
  EXPECT_EQ(r.ok, 20u);
  EXPECT_EQ(server.counters().noops, 0u);  // reused at once: no NOOP needed
}

TEST(AsyncPool, a_failing_factory_raises_and_frees_its_slot) {
  asio::io_context ioc;
  SinkServer server(ioc);
  int attempts = 0;
  const auto ex = ioc.get_executor();
  const unsigned short port = server.port();
  AsyncPool pool(ex, 1, [&, ex, port]() -> asio::awaitable<std::unique_ptr<AsyncSMTP>> {
    if (++attempts == 1) throw SMTPConnectError(-1, "first attempt fails");
    auto smtp = std::make_unique<AsyncSMTP>(ex, std::string("me.example"), five_seconds);
    co_await smtp->open(loopback, port);
    co_return smtp;
  });
  const Results r = send_many(ioc, server, pool, 3);
  EXPECT_EQ(r.ok, 2u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors.front().rfind("SMTPConnectError", 0), 0u) << r.errors.front();
  EXPECT_EQ(attempts, 2);
}

TEST(AsyncPool, max_messages_per_connection_retires_with_quit) {
  asio::io_context ioc;
  SinkServer server(ioc);
  AsyncPool pool(ioc.get_executor(), 1, connect_to(ioc.get_executor(), server.port()));
  pool.set_max_messages_per_connection(4);
  const Results r = send_many(ioc, server, pool, 10);
  EXPECT_EQ(r.ok, 10u);
  EXPECT_EQ(pool.stats().opened, 3u);  // 4 + 4 + 2
  EXPECT_EQ(server.counters().sessions, 3u);
  EXPECT_EQ(pool.stats().dropped, 0u);
}

}  // namespace
}  // namespace smtp
