// Fuzz target (issue 22): long and adversarial lines, up to the players' line limit, against every
// pattern of the scenario corpus in the role that matches it (the fake server's `C:` / `D:`
// patterns against client lines, the probe's `S:` patterns against reply lines), plus the shapes
// the issue reported and a fuzzer-chosen regular expression. Property: every match returns (a
// hang is a libFuzzer timeout, a stack overflow a crash), and only a `~` pattern may answer
// too_complex (a glob or exact line never has a limit to hit).
//
// Input: byte 0-1 choose the pattern (past the table: bytes up to the first 0xFE are compiled as
// `~ <expr>`), byte 2 the line length (byte2 / 255 of PeerLimits::max_line), the rest is
// PREFIX 0xFE UNIT 0xFE SUFFIX: the line is PREFIX, then UNIT repeated, then SUFFIX.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <smtp/scenario/limits.hpp>
#include <smtp/scenario/parser.hpp>
#include <smtp/scenario/pattern.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace {

using smtp::scenario::LinePattern;
using smtp::scenario::MatchResult;

// Shapes from issue 22 and classic backtracking traps, with their role (true: a command line).
struct Extra {
  const char* text;
  bool command;
};
constexpr Extra extras[] = {
    {"~ MAIL FROM:<alice@example\\.org>( [Ss][Ii][Zz][Ee]=[0-9]+)?", true},
    {"~ EHLO (a|b|.)*", true},
    {"~ (x+x+)+(y|z)", false},
    {"~ (.*)*\\d", false},
    {"~ 250-(?!AUTH).*", false},
    {"~ (a|aa)*b", false},
    {"~ (?:(?:a*)*)*c", true},
    {"~ ([^ ]+ )*[^ ]+:", true},
    {"~ (a)?b\\1", false},
};

std::vector<LinePattern> load_patterns() {
  std::vector<LinePattern> out;
  std::set<std::pair<std::string, bool>> seen;
  auto add = [&](const LinePattern& p, bool command) {
    if (seen.emplace(p.source(), command).second) out.push_back(p);
  };
  std::string error;
  for (const auto& e : extras) {
    auto p = LinePattern::parse(e.text, !e.command, error, e.command);
    if (!p) std::abort();  // the table itself must compile
    add(*p, e.command);
  }
  // Every pattern of the corpus, as the players hold them (command flag and code classes set by
  // the parser for the line's role).
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(SMTPKIT_SCENARIOS_DIR, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().extension() != ".scn") continue;
    try {
      const auto s = smtp::scenario::parse_file(it->path());
      for (const auto& step : s.steps) {
        const bool command = step.kind == smtp::scenario::Step::Kind::client_line;
        if (step.pattern) add(*step.pattern, command);
        for (const auto& c : step.content) add(c, true);
      }
    } catch (const std::exception&) {
      // a file that does not parse has no patterns to offer
    }
  }
  return out;
}

const std::vector<LinePattern>& patterns() {
  static const std::vector<LinePattern> all = load_patterns();
  return all;
}

}  // namespace

// The table is read before the first input: parsing the corpus takes seconds under ASan, which
// libFuzzer would otherwise count against (and report as) the first unit.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  (void)patterns();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const auto& table = patterns();
  const std::size_t choice =
      (std::size_t{data[0]} << 8 | std::size_t{data[1]}) % (table.size() + 1);
  const std::size_t length = std::size_t{data[2]} * smtp::scenario::PeerLimits::max_line / 255;
  std::string_view rest(reinterpret_cast<const char*>(data + 3), size - 3);
  auto cut = [&rest]() {
    const auto at = rest.find('\xfe');
    std::string_view head = rest.substr(0, at);
    rest = at == std::string_view::npos ? std::string_view{} : rest.substr(at + 1);
    return head;
  };
  std::optional<LinePattern> own;
  const LinePattern* pattern = nullptr;
  if (choice < table.size()) {
    pattern = &table[choice];
  } else {
    std::string error;
    own = LinePattern::parse("~ " + std::string(cut()), false, error);
    if (!own) return 0;  // not a pattern: the parser said why, nothing to match
    pattern = &*own;
  }
  const std::string_view prefix = cut();
  const std::string_view unit = cut();
  const std::string_view suffix = rest;
  std::string line(prefix);
  if (!unit.empty()) {
    while (line.size() + unit.size() + suffix.size() <= length) line += unit;
  }
  line += suffix;
  const MatchResult r = pattern->match(line);
  if (r == MatchResult::too_complex && pattern->kind() != LinePattern::Kind::regex) std::abort();
  if (pattern->match(line) != r) std::abort();  // the same line, the same answer
  return 0;
}
