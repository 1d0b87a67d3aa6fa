// The server side of commands (issue 15: the scripted session took LAST in any case, the sink only
// "LAST" and "last"; now both call this).
#include <gtest/gtest.h>

#include <smtp/wire/command_parser.hpp>

namespace smtp::wire {
namespace {

TEST(CommandParser, verb_is_the_first_word_upper_cased) {
  EXPECT_EQ(command_verb("mail FROM:<a@b>"), "MAIL");
  EXPECT_EQ(command_verb("QUIT"), "QUIT");
  EXPECT_EQ(command_verb("noop\r\n"), "NOOP");
  EXPECT_EQ(command_verb(""), "");
}

TEST(CommandParser, bdat_spellings) {
  for (const char* ok : {"BDAT 10 LAST", "bdat 10 last", "Bdat 10 LaSt", "BDAT 10 lAST"}) {
    const auto b = parse_bdat(ok);
    ASSERT_TRUE(b) << ok;
    EXPECT_EQ(b->size, 10u);
    EXPECT_TRUE(b->last) << ok;
  }
  const auto chunk = parse_bdat("BDAT 0");
  ASSERT_TRUE(chunk);
  EXPECT_EQ(chunk->size, 0u);
  EXPECT_FALSE(chunk->last);
  EXPECT_EQ(parse_bdat("BDAT 123456789012345678")->size, 123456789012345678u);
  for (const char* bad :
       {"BDAT", "BDAT ", "BDAT x", "BDAT -1", "BDAT 10  LAST", "BDAT 10 LASTX", "BDAT 10 LAS",
        "BDAT  10", "BDAT 10 ", "BDATA 1", "BDAT 1234567890123456789", "BDAT 10\tLAST"}) {
    EXPECT_FALSE(parse_bdat(bad)) << bad;
  }
}

}  // namespace
}  // namespace smtp::wire
