// Matching a received line against what the scenario wrote after S:, C: or D:.
#include "smtp/scenario/pattern.hpp"

#include <gtest/gtest.h>

#include "smtp/scenario/escape.hpp"

using smtp::scenario::LinePattern;

namespace {

LinePattern parse(std::string_view text, bool codes = false) {
  std::string error;
  auto p = LinePattern::parse(text, codes, error);
  EXPECT_TRUE(p) << error;
  return p ? *p : LinePattern::exact_bytes("");
}

}  // namespace

TEST(Pattern, ExactLineIsLiteralAndMatchesOnlyItself) {
  auto p = parse("MAIL FROM:<a@b>");
  EXPECT_TRUE(p.is_literal());
  EXPECT_EQ(p.literal(), "MAIL FROM:<a@b>");
  EXPECT_TRUE(p.matches("MAIL FROM:<a@b>"));
  EXPECT_FALSE(p.matches("MAIL FROM:<a@b> SIZE=1"));
  EXPECT_FALSE(p.matches("mail from:<a@b>"));
}

TEST(Pattern, GlobStarMatchesAnyRunIncludingEmpty) {
  auto p = parse("EHLO *");
  EXPECT_FALSE(p.is_literal());
  EXPECT_TRUE(p.matches("EHLO client.example"));
  EXPECT_TRUE(p.matches("EHLO "));
  EXPECT_FALSE(p.matches("HELO client.example"));
  auto q = parse("MAIL FROM:<*> SIZE=*");
  EXPECT_TRUE(q.matches("MAIL FROM:<> SIZE=10"));
  EXPECT_FALSE(q.matches("MAIL FROM:<a@b>"));
  auto mid = parse("a*b*c");
  EXPECT_TRUE(mid.matches("abc"));
  EXPECT_TRUE(mid.matches("axxbyyc"));
  EXPECT_FALSE(mid.matches("acb"));
  EXPECT_FALSE(parse("ab*ba").matches("aba"));  // pieces may not overlap
}

TEST(Pattern, EscapedStarIsLiteral) {
  auto p = parse("250 \\* ok");
  EXPECT_TRUE(p.is_literal());
  EXPECT_EQ(p.literal(), "250 * ok");
}

TEST(Pattern, EscapesDecodeToBytes) {
  auto p = parse("a\\r\\n\\0\\x7f\\\\");
  EXPECT_EQ(p.literal(), std::string("a\r\n\0\x7f\\", 6));
}

TEST(Pattern, RegexMatchesWholeLine) {
  auto p = parse("~ MAIL FROM:<[^>]*>( SIZE=[0-9]+)?");
  EXPECT_EQ(p.kind(), LinePattern::Kind::regex);
  EXPECT_TRUE(p.matches("MAIL FROM:<a@b> SIZE=12"));
  EXPECT_FALSE(p.matches("MAIL FROM:<a@b> BODY=8BITMIME"));
}

TEST(Pattern, ReplyCodeClassesOnServerLines) {
  auto any2 = parse("2xx*", true);
  EXPECT_FALSE(any2.is_literal());
  EXPECT_TRUE(any2.matches("250 ok"));
  EXPECT_TRUE(any2.matches("221-bye"));
  EXPECT_FALSE(any2.matches("550 no"));
  auto alt = parse("250|251 *", true);
  EXPECT_TRUE(alt.matches("251 will forward"));
  EXPECT_FALSE(alt.matches("252 cannot verify"));
  // A plain code is exact text: this line can be sent by the fake server.
  auto plain = parse("250 OK", true);
  EXPECT_TRUE(plain.is_literal());
  // Code classes only exist on server lines.
  EXPECT_TRUE(parse("2xx*").matches("2xxanything"));
}

TEST(Pattern, BadEscapeAndBadRegexAreErrors) {
  std::string error;
  EXPECT_FALSE(LinePattern::parse("bad \\q", false, error));
  EXPECT_NE(error.find("unknown escape"), std::string::npos) << error;
  EXPECT_FALSE(LinePattern::parse("\\x4", false, error));
  EXPECT_NE(error.find("two hex digits"), std::string::npos) << error;
  EXPECT_FALSE(LinePattern::parse("~ (", false, error));
  EXPECT_NE(error.find("regular expression"), std::string::npos) << error;
}

// Found by fuzz_scenario: a lone backslash ending a glob line dropped the last piece, left the
// pattern empty and parse() read pieces_.front() of an empty vector (UB); it must be an error.
TEST(Pattern, RejectsTrailingLoneBackslash) {
  std::string error;
  EXPECT_FALSE(LinePattern::parse("MAIL\\\\\\", false, error, true));
  EXPECT_NE(error.find("lone backslash"), std::string::npos) << error;
  EXPECT_FALSE(LinePattern::parse("a*\\", false, error));
  EXPECT_NE(error.find("lone backslash"), std::string::npos) << error;
  EXPECT_FALSE(LinePattern::parse("\\", false, error));
  std::string ok_error;
  auto escaped = LinePattern::parse("a\\\\", false, ok_error);  // an escaped backslash is fine
  ASSERT_TRUE(escaped) << ok_error;
  EXPECT_TRUE(escaped->matches("a\\"));
}

TEST(Visible, ControlsAreShownAndRoundTrip) {
  std::string bytes("250 ok\r\n\0\x01\xff\\", 12);
  auto shown = smtp::scenario::visible(bytes);
  EXPECT_EQ(shown, "250 ok\\r\\n\\0\\x01\\xFF\\\\");
  std::string back, error;
  ASSERT_TRUE(smtp::scenario::unescape(shown, back, error)) << error;
  EXPECT_EQ(back, bytes);
}

TEST(Pattern, CommandVerbAndMailRcptKeywordsIgnoreCase) {
  std::string error;
  auto mail = *LinePattern::parse("MAIL FROM:<Alice@example.org>*", false, error, true);
  EXPECT_TRUE(mail.matches("mail FROM:<Alice@example.org> SIZE=10"));
  EXPECT_TRUE(mail.matches("Mail from:<Alice@example.org>"));
  EXPECT_FALSE(mail.matches("mail from:<alice@example.org>"));  // local part stays exact
  EXPECT_EQ(mail.source(), "MAIL FROM:<Alice@example.org>*");
  auto ehlo = *LinePattern::parse("EHLO *", false, error, true);
  EXPECT_TRUE(ehlo.matches("ehlo [127.0.0.1]"));
  auto quit = *LinePattern::parse("QUIT", false, error, true);
  EXPECT_TRUE(quit.matches("quit"));
  EXPECT_EQ(quit.literal(), "QUIT");  // sent as written
  auto re = *LinePattern::parse("~ RCPT TO:<[a-z]+@example.org>", false, error, true);
  EXPECT_TRUE(re.matches("rcpt to:<bob@example.org>"));
  EXPECT_EQ(smtp::scenario::command_head("MAIL FROM:<a@b> SIZE=1"), 10u);
  EXPECT_EQ(smtp::scenario::command_head("EHLO x"), 4u);
  EXPECT_EQ(smtp::scenario::command_head("NOOP"), 4u);
}

// fuzz_scenario finding (with std::regex): its compiler overflowed a `long` (UB) reading the
// back-reference `\7777770000...`; huge repetition counts blew up the automaton. Still refused with
// a message before PCRE2 sees them: `\123` would be octal there, and counted groups are copied.
TEST(Pattern, RegexBackReferenceNumberOverflowIsRefused) {
  std::string error;
  EXPECT_FALSE(LinePattern::parse("~ le\\7777770000000000000000000000000000777777", false, error));
  EXPECT_NE(error.find("back-reference number too large"), std::string::npos) << error;
  EXPECT_FALSE(LinePattern::parse("~ [\\123]", false, error));
  EXPECT_NE(error.find("back-reference number too large"), std::string::npos) << error;
  EXPECT_FALSE(LinePattern::parse("~ a{99999999999999999999}", false, error));
  EXPECT_NE(error.find("repetition count too large"), std::string::npos) << error;
  EXPECT_FALSE(LinePattern::parse("~ a{2,5000}", false, error));
  EXPECT_NE(error.find("repetition count too large"), std::string::npos) << error;
  EXPECT_FALSE(LinePattern::parse("~ (a{1000}){1000}", false, error));
  EXPECT_NE(error.find("multiply past"), std::string::npos) << error;

  std::string ok_error;
  auto backref = LinePattern::parse("~ (a)b\\1", false, ok_error);
  ASSERT_TRUE(backref) << ok_error;
  EXPECT_TRUE(backref->matches("aba"));
  auto counted = LinePattern::parse("~ 250 SIZE [0-9]{1,10} x{3}", false, ok_error);
  ASSERT_TRUE(counted) << ok_error;
  EXPECT_TRUE(counted->matches("250 SIZE 10240000 xxx"));
  auto literal_braces = LinePattern::parse("~ [{]99999999}", false, ok_error);  // '{' in a class
  ASSERT_TRUE(literal_braces) << ok_error;
  EXPECT_TRUE(literal_braces->matches("{99999999}"));
}
