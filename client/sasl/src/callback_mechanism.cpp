#include "smtp/sasl/callback_mechanism.hpp"

#include <stdexcept>

namespace smtp::sasl {

std::optional<std::string> normalize_mechanism_name(std::string_view name) {
  static constexpr std::size_t max_name = 20;  // RFC 4422 section 3.1
  if (name.empty() || name.size() > max_name) return std::nullopt;
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return std::nullopt;
    out += c;
  }
  return out;
}

callback_mechanism::callback_mechanism(std::string name, callback respond, bool exposes_secret)
    : respond_(std::move(respond)), exposes_secret_(exposes_secret) {
  auto normalized = normalize_mechanism_name(name);
  if (!normalized) throw std::invalid_argument("not a SASL mechanism name");
  if (!respond_) throw std::invalid_argument("callback_mechanism needs a callback");
  name_ = std::move(*normalized);
}

std::optional<std::string> callback_mechanism::first_message() {
  return respond_(std::nullopt);
}

step_result callback_mechanism::answer(std::string_view challenge) {
  auto response = respond_(challenge);
  if (!response) return step_result::fail(error_kind::declined, "callback returned no response");
  return step_result::respond(std::move(*response));
}

}  // namespace smtp::sasl
