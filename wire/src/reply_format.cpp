#include "smtp/wire/reply_format.hpp"

namespace smtp::wire {

std::string format_reply(int code, const std::vector<std::string>& lines) {
  std::string out;
  std::string c = std::to_string(code);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += c;
    out += i + 1 < lines.size() ? '-' : ' ';
    out += lines[i];
    out += "\r\n";
  }
  if (lines.empty()) out = c + "\r\n";
  return out;
}

}  // namespace smtp::wire
