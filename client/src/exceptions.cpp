#include "smtp/exceptions.hpp"

#include <utility>

#include "smtp/bytes_repr.hpp"

namespace smtp {

SMTPProtocolError::SMTPProtocolError(std::string rule, std::string bytes)
    : SMTPServerDisconnected("protocol violation: " + rule + ": " + bytes_repr(bytes)),
      rule_(std::move(rule)),
      bytes_(std::move(bytes)) {}

SMTPResponseException::SMTPResponseException(int code, std::string msg)
    : SMTPException("(" + std::to_string(code) + ", " + bytes_repr(msg) + ")"),
      smtp_code(code),
      smtp_error(std::move(msg)),
      enhanced_status(parse_enhanced_status(smtp_code, smtp_error)) {}

SMTPSenderRefused::SMTPSenderRefused(int code, std::string msg, std::string sender_address)
    : SMTPResponseException(code, std::move(msg)), sender(std::move(sender_address)) {}

namespace {
std::string describe(const RefusedRecipients& refused) {
  std::string s = "all recipients refused:";
  for (const auto& [addr, reply] : refused) {
    s += " " + addr + " (" + std::to_string(reply.code) + " " + reply.text + ")";
  }
  return s;
}
}  // namespace

SMTPRecipientsRefused::SMTPRecipientsRefused(RefusedRecipients refused)
    : SMTPException(describe(refused)), recipients(std::move(refused)) {}

}  // namespace smtp
