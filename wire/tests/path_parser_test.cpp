// MAIL / RCPT as the server reads them: the recorder splits the path from the parameters with
// this, so a SIZE= that varies per run can be told from SMTPUTF8 and BODY= that do not.
#include <gtest/gtest.h>

#include <smtp/wire/path_parser.hpp>

namespace smtp::wire {
namespace {

using Params = std::vector<std::string>;

TEST(PathParser, mail_with_parameters) {
  const auto p =
      parse_path_command("MAIL FROM:<alice@example.org> SIZE=321 BODY=8BITMIME SMTPUTF8");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->address, "alice@example.org");
  EXPECT_EQ(p->params, (Params{"SIZE=321", "BODY=8BITMIME", "SMTPUTF8"}));
  EXPECT_TRUE(p->bracketed);
}

TEST(PathParser, any_case_null_path_and_blank_after_colon) {
  const auto p = parse_path_command("mail from: <> size=10");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->address, "");
  EXPECT_EQ(p->params, (Params{"size=10"}));
  const auto r = parse_path_command("rcpt To:<bob@example.net>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->address, "bob@example.net");
  EXPECT_TRUE(r->params.empty());
}

TEST(PathParser, quoted_local_part_may_hold_a_bracket) {
  const auto p = parse_path_command("RCPT TO:<\"a>b\"@example.net> NOTIFY=NEVER");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->address, "\"a>b\"@example.net");
  EXPECT_EQ(p->params, (Params{"NOTIFY=NEVER"}));
}

TEST(PathParser, utf8_address_kept_byte_exact) {
  const auto p = parse_path_command("MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->address, "j\xc3\xb6rg@example.org");
}

TEST(PathParser, bare_address_is_tolerated_and_said) {
  const auto p = parse_path_command("MAIL FROM:a@b SIZE=1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->address, "a@b");
  EXPECT_FALSE(p->bracketed);
  EXPECT_EQ(p->params, (Params{"SIZE=1"}));
}

TEST(PathParser, other_lines_and_unclosed_paths_are_refused) {
  for (const char* bad :
       {"MAIL", "MAIL FROM", "RCPT TO", "DATA", "MAIL FROM:<a@b", "MAILFROM:<a>"}) {
    EXPECT_FALSE(parse_path_command(bad)) << bad;
  }
}

TEST(PathParser, is_param_compares_the_keyword) {
  EXPECT_TRUE(is_param("size=12", "SIZE"));
  EXPECT_TRUE(is_param("SMTPUTF8", "smtputf8"));
  EXPECT_FALSE(is_param("SIZEX=1", "SIZE"));
  EXPECT_FALSE(is_param("BODY=8BITMIME", "SIZE"));
}

}  // namespace
}  // namespace smtp::wire
