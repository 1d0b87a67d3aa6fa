#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <type_traits>
// Internal: one accepted connection (TCP or unix, optionally wrapped in TLS part-way) and the
// deadline-guarded I/O every session kind uses.
#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "smtp/fakeserver/report.hpp"
#include "smtp/fakeserver/server.hpp"
#include "smtp/wire/line_buffer.hpp"

namespace smtp::fakeserver::detail {

namespace asio = boost::asio;
using asio::awaitable;
using boost::system::error_code;

class Connection {
 public:
  virtual ~Connection() = default;
  virtual awaitable<std::size_t> read_some(asio::mutable_buffer buf, error_code& ec) = 0;
  // Waits until bytes can be read without holding a buffer (idle sessions stay small).
  virtual awaitable<void> wait_readable(error_code& ec) = 0;
  // Plain sockets only: a non-blocking read (would_block when nothing is there).
  virtual std::size_t try_read(asio::mutable_buffer buf, error_code& ec) = 0;
  // The bytes waiting on the socket below any TLS, left there (MSG_PEEK; non-blocking).
  virtual std::size_t peek(asio::mutable_buffer buf, error_code& ec) = 0;
  virtual awaitable<void> write(asio::const_buffer buf, error_code& ec) = 0;
  virtual awaitable<void> handshake(asio::ssl::context& ctx, error_code& ec) = 0;
  virtual bool tls() const = 0;
  virtual void shutdown_send() = 0;  // FIN (no TLS close_notify: the script asked for TCP close)
  virtual void reset() = 0;          // RST: SO_LINGER 0 then close
  virtual void cancel() = 0;
  virtual void close() = 0;
  // TCP_CORK on a TCP socket (writes held and sent as full segments until uncorked); a no-op on
  // other sockets. `drip 0ms N` uses it: back-to-back pieces (TLS records) in one TCP segment.
  virtual void cork(bool on) = 0;
};

template <class Protocol>
class SocketConnection final : public Connection {
 public:
  using socket_type = typename Protocol::socket;
  explicit SocketConnection(socket_type sock) : sock_(std::move(sock)) {
    error_code ec;
    sock_.non_blocking(true, ec);
  }

  awaitable<std::size_t> read_some(asio::mutable_buffer buf, error_code& ec) override {
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    if (tls_) {
      auto n = co_await tls_->async_read_some(buf, token);
      co_return n;
    }
    {
      auto r = co_await sock_.async_read_some(buf, token);
      co_return r;
    }
  }
  awaitable<void> wait_readable(error_code& ec) override {
    if (tls_) co_return;  // TLS may hold decrypted bytes already
    co_await sock_.async_wait(socket_type::wait_read,
                              asio::redirect_error(asio::use_awaitable, ec));
  }
  std::size_t try_read(asio::mutable_buffer buf, error_code& ec) override {
    return sock_.read_some(buf, ec);
  }
  std::size_t peek(asio::mutable_buffer buf, error_code& ec) override {
    return lowest().receive(buf, asio::socket_base::message_peek, ec);
  }
  awaitable<void> write(asio::const_buffer buf, error_code& ec) override {
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    if (tls_) {
      co_await asio::async_write(*tls_, buf, token);
    } else {
      co_await asio::async_write(sock_, buf, token);
    }
  }
  awaitable<void> handshake(asio::ssl::context& ctx, error_code& ec) override {
    tls_ = std::make_unique<asio::ssl::stream<socket_type>>(std::move(sock_), ctx);
    co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                   asio::redirect_error(asio::use_awaitable, ec));
  }
  bool tls() const override { return tls_ != nullptr; }
  void shutdown_send() override {
    error_code ec;
    lowest().shutdown(socket_type::shutdown_send, ec);
  }
  void reset() override {
    error_code ec;
    lowest().set_option(asio::socket_base::linger(true, 0), ec);
    lowest().close(ec);
  }
  void cancel() override {
    error_code ec;
    lowest().cancel(ec);
  }
  void close() override {
    error_code ec;
    lowest().close(ec);
  }
  void cork(bool on) override {
    if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
      const int v = on ? 1 : 0;
      ::setsockopt(lowest().native_handle(), IPPROTO_TCP, TCP_CORK, &v, sizeof v);
    }
  }

 private:
  socket_type& lowest() { return tls_ ? tls_->next_layer() : sock_; }
  socket_type sock_;
  std::unique_ptr<asio::ssl::stream<socket_type>> tls_;
};

// Deadline-guarded reads and writes over a Connection, plus the received-bytes buffer.
class Io : public std::enable_shared_from_this<Io> {
 public:
  enum class Status { ok, eof, timeout, error };

  Io(asio::any_io_executor ex, std::unique_ptr<Connection> conn, const Limits& limits)
      : timer_(ex),
        conn_(std::move(conn)),
        in(limits.max_line),
        start_(std::chrono::steady_clock::now()) {}

  Connection& conn() { return *conn_; }
  double elapsed_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
        .count();
  }

  // Reads whatever arrives next into `in`. Plain sockets wait for readability and then read
  // without suspending into one shared buffer, so an idle session holds no read buffer and a
  // busy one allocates nothing per read.
  awaitable<Status> fill(std::chrono::milliseconds timeout) {
    arm(timeout);
    error_code ec;
    std::size_t n = 0;
    if (!conn_->tls()) {
      static thread_local std::array<char, read_chunk> shared;
      while (true) {
        co_await conn_->wait_readable(ec);
        if (ec) break;
        n = conn_->try_read(asio::buffer(shared), ec);
        if (ec != asio::error::would_block) break;
        ec = {};
      }
      disarm();
      if (n > 0) in.append(std::string_view(shared.data(), n));
    } else {
      std::unique_ptr<char[]> chunk(new char[read_chunk]);
      n = co_await conn_->read_some(asio::buffer(chunk.get(), read_chunk), ec);
      disarm();
      if (n > 0) in.append(std::string_view(chunk.get(), n));
    }
    if (timed_out_) co_return Status::timeout;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) co_return Status::eof;
    if (ec) {
      last_error = ec.message();
      co_return n > 0 ? Status::ok : Status::error;
    }
    co_return Status::ok;
  }

  // Plain connections: moves whatever the kernel already holds into `in`, without waiting (the
  // scripted server looks for bytes the client sent before a reply). TLS: nothing.
  void poll() {
    if (conn_->tls()) return;
    static thread_local std::array<char, read_chunk> shared;
    while (true) {
      error_code ec;
      std::size_t n = conn_->try_read(asio::buffer(shared), ec);
      if (n > 0) in.append(std::string_view(shared.data(), n));
      if (ec || n == 0) break;
    }
  }

  // The first byte waiting on the socket (below TLS), not consumed; nullopt at EOF or error.
  std::optional<unsigned char> peek_byte() {
    char b = 0;
    error_code ec;
    const std::size_t n = conn_->peek(asio::buffer(&b, 1), ec);
    if (ec || n == 0) return std::nullopt;
    return static_cast<unsigned char>(b);
  }

  // Waits until bytes (or EOF) can be read, reading none: ok, or timeout.
  awaitable<Status> wait_readable(std::chrono::milliseconds timeout) {
    arm(timeout);
    error_code ec;
    co_await conn_->wait_readable(ec);
    disarm();
    if (timed_out_) co_return Status::timeout;
    if (ec) {
      last_error = ec.message();
      co_return Status::error;
    }
    co_return Status::ok;
  }

  void cork(bool on) { conn_->cork(on); }

  awaitable<bool> write(std::string_view data, std::chrono::milliseconds timeout) {
    arm(timeout);
    error_code ec;
    co_await conn_->write(asio::buffer(data.data(), data.size()), ec);
    disarm();
    if (timed_out_) {
      last_error = "timed out writing to the client";
      co_return false;
    }
    if (ec) last_error = ec.message();
    co_return !ec;
  }

  awaitable<bool> handshake(asio::ssl::context& ctx, std::chrono::milliseconds timeout) {
    arm(timeout);
    error_code ec;
    co_await conn_->handshake(ctx, ec);
    disarm();
    if (timed_out_) {
      last_error = "timed out in the TLS handshake";
      co_return false;
    }
    if (ec) last_error = ec.message();
    co_return !ec;
  }

  awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(timer_.get_executor());
    t.expires_after(d);
    error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  // Reads and drops whatever comes until EOF or `limit`, then closes.
  awaitable<void> drain(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto st = co_await fill(std::max(left, std::chrono::milliseconds(1)));
      if (st != Status::ok) break;
      in.take_all();
    }
    conn_->close();
  }

  std::string last_error;
  bool drain_after = false;                             // we sent FIN: drain before closing
  static constexpr std::size_t read_chunk = 16 * 1024;  // one read's buffer, only while reading

 private:
  void arm(std::chrono::milliseconds timeout) {
    timed_out_ = false;
    timer_.expires_after(timeout);
    // A handler queued just as the operation finished must not cancel the next one.
    timer_.async_wait([self = shared_from_this(), gen = ++generation_](error_code ec) {
      if (!ec && gen == self->generation_) {
        self->timed_out_ = true;
        self->conn_->cancel();
      }
    });
  }
  void disarm() {
    ++generation_;
    timer_.cancel();
  }

  asio::steady_timer timer_;
  std::unique_ptr<Connection> conn_;
  bool timed_out_ = false;
  std::uint64_t generation_ = 0;

 public:
  wire::LineBuffer in;

 private:
  std::chrono::steady_clock::time_point start_;
};

struct SessionEnv {
  const ServerOptions& options;
  asio::ssl::context* tls;  // nullptr without --cert/--key
  class Maildir* maildir;
};

// `steps`: scenario::steps_for(scenario, transport), computed once per listener.
awaitable<void> run_scripted(std::shared_ptr<Io> io, const std::vector<scenario::Step>& steps,
                             const SessionEnv& env, SessionReport& report);
awaitable<void> run_sink(std::shared_ptr<Io> io, scenario::Transport transport,
                         const SessionEnv& env, SessionReport& report, Summary& totals);

}  // namespace smtp::fakeserver::detail
