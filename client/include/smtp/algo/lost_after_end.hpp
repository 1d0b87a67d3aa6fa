// What a message's outcome is when the connection fails after its end (the final dot or BDAT
// LAST) was written and before every reply to it was read. Shared by sendmail() and data().
#pragma once

#include <cstddef>
#include <exception>
#include <string>
#include <vector>

#include "smtp/exceptions.hpp"

namespace smtp::algo {

// SMTP, or LMTP before any per-recipient reply: `cause` flagged delivery_unknown(). LMTP after
// `answered` replies (RFC 2033 section 4.2) when the server closed the connection:
// SMTPPartialDelivery with the recipients answered 2xx as delivered, those refused (found in
// `refused`) as refused, the rest unanswered. After a timeout, a protocol error or a TLS failure
// the replies read may have been other recipients' (one dropped): the whole message is unknown.
std::exception_ptr lost_after_end(std::exception_ptr cause, bool lmtp,
                                  const std::vector<std::string>& accepted, std::size_t answered,
                                  const RefusedRecipients& refused);

}  // namespace smtp::algo
