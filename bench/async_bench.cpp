// smtp-async-bench: many 1 KiB messages through smtp::AsyncPool (AsyncSMTP over N connections on
// one thread; with --many K, batches of K messages through the pool's sendmail_many), for
// bench/async_bench.py (against smtp-source into smtp-sink) and for the pool's process tests
// against real servers. Prints one JSON object:
//   {"client": "cpp-async", "connections": N, "messages": M, "ok": K, "failed": F,
//    "seconds": S, "msgs_per_s": R, "opened": O, "dropped": D, "first_error": "..." | null}
// Exit status 0 when every message was accepted, 1 otherwise, 2 on a bad command line.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <smtp/async_pool.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace asio = boost::asio;

struct Config {
  std::string host = "127.0.0.1";
  int port = 0;
  std::size_t connections = 20;
  std::size_t messages = 10000;
  std::size_t size = 1024;
  bool pipelining = false;
  std::size_t many = 0;  // > 0: batches of this many messages through sendmail_many
  double timeout = 30.0;
};

int usage() {
  std::fputs(
      "usage: smtp-async-bench --port P [--host H] [--connections N] [--messages M] "
      "[--size BYTES] [--pipelining] [--many K] [--timeout SECONDS]\n",
      stderr);
  return 2;
}

std::optional<Config> parse(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    std::optional<std::string> v;
    if (a == "--pipelining") {
      c.pipelining = true;
      continue;
    }
    if (!(v = value())) return std::nullopt;
    try {
      if (a == "--host") {
        c.host = *v;
      } else if (a == "--port") {
        c.port = std::stoi(*v);
      } else if (a == "--connections") {
        c.connections = std::stoul(*v);
      } else if (a == "--messages") {
        c.messages = std::stoul(*v);
      } else if (a == "--many") {
        c.many = std::stoul(*v);
      } else if (a == "--size") {
        c.size = std::stoul(*v);
      } else if (a == "--timeout") {
        c.timeout = std::stod(*v);
      } else {
        return std::nullopt;
      }
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (c.port <= 0 || c.connections == 0) return std::nullopt;
  return c;
}

std::string message_of(std::size_t size) {
  std::string m = "Subject: bench\r\n\r\n";
  const std::string line = "0123456789012345678901234567890123456789012345678901234567\r\n";
  while (m.size() < size) m += line;
  m.resize(size);
  return m;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  const auto config = parse(argc, argv);
  if (!config) return usage();
  const Config c = *config;
  // Named strings, not literals, in co_await expressions (GCC 12 cannot copy a literal's array
  // into a coroutine lambda's frame).
  const std::string msg = message_of(c.size);
  const std::string from = "from@example.com";
  const std::vector<std::string> to = {"rcpt@example.com"};
  asio::io_context ioc(1);
  const auto ex = ioc.get_executor();
  smtp::AsyncPool pool(
      ex, c.connections, [&c, ex]() -> asio::awaitable<std::unique_ptr<smtp::AsyncSMTP>> {
        auto smtp = std::make_unique<smtp::AsyncSMTP>(ex, std::string("bench.example"),
                                                      std::chrono::duration<double>(c.timeout));
        smtp->set_pipelining(c.pipelining);
        co_await smtp->open(c.host, c.port);
        co_await smtp->ehlo_or_helo_if_needed();
        co_return smtp;
      });
  // --many: every batch is a prefix of the same K messages.
  const std::vector<smtp::OutgoingMail> batch(c.many,
                                              smtp::OutgoingMail{from, to, msg, nullptr, {}, {}});
  std::size_t next = 0, ok = 0, failed = 0, workers = c.connections;
  std::optional<std::string> first_error;
  const auto t0 = std::chrono::steady_clock::now();
  auto t1 = t0;
  // One worker per connection, each taking the next message until all are sent.
  for (std::size_t w = 0; w < c.connections; ++w) {
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          while (c.many > 0 && next < c.messages) {
            const std::size_t k = std::min(c.many, c.messages - next);
            next += k;
            const std::vector<smtp::MailResult> results =
                co_await pool.sendmail_many(std::span(batch).first(k));
            for (const smtp::MailResult& r : results) {
              if (r.ok() && r.refused.empty()) {
                ++ok;
                continue;
              }
              ++failed;
              if (!first_error && r.error) {
                try {
                  std::rethrow_exception(r.error);
                } catch (const std::exception& e) {
                  first_error = e.what();
                }
              }
            }
          }
          while (next < c.messages) {
            ++next;
            try {
              const auto refused = co_await pool.sendmail(from, to, msg);
              if (refused.empty()) {
                ++ok;
              } else {
                ++failed;
              }
            } catch (const std::exception& e) {
              ++failed;
              if (!first_error) first_error = e.what();
            }
          }
          if (--workers == 0) {
            t1 = std::chrono::steady_clock::now();
            co_await pool.close();
          }
        },
        asio::detached);
  }
  ioc.run();
  const double seconds = std::chrono::duration<double>(t1 - t0).count();
  std::printf(
      "{\"client\": \"cpp-async\", \"connections\": %zu, \"messages\": %zu, \"ok\": %zu, "
      "\"failed\": %zu, \"seconds\": %.6f, \"msgs_per_s\": %.1f, \"opened\": %zu, "
      "\"dropped\": %zu, \"first_error\": %s}\n",
      c.connections, c.messages, ok, failed, seconds,
      seconds > 0 ? static_cast<double>(ok) / seconds : 0.0, pool.stats().opened,
      pool.stats().dropped, first_error ? json_string(*first_error).c_str() : "null");
  return failed == 0 && ok == c.messages ? 0 : 1;
}
