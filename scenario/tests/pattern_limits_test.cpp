// `~` patterns on PCRE2: long and hostile lines end in a result, never a crash (issue 22), and the
// corpus's patterns keep their ECMAScript meaning.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "smtp/scenario/parser.hpp"
#include "smtp/scenario/pattern.hpp"

using smtp::scenario::LinePattern;
using smtp::scenario::MatchResult;
using smtp::scenario::PatternTooComplex;

namespace {

LinePattern regex(std::string_view text, bool command = false) {
  std::string error;
  auto p = LinePattern::parse(text, false, error, command);
  EXPECT_TRUE(p) << error;
  return p ? *p : LinePattern::exact_bytes("");
}

constexpr std::size_t line_limit = 64 * 1024;  // the longest line a player accepts by default

}  // namespace

// Issue 22, first reproduction: std::regex recursed once per digit and the fake server died with
// SIGSEGV on `MAIL FROM:<alice@example.org> SIZE=` + 40,000 digits.
TEST(PatternLimits, MailFromWithFortyThousandSizeDigitsMatches) {
  auto p = regex("~ MAIL FROM:<alice@example\\.org>( [Ss][Ii][Zz][Ee]=[0-9]+)?", true);
  EXPECT_EQ(p.match("MAIL FROM:<alice@example.org> SIZE=" + std::string(40000, '7')),
            MatchResult::matched);
  EXPECT_EQ(p.match("MAIL FROM:<alice@example.org> SIZE=" + std::string(40000, '7') + "x"),
            MatchResult::no_match);
}

// Issue 22, second reproduction: a 20,000-byte EHLO against an alternation under a star.
TEST(PatternLimits, TwentyThousandByteEhloAgainstStarredAlternationMatches) {
  auto p = regex("~ EHLO (a|b|.)*", true);
  std::string name;
  for (std::size_t i = 0; name.size() < 20000; ++i) name += "abx"[i % 3];
  EXPECT_EQ(p.match("EHLO " + name), MatchResult::matched);
  EXPECT_EQ(p.match("EHLO abx\r"), MatchResult::no_match);  // `.` is not CR
  // Not matching, the same line backtracks through every alternative of 20,000 repetitions: past
  // the match limit that is "too complex", a clear answer in milliseconds, never a crash.
  EXPECT_EQ(p.match("EHLO " + name + "\r"), MatchResult::too_complex);
}

// The limits leave room for the longest line: a group repeated once per byte of 64 KiB.
TEST(PatternLimits, StarredGroupMatchesALineAtTheLineLimit) {
  auto p = regex("~ 250-(a|b|.)*");
  EXPECT_EQ(p.match("250-" + std::string(line_limit - 4, 'b')), MatchResult::matched);
}

// Catastrophic backtracking: the match limit ends it, and the outcome says so.
TEST(PatternLimits, CatastrophicBacktrackingIsTooComplexNotNoMatch) {
  auto p = regex("~ (x+x+)+(y|z)");
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(p.match(std::string(64, 'x')), MatchResult::too_complex);
  EXPECT_EQ(p.match(std::string(line_limit, 'x')), MatchResult::too_complex);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(p.match("xxy"), MatchResult::matched);
  EXPECT_THROW((void)p.matches(std::string(64, 'x')), PatternTooComplex);
  EXPECT_NE(smtp::scenario::too_complex_reason().find("pattern too complex for this input"),
            std::string::npos);
}

// What the players relied on from ECMAScript stays true on PCRE2 (see FORMAT.md).
TEST(PatternLimits, EcmascriptMeaningsTheCorpusUses) {
  auto not_auth = regex("~ 250-(?!AUTH).*");  // lookahead: the probe's capability checks
  EXPECT_EQ(not_auth.match("250-PIPELINING"), MatchResult::matched);
  EXPECT_EQ(not_auth.match("250-AUTH PLAIN"), MatchResult::no_match);
  auto alt = regex("~ a|ab");  // the whole line, not a prefix of it
  EXPECT_EQ(alt.match("ab"), MatchResult::matched);
  EXPECT_EQ(alt.match("abc"), MatchResult::no_match);
  auto dollar = regex("~ ok$");  // `$` only at the very end, never before a final LF
  EXPECT_EQ(dollar.match("ok"), MatchResult::matched);
  EXPECT_EQ(dollar.match("ok\n"), MatchResult::no_match);
  auto dot = regex("~ a.b");  // `.` is any byte but CR and LF, also NUL and 0xFF
  EXPECT_EQ(dot.match(std::string("a\0b", 3)), MatchResult::matched);
  EXPECT_EQ(dot.match("a\xff"
                      "b"),
            MatchResult::matched);
  EXPECT_EQ(dot.match("a\rb"), MatchResult::no_match);
  EXPECT_EQ(dot.match("a\nb"), MatchResult::no_match);
  EXPECT_EQ(regex("~ a[^]b").match("a\nb"), MatchResult::matched);  // `[^]`: any byte
  EXPECT_EQ(regex("~ a[]b").match("ab"), MatchResult::no_match);    // `[]`: nothing
  EXPECT_EQ(regex("~ (a)?b\\1").match("b"), MatchResult::matched);  // unset group: empty
  EXPECT_EQ(regex("~ \\u0041\\d\\s\\w").match("A1 _"), MatchResult::matched);
  EXPECT_EQ(regex("~ [Ss][Ii][Zz][Ee]=[0-9]+").match("size=1"), MatchResult::matched);
  EXPECT_EQ(regex("~ (?:ab)+\\b.*").match("abab x"), MatchResult::matched);
}

TEST(PatternLimits, PcreErrorsNameTheExpression) {
  std::string error;
  EXPECT_FALSE(LinePattern::parse("~ a(?<", false, error));
  EXPECT_NE(error.find("invalid regular expression 'a(?<'"), std::string::npos) << error;
  EXPECT_FALSE(LinePattern::parse("~ (*UTF)a", false, error));  // lines are bytes, never UTF
  EXPECT_NE(error.find("invalid regular expression"), std::string::npos) << error;
}

// Every `~` line of the corpus compiles on PCRE2 and matches a 64 KiB line of any byte within the
// limits (with a result, whichever).
TEST(PatternLimits, EveryCorpusPatternAnswersALineAtTheLimit) {
  namespace fs = std::filesystem;
  std::size_t regexes = 0;
  const std::string line_a(line_limit, 'a');
  const std::string line_digits = "250-" + std::string(line_limit - 4, '9');
  for (const auto& entry : fs::recursive_directory_iterator(SMTPKIT_SCENARIOS_DIR)) {
    if (entry.path().extension() != ".scn") continue;
    const auto scenario = smtp::scenario::parse_file(entry.path());
    for (const auto& step : scenario.steps) {
      std::vector<const LinePattern*> patterns;
      if (step.pattern) patterns.push_back(&*step.pattern);
      for (const auto& c : step.content) patterns.push_back(&c);
      for (const auto* p : patterns) {
        if (p->kind() != LinePattern::Kind::regex) continue;
        ++regexes;
        const auto started = std::chrono::steady_clock::now();
        (void)p->match(line_a);
        (void)p->match(line_digits);
        EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2))
            << step.where.str() << ": " << p->source();
      }
    }
  }
  EXPECT_GE(regexes, 5u);
}
