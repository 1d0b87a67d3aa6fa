#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smtp::sasl {

// RFC 4648 section 4 base64 with the standard alphabet and '=' padding, as SASL in SMTP uses it
// (RFC 4954 section 4).
std::string base64_encode(std::string_view bytes);

// Strict decoding: the input must be canonical base64. Returns nullopt for any byte outside the
// alphabet (whitespace and CR/LF included), a length that is not a multiple of 4, padding anywhere
// but at the end or more than two '=', and non-zero bits in the unused part of the last
// character. A challenge that fails here is answered with "*" (RFC 4954 section 4).
// The empty string decodes to the empty string.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace smtp::sasl
