#include "smtp/async_pool.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

namespace smtp {

namespace asio = boost::asio;

AsyncPool::AsyncPool(asio::any_io_executor ex, std::size_t max_connections, Factory factory)
    : ex_(ex),
      max_(max_connections),
      factory_(std::move(factory)),
      wakeup_(ex, asio::steady_timer::time_point::max()) {
  if (max_ == 0) throw std::invalid_argument("a pool needs at least one connection");
  if (!factory_) throw std::invalid_argument("a pool needs a connection factory");
}

AsyncPool::~AsyncPool() = default;

asio::awaitable<AsyncPool::Entry> AsyncPool::acquire() {
  for (;;) {
    while (!idle_.empty()) {
      Entry e = std::move(idle_.back());
      idle_.pop_back();
      if (!e.smtp->connected()) {
        --open_;
        ++stats_.dropped;
        continue;
      }
      if (std::chrono::steady_clock::now() - e.idle_since >= noop_after_) {
        bool alive = false;
        try {
          const Reply r = co_await e.smtp->noop();
          alive = r.code == 250;
        } catch (const SMTPException&) {
          alive = false;
        }
        if (!alive) {
          e.smtp->close();
          --open_;
          ++stats_.dropped;
          continue;
        }
      }
      ++stats_.reused;
      co_return e;
    }
    if (open_ < max_) {
      ++open_;
      std::unique_ptr<AsyncSMTP> smtp;
      std::exception_ptr failure;
      try {
        smtp = co_await factory_();
      } catch (...) {
        failure = std::current_exception();
      }
      if (failure || !smtp) {
        --open_;
        wakeup_.cancel_one();  // a waiter may try to open one itself
        if (failure) std::rethrow_exception(failure);
        throw std::invalid_argument("the pool's factory returned no connection");
      }
      ++stats_.opened;
      Entry e{std::move(smtp), 0, {}};
      co_return e;
    }
    auto [ec] = co_await wakeup_.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;  // cancelled by a release: look again
  }
}

void AsyncPool::retire(Entry entry) {
  ++stats_.retired;
  // QUIT politely without making the caller wait for the reply.
  auto smtp = std::shared_ptr<AsyncSMTP>(std::move(entry.smtp));
  asio::co_spawn(
      ex_,
      [smtp]() -> asio::awaitable<void> {
        try {
          co_await smtp->quit();
        } catch (const SMTPException&) {
          smtp->close();
        }
      },
      asio::detached);
}

void AsyncPool::release(Entry entry, bool healthy) {
  const bool usable = healthy && entry.smtp->connected();
  if (!usable) {
    entry.smtp->close();
    --open_;
    ++stats_.dropped;
  } else if (closing_generation_ > 0 ||
             (max_messages_ > 0 && entry.transactions >= max_messages_)) {
    --open_;
    retire(std::move(entry));
  } else {
    entry.idle_since = std::chrono::steady_clock::now();
    idle_.push_back(std::move(entry));
  }
  wakeup_.cancel_one();
}

asio::awaitable<void> AsyncPool::with_connection(std::function<awaitable<void>(AsyncSMTP&)> use) {
  Entry e = co_await acquire();
  std::exception_ptr failure;
  bool healthy = true;
  try {
    co_await use(*e.smtp);
  } catch (const SMTPServerDisconnected&) {
    failure = std::current_exception();
    healthy = false;
  } catch (...) {
    // A refusal (SMTPResponseException, SMTPRecipientsRefused, bad input): the session is
    // still in a clean state, the connection can serve the next message.
    failure = std::current_exception();
  }
  ++e.transactions;
  release(std::move(e), healthy);
  if (failure) std::rethrow_exception(failure);
}

asio::awaitable<RefusedRecipients> AsyncPool::sendmail(std::string from_addr,
                                                       std::vector<std::string> to_addrs,
                                                       std::string msg, Options mail_options,
                                                       Options rcpt_options) {
  RefusedRecipients refused;
  auto send = [&](AsyncSMTP& smtp) -> asio::awaitable<void> {
    RefusedRecipients r =
        co_await smtp.sendmail(std::move(from_addr), std::move(to_addrs), std::move(msg),
                               std::move(mail_options), std::move(rcpt_options));
    refused = std::move(r);
  };
  co_await with_connection(send);
  ++stats_.messages;
  co_return refused;
}

asio::awaitable<std::vector<MailResult>> AsyncPool::sendmail_many(
    std::span<const OutgoingMail> mails) {
  std::vector<MailResult> results;
  auto send = [&](AsyncSMTP& smtp) -> asio::awaitable<void> {
    std::vector<MailResult> r = co_await smtp.sendmail_many(mails);
    results = std::move(r);
  };
  co_await with_connection(send);
  for (const MailResult& r : results) {
    if (r.ok()) ++stats_.messages;
  }
  co_return results;
}

asio::awaitable<void> AsyncPool::close() {
  ++closing_generation_;
  std::vector<Entry> idle;
  idle.swap(idle_);
  for (auto& e : idle) {
    --open_;
    ++stats_.retired;
    try {
      co_await e.smtp->quit();
    } catch (const SMTPException&) {
      e.smtp->close();
    }
  }
  --closing_generation_;
}

}  // namespace smtp
