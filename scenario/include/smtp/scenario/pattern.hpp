#pragma once
// One line of a transcript as written after `S:`, `C:` or `D:`. The same text is either bytes to
// send (when the player owns that side) or an expectation on what the peer sends, so a pattern
// knows whether it is literal (sendable) and how to match a received line.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace smtp::scenario {

namespace detail {
class Regex;
}

// Bounds on matching one `~` pattern against one line, whoever sent it (issue 22): a hostile peer
// can choose the line, never the player's stack, memory or time. PCRE2 enforces them; hitting one
// is MatchResult::too_complex, which every player reports as a divergence at the pattern's
// file:line. BENCHMARKS.md has the time of a 64 KiB line against each pattern of the corpus.
struct PatternLimits {
  // PCRE2's match limit: backtracking steps of one match (pcre2_set_match_limit). The bound on
  // time: a 64 KiB line that runs into it takes 13-37 ms with the interpreter, 1-32 ms with the
  // JIT; a back-reference compares up to a line per step, 0.5 s at worst seen (BENCHMARKS.md).
  static constexpr std::uint32_t match_steps = 1'000'000;
  // Nested backtracking points (pcre2_set_depth_limit, interpreter): more than one per byte of the
  // longest line a player accepts, so `(a|b|.)*` still matches a 64 KiB line.
  static constexpr std::uint32_t backtrack_depth = 1'000'000;
  // Heap for the interpreter's backtracking frames (pcre2_set_heap_limit, in KiB): 32 MiB. The
  // interpreter never recurses on the thread's stack (PCRE2 10.30+).
  static constexpr std::uint32_t backtrack_heap_kib = 32 * 1024;
  // The JIT's own stack (pcre2_jit_stack_create): starts small, grows to at most 8 MiB, heap
  // memory, never the thread's stack.
  static constexpr std::size_t jit_stack_start_bytes = 32 * 1024;
  static constexpr std::size_t jit_stack_bytes = 8 * 1024 * 1024;
  // Parentheses nested in one pattern (pcre2_set_parens_nest_limit; PCRE2's default is 250).
  static constexpr std::uint32_t max_nesting = 250;
};

// The outcome of matching a line: a pattern that hits a PatternLimits bound has neither matched
// nor failed to match, and a player must say so instead of guessing.
enum class MatchResult { matched, no_match, too_complex };

// The divergence reason for MatchResult::too_complex, naming the limits.
std::string too_complex_reason();

// Thrown by LinePattern::matches() (the yes/no convenience) when a limit is hit; players call
// match() and report MatchResult::too_complex themselves.
class PatternTooComplex : public std::runtime_error {
 public:
  explicit PatternTooComplex(const std::string& pattern)
      : std::runtime_error(too_complex_reason() + ": " + pattern) {}
};

class LinePattern {
 public:
  enum class Kind {
    exact,  // no wildcard: matches (and sends) exactly these bytes
    glob,   // `*` matches any run of bytes (also empty); `\*` is a literal star
    regex,  // `~ REGEX`: regular expression (PCRE2, ECMAScript-compatible), whole line
  };

  // Parses the text after the prefix. `reply_codes` enables a leading code class on server lines:
  // `2xx`, `250|251`, `4xx|5xx` followed by space, `-` or end of line. Returns nullopt and sets
  // `error` when the text is not a valid pattern.
  //
  // `command` marks a client line: the command verb and a MAIL/RCPT keyword ("MAIL FROM:",
  // "rcpt to:") match without regard to case (RFC 5321 section 2.4); all else is exact.
  static std::optional<LinePattern> parse(std::string_view text, bool reply_codes,
                                          std::string& error, bool command = false);
  // A pattern that matches exactly `bytes` (used for lines inserted by a transport).
  static LinePattern exact_bytes(std::string bytes);

  // Matches a received line (without its line end) in bounded time, stack and memory.
  MatchResult match(std::string_view line) const;
  // match() == matched; throws PatternTooComplex on a limit (tests and tools, not players).
  bool matches(std::string_view line) const;
  Kind kind() const { return kind_; }
  // True when the pattern denotes one byte string, which can then be sent.
  bool is_literal() const { return kind_ == Kind::exact && codes_.empty(); }
  // The bytes to send (unescaped); meaningful when is_literal().
  const std::string& literal() const { return literal_; }
  // The text as written in the file.
  const std::string& source() const { return source_; }
  // Code alternatives with `x` for any digit (empty when the line has no code class).
  const std::vector<std::string>& codes() const { return codes_; }

 private:
  bool glob_match(std::string_view line) const;

  Kind kind_ = Kind::exact;
  std::string source_;
  std::string literal_;
  std::vector<std::string> codes_;
  std::vector<std::string> pieces_;  // glob: literal pieces between wildcards
  std::shared_ptr<const detail::Regex> regex_;
  bool command_ = false;
};

// Length of a command line's case-insensitive head: the verb, plus the next word up to and
// including its ':' when it has one ("MAIL FROM:", "RCPT TO:").
std::size_t command_head(std::string_view line);

}  // namespace smtp::scenario
