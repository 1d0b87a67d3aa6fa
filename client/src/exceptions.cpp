#include "smtp/exceptions.hpp"

#include <utility>

#include "smtp/wire/bytes_repr.hpp"

namespace smtp {

SMTPProtocolError::SMTPProtocolError(std::string rule, std::string bytes)
    : SMTPServerDisconnected("protocol violation: " + rule + ": " + wire::bytes_repr(bytes)),
      rule_(std::move(rule)),
      bytes_(std::move(bytes)) {}

namespace {

// A server's text in a C++ message: the lines of a multiline reply joined with "; ", other
// controls as \xNN (a reply may carry anything; a log line must stay one line).
std::string readable(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "; ";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

std::string reply_what(int code, std::string_view text) {
  if (code < 0) return readable(text);  // no reply: a failed connect says why
  return "the server replied " + std::to_string(code) + ": " + readable(text);
}

// Python's repr() of a str.
std::string str_repr(std::string_view s) {
  return wire::bytes_repr(s, false);
}

}  // namespace

std::string SMTPException::repr() const {
  return std::string(type_name()) + "(" + str_repr(what()) + ")";
}

SMTPResponseException::SMTPResponseException(int code, std::string msg)
    : SMTPResponseException(code, msg, reply_what(code, msg)) {}

SMTPResponseException::SMTPResponseException(int code, std::string msg, const std::string& what)
    : SMTPException(what),
      smtp_code(code),
      smtp_error(std::move(msg)),
      enhanced_status(parse_enhanced_status(smtp_code, smtp_error)) {}

std::string SMTPResponseException::repr() const {
  return std::string(type_name()) + "(" + std::to_string(smtp_code) + ", " +
         wire::bytes_repr(smtp_error) + ")";
}

SMTPSenderRefused::SMTPSenderRefused(int code, std::string msg, std::string sender_address)
    : SMTPResponseException(code, msg,
                            "sender <" + readable(sender_address) +
                                "> refused: " + std::to_string(code) + " " + readable(msg)),
      sender(std::move(sender_address)) {}

std::string SMTPSenderRefused::repr() const {
  return std::string(type_name()) + "(" + std::to_string(smtp_code) + ", " +
         wire::bytes_repr(smtp_error) + ", " + str_repr(sender) + ")";
}

std::string SMTPRecipientsRefused::repr() const {
  std::string s = std::string(type_name()) + "({";
  bool first = true;
  for (const auto& [addr, reply] : recipients) {
    if (!first) s += ", ";
    first = false;
    s += str_repr(addr) + ": (" + std::to_string(reply.code) + ", " + wire::bytes_repr(reply.text) + ")";
  }
  return s + "})";
}

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
