#include "smtp/sasl/plain.hpp"

#include <stdexcept>

#include "crypto.hpp"

namespace smtp::sasl {

plain::plain(std::string user, std::string password, std::string authzid)
    : user_(std::move(user)), password_(std::move(password)), authzid_(std::move(authzid)) {
  const auto has_nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
  if (has_nul(user_) || has_nul(password_) || has_nul(authzid_)) {
    detail::wipe(password_);
    throw std::invalid_argument("PLAIN credentials must not contain NUL");
  }
}

plain::~plain() {
  detail::wipe(password_);
}

std::string plain::message() const {
  std::string out;
  out.reserve(authzid_.size() + user_.size() + password_.size() + 2);
  out += authzid_;
  out += '\0';
  out += user_;
  out += '\0';
  out += password_;
  return out;
}

std::optional<std::string> plain::first_message() {
  sent_ = true;
  return message();
}

step_result plain::answer(std::string_view /*challenge*/) {
  // RFC 4616 section 2: the server's first challenge is empty; its content carries nothing.
  if (sent_) return step_result::fail(error_kind::unexpected_challenge, "PLAIN already sent");
  sent_ = true;
  return step_result::respond(message());
}

}  // namespace smtp::sasl
