#pragma once

#include <optional>
#include <string>

#include "smtp/sasl/mechanism.hpp"

namespace smtp::sasl {

// Google/Microsoft XOAUTH2: "user=" user ^A "auth=Bearer " token ^A ^A. A rejected token comes
// back as a 334 challenge carrying a JSON error; the client answers it with an empty line and the
// server then sends 535. The JSON is kept for the error message (it holds no credential).
class xoauth2 final : public mechanism {
 public:
  // Throws std::invalid_argument when user or token contains ^A (0x01), which would end a field.
  xoauth2(std::string user, std::string bearer_token);
  ~xoauth2() override;

  std::string_view name() const noexcept override { return "XOAUTH2"; }
  bool exposes_secret() const noexcept override { return true; }
  bool done() const noexcept override { return sent_; }

  // The server's JSON error challenge, if one came.
  const std::optional<std::string>& server_error() const noexcept { return server_error_; }

 protected:
  std::optional<std::string> first_message() override;
  step_result answer(std::string_view challenge) override;

 private:
  std::string message() const;

  std::string user_;
  std::string token_;
  bool sent_ = false;
  std::optional<std::string> server_error_;
};

}  // namespace smtp::sasl
