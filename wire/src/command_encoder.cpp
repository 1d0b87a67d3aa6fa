#include "smtp/wire/command_encoder.hpp"

#include <stdexcept>

#include "smtp/wire/bytes_repr.hpp"

namespace smtp::wire::command {

namespace {
[[noreturn]] void refuse(std::string_view rule, std::string_view value) {
  throw std::invalid_argument(std::string(rule) + ": " + bytes_repr(value, false));
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_8bit(char c) {
  return static_cast<unsigned char>(c) >= 0x80;
}
bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// RFC 5322 atext, plus UTF-8 non-ASCII bytes (RFC 6531 section 3.3).
bool is_atext(char c) {
  if (is_alpha(c) || is_digit(c) || is_8bit(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Dot-string = Atom *("." Atom)
bool dot_string(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') return false;
    } else if (!is_atext(s[i])) {
      return false;
    }
  }
  return true;
}

// Quoted-string = DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE
bool quoted_string(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\') {
      if (i + 2 >= s.size()) return false;  // the escape would eat the closing quote
      const char e = s[++i];
      if (is_control(e) || is_8bit(e)) return false;
    } else if (c == '"' || is_control(c)) {
      return false;
    }
  }
  return true;
}

// Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str] (U-labels allowed).
bool domain(std::string_view s) {
  if (s.empty()) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    const std::string_view label =
        s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!is_alpha(c) && !is_digit(c) && c != '-' && !is_8bit(c)) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// address-literal = "[" ( IPv4 / IPv6 / General-address-literal ) "]"; checked loosely inside:
// dcontent (%d33-90 / %d94-126) only, which excludes brackets, controls and spaces.
bool address_literal(std::string_view s) {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (!((u >= 33 && u <= 90) || (u >= 94 && u <= 126))) return false;
  }
  return true;
}

bool mailbox(std::string_view s) {
  const std::size_t at = s.rfind('@');
  if (at == std::string_view::npos) return false;
  const std::string_view local = s.substr(0, at);
  const std::string_view dom = s.substr(at + 1);
  if (!(dot_string(local) || quoted_string(local))) return false;
  return domain(dom) || address_literal(dom);
}

// Path = "<" [ A-d-l ":" ] Mailbox ">", given the inside of the brackets.
bool path_inside(std::string_view s) {
  if (!s.empty() && s.front() == '@') {
    const std::size_t colon = s.find(':');
    if (colon == std::string_view::npos) return false;
    std::string_view adl = s.substr(0, colon);
    while (!adl.empty()) {
      const std::size_t comma = adl.find(',');
      const std::string_view at_domain = adl.substr(0, comma);
      if (at_domain.size() < 2 || at_domain.front() != '@' || !domain(at_domain.substr(1))) {
        return false;
      }
      if (comma == std::string_view::npos) break;
      adl.remove_prefix(comma + 1);
      if (adl.empty()) return false;
    }
    s.remove_prefix(colon + 1);
  }
  return mailbox(s);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The addr-spec of "Display Name <addr>" or of a bare addr (what email.utils.parseaddr finds in
// the common cases). Brackets inside a quoted display name do not count; more than one unquoted
// angle-addr, or text after it, is refused.
std::string_view extract_addr(std::string_view address) {
  const std::string_view s = trim(address);
  std::size_t open = std::string_view::npos;
  std::size_t close = std::string_view::npos;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && quoted) {
      ++i;
    } else if (c == '"' && open == std::string_view::npos) {
      quoted = !quoted;
    } else if (!quoted && c == '<') {
      if (open != std::string_view::npos) refuse("more than one '<' in an address", address);
      open = i;
    } else if (!quoted && c == '>') {
      if (open == std::string_view::npos || close != std::string_view::npos) {
        refuse("unbalanced '>' in an address", address);
      }
      close = i;
    }
  }
  if (open == std::string_view::npos) return s;
  if (close == std::string_view::npos) refuse("unbalanced '<' in an address", address);
  if (close + 1 != s.size()) refuse("text after the '>' of an address", address);
  return s.substr(open + 1, close - open - 1);
}
}  // namespace

void check_no_controls(std::string_view text, std::string_view what) {
  for (char c : text) {
    if (c == '\r' || c == '\n') refuse(std::string(what) + " contains CR or LF", text);
    if (c == '\0') refuse(std::string(what) + " contains NUL", text);
    if (is_control(c)) refuse(std::string(what) + " contains a control character", text);
  }
}

std::string line(std::string_view verb, std::string_view args) {
  // smtplib's docmd() lets callers pass a whole command as `cmd` ("MAIL FROM:<a@b>"), so the
  // verb is only required to be non-empty, start with a letter and hold no control.
  if (verb.empty() || !is_alpha(verb[0])) refuse("a command must start with a letter", verb);
  check_no_controls(verb, "command");
  check_no_controls(args, "command argument");
  std::string out(verb);
  if (!args.empty()) {
    out += ' ';
    out += args;
  }
  out += "\r\n";
  return out;
}

void check_hostname(std::string_view name) {
  check_no_controls(name, "hostname");
  if (name.empty()) refuse("empty hostname", name);
  if (name.find(' ') != std::string_view::npos) refuse("hostname contains a space", name);
}

std::string quote_address(std::string_view address, bool null_ok, bool postmaster_ok) {
  check_no_controls(address, "address");
  const std::string_view addr = extract_addr(address);
  if (addr.empty()) {
    // "" and "<>" are the null reverse-path, as smtplib's quoteaddr("") gives "<>".
    if (null_ok) return "<>";
    refuse("the null path <> is only allowed as a sender", address);
  }
  if (postmaster_ok && iequals(addr, "postmaster")) return "<" + std::string(addr) + ">";
  if (!path_inside(addr)) refuse("address does not match the RFC 5321 Path grammar", address);
  return "<" + std::string(addr) + ">";
}

std::string address_only(std::string_view address) {
  check_no_controls(address, "address");
  return std::string(extract_addr(address));
}

void check_esmtp_param(std::string_view param) {
  check_no_controls(param, "ESMTP parameter");
  const std::size_t eq = param.find('=');
  const std::string_view keyword = param.substr(0, eq);
  if (keyword.empty() || !(is_alpha(keyword[0]) || is_digit(keyword[0]))) {
    refuse("ESMTP parameter keyword must start with a letter or digit", param);
  }
  for (char c : keyword) {
    if (!is_alpha(c) && !is_digit(c) && c != '-') {
      refuse("ESMTP parameter keyword is letters, digits and '-'", param);
    }
  }
  if (eq == std::string_view::npos) return;
  const std::string_view value = param.substr(eq + 1);
  if (value.empty()) refuse("ESMTP parameter value after '=' is empty", param);
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (!((u >= 33 && u <= 60) || (u >= 62 && u <= 126) || u >= 0x80)) {
      refuse("ESMTP parameter value may not contain space, '=' or controls", param);
    }
  }
}

namespace {
std::string with_options(std::string verb_args, std::span<const std::string> options) {
  for (const auto& o : options) {
    check_esmtp_param(o);
    verb_args += ' ';
    verb_args += o;
  }
  return verb_args;
}
}  // namespace

std::string mail(std::string_view sender, std::span<const std::string> options) {
  return line("mail", with_options("FROM:" + quote_address(sender, true), options));
}

std::string rcpt(std::string_view recipient, std::span<const std::string> options) {
  return line("rcpt", with_options("TO:" + quote_address(recipient, false, true), options));
}

}  // namespace smtp::wire::command
