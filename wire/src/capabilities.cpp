#include "smtp/wire/capabilities.hpp"

#include <cctype>

namespace smtp::wire {

namespace {
char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

// Python's str.strip(): every ASCII whitespace character.
std::string_view strip(std::string_view s) {
  auto ws = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 && c >= 0;
}
}  // namespace

EsmtpFeatures parse_ehlo_features(std::string_view text) {
  EsmtpFeatures features;
  std::size_t pos = text.find('\n');
  if (pos == std::string_view::npos) return features;  // greeting line only
  std::string_view rest = text.substr(pos + 1);
  while (true) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    if (line.size() >= 5 && to_lower(line.substr(0, 5)) == "auth=") {
      // Old-style "AUTH=PLAIN LOGIN" (pre-RFC 2554 servers): smtplib merges it into "auth".
      features["auth"] += " " + std::string(line.substr(5));
    } else if (!line.empty() && is_alnum(line[0])) {
      std::size_t end = 1;
      while (end < line.size() && (is_alnum(line[end]) || line[end] == '-')) ++end;
      const std::string keyword = to_lower(line.substr(0, end));
      const std::string params(strip(line.substr(end)));
      if (keyword == "auth") {
        features[keyword] += " " + params;
      } else {
        features[keyword] = params;
      }
    }
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  return features;
}

bool has_feature(const EsmtpFeatures& features, std::string_view name) {
  return features.count(to_lower(name)) != 0;
}

}  // namespace smtp::wire
