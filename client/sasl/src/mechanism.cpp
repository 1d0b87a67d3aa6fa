#include "smtp/sasl/mechanism.hpp"

#include <stdexcept>
#include <string>

#include "smtp/sasl/base64.hpp"

namespace smtp::sasl {

std::string mechanism::auth_command(bool initial_response_ok) {
  std::string line = "AUTH ";
  line += name();
  if (!initial_response_ok) {
    started_ = true;
    return line;
  }
  auto ir = initial_response();
  if (!ir) return line;
  constexpr std::size_t crlf = 2;
  if (line.size() + 1 + ir->size() + crlf > max_auth_line) {
    pending_first_ = std::move(*ir);  // RFC 4954 section 4: send it after the empty challenge
    return line;
  }
  line += ' ';
  line += *ir;
  return line;
}

std::optional<std::string> mechanism::initial_response() {
  if (started_ || challenges_ > 0) {
    throw std::logic_error("SASL initial response requested twice or after a challenge");
  }
  started_ = true;
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
  if (pending_first_) {
    // The initial response that did not fit on the AUTH line; "=" stood for an empty one.
    // swap, not move-construct: GCC 12 -O2 reports a false maybe-uninitialized on the latter.
    std::string text;
    text.swap(*pending_first_);
    pending_first_.reset();
    return step_result::respond(text == "=" ? std::string{} : std::move(text));
  }
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
