#pragma once
// The inverse of the parser: a Scenario model written as the text of a .scn file. The parser
// reads the text back to an equal model (parse(write(x)) == x for every model the parser can
// produce), so a tool that builds a scenario (the recorder) never writes a file it cannot play.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/scenario/model.hpp"

namespace smtp::scenario {

struct WriteOptions {
  std::vector<std::string> header_comments;                       // `# ...` lines at the top
  std::map<std::size_t, std::vector<std::string>> step_comments;  // before step N
};

// The whole file. Steps are written from the model (patterns from their source text, raw bytes
// and message lines escaped), so includes appear expanded.
std::string write(const Scenario& scenario, const WriteOptions& options = {});

// Escapes bytes for the text after `S:`/`C:`/`D:`/`message:` so the parser reads back exactly
// these bytes as a literal: controls and backslash escaped, `*` as `\*` (not a wildcard), and
// blanks at either end as escapes (the parser trims them).
std::string escape_literal(std::string_view bytes);

// A glob that matches `literal` exactly except where `*` wildcards are spliced in: `pieces` are
// joined with unescaped `*` (each piece escaped with escape_literal).
std::string glob_of(const std::vector<std::string>& pieces);

// True when `line` (without CRLF) can be written as an `S:` line that sends exactly these bytes:
// a reply code first, no bytes the parser would read as a code class or a regex.
bool writable_as_server_line(std::string_view line);

}  // namespace smtp::scenario
