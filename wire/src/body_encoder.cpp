#include "smtp/wire/body_encoder.hpp"

#include <stdexcept>

namespace smtp::wire {

namespace {

[[noreturn]] void refuse_nul(std::uint64_t offset) {
  throw std::invalid_argument("NUL byte at offset " + std::to_string(offset) +
                              " of the message body (RFC 5321 section 4.5.2)");
}

// The next byte that needs attention: CR, LF or NUL.
inline const char* scan(const char* p, const char* end) {
  while (p != end && *p != '\r' && *p != '\n' && *p != '\0') ++p;
  return p;
}

}  // namespace

void BodyEncoder::end_line(std::string& out) {
  out += "\r\n";
  size_ += 2;
  at_line_start_ = true;
}

// Copies runs of ordinary bytes at once; stops only at CR, LF, NUL and a line-initial '.'.
void BodyEncoder::encode(std::string_view chunk, std::string& out) {
  out.reserve(out.size() + chunk.size() + chunk.size() / 32 + 4);
  const char* const begin = chunk.data();
  const char* const end = begin + chunk.size();
  const char* p = begin;
  while (p != end) {
    if (pending_cr_) {
      pending_cr_ = false;
      end_line(out);
      if (*p == '\n') {  // CRLF: already written
        ++p;
        continue;
      }
    }
    if (at_line_start_ && *p == '.' && dot_stuffing_) out += '.';  // RFC 5321 section 4.5.2
    const char* q = scan(p, end);
    if (q != p) {
      out.append(p, q);
      size_ += static_cast<std::size_t>(q - p);
      at_line_start_ = false;
      p = q;
      if (p == end) break;
    }
    const char c = *p;
    if (c == '\0') refuse_nul(consumed_ + static_cast<std::uint64_t>(p - begin));
    ++p;
    if (c == '\r') {
      pending_cr_ = true;
    } else {  // lone LF
      end_line(out);
    }
  }
  consumed_ += chunk.size();
}

void BodyEncoder::encode(std::span<const std::byte> chunk, std::string& out) {
  encode(std::string_view(reinterpret_cast<const char*>(chunk.data()), chunk.size()), out);
}

void BodyEncoder::finish_chunked(std::string& out) {
  if (pending_cr_) {
    pending_cr_ = false;
    end_line(out);
  }
  if (!at_line_start_) end_line(out);
}

void BodyEncoder::finish(std::string& out) {
  finish_chunked(out);
  out += ".\r\n";
}

std::string BodyEncoder::encode_all(std::string_view message) {
  BodyEncoder e;
  std::string out;
  e.encode(message, out);
  e.finish(out);
  return out;
}

std::size_t BodyEncoder::measure(std::string_view message) {
  // Every CR, LF or CRLF becomes one CRLF; everything else counts once.
  std::size_t size = 0;
  bool line_start = true;
  const char* p = message.data();
  const char* const end = p + message.size();
  while (p != end) {
    const char* q = scan(p, end);
    if (q != p) line_start = false;
    size += static_cast<std::size_t>(q - p);
    if (q == end) break;
    if (*q == '\0') refuse_nul(static_cast<std::uint64_t>(q - message.data()));
    if (*q == '\r' && q + 1 != end && q[1] == '\n') ++q;
    size += 2;
    line_start = true;
    p = q + 1;
  }
  return size + (line_start ? 0 : 2);
}

}  // namespace smtp::wire
