// smtplib's SMTP and LMTP classes in C++: same method names, same arguments, same meaning.
// Differences are listed in client/README.md ("Differences from smtplib").
#pragma once

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtp/body_source.hpp"
#include "smtp/capabilities.hpp"
#include "smtp/exceptions.hpp"
#include "smtp/outgoing_mail.hpp"
#include "smtp/reply.hpp"
#include "smtp/reply_pairing.hpp"
#include "smtp/sasl/callback_mechanism.hpp"
#include "smtp/sasl/mechanism.hpp"
#include "smtp/session.hpp"
#include "smtp/sync_driver.hpp"
#include "smtp/tls_context.hpp"
#include "smtp/transport.hpp"

namespace smtp {

using Options = std::vector<std::string>;

// socket.getfqdn(), or "[ip]" when the name has no dot, as smtplib's SMTP.__init__.
std::string default_local_hostname();

class SMTP {
 public:
  static constexpr int default_port = 25;  // smtplib.SMTP_PORT

  // As smtplib.SMTP(host='', port=0, local_hostname=None, timeout=None): with an empty host the
  // object is unconnected (call connect()); otherwise it connects at once and raises
  // SMTPConnectError (after closing) when the greeting is not 220.
  explicit SMTP(const std::string& host = {}, int port = 0,
                std::optional<std::string> local_hostname = std::nullopt, Timeout timeout = {});
  virtual ~SMTP();
  SMTP(const SMTP&) = delete;
  SMTP& operator=(const SMTP&) = delete;
  SMTP(SMTP&&) noexcept;
  SMTP& operator=(SMTP&&) noexcept;

  void set_debuglevel(int level) { driver_.set_debuglevel(level); }
  // sendmail()/send_message() pipeline MAIL, RCPT... and DATA in one write when the server
  // advertises PIPELINING (RFC 2920); on by default. smtplib never pipelines.
  void set_pipelining(bool on) { state_.allow_pipelining = on; }
  bool pipelining() const { return state_.allow_pipelining; }
  // sendmail()/send_message() send the body as BDAT chunks (RFC 3030) when the server advertises
  // CHUNKING; on by default. smtplib never uses BDAT.
  void set_chunking(bool on) { state_.allow_chunking = on; }
  bool chunking() const { return state_.allow_chunking; }
  // Largest BDAT chunk in octets (default 1 MiB; 0 counts as 1).
  void set_bdat_chunk_size(std::size_t n) { state_.bdat_chunk_size = n == 0 ? 1 : n; }
  std::size_t bdat_chunk_size() const { return state_.bdat_chunk_size; }
  // sendmail_many(): most messages in flight at once over a pipelined connection (default 32).
  // 1 (or 0) sends each message only after the previous one's outcome is known.
  void set_pipeline_depth(std::size_t n) { state_.pipeline_depth = n == 0 ? 1 : n; }
  std::size_t pipeline_depth() const { return state_.pipeline_depth; }
  // Where debug lines go (default: std::cerr).
  void set_debug_sink(DebugSink sink) { driver_.set_debug_sink(std::move(sink)); }

  // "host:port" is split when port is 0 and host has exactly one ':' ("[v6]:port" also works);
  // port 0 means default_port. Returns the greeting. Closes any earlier connection and forgets
  // its HELO/EHLO state.
  virtual Reply connect(const std::string& host = "localhost", int port = 0);

  Reply docmd(std::string_view cmd, std::string_view args = {});
  // Writes one command line (no reply read): smtplib's putcmd().
  void putcmd(std::string_view cmd, std::string_view args = {});
  Reply getreply();

  Reply helo(std::string_view name = {});
  Reply ehlo(std::string_view name = {});
  void ehlo_or_helo_if_needed();
  bool has_extn(std::string_view name) const { return has_feature(state_.esmtp_features, name); }

  Reply verify(std::string_view address);
  Reply vrfy(std::string_view address) { return verify(address); }
  Reply expn(std::string_view address);
  std::string help(std::string_view args = {});
  Reply rset();
  Reply noop();
  Reply mail(std::string_view sender, std::span<const std::string> options = {});
  Reply rcpt(std::string_view recipient, std::span<const std::string> options = {});
  // DATA, then the message (normalised to CRLF, dot-stuffed, terminated). For LMTP the first of
  // the per-recipient replies; data_replies() has them all.
  Reply data(std::string_view msg);
  Reply data(std::span<const std::byte> msg) { return data(as_chars(msg)); }
  // The message streamed from a source (a file, an istream, a callback: <smtp/body_source.hpp>),
  // encoded on the fly in bounded pieces. A NUL or read error mid-stream abandons the message
  // (no final dot, connection closed) and raises: std::invalid_argument naming the offset.
  Reply data(BodySource& body);
  Reply data(BodySource&& body) { return data(body); }
  Reply data(std::istream& body);

  RefusedRecipients sendmail(std::string_view from_addr, const std::vector<std::string>& to_addrs,
                             std::string_view msg, const Options& mail_options = {},
                             const Options& rcpt_options = {});
  // Byte-like messages are treated exactly as text (smtplib treats str and bytes alike).
  RefusedRecipients sendmail(std::string_view from_addr, const std::vector<std::string>& to_addrs,
                             std::span<const std::byte> msg, const Options& mail_options = {},
                             const Options& rcpt_options = {}) {
    return sendmail(from_addr, to_addrs, as_chars(msg), mail_options, rcpt_options);
  }
  // Streamed: sendmail(from, to, smtp::FileBody("msg.eml")), sendmail(from, to, std::cin),
  // sendmail(from, to, smtp::CallbackBody(fn)). Memory stays bounded whatever the size; see
  // algo::SendmailAlgo for DATA vs BDAT, SIZE and the mid-stream NUL rule.
  RefusedRecipients sendmail(std::string_view from_addr, const std::vector<std::string>& to_addrs,
                             BodySource& body, const Options& mail_options = {},
                             const Options& rcpt_options = {});
  RefusedRecipients sendmail(std::string_view from_addr, const std::vector<std::string>& to_addrs,
                             BodySource&& body, const Options& mail_options = {},
                             const Options& rcpt_options = {}) {
    return sendmail(from_addr, to_addrs, body, mail_options, rcpt_options);
  }
  RefusedRecipients sendmail(std::string_view from_addr, const std::vector<std::string>& to_addrs,
                             std::istream& body, const Options& mail_options = {},
                             const Options& rcpt_options = {});
  // Several messages over this connection, each sent as sendmail() would send it; one
  // MailResult per message, in order (a refusal is that message's `error`, not an exception).
  // With PIPELINING the next message's MAIL, RCPT... go out behind the previous message's end
  // without waiting for its reply (with CHUNKING, up to pipeline_depth() messages in flight);
  // without it, the same as calling sendmail() for each. Not in smtplib: see
  // algo::SendmanyAlgo for the rules (what a lost connection means for each message).
  std::vector<MailResult> sendmail_many(std::span<const OutgoingMail> mails);
  // A raw RFC 5322 message: envelope from its headers unless given; Bcc/Resent-Bcc not sent.
  RefusedRecipients send_message(std::string_view msg,
                                 std::optional<std::string> from_addr = std::nullopt,
                                 std::optional<std::vector<std::string>> to_addrs = std::nullopt,
                                 const Options& mail_options = {},
                                 const Options& rcpt_options = {});

  Reply quit();
  void close() noexcept { driver_.close(); }

  // STARTTLS (RFC 3207), as smtplib: EHLO first if needed; SMTPNotSupportedError when not
  // advertised; SMTPResponseException when refused; then the TLS handshake (the certificate is
  // verified against the host given to connect() unless `context` says otherwise). Afterwards
  // helo_resp, ehlo_resp, esmtp_features and does_esmtp are reset; starttls() itself sends no
  // EHLO, the next ehlo_or_helo_if_needed() (sendmail, login) does. Bytes received after the 220
  // raise SMTPProtocolError and close (never read as a reply inside TLS). Returns the 220 reply.
  // keyfile/certfile (client certificate) may not be combined with a context
  // (std::invalid_argument).
  Reply starttls(std::optional<std::string> keyfile = std::nullopt,
                 std::optional<std::string> certfile = std::nullopt,
                 std::optional<TlsContext> context = std::nullopt);
  Reply starttls(TlsContext context) {
    return starttls(std::nullopt, std::nullopt, std::move(context));
  }

  // smtplib's login(): the best mechanism (sasl::preference_order) among those advertised, and
  // only that one: a 535 is final. SMTPNotSupportedError without the AUTH extension,
  // SMTPException("No suitable authentication method found.") when none fits.
  Reply login(std::string_view user, std::string_view password, bool initial_response_ok = true);
  // XOAUTH2 with a bearer token.
  Reply login_oauth2(std::string_view user, std::string_view token,
                     bool initial_response_ok = true);
  // smtplib's auth(mechanism, authobject): the callback gets nullopt for the initial response and
  // each decoded challenge otherwise; it returns the raw response (nullopt cancels).
  Reply auth(std::string_view mechanism, sasl::callback_mechanism::callback authobject,
             bool initial_response_ok = true);
  // Runs any smtp::sasl mechanism (what login() and the overload above use).
  Reply auth(sasl::mechanism& mechanism, bool initial_response_ok = true);

  // Policy: sendmail/send_message/login/auth raise SMTPNotSupportedError over a connection that
  // is not encrypted (a server that stopped offering STARTTLS may be an attacker stripping it).
  void set_require_tls(bool required) { require_tls_ = required; }
  bool require_tls() const { return require_tls_; }
  // Mechanisms that put a reusable secret on the wire (PLAIN, LOGIN, XOAUTH2, callbacks) are
  // refused without TLS unless the server is on a loopback address or this is set.
  void set_allow_cleartext_auth(bool allowed) { allow_cleartext_auth_ = allowed; }
  // The connection is TLS (SMTP_SSL, or after starttls()).
  bool encrypted() const { return driver_.encrypted(); }
  // A login()/auth() succeeded on this connection.
  bool authenticated() const { return authenticated_; }

  // smtplib's attributes.
  const std::optional<std::string>& helo_resp() const { return state_.helo_resp; }
  const std::optional<std::string>& ehlo_resp() const { return state_.ehlo_resp; }
  bool does_esmtp() const { return state_.does_esmtp; }
  const EsmtpFeatures& esmtp_features() const { return state_.esmtp_features; }
  const std::string& local_hostname() const { return state_.local_hostname; }
  void set_local_hostname(std::string name) { state_.local_hostname = std::move(name); }
  Timeout timeout() const { return driver_.timeout(); }
  void set_timeout(Timeout t) { driver_.set_timeout(t); }
  int debuglevel() const { return driver_.debuglevel(); }
  // smtplib's `sock is not None`.
  bool connected() const { return driver_.is_open(); }
  // Per-recipient replies of the last data()/sendmail() (LMTP: one per accepted recipient).
  const std::vector<std::pair<std::string, Reply>>& data_replies() const { return data_replies_; }

  // For tests and for later transports: run over an already connected stream, then read the
  // greeting as connect() does.
  Reply connect(std::unique_ptr<Transport> transport);

 protected:
  static std::string_view as_chars(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  struct no_connect_t {};
  SMTP(no_connect_t, bool lmtp, std::optional<std::string> local_hostname, Timeout timeout);
  virtual int port_default() const { return default_port; }
  virtual std::unique_ptr<Transport> open_transport(const std::string& host, int port);
  void connect_or_raise(const std::string& host, int port);
  void check_tls_policy(const char* what) const;
  // One already encoded command line, one reply that must be one `expect` can get.
  Reply command_reply(std::string line, reply_to expect);

  std::string host_;  // as given to connect(): the name the certificate must match
  TlsContext tls_;    // SMTP_SSL's context; starttls()'s default
  bool require_tls_ = false;
  bool allow_cleartext_auth_ = false;
  bool authenticated_ = false;

  SessionState state_;
  SyncDriver driver_;
  std::vector<std::pair<std::string, Reply>> data_replies_;
};

// LMTP (RFC 2033): LHLO instead of EHLO; a host starting with '/' is a Unix socket path; after
// the final dot one reply per accepted recipient, reported per recipient by sendmail().
class LMTP : public SMTP {
 public:
  static constexpr int default_port = 2003;  // smtplib.LMTP_PORT

  explicit LMTP(const std::string& host = {}, int port = 0,
                std::optional<std::string> local_hostname = std::nullopt, Timeout timeout = {});

 protected:
  int port_default() const override { return default_port; }
  std::unique_ptr<Transport> open_transport(const std::string& host, int port) override;
};

// smtplib's SMTP_SSL: TLS from the first byte (implicit TLS, RFC 8314), default port 465. The
// certificate is verified by default (smtplib verifies nothing without a context: CPython
// gh-91826). keyfile/certfile give a client certificate and may not be combined with a context
// (std::invalid_argument).
class SMTP_SSL : public SMTP {
 public:
  static constexpr int default_port = 465;  // smtplib.SMTP_SSL_PORT

  explicit SMTP_SSL(const std::string& host = {}, int port = 0,
                    std::optional<std::string> local_hostname = std::nullopt,
                    std::optional<std::string> keyfile = std::nullopt,
                    std::optional<std::string> certfile = std::nullopt, Timeout timeout = {},
                    std::optional<TlsContext> context = std::nullopt);

 protected:
  int port_default() const override { return default_port; }
  std::unique_ptr<Transport> open_transport(const std::string& host, int port) override;
};

}  // namespace smtp
