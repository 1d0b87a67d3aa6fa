// The exceptions of smtplib, with the same names and hierarchy, plus two that C++ needs because it
// has no socket.timeout / generic OSError: SMTPTimeoutError and SMTPProtocolError.
//
// clang-format off
//   std::runtime_error
//   └ SMTPException
//     ├ SMTPServerDisconnected            connection lost or never made ("please run connect() first")
//     │ ├ SMTPTimeoutError                a deadline (per reply, per write, per connect) passed
//     │ ├ SMTPProtocolError               the server broke the reply grammar; names rule and bytes
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
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "smtp/reply.hpp"

namespace smtp {

class SMTPException : public std::runtime_error {
 public:
  explicit SMTPException(const std::string& message) : std::runtime_error(message) {}
  // The class name, e.g. "SMTPSenderRefused" (the JSON "type" of smtp-client).
  virtual std::string_view type_name() const noexcept { return "SMTPException"; }
};

class SMTPServerDisconnected : public SMTPException {
 public:
  using SMTPException::SMTPException;
  std::string_view type_name() const noexcept override { return "SMTPServerDisconnected"; }
};

class SMTPTimeoutError : public SMTPServerDisconnected {
 public:
  using SMTPServerDisconnected::SMTPServerDisconnected;
  std::string_view type_name() const noexcept override { return "SMTPTimeoutError"; }
};

// The server's bytes broke a rule of the reply grammar (RFC 5321 section 4.2) or a limit.
class SMTPProtocolError : public SMTPServerDisconnected {
 public:
  SMTPProtocolError(std::string rule, std::string bytes);
  const std::string& rule() const noexcept { return rule_; }
  const std::string& bytes() const noexcept { return bytes_; }  // the offending bytes, raw
  std::string_view type_name() const noexcept override { return "SMTPProtocolError"; }

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
};

// The server's certificate did not verify (chain, expiry or name): Python's
// ssl.SSLCertVerificationError.
class SSLCertVerificationError : public SSLError {
 public:
  using SSLError::SSLError;
  std::string_view type_name() const noexcept override { return "SSLCertVerificationError"; }
};

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
                      " octets exceeds the server's SIZE limit of " +
                      std::to_string(server_limit) + " octets (RFC 1870); nothing was sent"),
        size(message_size),
        limit(server_limit) {}
  std::uint64_t size;
  std::uint64_t limit;
  std::string_view type_name() const noexcept override { return "SMTPMessageTooLarge"; }
};

class SMTPResponseException : public SMTPException {
 public:
  SMTPResponseException(int code, std::string msg);
  int smtp_code;
  std::string smtp_error;
  std::optional<EnhancedStatus> enhanced_status;
  Reply reply() const { return {smtp_code, smtp_error}; }
  std::string_view type_name() const noexcept override { return "SMTPResponseException"; }
};

class SMTPSenderRefused : public SMTPResponseException {
 public:
  SMTPSenderRefused(int code, std::string msg, std::string sender_address);
  std::string sender;
  std::string_view type_name() const noexcept override { return "SMTPSenderRefused"; }
};

// Address -> the reply that refused it, as sendmail() returns for partial failures.
using RefusedRecipients = std::map<std::string, Reply>;

class SMTPRecipientsRefused : public SMTPException {
 public:
  explicit SMTPRecipientsRefused(RefusedRecipients refused);
  RefusedRecipients recipients;
  std::string_view type_name() const noexcept override { return "SMTPRecipientsRefused"; }
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
