#include "smtp/sasl/login.hpp"

#include <cctype>

#include "crypto.hpp"

namespace smtp::sasl {
namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

login::login(std::string user, std::string password)
    : user_(std::move(user)), password_(std::move(password)) {}

login::~login() {
  detail::wipe(password_);
}

std::optional<std::string> login::first_message() {
  user_sent_ = true;
  return user_;
}

step_result login::answer(std::string_view prompt) {
  if (password_sent_) {
    return step_result::fail(error_kind::unexpected_challenge, "LOGIN already sent the password");
  }
  const bool asks_password = starts_with_nocase(prompt, "password");
  const bool asks_user = starts_with_nocase(prompt, "user");
  if (asks_password || (!asks_user && user_sent_)) {
    password_sent_ = true;
    return step_result::respond(password_);
  }
  user_sent_ = true;
  return step_result::respond(user_);
}

}  // namespace smtp::sasl
