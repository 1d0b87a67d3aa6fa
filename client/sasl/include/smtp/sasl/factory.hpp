#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/sasl/mechanism.hpp"

namespace smtp::sasl {

// What login() has to authenticate with. A mechanism is a candidate only when the credentials
// it needs are present: XOAUTH2 needs a token, the others a password.
struct credentials {
  std::string user;
  std::optional<std::string> password;
  std::optional<std::string> oauth2_token;
  std::string authzid;  // PLAIN only; empty means "same as user"
};

// The order login() tries mechanisms in, best first. smtplib's is CRAM-MD5, PLAIN, LOGIN; ours
// puts SCRAM-SHA-256 before them (it never exposes the password and proves the server knows it)
// and XOAUTH2 first of all when a token is given (the caller asked for OAuth explicitly).
std::vector<std::string_view> preference_order(const credentials& creds);

// The first mechanism of preference_order() that the server advertises in its AUTH capability
// ("PLAIN LOGIN CRAM-MD5", compared case-insensitively), or nullopt. Only this one is tried: a
// 535 is final, never a reason to fall back to a weaker mechanism.
std::optional<std::string_view> choose_mechanism(std::string_view advertised,
                                                 const credentials& creds);

// The mechanism called `name` (case-insensitive) built from creds; nullptr when the name is
// unknown or creds lack what it needs. May throw std::invalid_argument (see each mechanism).
// client_nonce is for tests of SCRAM only; empty means a fresh random one.
std::unique_ptr<mechanism> make_mechanism(std::string_view name, const credentials& creds,
                                          std::string client_nonce = {});

}  // namespace smtp::sasl
