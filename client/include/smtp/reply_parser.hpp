// Incremental, strict parser for server replies (RFC 5321 section 4.2). No I/O: feed() it bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"

namespace smtp {

class ReplyParser {
 public:
  // smtplib's _MAXLINE: a reply line, CRLF included, may not be longer.
  static constexpr std::size_t max_line = 8192;
  // Lines in one reply. An EHLO reply has a few dozen at most; more is a runaway server.
  static constexpr std::size_t max_lines = 256;
  // Bytes in one reply, CRLFs included: bounds memory whatever the per-line limit allows.
  static constexpr std::size_t max_reply_bytes = 65536;

  // Consumes bytes up to and including the end of one reply and returns how many it used; the rest
  // belongs to whatever follows. Throws SMTPProtocolError naming the rule and showing the bytes.
  // After a violation the parser must be reset() before reuse.
  std::size_t feed(std::string_view bytes);

  // A complete reply is ready for take().
  bool done() const { return done_; }
  // Nothing of a reply has been fed yet (no partial line, no earlier line).
  bool idle() const { return !done_ && line_.empty() && !saw_cr_ && lines_.empty(); }
  // Returns the reply and makes the parser ready for the next one.
  Reply take();
  // The raw lines of the reply being assembled, CRLF included (debug output reads them before
  // take()).
  const std::vector<std::string>& raw_lines() const { return raw_lines_; }

  void reset();

 private:
  void end_line();
  [[noreturn]] void fail(std::string rule, std::string_view shown) const;

  std::string line_;  // current line so far, without CR
  bool saw_cr_ = false;
  bool done_ = false;
  int code_ = 0;
  std::size_t reply_bytes_ = 0;
  std::vector<std::string> lines_;  // text of each completed line
  std::vector<std::string> raw_lines_;
};

}  // namespace smtp
