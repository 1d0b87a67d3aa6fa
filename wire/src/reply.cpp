#include "smtp/wire/reply.hpp"

#include <cctype>

namespace smtp::wire {

std::string EnhancedStatus::to_string() const {
  return std::to_string(klass) + "." + std::to_string(subject) + "." + std::to_string(detail);
}

namespace {
// 1 to 3 digits without a leading zero (RFC 3463: subject and detail are 1*3digit).
bool take_number(std::string_view& s, int& value) {
  std::size_t n = 0;
  value = 0;
  while (n < s.size() && n < 4 && std::isdigit(static_cast<unsigned char>(s[n]))) {
    value = value * 10 + (s[n] - '0');
    ++n;
  }
  if (n == 0 || n > 3 || (n > 1 && s[0] == '0')) return false;
  s.remove_prefix(n);
  return true;
}
}  // namespace

std::optional<EnhancedStatus> parse_enhanced_status(int code, std::string_view text) {
  EnhancedStatus st;
  std::string_view s = text;
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return {};
  st.klass = s[0] - '0';
  if (st.klass != code / 100) return {};
  s.remove_prefix(2);
  if (!take_number(s, st.subject) || s.empty() || s[0] != '.') return {};
  s.remove_prefix(1);
  if (!take_number(s, st.detail)) return {};
  if (!s.empty() && s[0] != ' ' && s[0] != '\t' && s[0] != '\n') return {};
  return st;
}

}  // namespace smtp::wire
