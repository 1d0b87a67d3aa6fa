#include "smtp/sasl/redact.hpp"

namespace smtp::sasl {
namespace {

// Splits off a trailing "\r\n" or "\n" so it survives redaction.
std::string_view line_ending(std::string_view& line) {
  if (line.ends_with("\r\n")) {
    line.remove_suffix(2);
    return "\r\n";
  }
  if (line.ends_with('\n')) {
    line.remove_suffix(1);
    return "\n";
  }
  return {};
}

bool is_auth_verb(std::string_view word) {
  if (word.size() != 4) return false;
  constexpr std::string_view verb = "AUTH";
  for (std::size_t i = 0; i < 4; ++i) {
    const char c =
        word[i] >= 'a' && word[i] <= 'z' ? static_cast<char>(word[i] - 'a' + 'A') : word[i];
    if (c != verb[i]) return false;
  }
  return true;
}

}  // namespace

std::string redact_auth_command(std::string_view line) {
  std::string_view body = line;
  const std::string_view eol = line_ending(body);
  const std::size_t verb_end = body.find(' ');
  if (verb_end == std::string_view::npos || !is_auth_verb(body.substr(0, verb_end))) {
    return std::string{line};
  }
  std::size_t name_start = verb_end;
  while (name_start < body.size() && body[name_start] == ' ') ++name_start;
  const std::size_t name_end = body.find(' ', name_start);
  if (name_end == std::string_view::npos) return std::string{line};
  std::string out{body.substr(0, name_end)};
  out += ' ';
  out += redacted;
  out += eol;
  return out;
}

std::string redact_auth_response(std::string_view line) {
  std::string_view body = line;
  const std::string_view eol = line_ending(body);
  if (body.empty() || body == "*") return std::string{line};
  std::string out{redacted};
  out += eol;
  return out;
}

std::string redact_client_line(std::string_view line, bool in_auth_exchange) {
  if (in_auth_exchange) return redact_auth_response(line);
  return redact_auth_command(line);
}

}  // namespace smtp::sasl
