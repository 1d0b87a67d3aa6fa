// A TCP stream that can turn into TLS in place, for AsyncDriver: plaintext until the STARTTLS
// algorithm's tls_handshake action, TLS after it (or from the start, for implicit TLS).
// Header-only apart from the two OpenSSL set-up functions in tls_transport.cpp, which the sync
// transport uses too: one place decides how a TlsContext is verified.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <string>

#include "smtp/tls_context.hpp"

namespace smtp {

// The OpenSSL context for `tls` (trust anchors, client certificate, minimum version, verify
// mode). Throws SSLError when a file cannot be loaded.
boost::asio::ssl::context make_ssl_context(const TlsContext& tls);
// SNI and the name (or IP address) the certificate must match, for one connection. Throws
// SSLError when verification is on and `name` is empty or unusable.
void configure_ssl_connection(SSL* ssl, const TlsContext& tls, const std::string& name);

// Bytes of TLS records that have arrived but were not decrypted yet: in OpenSSL's buffers or in
// the BIO Asio feeds it (a second record read from the socket with the first one stays there
// until the next read). SSL_pending counts only the decrypted rest of the current record.
std::size_t undecrypted_bytes(SSL* ssl);

class AsyncTlsStream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;

  // `connected_host` is the name the caller connected to (tls.server_hostname overrides it).
  AsyncTlsStream(boost::asio::ip::tcp::socket socket, const TlsContext& tls,
                 const std::string& connected_host)
      : tls_(tls),
        ctx_(make_ssl_context(tls)),
        stream_(std::move(socket), ctx_),
        name_(tls.server_hostname.empty() ? connected_host : tls.server_hostname) {}

  executor_type get_executor() { return stream_.get_executor(); }
  bool encrypted() const { return encrypted_; }
  // Bytes that can be read now without waiting: before TLS, what the socket holds (the STARTTLS
  // check); inside TLS, only what OpenSSL has already decrypted. The socket's count would include
  // records that carry no data (TLS 1.3 session tickets), and reading for them would wait for data
  // that never comes (as the sync TlsTransport, SSL_pending).
  std::size_t available() {
    if (encrypted_) return static_cast<std::size_t>(SSL_pending(stream_.native_handle()));
    boost::system::error_code ec;
    const std::size_t n = stream_.next_layer().available(ec);
    return ec ? 0 : n;
  }
  // Inside TLS: bytes in the socket that OpenSSL has not read yet (records, maybe without data).
  std::size_t undecrypted() {
    if (!encrypted_) return 0;
    boost::system::error_code ec;
    const std::size_t n = stream_.next_layer().available(ec);
    return (ec ? 0 : n) + undecrypted_bytes(stream_.native_handle());
  }
  // Aborts a pending read (the driver's look at undecrypted records); the stream stays usable.
  void cancel_reads() {
    boost::system::error_code ignored;
    stream_.next_layer().cancel(ignored);
  }
  void close(boost::system::error_code& ec) { stream_.next_layer().close(ec); }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& b, Token&& token) {
    if (encrypted_) return stream_.async_read_some(b, std::forward<Token>(token));
    return stream_.next_layer().async_read_some(b, std::forward<Token>(token));
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& b, Token&& token) {
    if (encrypted_) return stream_.async_write_some(b, std::forward<Token>(token));
    return stream_.next_layer().async_write_some(b, std::forward<Token>(token));
  }

  // The client handshake; on success every later read and write is TLS. Returns the error (the
  // verify result is in verify_result()).
  template <class Token>
  auto async_tls_handshake(Token&& token) {
    configure_ssl_connection(stream_.native_handle(), tls_, name_);
    return stream_.async_handshake(boost::asio::ssl::stream_base::client,
                                   std::forward<Token>(token));
  }
  void mark_encrypted() { encrypted_ = true; }
  long verify_result() { return SSL_get_verify_result(stream_.native_handle()); }
  bool verifying() const { return !tls_.insecure_skip_verify; }

 private:
  TlsContext tls_;
  boost::asio::ssl::context ctx_;
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
  std::string name_;
  bool encrypted_ = false;
};

}  // namespace smtp
