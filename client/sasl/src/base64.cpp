#include "smtp/sasl/base64.hpp"

#include <array>
#include <cstdint>

namespace smtp::sasl {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::uint8_t invalid = 0xFF;

constexpr std::array<std::uint8_t, 256> make_reverse() {
  std::array<std::uint8_t, 256> table{};
  table.fill(invalid);
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr std::array<std::uint8_t, 256> reverse = make_reverse();

std::uint8_t value_of(char c) {
  return reverse[static_cast<unsigned char>(c)];
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16U |
                                              static_cast<unsigned char>(bytes[i + 1]) << 8U |
                                              static_cast<unsigned char>(bytes[i + 2]));
    out += alphabet[n >> 18U & 0x3FU];
    out += alphabet[n >> 12U & 0x3FU];
    out += alphabet[n >> 6U & 0x3FU];
    out += alphabet[n & 0x3FU];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16U);
    out += alphabet[n >> 18U & 0x3FU];
    out += alphabet[n >> 12U & 0x3FU];
    out += "==";
  } else if (rest == 2) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16U |
                                              static_cast<unsigned char>(bytes[i + 1]) << 8U);
    out += alphabet[n >> 18U & 0x3FU];
    out += alphabet[n >> 12U & 0x3FU];
    out += alphabet[n >> 6U & 0x3FU];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::size_t padding = 0;
    if (last) {
      if (text[i + 3] == '=') padding = text[i + 2] == '=' ? 2 : 1;
    }
    std::uint32_t n = 0;
    for (std::size_t k = 0; k < 4 - padding; ++k) {
      const std::uint8_t v = value_of(text[i + k]);
      if (v == invalid) return std::nullopt;  // also catches '=' in the middle
      n |= static_cast<std::uint32_t>(v) << (18U - 6U * static_cast<std::uint32_t>(k));
    }
    out += static_cast<char>(n >> 16U & 0xFFU);
    if (padding == 2) {
      if ((n & 0xFFFFU) != 0) return std::nullopt;  // non-canonical: unused bits set
      break;
    }
    out += static_cast<char>(n >> 8U & 0xFFU);
    if (padding == 1) {
      if ((n & 0xFFU) != 0) return std::nullopt;
      break;
    }
    out += static_cast<char>(n & 0xFFU);
  }
  return out;
}

}  // namespace smtp::sasl
