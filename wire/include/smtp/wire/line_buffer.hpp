#pragma once
// Splitting received bytes into lines, with no I/O: the scripted server, the sink and (later) the
// probe feed bytes in and take whole lines out. A line keeps its terminator so a bare LF is seen.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace smtp::wire {

class LineBuffer {
 public:
  explicit LineBuffer(std::size_t max_line) : max_line_(max_line) {}

  void append(std::string_view bytes) { buf_.append(bytes); }
  // Puts bytes back in front (what followed an end of data inside a line: the next command).
  void unread(std::string_view bytes) { buf_.insert(0, bytes); }
  // The next complete line (terminator included: "\r\n" or a bare "\n"), if one is buffered.
  std::optional<std::string> take_line();
  // Exactly n bytes, if buffered (BDAT chunks, raw expectations).
  std::optional<std::string> take_bytes(std::size_t n);
  // True when the buffered partial line already exceeds the limit (the peer is not sending lines).
  bool overlong() const;
  bool has_line() const { return buf_.find('\n') != std::string::npos; }
  std::size_t size() const { return buf_.size(); }
  bool empty() const { return buf_.empty(); }
  const std::string& pending() const { return buf_; }
  std::string take_all();
  std::size_t max_line() const { return max_line_; }
  // A scenario's `max-line:` for its sessions.
  void set_max_line(std::size_t max_line) { max_line_ = max_line; }

 private:
  std::string buf_;
  std::size_t max_line_;
};

// True when `line` ends with CRLF (not a bare LF).
inline bool ends_with_crlf(std::string_view line) {
  return line.ends_with("\r\n");
}

// The line without its terminator ("\r\n" or "\n").
std::string_view strip_eol(std::string_view line);

}  // namespace smtp::wire
