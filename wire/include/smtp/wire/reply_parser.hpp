// Incremental, strict parser for server replies (RFC 5321 section 4.2). No I/O and no exceptions:
// feed() it bytes; it stops at the end of one reply, or at the first violation, which it names.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/wire/reply.hpp"

namespace smtp::wire {

// Bounds on one reply, set at run time (the defaults are what the client enforces).
struct ReplyLimits {
  // smtplib's _MAXLINE: a reply line, CRLF included, may not be longer.
  std::size_t max_line = 8192;
  // Lines in one reply. An EHLO reply has a few dozen at most; more is a runaway server.
  std::size_t max_lines = 256;
  // Bytes in one reply, CRLFs included: bounds memory whatever the per-line limit allows.
  std::size_t max_reply_bytes = 65536;
};

// A grammar violation: the rule broken and the bytes that broke it (at most a line).
struct ReplyError {
  std::string rule;
  std::string shown;
};

class ReplyParser {
 public:
  ReplyParser() = default;
  explicit ReplyParser(ReplyLimits limits) : limits_(limits) {}

  // Consumes bytes up to and including the end of one reply and returns how many it used; the rest
  // belongs to whatever follows. On a violation it stops, failed() becomes true and error() names
  // the rule; the parser must then be reset() before reuse (the stream is out of sync).
  std::size_t feed(std::string_view bytes);

  // A complete reply is ready for take().
  bool done() const { return done_; }
  bool failed() const { return error_.has_value(); }
  const std::optional<ReplyError>& error() const { return error_; }
  // Nothing of a reply has been fed yet (no partial line, no earlier line).
  bool idle() const { return !done_ && !failed() && raw_.empty() && !saw_cr_; }
  // Returns the reply and makes the parser ready for the next one.
  Reply take();
  // The raw lines of the reply being assembled, CRLF included (debug output reads them before
  // take()). The views are valid until the next feed(), take() or reset().
  std::vector<std::string_view> raw_lines() const;
  const ReplyLimits& limits() const { return limits_; }

  void reset();

 private:
  // Where a completed line lies in raw_: its raw bytes end at raw_end (CRLF included; they start
  // where the previous line's end), its text (after the separator, blanks stripped) is
  // [text_begin, text_end).
  struct Line {
    std::size_t raw_end;
    std::size_t text_begin;
    std::size_t text_end;
  };

  std::size_t whole_lines(std::string_view bytes);
  std::size_t plain_bytes(std::string_view bytes) const;
  void byte(char c);
  void end_line();
  void line_violation();
  void fail(std::string rule, std::string_view shown);
  // The current line so far, without CR.
  std::string_view line() const { return std::string_view(raw_).substr(line_start_); }

  ReplyLimits limits_;
  // Every byte of the reply so far, in one buffer (no allocation per line): the completed lines
  // with their CRLF, then the current line without its CR.
  std::string raw_;
  std::size_t line_start_ = 0;  // where the current line starts in raw_
  bool saw_cr_ = false;
  bool done_ = false;
  int code_ = 0;
  std::size_t reply_bytes_ = 0;
  std::vector<Line> lines_;  // the completed lines
  std::optional<ReplyError> error_;
};

}  // namespace smtp::wire
