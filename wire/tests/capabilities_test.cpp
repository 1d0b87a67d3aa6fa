// EHLO capabilities parsed as smtplib parses them.
#include <gtest/gtest.h>

#include <smtp/wire/capabilities.hpp>
#include <smtp/wire/reply_parser.hpp>

#include "split_feed.hpp"

namespace smtp::wire {
namespace {

TEST(Capabilities, keywords_are_lowercased_with_parameters_stripped) {
  const auto f = parse_ehlo_features(
      "mx.example.com Hello\nSIZE 10240000\n8BITMIME\nPIPELINING\n"
      "STARTTLS\nENHANCEDSTATUSCODES\nDSN");
  EXPECT_EQ(f.at("size"), "10240000");
  EXPECT_EQ(f.at("8bitmime"), "");
  EXPECT_EQ(f.at("starttls"), "");
  EXPECT_EQ(f.size(), 6u);
  EXPECT_FALSE(f.count("mx.example.com"));  // the greeting line is not a feature
}

TEST(Capabilities, auth_parameters_accumulate_with_old_style_auth_equals) {
  // smtplib: "auth" gets " " + params for each AUTH line and each AUTH= line.
  const auto f = parse_ehlo_features("mx\nAUTH PLAIN LOGIN\nAUTH=LOGIN");
  EXPECT_EQ(f.at("auth"), " PLAIN LOGIN LOGIN");
}

TEST(Capabilities, old_style_auth_equals_alone) {
  const auto f = parse_ehlo_features("mx\nauth=CRAM-MD5 PLAIN");
  EXPECT_EQ(f.at("auth"), " CRAM-MD5 PLAIN");
}

TEST(Capabilities, keyword_followed_by_non_space_keeps_the_rest_as_parameters) {
  // smtplib's regex stops the keyword at the first other character; the rest is the parameter.
  const auto f = parse_ehlo_features("mx\nSIZE=100\nX_ODD value");
  EXPECT_EQ(f.at("size"), "=100");
  EXPECT_EQ(f.at("x"), "_ODD value");
}

TEST(Capabilities, lines_not_starting_with_a_keyword_are_ignored) {
  const auto f = parse_ehlo_features("mx\n-bad\n\n PIPELINING\nHELP");
  EXPECT_EQ(f.size(), 1u);
  EXPECT_TRUE(f.count("help"));
}

TEST(Capabilities, later_line_replaces_earlier_for_other_keywords) {
  const auto f = parse_ehlo_features("mx\nSIZE 1\nSIZE 2");
  EXPECT_EQ(f.at("size"), "2");
}

TEST(Capabilities, greeting_only) {
  EXPECT_TRUE(parse_ehlo_features("mx.example.com").empty());
}

TEST(Capabilities, has_feature_ignores_case) {
  const auto f = parse_ehlo_features("mx\nSTARTTLS");
  EXPECT_TRUE(has_feature(f, "StartTLS"));
  EXPECT_TRUE(has_feature(f, "starttls"));
  EXPECT_FALSE(has_feature(f, "size"));
}

TEST(Capabilities, same_features_whatever_the_reply_chunking) {
  const std::string wire =
      "250-mx.example.com\r\n250-SIZE 35882577\r\n250-AUTH LOGIN PLAIN\r\n250-AUTH=LOGIN\r\n"
      "250 SMTPUTF8\r\n";
  const EsmtpFeatures expected = {
      {"size", "35882577"}, {"auth", " LOGIN PLAIN LOGIN"}, {"smtputf8", ""}};
  test::for_each_split(wire, [&](const auto& chunks, const std::string& how) {
    ReplyParser p;
    for (auto c : chunks) p.feed(c);
    ASSERT_TRUE(p.done()) << how;
    EXPECT_EQ(parse_ehlo_features(p.take().text), expected) << how;
  });
}

}  // namespace
}  // namespace smtp::wire
