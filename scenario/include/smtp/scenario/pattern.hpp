#pragma once
// One line of a transcript as written after `S:`, `C:` or `D:`. The same text is either bytes to
// send (when the player owns that side) or an expectation on what the peer sends, so a pattern
// knows whether it is literal (sendable) and how to match a received line.
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace smtp::scenario {

class LinePattern {
 public:
  enum class Kind {
    exact,  // no wildcard: matches (and sends) exactly these bytes
    glob,   // `*` matches any run of bytes (also empty); `\*` is a literal star
    regex,  // `~ REGEX`: ECMAScript regular expression, must match the whole line
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
  std::shared_ptr<const std::regex> regex_;
  bool command_ = false;
};

// Length of a command line's case-insensitive head: the verb, plus the next word up to and
// including its ':' when it has one ("MAIL FROM:", "RCPT TO:").
std::size_t command_head(std::string_view line);

}  // namespace smtp::scenario
