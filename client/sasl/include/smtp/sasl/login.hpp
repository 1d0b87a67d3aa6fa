#pragma once

#include <string>

#include "smtp/sasl/mechanism.hpp"

namespace smtp::sasl {

// The de-facto LOGIN mechanism (draft-murchison-sasl-login): the server prompts "Username:" and
// "Password:" in two 334 challenges. Like smtplib, the user name goes in the initial response
// when the IR is allowed. A prompt that names the password ("Password:", any case) gets the
// password, one that names the user gets the user name (servers that ignore the IR ask again);
// an unrecognised prompt gets whichever has not been sent yet. Nothing is sent after the password.
class login final : public mechanism {
 public:
  login(std::string user, std::string password);
  ~login() override;

  std::string_view name() const noexcept override { return "LOGIN"; }
  bool exposes_secret() const noexcept override { return true; }
  bool done() const noexcept override { return password_sent_; }

 protected:
  std::optional<std::string> first_message() override;
  step_result answer(std::string_view challenge) override;

 private:
  std::string user_;
  std::string password_;
  bool user_sent_ = false;
  bool password_sent_ = false;
};

}  // namespace smtp::sasl
