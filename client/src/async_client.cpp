#include "smtp/async_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>

#include "smtp/algo/auth.hpp"
#include "smtp/algo/command.hpp"
#include "smtp/algo/data.hpp"
#include "smtp/algo/hello.hpp"
#include "smtp/algo/sendmail.hpp"
#include "smtp/algo/sendmany.hpp"
#include "smtp/algo/starttls.hpp"
#include "smtp/client_rules.hpp"
#include "smtp/wire/body_encoder.hpp"
#include "smtp/wire/bytes_repr.hpp"
#include "smtp/wire/command_encoder.hpp"

namespace smtp {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The connect deadline (resolve + connect together, as the sync transport): when it passes,
// `expire` cancels what is pending. Once the guard is gone the callback touches nothing.
class ConnectDeadline {
 public:
  ConnectDeadline(const asio::any_io_executor& ex, Timeout timeout, std::function<void()> expire)
      : state_(std::make_shared<State>()) {
    if (!timeout || timeout->count() > max_timeout_seconds) return;
    timer_ = std::make_unique<asio::steady_timer>(ex);
    timer_->expires_after(std::chrono::duration_cast<Clock::duration>(*timeout));
    timer_->async_wait([state = state_, expire = std::move(expire)](error_code ec) {
      if (ec || state->finished) return;
      state->fired = true;
      expire();
    });
  }
  ~ConnectDeadline() {
    state_->finished = true;
    if (timer_) timer_->cancel();
  }
  ConnectDeadline(const ConnectDeadline&) = delete;
  ConnectDeadline& operator=(const ConnectDeadline&) = delete;
  bool fired() const { return state_->fired; }

 private:
  struct State {
    bool fired = false;
    bool finished = false;
  };
  std::shared_ptr<State> state_;
  std::unique_ptr<asio::steady_timer> timer_;
};

// Runs a whole sendmail transaction; the per-recipient replies after the data are kept for
// data_replies() whether it succeeded or raised (as SMTP::sendmail).
template <class Driver>
asio::awaitable<RefusedRecipients> run_transaction(
    Driver& driver, algo::SendmailAlgo& a,
    std::vector<std::pair<std::string, Reply>>& data_replies) {
  data_replies.clear();
  std::exception_ptr failure;
  try {
    co_await driver.run(a);
  } catch (...) {
    failure = std::current_exception();
  }
  data_replies = a.data_replies();
  if (failure) std::rethrow_exception(failure);
  RefusedRecipients refused = a.refused();
  co_return refused;
}

}  // namespace

AsyncSMTP::AsyncSMTP(executor_type ex, std::optional<std::string> local_hostname, Timeout timeout)
    : ex_(ex), driver_(AsyncStream(ex), timeout, false) {
  state_.local_hostname = local_hostname ? std::move(*local_hostname) : default_local_hostname();
}

AsyncSMTP::AsyncSMTP(lmtp_t, executor_type ex, std::optional<std::string> local_hostname,
                     Timeout timeout)
    : AsyncSMTP(std::move(ex), std::move(local_hostname), timeout) {
  state_.lmtp = true;
}

AsyncSMTP::~AsyncSMTP() = default;

asio::awaitable<AsyncStream> AsyncSMTP::open_tcp(std::string host_in, int port) {
  std::string host = host_in;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  tcp::resolver resolver(ex_);
  tcp::socket socket(ex_);
  ConnectDeadline deadline(ex_, driver_.timeout(), [&resolver, &socket] {
    resolver.cancel();
    error_code ignored;
    socket.close(ignored);
  });
  auto [rec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port), use_tuple);
  if (deadline.fired()) throw SMTPTimeoutError("timed out resolving the server's name");
  if (rec) throw SMTPConnectError(-1, "cannot resolve " + host + ": " + rec.message());
  auto [cec, endpoint] = co_await asio::async_connect(socket, endpoints, use_tuple);
  (void)endpoint;
  if (deadline.fired()) throw SMTPTimeoutError("timed out connecting to the server");
  rules::throw_if_connect_failed(cec, host + " port " + std::to_string(port));
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  AsyncStream stream(std::move(socket));
  co_return stream;
}

asio::awaitable<AsyncStream> AsyncSMTP::open_unix(std::string path) {
  asio::local::stream_protocol::socket socket(ex_);
  ConnectDeadline deadline(ex_, driver_.timeout(), [&socket] {
    error_code ignored;
    socket.close(ignored);
  });
  auto [ec] =
      co_await socket.async_connect(asio::local::stream_protocol::endpoint(path), use_tuple);
  if (deadline.fired()) throw SMTPTimeoutError("timed out connecting to the server");
  rules::throw_if_connect_failed(ec, path);
  AsyncStream stream(std::move(socket));
  co_return stream;
}

asio::awaitable<AsyncStream> AsyncSMTP::open_stream(std::string host, int port) {
  AsyncStream stream = co_await open_tcp(std::move(host), port);
  co_return stream;
}

asio::awaitable<Reply> AsyncSMTP::connect(std::string host_in, int port_in) {
  const std::pair<std::string, int> split = rules::split_host_port(host_in, port_in);
  const std::string host = split.first;
  const int port = split.second == 0 ? port_default() : split.second;
  if (driver_.debuglevel() > 0) {
    driver_.debug("connect: (" + wire::bytes_repr(host, false) + ", " + std::to_string(port) + ")");
  }
  driver_.close();
  host_ = host;
  AsyncStream stream = co_await open_stream(host, port);
  driver_.attach(std::move(stream));
  co_await after_open();
  Reply greeting = co_await getreply_after_connect();
  co_return greeting;
}

asio::awaitable<Reply> AsyncSMTP::connect(AsyncStream stream, std::string host) {
  host_ = std::move(host);
  driver_.attach(std::move(stream));
  Reply greeting = co_await getreply_after_connect();
  co_return greeting;
}

asio::awaitable<Reply> AsyncSMTP::getreply_after_connect() {
  state_.forget_hello();
  authenticated_ = false;
  data_replies_.clear();
  algo::ReadReplyAlgo greeting(reply_to::greeting);
  co_await driver_.run(greeting);
  Reply r = greeting.reply();
  if (driver_.debuglevel() > 0) {
    driver_.debug("connect: (" + std::to_string(r.code) + ", " + wire::bytes_repr(r.text) + ")");
  }
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::open(std::string host, int port) {
  Reply r = co_await connect(std::move(host), port);
  if (r.code != 220) {
    close();
    throw SMTPConnectError(r.code, r.text);
  }
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::getreply() {
  algo::ReadReplyAlgo a;
  co_await driver_.run(a);
  Reply r = a.reply();
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::docmd(std::string cmd, std::string args) {
  Reply r = co_await command_reply(wire::command::line(cmd, args), reply_to::any);
  co_return r;
}

// One command whose reply must be one `expect` can get (check_reply_fits).
asio::awaitable<Reply> AsyncSMTP::command_reply(std::string line, reply_to expect) {
  algo::CommandAlgo a(std::move(line), expect);
  co_await driver_.run(a);
  Reply r = a.reply();
  co_return r;
}

asio::awaitable<void> AsyncSMTP::putcmd(std::string cmd, std::string args) {
  algo::WriteAlgo a(wire::command::line(cmd, args));
  co_await driver_.run(a);
}

asio::awaitable<Reply> AsyncSMTP::helo(std::string name) {
  algo::HelloAlgo a(state_, algo::HelloAlgo::kind::helo, name);
  co_await driver_.run(a);
  Reply r = a.reply();
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::ehlo(std::string name) {
  algo::HelloAlgo a(state_, algo::HelloAlgo::kind::ehlo, name);
  co_await driver_.run(a);
  Reply r = a.reply();
  co_return r;
}

asio::awaitable<void> AsyncSMTP::ehlo_or_helo_if_needed() {
  algo::EhloOrHeloAlgo a(state_);
  co_await driver_.run(a);
}

asio::awaitable<Reply> AsyncSMTP::verify(std::string address) {
  std::string line = wire::command::line("vrfy", wire::command::address_only(address));
  Reply r = co_await command_reply(std::move(line), reply_to::vrfy);
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::expn(std::string address) {
  std::string line = wire::command::line("expn", wire::command::address_only(address));
  Reply r = co_await command_reply(std::move(line), reply_to::expn);
  co_return r;
}

asio::awaitable<std::string> AsyncSMTP::help(std::string args) {
  std::string line = wire::command::line("help", args);
  Reply r = co_await command_reply(std::move(line), reply_to::help);
  std::string text = std::move(r.text);
  co_return text;
}

asio::awaitable<Reply> AsyncSMTP::rset() {
  state_.accepted_recipients.clear();
  std::string line = wire::command::line("rset", {});
  Reply r = co_await command_reply(std::move(line), reply_to::rset);
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::noop() {
  std::string line = wire::command::line("noop", {});
  Reply r = co_await command_reply(std::move(line), reply_to::noop);
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::mail(std::string sender, Options options) {
  rules::check_tls_policy(require_tls_, connected(), encrypted(), "MAIL");
  const auto sent = rules::mail_options_to_send(state_, sender, options);
  algo::CommandAlgo a(wire::command::mail(sender, sent), reply_to::mail);
  state_.accepted_recipients.clear();
  co_await driver_.run(a);
  Reply r = a.reply();
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::rcpt(std::string recipient, Options options) {
  algo::CommandAlgo a(
      wire::command::rcpt(recipient, rules::rcpt_options_to_send(state_, recipient, options)),
      reply_to::rcpt);
  co_await driver_.run(a);
  Reply r = a.reply();
  if (r.code == 250 || r.code == 251) state_.accepted_recipients.push_back(recipient);
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::data(std::string msg) {
  rules::check_tls_policy(require_tls_, connected(), encrypted(), "DATA");
  algo::DataAlgo a(state_, wire::BodyEncoder::encode_all(msg));
  data_replies_.clear();
  co_await driver_.run(a);
  data_replies_ = a.replies();
  Reply r = a.reply();
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::data(BodySource& body) {
  rules::check_tls_policy(require_tls_, connected(), encrypted(), "DATA");
  algo::DataAlgo a(state_, body);
  data_replies_.clear();
  co_await driver_.run(a);
  data_replies_ = a.replies();
  Reply r = a.reply();
  co_return r;
}

asio::awaitable<RefusedRecipients> AsyncSMTP::sendmail(std::string from_addr,
                                                       std::vector<std::string> to_addrs,
                                                       BodySource& body, Options mail_options,
                                                       Options rcpt_options) {
  rules::check_tls_policy(require_tls_, connected(), encrypted(), "sendmail");
  algo::SendmailAlgo a(state_, from_addr, std::move(to_addrs), body, std::move(mail_options),
                       std::move(rcpt_options));
  RefusedRecipients refused = co_await run_transaction(driver_, a, data_replies_);
  co_return refused;
}

asio::awaitable<RefusedRecipients> AsyncSMTP::sendmail(std::string from_addr,
                                                       std::vector<std::string> to_addrs,
                                                       std::string msg, Options mail_options,
                                                       Options rcpt_options) {
  rules::check_tls_policy(require_tls_, connected(), encrypted(), "sendmail");
  algo::SendmailAlgo a(state_, from_addr, std::move(to_addrs), msg, std::move(mail_options),
                       std::move(rcpt_options));
  RefusedRecipients refused = co_await run_transaction(driver_, a, data_replies_);
  co_return refused;
}

asio::awaitable<std::vector<MailResult>> AsyncSMTP::sendmail_many(
    std::span<const OutgoingMail> mails) {
  rules::check_tls_policy(require_tls_, connected(), encrypted(), "sendmail_many");
  algo::SendmanyAlgo a(state_, mails, state_.pipeline_depth);
  data_replies_.clear();
  co_await driver_.run(a);
  std::vector<MailResult> results = std::move(a.results());
  co_return results;
}

asio::awaitable<RefusedRecipients> AsyncSMTP::send_message(
    std::string msg, std::optional<std::string> from_addr,
    std::optional<std::vector<std::string>> to_addrs, Options mail_options, Options rcpt_options) {
  rules::PreparedMessage p = rules::prepare_message(msg, std::move(from_addr), std::move(to_addrs),
                                                    mail_options, rcpt_options);
  if (p.international) {
    co_await ehlo_or_helo_if_needed();
    rules::require_smtputf8(state_);
  }
  RefusedRecipients refused =
      co_await sendmail(std::move(p.from), std::move(p.to), std::move(p.message),
                        std::move(p.mail_options), std::move(rcpt_options));
  co_return refused;
}

asio::awaitable<Reply> AsyncSMTP::quit() {
  std::string line = wire::command::line("quit", {});
  Reply r = co_await command_reply(std::move(line), reply_to::quit);
  state_.forget_hello();
  authenticated_ = false;
  close();
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::starttls(std::optional<std::string> keyfile,
                                           std::optional<std::string> certfile,
                                           std::optional<TlsContext> context) {
  const TlsContext tls =
      rules::starttls_context(std::move(keyfile), std::move(certfile), std::move(context), tls_);
  if (encrypted()) throw SSLError("the connection is already encrypted");
  driver_.set_tls(tls, host_);
  algo::StartTlsAlgo a(state_);
  co_await driver_.run(a);
  authenticated_ = false;
  Reply r = a.reply();
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::starttls(TlsContext context) {
  std::optional<TlsContext> given(std::move(context));
  std::optional<std::string> none;
  Reply r = co_await starttls(none, none, std::move(given));
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::starttls() {
  std::optional<TlsContext> given;
  std::optional<std::string> none;
  Reply r = co_await starttls(none, none, std::move(given));
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::login(std::string user, std::string password,
                                        bool initial_response_ok) {
  co_await ehlo_or_helo_if_needed();
  auto mech = rules::login_mechanism(state_, user, password);
  Reply r = co_await auth(*mech, initial_response_ok);
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::login_oauth2(std::string user, std::string token,
                                               bool initial_response_ok) {
  co_await ehlo_or_helo_if_needed();
  auto mech = rules::oauth2_mechanism(state_, user, token);
  Reply r = co_await auth(*mech, initial_response_ok);
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::auth(std::string mechanism,
                                       sasl::callback_mechanism::callback authobject,
                                       bool initial_response_ok) {
  sasl::callback_mechanism mech{std::move(mechanism), std::move(authobject)};
  Reply r = co_await auth(mech, initial_response_ok);
  co_return r;
}

asio::awaitable<Reply> AsyncSMTP::auth(sasl::mechanism& mechanism, bool initial_response_ok) {
  rules::check_tls_policy(require_tls_, connected(), encrypted(), "AUTH");
  rules::check_cleartext_auth(mechanism, encrypted(), allow_cleartext_auth_, host_);
  algo::AuthAlgo a(mechanism, initial_response_ok, authenticated_);
  co_await driver_.run(a);
  authenticated_ = true;
  Reply r = a.reply();
  co_return r;
}

AsyncLMTP::AsyncLMTP(executor_type ex, std::optional<std::string> local_hostname, Timeout timeout)
    : AsyncSMTP(lmtp_t{}, std::move(ex), std::move(local_hostname), timeout) {}

asio::awaitable<AsyncStream> AsyncLMTP::open_stream(std::string host, int port) {
  if (!host.empty() && host.front() == '/') {
    AsyncStream stream = co_await open_unix(std::move(host));
    co_return stream;
  }
  AsyncStream stream = co_await open_tcp(std::move(host), port);
  co_return stream;
}

AsyncSMTP_SSL::AsyncSMTP_SSL(executor_type ex, std::optional<std::string> local_hostname,
                             std::optional<std::string> keyfile,
                             std::optional<std::string> certfile, Timeout timeout,
                             std::optional<TlsContext> context)
    : AsyncSMTP(std::move(ex), std::move(local_hostname), timeout) {
  tls_ = rules::starttls_context(std::move(keyfile), std::move(certfile), std::move(context),
                                 TlsContext{});
}

asio::awaitable<void> AsyncSMTP_SSL::after_open() {
  driver_.set_tls(tls_, host_);
  co_await driver_.handshake();
}

}  // namespace smtp
