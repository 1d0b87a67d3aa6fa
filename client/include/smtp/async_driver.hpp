// Runs the same exchange algorithms as SyncDriver, as a C++20 coroutine over any Asio stream
// (tcp::socket, local::stream_protocol::socket, later ssl::stream). It proves the algorithms are
// driver-neutral: no second copy of any exchange. Header-only, so only users of it pull in Asio.
#pragma once

#include <openssl/x509.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <memory>
#include <string>

#include "smtp/algo/action.hpp"
#include "smtp/exceptions.hpp"
#include "smtp/reply_parser.hpp"
#include "smtp/sync_driver.hpp"  // Timeout

namespace smtp {

template <class Stream>
class AsyncDriver {
 public:
  explicit AsyncDriver(Stream stream, Timeout timeout = {})
      : stream_(std::move(stream)), timeout_(timeout) {}

  Stream& stream() { return stream_; }
  bool is_open() const { return open_; }
  void close() noexcept {
    boost::system::error_code ignored;
    stream_.close(ignored);
    open_ = false;
    parser_.reset();
    inbuf_.clear();
  }

  // co_await driver.run(algo): the same contract as SyncDriver::run.
  template <class Algo>
  boost::asio::awaitable<void> run(Algo& algo) {
    algo::step_result result;
    for (;;) {
      const algo::action a = algo.resume(result);
      if (a.kind == algo::action_kind::done) break;
      result = co_await perform(a);
    }
    if (auto e = algo.error()) std::rethrow_exception(e);
  }

 private:
  // A watchdog per operation: when the deadline passes it closes the stream, which aborts the
  // pending operation; the shared flag outlives the coroutine frame if the timer fires late.
  struct Watchdog {
    std::shared_ptr<bool> fired = std::make_shared<bool>(false);
    std::unique_ptr<boost::asio::steady_timer> timer;
    Watchdog() = default;
    Watchdog(Watchdog&&) noexcept = default;
    Watchdog& operator=(Watchdog&&) = delete;
    ~Watchdog() {
      if (timer) timer->cancel();
    }
  };

  Watchdog arm() {
    Watchdog w;
    if (!timeout_ || timeout_->count() > max_timeout_seconds) return w;
    w.timer = std::make_unique<boost::asio::steady_timer>(stream_.get_executor());
    w.timer->expires_after(std::chrono::duration_cast<Clock::duration>(*timeout_));
    w.timer->async_wait([fired = w.fired, s = &stream_](boost::system::error_code ec) {
      if (ec) return;
      *fired = true;
      boost::system::error_code ignored;
      s->close(ignored);
    });
    return w;
  }

  boost::asio::awaitable<void> write(std::string_view bytes) {
    if (!open_) throw SMTPServerDisconnected("please run connect() first");
    if (!inbuf_.empty())
      throw SMTPProtocolError("bytes arrived with no command outstanding", inbuf_);
    Watchdog w = arm();
    auto [ec, n] =
        co_await boost::asio::async_write(stream_, boost::asio::buffer(bytes.data(), bytes.size()),
                                          boost::asio::as_tuple(boost::asio::use_awaitable));
    (void)n;
    if (*w.fired) throw SMTPTimeoutError("timed out writing to the server");
    if (ec) throw SMTPServerDisconnected("Server not connected: " + ec.message());
  }

  boost::asio::awaitable<Reply> read_reply() {
    if (!open_) throw SMTPServerDisconnected("please run connect() first");
    Watchdog w = arm();  // one deadline for the whole reply
    for (;;) {
      if (!inbuf_.empty()) {
        inbuf_.erase(0, parser_.feed(inbuf_));
        if (parser_.done()) co_return parser_.take();
      }
      std::array<char, 4096> buf{};
      auto [ec, n] = co_await stream_.async_read_some(
          boost::asio::buffer(buf), boost::asio::as_tuple(boost::asio::use_awaitable));
      if (*w.fired) throw SMTPTimeoutError("timed out waiting for the server's reply");
      if (ec == boost::asio::error::eof || (!ec && n == 0)) {
        throw SMTPServerDisconnected(
            parser_.idle() ? "Connection unexpectedly closed"
                           : "Connection unexpectedly closed in the middle of a reply");
      }
      if (ec) throw SMTPServerDisconnected("Connection unexpectedly closed: " + ec.message());
      inbuf_.append(buf.data(), n);
    }
  }

  // STARTTLS over a stream that can do it (AsyncTlsStream): the same rule as the sync driver,
  // anything received after the 220 is refused and nothing read before the handshake is parsed
  // after it.
  boost::asio::awaitable<void> start_tls() {
    if constexpr (requires(Stream & s) {
                    s.async_tls_handshake(boost::asio::as_tuple(boost::asio::use_awaitable));
                  }) {
      if (!open_) throw SMTPServerDisconnected("please run connect() first");
      if (inbuf_.empty() && stream_.available() > 0) {
        std::array<char, 512> buf{};
        auto [ec, n] = co_await stream_.async_read_some(
            boost::asio::buffer(buf), boost::asio::as_tuple(boost::asio::use_awaitable));
        if (!ec) inbuf_.append(buf.data(), n);
      }
      if (!inbuf_.empty()) {
        throw SMTPProtocolError("bytes after the 220 reply to STARTTLS, before the TLS handshake",
                                inbuf_);
      }
      parser_.reset();
      Watchdog w = arm();
      auto [ec] =
          co_await stream_.async_tls_handshake(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (*w.fired) throw SMTPTimeoutError("timed out during the TLS handshake");
      if (ec) {
        const long verify = stream_.verify_result();
        if (stream_.verifying() && verify != X509_V_OK) {
          throw SSLCertVerificationError(std::string("certificate verify failed: ") +
                                         X509_verify_cert_error_string(verify));
        }
        throw SSLError("TLS handshake failed: " + ec.message());
      }
      stream_.mark_encrypted();
    } else {
      throw SMTPNotSupportedError("this stream cannot start TLS (use AsyncTlsStream)");
    }
  }

  boost::asio::awaitable<algo::step_result> perform(algo::action a) {
    algo::step_result r;
    try {
      switch (a.kind) {
        case algo::action_kind::write:
          co_await write(a.bytes);
          break;
        case algo::action_kind::command:
          co_await write(a.bytes);
          r.reply = co_await read_reply();
          break;
        case algo::action_kind::read_reply:
          r.reply = co_await read_reply();
          break;
        case algo::action_kind::close:
          close();
          break;
        case algo::action_kind::tls_handshake:
          co_await start_tls();
          break;
        case algo::action_kind::done:
          break;
      }
    } catch (const SMTPServerDisconnected&) {
      r.error = std::current_exception();
    }
    if (r.error) close();
    co_return r;
  }

  Stream stream_;
  Timeout timeout_;
  bool open_ = true;
  ReplyParser parser_;
  std::string inbuf_;
};

}  // namespace smtp
