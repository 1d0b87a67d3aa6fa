// A small pool of AsyncSMTP connections to one server, for many messages over several
// connections: at most `max_connections` open at once (the concurrency bound: a sendmail() that
// finds every connection busy waits for one), a connection opened only when no idle one is left
// (the factory does connect + EHLO + STARTTLS + login: whatever the server needs), a connection
// reused after every completed transaction (refusals included: SendmailAlgo has already sent
// RSET), and dropped when it failed (disconnect, timeout, protocol violation). A connection that
// sat idle for longer than noop_after() gets a NOOP before reuse (a server may have closed it);
// one that fails the NOOP is dropped and the next one (or a new one) is used. No message is ever
// retried: after a disconnect nobody knows whether the server took it.
//
// Single-threaded like every Asio object: use it from one io_context thread (or one strand).
// Destroy it (or co_await close()) before its io_context.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "smtp/async_client.hpp"

namespace smtp {

class AsyncPool {
 public:
  template <class T>
  using awaitable = boost::asio::awaitable<T>;
  using Factory = std::function<awaitable<std::unique_ptr<AsyncSMTP>>()>;

  struct Stats {
    std::size_t opened = 0;    // connections the factory made
    std::size_t reused = 0;    // transactions that ran on an already used connection
    std::size_t dropped = 0;   // connections given up after a failure (or a failed NOOP)
    std::size_t retired = 0;   // connections closed with QUIT (message limit, close())
    std::size_t messages = 0;  // messages accepted (sendmail() returned, or a MailResult ok)
  };

  AsyncPool(boost::asio::any_io_executor ex, std::size_t max_connections, Factory factory);
  ~AsyncPool();
  AsyncPool(const AsyncPool&) = delete;
  AsyncPool& operator=(const AsyncPool&) = delete;

  // As AsyncSMTP::sendmail on one of the pool's connections.
  awaitable<RefusedRecipients> sendmail(std::string from_addr, std::vector<std::string> to_addrs,
                                        std::string msg, Options mail_options = {},
                                        Options rcpt_options = {});
  // As AsyncSMTP::sendmail_many on one of the pool's connections: the messages pipelined behind
  // each other, one MailResult per message (refusals are results, not exceptions). The connection
  // is dropped afterwards if the batch lost it. `mails` (and any body source) must outlive the
  // awaited call. The batch counts as one transaction for set_max_messages_per_connection.
  awaitable<std::vector<MailResult>> sendmail_many(std::span<const OutgoingMail> mails);
  // Runs `use` on a pooled connection (for anything else than sendmail: send_message, verify...).
  // The connection returns to the pool unless `use` threw an SMTPServerDisconnected or left it
  // closed.
  awaitable<void> with_connection(std::function<awaitable<void>(AsyncSMTP&)> use);

  // QUIT every idle connection; busy ones are retired when they come back. Later calls open new
  // connections again.
  awaitable<void> close();

  // A connection is retired (QUIT) after this many transactions; 0: no limit (the default).
  void set_max_messages_per_connection(std::size_t n) { max_messages_ = n; }
  // Idle for at least this long: NOOP before reuse (default 5 s; zero: always).
  void set_noop_after(std::chrono::steady_clock::duration d) { noop_after_ = d; }
  std::chrono::steady_clock::duration noop_after() const { return noop_after_; }

  std::size_t max_connections() const { return max_; }
  std::size_t open_connections() const { return open_; }
  std::size_t idle_connections() const { return idle_.size(); }
  const Stats& stats() const { return stats_; }

 private:
  struct Entry {
    std::unique_ptr<AsyncSMTP> smtp;
    std::size_t transactions = 0;
    std::chrono::steady_clock::time_point idle_since{};
  };
  awaitable<Entry> acquire();
  void release(Entry entry, bool healthy);
  void retire(Entry entry);

  boost::asio::any_io_executor ex_;
  std::size_t max_;
  Factory factory_;
  std::vector<Entry> idle_;  // most recently used last (reused first: its session is warm)
  std::size_t open_ = 0;     // idle + busy + being opened
  std::size_t closing_generation_ = 0;
  std::size_t max_messages_ = 0;
  std::chrono::steady_clock::duration noop_after_ = std::chrono::seconds(5);
  // Waiters for a free connection wait on this timer (never expiring); a release cancels one
  // wait. Single-threaded, so a waiter always rechecks the pool before waiting again.
  boost::asio::steady_timer wakeup_;
  Stats stats_;
};

}  // namespace smtp
