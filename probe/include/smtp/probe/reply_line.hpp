#pragma once
// How a server pattern reads a reply in the client role: no I/O. The reply itself is parsed by
// the client's wire::ReplyParser (RFC 5321 section 4.2), never by a copy here.
#include <string_view>

#include "smtp/scenario/pattern.hpp"

namespace smtp::probe {

// A pattern written for one continuation line: it starts (after `~ ` for a regex) with a code or
// code class and a '-': `250-*`, `2xx-*`, `~ 250-(?!STARTTLS).*`. Any other server pattern stands
// for a whole reply and is matched against its final line.
bool is_continuation_pattern(const scenario::LinePattern& pattern);

}  // namespace smtp::probe
