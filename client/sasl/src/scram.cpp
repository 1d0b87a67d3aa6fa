#include "smtp/sasl/scram.hpp"

#include <charconv>
#include <stdexcept>
#include <vector>

#include "crypto.hpp"
#include "smtp/sasl/base64.hpp"

namespace smtp::sasl {
namespace {

constexpr std::string_view gs2_header = "n,,";
constexpr std::string_view channel_binding = "c=biws";  // base64("n,,")
constexpr std::size_t sha256_size = 32;

// RFC 5802 section 7: printable = %x21-2B / %x2D-7E (no ',').
bool printable_nonce(std::string_view nonce) {
  if (nonce.empty()) return false;
  for (const char c : nonce) {
    if (c < 0x21 || c > 0x7E || c == ',') return false;
  }
  return true;
}

struct attribute {
  char name;
  std::string_view value;
};

// Splits "a=x,b=y" into attributes; nullopt if any part is not letter '=' value.
std::optional<std::vector<attribute>> split_attributes(std::string_view message) {
  std::vector<attribute> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = message.find(',', start);
    const std::string_view part = message.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (part.size() < 2 || part[1] != '=') return std::nullopt;
    const char name = part[0];
    if (!((name >= 'a' && name <= 'z') || (name >= 'A' && name <= 'Z'))) return std::nullopt;
    out.push_back({name, part.substr(2)});
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string xor_bytes(std::string_view a, std::string_view b) {
  std::string out(a.size(), '\0');
  for (std::size_t i = 0; i < a.size(); ++i) {
    out[i] = static_cast<char>(static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]));
  }
  return out;
}

}  // namespace

std::string scram_escape_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out += c;
    }
  }
  return out;
}

std::string scram_sha256::random_nonce() {
  return base64_encode(detail::random_bytes(nonce_bytes));
}

scram_sha256::scram_sha256(std::string user, std::string password, std::string client_nonce)
    : password_(std::move(password)), nonce_(std::move(client_nonce)) {
  if (!printable_nonce(nonce_)) {
    detail::wipe(password_);
    throw std::invalid_argument("SCRAM client nonce must be printable ASCII without ','");
  }
  if (user.find('\0') != std::string::npos) {
    detail::wipe(password_);
    throw std::invalid_argument("SCRAM user name must not contain NUL");
  }
  client_first_bare_ = "n=" + scram_escape_name(user) + ",r=" + nonce_;
}

scram_sha256::~scram_sha256() {
  detail::wipe(password_);
  detail::wipe(server_signature_);
}

std::optional<std::string> scram_sha256::first_message() {
  state_ = state::first_sent;
  return std::string{gs2_header} + client_first_bare_;
}

step_result scram_sha256::answer(std::string_view challenge) {
  switch (state_) {
    case state::start:
      // RFC 4954: without an initial response the server's first challenge is empty.
      if (!challenge.empty()) {
        return step_result::fail(error_kind::malformed_server_message,
                                 "non-empty challenge before client-first");
      }
      return step_result::respond(*first_message());
    case state::first_sent:
      return on_server_first(challenge);
    case state::final_sent:
      return on_server_final(challenge);
    case state::verified:
      break;
  }
  return step_result::fail(error_kind::unexpected_challenge, "SCRAM exchange already complete");
}

step_result scram_sha256::on_server_first(std::string_view message) {
  using error_kind::malformed_server_message;
  const auto attributes = split_attributes(message);
  if (!attributes) return step_result::fail(malformed_server_message, "server-first syntax");
  const auto& attrs = *attributes;
  if (!attrs.empty() && attrs[0].name == 'm') {
    // RFC 5802 section 5.1: an unknown mandatory extension fails authentication.
    return step_result::fail(malformed_server_message, "mandatory extension m= not supported");
  }
  if (attrs.size() < 3 || attrs[0].name != 'r' || attrs[1].name != 's' || attrs[2].name != 'i') {
    return step_result::fail(malformed_server_message, "server-first must be r=,s=,i=");
  }
  const std::string_view nonce = attrs[0].value;
  if (!printable_nonce(nonce)) return step_result::fail(malformed_server_message, "bad nonce");
  if (nonce.size() <= nonce_.size() || nonce.substr(0, nonce_.size()) != nonce_) {
    return step_result::fail(error_kind::nonce_mismatch, {});
  }
  const auto salt = base64_decode(attrs[1].value);
  if (!salt || salt->empty()) return step_result::fail(malformed_server_message, "bad salt");

  const std::string_view count_text = attrs[2].value;
  unsigned long long count = 0;
  const auto [end, ec] =
      std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (count_text.empty() || ec == std::errc::invalid_argument ||
      end != count_text.data() + count_text.size() || count_text[0] == '+') {
    return step_result::fail(malformed_server_message, "bad iteration count");
  }
  if (ec == std::errc::result_out_of_range || count > max_iterations) {
    return step_result::fail(error_kind::iteration_count_too_high, std::string{count_text});
  }
  if (count < min_iterations) {
    return step_result::fail(error_kind::iteration_count_too_low, std::string{count_text});
  }

  // RFC 5802 section 3.
  const std::string final_without_proof = std::string{channel_binding} + ",r=" + std::string{nonce};
  const std::string auth_message =
      client_first_bare_ + "," + std::string{message} + "," + final_without_proof;
  auto salted =
      detail::pbkdf2_hmac_sha256(password_, *salt, static_cast<unsigned>(count), sha256_size);
  if (!salted) return step_result::fail(error_kind::crypto_failure, "PBKDF2");
  auto client_key = detail::hmac_sha256(*salted, "Client Key");
  auto server_key = detail::hmac_sha256(*salted, "Server Key");
  detail::wipe(*salted);
  if (!client_key || !server_key) return step_result::fail(error_kind::crypto_failure, "HMAC");
  auto stored_key = detail::sha256(*client_key);
  auto client_signature =
      stored_key ? detail::hmac_sha256(*stored_key, auth_message) : std::nullopt;
  auto server_signature = detail::hmac_sha256(*server_key, auth_message);
  detail::wipe(*server_key);
  if (!client_signature || !server_signature) {
    detail::wipe(*client_key);
    return step_result::fail(error_kind::crypto_failure, "HMAC");
  }
  std::string proof = xor_bytes(*client_key, *client_signature);
  detail::wipe(*client_key);
  server_signature_ = std::move(*server_signature);
  state_ = state::final_sent;
  return step_result::respond(final_without_proof + ",p=" + base64_encode(proof));
}

step_result scram_sha256::on_server_final(std::string_view message) {
  using error_kind::malformed_server_message;
  const auto attributes = split_attributes(message);
  if (!attributes) return step_result::fail(malformed_server_message, "server-final syntax");
  const attribute& first = attributes->front();
  if (first.name == 'e')
    return step_result::fail(error_kind::server_error, std::string{first.value});
  if (first.name != 'v')
    return step_result::fail(malformed_server_message, "server-final needs v=");
  const auto signature = base64_decode(first.value);
  if (!signature) return step_result::fail(malformed_server_message, "v= is not base64");
  if (!detail::equal_secret(*signature, server_signature_)) {
    return step_result::fail(error_kind::server_signature_mismatch, {});
  }
  state_ = state::verified;
  return step_result::respond({});
}

std::optional<sasl_error> scram_sha256::accept_success(std::string_view reply_text) {
  if (state_ == state::verified) return std::nullopt;
  if (state_ == state::final_sent) {
    // Some servers put server-final in the 235 text instead of a 334 (RFC 4954 "additional data").
    if (const auto decoded = base64_decode(reply_text); decoded && !decoded->empty()) {
      auto verdict = on_server_final(*decoded);
      if (!verdict) return verdict.error();
      return std::nullopt;
    }
  }
  return sasl_error{error_kind::missing_server_signature, "235 before a verified v="};
}

}  // namespace smtp::sasl
