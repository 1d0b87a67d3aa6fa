// The server side of MAIL and RCPT: the path and the ESMTP parameters of a received command
// (RFC 5321 section 4.1.1.2 and 4.1.1.3, RFC 1869 section 6). No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smtp::wire {

struct PathCommand {
  std::string address;              // inside the angle brackets ("" for the null path <>)
  std::vector<std::string> params;  // "SIZE=12", "BODY=8BITMIME", "SMTPUTF8", as sent
  bool bracketed = true;            // false: a bare address (a lenient client wrote no <>)
};

// "MAIL FROM:<a@b> SIZE=12 BODY=8BITMIME" or "RCPT TO:<c@d> NOTIFY=NEVER" (the line without its
// CRLF; verb and FROM:/TO: in any case, blanks after the colon tolerated). nullopt when the line
// is neither, or the path's '<' is not closed.
std::optional<PathCommand> parse_path_command(std::string_view line);

// True when `param` is the named keyword ("size=12" is SIZE), any case.
bool is_param(std::string_view param, std::string_view keyword);

}  // namespace smtp::wire
