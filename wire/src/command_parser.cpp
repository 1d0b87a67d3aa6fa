#include "smtp/wire/command_parser.hpp"

namespace smtp::wire {

namespace {

char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (upper(a[i]) != upper(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string command_verb(std::string_view line) {
  std::string v;
  for (char c : line) {
    if (c == ' ' || c == '\r' || c == '\n') break;
    v.push_back(upper(c));
  }
  return v;
}

std::optional<BdatCommand> parse_bdat(std::string_view line) {
  if (line.size() < 6 || !iequals(line.substr(0, 4), "BDAT") || line[4] != ' ') return std::nullopt;
  std::string_view rest = line.substr(5);
  BdatCommand out;
  std::size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
    if (digits >= 18) return std::nullopt;  // beyond any limit: not a size a server takes
    out.size = out.size * 10 + static_cast<std::uint64_t>(rest[digits] - '0');
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  rest.remove_prefix(digits);
  if (rest.empty()) return out;
  if (rest.size() == 5 && rest[0] == ' ' && iequals(rest.substr(1), "LAST")) {
    out.last = true;
    return out;
  }
  return std::nullopt;
}

}  // namespace smtp::wire
