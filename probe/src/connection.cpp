// Deadlines over Asio: each operation is started asynchronously and the io_context is run until
// it completes or the deadline passes, in which case the socket is cancelled.
#include "smtp/probe/connection.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "smtp/wire/endpoint.hpp"

namespace smtp::probe {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using Socket = asio::generic::stream_protocol::socket;

class AsioConnection final : public Connection {
 public:
  AsioConnection() : sock_(io_) {}

  template <class Endpoint>
  void connect(const Endpoint& ep, Clock::time_point deadline) {
    asio::generic::stream_protocol::endpoint gep(ep);
    error_code ec;
    sock_.open(gep.protocol(), ec);
    if (ec) throw IoError(IoError::Kind::failed, "cannot open socket: " + ec.message());
    run([&](auto handler) { sock_.async_connect(gep, handler); }, deadline, "connect");
  }

  void write(std::string_view bytes, Clock::time_point deadline) override {
    run_io(
        [&](auto handler) {
          if (tls_) {
            asio::async_write(*tls_, asio::buffer(bytes.data(), bytes.size()), handler);
          } else {
            asio::async_write(sock_, asio::buffer(bytes.data(), bytes.size()), handler);
          }
        },
        deadline, "write");
  }

  Line read_line(Clock::time_point deadline) override {
    for (;;) {
      auto lf = buf_.find('\n');
      // A whole line over the limit that came with its LF counts too, not only an endless one.
      if (lf != std::string::npos && lf + 1 > max_line()) {
        throw IoError(IoError::Kind::failed, "a reply line longer than " +
                                                 std::to_string(max_line()) + " bytes (max-line)");
      }
      if (lf != std::string::npos) {
        Line line;
        line.text = buf_.substr(0, lf);
        line.terminator = "\n";
        if (!line.text.empty() && line.text.back() == '\r') {
          line.text.pop_back();
          line.terminator = "\r\n";
        }
        buf_.erase(0, lf + 1);
        return line;
      }
      if (buf_.size() > max_line()) {
        throw IoError(IoError::Kind::failed,
                      "no line end within " + std::to_string(max_line()) + " bytes (max-line)");
      }
      if (eof_) {
        if (buf_.empty()) throw IoError(IoError::Kind::closed, "the server closed the connection");
        Line line{std::move(buf_), ""};
        buf_.clear();
        return line;
      }
      fill(deadline);
    }
  }

  std::string read_for(Clock::time_point until, bool& closed) override {
    while (!eof_ && Clock::now() < until) {
      try {
        fill(until);
      } catch (const IoError& e) {
        if (e.kind() == IoError::Kind::timeout) break;
        throw;
      }
    }
    closed = eof_;
    std::string out = std::move(buf_);
    buf_.clear();
    return out;
  }

  std::string read_until_eof(Clock::time_point deadline) override {
    while (!eof_) fill(deadline);
    std::string out = std::move(buf_);
    buf_.clear();
    return out;
  }

  std::size_t buffered() const override { return buf_.size(); }

  TlsResult start_tls(const TlsOptions& options, Clock::time_point deadline) override {
    ctx_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    error_code ec;
    if (!options.cafile.empty()) {
      ctx_->load_verify_file(options.cafile, ec);
      if (ec) throw IoError(IoError::Kind::failed, "cannot load --cafile: " + ec.message());
    } else {
      ctx_->set_default_verify_paths(ec);
    }
    // The handshake goes on whatever the certificate: verification is judged afterwards.
    ctx_->set_verify_mode(asio::ssl::verify_none);
    tls_ = std::make_unique<asio::ssl::stream<Socket&>>(sock_, *ctx_);
    SSL* ssl = tls_->native_handle();
    if (!options.server_name.empty()) {
      const std::string name(wire::strip_brackets(options.server_name));
      error_code not_ip;
      asio::ip::make_address(name, not_ip);
      if (!not_ip) {
        // RFC 6066 section 3: an IP literal is never sent as the server name; the certificate
        // must then carry the address (an iPAddress subjectAltName).
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
      } else {
        // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
        SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(name.c_str()));
        SSL_set1_host(ssl, name.c_str());
      }
    }
    try {
      run([&](auto handler) { tls_->async_handshake(asio::ssl::stream_base::client, handler); },
          deadline, "TLS handshake");
    } catch (...) {
      tls_.reset();
      throw;
    }
    TlsResult r;
    long v = SSL_get_verify_result(ssl);
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert == nullptr) {
      r.verify_error = "the server sent no certificate";
    } else {
      char name[512];
      X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof name);
      r.subject = name;
      X509_free(cert);
      r.verified = v == X509_V_OK;
      if (!r.verified) r.verify_error = X509_verify_cert_error_string(v);
    }
    r.protocol = SSL_get_version(ssl);
    r.cipher = SSL_get_cipher_name(ssl);
    return r;
  }

  bool tls() const override { return tls_ != nullptr; }

  void close() noexcept override {
    error_code ec;
    sock_.shutdown(Socket::shutdown_both, ec);
    sock_.close(ec);
  }

  void reset() noexcept override {
    error_code ec;
    sock_.set_option(asio::socket_base::linger(true, 0), ec);
    sock_.close(ec);
  }

 private:
  void fill(Clock::time_point deadline) {
    char chunk[16384];
    std::size_t got = 0;
    error_code result;
    run_raw(
        [&](auto handler) {
          if (tls_) {
            tls_->async_read_some(asio::buffer(chunk), handler);
          } else {
            sock_.async_read_some(asio::buffer(chunk), handler);
          }
        },
        deadline, result, got);
    buf_.append(chunk, got);
    if (result == asio::error::eof || result == asio::ssl::error::stream_truncated ||
        result == asio::error::connection_reset) {
      eof_ = true;
      return;
    }
    if (result) throw IoError(IoError::Kind::failed, "read: " + result.message());
  }

  // Runs one async operation whose handler takes (error_code, size_t) until the deadline.
  template <class Start>
  void run_raw(Start start, Clock::time_point deadline, error_code& result, std::size_t& n) {
    bool done = false;
    io_.restart();
    start([&](const error_code& ec, std::size_t k) {
      done = true;
      result = ec;
      n = k;
    });
    while (!done) {
      if (io_.run_one_until(deadline) == 0 && !done) {
        error_code ignored;
        sock_.cancel(ignored);
        io_.restart();
        while (!done) io_.run_one();
        throw IoError(IoError::Kind::timeout, "timed out");
      }
    }
  }

  template <class Start>
  void run_io(Start start, Clock::time_point deadline, const char* what) {
    error_code result;
    std::size_t n = 0;
    run_raw(start, deadline, result, n);
    if (result == asio::error::broken_pipe || result == asio::error::connection_reset) {
      throw IoError(IoError::Kind::closed,
                    std::string(what) + ": the server closed the connection");
    }
    if (result) throw IoError(IoError::Kind::failed, std::string(what) + ": " + result.message());
  }

  // For operations whose handler takes only an error_code.
  template <class Start>
  void run(Start start, Clock::time_point deadline, const char* what) {
    run_io(
        [&](auto handler) { start([handler](const error_code& ec) mutable { handler(ec, 0); }); },
        deadline, what);
  }

  asio::io_context io_;
  Socket sock_;
  std::unique_ptr<asio::ssl::context> ctx_;
  std::unique_ptr<asio::ssl::stream<Socket&>> tls_;
  std::string buf_;
  bool eof_ = false;
};

}  // namespace

std::unique_ptr<Connection> Connection::tcp(const std::string& host, int port,
                                            Clock::time_point deadline) {
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  error_code ec;
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  auto results = resolver.resolve(h, std::to_string(port), ec);
  if (ec) throw IoError(IoError::Kind::failed, "cannot resolve " + host + ": " + ec.message());
  std::string last = "no address";
  for (const auto& r : results) {
    auto c = std::make_unique<AsioConnection>();
    try {
      c->connect(r.endpoint(), deadline);
      return c;
    } catch (const IoError& e) {
      last = e.what();
      if (e.kind() == IoError::Kind::timeout) throw;
    }
  }
  throw IoError(IoError::Kind::failed,
                "cannot connect to " + host + ":" + std::to_string(port) + ": " + last);
}

std::unique_ptr<Connection> Connection::unix_socket(const std::string& path,
                                                    Clock::time_point deadline) {
  auto c = std::make_unique<AsioConnection>();
  try {
    c->connect(asio::local::stream_protocol::endpoint(path), deadline);
  } catch (const IoError& e) {
    throw IoError(e.kind(), "cannot connect to " + path + ": " + e.what());
  }
  return c;
}

}  // namespace smtp::probe
