#include "smtp/client.hpp"

#include <stdexcept>

#include "smtp/algo/auth.hpp"
#include "smtp/algo/command.hpp"
#include "smtp/algo/data.hpp"
#include "smtp/algo/hello.hpp"
#include "smtp/algo/sendmail.hpp"
#include "smtp/algo/sendmany.hpp"
#include "smtp/algo/starttls.hpp"
#include "smtp/client_rules.hpp"
#include "smtp/message_envelope.hpp"
#include "smtp/sasl/factory.hpp"
#include "smtp/tls_transport.hpp"
#include "smtp/wire/body_encoder.hpp"
#include "smtp/wire/bytes_repr.hpp"
#include "smtp/wire/command_encoder.hpp"

namespace smtp {
namespace {

// Runs a whole sendmail transaction; the per-recipient replies after the data are kept for
// data_replies() whether it succeeded or raised.
RefusedRecipients run_transaction(SyncDriver& driver, algo::SendmailAlgo& a,
                                  std::vector<std::pair<std::string, Reply>>& data_replies) {
  data_replies.clear();
  try {
    driver.run(a);
  } catch (...) {
    data_replies = a.data_replies();
    throw;
  }
  data_replies = a.data_replies();
  return a.refused();
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
  auto [host, port] = rules::split_host_port(host_in, port_in);
  if (port == 0) port = port_default();
  if (driver_.debuglevel() > 0) {
    driver_.debug("connect: (" + wire::bytes_repr(host, false) + ", " + std::to_string(port) + ")");
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
  algo::ReadReplyAlgo greeting(reply_to::greeting);
  driver_.run(greeting);
  const Reply r = greeting.reply();
  if (driver_.debuglevel() > 0) {
    driver_.debug("connect: (" + std::to_string(r.code) + ", " + wire::bytes_repr(r.text) + ")");
  }
  return r;
}

Reply SMTP::getreply() {
  algo::ReadReplyAlgo a;
  driver_.run(a);
  return a.reply();
}

Reply SMTP::docmd(std::string_view cmd, std::string_view args) {
  return command_reply(wire::command::line(cmd, args), reply_to::any);
}

// One command whose reply must be one `expect` can get (check_reply_fits).
Reply SMTP::command_reply(std::string line, reply_to expect) {
  algo::CommandAlgo a(std::move(line), expect);
  driver_.run(a);
  return a.reply();
}

void SMTP::putcmd(std::string_view cmd, std::string_view args) {
  algo::WriteAlgo a(wire::command::line(cmd, args));
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
  return command_reply(wire::command::line("vrfy", wire::command::address_only(address)),
                       reply_to::vrfy);
}

Reply SMTP::expn(std::string_view address) {
  return command_reply(wire::command::line("expn", wire::command::address_only(address)),
                       reply_to::expn);
}

std::string SMTP::help(std::string_view args) {
  return command_reply(wire::command::line("help", args), reply_to::help).text;
}

Reply SMTP::rset() {
  state_.accepted_recipients.clear();
  return command_reply(wire::command::line("rset", {}), reply_to::rset);
}

Reply SMTP::noop() {
  return command_reply(wire::command::line("noop", {}), reply_to::noop);
}

Reply SMTP::mail(std::string_view sender, std::span<const std::string> options) {
  check_tls_policy("MAIL");
  const auto sent = rules::mail_options_to_send(state_, sender, options);
  algo::CommandAlgo a(wire::command::mail(sender, sent), reply_to::mail);
  state_.accepted_recipients.clear();
  driver_.run(a);
  return a.reply();
}

Reply SMTP::rcpt(std::string_view recipient, std::span<const std::string> options) {
  algo::CommandAlgo a(
      wire::command::rcpt(recipient, rules::rcpt_options_to_send(state_, recipient, options)),
      reply_to::rcpt);
  driver_.run(a);
  if (a.reply().code == 250 || a.reply().code == 251) {
    state_.accepted_recipients.emplace_back(recipient);
  }
  return a.reply();
}

Reply SMTP::data(std::string_view msg) {
  check_tls_policy("DATA");
  algo::DataAlgo a(state_, wire::BodyEncoder::encode_all(msg));
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
  return run_transaction(driver_, a, data_replies_);
}

Reply SMTP::data(BodySource& body) {
  check_tls_policy("DATA");
  algo::DataAlgo a(state_, body);
  data_replies_.clear();
  driver_.run(a);
  data_replies_ = a.replies();
  return a.reply();
}

Reply SMTP::data(std::istream& body) {
  StreamBody source(body);
  return data(source);
}

RefusedRecipients SMTP::sendmail(std::string_view from_addr,
                                 const std::vector<std::string>& to_addrs, BodySource& body,
                                 const Options& mail_options, const Options& rcpt_options) {
  check_tls_policy("sendmail");
  algo::SendmailAlgo a(state_, from_addr, to_addrs, body, mail_options, rcpt_options);
  return run_transaction(driver_, a, data_replies_);
}

RefusedRecipients SMTP::sendmail(std::string_view from_addr,
                                 const std::vector<std::string>& to_addrs, std::istream& body,
                                 const Options& mail_options, const Options& rcpt_options) {
  StreamBody source(body);
  return sendmail(from_addr, to_addrs, source, mail_options, rcpt_options);
}

std::vector<MailResult> SMTP::sendmail_many(std::span<const OutgoingMail> mails) {
  check_tls_policy("sendmail_many");
  algo::SendmanyAlgo a(state_, mails, state_.pipeline_depth);
  data_replies_.clear();
  driver_.run(a);
  return std::move(a.results());
}

RefusedRecipients SMTP::send_message(std::string_view msg, std::optional<std::string> from_addr,
                                     std::optional<std::vector<std::string>> to_addrs,
                                     const Options& mail_options, const Options& rcpt_options) {
  const rules::PreparedMessage p = rules::prepare_message(
      msg, std::move(from_addr), std::move(to_addrs), mail_options, rcpt_options);
  if (p.international) {
    ehlo_or_helo_if_needed();
    rules::require_smtputf8(state_);
  }
  return sendmail(p.from, p.to, p.message, p.mail_options, rcpt_options);
}

Reply SMTP::quit() {
  const Reply r = command_reply(wire::command::line("quit", {}), reply_to::quit);
  state_.forget_hello();
  authenticated_ = false;
  close();
  return r;
}

void SMTP::check_tls_policy(const char* what) const {
  rules::check_tls_policy(require_tls_, connected(), encrypted(), what);
}

Reply SMTP::starttls(std::optional<std::string> keyfile, std::optional<std::string> certfile,
                     std::optional<TlsContext> context) {
  TlsContext tls =
      rules::starttls_context(std::move(keyfile), std::move(certfile), std::move(context), tls_);
  if (encrypted()) throw SSLError("the connection is already encrypted");
  driver_.set_tls(std::move(tls), host_);
  algo::StartTlsAlgo a(state_);
  driver_.run(a);
  authenticated_ = false;
  return a.reply();
}

Reply SMTP::login(std::string_view user, std::string_view password, bool initial_response_ok) {
  ehlo_or_helo_if_needed();
  auto mech = rules::login_mechanism(state_, user, password);
  return auth(*mech, initial_response_ok);
}

Reply SMTP::login_oauth2(std::string_view user, std::string_view token, bool initial_response_ok) {
  ehlo_or_helo_if_needed();
  auto mech = rules::oauth2_mechanism(state_, user, token);
  return auth(*mech, initial_response_ok);
}

Reply SMTP::auth(std::string_view mechanism, sasl::callback_mechanism::callback authobject,
                 bool initial_response_ok) {
  sasl::callback_mechanism mech{std::string(mechanism), std::move(authobject)};
  return auth(mech, initial_response_ok);
}

Reply SMTP::auth(sasl::mechanism& mechanism, bool initial_response_ok) {
  check_tls_policy("AUTH");
  rules::check_cleartext_auth(mechanism, encrypted(), allow_cleartext_auth_, host_);
  algo::AuthAlgo a(mechanism, initial_response_ok, authenticated_);
  driver_.run(a);
  authenticated_ = true;
  return a.reply();
}

SMTP_SSL::SMTP_SSL(const std::string& host, int port, std::optional<std::string> local_hostname,
                   std::optional<std::string> keyfile, std::optional<std::string> certfile,
                   Timeout timeout, std::optional<TlsContext> context)
    : SMTP(no_connect_t{}, false, std::move(local_hostname), timeout) {
  tls_ = rules::starttls_context(std::move(keyfile), std::move(certfile), std::move(context),
                                 TlsContext{});
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
