#include "smtp/sasl/cram_md5.hpp"

#include "crypto.hpp"

namespace smtp::sasl {

cram_md5::cram_md5(std::string user, std::string password)
    : user_(std::move(user)), password_(std::move(password)) {}

cram_md5::~cram_md5() {
  detail::wipe(password_);
}

step_result cram_md5::answer(std::string_view challenge) {
  if (sent_)
    return step_result::fail(error_kind::unexpected_challenge, "CRAM-MD5 already answered");
  if (challenge.empty()) {
    return step_result::fail(error_kind::malformed_server_message, "empty CRAM-MD5 challenge");
  }
  const auto digest = detail::hmac_md5(password_, challenge);
  if (!digest) return step_result::fail(error_kind::crypto_failure, "HMAC-MD5 unavailable");
  sent_ = true;
  return step_result::respond(user_ + ' ' + detail::lower_hex(*digest));
}

}  // namespace smtp::sasl
