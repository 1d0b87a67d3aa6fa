// The writer: whatever it writes, the one parser reads back to the same model.
#include "smtp/scenario/writer.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "smtp/scenario/parser.hpp"

namespace fs = std::filesystem;
using namespace smtp::scenario;

namespace {

void expect_same_pattern(const LinePattern& a, const LinePattern& b, const std::string& where) {
  EXPECT_EQ(a.kind(), b.kind()) << where;
  EXPECT_EQ(a.codes(), b.codes()) << where;
  if (a.is_literal())
    EXPECT_EQ(a.literal(), b.literal()) << where;
  else
    EXPECT_EQ(a.source(), b.source()) << where;
}

void expect_same_outcome(const std::optional<Outcome>& a, const std::optional<Outcome>& b) {
  ASSERT_EQ(a.has_value(), b.has_value());
  if (!a) return;
  EXPECT_EQ(a->ok, b->ok);
  EXPECT_EQ(a->reply, b->reply);
  EXPECT_EQ(a->refused, b->refused);
  EXPECT_EQ(a->exception, b->exception);
  EXPECT_EQ(a->code, b->code);
  ASSERT_EQ(a->results.has_value(), b->results.has_value());
  if (!a->results) return;
  ASSERT_EQ(a->results->size(), b->results->size());
  for (std::size_t i = 0; i < a->results->size(); ++i) {
    EXPECT_EQ((*a->results)[i].ok, (*b->results)[i].ok) << i;
    EXPECT_EQ((*a->results)[i].exception, (*b->results)[i].exception) << i;
    EXPECT_EQ((*a->results)[i].code, (*b->results)[i].code) << i;
  }
}

void expect_same(const Scenario& a, const Scenario& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.protocol, b.protocol);
  EXPECT_EQ(a.transports, b.transports);
  ASSERT_EQ(a.client.calls.size(), b.client.calls.size());
  for (std::size_t i = 0; i < a.client.calls.size(); ++i) {
    EXPECT_EQ(a.client.calls[i].name, b.client.calls[i].name);
    EXPECT_EQ(a.client.calls[i].args, b.client.calls[i].args);
    EXPECT_EQ(a.client.calls[i].kwargs, b.client.calls[i].kwargs);
  }
  EXPECT_EQ(a.client.options, b.client.options);
  EXPECT_EQ(a.client.message, b.client.message);
  expect_same_outcome(a.client.expect, b.client.expect);
  expect_same_outcome(a.client.expect_smtplib, b.client.expect_smtplib);
  EXPECT_EQ(a.client.smtplib_note, b.client.smtplib_note);
  ASSERT_EQ(a.steps.size(), b.steps.size()) << a.file;
  for (std::size_t i = 0; i < a.steps.size(); ++i) {
    const auto& x = a.steps[i];
    const auto& y = b.steps[i];
    const std::string where = x.where.str() + " vs " + y.where.str();
    EXPECT_EQ(x.kind, y.kind) << where;
    ASSERT_EQ(x.pattern.has_value(), y.pattern.has_value()) << where;
    if (x.pattern) expect_same_pattern(*x.pattern, *y.pattern, where);
    EXPECT_EQ(x.bytes, y.bytes) << where;
    ASSERT_EQ(x.content.size(), y.content.size()) << where;
    for (std::size_t j = 0; j < x.content.size(); ++j)
      expect_same_pattern(x.content[j], y.content[j], where);
    EXPECT_EQ(x.capture, y.capture) << where;
    EXPECT_EQ(x.count, y.count) << where;
    EXPECT_EQ(x.duration, y.duration) << where;
    EXPECT_EQ(x.mode, y.mode) << where;
  }
}

Scenario round_trip(const Scenario& s) {
  return parse_text(write(s), "written.scn");
}

}  // namespace

// Every file of the corpus, includes expanded, survives write-then-parse unchanged.
TEST(Writer, RoundTripsEveryCorpusFile) {
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(SMTPKIT_SCENARIOS_DIR)) {
    if (entry.path().extension() != ".scn") continue;
    Scenario original = parse_file(entry.path());
    SCOPED_TRACE(entry.path().string());
    expect_same(original, round_trip(original));
    ++files;
  }
  EXPECT_GT(files, 100);
}

// Bytes a real server may send: stars, backslashes, NUL, bare LF and CR, blanks at the ends.
TEST(Writer, LiteralBytesComeBackExactly) {
  Scenario s;
  s.name = "written";
  s.description = "bytes that need escapes";
  s.transports = {Transport::plain};
  const std::vector<std::string> lines = {"250 a*b\\c", "250 trailing  ", "220  two leading",
                                          std::string("250 nul\0here", 12), "250 \xff\x7f"};
  for (const auto& l : lines) {
    Step st;
    st.kind = Step::Kind::server_line;
    st.pattern = LinePattern::exact_bytes(l);
    s.steps.push_back(st);
  }
  Step raw;
  raw.kind = Step::Kind::server_raw;
  raw.bytes = std::string("250-x\n\r* \0", 10);
  s.steps.push_back(raw);
  Scenario back = round_trip(s);
  expect_same(s, back);
  EXPECT_TRUE(back.playable_as_server());
}

TEST(Writer, ClientSectionArgumentsWithBlanksAndMessage) {
  Scenario s;
  s.name = "written";
  s.description = "client section";
  s.transports = {Transport::plain, Transport::tls};
  Step quit;
  quit.kind = Step::Kind::expect_close;
  s.steps.push_back(quit);
  ClientCall call;
  call.name = "sendmail";
  call.args = {"a b@example.org", "c@example.org,d@example.org"};
  call.kwargs["mail_options"] = "SMTPUTF8";
  s.client.calls.push_back(call);
  s.client.message = std::string("Subject: x \r\n\r\n body*\r\n.dot\r\n");
  Outcome o;
  o.ok = true;
  o.refused["d@example.org"] = 550;
  s.client.expect = o;
  Outcome r;
  r.ok = false;
  r.exception = "SMTPDataError";
  r.code = 554;
  s.client.expect_smtplib = r;
  s.client.smtplib_note = "differs";
  expect_same(s, round_trip(s));
}

// sendmail_many's per-message results (`results=`) read back as written.
TEST(Writer, SendmailManyResults) {
  Scenario s;
  s.name = "many";
  s.description = "two messages";
  s.transports = {Transport::plain};
  s.clients = {"cpp", "cpp-async"};
  s.clients_note = "sendmail_many is not in smtplib";
  Step close;
  close.kind = Step::Kind::expect_close;
  s.steps.push_back(close);
  ClientCall call;
  call.name = "sendmail_many";
  call.args = {"a@example.org", "b@example.org", "a@example.org", "c@example.org,d@example.org"};
  s.client.calls.push_back(call);
  s.client.message = std::string("Subject: x\r\n\r\nbody\r\n");
  Outcome o;
  o.refused["d@example.org"] = 550;
  o.results = std::vector<MessageResult>{{false, "SMTPDataError", 554}, {true, "", std::nullopt}};
  s.client.expect = o;
  const std::string text = write(s);
  EXPECT_NE(text.find("expect: ok refused=d@example.org:550 results=SMTPDataError:554,ok\n"),
            std::string::npos)
      << text;
  expect_same(s, round_trip(s));
}

TEST(Writer, GlobPiecesAreEscapedAndJoinedByWildcards) {
  std::string error;
  auto p = LinePattern::parse(glob_of({"MAIL FROM:<a*b@x> SIZE=", ""}), false, error, true);
  ASSERT_TRUE(p) << error;
  EXPECT_TRUE(p->matches("MAIL FROM:<a*b@x> SIZE=1234"));
  EXPECT_FALSE(p->matches("MAIL FROM:<aXb@x> SIZE=1234"));
}

TEST(Writer, ServerLineOnlyWhenItSendsExactly) {
  EXPECT_TRUE(writable_as_server_line("250 ok"));
  EXPECT_FALSE(writable_as_server_line("2xx"));  // would read back as a code class
  EXPECT_FALSE(writable_as_server_line("250|251 x"));
  EXPECT_FALSE(writable_as_server_line("~ 250"));
  EXPECT_FALSE(writable_as_server_line("hello"));
}

TEST(Writer, CommentsAndActions) {
  Scenario s;
  s.name = "x";
  s.description = "actions";
  s.transports = {Transport::plain};
  for (auto k : {Step::Kind::starttls, Step::Kind::flush}) {
    Step st;
    st.kind = k;
    s.steps.push_back(st);
  }
  Step sl;
  sl.kind = Step::Kind::sleep;
  sl.duration = std::chrono::milliseconds(1234);
  s.steps.push_back(sl);
  Step cl;
  cl.kind = Step::Kind::close;
  s.steps.push_back(cl);
  WriteOptions opt;
  opt.header_comments = {"recorded"};
  opt.step_comments[2] = {"a pause"};
  std::string text = write(s, opt);
  EXPECT_NE(text.find("# recorded\n"), std::string::npos);
  EXPECT_NE(text.find("# a pause\nsleep 1234ms\n"), std::string::npos);
  expect_same(s, parse_text(text, "x.scn"));
}
