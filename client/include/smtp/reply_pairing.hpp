// Which replies can answer which command (RFC 5321 section 4.3.2 and the extensions' RFCs: 1870,
// 2033, 2920, 3030, 3207, 4954). A reply outside its command's set means the replies are out of
// step with the commands (a dropped, duplicated or injected reply): believing it could report a
// refused message as delivered, so the drivers treat it as a protocol violation that ends the
// session (SMTPProtocolError), never as an answer.
#pragma once

#include <string_view>

#include "smtp/reply.hpp"

namespace smtp {

// The command a reply is read for. `any` accepts every code: docmd(), getreply().
enum class reply_to {
  any,
  greeting,     // 220 (or 4xx/5xx: 421, 554)
  hello,        // EHLO, HELO, LHLO: 250
  mail,         // 250
  rcpt,         // 250, 251
  data,         // 354 (never 2xx: nothing was delivered yet)
  end_of_data,  // the final dot or BDAT ... LAST, and each LMTP per-recipient reply: 250
  bdat,         // a BDAT chunk that is not the last: 250
  rset,         // 250, or 421 (the server is closing); nothing else
  noop,         // 250
  quit,         // 221
  starttls,     // 220
  auth,         // 235, 334
  vrfy,         // 250, 251, 252
  expn,         // 250, 252
  help,         // 211, 214
};

// The command's name as the error names it ("MAIL", "end of data").
std::string_view reply_to_name(reply_to command);

// True when `code` can answer `command`. Positive (2xx) and intermediate (3xx) codes must be in
// the command's own set; 4xx and 5xx can answer every command (RFC 5321 section 4.3.2: 421, 500,
// 501 after any command; refusals vary by server) except RSET, which only a 421 may refuse.
bool reply_fits(reply_to command, int code);

// Throws SMTPProtocolError naming the code, the command and the reply's text when the reply
// cannot answer the command. Both drivers call it on every reply they hand to an algorithm.
void check_reply_fits(reply_to command, const Reply& reply);

}  // namespace smtp
