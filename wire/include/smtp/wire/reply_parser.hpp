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
  bool idle() const { return !done_ && !failed() && line_.empty() && !saw_cr_ && lines_.empty(); }
  // Returns the reply and makes the parser ready for the next one.
  Reply take();
  // The raw lines of the reply being assembled, CRLF included (debug output reads them before
  // take()).
  const std::vector<std::string>& raw_lines() const { return raw_lines_; }
  const ReplyLimits& limits() const { return limits_; }

  void reset();

 private:
  void end_line();
  void fail(std::string rule, std::string_view shown);

  ReplyLimits limits_;
  std::string line_;  // current line so far, without CR
  bool saw_cr_ = false;
  bool done_ = false;
  int code_ = 0;
  std::size_t reply_bytes_ = 0;
  std::vector<std::string> lines_;  // text of each completed line
  std::vector<std::string> raw_lines_;
  std::optional<ReplyError> error_;
};

}  // namespace smtp::wire
