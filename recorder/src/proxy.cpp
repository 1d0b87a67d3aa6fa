#include "smtp/recorder/proxy.hpp"

#include <openssl/ssl.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <stdexcept>

namespace smtp::recorder {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::awaitable;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t read_chunk = 16 * 1024;  // one read; SMTP lines are far shorter

// One side of the proxy: a TCP or Unix socket, wrapped in TLS part-way when asked.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual awaitable<std::size_t> read_some(asio::mutable_buffer buf, error_code& ec) = 0;
  virtual awaitable<void> write(asio::const_buffer buf, error_code& ec) = 0;
  virtual awaitable<void> handshake(ssl::context& ctx, ssl::stream_base::handshake_type role,
                                    const std::string& host, error_code& ec) = 0;
  virtual void shutdown_send() = 0;
  virtual void close() = 0;
};

template <class Protocol>
class SocketStream final : public Stream {
 public:
  using socket_type = typename Protocol::socket;
  explicit SocketStream(socket_type sock) : sock_(std::move(sock)) {}

  awaitable<std::size_t> read_some(asio::mutable_buffer buf, error_code& ec) override {
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    if (tls_) co_return co_await tls_->async_read_some(buf, token);
    co_return co_await sock_.async_read_some(buf, token);
  }
  awaitable<void> write(asio::const_buffer buf, error_code& ec) override {
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    if (tls_)
      co_await asio::async_write(*tls_, buf, token);
    else
      co_await asio::async_write(sock_, buf, token);
  }
  awaitable<void> handshake(ssl::context& ctx, ssl::stream_base::handshake_type role,
                            const std::string& host, error_code& ec) override {
    tls_ = std::make_unique<ssl::stream<socket_type>>(std::move(sock_), ctx);
    if (role == ssl::stream_base::client && !host.empty()) {
      // SNI (SSL_set_tlsext_host_name is a macro with a C cast)
      SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(host.c_str()));
      tls_->set_verify_callback(ssl::host_name_verification(host));
    }
    co_await tls_->async_handshake(role, asio::redirect_error(asio::use_awaitable, ec));
  }
  void shutdown_send() override {
    error_code ec;
    lowest().shutdown(socket_type::shutdown_send, ec);
  }
  void close() override {
    error_code ec;
    lowest().close(ec);
  }

 private:
  socket_type& lowest() { return tls_ ? tls_->next_layer() : sock_; }
  socket_type sock_;
  std::unique_ptr<ssl::stream<socket_type>> tls_;
};

std::string describe(const error_code& ec) {
  std::string s = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    char buf[256];
    ERR_error_string_n(static_cast<unsigned long>(ec.value()), buf, sizeof buf);
    s += " (" + std::string(buf) + ")";
  }
  return s;
}

}  // namespace

struct Proxy::Impl : std::enable_shared_from_this<Proxy::Impl> {
  asio::io_context& io;
  ProxyOptions opt;
  Handler on_session;
  tcp::acceptor acceptor;
  std::unique_ptr<ssl::context> server_tls;  // toward the client
  std::unique_ptr<ssl::context> client_tls;  // toward the upstream
  int next_index = 0;
  bool stopped = false;

  Impl(asio::io_context& io_, ProxyOptions o, Handler h)
      : io(io_), opt(std::move(o)), on_session(std::move(h)), acceptor(io_) {
    if (!opt.cert.empty()) {
      server_tls = std::make_unique<ssl::context>(ssl::context::tls_server);
      error_code ec;
      server_tls->use_certificate_chain_file(opt.cert, ec);
      if (!ec) server_tls->use_private_key_file(opt.key, ssl::context::pem, ec);
      if (ec) throw std::runtime_error("cannot load --tls-cert/--tls-key: " + describe(ec));
    }
    client_tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    if (opt.upstream_insecure) {
      client_tls->set_verify_mode(ssl::verify_none);
    } else {
      error_code ec;
      if (!opt.upstream_cafile.empty())
        client_tls->load_verify_file(opt.upstream_cafile, ec);
      else
        client_tls->set_default_verify_paths(ec);
      if (ec) throw std::runtime_error("cannot load --upstream-cafile: " + describe(ec));
      client_tls->set_verify_mode(ssl::verify_peer);
    }
    if (opt.implicit_tls && !server_tls)
      throw std::runtime_error("implicit TLS needs --tls-cert and --tls-key for the client side");
    tcp::endpoint ep(asio::ip::make_address(opt.listen_host), opt.listen_port);
    acceptor.open(ep.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen();
  }

  double ms_since(std::chrono::steady_clock::time_point t0) const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      error_code ec;
      tcp::socket sock =
          co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) break;
        continue;
      }
      asio::co_spawn(io, session(std::move(sock), ++next_index), asio::detached);
    }
  }

  awaitable<std::unique_ptr<Stream>> connect_upstream(error_code& ec) {
    auto ex = co_await asio::this_coro::executor;
    if (!opt.upstream_unix.empty()) {
      asio::local::stream_protocol::socket s(ex);
      co_await s.async_connect(asio::local::stream_protocol::endpoint(opt.upstream_unix),
                               asio::redirect_error(asio::use_awaitable, ec));
      co_return std::make_unique<SocketStream<asio::local::stream_protocol>>(std::move(s));
    }
    tcp::resolver resolver(ex);
    auto results =
        co_await resolver.async_resolve(opt.upstream_host, std::to_string(opt.upstream_port),
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return nullptr;
    tcp::socket s(ex);
    co_await asio::async_connect(s, results, asio::redirect_error(asio::use_awaitable, ec));
    co_return std::make_unique<SocketStream<tcp>>(std::move(s));
  }

  awaitable<void> session(tcp::socket sock, int index) {
    auto self = shared_from_this();
    const auto t0 = std::chrono::steady_clock::now();
    error_code pec;
    auto remote = sock.remote_endpoint(pec);
    SessionResult result;
    result.index = index;
    result.peer = pec ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
    SessionBuilder b(opt.builder);
    auto client = std::make_unique<SocketStream<tcp>>(std::move(sock));
    auto ex = co_await asio::this_coro::executor;

    error_code ec;
    auto up = co_await connect_upstream(ec);
    if (ec || !up) {
      b.problem("could not connect to the upstream: " + describe(ec));
      client->close();
      result.recording = b.finish();
      on_session(std::move(result));
      co_return;
    }
    const std::string upstream_name = opt.upstream_unix.empty() ? opt.upstream_host : "";
    if (opt.implicit_tls) {
      co_await client->handshake(*server_tls, ssl::stream_base::server, "", ec);
      if (ec) {
        b.problem("TLS handshake with the client failed: " + describe(ec));
      } else {
        co_await up->handshake(*client_tls, ssl::stream_base::client, upstream_name, ec);
        if (ec) b.problem("TLS handshake with the upstream failed: " + describe(ec));
      }
      if (ec) {
        client->close();
        up->close();
        result.recording = b.finish();
        on_session(std::move(result));
        co_return;
      }
    }

    // The client pump waits while STARTTLS is answered and both handshakes run.
    asio::steady_timer wake(ex, asio::steady_timer::time_point::max());
    asio::steady_timer idle(ex);
    bool handshaking = false;
    bool client_done = false, server_done = false;
    bool passthrough = false;  // TLS we could not terminate: bytes go on, unrecorded
    auto touch = [&] { idle.expires_after(opt.idle_timeout); };
    // A line past BuilderOptions::max_line (PeerLimits): the session ends for both sides, the
    // recording stops there with the limit named; the proxy goes on serving other clients.
    auto end_over_limit = [&] {
      client_done = true;
      server_done = true;
      client->close();
      up->close();
      wake.cancel();
    };

    auto client_to_upstream = [&]() -> awaitable<void> {
      std::array<char, read_chunk> buf;
      while (true) {
        while ((b.starttls_pending() || handshaking) && !server_done) {
          wake.expires_at(asio::steady_timer::time_point::max());
          error_code wec;
          co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, wec));
        }
        if (server_done && client_done) break;
        error_code rec;
        auto n = co_await client->read_some(asio::buffer(buf), rec);
        touch();
        if (n > 0) {
          if (!passthrough) b.client_bytes(std::string_view(buf.data(), n), ms_since(t0));
          if (b.over_limit()) {
            end_over_limit();
            break;
          }
          error_code wec;
          co_await up->write(asio::buffer(buf.data(), n), wec);
        }
        if (rec) {
          if (!server_done) b.client_closed(ms_since(t0));
          client_done = true;
          up->shutdown_send();
          break;
        }
      }
      client_done = true;
      co_return;
    };

    auto upstream_to_client = [&]() -> awaitable<void> {
      std::array<char, read_chunk> buf;
      while (true) {
        error_code rec;
        auto n = co_await up->read_some(asio::buffer(buf), rec);
        touch();
        if (n > 0) {
          std::optional<int> starttls;
          if (!passthrough) {
            b.server_bytes(std::string_view(buf.data(), n), ms_since(t0));
            starttls = b.take_starttls_reply();
          }
          if (b.over_limit()) {
            end_over_limit();
            break;
          }
          if (starttls) handshaking = true;
          error_code wec;
          co_await client->write(asio::buffer(buf.data(), n), wec);
          if (starttls) {
            if (*starttls == 220 && server_tls) {
              error_code hec;
              co_await up->handshake(*client_tls, ssl::stream_base::client, upstream_name, hec);
              if (hec) {
                b.problem("TLS handshake with the upstream after STARTTLS failed: " +
                          describe(hec));
              } else {
                co_await client->handshake(*server_tls, ssl::stream_base::server, "", hec);
                if (hec)
                  b.problem("TLS handshake with the client after STARTTLS failed: " +
                            describe(hec));
                else
                  b.tls_started(ms_since(t0));
              }
              if (hec) {
                handshaking = false;
                server_done = true;
                client->close();
                up->close();
                wake.cancel();
                break;
              }
            } else if (*starttls == 220) {
              b.problem(
                  "STARTTLS was accepted but the recorder has no --tls-cert: the rest of the "
                  "session is encrypted and not recorded");
              passthrough = true;
            }
            handshaking = false;
            wake.cancel();
          }
        }
        if (rec) {
          if (!client_done && !passthrough) b.server_closed(ms_since(t0));
          server_done = true;
          client->shutdown_send();
          wake.cancel();
          break;
        }
      }
      co_return;
    };

    // Ends a session whose other side does not close, or that goes silent.
    auto watchdog = [&]() -> awaitable<void> {
      touch();
      while (!(client_done && server_done)) {
        error_code tec;
        asio::steady_timer tick(ex);
        tick.expires_after(std::chrono::milliseconds(100));
        co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, tec));
        if (idle.expiry() <= asio::steady_timer::clock_type::now()) {
          if (!client_done && !server_done)
            b.problem("the session was idle too long and was ended");
          break;
        }
        if ((client_done || server_done) && !(client_done && server_done)) {
          // one side is gone: give the other `linger` to follow
          auto deadline = std::chrono::steady_clock::now() + opt.linger;
          while (!(client_done && server_done) && std::chrono::steady_clock::now() < deadline) {
            tick.expires_after(std::chrono::milliseconds(50));
            co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, tec));
          }
          break;
        }
      }
      client->close();
      up->close();
      wake.cancel();
    };

    using namespace asio::experimental::awaitable_operators;
    co_await (client_to_upstream() && upstream_to_client() && watchdog());
    result.recording = b.finish();
    on_session(std::move(result));
  }
};

Proxy::Proxy(asio::io_context& io, ProxyOptions options, Handler on_session)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(on_session))) {}

Proxy::~Proxy() = default;

tcp::endpoint Proxy::bound() const {
  return impl_->acceptor.local_endpoint();
}

void Proxy::start() {
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
}

void Proxy::stop() {
  impl_->stopped = true;
  error_code ec;
  impl_->acceptor.close(ec);
}

}  // namespace smtp::recorder
