// SMTP AUTH (RFC 4954) driving one smtp::sasl mechanism, as client/sasl/README.md prescribes:
// only this mechanism is tried; a 334 with a bad challenge is answered "*" and fails; 235 must
// pass the mechanism's own check (SCRAM's server signature); 503 is success only when the
// session is already authenticated; anything else is SMTPAuthenticationError. Every line sent
// carries a redacted twin for the debug trace.
#pragma once

#include <exception>
#include <optional>
#include <string>

#include "smtp/algo/action.hpp"
#include "smtp/sasl/mechanism.hpp"

namespace smtp::algo {

class AuthAlgo {
 public:
  AuthAlgo(sasl::mechanism& mech, bool initial_response_ok, bool already_authenticated);
  action resume(const step_result& r);
  // The final reply (235, or 503 when already authenticated).
  const Reply& reply() const { return reply_; }
  std::exception_ptr error() const { return error_; }

 private:
  enum class state { start, exchange, cancelled, done };
  action finish(std::exception_ptr e);
  action send(std::string line, bool in_exchange);

  sasl::mechanism* mech_;
  bool initial_response_ok_;
  bool already_authenticated_;
  state state_ = state::start;
  std::string line_;
  std::string shown_;
  std::optional<std::string> cancel_reason_;  // why "*" was sent
  Reply reply_;
  std::exception_ptr error_;
};

}  // namespace smtp::algo
