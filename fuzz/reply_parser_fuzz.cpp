// Fuzz target: the reply parser. The first byte picks a chunk size; the rest is server bytes.
// Property: feeding the bytes in chunks gives the same replies and the same error as feeding
// them all at once (no state lost at a buffer boundary), and a violation stops the parser with a
// named rule and no reply.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <smtp/wire/reply_parser.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Outcome {
  std::vector<smtp::wire::Reply> replies;
  bool failed = false;
  std::string error;
};

// Feeds `bytes` `chunk` at a time; every complete reply is taken before feeding on.
Outcome run(std::string_view bytes, std::size_t chunk) {
  Outcome out;
  smtp::wire::ReplyParser parser;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    std::string_view piece = bytes.substr(pos, chunk);
    std::size_t used = parser.feed(piece);
    if (used > piece.size()) std::abort();  // cannot consume more than it was given
    pos += used;
    if (parser.failed()) {
      if (parser.done() || parser.error()->rule.empty()) std::abort();
      out.failed = true;
      out.error = parser.error()->rule;
      break;
    }
    if (parser.done()) {
      out.replies.push_back(parser.take());
      if (out.replies.back().code < 200 || out.replies.back().code > 599) std::abort();
    } else if (used != piece.size()) {
      std::abort();  // stopped early without a complete reply
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = static_cast<std::size_t>(data[0] % 16) + 1;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  Outcome whole = run(bytes, bytes.size() + 1);
  Outcome split = run(bytes, chunk);
  if (whole.replies != split.replies || whole.failed != split.failed) std::abort();
  if (whole.error != split.error) std::abort();
  return 0;
}
