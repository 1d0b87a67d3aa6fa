#pragma once
// Byte escapes used by scenario files, and the inverse used by every report: a received line is
// always shown with CR, LF, NUL and other controls made visible, so a bare LF cannot hide.
#include <string>
#include <string_view>

namespace smtp::scenario {

// Decodes \r \n \t \0 \\ \* \xNN. Returns false and sets `error` (naming the 1-based column)
// on a bad escape.
bool unescape(std::string_view text, std::string& out, std::string& error);

// Makes bytes readable on one line: CR -> \r, LF -> \n, TAB -> \t, NUL -> \0, backslash -> \\,
// other controls and bytes >= 0x7f -> \xNN. The inverse of unescape for any byte string.
std::string visible(std::string_view bytes);

}  // namespace smtp::scenario
