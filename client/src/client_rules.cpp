#include "smtp/client_rules.hpp"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "smtp/exceptions.hpp"
#include "smtp/message_envelope.hpp"
#include "smtp/sasl/factory.hpp"
#include "smtp/wire/command_encoder.hpp"
#include "smtp/wire/endpoint.hpp"

namespace smtp::rules {

namespace {

bool is_smtputf8(std::string_view option) {
  std::string lower(option);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "smtputf8";
}

// "host:PORT" in the host argument, as smtplib; checked by the wire core's one port parser, so
// 70000 is refused rather than wrapped to 4464.
int parse_port(std::string_view text) {
  std::string error;
  const auto port = wire::parse_port(text, wire::PortZero::refused, error);
  if (!port) throw std::invalid_argument(error);
  return *port;
}

void require_auth_extension(const SessionState& session) {
  if (!has_feature(session.esmtp_features, "auth")) {
    throw SMTPNotSupportedError("SMTP AUTH extension not supported by server.");
  }
}

}  // namespace

std::pair<std::string, int> split_host_port(const std::string& host, int port) {
  if (port != 0 && !(!host.empty() && host.front() == '/')) {
    std::string error;
    if (!wire::check_port(port, wire::PortZero::refused, error)) {
      throw std::invalid_argument(error);
    }
  }
  if (port != 0 || (!host.empty() && host.front() == '/')) return {host, port};
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close != std::string::npos && close + 1 < host.size() && host[close + 1] == ':') {
      return {host.substr(1, close - 1), parse_port(std::string_view(host).substr(close + 2))};
    }
    return {host, 0};
  }
  const std::size_t colon = host.find(':');
  if (colon != std::string::npos && colon == host.rfind(':')) {
    return {host.substr(0, colon), parse_port(std::string_view(host).substr(colon + 1))};
  }
  return {host, 0};
}

void throw_if_connect_failed(const boost::system::error_code& ec, const std::string& where) {
  namespace error = boost::asio::error;
  if (!ec) return;
  if (ec == error::connection_reset || ec == error::eof || ec == error::broken_pipe) {
    throw SMTPServerDisconnected("Connection unexpectedly closed: " + ec.message());
  }
  throw SMTPConnectError(-1, "cannot connect to " + where + ": " + ec.message());
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(bare, ec);
  return !ec && addr.is_loopback();
}

void check_tls_policy(bool require_tls, bool connected, bool encrypted, const char* what) {
  if (require_tls && connected && !encrypted) {
    throw SMTPNotSupportedError(
        std::string("TLS is required but the connection is not encrypted; ") + what +
        " refused (a server that does not offer STARTTLS may be "
        "the victim of a stripping attack)");
  }
}

void check_cleartext_auth(const sasl::mechanism& mechanism, bool encrypted, bool allow_cleartext,
                          const std::string& host) {
  if (mechanism.exposes_secret() && !encrypted && !allow_cleartext && !is_loopback_host(host)) {
    throw SMTPException("refusing to send " + std::string(mechanism.name()) +
                        " credentials over an unencrypted connection to " + host +
                        " (use starttls(), SMTP_SSL, or set_allow_cleartext_auth(true))");
  }
}

std::unique_ptr<sasl::mechanism> login_mechanism(const SessionState& session, std::string_view user,
                                                 std::string_view password) {
  require_auth_extension(session);
  const sasl::credentials creds{std::string(user), std::string(password), std::nullopt, ""};
  const auto name = sasl::choose_mechanism(session.esmtp_features.at("auth"), creds);
  if (!name) throw SMTPException("No suitable authentication method found.");
  auto mech = sasl::make_mechanism(*name, creds);
  if (!mech) throw SMTPException("No suitable authentication method found.");
  return mech;
}

std::unique_ptr<sasl::mechanism> oauth2_mechanism(const SessionState& session,
                                                  std::string_view user, std::string_view token) {
  require_auth_extension(session);
  const sasl::credentials creds{std::string(user), std::nullopt, std::string(token), ""};
  auto mech = sasl::make_mechanism("XOAUTH2", creds);
  if (!mech) throw SMTPException("No suitable authentication method found.");
  return mech;
}

std::span<const std::string> mail_options_to_send(const SessionState& session,
                                                  std::string_view sender,
                                                  std::span<const std::string> options) {
  // Checked even when not sent, so bad input fails the same way against any server.
  (void)wire::command::mail(sender, options);
  if (!session.does_esmtp) return {};
  if (std::any_of(options.begin(), options.end(), is_smtputf8) &&
      !has_feature(session.esmtp_features, "smtputf8")) {
    throw SMTPNotSupportedError("SMTPUTF8 not supported by server");
  }
  return options;
}

std::span<const std::string> rcpt_options_to_send(const SessionState& session,
                                                  std::string_view recipient,
                                                  std::span<const std::string> options) {
  (void)wire::command::rcpt(recipient, options);
  return session.does_esmtp ? options : std::span<const std::string>{};
}

PreparedMessage prepare_message(std::string_view raw, std::optional<std::string> from_addr,
                                std::optional<std::vector<std::string>> to_addrs,
                                const std::vector<std::string>& mail_options,
                                const std::vector<std::string>& rcpt_options) {
  MessageEnvelope env = envelope_from_message(raw);
  if (!from_addr && env.from.empty()) {
    throw std::invalid_argument("message has no Sender or From address (pass from_addr)");
  }
  PreparedMessage p;
  p.from = from_addr ? std::move(*from_addr) : std::move(env.from);
  p.to = to_addrs ? std::move(*to_addrs) : std::move(env.to);
  p.message = std::move(env.message);
  p.mail_options = mail_options;
  // As smtplib: non-ASCII addresses need SMTPUTF8 (RFC 6531), announced with BODY=8BITMIME.
  auto non_ascii = [](std::string_view a) {
    return std::any_of(a.begin(), a.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  };
  if (non_ascii(p.from) || std::any_of(p.to.begin(), p.to.end(), non_ascii)) {
    (void)wire::command::mail(p.from, mail_options);  // refuse bad input before the EHLO
    for (const auto& t : p.to) (void)wire::command::rcpt(t, rcpt_options);
    p.international = true;
    p.mail_options.push_back("SMTPUTF8");
    p.mail_options.push_back("BODY=8BITMIME");
  }
  return p;
}

void require_smtputf8(const SessionState& session) {
  if (!has_feature(session.esmtp_features, "smtputf8")) {
    throw SMTPNotSupportedError(
        "One or more source or delivery addresses require internationalized email support, but "
        "the server does not advertise the required SMTPUTF8 capability");
  }
}

TlsContext starttls_context(std::optional<std::string> keyfile, std::optional<std::string> certfile,
                            std::optional<TlsContext> context, const TlsContext& fallback) {
  if (context && (keyfile || certfile)) {
    throw std::invalid_argument("context and keyfile/certfile arguments are mutually exclusive");
  }
  TlsContext tls = context ? std::move(*context) : fallback;
  if (keyfile) tls.keyfile = std::move(keyfile);
  if (certfile) tls.certfile = std::move(certfile);
  return tls;
}

}  // namespace smtp::rules
