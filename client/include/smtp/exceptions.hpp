// The exceptions of smtplib, with the same names and hierarchy, plus two that C++ needs because it
// has no socket.timeout / generic OSError: SMTPTimeoutError and SMTPProtocolError.
//
// clang-format off
//   std::runtime_error
//   └ SMTPException
//     ├ SMTPServerDisconnected            connection lost or never made ("please run connect() first");
//     │ │                                 delivery_unknown(): the message may or may not have been delivered
//     │ ├ SMTPTimeoutError                a deadline (per reply, per write, per connect) passed
//     │ ├ SMTPProtocolError               the server broke the reply grammar, or a reply cannot answer
//     │ │                                 its command (replies out of step); names rule and bytes
//     │ ├ SMTPPartialDelivery             LMTP: the connection ended after some per-recipient replies
//     │ └ SSLError                        TLS handshake or record failure, unsafe STARTTLS
//     │   └ SSLCertVerificationError      the server's certificate did not verify
//     ├ SMTPNotSupportedError             the server lacks an extension the call needs
//     ├ SMTPMessageTooLarge               message larger than the server's SIZE limit (not sent)
//     ├ SMTPRecipientsRefused             recipients: address -> Reply
//     └ SMTPResponseException             smtp_code, smtp_error, enhanced_status
//       ├ SMTPSenderRefused               sender
//       ├ SMTPDataError
//       ├ SMTPConnectError                also for a failed TCP/Unix connect (smtp_code -1)
//       ├ SMTPHeloError
//       └ SMTPAuthenticationError
// clang-format on
//
// Arguments that would put CR, LF, NUL or another control into a command, or break the RFC 5321
// grammar, raise std::invalid_argument (smtplib raises ValueError) before any byte is written.
// Timeout and protocol errors derive from SMTPServerDisconnected because the client has closed the
// connection when they are raised: code that reconnects on a disconnect handles them too.
//
// what() is a C++ message ("sender <me@example.com> refused: 553 5.7.1 rejected"); repr() is what
// Python's repr() of smtplib's exception prints ("SMTPSenderRefused(553, b'5.7.1 rejected',
// 'me@example.com')"), for logs compared with smtplib's.
#pragma once

#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"

namespace smtp {

class SMTPException : public std::runtime_error {
 public:
  explicit SMTPException(const std::string& message) : std::runtime_error(message) {}
  // The class name, e.g. "SMTPSenderRefused" (the JSON "type" of smtp-client).
  virtual std::string_view type_name() const noexcept { return "SMTPException"; }
  // Python's repr() of the smtplib exception: "SMTPServerDisconnected('Connection unexpectedly
  // closed')", "SMTPResponseException(550, b'5.1.1 no such user')".
  virtual std::string repr() const;
};

// The connection is gone (or the client closed it: timeout, protocol violation, TLS failure).
// delivery_unknown() is the delivery invariant's flag (client/README.md, "Delivery"): set when the
// message had been sent in full (its final dot or BDAT LAST written) but its own reply was never
// read, or was read while the pairing of replies to commands was in doubt. Such a message may or
// may not have been delivered: retrying it may deliver it twice. Without the flag nothing of the
// message can have been accepted.
class SMTPServerDisconnected : public SMTPException {
 public:
  using SMTPException::SMTPException;
  std::string_view type_name() const noexcept override { return "SMTPServerDisconnected"; }
  bool delivery_unknown() const noexcept { return delivery_unknown_; }
  const char* what() const noexcept override {
    return delivery_unknown_ ? marked_what_.c_str() : SMTPException::what();
  }
  // A copy of this exception (same class) with delivery_unknown() set and the text saying so.
  virtual std::exception_ptr marked_delivery_unknown() const { return mark(*this); }

 protected:
  template <class E>
  static std::exception_ptr mark(const E& e) {
    E copy = e;
    SMTPServerDisconnected& base = copy;
    base.delivery_unknown_ = true;
    base.marked_what_ = std::string(e.SMTPException::what()) +
                        "; the message was sent in full and may or may not have been delivered";
    return std::make_exception_ptr(std::move(copy));
  }

 private:
  bool delivery_unknown_ = false;
  std::string marked_what_;
};

class SMTPTimeoutError : public SMTPServerDisconnected {
 public:
  using SMTPServerDisconnected::SMTPServerDisconnected;
  std::string_view type_name() const noexcept override { return "SMTPTimeoutError"; }
  std::exception_ptr marked_delivery_unknown() const override { return mark(*this); }
};

// The server's bytes broke a rule of the reply grammar (RFC 5321 section 4.2) or a limit, or a
// reply could not answer the command it was paired with (smtp/reply_pairing.hpp).
class SMTPProtocolError : public SMTPServerDisconnected {
 public:
  SMTPProtocolError(std::string rule, std::string bytes);
  const std::string& rule() const noexcept { return rule_; }
  const std::string& bytes() const noexcept { return bytes_; }  // the offending bytes, raw
  std::string_view type_name() const noexcept override { return "SMTPProtocolError"; }
  std::exception_ptr marked_delivery_unknown() const override { return mark(*this); }

 private:
  std::string rule_;
  std::string bytes_;
};

// The TLS handshake failed or the TLS layer broke (Python's ssl.SSLError, which smtplib lets
// through); the connection has been closed. Also raised when STARTTLS is unsafe to continue.
class SSLError : public SMTPServerDisconnected {
 public:
  using SMTPServerDisconnected::SMTPServerDisconnected;
  std::string_view type_name() const noexcept override { return "SSLError"; }
  std::exception_ptr marked_delivery_unknown() const override { return mark(*this); }
};

// The server's certificate did not verify (chain, expiry or name): Python's
// ssl.SSLCertVerificationError.
class SSLCertVerificationError : public SSLError {
 public:
  using SSLError::SSLError;
  std::string_view type_name() const noexcept override { return "SSLCertVerificationError"; }
  std::exception_ptr marked_delivery_unknown() const override { return mark(*this); }
};

// The exception in `e`, flagged delivery_unknown() when it is an SMTPServerDisconnected (the
// others say what happened to the message already).
std::exception_ptr mark_delivery_unknown(std::exception_ptr e);

class SMTPNotSupportedError : public SMTPException {
 public:
  using SMTPException::SMTPException;
  std::string_view type_name() const noexcept override { return "SMTPNotSupportedError"; }
};

// The message is larger than the limit the server advertised with SIZE (RFC 1870): refused by
// the client before MAIL is sent (no byte written). Not an SMTPResponseException: no server
// reply was received.
class SMTPMessageTooLarge : public SMTPException {
 public:
  SMTPMessageTooLarge(std::uint64_t message_size, std::uint64_t server_limit)
      : SMTPException("message of " + std::to_string(message_size) +
                      " octets exceeds the server's SIZE limit of " + std::to_string(server_limit) +
                      " octets (RFC 1870); nothing was sent"),
        size(message_size),
        limit(server_limit) {}
  std::uint64_t size;
  std::uint64_t limit;
  std::string_view type_name() const noexcept override { return "SMTPMessageTooLarge"; }
};

// what(): "the server replied 554: 5.7.1 spam" (a failed connect, smtp_code -1: the reason).
class SMTPResponseException : public SMTPException {
 public:
  SMTPResponseException(int code, std::string msg);
  int smtp_code;
  std::string smtp_error;
  std::optional<EnhancedStatus> enhanced_status;
  Reply reply() const { return {smtp_code, smtp_error}; }
  std::string_view type_name() const noexcept override { return "SMTPResponseException"; }
  std::string repr() const override;

 protected:
  SMTPResponseException(int code, std::string msg, const std::string& what);
};

// what(): "sender <me@example.com> refused: 553 5.7.1 rejected".
class SMTPSenderRefused : public SMTPResponseException {
 public:
  SMTPSenderRefused(int code, std::string msg, std::string sender_address);
  std::string sender;
  std::string_view type_name() const noexcept override { return "SMTPSenderRefused"; }
  std::string repr() const override;
};

// Address -> the reply that refused it, as sendmail() returns for partial failures.
using RefusedRecipients = std::map<std::string, Reply>;

class SMTPRecipientsRefused : public SMTPException {
 public:
  explicit SMTPRecipientsRefused(RefusedRecipients refused);
  RefusedRecipients recipients;
  std::string_view type_name() const noexcept override { return "SMTPRecipientsRefused"; }
  std::string repr() const override;
};

// LMTP (RFC 2033 section 4.2): the connection ended after some of the per-recipient replies to
// the end of data. Each 2xx reply was a delivery: `delivered` have the message (retrying them
// would deliver it twice), `refused` were refused (address -> reply), `unanswered` got no reply
// and may or may not have it (delivery_unknown() is set when there are any).
class SMTPPartialDelivery : public SMTPServerDisconnected {
 public:
  SMTPPartialDelivery(std::string cause, std::vector<std::string> delivered_to,
                      RefusedRecipients refused_to, std::vector<std::string> unanswered_to);
  std::vector<std::string> delivered;
  RefusedRecipients refused;
  std::vector<std::string> unanswered;
  std::string_view type_name() const noexcept override { return "SMTPPartialDelivery"; }
  std::exception_ptr marked_delivery_unknown() const override { return mark(*this); }
};

#define SMTP_RESPONSE_EXCEPTION(Name)                                      \
  class Name : public SMTPResponseException {                              \
   public:                                                                 \
    using SMTPResponseException::SMTPResponseException;                    \
    std::string_view type_name() const noexcept override { return #Name; } \
  }
SMTP_RESPONSE_EXCEPTION(SMTPDataError);
SMTP_RESPONSE_EXCEPTION(SMTPConnectError);
SMTP_RESPONSE_EXCEPTION(SMTPHeloError);
SMTP_RESPONSE_EXCEPTION(SMTPAuthenticationError);
#undef SMTP_RESPONSE_EXCEPTION

}  // namespace smtp
