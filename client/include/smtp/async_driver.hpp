// Runs the same exchange algorithms as SyncDriver, as a C++20 coroutine over any Asio stream
// (tcp::socket, local::stream_protocol::socket, AsyncTlsStream, AsyncStream): no second copy of
// any exchange. The same rules as SyncDriver: one deadline per write, per reply and per TLS
// handshake; bytes that arrive with no command outstanding are a protocol violation; nothing read
// before a STARTTLS handshake is parsed after it; the same debug lines (credentials redacted).
// Header-only, so only users of it pull in Asio.
//
// Note for GCC 12: co_await results are bound to locals and co_return takes a local, never an
// expression with temporaries (the other forms have corrupted coroutine frames here).
#pragma once

#include <openssl/err.h>
#include <openssl/x509.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <string>

#include "smtp/algo/action.hpp"
#include "smtp/exceptions.hpp"
#include "smtp/sasl/redact.hpp"
#include "smtp/sync_driver.hpp"  // Timeout, DebugSink, write_debug_line
#include "smtp/tls_context.hpp"
#include "smtp/wire/bytes_repr.hpp"
#include "smtp/wire/reply_parser.hpp"

// GCC 12 at -O2 reports -Wmismatched-new-delete inside these coroutines: a false positive on
// Asio's awaitable frame, which has its own operator new and delete.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace smtp {

template <class Stream>
class AsyncDriver {
 public:
  explicit AsyncDriver(Stream stream, Timeout timeout = {}, bool open = true)
      : stream_(std::move(stream)), timeout_(timeout), open_(open) {}
  ~AsyncDriver() { watch_->alive = false; }
  // The watchdog's handler refers to this object: it stays where it was made.
  AsyncDriver(const AsyncDriver&) = delete;
  AsyncDriver& operator=(const AsyncDriver&) = delete;

  Stream& stream() { return stream_; }
  bool is_open() const { return open_; }
  // Replaces the stream (after closing the old one): a new connection, nothing read yet.
  void attach(Stream stream) {
    close();
    stream_ = std::move(stream);
    open_ = true;
  }
  void close() noexcept {
    boost::system::error_code ignored;
    stream_.close(ignored);
    open_ = false;
    parser_.reset();
    inbuf_.clear();
  }
  // True when the stream is TLS (implicit TLS, or after STARTTLS).
  bool encrypted() const {
    if constexpr (requires(const Stream& s) { s.encrypted(); }) {
      return open_ && stream_.encrypted();
    } else {
      return false;
    }
  }
  // What the next tls_handshake action verifies against (streams that take it late).
  void set_tls(const TlsContext& tls, const std::string& connected_host) {
    if constexpr (requires(Stream & s) { s.set_tls(tls, connected_host); }) {
      stream_.set_tls(tls, connected_host);
    }
  }

  void set_timeout(Timeout t) { timeout_ = t; }
  Timeout timeout() const { return timeout_; }

  // 0: quiet; 1: "send:"/"reply:" lines as smtplib; 2: the same with a timestamp first.
  void set_debuglevel(int level) { debuglevel_ = level; }
  int debuglevel() const { return debuglevel_; }
  void set_debug_sink(DebugSink sink) {
    sink_ = sink ? std::move(sink) : [](std::string_view line) { std::cerr << line << '\n'; };
  }
  void debug(std::string_view line) const { write_debug_line(sink_, debuglevel_, line); }

  // co_await driver.run(algo): the same contract as SyncDriver::run.
  template <class Algo>
  boost::asio::awaitable<void> run(Algo& algo) {
    const Resting rest_after(this);
    algo::step_result result;
    for (;;) {
      const algo::action a = algo.resume(result);
      if (a.kind == algo::action_kind::done) break;
      algo::step_result next = co_await perform(a);
      result = std::move(next);
    }
    if (auto e = algo.error()) std::rethrow_exception(e);
  }

  // The TLS handshake right after connecting (implicit TLS): the same checks and errors as the
  // STARTTLS action; closes the connection on failure.
  boost::asio::awaitable<void> handshake() {
    const Resting rest_after(this);
    try {
      co_await start_tls(false);
    } catch (...) {
      close();
      throw;
    }
  }

 private:
  // The deadline of the current operation. One timer per driver, re-armed lazily: arming only
  // moves the deadline forward, and the timer (when it wakes) either closes the stream (the
  // deadline has passed: the pending operation is aborted), waits again for the newer deadline,
  // or stops (no operation in flight). Fast operations thus cost a clock read, not a timer.
  // The handler holds the shared state, never the driver once it is gone.
  struct WatchState {
    Clock::time_point deadline = Clock::time_point::max();       // max: no operation armed
    Clock::time_point waiting_until = Clock::time_point::max();  // max: no wait pending
    std::uint64_t generation = 0;  // the pending wait's; older handlers are ignored
    bool fired = false;
    bool alive = true;
  };
  // Disarms when the operation ends (however it ends).
  struct Watchdog {
    WatchState* state;
    explicit Watchdog(WatchState* s) : state(s) {}
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;
    ~Watchdog() { state->deadline = Clock::time_point::max(); }
    bool fired() const { return state->fired; }
  };

  Watchdog arm() {
    WatchState& w = *watch_;
    w.fired = false;
    if (!timeout_ || timeout_->count() > max_timeout_seconds) {
      w.deadline = Clock::time_point::max();
      return Watchdog(&w);
    }
    w.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(*timeout_);
    if (w.deadline < w.waiting_until) wait_until(w.deadline);
    return Watchdog(&w);
  }

  // After a run(): no operation in flight, so no timer either (a pending wait would keep the
  // io_context's run() from returning until it expired). One timer wait per run(), not per
  // read and write.
  void rest() noexcept {
    WatchState& w = *watch_;
    if (w.waiting_until == Clock::time_point::max()) return;
    ++w.generation;
    w.waiting_until = Clock::time_point::max();
    if (timer_) timer_->cancel();
  }
  struct Resting {
    AsyncDriver* driver;
    explicit Resting(AsyncDriver* d) : driver(d) {}
    Resting(const Resting&) = delete;
    Resting& operator=(const Resting&) = delete;
    ~Resting() { driver->rest(); }
  };

  void wait_until(Clock::time_point when) {
    if (!timer_) timer_ = std::make_unique<boost::asio::steady_timer>(stream_.get_executor());
    WatchState& w = *watch_;
    const std::uint64_t generation = ++w.generation;
    w.waiting_until = when;
    timer_->expires_at(when);  // cancels a later wait (its handler is then ignored)
    timer_->async_wait([state = watch_, generation, self = this](boost::system::error_code) {
      if (!state->alive || generation != state->generation) return;
      state->waiting_until = Clock::time_point::max();
      if (state->deadline == Clock::time_point::max()) return;  // idle: nothing to guard
      if (Clock::now() >= state->deadline) {
        state->fired = true;
        boost::system::error_code ignored;
        self->stream_.close(ignored);
        return;
      }
      self->wait_until(state->deadline);
    });
  }

  static bool is_ssl_error(const boost::system::error_code& ec) {
    return ec.category() == boost::asio::error::get_ssl_category();
  }
  static std::string ssl_reason(const boost::system::error_code& ec) {
    if (is_ssl_error(ec)) {
      const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
      if (reason != nullptr) return reason;
    }
    return ec.message();
  }

  // Reads what is waiting now without blocking (the out-of-turn check before a write or a
  // handshake); streams without available() are not checked.
  boost::asio::awaitable<void> read_waiting() {
    if constexpr (requires(Stream & s) { s.available(); }) {
      if (!inbuf_.empty()) co_return;
      if (stream_.available() > 0) {
        std::array<char, 512> buf{};
        auto [ec, n] = co_await stream_.async_read_some(
            boost::asio::buffer(buf), boost::asio::as_tuple(boost::asio::use_awaitable));
        if (!ec) inbuf_.append(buf.data(), n);
        co_return;
      }
      if constexpr (requires(Stream & s) { s.undecrypted(); }) {
        if (stream_.undecrypted() > 0) co_await read_undecrypted();
      }
    }
  }

  // Inside TLS the socket holds records OpenSSL has not read: a reply may hide in one (a second
  // TLS record in the same TCP segment). One TLS read, given a moment to process what has already
  // arrived, then cancelled if it found no data (a TLS 1.3 session ticket is consumed this way).
  // Asio's TLS engine keeps a partial record across the cancellation.
  boost::asio::awaitable<void> read_undecrypted() {
    auto finished = std::make_shared<bool>(false);
    boost::asio::steady_timer timer(stream_.get_executor());
    timer.expires_after(undecrypted_grace);
    timer.async_wait([finished, this](boost::system::error_code ec) {
      if (!ec && !*finished) stream_.cancel_reads();
    });
    std::array<char, 512> buf{};
    auto [ec, n] = co_await stream_.async_read_some(
        boost::asio::buffer(buf), boost::asio::as_tuple(boost::asio::use_awaitable));
    *finished = true;
    timer.cancel();
    if (!ec) inbuf_.append(buf.data(), n);
  }
  // How long the TLS read above may take to decrypt records that are already in the socket.
  static constexpr std::chrono::milliseconds undecrypted_grace{5};

  // Every reply has been read: whatever has arrived (decrypted or still in a TLS record) was sent
  // out of turn, and the replies and the commands are no longer paired with certainty.
  boost::asio::awaitable<void> expect_idle() {
    if (!open_) throw SMTPServerDisconnected("please run connect() first");
    co_await read_waiting();
    if (!inbuf_.empty())
      throw SMTPProtocolError("bytes arrived with no command outstanding", inbuf_);
  }

  boost::asio::awaitable<void> write(std::string_view bytes, const std::string* trace,
                                     bool replies_pending = false) {
    if (!open_) throw SMTPServerDisconnected("please run connect() first");
    // Unless the algorithm says replies are still due, every earlier reply has been read, so any
    // byte waiting now was sent out of turn (RFC 5321 section 4.1.1: replies only answer
    // commands).
    if (!replies_pending) co_await expect_idle();
    if (debuglevel_ > 0) {
      // An algorithm that writes credentials supplies the redacted text; an AUTH line written
      // any other way is redacted here, so no path shows a credential.
      debug("send: " + wire::bytes_repr(trace ? *trace : sasl::redact_auth_command(bytes), false));
    }
    Watchdog w = arm();
    auto [ec, n] =
        co_await boost::asio::async_write(stream_, boost::asio::buffer(bytes.data(), bytes.size()),
                                          boost::asio::as_tuple(boost::asio::use_awaitable));
    (void)n;
    if (w.fired()) throw SMTPTimeoutError("timed out writing to the server");
    if (ec && is_ssl_error(ec)) throw SSLError("TLS error writing: " + ssl_reason(ec));
    if (ec) throw SMTPServerDisconnected("Server not connected: " + ec.message());
  }

  boost::asio::awaitable<Reply> read_reply(reply_to expect = reply_to::any) {
    if (!open_) throw SMTPServerDisconnected("please run connect() first");
    Watchdog w = arm();  // one deadline for the whole reply
    for (;;) {
      if (!inbuf_.empty()) {
        std::optional<Reply> r = take_buffered_reply(parser_, inbuf_, sink_, debuglevel_);
        if (r) {
          check_reply_fits(expect, *r);
          Reply out = std::move(*r);  // a local, not an expression, in co_return (GCC 12)
          co_return out;
        }
      }
      std::array<char, 4096> buf{};
      auto [ec, n] = co_await stream_.async_read_some(
          boost::asio::buffer(buf), boost::asio::as_tuple(boost::asio::use_awaitable));
      // The socket's own timeout (ETIMEDOUT: keepalive or retransmissions gave up) is a timeout
      // too: a reply may still have been due.
      if (w.fired() || ec == boost::asio::error::timed_out) {
        throw SMTPTimeoutError("timed out waiting for the server's reply");
      }
      // A TLS close without close_notify (stream_truncated) is still the server hanging up.
      if (ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated ||
          (!ec && n == 0)) {
        throw SMTPServerDisconnected(
            parser_.idle() ? "Connection unexpectedly closed"
                           : "Connection unexpectedly closed in the middle of a reply");
      }
      if (ec && is_ssl_error(ec)) throw SSLError("TLS error reading: " + ssl_reason(ec));
      if (ec) throw SMTPServerDisconnected("Connection unexpectedly closed: " + ec.message());
      inbuf_.append(buf.data(), n);
    }
  }

  // STARTTLS over a stream that can do it (AsyncTlsStream, AsyncStream): the same rule as the
  // sync driver, anything received after the 220 is refused and nothing read before the
  // handshake is parsed after it.
  boost::asio::awaitable<void> start_tls(bool trace) {
    if constexpr (requires(Stream & s) {
                    s.async_tls_handshake(boost::asio::as_tuple(boost::asio::use_awaitable));
                  }) {
      if (!open_) throw SMTPServerDisconnected("please run connect() first");
      co_await read_waiting();
      if (!inbuf_.empty()) {
        throw SMTPProtocolError("bytes after the 220 reply to STARTTLS, before the TLS handshake",
                                inbuf_);
      }
      parser_.reset();
      Watchdog w = arm();
      auto [ec] =
          co_await stream_.async_tls_handshake(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (w.fired()) throw SMTPTimeoutError("timed out during the TLS handshake");
      if (ec) {
        const long verify = stream_.verify_result();
        if (stream_.verifying() && verify != X509_V_OK) {
          throw SSLCertVerificationError(std::string("certificate verify failed: ") +
                                         X509_verify_cert_error_string(verify));
        }
        if (ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated ||
            ec == boost::asio::error::connection_reset) {
          throw SSLError("the server closed the connection during the TLS handshake");
        }
        throw SSLError("TLS handshake failed: " + ssl_reason(ec));
      }
      stream_.mark_encrypted();
      if (trace && debuglevel_ > 0) debug("starttls: TLS handshake done");
    } else {
      throw SMTPNotSupportedError("this stream cannot start TLS (use AsyncTlsStream)");
    }
  }

  boost::asio::awaitable<algo::step_result> perform(algo::action a) {
    algo::step_result r;
    try {
      switch (a.kind) {
        case algo::action_kind::write:
          co_await write(a.bytes, a.trace, a.replies_pending);
          break;
        case algo::action_kind::command: {
          co_await write(a.bytes, a.trace, a.replies_pending);
          Reply reply = co_await read_reply(a.expect);
          r.reply = std::move(reply);
          break;
        }
        case algo::action_kind::read_reply: {
          Reply reply = co_await read_reply(a.expect);
          r.reply = std::move(reply);
          break;
        }
        case algo::action_kind::expect_idle:
          co_await expect_idle();
          break;
        case algo::action_kind::close:
          close();
          break;
        case algo::action_kind::tls_handshake:
          co_await start_tls(true);
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
  std::shared_ptr<WatchState> watch_ = std::make_shared<WatchState>();
  std::unique_ptr<boost::asio::steady_timer> timer_;
  Timeout timeout_;
  bool open_ = true;
  wire::ReplyParser parser_;
  std::string inbuf_;
  int debuglevel_ = 0;
  DebugSink sink_ = [](std::string_view line) { std::cerr << line << '\n'; };
};

}  // namespace smtp

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
