#include "smtp/sasl/xoauth2.hpp"

#include <stdexcept>

#include "crypto.hpp"

namespace smtp::sasl {

xoauth2::xoauth2(std::string user, std::string bearer_token)
    : user_(std::move(user)), token_(std::move(bearer_token)) {
  if (user_.find('\x01') != std::string::npos || token_.find('\x01') != std::string::npos) {
    detail::wipe(token_);
    throw std::invalid_argument("XOAUTH2 user and token must not contain 0x01");
  }
}

xoauth2::~xoauth2() {
  detail::wipe(token_);
}

std::string xoauth2::message() const {
  return "user=" + user_ + "\x01" + "auth=Bearer " + token_ + "\x01\x01";
}

std::optional<std::string> xoauth2::first_message() {
  sent_ = true;
  return message();
}

step_result xoauth2::answer(std::string_view challenge) {
  if (!sent_) {
    sent_ = true;
    return step_result::respond(message());
  }
  if (server_error_) {
    return step_result::fail(error_kind::unexpected_challenge, "XOAUTH2 error already answered");
  }
  server_error_ = std::string{challenge};
  return step_result::respond({});
}

}  // namespace smtp::sasl
