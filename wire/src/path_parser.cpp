#include "smtp/wire/path_parser.hpp"

namespace smtp::wire {

namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != prefix[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<PathCommand> parse_path_command(std::string_view line) {
  std::string_view rest;
  if (iequals_prefix(line, "MAIL FROM:")) {
    rest = line.substr(10);
  } else if (iequals_prefix(line, "RCPT TO:")) {
    rest = line.substr(8);
  } else {
    return std::nullopt;
  }
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  PathCommand out;
  if (!rest.empty() && rest.front() == '<') {
    // A quoted local part may hold '>' (RFC 5321 section 4.1.2); skip quoted strings.
    bool quoted = false;
    std::size_t end = std::string_view::npos;
    for (std::size_t i = 1; i < rest.size(); ++i) {
      if (quoted && rest[i] == '\\') {
        ++i;
      } else if (rest[i] == '"') {
        quoted = !quoted;
      } else if (!quoted && rest[i] == '>') {
        end = i;
        break;
      }
    }
    if (end == std::string_view::npos) return std::nullopt;
    out.address = std::string(rest.substr(1, end - 1));
    rest.remove_prefix(end + 1);
  } else {
    out.bracketed = false;
    const auto sp = rest.find(' ');
    out.address = std::string(rest.substr(0, sp));
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp);
  }
  std::size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    auto j = rest.find(' ', i);
    if (j == std::string_view::npos) j = rest.size();
    if (j > i) out.params.emplace_back(rest.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_param(std::string_view param, std::string_view keyword) {
  const auto eq = param.find('=');
  const auto key = param.substr(0, eq);
  if (key.size() != keyword.size()) return false;
  for (std::size_t i = 0; i < key.size(); ++i) {
    char a = key[i], b = keyword[i];
    if (a >= 'a' && a <= 'z') a = static_cast<char>(a - 'a' + 'A');
    if (b >= 'a' && b <= 'z') b = static_cast<char>(b - 'a' + 'A');
    if (a != b) return false;
  }
  return true;
}

}  // namespace smtp::wire
