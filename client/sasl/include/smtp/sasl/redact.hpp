#pragma once

#include <string>
#include <string_view>

namespace smtp::sasl {

// What the debug trace prints instead of a credential.
inline constexpr std::string_view redacted = "<redacted>";

// "AUTH PLAIN AGFsaWNlAHNlY3JldA==" -> "AUTH PLAIN <redacted>": everything after the mechanism
// name is replaced. Other lines (and "AUTH CRAM-MD5" with no initial response) are returned
// unchanged. A trailing CRLF or LF is kept.
std::string redact_auth_command(std::string_view line);

// A client line sent in answer to a 334 challenge: "<redacted>" unless it is the cancel "*" or
// empty (neither carries anything). A trailing CRLF or LF is kept.
std::string redact_auth_response(std::string_view line);

// The one call the client's trace makes for every line it writes: in_auth_exchange is true
// between a 334 reply and the end of that AUTH exchange.
std::string redact_client_line(std::string_view line, bool in_auth_exchange);

}  // namespace smtp::sasl
