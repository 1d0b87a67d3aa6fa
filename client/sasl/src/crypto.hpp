#pragma once

// Private: the few OpenSSL primitives the mechanisms need, with byte strings in and out.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace smtp::sasl::detail {

// nullopt when OpenSSL refuses (MD5 is absent under a FIPS-only provider).
std::optional<std::string> hmac_md5(std::string_view key, std::string_view data);
std::optional<std::string> hmac_sha256(std::string_view key, std::string_view data);
std::optional<std::string> sha256(std::string_view data);
std::optional<std::string> pbkdf2_hmac_sha256(std::string_view password, std::string_view salt,
                                              unsigned iterations, std::size_t length);
// Throws std::runtime_error when the CSPRNG cannot deliver.
std::string random_bytes(std::size_t count);
// Constant-time comparison of equal-length strings; false when lengths differ.
bool equal_secret(std::string_view a, std::string_view b);
// Overwrites the bytes so a secret does not linger in freed memory.
void wipe(std::string& secret) noexcept;

std::string lower_hex(std::string_view bytes);

}  // namespace smtp::sasl::detail
