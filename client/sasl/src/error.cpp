#include "smtp/sasl/error.hpp"

namespace smtp::sasl {

std::string_view to_string(error_kind kind) noexcept {
  switch (kind) {
    case error_kind::invalid_base64:
      return "challenge is not valid base64";
    case error_kind::challenge_too_long:
      return "challenge is too long";
    case error_kind::unexpected_challenge:
      return "unexpected challenge";
    case error_kind::too_many_challenges:
      return "too many challenges";
    case error_kind::malformed_server_message:
      return "malformed server message";
    case error_kind::nonce_mismatch:
      return "server nonce does not extend the client nonce";
    case error_kind::iteration_count_too_low:
      return "iteration count too low";
    case error_kind::iteration_count_too_high:
      return "iteration count too high";
    case error_kind::server_error:
      return "server reported an error";
    case error_kind::server_signature_mismatch:
      return "server signature does not match";
    case error_kind::missing_server_signature:
      return "server did not prove it knows the password";
    case error_kind::crypto_failure:
      return "cryptographic operation failed";
    case error_kind::declined:
      return "no answer to the challenge";
  }
  return "unknown SASL error";
}

std::string sasl_error::message() const {
  std::string out{to_string(kind)};
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

}  // namespace smtp::sasl
