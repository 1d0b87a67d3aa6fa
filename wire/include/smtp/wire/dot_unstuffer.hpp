#pragma once
// DATA content as the server sees it (RFC 5321 section 4.5.2): the end-of-data line is exactly
// ".\r\n"; a leading dot on any other line is removed. Pure: fed one received line at a time.
#include <string>
#include <string_view>

namespace smtp::wire {

class DotUnstuffer {
 public:
  // Feeds one line (terminator included). Returns true when it was the end-of-data line;
  // otherwise appends the un-stuffed line (terminator kept, byte-exact) to the message.
  bool feed(std::string_view line);
  const std::string& message() const { return message_; }
  std::string take_message() { return std::move(message_); }
  std::size_t lines() const { return lines_; }
  std::size_t bare_lf_lines() const { return bare_lf_; }

 private:
  std::string message_;
  std::size_t lines_ = 0;
  std::size_t bare_lf_ = 0;
};

// Un-stuffs one content line: removes the transparency dot (".." -> ".").
std::string_view unstuff(std::string_view line);

}  // namespace smtp::wire
