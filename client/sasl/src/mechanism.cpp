#include "smtp/sasl/mechanism.hpp"

#include <string>

#include "smtp/sasl/base64.hpp"

namespace smtp::sasl {

std::optional<std::string> mechanism::initial_response() {
  auto raw = first_message();
  if (!raw) return std::nullopt;
  // RFC 4954 section 4: a zero-length initial response is sent as a single "=".
  if (raw->empty()) return std::string{"="};
  return base64_encode(*raw);
}

step_result mechanism::step(std::string_view challenge) {
  if (failed_)
    return step_result::fail(error_kind::unexpected_challenge, "exchange already failed");
  ++challenges_;
  auto fail = [this](error_kind kind, std::string detail) {
    failed_ = true;
    return step_result::fail(kind, std::move(detail));
  };
  if (challenges_ > max_challenges) {
    return fail(error_kind::too_many_challenges,
                "server sent more than " + std::to_string(max_challenges) + " challenges");
  }
  if (challenge.size() > max_challenge_length) {
    return fail(error_kind::challenge_too_long, std::to_string(challenge.size()) + " characters");
  }
  const auto decoded = base64_decode(challenge);
  if (!decoded) return fail(error_kind::invalid_base64, {});
  auto result = answer(*decoded);
  if (!result) {
    failed_ = true;
    return result;
  }
  return step_result::respond(base64_encode(result.response()));
}

std::optional<sasl_error> mechanism::on_success(std::string_view reply_text) {
  if (failed_) return sasl_error{error_kind::unexpected_challenge, "exchange already failed"};
  return accept_success(reply_text);
}

}  // namespace smtp::sasl
