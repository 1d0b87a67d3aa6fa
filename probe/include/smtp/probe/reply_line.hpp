#pragma once
// Pure helpers for reading server replies in the client role (RFC 5321 section 4.2): no I/O.
#include <optional>
#include <string_view>

#include "smtp/scenario/pattern.hpp"

namespace smtp::probe {

struct ReplyLine {
  int code = 0;
  bool continuation = false;  // "250-..." (more lines follow)
};

// A reply line is three digits, then space, '-' or the end (RFC 5321 section 4.2). nullopt for
// anything else.
std::optional<ReplyLine> classify_reply_line(std::string_view line);

// A pattern written for one continuation line: it starts (after `~ ` for a regex) with a code or
// code class and a '-': `250-*`, `2xx-*`, `~ 250-(?!STARTTLS).*`. Any other server pattern stands
// for a whole reply and is matched against its final line.
bool is_continuation_pattern(const scenario::LinePattern& pattern);

}  // namespace smtp::probe
