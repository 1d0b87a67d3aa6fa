#pragma once

#include <string>
#include <string_view>

namespace smtp::sasl {

// Why a SASL exchange failed on the client side. Every one of these means: answer the pending
// challenge with "*" (RFC 4954 section 4) and raise SMTPAuthenticationError.
enum class error_kind {
  invalid_base64,             // the challenge is not strict base64
  challenge_too_long,         // longer than mechanism::max_challenge_length
  unexpected_challenge,       // the mechanism has nothing more to send
  too_many_challenges,        // more than mechanism::max_challenges challenges
  malformed_server_message,   // SCRAM: attributes missing, out of order, or with bad values
  nonce_mismatch,             // SCRAM: server nonce does not extend the client nonce
  iteration_count_too_low,    // SCRAM: i= below scram_sha256::min_iterations
  iteration_count_too_high,   // SCRAM: i= above scram_sha256::max_iterations
  server_error,               // SCRAM e=... in server-final
  server_signature_mismatch,  // SCRAM v= does not match what the password proves
  missing_server_signature,   // SCRAM: the server said 235 without proving it knows the password
  crypto_failure,             // OpenSSL refused (e.g. MD5 unavailable under a FIPS provider)
  declined,                   // a caller's callback had no answer to a challenge
};

std::string_view to_string(error_kind kind) noexcept;

// What failed and why, in words that never include a credential.
struct sasl_error {
  error_kind kind;
  std::string detail;

  std::string message() const;
};

}  // namespace smtp::sasl
