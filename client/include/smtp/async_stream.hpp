// The stream under AsyncSMTP: a TCP socket (plaintext, then TLS after STARTTLS or from the first
// byte for implicit TLS) or a Unix stream socket (LMTP). What AsyncDriver needs of a stream:
// async_read_some/async_write_some, available(), close(), and the STARTTLS hooks. TLS is set up
// only when asked for, with the TlsContext given then (starttls(context)), through the same
// OpenSSL set-up functions as the sync transport (make_ssl_context, configure_ssl_connection).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "smtp/async_tls_stream.hpp"  // make_ssl_context, configure_ssl_connection
#include "smtp/exceptions.hpp"
#include "smtp/tls_context.hpp"

namespace smtp {

class AsyncStream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using tcp_socket = boost::asio::ip::tcp::socket;
  using unix_socket = boost::asio::local::stream_protocol::socket;

  // Not connected: every read and write fails until a socket is attached.
  explicit AsyncStream(executor_type ex) : ex_(std::move(ex)) {}
  explicit AsyncStream(tcp_socket s)
      : ex_(s.get_executor()), tcp_(std::make_unique<tcp_socket>(std::move(s))) {}
  explicit AsyncStream(unix_socket s)
      : ex_(s.get_executor()), unix_(std::make_unique<unix_socket>(std::move(s))) {}
  AsyncStream(AsyncStream&&) noexcept = default;
  AsyncStream& operator=(AsyncStream&&) noexcept = default;

  executor_type get_executor() { return ex_; }
  bool is_tcp() const { return tcp_ != nullptr; }
  bool encrypted() const { return encrypted_; }

  // Bytes that can be read now without waiting: decrypted bytes once TLS is on (raw bytes may be
  // TLS records without data, such as TLS 1.3 session tickets).
  std::size_t available() {
    if (tls_) return encrypted_ ? static_cast<std::size_t>(SSL_pending(tls_->native_handle())) : 0;
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tcp_) n = tcp_->available(ec);
    if (unix_) n = unix_->available(ec);
    return ec ? 0 : n;
  }

  // Inside TLS: bytes in the socket that OpenSSL has not read yet (records, maybe without data).
  std::size_t undecrypted() {
    if (!tls_ || !encrypted_ || !tcp_) return 0;
    boost::system::error_code ec;
    const std::size_t n = tcp_->available(ec);
    return (ec ? 0 : n) + undecrypted_bytes(tls_->native_handle());
  }
  // Aborts a pending read (the driver's look at undecrypted records); the stream stays usable.
  void cancel_reads() {
    boost::system::error_code ignored;
    if (tcp_) tcp_->cancel(ignored);
  }

  void close(boost::system::error_code& ec) {
    // No close_notify exchange: it could block, and the session is over either way.
    boost::system::error_code ignored;
    if (tcp_) {
      tcp_->shutdown(tcp_socket::shutdown_both, ignored);
      tcp_->close(ec);
    }
    if (unix_) {
      unix_->shutdown(unix_socket::shutdown_both, ignored);
      unix_->close(ec);
    }
  }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& b, Token&& token) {
    if (tls_ && encrypted_) return tls_->async_read_some(b, std::forward<Token>(token));
    if (unix_) return unix_->async_read_some(b, std::forward<Token>(token));
    if (!tcp_) tcp_ = std::make_unique<tcp_socket>(ex_);  // closed: the read fails
    return tcp_->async_read_some(b, std::forward<Token>(token));
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& b, Token&& token) {
    if (tls_ && encrypted_) return tls_->async_write_some(b, std::forward<Token>(token));
    if (unix_) return unix_->async_write_some(b, std::forward<Token>(token));
    if (!tcp_) tcp_ = std::make_unique<tcp_socket>(ex_);
    return tcp_->async_write_some(b, std::forward<Token>(token));
  }

  // What the next handshake verifies against: the context, and the name the caller connected to
  // (tls.server_hostname overrides it). Throws SSLError when a file in the context cannot be
  // loaded.
  void set_tls(const TlsContext& tls, const std::string& connected_host) {
    tls_settings_ = tls;
    name_ = tls.server_hostname.empty() ? connected_host : tls.server_hostname;
    if (name_.size() > 2 && name_.front() == '[' && name_.back() == ']') {
      name_ = name_.substr(1, name_.size() - 2);
    }
  }

  // The client handshake over the TCP socket; afterwards every read and write is TLS.
  // SMTPNotSupportedError over a Unix socket (as the sync transport: TLS needs TCP).
  template <class Token>
  auto async_tls_handshake(Token&& token) {
    if (!tcp_) throw SMTPNotSupportedError("TLS needs a TCP connection");
    ctx_ = std::make_unique<boost::asio::ssl::context>(make_ssl_context(tls_settings_));
    tls_ = std::make_unique<boost::asio::ssl::stream<tcp_socket&>>(*tcp_, *ctx_);
    configure_ssl_connection(tls_->native_handle(), tls_settings_, name_);
    return tls_->async_handshake(boost::asio::ssl::stream_base::client, std::forward<Token>(token));
  }
  void mark_encrypted() { encrypted_ = true; }
  long verify_result() { return tls_ ? SSL_get_verify_result(tls_->native_handle()) : X509_V_OK; }
  bool verifying() const { return !tls_settings_.insecure_skip_verify; }

 private:
  executor_type ex_;
  // Behind pointers: the TLS stream refers to the TCP socket, which must not move.
  std::unique_ptr<tcp_socket> tcp_;
  std::unique_ptr<unix_socket> unix_;
  TlsContext tls_settings_;
  std::string name_;
  std::unique_ptr<boost::asio::ssl::context> ctx_;
  std::unique_ptr<boost::asio::ssl::stream<tcp_socket&>> tls_;
  bool encrypted_ = false;
};

}  // namespace smtp
