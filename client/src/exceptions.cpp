#include "smtp/exceptions.hpp"

#include <utility>

#include "smtp/wire/bytes_repr.hpp"

namespace smtp {

SMTPProtocolError::SMTPProtocolError(std::string rule, std::string bytes)
    : SMTPServerDisconnected("protocol violation: " + rule + ": " + wire::bytes_repr(bytes)),
      rule_(std::move(rule)),
      bytes_(std::move(bytes)) {}

SMTPResponseException::SMTPResponseException(int code, std::string msg)
    : SMTPException("(" + std::to_string(code) + ", " + wire::bytes_repr(msg) + ")"),
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

std::exception_ptr mark_delivery_unknown(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const SMTPServerDisconnected& d) {
    return d.delivery_unknown() ? e : d.marked_delivery_unknown();
  } catch (...) {
    return e;
  }
}

namespace {
std::string describe_partial(const std::string& cause, const std::vector<std::string>& delivered,
                             const RefusedRecipients& refused,
                             const std::vector<std::string>& unanswered) {
  std::string s = cause + "; LMTP per-recipient replies: delivered to";
  for (const auto& a : delivered) s += " " + a;
  if (delivered.empty()) s += " nobody";
  if (!refused.empty()) {
    s += "; refused";
    for (const auto& [addr, reply] : refused)
      s += " " + addr + " (" + std::to_string(reply.code) + ")";
  }
  if (!unanswered.empty()) {
    s += "; no reply for";
    for (const auto& a : unanswered) s += " " + a;
  }
  return s;
}
}  // namespace

SMTPPartialDelivery::SMTPPartialDelivery(std::string cause, std::vector<std::string> delivered_to,
                                         RefusedRecipients refused_to,
                                         std::vector<std::string> unanswered_to)
    : SMTPServerDisconnected(describe_partial(cause, delivered_to, refused_to, unanswered_to)),
      delivered(std::move(delivered_to)),
      refused(std::move(refused_to)),
      unanswered(std::move(unanswered_to)) {}

SMTPRecipientsRefused::SMTPRecipientsRefused(RefusedRecipients refused)
    : SMTPException(describe(refused)), recipients(std::move(refused)) {}

}  // namespace smtp
