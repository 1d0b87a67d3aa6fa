// TLS through Boost.Asio's ssl::stream (OpenSSL). Like asio_transport.cpp, every blocking call
// runs one asynchronous operation on a private io_context bounded by the deadline.
#include "smtp/tls_transport.hpp"

#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include "smtp/async_tls_stream.hpp"
#include "smtp/exceptions.hpp"
#include "smtp/wire/endpoint.hpp"
#include "smtp/wire/tls.hpp"

namespace smtp {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

namespace {

// Runs the operation started by `start` until it completes or the deadline passes; on timeout
// the socket is closed (aborting the operation) and SMTPTimeoutError is thrown.
template <class Start>
void run_until(asio::io_context& ioc, Deadline deadline, const char* what,
               asio::ip::tcp::socket& socket, Start start) {
  ioc.restart();
  bool finished = false;
  start([&finished] { finished = true; });
  if (deadline) {
    ioc.run_until(*deadline);
  } else {
    ioc.run();
  }
  if (!finished) {
    error_code ignored;
    socket.close(ignored);
    ioc.restart();
    ioc.run();
    throw SMTPTimeoutError(std::string("timed out ") + what);
  }
}

std::string openssl_reason(const error_code& ec) {
  return wire::tls::reason(ec);
}

class TlsTransport final : public Transport {
 public:
  TlsTransport(std::unique_ptr<asio::io_context> ioc, ssl::context ctx, asio::ip::tcp::socket s)
      : ioc_(std::move(ioc)), ctx_(std::move(ctx)), stream_(std::move(s), ctx_) {}
  ~TlsTransport() override { close(); }

  void handshake(const TlsContext& tls, const std::string& name, Deadline deadline) {
    SSL* ssl_handle = stream_.native_handle();
    try {
      configure_ssl_connection(ssl_handle, tls, name);
    } catch (...) {
      close();
      throw;
    }
    error_code ec;
    run_until(*ioc_, deadline, "during the TLS handshake", stream_.next_layer(), [&](auto on_done) {
      stream_.async_handshake(ssl::stream_base::client, [&ec, on_done](error_code e) {
        ec = e;
        on_done();
      });
    });
    if (ec) {
      const long verify = SSL_get_verify_result(ssl_handle);
      close();
      if (verify != X509_V_OK && !tls.insecure_skip_verify) {
        throw SSLCertVerificationError(std::string("certificate verify failed: ") +
                                       X509_verify_cert_error_string(verify));
      }
      if (ec == asio::error::eof || ec == ssl::error::stream_truncated ||
          ec == asio::error::connection_reset) {
        throw SSLError("the server closed the connection during the TLS handshake");
      }
      throw SSLError("TLS handshake failed: " + openssl_reason(ec));
    }
    open_ = true;
  }

  void write(std::string_view bytes, Deadline deadline) override {
    if (!open_) throw SMTPServerDisconnected("Server not connected");
    error_code ec;
    run_until(*ioc_, deadline, "writing to the server", stream_.next_layer(), [&](auto on_done) {
      asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                        [&ec, on_done](error_code e, std::size_t) {
                          ec = e;
                          on_done();
                        });
    });
    if (ec) {
      close();
      if (ec.category() == asio::error::get_ssl_category()) {
        throw SSLError("TLS error writing: " + openssl_reason(ec));
      }
      throw SMTPServerDisconnected("Server not connected: " + ec.message());
    }
  }

  std::size_t read_some(std::span<char> buffer, Deadline deadline) override {
    if (!open_) throw SMTPServerDisconnected("Server not connected");
    error_code ec;
    std::size_t n = 0;
    run_until(*ioc_, deadline, "waiting for the server's reply", stream_.next_layer(),
              [&](auto on_done) {
                stream_.async_read_some(asio::buffer(buffer.data(), buffer.size()),
                                        [&ec, &n, on_done](error_code e, std::size_t k) {
                                          ec = e;
                                          n = k;
                                          on_done();
                                        });
              });
    // A close without close_notify (stream_truncated) is still the server hanging up; the reply
    // parser decides whether it cut a reply short.
    if (ec == asio::error::eof || ec == ssl::error::stream_truncated) return 0;
    if (ec) {
      close();
      if (ec.category() == asio::error::get_ssl_category()) {
        throw SSLError("TLS error reading: " + openssl_reason(ec));
      }
      throw SMTPServerDisconnected("Connection unexpectedly closed: " + ec.message());
    }
    return n;
  }

  // Only decrypted bytes count: raw bytes may be TLS records that carry no data (TLS 1.3 session
  // tickets arrive after the handshake), so they cannot be taken as a server talking out of turn.
  std::size_t available() override {
    return open_ ? static_cast<std::size_t>(SSL_pending(stream_.native_handle())) : 0;
  }

  // Decrypted bytes first; then, when the socket holds bytes OpenSSL has not seen, one TLS read
  // that is driven only as far as the bytes already received allow (poll(), never a wait): a
  // record with data completes it, a record without (a session ticket) is consumed and the read
  // is cancelled. Asio's TLS engine keeps a partial record across the cancellation.
  std::size_t read_waiting(std::span<char> buffer) override {
    if (!open_) return 0;
    if (available() > 0) return read_some(buffer, std::nullopt);
    error_code probe;
    const std::size_t raw = stream_.next_layer().available(probe);
    if ((raw == 0 || probe) && undecrypted_bytes(stream_.native_handle()) == 0) return 0;
    ioc_->restart();
    bool finished = false;
    error_code ec;
    std::size_t n = 0;
    stream_.async_read_some(asio::buffer(buffer.data(), buffer.size()),
                            [&](error_code e, std::size_t k) {
                              finished = true;
                              ec = e;
                              n = k;
                            });
    while (!finished && ioc_->poll() > 0) {
    }
    if (!finished) {
      error_code ignored;
      stream_.next_layer().cancel(ignored);
      ioc_->restart();
      ioc_->run();
      if (ec == asio::error::operation_aborted) return n;
    }
    if (ec == asio::error::eof || ec == ssl::error::stream_truncated) return 0;
    if (ec && ec != asio::error::operation_aborted) {
      close();
      if (ec.category() == asio::error::get_ssl_category()) {
        throw SSLError("TLS error reading: " + openssl_reason(ec));
      }
      throw SMTPServerDisconnected("Connection unexpectedly closed: " + ec.message());
    }
    return n;
  }

  void close() noexcept override {
    open_ = false;
    error_code ignored;
    // No close_notify exchange: it could block, and the session is over either way.
    stream_.next_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.next_layer().close(ignored);
  }

  bool encrypted() const noexcept override { return true; }

 private:
  std::unique_ptr<asio::io_context> ioc_;
  ssl::context ctx_;
  ssl::stream<asio::ip::tcp::socket> stream_;
  bool open_ = false;
};

}  // namespace

std::size_t undecrypted_bytes(SSL* ssl) {
  std::size_t n = SSL_has_pending(ssl) == 1 ? 1 : 0;
  if (BIO* rbio = SSL_get_rbio(ssl)) n += BIO_ctrl_pending(rbio);
  return n;
}

// The one TLS policy of every player (wire/tls.hpp), with the library's exception.
ssl::context make_ssl_context(const TlsContext& tls) {
  wire::tls::ClientSettings s;
  s.verify = tls.insecure_skip_verify ? wire::tls::Verify::none : wire::tls::Verify::require;
  s.cafile = tls.cafile;
  s.capath = tls.capath;
  s.certfile = tls.certfile;
  s.keyfile = tls.keyfile;
  s.minimum = tls.minimum_version == TlsContext::version::tls1_3 ? wire::tls::MinVersion::tls1_3
                                                                 : wire::tls::MinVersion::tls1_2;
  try {
    return wire::tls::client_context(s);
  } catch (const wire::tls::SetupError& e) {
    throw SSLError(e.what());
  }
}

void configure_ssl_connection(SSL* ssl_handle, const TlsContext& tls, const std::string& name) {
  try {
    wire::tls::set_peer_name(
        ssl_handle, name,
        tls.insecure_skip_verify ? wire::tls::Verify::none : wire::tls::Verify::require,
        tls.send_sni);
  } catch (const wire::tls::SetupError& e) {
    throw SSLError(e.what());
  }
}

std::unique_ptr<Transport> start_tls(std::unique_ptr<Transport> plain, const TlsContext& tls,
                                     const std::string& connected_host, Deadline deadline) {
  if (!plain) throw SMTPServerDisconnected("please run connect() first");
  if (plain->encrypted()) throw SSLError("the connection is already encrypted");
  ssl::context ctx = make_ssl_context(tls);  // may throw before the socket is taken over
  const int fd = plain->release_native_handle();
  plain.reset();
  if (fd < 0) throw SMTPNotSupportedError("TLS needs a TCP connection");
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0 ||
      (local.ss_family != AF_INET && local.ss_family != AF_INET6)) {
    ::close(fd);
    throw SMTPNotSupportedError("TLS needs a TCP connection");
  }
  auto ioc = std::make_unique<asio::io_context>();
  asio::ip::tcp::socket socket(*ioc);
  error_code ec;
  socket.assign(local.ss_family == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), fd, ec);
  if (ec) {
    ::close(fd);
    throw SMTPServerDisconnected("cannot take over the connection: " + ec.message());
  }
  auto t = std::make_unique<TlsTransport>(std::move(ioc), std::move(ctx), std::move(socket));
  const std::string& name = tls.server_hostname.empty() ? connected_host : tls.server_hostname;
  t->handshake(tls, std::string(wire::strip_brackets(name)), deadline);
  return t;
}

std::unique_ptr<Transport> connect_tls(const std::string& host, int port, const TlsContext& tls,
                                       Deadline deadline) {
  return start_tls(connect_tcp(host, port, deadline), tls, host, deadline);
}

}  // namespace smtp
