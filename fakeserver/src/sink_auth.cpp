#include "sink_auth.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "smtp/wire/reply_format.hpp"

namespace smtp::fakeserver::detail {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

const std::string cannot_decode = wire::format_reply(501, "5.5.2 Cannot decode the response");
const std::string cancelled = wire::format_reply(501, "5.7.0 Authentication cancelled");

}  // namespace

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::array<int, 256> value{};
  value.fill(-1);
  constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    value[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
  }
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + static_cast<std::size_t>(k)];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after '='
      v[k] = value[static_cast<unsigned char>(c)];
      if (v[k] < 0) return std::nullopt;
    }
    const int n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string SinkAuth::start(std::string_view args) {
  if (user_) return wire::format_reply(503, "5.5.1 Already authenticated");
  const auto space = args.find(' ');
  const std::string mechanism = upper(args.substr(0, space));
  const std::string_view initial =
      space == std::string_view::npos ? std::string_view{} : args.substr(space + 1);
  if (mechanism == "PLAIN") {
    if (initial.empty()) {
      step_ = Step::plain;
      return wire::format_reply(334, "");
    }
    return plain(initial);
  }
  if (mechanism == "LOGIN") {
    if (initial.empty()) {
      step_ = Step::login_user;
      return wire::format_reply(334, "VXNlcm5hbWU6");  // "Username:"
    }
    auto name = base64_decode(initial);
    if (!name) return cannot_decode;
    login_user_ = *name;
    step_ = Step::login_password;
    return wire::format_reply(334, "UGFzc3dvcmQ6");  // "Password:"
  }
  return wire::format_reply(504, "5.5.4 Unrecognized authentication type (PLAIN, LOGIN)");
}

std::string SinkAuth::respond(std::string_view line) {
  const Step step = step_;
  step_ = Step::none;
  if (line == "*") return cancelled;
  if (step == Step::plain) return plain(line);
  auto decoded = base64_decode(line);
  if (!decoded) return cannot_decode;
  if (step == Step::login_user) {
    login_user_ = *decoded;
    step_ = Step::login_password;
    return wire::format_reply(334, "UGFzc3dvcmQ6");
  }
  return check(login_user_, *decoded);
}

// authzid NUL authcid NUL passwd (RFC 4616); the authentication identity is the user.
std::string SinkAuth::plain(std::string_view response) {
  if (response == "=") response = "";
  auto decoded = base64_decode(response);
  if (!decoded) return cannot_decode;
  const auto first = decoded->find('\0');
  const auto second = first == std::string::npos ? first : decoded->find('\0', first + 1);
  if (second == std::string::npos) {
    return wire::format_reply(501, "5.5.2 PLAIN wants authzid NUL user NUL password");
  }
  return check(decoded->substr(first + 1, second - first - 1), decoded->substr(second + 1));
}

std::string SinkAuth::check(const std::string& user, const std::string& password) {
  if (!users_.empty()) {
    auto it = users_.find(user);
    if (it == users_.end() || it->second != password) {
      return wire::format_reply(535, "5.7.8 Authentication credentials invalid");
    }
  }
  user_ = user;
  return wire::format_reply(235, "2.7.0 Authentication successful");
}

}  // namespace smtp::fakeserver::detail
