// smtplib's SMTP, LMTP and SMTP_SSL as awaitable classes on Boost.Asio C++20 coroutines: the same
// method names, arguments, attributes and exceptions as the sync classes in client.hpp, each
// method returning boost::asio::awaitable<T>. They run the same exchange algorithms
// (smtp::algo::*) through AsyncDriver that the sync classes run through SyncDriver, and the same
// rules (smtp/client_rules.hpp): no second copy of the protocol. Timeouts are per-operation
// deadlines, certificates are verified by default, require_tls and the cleartext-AUTH policy
// apply, and the debug trace never shows a credential, exactly as for smtp::SMTP.
//
// Example (compiled by the tests):
//   #include <boost/asio/co_spawn.hpp>
//   #include <boost/asio/detached.hpp>
//   #include <boost/asio/io_context.hpp>
//   #include <boost/asio/this_coro.hpp>
//   #include <smtp/async_client.hpp>
//
//   boost::asio::io_context ioc;
//   std::string password = "secret", msg = "Subject: hi\r\n\r\nhello\r\n";
//   boost::asio::co_spawn(ioc, [&]() -> boost::asio::awaitable<void> {
//     smtp::AsyncSMTP client(co_await boost::asio::this_coro::executor);
//     co_await client.connect("mail.example.com", 25);
//     co_await client.starttls();
//     co_await client.login("me", password);
//     // GCC 12 cannot compile a braced list argument inside co_await ("array used as
//     // initializer"): name the vector first.
//     std::vector<std::string> to{"you@example.com"};
//     auto refused = co_await client.sendmail("me@example.com", to, msg);
//     co_await client.quit();
//   }, boost::asio::detached);
//   ioc.run();
//
// Arguments are taken by value: an awaitable may be stored and awaited later.
// Unlike smtplib's constructor, constructing never connects (a constructor cannot co_await):
// call connect(), which returns the greeting (as smtplib's connect()); open() also raises
// SMTPConnectError when the greeting is not 220, as smtplib's SMTP(host) does.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "smtp/async_driver.hpp"
#include "smtp/async_stream.hpp"
#include "smtp/body_source.hpp"
#include "smtp/capabilities.hpp"
#include "smtp/client.hpp"  // Options, default_local_hostname
#include "smtp/exceptions.hpp"
#include "smtp/reply.hpp"
#include "smtp/reply_pairing.hpp"
#include "smtp/sasl/callback_mechanism.hpp"
#include "smtp/sasl/mechanism.hpp"
#include "smtp/session.hpp"
#include "smtp/tls_context.hpp"

namespace smtp {

class AsyncSMTP {
 public:
  template <class T>
  using awaitable = boost::asio::awaitable<T>;
  using executor_type = boost::asio::any_io_executor;
  static constexpr int default_port = 25;

  explicit AsyncSMTP(executor_type ex, std::optional<std::string> local_hostname = std::nullopt,
                     Timeout timeout = {});
  virtual ~AsyncSMTP();
  AsyncSMTP(const AsyncSMTP&) = delete;
  AsyncSMTP& operator=(const AsyncSMTP&) = delete;

  executor_type get_executor() const { return ex_; }

  // As SMTP::connect: "host:port" split when port is 0, port 0 means default_port; closes any
  // earlier connection and forgets its HELO/EHLO state; returns the greeting. A failed TCP/Unix
  // connect raises SMTPConnectError (code -1), a deadline SMTPTimeoutError.
  virtual awaitable<Reply> connect(std::string host = "localhost", int port = 0);
  // connect(), then SMTPConnectError (after closing) unless the greeting is 220: what smtplib's
  // SMTP(host, port) constructor does.
  awaitable<Reply> open(std::string host, int port = 0);
  // Runs over a socket connected elsewhere, then reads the greeting.
  awaitable<Reply> connect(AsyncStream stream, std::string host = {});

  awaitable<Reply> docmd(std::string cmd, std::string args = {});
  awaitable<void> putcmd(std::string cmd, std::string args = {});
  awaitable<Reply> getreply();

  awaitable<Reply> helo(std::string name = {});
  awaitable<Reply> ehlo(std::string name = {});
  awaitable<void> ehlo_or_helo_if_needed();
  bool has_extn(std::string_view name) const { return has_feature(state_.esmtp_features, name); }

  awaitable<Reply> verify(std::string address);
  awaitable<Reply> vrfy(std::string address) { return verify(std::move(address)); }
  awaitable<Reply> expn(std::string address);
  awaitable<std::string> help(std::string args = {});
  awaitable<Reply> rset();
  awaitable<Reply> noop();
  awaitable<Reply> mail(std::string sender, Options options = {});
  awaitable<Reply> rcpt(std::string recipient, Options options = {});
  awaitable<Reply> data(std::string msg);
  // Streamed from a source (<smtp/body_source.hpp>: a file, an istream, a callback), encoded on
  // the fly in bounded pieces, as SMTP::data(BodySource&). The source must outlive the awaited
  // call; it is read synchronously between writes.
  awaitable<Reply> data(BodySource& body);

  awaitable<RefusedRecipients> sendmail(std::string from_addr, std::vector<std::string> to_addrs,
                                        std::string msg, Options mail_options = {},
                                        Options rcpt_options = {});
  // Streamed, as SMTP::sendmail(from, to, BodySource&): DATA or BDAT, memory bounded whatever the
  // size. The source must outlive the awaited call.
  awaitable<RefusedRecipients> sendmail(std::string from_addr, std::vector<std::string> to_addrs,
                                        BodySource& body, Options mail_options = {},
                                        Options rcpt_options = {});
  // As SMTP::sendmail_many: one MailResult per message, the next message pipelined behind the
  // previous one's end. `mails` (and any body source) must outlive the awaited call.
  awaitable<std::vector<MailResult>> sendmail_many(std::span<const OutgoingMail> mails);
  awaitable<RefusedRecipients> send_message(
      std::string msg, std::optional<std::string> from_addr = std::nullopt,
      std::optional<std::vector<std::string>> to_addrs = std::nullopt, Options mail_options = {},
      Options rcpt_options = {});

  awaitable<Reply> quit();
  void close() noexcept { driver_.close(); }

  awaitable<Reply> starttls(std::optional<std::string> keyfile, std::optional<std::string> certfile,
                            std::optional<TlsContext> context = std::nullopt);
  awaitable<Reply> starttls(TlsContext context);
  awaitable<Reply> starttls();

  awaitable<Reply> login(std::string user, std::string password, bool initial_response_ok = true);
  awaitable<Reply> login_oauth2(std::string user, std::string token,
                                bool initial_response_ok = true);
  awaitable<Reply> auth(std::string mechanism, sasl::callback_mechanism::callback authobject,
                        bool initial_response_ok = true);
  // The mechanism must outlive the awaited call.
  awaitable<Reply> auth(sasl::mechanism& mechanism, bool initial_response_ok = true);

  void set_debuglevel(int level) { driver_.set_debuglevel(level); }
  void set_debug_sink(DebugSink sink) { driver_.set_debug_sink(std::move(sink)); }
  void set_pipelining(bool on) { state_.allow_pipelining = on; }
  bool pipelining() const { return state_.allow_pipelining; }
  // BDAT chunks (RFC 3030) when the server advertises CHUNKING; on by default, as SMTP.
  void set_chunking(bool on) { state_.allow_chunking = on; }
  bool chunking() const { return state_.allow_chunking; }
  // Largest BDAT chunk in octets (default 1 MiB; 0 counts as 1).
  void set_bdat_chunk_size(std::size_t n) { state_.bdat_chunk_size = n == 0 ? 1 : n; }
  std::size_t bdat_chunk_size() const { return state_.bdat_chunk_size; }
  // sendmail_many(): most messages in flight at once (default 32), as SMTP.
  void set_pipeline_depth(std::size_t n) { state_.pipeline_depth = n == 0 ? 1 : n; }
  std::size_t pipeline_depth() const { return state_.pipeline_depth; }
  void set_require_tls(bool required) { require_tls_ = required; }
  bool require_tls() const { return require_tls_; }
  void set_allow_cleartext_auth(bool allowed) { allow_cleartext_auth_ = allowed; }
  bool encrypted() const { return driver_.encrypted(); }
  bool authenticated() const { return authenticated_; }

  const std::optional<std::string>& helo_resp() const { return state_.helo_resp; }
  const std::optional<std::string>& ehlo_resp() const { return state_.ehlo_resp; }
  bool does_esmtp() const { return state_.does_esmtp; }
  const EsmtpFeatures& esmtp_features() const { return state_.esmtp_features; }
  const std::string& local_hostname() const { return state_.local_hostname; }
  void set_local_hostname(std::string name) { state_.local_hostname = std::move(name); }
  Timeout timeout() const { return driver_.timeout(); }
  void set_timeout(Timeout t) { driver_.set_timeout(t); }
  int debuglevel() const { return driver_.debuglevel(); }
  bool connected() const { return driver_.is_open(); }
  const std::vector<std::pair<std::string, Reply>>& data_replies() const { return data_replies_; }

 protected:
  struct lmtp_t {};
  AsyncSMTP(lmtp_t, executor_type ex, std::optional<std::string> local_hostname, Timeout timeout);
  virtual int port_default() const { return default_port; }
  // Opens the socket (TCP here; Unix paths in AsyncLMTP) before the deadline.
  virtual awaitable<AsyncStream> open_stream(std::string host, int port);
  // After the socket is open, before the greeting (AsyncSMTP_SSL: the TLS handshake).
  virtual awaitable<void> after_open() { co_return; }
  awaitable<AsyncStream> open_tcp(std::string host, int port);
  awaitable<AsyncStream> open_unix(std::string path);
  // One already encoded command line, one reply that must be one `expect` can get.
  awaitable<Reply> command_reply(std::string line, reply_to expect);
  // The greeting after attaching a stream; forgets the previous session's state.
  awaitable<Reply> getreply_after_connect();

  executor_type ex_;
  std::string host_;  // as given to connect(): the name the certificate must match
  TlsContext tls_;    // AsyncSMTP_SSL's context; starttls()'s default
  bool require_tls_ = false;
  bool allow_cleartext_auth_ = false;
  bool authenticated_ = false;
  SessionState state_;
  AsyncDriver<AsyncStream> driver_;
  std::vector<std::pair<std::string, Reply>> data_replies_;
};

// LMTP (RFC 2033): LHLO; a host starting with '/' is a Unix socket path; one reply per accepted
// recipient after the final dot (data_replies(), refused recipients in sendmail's result).
class AsyncLMTP : public AsyncSMTP {
 public:
  static constexpr int default_port = 2003;
  explicit AsyncLMTP(executor_type ex, std::optional<std::string> local_hostname = std::nullopt,
                     Timeout timeout = {});

 protected:
  int port_default() const override { return default_port; }
  awaitable<AsyncStream> open_stream(std::string host, int port) override;
};

// Implicit TLS (RFC 8314), default port 465; the certificate is verified by default.
// keyfile/certfile with a context: std::invalid_argument, as SMTP_SSL.
class AsyncSMTP_SSL : public AsyncSMTP {
 public:
  static constexpr int default_port = 465;
  explicit AsyncSMTP_SSL(executor_type ex, std::optional<std::string> local_hostname = std::nullopt,
                         std::optional<std::string> keyfile = std::nullopt,
                         std::optional<std::string> certfile = std::nullopt, Timeout timeout = {},
                         std::optional<TlsContext> context = std::nullopt);

 protected:
  int port_default() const override { return default_port; }
  awaitable<void> after_open() override;
};

}  // namespace smtp
