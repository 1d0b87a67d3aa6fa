#pragma once

#include <string>

#include "smtp/sasl/mechanism.hpp"

namespace smtp::sasl {

// RFC 2195: the server's challenge (a msg-id) is answered with
// "user SP lowercase-hex(HMAC-MD5(password, challenge))". No initial response.
class cram_md5 final : public mechanism {
 public:
  cram_md5(std::string user, std::string password);
  ~cram_md5() override;

  std::string_view name() const noexcept override { return "CRAM-MD5"; }
  bool exposes_secret() const noexcept override { return false; }
  bool done() const noexcept override { return sent_; }

 protected:
  std::optional<std::string> first_message() override { return std::nullopt; }
  step_result answer(std::string_view challenge) override;

 private:
  std::string user_;
  std::string password_;
  bool sent_ = false;
};

}  // namespace smtp::sasl
