#include "smtp/probe/reply_line.hpp"

namespace smtp::probe {

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
