#pragma once

#include <cstddef>
#include <string>

#include "smtp/sasl/mechanism.hpp"

namespace smtp::sasl {

// SCRAM-SHA-256 (RFC 5802 with RFC 7677's hash), without channel binding (gs2 header "n,,").
//
//   client-first  n,,n=<saslname>,r=<client nonce>            (initial response)
//   server-first  r=<client nonce + server part>,s=<salt>,i=<count>[,ext]
//   client-final  c=biws,r=<nonce>,p=<ClientProof>
//   server-final  v=<ServerSignature>[,ext]  or  e=<error>     (answered with an empty line)
//   235
//
// The server must prove it knows the password: a wrong v= fails the exchange, and so does a 235
// before a verified v= (unless the 235 text itself is the base64 server-final). The password is
// used as UTF-8 bytes without SASLprep (identical for printable ASCII).
class scram_sha256 final : public mechanism {
 public:
  // RFC 7677 section 4: servers must use at least 4096 iterations.
  static constexpr unsigned min_iterations = 4096;
  // A hostile server must not pin the CPU: 1e6 PBKDF2 rounds take about half a second.
  static constexpr unsigned max_iterations = 1'000'000;
  // Bytes of CSPRNG output in a fresh client nonce (base64: 24 printable characters, no ',').
  static constexpr std::size_t nonce_bytes = 18;

  // A fresh client nonce from OpenSSL's CSPRNG.
  static std::string random_nonce();

  // client_nonce is injectable for tests; it must be printable ASCII without ','.
  // Throws std::invalid_argument for a bad nonce or a user name containing NUL.
  scram_sha256(std::string user, std::string password, std::string client_nonce = random_nonce());
  ~scram_sha256() override;

  std::string_view name() const noexcept override { return "SCRAM-SHA-256"; }
  bool exposes_secret() const noexcept override { return false; }
  bool done() const noexcept override { return state_ == state::verified; }

  // True once the server signature has been checked.
  bool server_verified() const noexcept { return state_ == state::verified; }

 protected:
  std::optional<std::string> first_message() override;
  step_result answer(std::string_view challenge) override;
  std::optional<sasl_error> accept_success(std::string_view reply_text) override;

 private:
  enum class state { start, first_sent, final_sent, verified };

  step_result on_server_first(std::string_view message);
  step_result on_server_final(std::string_view message);

  std::string password_;
  std::string nonce_;
  std::string client_first_bare_;
  std::string server_signature_;
  state state_ = state::start;
};

// RFC 5802 section 5.1 saslname: ',' becomes "=2C" and '=' becomes "=3D".
std::string scram_escape_name(std::string_view name);

}  // namespace smtp::sasl
