#include "smtp/wire/bytes_repr.hpp"

#include <cstdio>

namespace smtp::wire {

std::string bytes_repr(std::string_view bytes, bool prefix_b) {
  std::string out = prefix_b ? "b'" : "'";
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      default:
        if (u < 0x20 || u >= 0x7f) {
          char buf[5];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(u));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '\'';
  return out;
}

}  // namespace smtp::wire
