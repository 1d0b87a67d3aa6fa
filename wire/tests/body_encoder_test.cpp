// The DATA body encoder: CRLF normalisation, dot-stuffing across chunks, a sure terminator.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <random>
#include <smtp/wire/body_encoder.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "split_feed.hpp"

namespace smtp::wire {
namespace {

std::string encode_chunks(const std::vector<std::string_view>& chunks) {
  BodyEncoder e;
  std::string out;
  for (auto c : chunks) e.encode(c, out);
  e.finish(out);
  return out;
}

void expect_encoding(std::string_view in, std::string_view wire) {
  test::for_each_split(in, [&](const auto& chunks, const std::string& how) {
    EXPECT_EQ(test::visible(encode_chunks(chunks)), test::visible(wire))
        << how << " of " << test::visible(in);
  });
}

TEST(BodyEncoder, crlf_is_kept_and_terminator_added) {
  expect_encoding("Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n");
}

TEST(BodyEncoder, missing_final_line_ending_is_added) {
  expect_encoding("body", "body\r\n.\r\n");
}

TEST(BodyEncoder, lone_lf_and_lone_cr_become_crlf) {
  expect_encoding("a\nb\rc\r\nd\n\re", "a\r\nb\r\nc\r\nd\r\n\r\ne\r\n.\r\n");
}

TEST(BodyEncoder, cr_at_the_end_is_one_line_ending) {
  expect_encoding("a\r", "a\r\n.\r\n");
}

TEST(BodyEncoder, leading_dots_are_doubled) {
  expect_encoding(".\r\n..x\r\na.b\r\n.", "..\r\n...x\r\na.b\r\n..\r\n.\r\n");
}

TEST(BodyEncoder, dot_after_lone_lf_or_cr_is_doubled) {
  expect_encoding("a\n.\n", "a\r\n..\r\n.\r\n");
  expect_encoding("a\r.\r", "a\r\n..\r\n.\r\n");
}

TEST(BodyEncoder, would_be_terminator_in_the_message_is_stuffed) {
  expect_encoding("a\r\n.\r\nRSET\r\n", "a\r\n..\r\nRSET\r\n.\r\n");
  expect_encoding("a\n.\nMAIL FROM:<x@y>\n", "a\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n");
}

TEST(BodyEncoder, empty_message) {
  expect_encoding("", ".\r\n");
}

TEST(BodyEncoder, nul_is_refused) {
  BodyEncoder e;
  std::string out;
  EXPECT_THROW(e.encode(std::string_view("a\0b", 3), out), std::invalid_argument);
}

TEST(BodyEncoder, byte_input_encodes_like_text) {
  const std::string text = "x\n.y\r";
  std::vector<std::byte> bytes;
  for (char c : text) bytes.push_back(static_cast<std::byte>(c));
  BodyEncoder e;
  std::string out;
  e.encode(std::span<const std::byte>(bytes), out);
  e.finish(out);
  EXPECT_EQ(out, BodyEncoder::encode_all(text));
}

TEST(BodyEncoder, message_size_counts_normalised_octets_without_stuffing) {
  BodyEncoder e;
  std::string out;
  e.encode(".a\nb", out);
  EXPECT_EQ(e.message_size(), 7u);  // ".a\r\nb\r\n": the dot counts once, CRLF added for "b"
  e.finish(out);
  EXPECT_EQ(out, "..a\r\nb\r\n.\r\n");
}

// Reverses the transparency procedure the way a server does (RFC 5321 section 4.5.2): stops at the
// first CRLF "." CRLF, un-doubles leading dots. Returns the message and where the end was found.
std::pair<std::string, std::size_t> server_reads(const std::string& wire) {
  std::string message;
  std::size_t pos = 0;
  while (pos < wire.size()) {
    const std::size_t eol = wire.find("\r\n", pos);
    if (eol == std::string::npos) return {message, std::string::npos};
    std::string line = wire.substr(pos, eol - pos);
    pos = eol + 2;
    if (line == ".") return {message, pos};
    if (!line.empty() && line[0] == '.') line.erase(0, 1);
    message += line + "\r\n";
  }
  return {message, std::string::npos};
}

std::string normalise(const std::string& in) {
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
  if (!out.empty() && (out.size() < 2 || out.substr(out.size() - 2) != "\r\n")) out += "\r\n";
  return out;
}

TEST(BodyEncoder, property_no_input_ends_data_early_and_content_survives) {
  // Random messages over an alphabet rich in the dangerous bytes, random chunking.
  std::mt19937 rng(20261128);
  const std::string alphabet = "\r\n.ab ";
  for (int round = 0; round < 3000; ++round) {
    std::string in(rng() % 40, 'x');
    for (char& c : in) c = alphabet[rng() % alphabet.size()];
    BodyEncoder e;
    std::string wire;
    std::size_t pos = 0;
    while (pos < in.size()) {
      const std::size_t n = 1 + rng() % 5;
      e.encode(std::string_view(in).substr(pos, n), wire);
      pos += n;
    }
    const std::size_t size = e.message_size();
    e.finish(wire);
    const auto [message, end] = server_reads(wire);
    ASSERT_EQ(end, wire.size()) << "early or missing end-of-data for " << test::visible(in);
    ASSERT_EQ(message, normalise(in)) << test::visible(in);
    ASSERT_EQ(size, message.size()) << test::visible(in);
    ASSERT_EQ(wire, BodyEncoder::encode_all(in)) << "chunking changed the output";
  }
}

// The encoder as the RFC states it, one byte at a time: the reference the run-copying encoder is
// compared with (it was the encoder's first shape).
class ReferenceEncoder {
 public:
  explicit ReferenceEncoder(bool dot_stuffing) : dot_stuffing_(dot_stuffing) {}

  void encode(std::string_view chunk, std::string& out) {
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      const char c = chunk[i];
      if (pending_cr_) {
        pending_cr_ = false;
        end_line(out);
        if (c == '\n') continue;
      }
      if (c == '\0') {
        throw std::invalid_argument("NUL byte at offset " + std::to_string(consumed_ + i) +
                                    " of the message body (RFC 5321 section 4.5.2)");
      }
      if (c == '\r') {
        pending_cr_ = true;
      } else if (c == '\n') {
        end_line(out);
      } else {
        if (at_line_start_ && c == '.' && dot_stuffing_) out += '.';
        out += c;
        ++size_;
        at_line_start_ = false;
      }
    }
    consumed_ += chunk.size();
  }
  void finish(std::string& out) {
    if (pending_cr_) {
      pending_cr_ = false;
      end_line(out);
    }
    if (!at_line_start_) end_line(out);
    if (dot_stuffing_) out += ".\r\n";
  }
  std::size_t message_size() const { return size_ + (at_line_start_ && !pending_cr_ ? 0 : 2); }

 private:
  void end_line(std::string& out) {
    out += "\r\n";
    size_ += 2;
    at_line_start_ = true;
  }
  bool dot_stuffing_;
  bool at_line_start_ = true;
  bool pending_cr_ = false;
  std::size_t size_ = 0;
  std::uint64_t consumed_ = 0;
};

// What one encoder made of the chunks: wire bytes, size, consumed count, or the refusal.
struct Encoded {
  std::string wire;
  std::size_t size = 0;
  std::uint64_t consumed = 0;
  std::string refusal;
  bool operator==(const Encoded&) const = default;
  friend void PrintTo(const Encoded& e, std::ostream* os) {
    *os << "wire " << test::visible(e.wire) << ", size " << e.size << ", consumed " << e.consumed
        << (e.refusal.empty() ? "" : ", refused: " + e.refusal);
  }
};

template <class Encoder>
Encoded run_encoder(Encoder e, bool dot_stuffing, const std::vector<std::string_view>& chunks) {
  Encoded r;
  try {
    for (auto c : chunks) {
      e.encode(c, r.wire);
      r.consumed += c.size();
    }
    r.size = e.message_size();
    if constexpr (std::is_same_v<Encoder, BodyEncoder>) {
      EXPECT_EQ(e.consumed(), r.consumed);
      if (dot_stuffing) {
        e.finish(r.wire);
      } else {
        e.finish_chunked(r.wire);
      }
    } else {
      e.finish(r.wire);
    }
  } catch (const std::invalid_argument& ex) {
    r.refusal = ex.what();
  }
  return r;
}

// Random messages of the shapes that matter for a run-copying scan: long runs of ordinary bytes
// (so the 16- and 64-byte steps are taken) broken by CRLF, lone CR, lone LF, a '.' at the start
// of a line or inside one, a rare NUL; line lengths from 0 to a few hundred bytes.
std::string random_message(std::mt19937& rng) {
  static const char* const kEndings[] = {"\r\n", "\r\n", "\r\n", "\r\n", "\n", "\r", "\n\r"};
  std::string m;
  const std::size_t lines = rng() % 6;
  for (std::size_t l = 0; l <= lines; ++l) {
    if (rng() % 3 == 0) m += '.';
    if (rng() % 8 == 0) m += '.';
    const std::size_t len = rng() % 4 == 0 ? rng() % 4 : rng() % 200;
    for (std::size_t i = 0; i < len; ++i) {
      const auto r = rng() % 400;
      m += r == 0 ? '\0' : r < 3 ? '\r' : r < 6 ? '\n' : r < 12 ? '.' : char('a' + r % 26);
    }
    if (l < lines || rng() % 2 == 0) m += kEndings[rng() % 7];
  }
  return m;
}

TEST(BodyEncoder, matches_the_byte_at_a_time_reference_at_every_split) {
  std::mt19937 rng(2026120520);
  for (int round = 0; round < 400; ++round) {
    const std::string in = random_message(rng);
    for (bool dots : {true, false}) {
      const Encoded expected = run_encoder(ReferenceEncoder(dots), dots, {in});
      if (dots && expected.refusal.empty()) {
        ASSERT_EQ(BodyEncoder::measure(in), expected.size) << test::visible(in);
      }
      if (!dots && !expected.refusal.empty()) {
        EXPECT_THROW(BodyEncoder::measure(in), std::invalid_argument);
      }
      auto check = [&](const std::vector<std::string_view>& chunks, const std::string& how) {
        // Against the reference fed the same chunks: everything, also what was written before
        // a refusal; against the whole input: the outcome, which no chunking may change.
        const Encoded got = run_encoder(BodyEncoder(dots), dots, chunks);
        const Encoded same_chunks = run_encoder(ReferenceEncoder(dots), dots, chunks);
        ASSERT_EQ(test::visible(got.wire), test::visible(same_chunks.wire))
            << how << (dots ? "" : ", BDAT") << " of " << test::visible(in);
        ASSERT_EQ(got, same_chunks) << how << " of " << test::visible(in);
        ASSERT_EQ(got.refusal, expected.refusal) << how << " of " << test::visible(in);
        if (expected.refusal.empty()) {
          ASSERT_EQ(got, expected) << how << " of " << test::visible(in);
        }
      };
      check({in}, "whole");
      for (std::size_t i = 0; i <= in.size(); ++i) {
        check({std::string_view(in).substr(0, i), std::string_view(in).substr(i)},
              "split at " + std::to_string(i));
      }
      std::vector<std::string_view> chunks;
      for (std::size_t pos = 0; pos < in.size();) {
        const std::size_t n = 1 + rng() % 40;
        chunks.push_back(std::string_view(in).substr(pos, n));
        pos += n;
      }
      check(chunks, "random chunks");
    }
  }
}

}  // namespace
}  // namespace smtp::wire
