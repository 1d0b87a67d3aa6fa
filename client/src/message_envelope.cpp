#include "smtp/message_envelope.hpp"

#include <cctype>
#include <optional>
#include <stdexcept>

namespace smtp {

namespace {

struct Field {
  std::string name;   // as written
  std::string value;  // unfolded body
  std::size_t begin;  // byte range of the whole field, line endings included
  std::size_t end;
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits the header section into fields (RFC 5322 section 2.2: a field continues on lines that
// start with a blank). The header ends at the first empty line.
std::vector<Field> read_header(std::string_view raw) {
  std::vector<Field> fields;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    std::size_t eol = raw.find('\n', pos);
    const std::size_t next = eol == std::string_view::npos ? raw.size() : eol + 1;
    std::string_view line = raw.substr(pos, next - pos);
    const std::string_view content = trim(line) == "" ? "" : line;
    if (content.empty()) break;  // end of header
    if ((line[0] == ' ' || line[0] == '\t') && !fields.empty()) {
      fields.back().value += ' ';
      fields.back().value += trim(line);
      fields.back().end = next;
    } else {
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) break;  // not a header field: the body starts here
      fields.push_back({std::string(trim(line.substr(0, colon))),
                        std::string(trim(line.substr(colon + 1))), pos, next});
    }
    pos = next;
  }
  return fields;
}

std::optional<std::string> first(const std::vector<Field>& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

// Removes comments (nested, with quoted-pairs) outside quoted strings.
std::string strip_comments(std::string_view s) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      if (depth == 0) {
        out += c;
        out += s[i + 1];
      }
      ++i;
      continue;
    }
    if (depth == 0 && c == '"') quoted = !quoted;
    if (!quoted && c == '(') {
      ++depth;
      continue;
    }
    if (!quoted && c == ')' && depth > 0) {
      --depth;
      out += ' ';
      continue;
    }
    if (depth == 0) out += c;
  }
  return out;
}

std::string mailbox_addr(std::string_view mailbox) {
  const std::string_view m = trim(mailbox);
  const std::size_t lt = m.rfind('<');
  if (lt != std::string_view::npos) {
    const std::size_t gt = m.find('>', lt);
    std::string_view inside = m.substr(lt + 1, gt == std::string_view::npos ? gt : gt - lt - 1);
    // Obsolete route "<@a,@b:user@c>": keep the mailbox.
    if (!inside.empty() && inside.front() == '@') {
      const std::size_t colon = inside.find(':');
      if (colon != std::string_view::npos) inside.remove_prefix(colon + 1);
    }
    return std::string(trim(inside));
  }
  std::string out;
  for (char c : m) {
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
  }
  return out;
}

}  // namespace

std::vector<std::string> parse_address_list(std::string_view field_body) {
  const std::string s = strip_comments(field_body);
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  bool angle = false;
  auto flush = [&] {
    std::string addr = mailbox_addr(current);
    if (!addr.empty()) out.push_back(std::move(addr));
    current.clear();
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      current += c;
      current += s[++i];
      continue;
    }
    if (c == '"' && !angle) quoted = !quoted;
    if (!quoted) {
      if (c == '<') angle = true;
      if (c == '>') angle = false;
      if (!angle) {
        if (c == ',') {
          flush();
          continue;
        }
        if (c == ':') {  // group "display-name:" — drop the name
          current.clear();
          continue;
        }
        if (c == ';') {  // end of group
          flush();
          continue;
        }
      }
    }
    current += c;
  }
  flush();
  return out;
}

MessageEnvelope envelope_from_message(std::string_view raw) {
  const std::vector<Field> fields = read_header(raw);
  std::size_t resent_dates = 0;
  for (const auto& f : fields) {
    if (iequals(f.name, "Resent-Date")) ++resent_dates;
  }
  if (resent_dates > 1) {
    throw std::invalid_argument("message has more than one 'Resent-' header block");
  }
  const std::string prefix = resent_dates == 1 ? "Resent-" : "";

  MessageEnvelope env;
  auto from = first(fields, prefix + "Sender");
  if (!from) from = first(fields, prefix + "From");
  if (from) {
    const auto addrs = parse_address_list(*from);
    if (!addrs.empty()) env.from = addrs.front();
  }
  for (const char* name : {"To", "Bcc", "Cc"}) {
    for (const auto& f : fields) {
      if (!iequals(f.name, prefix + name)) continue;
      for (auto& a : parse_address_list(f.value)) env.to.push_back(std::move(a));
    }
  }
  std::size_t copied = 0;
  for (const auto& f : fields) {
    if (iequals(f.name, "Bcc") || iequals(f.name, "Resent-Bcc")) {
      env.message.append(raw.substr(copied, f.begin - copied));
      copied = f.end;
    }
  }
  env.message.append(raw.substr(copied));
  return env;
}

}  // namespace smtp
