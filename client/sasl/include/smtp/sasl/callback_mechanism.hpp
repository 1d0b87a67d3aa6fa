#pragma once

#include <functional>
#include <optional>
#include <string>

#include "smtp/sasl/mechanism.hpp"

namespace smtp::sasl {

// A caller-supplied mechanism, for SMTP::auth(mechanism, callback) like smtplib's authobject:
// the callback gets nullopt when asked for the initial response (return nullopt for none) and
// the decoded bytes of each challenge otherwise, and returns the raw response (base64 is done
// here). Returning nullopt to a challenge cancels the exchange (error_kind::declined).
class callback_mechanism final : public mechanism {
 public:
  using callback =
      std::function<std::optional<std::string>(std::optional<std::string_view> challenge)>;

  // The name is checked against RFC 4422 section 3.1 (1-20 of A-Z 0-9 - _; lower case is
  // upper-cased) so it cannot smuggle anything into the AUTH line: std::invalid_argument if not.
  // exposes_secret: whether the responses carry a reusable secret (assume so when unsure).
  callback_mechanism(std::string name, callback respond, bool exposes_secret = true);

  std::string_view name() const noexcept override { return name_; }
  bool exposes_secret() const noexcept override { return exposes_secret_; }
  // A callback's protocol is unknown, so the exchange is never "done" from this side.
  bool done() const noexcept override { return false; }

 protected:
  std::optional<std::string> first_message() override;
  step_result answer(std::string_view challenge) override;

 private:
  std::string name_;
  callback respond_;
  bool exposes_secret_;
};

// RFC 4422 section 3.1 mechanism name, upper-cased; nullopt when it is not one.
std::optional<std::string> normalize_mechanism_name(std::string_view name);

}  // namespace smtp::sasl
