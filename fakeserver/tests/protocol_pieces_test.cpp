// The server's pure protocol pieces, fed bytes split at every offset.
#include <gtest/gtest.h>

#include "smtp/fakeserver/report.hpp"
#include "smtp/wire/dot_unstuffer.hpp"
#include "smtp/wire/line_buffer.hpp"
#include "smtp/wire/reply_format.hpp"

using namespace smtp::fakeserver;
namespace wire = smtp::wire;

namespace {

std::vector<std::string> lines_of(const std::string& input, std::size_t split) {
  wire::LineBuffer buf(1024);
  std::vector<std::string> out;
  buf.append(std::string_view(input).substr(0, split));
  while (auto l = buf.take_line()) out.push_back(*l);
  buf.append(std::string_view(input).substr(split));
  while (auto l = buf.take_line()) out.push_back(*l);
  return out;
}

}  // namespace

TEST(LineBuffer, SameLinesWhereverTheInputIsSplit) {
  const std::string input = "EHLO a\r\nMAIL FROM:<x>\nRCPT TO:<y>\r\npartial";
  for (std::size_t split = 0; split <= input.size(); ++split) {
    auto lines = lines_of(input, split);
    ASSERT_EQ(lines.size(), 3u) << "split at " << split;
    EXPECT_EQ(lines[0], "EHLO a\r\n");
    EXPECT_EQ(lines[1], "MAIL FROM:<x>\n");  // a bare LF stays visible to the caller
    EXPECT_EQ(lines[2], "RCPT TO:<y>\r\n");
  }
}

TEST(LineBuffer, OverlongIsDetectedBeforeTheLineEnds) {
  wire::LineBuffer buf(8);
  buf.append("12345678");
  EXPECT_FALSE(buf.overlong());
  buf.append("9");
  EXPECT_TRUE(buf.overlong());
  EXPECT_FALSE(buf.take_line());
}

TEST(LineBuffer, TakeBytesForChunks) {
  wire::LineBuffer buf(8);
  buf.append("abc");
  EXPECT_FALSE(buf.take_bytes(4));
  EXPECT_EQ(*buf.take_bytes(2), "ab");
  EXPECT_EQ(buf.pending(), "c");
}

TEST(StripEol, RemovesOneTerminator) {
  EXPECT_EQ(wire::strip_eol("a\r\n"), "a");
  EXPECT_EQ(wire::strip_eol("a\n"), "a");
  EXPECT_EQ(wire::strip_eol("a\r"), "a\r");
}

TEST(DotUnstuffer, RemovesTransparencyDotsAndStopsAtTheDotLine) {
  const std::string wire = "Subject: x\r\n\r\n..leading dot\r\n.\r\n";
  for (std::size_t split = 0; split <= wire.size(); ++split) {
    wire::LineBuffer buf(1024);
    wire::DotUnstuffer body;
    bool ended = false;
    for (auto part : {wire.substr(0, split), wire.substr(split)}) {
      buf.append(part);
      while (auto l = buf.take_line()) ended = body.feed(*l) || ended;
    }
    ASSERT_TRUE(ended);
    EXPECT_EQ(body.message(), "Subject: x\r\n\r\n.leading dot\r\n");
    EXPECT_EQ(body.lines(), 3u);
  }
}

TEST(DotUnstuffer, BareLfDotIsContentNotTheEnd) {
  wire::DotUnstuffer body;
  EXPECT_FALSE(body.feed(".\n"));  // smuggling attempt: not the end of data
  EXPECT_EQ(body.bare_lf_lines(), 1u);
  // <LF>.<CRLF> is not <CRLF>.<CRLF> either (this test used to accept it as the end).
  EXPECT_FALSE(body.feed(".\r\n"));
  EXPECT_EQ(body.first_other_form(), wire::DataEnding::crlf_dot_lf);
  EXPECT_TRUE(body.feed(".\r\n"));
}

TEST(Reply, FormatsMultiline) {
  EXPECT_EQ(wire::format_reply(250, std::vector<std::string>{"mx", "PIPELINING", "SIZE 10"}),
            "250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
  EXPECT_EQ(wire::format_reply(221, "bye"), "221 bye\r\n");
}

TEST(SessionReportJson, EscapesQuotesBackslashesAndControls) {
  SessionReport r;
  r.mode = "scripted";
  r.scenario_file = "a\"b\\c\x01.scn";
  r.divergence = Divergence{1, "f:2", "C: \"x\"", "\\r\\n", "tab\there"};
  auto json = r.to_json();
  EXPECT_NE(json.find("\"scenario\":\"a\\\"b\\\\c\\u0001.scn\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"expected\":\"C: \\\"x\\\"\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"received\":\"\\\\r\\\\n\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"reason\":\"tab\\u0009here\""), std::string::npos) << json;
}
