// The server side of commands: what a received command line says. No I/O; every player that reads
// commands (the fake server's scripted and sink sessions, the recorder) uses these, so a spelling
// is accepted or refused the same way everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smtp::wire {

// The verb, upper-cased: the first word of the line ("mail FROM:<a>" -> "MAIL").
std::string command_verb(std::string_view line);

// "BDAT <size>[ LAST]" (RFC 3030 section 2; verb and LAST in any case, one space each, size in
// decimal digits, at most 18 of them). The line is given without its CRLF.
struct BdatCommand {
  std::uint64_t size = 0;
  bool last = false;
};
std::optional<BdatCommand> parse_bdat(std::string_view line);

}  // namespace smtp::wire
