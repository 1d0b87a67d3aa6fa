// The reply parser: strict RFC 5321 section 4.2 grammar, whatever the chunking.
#include <gtest/gtest.h>

#include <optional>
#include <smtp/wire/reply_parser.hpp>
#include <string>

#include "split_feed.hpp"

namespace smtp::wire {
namespace {

using test::for_each_split;

// Feeds the chunks; returns the reply and how many input bytes the parser left unused.
struct Parsed {
  std::optional<Reply> reply;
  std::size_t leftover = 0;
  std::optional<ReplyError> error;
};

Parsed parse_chunks(const std::vector<std::string_view>& chunks) {
  ReplyParser p;
  Parsed out;
  for (auto chunk : chunks) {
    if (p.done()) {
      out.leftover += chunk.size();
      continue;
    }
    if (p.failed()) break;
    const std::size_t used = p.feed(chunk);
    out.leftover += chunk.size() - used;
  }
  out.error = p.error();
  if (p.done()) out.reply = p.take();
  return out;
}

void expect_reply(std::string_view wire, const Reply& expected, std::size_t leftover = 0) {
  for_each_split(wire, [&](const auto& chunks, const std::string& how) {
    const Parsed got = parse_chunks(chunks);
    ASSERT_TRUE(got.reply) << how << " of " << test::visible(wire);
    EXPECT_EQ(*got.reply, expected) << how;
    EXPECT_EQ(got.leftover, leftover) << how;
  });
}

// Every chunking must stop with an error whose rule mentions `rule_part`, and no reply.
void expect_violation(std::string_view wire, std::string_view rule_part) {
  for_each_split(wire, [&](const auto& chunks, const std::string& how) {
    const Parsed got = parse_chunks(chunks);
    ASSERT_TRUE(got.error) << "accepted " << test::visible(wire) << " (" << how << ")";
    EXPECT_FALSE(got.reply) << how;
    EXPECT_NE(got.error->rule.find(rule_part), std::string::npos)
        << got.error->rule << " (" << how << ")";
  });
}

TEST(ReplyParser, single_line_reply) {
  expect_reply("250 OK\r\n", {250, "OK"});
}

TEST(ReplyParser, code_alone_ends_the_reply) {
  expect_reply("250\r\n", {250, ""});
}

TEST(ReplyParser, multiline_reply_joins_text_with_newlines) {
  expect_reply("250-mx.example.com\r\n250-SIZE 100\r\n250 HELP\r\n",
               {250, "mx.example.com\nSIZE 100\nHELP"});
}

TEST(ReplyParser, multiline_with_empty_continuation_text) {
  expect_reply("220-\r\n220 ready\r\n", {220, "\nready"});
}

TEST(ReplyParser, text_blanks_are_stripped_as_smtplib) {
  expect_reply("550  \t no such user \t\r\n", {550, "no such user"});
}

TEST(ReplyParser, stops_after_one_reply_and_leaves_the_rest) {
  // Bytes after the reply belong to the caller (the driver treats them as out of turn).
  expect_reply("250 OK\r\n354 go\r\n", {250, "OK"}, 8);
}

TEST(ReplyParser, eight_bit_text_is_kept) {
  expect_reply("250 caf\xc3\xa9\r\n", {250, "caf\xc3\xa9"});
}

TEST(ReplyParser, rejects_bare_lf) {
  expect_violation("250 OK\n", "bare LF");
}

TEST(ReplyParser, rejects_cr_without_lf) {
  expect_violation("250 OK\rX\r\n", "CR not followed by LF");
}

TEST(ReplyParser, rejects_nul) {
  expect_violation(std::string_view("250 O\0K\r\n", 9), "NUL");
}

TEST(ReplyParser, rejects_other_controls) {
  expect_violation("250 O\x07K\r\n", "control");
}

TEST(ReplyParser, rejects_two_digit_code) {
  expect_violation("25 OK\r\n", "three-digit");
}

TEST(ReplyParser, rejects_letters_in_code) {
  expect_violation("2x0 OK\r\n", "three-digit");
}

TEST(ReplyParser, rejects_code_below_200) {
  expect_violation("199 OK\r\n", "2xx-5xx");
}

TEST(ReplyParser, rejects_code_above_599) {
  expect_violation("600 OK\r\n", "2xx-5xx");
}

TEST(ReplyParser, rejects_four_digit_code) {
  expect_violation("2500 OK\r\n", "SP, '-'");
}

TEST(ReplyParser, rejects_other_separator) {
  expect_violation("250_OK\r\n", "SP, '-'");
}

TEST(ReplyParser, rejects_code_change_inside_multiline_reply) {
  expect_violation("250-first\r\n251 second\r\n", "same code");
}

TEST(ReplyParser, rejects_empty_line) {
  expect_violation("\r\n", "three-digit");
}

constexpr ReplyLimits kDefault{};

TEST(ReplyParser, line_of_max_line_bytes_is_accepted) {
  const std::string text(kDefault.max_line - 6, 'x');  // "250 " + text + CRLF
  ReplyParser p;
  const std::string wire = "250 " + text + "\r\n";
  ASSERT_EQ(wire.size(), kDefault.max_line);
  EXPECT_EQ(p.feed(wire), wire.size());
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.take().text, text);
}

TEST(ReplyParser, line_longer_than_max_line_is_a_violation) {
  const std::string wire = "250 " + std::string(kDefault.max_line - 5, 'x') + "\r\n";
  ReplyParser p;
  p.feed(wire);
  ASSERT_TRUE(p.failed());
  EXPECT_NE(p.error()->rule.find("longer than 8192"), std::string::npos) << p.error()->rule;
  EXPECT_FALSE(p.done());
}

TEST(ReplyParser, limits_are_set_at_run_time) {
  ReplyParser strict(ReplyLimits{.max_line = 64, .max_lines = 2, .max_reply_bytes = 100});
  strict.feed("250 " + std::string(61, 'x') + "\r\n");
  ASSERT_TRUE(strict.failed());
  EXPECT_NE(strict.error()->rule.find("longer than 64"), std::string::npos);
  strict.reset();
  strict.feed("250-a\r\n250-b\r\n250 c\r\n");
  ASSERT_TRUE(strict.failed());
  EXPECT_NE(strict.error()->rule.find("more than 2 lines"), std::string::npos);
  strict.reset();
  EXPECT_FALSE(strict.failed());
  strict.feed("250 ok\r\n");
  ASSERT_TRUE(strict.done());
  ReplyParser roomy(ReplyLimits{.max_line = 100000, .max_lines = 256, .max_reply_bytes = 200000});
  const std::string long_line = "250 " + std::string(80000, 'y') + "\r\n";
  EXPECT_EQ(roomy.feed(long_line), long_line.size());
  EXPECT_TRUE(roomy.done());
}

TEST(ReplyParser, too_many_lines_is_a_violation) {
  std::string wire;
  for (std::size_t i = 0; i < kDefault.max_lines; ++i) wire += "250-x\r\n";
  wire += "250 end\r\n";
  ReplyParser p;
  p.feed(wire);
  ASSERT_TRUE(p.failed()) << "accepted " << kDefault.max_lines + 1 << " lines";
  EXPECT_NE(p.error()->rule.find("lines"), std::string::npos) << p.error()->rule;
}

TEST(ReplyParser, too_many_bytes_is_a_violation) {
  std::string wire;
  const std::string line = "250-" + std::string(1000, 'y') + "\r\n";
  while (wire.size() <= kDefault.max_reply_bytes) wire += line;
  wire += "250 end\r\n";
  ReplyParser p;
  p.feed(wire);
  ASSERT_TRUE(p.failed()) << "accepted " << wire.size() << " bytes";
  EXPECT_NE(p.error()->rule.find("bytes"), std::string::npos) << p.error()->rule;
}

TEST(ReplyParser, violation_shows_the_bytes_and_stops_consuming) {
  ReplyParser p;
  const std::size_t used = p.feed("250 OK\nmore");
  ASSERT_TRUE(p.failed());
  EXPECT_EQ(p.error()->shown, "250 OK\n");
  EXPECT_EQ(used, 7u);
  EXPECT_EQ(p.feed("250 again\r\n"), 0u) << "a failed parser takes nothing until reset()";
}

TEST(ReplyParser, parses_consecutive_replies_after_take) {
  ReplyParser p;
  const std::string wire = "250 one\r\n251-two\r\n251 three\r\n";
  std::size_t used = p.feed(wire);
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.take(), (Reply{250, "one"}));
  EXPECT_TRUE(p.idle());
  used += p.feed(std::string_view(wire).substr(used));
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.raw_lines().size(), 2u);
  EXPECT_EQ(p.take(), (Reply{251, "two\nthree"}));
  EXPECT_EQ(used, wire.size());
}

TEST(ReplyParser, idle_is_false_in_the_middle_of_a_reply) {
  ReplyParser p;
  p.feed("250-a\r\n25");
  EXPECT_FALSE(p.idle());
  EXPECT_FALSE(p.done());
}

TEST(EnhancedStatus, parsed_when_class_matches_code) {
  const Reply r{550, "5.1.1 <x@y>: Recipient address rejected"};
  ASSERT_TRUE(r.enhanced_status());
  EXPECT_EQ(*r.enhanced_status(), (EnhancedStatus{5, 1, 1}));
  EXPECT_EQ(r.enhanced_status()->to_string(), "5.1.1");
}

TEST(EnhancedStatus, absent_or_mismatched_is_nullopt) {
  EXPECT_FALSE((Reply{250, "OK"}.enhanced_status()));
  EXPECT_FALSE((Reply{250, "5.1.1 wrong class"}.enhanced_status()));
  EXPECT_FALSE((Reply{250, "2.0"}.enhanced_status()));
  EXPECT_FALSE((Reply{250, "2.0.0000 too long"}.enhanced_status()));
  EXPECT_FALSE((Reply{250, "2.0.0x"}.enhanced_status()));
  EXPECT_TRUE((Reply{250, "2.0.0"}.enhanced_status()));
  EXPECT_TRUE((Reply{451, "4.7.100 later"}.enhanced_status()));
}

TEST(Reply, usable_with_structured_bindings) {
  const Reply r{221, "Bye"};
  const auto& [code, text] = r;
  EXPECT_EQ(code, 221);
  EXPECT_EQ(text, "Bye");
}

}  // namespace
}  // namespace smtp::wire
