#include "crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <stdexcept>

namespace smtp::sasl::detail {
namespace {

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::optional<std::string> hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  if (md == nullptr || key.size() > INT_MAX) return std::nullopt;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // A zero-length key still needs a non-null pointer for HMAC().
  static const unsigned char empty_key = 0;
  const unsigned char* key_bytes = key.empty() ? &empty_key : bytes_of(key);
  if (HMAC(md, key_bytes, static_cast<int>(key.size()), bytes_of(data), data.size(), out,
           &length) == nullptr) {
    return std::nullopt;
  }
  std::string result(reinterpret_cast<const char*>(out), length);
  OPENSSL_cleanse(out, sizeof out);
  return result;
}

}  // namespace

std::optional<std::string> hmac_md5(std::string_view key, std::string_view data) {
  return hmac(EVP_md5(), key, data);
}

std::optional<std::string> hmac_sha256(std::string_view key, std::string_view data) {
  return hmac(EVP_sha256(), key, data);
}

std::optional<std::string> sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), out, &length, EVP_sha256(), nullptr) != 1) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::optional<std::string> pbkdf2_hmac_sha256(std::string_view password, std::string_view salt,
                                              unsigned iterations, std::size_t length) {
  if (password.size() > INT_MAX || salt.size() > INT_MAX || iterations > INT_MAX ||
      length > INT_MAX) {
    return std::nullopt;
  }
  std::string out(length, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes_of(salt),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(length),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    return std::nullopt;
  }
  return out;
}

std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  if (count > INT_MAX ||
      RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    throw std::runtime_error("the random number generator failed");
  }
  return out;
}

bool equal_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void wipe(std::string& secret) noexcept {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

std::string lower_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += digits[b >> 4U];
    out += digits[b & 0x0FU];
  }
  return out;
}

}  // namespace smtp::sasl::detail
