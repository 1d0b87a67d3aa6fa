#include "smtp/client.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "smtp/algo/auth.hpp"
#include "smtp/algo/command.hpp"
#include "smtp/algo/data.hpp"
#include "smtp/algo/hello.hpp"
#include "smtp/algo/sendmail.hpp"
#include "smtp/algo/starttls.hpp"
#include "smtp/body_encoder.hpp"
#include "smtp/bytes_repr.hpp"
#include "smtp/command_encoder.hpp"
#include "smtp/message_envelope.hpp"
#include "smtp/sasl/factory.hpp"
#include "smtp/tls_transport.hpp"

namespace smtp {

namespace {

bool is_smtputf8(std::string_view option) {
  std::string lower(option);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "smtputf8";
}

int parse_port(std::string_view text) {
  int port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 0 || port > 65535) {
    throw std::invalid_argument("nonnumeric port: " + std::string(text));
  }
  return port;
}

// smtplib: "host:port" is split when there is exactly one ':'. Also "[v6]:port".
std::pair<std::string, int> split_host_port(const std::string& host, int port) {
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

}  // namespace

SMTP::SMTP(const std::string& host, int port, std::optional<std::string> local_hostname,
           Timeout timeout)
    : SMTP(no_connect_t{}, false, std::move(local_hostname), timeout) {
  if (!host.empty()) connect_or_raise(host, port);
}

SMTP::SMTP(no_connect_t, bool lmtp, std::optional<std::string> local_hostname, Timeout timeout) {
  state_.lmtp = lmtp;
  state_.local_hostname = local_hostname ? std::move(*local_hostname) : default_local_hostname();
  driver_.set_timeout(timeout);
}

SMTP::~SMTP() = default;
SMTP::SMTP(SMTP&&) noexcept = default;
SMTP& SMTP::operator=(SMTP&&) noexcept = default;

void SMTP::connect_or_raise(const std::string& host, int port) {
  const Reply r = connect(host, port);
  if (r.code != 220) {
    close();
    throw SMTPConnectError(r.code, r.text);
  }
}

std::unique_ptr<Transport> SMTP::open_transport(const std::string& host, int port) {
  return connect_tcp(host, port, driver_.deadline());
}

Reply SMTP::connect(const std::string& host_in, int port_in) {
  auto [host, port] = split_host_port(host_in, port_in);
  if (port == 0) port = port_default();
  if (driver_.debuglevel() > 0) {
    driver_.debug("connect: (" + bytes_repr(host, false) + ", " + std::to_string(port) + ")");
  }
  driver_.close();
  host_ = host;
  auto transport = open_transport(host, port);
  return connect(std::move(transport));
}

Reply SMTP::connect(std::unique_ptr<Transport> transport) {
  driver_.attach(std::move(transport));
  state_.forget_hello();
  authenticated_ = false;
  data_replies_.clear();
  const Reply r = getreply();
  if (driver_.debuglevel() > 0) {
    driver_.debug("connect: (" + std::to_string(r.code) + ", " + bytes_repr(r.text) + ")");
  }
  return r;
}

Reply SMTP::getreply() {
  algo::ReadReplyAlgo a;
  driver_.run(a);
  return a.reply();
}

Reply SMTP::docmd(std::string_view cmd, std::string_view args) {
  algo::CommandAlgo a(command::line(cmd, args));
  driver_.run(a);
  return a.reply();
}

void SMTP::putcmd(std::string_view cmd, std::string_view args) {
  algo::WriteAlgo a(command::line(cmd, args));
  driver_.run(a);
}

Reply SMTP::helo(std::string_view name) {
  algo::HelloAlgo a(state_, algo::HelloAlgo::kind::helo, name);
  driver_.run(a);
  return a.reply();
}

Reply SMTP::ehlo(std::string_view name) {
  algo::HelloAlgo a(state_, algo::HelloAlgo::kind::ehlo, name);
  driver_.run(a);
  return a.reply();
}

void SMTP::ehlo_or_helo_if_needed() {
  algo::EhloOrHeloAlgo a(state_);
  driver_.run(a);
}

Reply SMTP::verify(std::string_view address) {
  return docmd("vrfy", command::address_only(address));
}

Reply SMTP::expn(std::string_view address) {
  return docmd("expn", command::address_only(address));
}

std::string SMTP::help(std::string_view args) {
  return docmd("help", args).text;
}

Reply SMTP::rset() {
  state_.accepted_recipients.clear();
  return docmd("rset");
}

Reply SMTP::noop() {
  return docmd("noop");
}

Reply SMTP::mail(std::string_view sender, std::span<const std::string> options) {
  // Checked even when not sent, so bad input fails the same way against any server.
  (void)command::mail(sender, options);
  std::span<const std::string> sent;
  if (state_.does_esmtp) {
    if (std::any_of(options.begin(), options.end(), is_smtputf8) && !has_extn("smtputf8")) {
      throw SMTPNotSupportedError("SMTPUTF8 not supported by server");
    }
    sent = options;
  }
  algo::CommandAlgo a(command::mail(sender, sent));
  state_.accepted_recipients.clear();
  driver_.run(a);
  return a.reply();
}

Reply SMTP::rcpt(std::string_view recipient, std::span<const std::string> options) {
  (void)command::rcpt(recipient, options);
  algo::CommandAlgo a(
      command::rcpt(recipient, state_.does_esmtp ? options : std::span<const std::string>{}));
  driver_.run(a);
  if (a.reply().code == 250 || a.reply().code == 251) {
    state_.accepted_recipients.emplace_back(recipient);
  }
  return a.reply();
}

Reply SMTP::data(std::string_view msg) {
  algo::DataAlgo a(state_, BodyEncoder::encode_all(msg));
  data_replies_.clear();
  driver_.run(a);
  data_replies_ = a.replies();
  return a.reply();
}

RefusedRecipients SMTP::sendmail(std::string_view from_addr,
                                 const std::vector<std::string>& to_addrs, std::string_view msg,
                                 const Options& mail_options, const Options& rcpt_options) {
  check_tls_policy("sendmail");
  algo::SendmailAlgo a(state_, from_addr, to_addrs, msg, mail_options, rcpt_options);
  data_replies_.clear();
  try {
    driver_.run(a);
  } catch (...) {
    data_replies_ = a.data_replies();
    throw;
  }
  data_replies_ = a.data_replies();
  return a.refused();
}

RefusedRecipients SMTP::send_message(std::string_view msg, std::optional<std::string> from_addr,
                                     std::optional<std::vector<std::string>> to_addrs,
                                     const Options& mail_options, const Options& rcpt_options) {
  MessageEnvelope env = envelope_from_message(msg);
  if (!from_addr && env.from.empty()) {
    throw std::invalid_argument("message has no Sender or From address (pass from_addr)");
  }
  const std::string from = from_addr ? *from_addr : env.from;
  const std::vector<std::string> to = to_addrs ? *to_addrs : env.to;
  // As smtplib: non-ASCII addresses need SMTPUTF8 (RFC 6531), announced with BODY=8BITMIME.
  auto non_ascii = [](std::string_view a) {
    return std::any_of(a.begin(), a.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  };
  if (non_ascii(from) || std::any_of(to.begin(), to.end(), non_ascii)) {
    (void)command::mail(from, mail_options);  // refuse bad input before the EHLO
    for (const auto& t : to) (void)command::rcpt(t, rcpt_options);
    ehlo_or_helo_if_needed();
    if (!has_extn("smtputf8")) {
      throw SMTPNotSupportedError(
          "One or more source or delivery addresses require internationalized email support, but "
          "the server does not advertise the required SMTPUTF8 capability");
    }
    Options international = mail_options;
    international.push_back("SMTPUTF8");
    international.push_back("BODY=8BITMIME");
    return sendmail(from, to, env.message, international, rcpt_options);
  }
  return sendmail(from, to, env.message, mail_options, rcpt_options);
}

Reply SMTP::quit() {
  const Reply r = docmd("quit");
  state_.forget_hello();
  authenticated_ = false;
  close();
  return r;
}

static bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(bare, ec);
  return !ec && addr.is_loopback();
}

void SMTP::check_tls_policy(const char* what) const {
  if (require_tls_ && connected() && !encrypted()) {
    throw SMTPNotSupportedError(
        std::string("TLS is required but the connection is not encrypted; ") + what +
        " refused (a server that does not offer STARTTLS may be "
        "the victim of a stripping attack)");
  }
}

Reply SMTP::starttls(std::optional<std::string> keyfile, std::optional<std::string> certfile,
                     std::optional<TlsContext> context) {
  if (context && (keyfile || certfile)) {
    throw std::invalid_argument("context and keyfile/certfile arguments are mutually exclusive");
  }
  if (encrypted()) throw SSLError("the connection is already encrypted");
  TlsContext tls = context ? std::move(*context) : tls_;
  if (keyfile) tls.keyfile = std::move(keyfile);
  if (certfile) tls.certfile = std::move(certfile);
  driver_.set_tls(std::move(tls), host_);
  algo::StartTlsAlgo a(state_);
  driver_.run(a);
  authenticated_ = false;
  return a.reply();
}

Reply SMTP::login(std::string_view user, std::string_view password, bool initial_response_ok) {
  ehlo_or_helo_if_needed();
  if (!has_extn("auth"))
    throw SMTPNotSupportedError("SMTP AUTH extension not supported by server.");
  const sasl::credentials creds{std::string(user), std::string(password), std::nullopt, ""};
  const auto name = sasl::choose_mechanism(state_.esmtp_features.at("auth"), creds);
  if (!name) throw SMTPException("No suitable authentication method found.");
  auto mech = sasl::make_mechanism(*name, creds);
  if (!mech) throw SMTPException("No suitable authentication method found.");
  return auth(*mech, initial_response_ok);
}

Reply SMTP::login_oauth2(std::string_view user, std::string_view token, bool initial_response_ok) {
  ehlo_or_helo_if_needed();
  if (!has_extn("auth"))
    throw SMTPNotSupportedError("SMTP AUTH extension not supported by server.");
  const sasl::credentials creds{std::string(user), std::nullopt, std::string(token), ""};
  auto mech = sasl::make_mechanism("XOAUTH2", creds);
  if (!mech) throw SMTPException("No suitable authentication method found.");
  return auth(*mech, initial_response_ok);
}

Reply SMTP::auth(std::string_view mechanism, sasl::callback_mechanism::callback authobject,
                 bool initial_response_ok) {
  sasl::callback_mechanism mech{std::string(mechanism), std::move(authobject)};
  return auth(mech, initial_response_ok);
}

Reply SMTP::auth(sasl::mechanism& mechanism, bool initial_response_ok) {
  check_tls_policy("AUTH");
  if (mechanism.exposes_secret() && !encrypted() && !allow_cleartext_auth_ &&
      !is_loopback_host(host_)) {
    throw SMTPException("refusing to send " + std::string(mechanism.name()) +
                        " credentials over an unencrypted connection to " + host_ +
                        " (use starttls(), SMTP_SSL, or set_allow_cleartext_auth(true))");
  }
  algo::AuthAlgo a(mechanism, initial_response_ok, authenticated_);
  driver_.run(a);
  authenticated_ = true;
  return a.reply();
}

SMTP_SSL::SMTP_SSL(const std::string& host, int port, std::optional<std::string> local_hostname,
                   std::optional<std::string> keyfile, std::optional<std::string> certfile,
                   Timeout timeout, std::optional<TlsContext> context)
    : SMTP(no_connect_t{}, false, std::move(local_hostname), timeout) {
  if (context && (keyfile || certfile)) {
    throw std::invalid_argument("context and keyfile/certfile arguments are mutually exclusive");
  }
  if (context) tls_ = std::move(*context);
  if (keyfile) tls_.keyfile = std::move(keyfile);
  if (certfile) tls_.certfile = std::move(certfile);
  if (!host.empty()) connect_or_raise(host, port);
}

std::unique_ptr<Transport> SMTP_SSL::open_transport(const std::string& host, int port) {
  return connect_tls(host, port, tls_, driver_.deadline());
}

LMTP::LMTP(const std::string& host, int port, std::optional<std::string> local_hostname,
           Timeout timeout)
    : SMTP(no_connect_t{}, true, std::move(local_hostname), timeout) {
  if (!host.empty()) connect_or_raise(host, port);
}

std::unique_ptr<Transport> LMTP::open_transport(const std::string& host, int port) {
  if (!host.empty() && host.front() == '/') return connect_unix(host, driver_.deadline());
  return SMTP::open_transport(host, port);
}

}  // namespace smtp
