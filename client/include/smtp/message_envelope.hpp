// What send_message() takes from a raw RFC 5322 message: the envelope (as smtplib's
// send_message: Sender/From, To/Cc/Bcc, or the one Resent-* block) and the copy to send, without
// Bcc and Resent-Bcc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smtp {

struct MessageEnvelope {
  std::string from;             // empty when the message has neither Sender nor From
  std::vector<std::string> to;  // To, Bcc, Cc (or Resent-To, Resent-Bcc, Resent-Cc), in that order
  std::string message;          // the message with every Bcc and Resent-Bcc field removed
};

// Throws std::invalid_argument when the message has more than one Resent-Date (more than one
// Resent- block: smtplib's ValueError).
MessageEnvelope envelope_from_message(std::string_view raw);

// The addr-specs of an RFC 5322 address-list field body: display names, comments, quoted strings
// and groups handled ("A <a@x>, (c) b@y, G: c@z;" -> a@x, b@y, c@z), as email.utils.getaddresses.
std::vector<std::string> parse_address_list(std::string_view field_body);

}  // namespace smtp
