#pragma once

#include <string>

#include "smtp/sasl/mechanism.hpp"

namespace smtp::sasl {

// RFC 4616: one message, [authzid] NUL authcid NUL passwd. Sent as the initial response, or in
// answer to the server's (empty) first challenge when the IR is not allowed.
class plain final : public mechanism {
 public:
  // Throws std::invalid_argument when any field contains NUL (it could not be encoded).
  plain(std::string user, std::string password, std::string authzid = {});
  ~plain() override;

  std::string_view name() const noexcept override { return "PLAIN"; }
  bool exposes_secret() const noexcept override { return true; }
  bool done() const noexcept override { return sent_; }

 protected:
  std::optional<std::string> first_message() override;
  step_result answer(std::string_view challenge) override;

 private:
  std::string message() const;

  std::string user_;
  std::string password_;
  std::string authzid_;
  bool sent_ = false;
};

}  // namespace smtp::sasl
