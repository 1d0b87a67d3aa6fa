#include "smtp/probe/reply_line.hpp"

namespace smtp::probe {

std::optional<ReplyLine> classify_reply_line(std::string_view line) {
  if (line.size() < 3) return std::nullopt;
  for (std::size_t i = 0; i < 3; ++i) {
    if (line[i] < '0' || line[i] > '9') return std::nullopt;
  }
  ReplyLine r;
  r.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (line.size() == 3) return r;
  if (line[3] == '-') {
    r.continuation = true;
    return r;
  }
  if (line[3] == ' ') return r;
  return std::nullopt;
}

bool is_continuation_pattern(const scenario::LinePattern& pattern) {
  std::string_view s = pattern.source();
  if (s.starts_with("~ ")) s.remove_prefix(2);
  std::size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == 'x' || s[i] == 'X' ||
                          s[i] == '|' || s[i] == '\\')) {
    ++i;
  }
  return i >= 3 && i < s.size() && s[i] == '-';
}

}  // namespace smtp::probe
