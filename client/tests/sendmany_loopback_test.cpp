// sendmail_many over real loopback sockets, sync (SMTP) and async (AsyncSMTP): a server thread that
// answers every command as soon as it has read it (so replies really are outstanding while the
// client writes), with and without CHUNKING; a refused recipient in the middle; every message
// arrives byte-exact and in order, and the groups really overlap.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <smtp/async_client.hpp>
#include <smtp/async_pool.hpp>
#include <smtp/client.hpp>
#include <string>
#include <vector>

#include "loopback_server.hpp"

// GCC 12 at -O2 reports -Wmismatched-new-delete on the coroutine lambdas below: the false positive
// on Asio's awaitable frame (own operator new and delete) that async_driver.hpp also silences.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace smtp {
namespace {

using test::any_loopback;
using test::read_line;
using test::send;
using test::TcpServer;
namespace asio = boost::asio;
using asio::ip::tcp;

// What the server saw.
struct Seen {
  std::vector<std::string> bodies;  // accepted messages, in order (DATA unstuffed, BDAT as sent)
  std::size_t rsets = 0;
  bool overlap = false;  // a command arrived before the reply to the previous end of data
};

// RCPT to an address starting with "bad" is refused; DATA/BDAT with no accepted recipient gets 554.
void pipelining_server(tcp::socket& s, bool chunking, Seen& seen) {
  std::string buf;
  // One write per reply: without TCP_NODELAY, Nagle would hold each reply until the client's
  // delayed ACK (40 ms per message).
  s.set_option(tcp::no_delay(true));
  send(s, "220 test ESMTP\r\n");
  std::size_t accepted = 0;
  bool in_mail = false;
  for (;;) {
    const std::string line = read_line(s, buf);
    if (line.empty()) return;
    std::string verb = line.substr(0, 4);
    for (char& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (verb == "EHLO") {
      send(s, std::string("250-test\r\n250-PIPELINING\r\n") + (chunking ? "250-CHUNKING\r\n" : "") +
                  "250 8BITMIME\r\n");
    } else if (verb == "MAIL") {
      send(s, in_mail ? "503 5.5.1 nested MAIL\r\n" : "250 2.1.0 ok\r\n");
      in_mail = true;
      accepted = 0;
    } else if (verb == "RCPT") {
      const bool bad = line.find("<bad") != std::string::npos;
      if (!bad) ++accepted;
      send(s, bad ? "550 5.1.1 no such user\r\n" : "250 2.1.5 ok\r\n");
    } else if (verb == "RSET") {
      ++seen.rsets;
      in_mail = false;
      send(s, "250 2.0.0 reset\r\n");
    } else if (verb == "DATA") {
      if (accepted == 0) {
        send(s, "554 5.5.1 no valid recipients\r\n");
        continue;
      }
      send(s, "354 go\r\n");
      std::string body;
      for (;;) {
        std::string l = read_line(s, buf);
        if (l.empty()) return;
        if (l == ".\r\n") break;
        if (l[0] == '.') l.erase(0, 1);
        body += l;
      }
      // More bytes already here means the client did not wait for this reply.
      if (!buf.empty()) seen.overlap = true;
      seen.bodies.push_back(body);
      in_mail = false;
      send(s, "250 2.0.0 queued " + std::to_string(seen.bodies.size()) + "\r\n");
    } else if (verb == "BDAT") {
      const std::size_t n = std::stoul(line.substr(5));
      const bool last = line.find("LAST") != std::string::npos;
      while (buf.size() < n) {
        char tmp[4096];
        boost::system::error_code ec;
        const std::size_t k = s.read_some(asio::buffer(tmp), ec);
        if (ec) return;
        buf.append(tmp, k);
      }
      const std::string chunk = buf.substr(0, n);
      buf.erase(0, n);
      if (accepted == 0) {
        send(s, "554 5.5.1 no valid recipients\r\n");
        continue;
      }
      if (last) {
        if (!buf.empty()) seen.overlap = true;
        seen.bodies.push_back(chunk);
        in_mail = false;
        send(s, "250 2.0.0 queued " + std::to_string(seen.bodies.size()) + "\r\n");
      } else {
        send(s, "250 2.0.0 chunk\r\n");
      }
    } else if (verb == "QUIT") {
      send(s, "221 bye\r\n");
      return;
    } else {
      send(s, "500 what\r\n");
    }
  }
}

constexpr int count = 40;
constexpr int refused_index = 17;

std::vector<OutgoingMail> batch() {
  std::vector<OutgoingMail> v;
  for (int i = 0; i < count; ++i) {
    OutgoingMail m;
    m.from_addr = "a@example.com";
    m.to_addrs = {i == refused_index ? "bad@example.com" : "b@example.com"};
    // A line starting with a dot, so dot-stuffing is exercised over DATA.
    m.msg = "Subject: " + std::to_string(i) + "\r\n\r\n.leading dot\r\nbody " + std::to_string(i) +
            "\r\n";
    v.push_back(std::move(m));
  }
  return v;
}

void check(const std::vector<MailResult>& results, const Seen& seen, bool chunking) {
  ASSERT_EQ(results.size(), static_cast<std::size_t>(count));
  std::vector<std::string> expected;
  const auto mails = batch();
  for (int i = 0; i < count; ++i) {
    const MailResult& r = results[static_cast<std::size_t>(i)];
    if (i == refused_index) {
      EXPECT_FALSE(r.ok());
      continue;
    }
    EXPECT_TRUE(r.ok()) << "message " << i;
    expected.push_back(mails[static_cast<std::size_t>(i)].msg);
  }
  EXPECT_EQ(seen.bodies, expected);
  EXPECT_TRUE(seen.overlap) << "no message's group was written before the previous reply";
  if (chunking) {
    EXPECT_GE(seen.rsets, static_cast<std::size_t>(count - 1));  // every group after the first
  }
}

class SendmanyLoopback : public testing::TestWithParam<bool> {};

TEST_P(SendmanyLoopback, sync_client_every_message_in_order) {
  const bool chunking = GetParam();
  Seen seen;
  std::vector<MailResult> results;
  {
    TcpServer server(any_loopback(), [&](tcp::socket& s) { pipelining_server(s, chunking, seen); });
    SMTP c("127.0.0.1", server.endpoint().port(), std::string("me.example"),
           std::chrono::seconds(5));
    results = c.sendmail_many(batch());
    EXPECT_EQ(c.quit().code, 221);
  }
  check(results, seen, chunking);
}

TEST_P(SendmanyLoopback, async_client_every_message_in_order) {
  const bool chunking = GetParam();
  Seen seen;
  std::vector<MailResult> results;
  {
    TcpServer server(any_loopback(), [&](tcp::socket& s) { pipelining_server(s, chunking, seen); });
    asio::io_context ioc;
    const auto mails = batch();
    std::exception_ptr failure;
    // Named, so the coroutine's captures outlive ioc.run().
    auto client = [&]() -> asio::awaitable<void> {
      AsyncSMTP c(ioc.get_executor(), std::string("me.example"), std::chrono::seconds(5));
      const std::string host = "127.0.0.1";
      co_await c.connect(host, server.endpoint().port());
      std::vector<MailResult> r = co_await c.sendmail_many(mails);
      results = std::move(r);
      co_await c.quit();
    };
    asio::co_spawn(ioc, client(), [&](std::exception_ptr e) { failure = e; });
    ioc.run();
    if (failure) std::rethrow_exception(failure);
  }
  check(results, seen, chunking);
}

TEST_P(SendmanyLoopback, pool_batch_on_one_connection) {
  const bool chunking = GetParam();
  Seen seen;
  std::vector<MailResult> results;
  AsyncPool::Stats stats;
  {
    TcpServer server(any_loopback(), [&](tcp::socket& s) { pipelining_server(s, chunking, seen); });
    asio::io_context ioc;
    const auto mails = batch();
    const auto ex = ioc.get_executor();
    const unsigned short port = server.endpoint().port();
    AsyncPool pool(ex, 1, [ex, port]() -> asio::awaitable<std::unique_ptr<AsyncSMTP>> {
      auto c = std::make_unique<AsyncSMTP>(ex, std::string("me.example"), std::chrono::seconds(5));
      const std::string host = "127.0.0.1";
      co_await c->open(host, port);
      co_return c;
    });
    std::exception_ptr failure;
    auto client = [&]() -> asio::awaitable<void> {
      std::vector<MailResult> r = co_await pool.sendmail_many(mails);
      results = std::move(r);
      co_await pool.close();
    };
    asio::co_spawn(ioc, client(), [&](std::exception_ptr e) { failure = e; });
    ioc.run();
    if (failure) std::rethrow_exception(failure);
    stats = pool.stats();
  }
  check(results, seen, chunking);
  EXPECT_EQ(stats.messages, static_cast<std::size_t>(count - 1));
  EXPECT_EQ(stats.opened, 1u);
  EXPECT_EQ(stats.dropped, 0u);
}

INSTANTIATE_TEST_SUITE_P(DataAndBdat, SendmanyLoopback, testing::Values(false, true),
                         [](const testing::TestParamInfo<bool>& i) {
                           return std::string(i.param ? "chunking" : "data");
                         });

}  // namespace
}  // namespace smtp
