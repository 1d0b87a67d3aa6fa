// What smtp::SMTP and smtp::AsyncSMTP decide before they run an exchange algorithm: argument
// checks, the TLS policies, login()'s choice of mechanism, send_message()'s envelope. One copy,
// called by both classes, so the sync and async APIs cannot drift apart (the exchanges themselves
// are the algorithms in smtp/algo/).
#pragma once

#include <boost/system/error_code.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtp/sasl/mechanism.hpp"
#include "smtp/session.hpp"
#include "smtp/tls_context.hpp"

namespace smtp::rules {

// smtplib: "host:port" is split when port is 0 and host has exactly one ':'; also "[v6]:port".
// A host starting with '/' (a Unix socket path) is left alone. Throws std::invalid_argument for
// a port that is not a number in 0..65535.
std::pair<std::string, int> split_host_port(const std::string& host, int port);

// After a failed TCP or Unix connect: nobody answered (refused, unreachable) is SMTPConnectError
// with code -1; someone answered and hung up at once (reset, EOF) is SMTPServerDisconnected, as
// it would have been a moment later while reading the greeting. Nothing when `ec` is success.
void throw_if_connect_failed(const boost::system::error_code& ec, const std::string& where);

// localhost, *.localhost, or a loopback IP literal (brackets allowed).
bool is_loopback_host(const std::string& host);

// The require_tls policy: SMTPNotSupportedError when TLS is required and a connected session is
// not encrypted; `what` names the refused operation.
void check_tls_policy(bool require_tls, bool connected, bool encrypted, const char* what);

// Mechanisms that put a reusable secret on the wire are refused without TLS unless the server is
// on a loopback address or cleartext was allowed (SMTPException).
void check_cleartext_auth(const sasl::mechanism& mechanism, bool encrypted, bool allow_cleartext,
                          const std::string& host);

// login(): the best advertised mechanism for a password (sasl::choose_mechanism), only that one.
// SMTPNotSupportedError without AUTH; SMTPException when none fits. Call after EHLO.
std::unique_ptr<sasl::mechanism> login_mechanism(const SessionState& session, std::string_view user,
                                                 std::string_view password);
// login_oauth2(): XOAUTH2 with a bearer token; the same errors.
std::unique_ptr<sasl::mechanism> oauth2_mechanism(const SessionState& session,
                                                  std::string_view user, std::string_view token);

// mail(): checks sender and options (std::invalid_argument) even when they are not sent; returns
// the options to send (none to a non-ESMTP server, as smtplib); SMTPNotSupportedError for
// SMTPUTF8 without the extension.
std::span<const std::string> mail_options_to_send(const SessionState& session,
                                                  std::string_view sender,
                                                  std::span<const std::string> options);
// rcpt(): the same for a recipient.
std::span<const std::string> rcpt_options_to_send(const SessionState& session,
                                                  std::string_view recipient,
                                                  std::span<const std::string> options);

// send_message(): the envelope and the copy to send. `international` says the addresses need
// SMTPUTF8: the caller says hello if needed, then calls require_smtputf8() and sends with
// `mail_options` (SMTPUTF8 and BODY=8BITMIME already appended).
struct PreparedMessage {
  std::string from;
  std::vector<std::string> to;
  std::string message;
  std::vector<std::string> mail_options;
  bool international = false;
};
PreparedMessage prepare_message(std::string_view raw, std::optional<std::string> from_addr,
                                std::optional<std::vector<std::string>> to_addrs,
                                const std::vector<std::string>& mail_options,
                                const std::vector<std::string>& rcpt_options);
void require_smtputf8(const SessionState& session);

// starttls(keyfile, certfile, context): the context to use (`fallback` unless given), with the
// client certificate files; std::invalid_argument when a context is combined with files.
TlsContext starttls_context(std::optional<std::string> keyfile, std::optional<std::string> certfile,
                            std::optional<TlsContext> context, const TlsContext& fallback);

}  // namespace smtp::rules
