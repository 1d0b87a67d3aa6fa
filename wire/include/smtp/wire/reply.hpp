// A server reply: the three-digit code and the text, as smtplib's (code, msg) tuples.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smtp::wire {

// RFC 3463 enhanced status code "class.subject.detail", e.g. 5.1.1.
struct EnhancedStatus {
  int klass = 0;  // 2, 4 or 5
  int subject = 0;
  int detail = 0;

  std::string to_string() const;
  friend bool operator==(const EnhancedStatus&, const EnhancedStatus&) = default;
};

// Parses an enhanced status code at the start of a reply's text. RFC 3463 section 2 and RFC 2034
// section 3: the class must agree with the first digit of the reply code; returns nullopt
// otherwise.
std::optional<EnhancedStatus> parse_enhanced_status(int code, std::string_view text);

// `auto [code, text] = client.noop();` works: the aggregate has exactly these two data members.
// `text` is smtplib's msg: the text of every line (after the code and separator, blanks stripped),
// joined with "\n".
struct Reply {
  int code = 0;
  std::string text;

  std::optional<EnhancedStatus> enhanced_status() const {
    return parse_enhanced_status(code, text);
  }
  bool positive() const { return code >= 200 && code <= 299; }
  friend bool operator==(const Reply&, const Reply&) = default;
};

}  // namespace smtp::wire
