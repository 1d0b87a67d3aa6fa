// The DATA body encoder (RFC 5321 sections 4.1.1.4 and 4.5.2). No I/O: chunks in, wire bytes out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace smtp::wire {

// Turns message bytes into what goes on the wire after "354" (or, without dot-stuffing, into the
// payload of BDAT chunks, RFC 3030):
// - CRLF stays, a lone CR and a lone LF each become CRLF (also when CR ends one chunk and LF
//   starts the next: that is one CRLF);
// - a '.' at the start of a line is doubled (state carried across chunks), unless constructed
//   with dot_stuffing = false (BDAT);
// - finish() adds CRLF unless the body already ends with one, then ".\r\n"; finish_chunked()
//   only adds the CRLF (BDAT: the same message bytes are delivered as with DATA);
// - NUL is refused with std::invalid_argument naming its offset in the input.
// Because every line ending leaves as CRLF and every line-initial '.' is doubled, no input can put
// CRLF "." CRLF on the wire before finish().
class BodyEncoder {
 public:
  explicit BodyEncoder(bool dot_stuffing = true) : dot_stuffing_(dot_stuffing) {}

  void encode(std::string_view chunk, std::string& out);
  void encode(std::span<const std::byte> chunk, std::string& out);
  void finish(std::string& out);
  void finish_chunked(std::string& out);

  // RFC 1870 message size: octets after line-ending normalisation, CRLFs included, without the
  // doubled dots and the terminating ".". Counts the CRLF finish() adds.
  std::size_t message_size() const { return size_ + (at_line_start_ && !pending_cr_ ? 0 : 2); }
  // Input bytes consumed so far (the offset of the next byte of the message).
  std::uint64_t consumed() const { return consumed_; }

  // The whole message in one call (encode + finish).
  static std::string encode_all(std::string_view message);
  // message_size() of the whole message without producing output; throws on NUL as encode().
  static std::size_t measure(std::string_view message);

 private:
  void end_line(std::string& out);

  bool dot_stuffing_ = true;
  bool at_line_start_ = true;  // the next byte starts a line
  bool pending_cr_ = false;    // the last byte seen was CR: a following LF belongs to it
  std::size_t size_ = 0;
  std::uint64_t consumed_ = 0;
};

}  // namespace smtp::wire
