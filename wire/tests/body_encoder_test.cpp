// The DATA body encoder: CRLF normalisation, dot-stuffing across chunks, a sure terminator.
#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <smtp/wire/body_encoder.hpp>
#include <stdexcept>
#include <string>

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

}  // namespace
}  // namespace smtp::wire
