#include "test_message.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <utility>

namespace smtp_client {
namespace {

// RFC 5322 date-time in UTC: "Tue, 05 Mar 2024 10:00:00 +0000".
std::string rfc5322_date(std::time_t now) {
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::array<char, 64> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return std::string(buf.data(), n);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::pair<std::string, std::string> split_header(const std::string& h) {
  if (h.find_first_of("\r\n") != std::string::npos) {
    throw std::invalid_argument("--header must be one line: '" + h + "'");
  }
  const auto colon = h.find(':');
  if (colon == std::string::npos || colon == 0) {
    throw std::invalid_argument("--header wants \"Name: value\", got '" + h + "'");
  }
  const std::string name = h.substr(0, colon);
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 32 || c >= 127) {
      throw std::invalid_argument("--header: the name '" + name + "' is not printable ASCII");
    }
  }
  std::string value = h.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.erase(0, 1);
  return {name, value};
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string build_test_message(const TestMessage& m, std::time_t now) {
  const std::string date = rfc5322_date(now);
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Date", date},
      {"To", join(m.to)},
      {"From", m.from.empty() ? "<>" : m.from},
      {"Subject", "test " + date},
      {"Message-Id", "<" + std::to_string(now) + "." + std::to_string(::getpid()) + "@" +
                         (m.hostname.empty() ? "localhost" : m.hostname) + ">"},
      {"X-Mailer", m.mailer},
  };
  for (const auto& h : m.headers) {
    auto header = split_header(h);  // not a structured binding: clang 14 cannot capture one
    const std::string key = lower(header.first);
    auto same = std::find_if(headers.begin(), headers.end(),
                             [&key](const auto& d) { return lower(d.first) == key; });
    if (same != headers.end()) {
      same->second = header.second;
    } else {
      headers.push_back(std::move(header));
    }
  }
  std::string out;
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  out += "\r\n";
  out += m.body.empty() ? std::string("This is a test mailing") : m.body;
  if (!out.ends_with("\n")) out += "\r\n";
  return out;
}

}  // namespace smtp_client
