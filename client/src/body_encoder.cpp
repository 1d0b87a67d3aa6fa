#include "smtp/body_encoder.hpp"

#include <stdexcept>

namespace smtp {

void BodyEncoder::end_line(std::string& out) {
  out += "\r\n";
  size_ += 2;
  at_line_start_ = true;
}

void BodyEncoder::encode(std::string_view chunk, std::string& out) {
  out.reserve(out.size() + chunk.size() + chunk.size() / 64 + 4);
  for (const char c : chunk) {
    if (c == '\0')
      throw std::invalid_argument("NUL byte in the message body (RFC 5321 section 4.5.2)");
    if (pending_cr_) {
      pending_cr_ = false;
      end_line(out);
      if (c == '\n') continue;  // CRLF: already written
    }
    if (c == '\r') {
      pending_cr_ = true;
      continue;
    }
    if (c == '\n') {  // lone LF
      end_line(out);
      continue;
    }
    if (at_line_start_ && c == '.') out += '.';  // RFC 5321 section 4.5.2 transparency
    at_line_start_ = false;
    out += c;
    ++size_;
  }
}

void BodyEncoder::encode(std::span<const std::byte> chunk, std::string& out) {
  encode(std::string_view(reinterpret_cast<const char*>(chunk.data()), chunk.size()), out);
}

void BodyEncoder::finish(std::string& out) {
  if (pending_cr_) {
    pending_cr_ = false;
    end_line(out);
  }
  if (!at_line_start_) end_line(out);
  out += ".\r\n";
}

std::string BodyEncoder::encode_all(std::string_view message) {
  BodyEncoder e;
  std::string out;
  e.encode(message, out);
  e.finish(out);
  return out;
}

}  // namespace smtp
