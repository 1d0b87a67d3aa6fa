// The reply parser: strict RFC 5321 section 4.2 grammar, whatever the chunking.
#include <gtest/gtest.h>

#include <optional>
#include <smtp/exceptions.hpp>
#include <smtp/reply_parser.hpp>
#include <string>

#include "split_feed.hpp"

namespace smtp {
namespace {

using test::for_each_split;

// Feeds the chunks; returns the reply and how many input bytes the parser left unused.
struct Parsed {
  std::optional<Reply> reply;
  std::size_t leftover = 0;
};

Parsed parse_chunks(const std::vector<std::string_view>& chunks) {
  ReplyParser p;
  Parsed out;
  for (auto chunk : chunks) {
    if (p.done()) {
      out.leftover += chunk.size();
      continue;
    }
    const std::size_t used = p.feed(chunk);
    out.leftover += chunk.size() - used;
  }
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

// Every chunking must raise SMTPProtocolError whose rule mentions `rule_part`.
void expect_violation(std::string_view wire, std::string_view rule_part) {
  for_each_split(wire, [&](const auto& chunks, const std::string& how) {
    try {
      const Parsed got = parse_chunks(chunks);
      ADD_FAILURE() << "accepted " << test::visible(wire) << " (" << how << ")";
    } catch (const SMTPProtocolError& e) {
      EXPECT_NE(e.rule().find(rule_part), std::string::npos) << e.what() << " (" << how << ")";
    }
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

TEST(ReplyParser, line_of_max_line_bytes_is_accepted) {
  const std::string text(ReplyParser::max_line - 6, 'x');  // "250 " + text + CRLF
  ReplyParser p;
  const std::string wire = "250 " + text + "\r\n";
  ASSERT_EQ(wire.size(), ReplyParser::max_line);
  EXPECT_EQ(p.feed(wire), wire.size());
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.take().text, text);
}

TEST(ReplyParser, line_longer_than_max_line_is_a_violation) {
  const std::string wire = "250 " + std::string(ReplyParser::max_line - 5, 'x') + "\r\n";
  ReplyParser p;
  EXPECT_THROW(p.feed(wire), SMTPProtocolError);
}

TEST(ReplyParser, too_many_lines_is_a_violation) {
  std::string wire;
  for (std::size_t i = 0; i < ReplyParser::max_lines; ++i) wire += "250-x\r\n";
  wire += "250 end\r\n";
  ReplyParser p;
  try {
    p.feed(wire);
    ADD_FAILURE() << "accepted " << ReplyParser::max_lines + 1 << " lines";
  } catch (const SMTPProtocolError& e) {
    EXPECT_NE(e.rule().find("lines"), std::string::npos) << e.what();
  }
}

TEST(ReplyParser, too_many_bytes_is_a_violation) {
  std::string wire;
  const std::string line = "250-" + std::string(1000, 'y') + "\r\n";
  while (wire.size() <= ReplyParser::max_reply_bytes) wire += line;
  wire += "250 end\r\n";
  ReplyParser p;
  try {
    p.feed(wire);
    ADD_FAILURE() << "accepted " << wire.size() << " bytes";
  } catch (const SMTPProtocolError& e) {
    EXPECT_NE(e.rule().find("bytes"), std::string::npos) << e.what();
  }
}

TEST(ReplyParser, violation_message_shows_the_bytes) {
  ReplyParser p;
  try {
    p.feed("250 OK\n");
    FAIL();
  } catch (const SMTPProtocolError& e) {
    EXPECT_EQ(e.bytes(), "250 OK\n");
    EXPECT_NE(std::string(e.what()).find("b'250 OK\\n'"), std::string::npos) << e.what();
  }
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

TEST(EnhancedStatus, kept_in_response_exceptions) {
  const SMTPSenderRefused e(553, "5.7.1 Sender rejected", "a@b");
  ASSERT_TRUE(e.enhanced_status);
  EXPECT_EQ(e.enhanced_status->to_string(), "5.7.1");
  EXPECT_EQ(e.smtp_code, 553);
  EXPECT_EQ(e.smtp_error, "5.7.1 Sender rejected");
  EXPECT_EQ(e.sender, "a@b");
}

TEST(Reply, usable_with_structured_bindings) {
  const Reply r{221, "Bye"};
  const auto& [code, text] = r;
  EXPECT_EQ(code, 221);
  EXPECT_EQ(text, "Bye");
}

}  // namespace
}  // namespace smtp
