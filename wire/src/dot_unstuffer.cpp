#include "smtp/wire/dot_unstuffer.hpp"

namespace smtp::wire {

std::string_view unstuff(std::string_view line) {
  if (line.size() >= 2 && line[0] == '.' && line != ".\r\n") return line.substr(1);
  return line;
}

bool DotUnstuffer::feed(std::string_view line) {
  if (line == ".\r\n") return true;
  ++lines_;
  if (line.ends_with('\n') && !line.ends_with("\r\n")) ++bare_lf_;
  message_.append(unstuff(line));
  return false;
}

}  // namespace smtp::wire
