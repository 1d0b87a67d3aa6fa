// The TLS side of the loopback tests: one set of certificates per test binary (made at test time,
// test_certs.hpp), a client context trusting their CA, and a one-connection server that speaks
// SMTP inside TLS (implicit, or after a plaintext STARTTLS).
#pragma once

#include <boost/asio/ssl.hpp>
#include <functional>
#include <smtp/tls_context.hpp>
#include <string>
#include <vector>

#include "loopback_server.hpp"
#include "test_certs.hpp"

namespace smtp::test {

namespace ssl = boost::asio::ssl;

inline const TestCerts& certs() {
  static TestCerts c;
  return c;
}

// The certificates a client must refuse, by test parameter: 0 wrong name, 1 expired, 2 self-signed.
inline const CertFiles& bad_cert(int i) {
  switch (i) {
    case 0:
      return certs().wrong_name;
    case 1:
      return certs().expired;
    default:
      return certs().self_signed;
  }
}

inline TlsContext trusting_test_ca() {
  TlsContext t;
  t.cafile = certs().ca_file;
  return t;
}

inline ssl::context server_context(const CertFiles& f) {
  ssl::context ctx(ssl::context::tls_server);
  ctx.use_certificate_chain_file(f.cert);
  ctx.use_private_key_file(f.key, ssl::context::pem);
  return ctx;
}

// Inside TLS: EHLO (AUTH PLAIN LOGIN offered), AUTH, DATA with the message, QUIT; 250 to
// anything else. Every line the client sent goes to `seen`.
inline void serve_tls_session(ssl::stream<tcp::socket&>& tls, std::vector<std::string>& seen) {
  std::string buf;
  for (;;) {
    const std::string line = read_line(tls, buf);
    if (line.empty()) return;
    seen.push_back(line);
    if (line.starts_with("ehlo")) {
      send(tls, "250-tls.test\r\n250 AUTH PLAIN LOGIN\r\n");
    } else if (line.starts_with("AUTH")) {
      send(tls, "235 2.7.0 ok\r\n");
    } else if (line.starts_with("data")) {
      send(tls, "354 go\r\n");
      read_until_dot(tls, buf);
      send(tls, "250 queued\r\n");
    } else if (line.starts_with("quit")) {
      send(tls, "221 bye\r\n");
      return;
    } else {
      send(tls, "250 ok\r\n");
    }
  }
}

// The plaintext part of a STARTTLS session: greeting, EHLO offering STARTTLS, STARTTLS's 220.
inline void plaintext_until_starttls(tcp::socket& s, std::vector<std::string>& seen) {
  std::string buf;
  send(s, "220 plain\r\n");
  seen.push_back(read_line(s, buf));
  send(s, "250-plain.test\r\n250 STARTTLS\r\n");
  seen.push_back(read_line(s, buf));
  send(s, "220 go ahead\r\n");
}

// A server presenting `cert`: implicit TLS (SMTP_SSL), or a plaintext greeting and EHLO offering
// STARTTLS, then the handshake.
inline std::function<void(tcp::socket&)> tls_server(const CertFiles& cert, bool implicit,
                                                    std::vector<std::string>& seen) {
  return [&cert, implicit, &seen](tcp::socket& s) {
    if (!implicit) plaintext_until_starttls(s, seen);
    ssl::context ctx = server_context(cert);
    ssl::stream<tcp::socket&> tls(s, ctx);
    boost::system::error_code ec;
    tls.handshake(ssl::stream_base::server, ec);
    if (ec) return;
    if (implicit) send(tls, "220 implicit\r\n");
    serve_tls_session(tls, seen);
  };
}

}  // namespace smtp::test
