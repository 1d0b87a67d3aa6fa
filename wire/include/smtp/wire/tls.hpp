#pragma once
// TLS set-up for every player, with one policy (target smtp::wire_tls; OpenSSL through Asio):
// - TLS 1.2 at least, both roles (RFC 8996 retired 1.0 and 1.1);
// - a client checks the server's certificate against the name it meant to reach: a
//   subjectAltName, no partial wildcards ("w*.example.org"; RFC 6125 section 6.4.3), an IP literal
//   against the certificate's IP addresses;
// - SNI carries that name, never an IP literal (RFC 6066 section 3);
// - "[v6]" brackets are removed before any of this.
// The client library, the fake server, the probe and the recorder all build their contexts here.
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace smtp::wire::tls {

// A context or a connection could not be set up (a file missing or unreadable, a bad key, a name
// that cannot be checked). what() names the file or the name and OpenSSL's reason.
class SetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class MinVersion { tls1_2, tls1_3 };

enum class Verify {
  require,      // the handshake fails unless the chain and the name check out (the default)
  record_only,  // the handshake completes whatever the certificate; SSL_get_verify_result() then
                // says what was wrong (smtp-probe judges certificates this way)
  none,         // no trust anchors, no check (an explicit --insecure)
};

struct ClientSettings {
  Verify verify = Verify::require;
  // Trust anchors; with neither, the system store (OpenSSL's default verify paths).
  std::optional<std::string> cafile;
  std::optional<std::string> capath;
  // A client certificate (PEM); the key defaults to the certificate's file.
  std::optional<std::string> certfile;
  std::optional<std::string> keyfile;
  MinVersion minimum = MinVersion::tls1_2;
};

boost::asio::ssl::context client_context(const ClientSettings& settings);

// A server context presenting `certificate_chain` (PEM) with `key` (PEM).
boost::asio::ssl::context server_context(const std::string& certificate_chain,
                                         const std::string& key,
                                         MinVersion minimum = MinVersion::tls1_2);

// Per connection, before the handshake: SNI (unless send_sni is false or `name` is an IP literal)
// and, unless verify is none, the name the certificate must match. Throws SetupError when a
// certificate is to be checked and there is no name.
void set_peer_name(SSL* ssl, std::string_view name, Verify verify, bool send_sni = true);

// True for an IPv4 or IPv6 literal (brackets allowed).
bool is_ip_literal(std::string_view name);

// OpenSSL's reason for an error code from a TLS operation, else the code's message.
std::string reason(const boost::system::error_code& ec);

}  // namespace smtp::wire::tls
