// Fuzz target: the DATA body encoder, fed in random chunk splits. The first two bytes choose the
// split; the rest is the message. Properties (RFC 5321 sections 4.1.1.4 and 4.5.2):
// - NUL anywhere is refused with std::invalid_argument, nothing else is;
// - the wire ends with ".\r\n" and before it there is no end-of-data (no line that is exactly
//   "."), no lone CR, no lone LF, no NUL;
// - un-stuffing the wire gives the input with lone CR / lone LF made CRLF and a final CRLF added
//   when missing, whatever the split;
// - message_size() is the size of that normalised input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <smtp/wire/body_encoder.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

std::string normalise(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out += "\r\n";
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (in[i] == '\n') {
      out += "\r\n";
    } else {
      out += in[i];
    }
  }
  if (!out.empty() && !(out.size() >= 2 && out.ends_with("\r\n"))) out += "\r\n";
  return out;
}

// Checks the wire grammar and returns the un-stuffed body (aborts on any violation).
std::string unstuff(const std::string& wire) {
  if (!wire.ends_with(".\r\n")) std::abort();
  const std::string body = wire.substr(0, wire.size() - 3);
  if (!body.empty() && !body.ends_with("\r\n")) std::abort();
  std::string out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t crlf = body.find("\r\n", pos);
    if (crlf == std::string::npos) std::abort();
    std::string_view line(body.data() + pos, crlf - pos);
    if (line.find('\r') != std::string_view::npos || line.find('\n') != std::string_view::npos ||
        line.find('\0') != std::string_view::npos) {
      std::abort();  // lone CR, lone LF or NUL inside a line
    }
    if (!line.empty() && line[0] == '.') {
      if (line.size() < 2 || line[1] != '.') std::abort();  // unstuffed dot: early end-of-data
      line.remove_prefix(1);
    }
    out += line;
    out += "\r\n";
    pos = crlf + 2;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned seed = static_cast<unsigned>(data[0]) | (static_cast<unsigned>(data[1]) << 8);
  std::string_view msg(reinterpret_cast<const char*>(data + 2), size - 2);

  smtp::wire::BodyEncoder enc;
  std::string wire;
  bool refused = false;
  try {
    // Chunk lengths cycle through 1..8 starting from the seed; seed 0 means one chunk.
    std::size_t pos = 0;
    unsigned k = seed;
    while (pos < msg.size()) {
      const std::size_t len = seed == 0 ? msg.size() : (k++ % 8) + 1;
      enc.encode(msg.substr(pos, len), wire);
      pos += len;
    }
    enc.finish(wire);
  } catch (const std::invalid_argument&) {
    refused = true;
  }
  const bool has_nul = msg.find('\0') != std::string_view::npos;
  if (refused != has_nul) std::abort();
  if (refused) return 0;

  const std::string expected = normalise(msg);
  if (unstuff(wire) != expected) std::abort();
  if (enc.message_size() != expected.size()) std::abort();
  if (smtp::wire::BodyEncoder::encode_all(msg) != wire) std::abort();  // split-independent
  return 0;
}
