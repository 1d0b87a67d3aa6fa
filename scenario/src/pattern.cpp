#include "smtp/scenario/pattern.hpp"

#include <algorithm>
#include <string>

#include "regex.hpp"
#include "smtp/scenario/escape.hpp"

namespace smtp::scenario {
namespace {

bool is_code_char(char c) {
  return (c >= '0' && c <= '9') || c == 'x' || c == 'X';
}

// Splits `text` on unescaped `*`, unescaping each piece.
bool split_glob(std::string_view text, std::vector<std::string>& pieces, std::string& error) {
  pieces.clear();
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    // A backslash with nothing after it stays in the last piece, where unescape() reports it
    // (skipping past the end dropped that piece: an empty pattern, UB in parse()).
    if (i + 1 < text.size() && text[i] == '\\') {
      ++i;  // skip the escaped character; unescape() validates it
      continue;
    }
    if (i == text.size() || text[i] == '*') {
      std::string piece;
      if (!unescape(text.substr(start, i - start), piece, error)) return false;
      pieces.push_back(std::move(piece));
      start = i + 1;
    }
  }
  return true;
}

// Numbers inside a regular expression, checked before PCRE2 sees them. Written for std::regex
// (a `long` overflow on `\7777770000...` found by fuzz_scenario, an automaton of as many states as
// the counts multiply to); kept with PCRE2 because they still hold:
// - an escaped number of three or more digits is a back-reference in ECMAScript but an octal
//   escape in PCRE2 (`\123` is 'S'): refused rather than silently meaning something else;
// - PCRE2 copies a counted group once per count, so `(a{1000}){1000}` would compile to a pattern
//   of a million items: the product of counts stays at most max_regex_states, which keeps compile
//   time and memory small whatever a scenario says (PCRE2's own caps are 65535 per count and the
//   compiled size).
constexpr std::size_t max_regex_count = 1000;
constexpr std::size_t max_regex_states = 100000;

bool regex_numbers_ok(std::string_view expr, std::string& error) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  // Reads a run of digits at `i` (advancing it); false when it is longer than `max_digits`.
  auto read_number = [&](std::size_t& i, std::size_t max_digits, std::size_t& value) {
    const std::size_t start = i;
    value = 0;
    while (i < expr.size() && is_digit(expr[i])) {
      if (i - start == max_digits) return false;
      value = value * 10 + static_cast<std::size_t>(expr[i] - '0');
      ++i;
    }
    return true;
  };
  std::size_t states = 1;
  bool in_class = false;
  for (std::size_t i = 0; i < expr.size(); ++i) {
    const char c = expr[i];
    if (c == '\\' && i + 1 < expr.size()) {
      if (is_digit(expr[i + 1])) {
        std::size_t j = i + 1;
        std::size_t value = 0;
        if (!read_number(j, 2, value)) {
          error = "back-reference number too large in regular expression '" + std::string(expr) +
                  "' (at most \\99)";
          return false;
        }
        i = j - 1;
      } else {
        ++i;
      }
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
      if (i + 1 < expr.size() && expr[i + 1] == ']') ++i;  // "[]...]": ']' first is literal
    } else if (c == '{') {
      std::size_t j = i + 1;
      std::size_t low = 0;
      std::size_t high = 0;
      const bool low_ok = read_number(j, 4, low);
      bool high_ok = true;
      if (low_ok && j < expr.size() && expr[j] == ',') {
        ++j;
        high_ok = read_number(j, 4, high);
      }
      const std::size_t count = std::max(low, high);
      if (!low_ok || !high_ok || count > max_regex_count) {
        error = "repetition count too large in regular expression '" + std::string(expr) +
                "' (at most " + std::to_string(max_regex_count) + ")";
        return false;
      }
      states *= std::max<std::size_t>(count, 1);
      if (states > max_regex_states) {
        error = "repetition counts multiply past " + std::to_string(max_regex_states) +
                " in regular expression '" + std::string(expr) + "'";
        return false;
      }
    }
  }
  return true;
}

bool code_matches(std::string_view code, std::string_view line) {
  if (line.size() < 3) return false;
  for (std::size_t i = 0; i < 3; ++i) {
    char want = code[i];
    char got = line[i];
    if (want == 'x' || want == 'X') {
      if (got < '0' || got > '9') return false;
    } else if (want != got) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::size_t command_head(std::string_view line) {
  auto space = line.find(' ');
  if (space == std::string_view::npos) return line.size();
  auto next_end = line.find(' ', space + 1);
  auto word =
      line.substr(space + 1, next_end == std::string_view::npos ? line.npos : next_end - space - 1);
  auto colon = word.find(':');
  return colon == std::string_view::npos ? space : space + 1 + colon + 1;
}

namespace {

std::string upper_head(std::string_view line) {
  std::string out(line);
  auto n = command_head(line);
  for (std::size_t i = 0; i < n; ++i) {
    if (out[i] >= 'a' && out[i] <= 'z') out[i] = static_cast<char>(out[i] - 'a' + 'A');
  }
  return out;
}

}  // namespace

std::optional<LinePattern> LinePattern::parse(std::string_view text, bool reply_codes,
                                              std::string& error, bool command) {
  LinePattern p;
  p.source_ = std::string(text);
  p.command_ = command;
  if (text.starts_with("~ ") || text == "~") {
    std::string expr(text.size() > 2 ? text.substr(2) : std::string_view{});
    if (!regex_numbers_ok(expr, error)) return std::nullopt;
    p.regex_ = detail::Regex::compile(expr, error);
    if (!p.regex_) return std::nullopt;
    p.kind_ = Kind::regex;
    return p;
  }
  std::string_view rest = text;
  if (reply_codes) {
    // A code class is three code characters, alternatives joined by '|', then ' ', '-' or end.
    std::size_t i = 0;
    std::vector<std::string> codes;
    bool any_class = false;
    while (i + 3 <= text.size() && is_code_char(text[i]) && is_code_char(text[i + 1]) &&
           is_code_char(text[i + 2])) {
      std::string code(text.substr(i, 3));
      if (code.find_first_of("xX") != std::string::npos) any_class = true;
      codes.push_back(code);
      i += 3;
      if (i < text.size() && text[i] == '|') {
        any_class = true;
        ++i;
        continue;
      }
      break;
    }
    bool ends_ok = i == text.size() || text[i] == ' ' || text[i] == '-' || text[i] == '*';
    if (any_class && ends_ok && !codes.empty() && (i == 0 || text[i - 1] != '|')) {
      p.codes_ = std::move(codes);
      rest = text.substr(i);
    }
  }
  if (!split_glob(rest, p.pieces_, error)) return std::nullopt;
  if (p.pieces_.size() == 1) {
    p.kind_ = Kind::exact;
    p.literal_ = p.pieces_.front();
  } else {
    p.kind_ = Kind::glob;
  }
  if (command) p.pieces_.front() = upper_head(p.pieces_.front());
  return p;
}

LinePattern LinePattern::exact_bytes(std::string bytes) {
  LinePattern p;
  p.source_ = visible(bytes);
  p.literal_ = bytes;
  p.pieces_ = {std::move(bytes)};
  return p;
}

bool LinePattern::glob_match(std::string_view line) const {
  // Pieces are separated by wildcards: the first anchors at the start, the last at the end.
  if (pieces_.size() == 1) return line == pieces_.front();
  const std::string& first = pieces_.front();
  const std::string& last = pieces_.back();
  if (line.size() < first.size() + last.size()) return false;
  if (!line.starts_with(first) || !line.ends_with(last)) return false;
  std::size_t pos = first.size();
  std::size_t end = line.size() - last.size();
  for (std::size_t i = 1; i + 1 < pieces_.size(); ++i) {
    // Leftmost placement of each middle piece is optimal for `*` globs.
    auto found = line.substr(0, end).find(pieces_[i], pos);
    if (found == std::string_view::npos) return false;
    pos = found + pieces_[i].size();
  }
  return true;
}

std::string too_complex_reason() {
  return "pattern too complex for this input (over a PCRE2 limit: " +
         std::to_string(PatternLimits::match_steps) + " backtracking steps, " +
         std::to_string(PatternLimits::backtrack_heap_kib / 1024) +
         " MiB of backtracking heap or " +
         std::to_string(PatternLimits::jit_stack_bytes / (1024 * 1024)) + " MiB of JIT stack)";
}

MatchResult LinePattern::match(std::string_view line) const {
  if (command_) {
    std::string canon = upper_head(line);
    LinePattern plain = *this;
    plain.command_ = false;
    return plain.match(canon);
  }
  auto yes_no = [](bool b) { return b ? MatchResult::matched : MatchResult::no_match; };
  if (kind_ == Kind::regex) return regex_->match(line);
  if (!codes_.empty()) {
    bool any = false;
    for (const auto& code : codes_) any = any || code_matches(code, line);
    if (!any) return MatchResult::no_match;
    return yes_no(glob_match(line.substr(3)));
  }
  return yes_no(glob_match(line));
}

bool LinePattern::matches(std::string_view line) const {
  const MatchResult r = match(line);
  if (r == MatchResult::too_complex) throw PatternTooComplex(source_);
  return r == MatchResult::matched;
}

}  // namespace smtp::scenario
