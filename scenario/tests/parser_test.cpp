// The parser: what a file means, and that every mistake names file:line and what was expected.
#include "smtp/scenario/parser.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "smtp/scenario/json.hpp"

namespace fs = std::filesystem;
using namespace smtp::scenario;

TEST(Parser, ReadsHeaderClientSectionAndScript) {
  auto s = parse_text(
      "# intent: one recipient of two is refused\n"
      "name: rcpt-one-refused\n"
      "description: the second RCPT gets 550\n"
      "tags: refusals, rcpt\n"
      "protocol: smtp\n"
      "transports: plain starttls\n"
      "client: sendmail alice@example.org bob@example.org,carol@example.org "
      "mail_options=SMTPUTF8\n"
      "option: timeout=5\n"
      "message: Subject: hi\n"
      "message:\n"
      "message: body\n"
      "expect: ok refused=carol@example.org:550\n"
      "expect-smtplib: raises SMTPRecipientsRefused\n"
      "note-smtplib: illustrative only\n"
      "\n"
      "S: 220 mx ESMTP\n"
      "C: EHLO *\n"
      "S: 250 mx\n"
      "C: ~ MAIL FROM:<alice@example.org>.*\n"
      "S: 250 ok\n"
      "C: DATA\n"
      "S: 354 go\n"
      "data capture\n"
      "D: Subject: *\n"
      "D:\n"
      "D: body\n"
      "S: 250 ok\n"
      "S+ 250-partial\n"
      "sleep 1.5s\n"
      "drip 10ms 4\n"
      "flush\n"
      "close\n",
      "x.scn");
  EXPECT_EQ(s.name, "rcpt-one-refused");
  EXPECT_EQ(s.tags, (std::vector<std::string>{"refusals", "rcpt"}));
  ASSERT_EQ(s.transports.size(), 2u);
  ASSERT_EQ(s.client.calls.size(), 1u);
  EXPECT_EQ(s.client.calls[0].args[1], "bob@example.org,carol@example.org");
  EXPECT_EQ(s.client.calls[0].kwargs.at("mail_options"), "SMTPUTF8");
  EXPECT_EQ(*s.client.message, "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_TRUE(s.client.expect->ok);
  EXPECT_EQ(s.client.expect->refused.at("carol@example.org"), 550);
  EXPECT_EQ(s.client.expect_smtplib->exception, "SMTPRecipientsRefused");
  ASSERT_EQ(s.steps.size(), 14u);
  EXPECT_EQ(s.steps[7].kind, Step::Kind::data);
  EXPECT_TRUE(s.steps[7].capture);
  EXPECT_EQ(s.steps[7].content.size(), 3u);
  EXPECT_EQ(s.steps[9].bytes, "250-partial");
  EXPECT_EQ(s.steps[10].duration.count(), 1500);
  EXPECT_EQ(s.steps[11].count, 4u);
  EXPECT_EQ(s.steps[13].kind, Step::Kind::close);
  EXPECT_EQ(s.steps[3].where.str(), "x.scn:19");
  EXPECT_TRUE(s.playable_as_server());
  EXPECT_FALSE(s.playable_as_client());  // C: lines are patterns
  auto json = to_json(s);
  EXPECT_NE(json.find("\"rcpt-one-refused\""), std::string::npos);
}

TEST(Parser, DefaultsNameTransportAndMessage) {
  auto s = parse_text(
      "description: d\nclient: sendmail a@b c@d\nexpect: raises SMTPServerDisconnected\nclose\n",
      "dir/some-name.scn");
  EXPECT_EQ(s.name, "some-name");
  ASSERT_EQ(s.transports.size(), 1u);
  EXPECT_EQ(s.transports[0], Transport::plain);
  EXPECT_TRUE(s.client.message.has_value());
  EXPECT_FALSE(s.client.expect->ok);
}

// The probe needs "the server sent nothing for a while" (SMTP smuggling: a bare-LF dot must not
// end the data); `sleep D quiet` says so without a new action.
TEST(Parser, SleepQuietMarksThePauseAsSilent) {
  auto s = parse_text("description: d\nS: 220 x\nsleep 2s quiet\nsleep 1s\n", "q.scn");
  ASSERT_EQ(s.steps.size(), 3u);
  EXPECT_EQ(s.steps[1].kind, Step::Kind::sleep);
  EXPECT_EQ(s.steps[1].duration, std::chrono::milliseconds(2000));
  EXPECT_EQ(s.steps[1].mode, "quiet");
  EXPECT_EQ(s.steps[2].mode, "");
  EXPECT_THROW(parse_text("description: d\nsleep 2s loudly\n", "q.scn"), ScenarioError);
}

TEST(Parser, ClientsServerCertAndPipeliningOption) {
  auto s = parse_text(
      "description: d\nclients: cpp, cpp-async\nnote-clients: smtplib has no PIPELINING\n"
      "server-cert: expired\ntransports: tls\noption: pipelining=1\nclient: noop\n"
      "expect: raises SSLError\nexpect-tls-reject\n",
      "c.scn");
  EXPECT_EQ(s.clients, (std::vector<std::string>{"cpp", "cpp-async"}));
  EXPECT_EQ(s.clients_note, "smtplib has no PIPELINING");
  EXPECT_EQ(s.server_cert, "expired");
  EXPECT_EQ(s.client.options.at("pipelining"), "1");
  ASSERT_EQ(s.steps.size(), 1u);
  EXPECT_EQ(s.steps[0].kind, Step::Kind::expect_tls_reject);
  EXPECT_FALSE(s.playable_as_client());
  auto j = to_json(s, -1);
  EXPECT_NE(j.find("\"server_cert\":\"expired\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"clients\":[\"cpp\",\"cpp-async\"]"), std::string::npos) << j;
  // Defaults: every client, the good certificate.
  auto d = parse_text("description: d\nS: 220 x\n", "d.scn");
  EXPECT_TRUE(d.clients.empty());
  EXPECT_EQ(d.server_cert, "good");
}

// `max-line:` raises the players' line limit for one file (issue 22); absent, PeerLimits holds.
TEST(Parser, MaxLineHeaderSetsTheLineLimitOfTheFile) {
  auto s = parse_text("description: d\nmax-line: 200000\nS: 220 x\n", "m.scn");
  EXPECT_EQ(s.max_line, std::optional<std::size_t>(200000));
  EXPECT_NE(to_json(s, -1).find("\"max_line\":200000"), std::string::npos);
  EXPECT_FALSE(parse_text("description: d\nS: 220 x\n", "d.scn").max_line);
  for (const char* bad : {"0", "2", "16777217", "64k", "", "-1", "1234567890"}) {
    try {
      parse_text(std::string("description: d\nmax-line: ") + bad + "\nS: 220 x\n", "m.scn");
      ADD_FAILURE() << "accepted max-line: " << bad;
    } catch (const ScenarioError& e) {
      EXPECT_NE(std::string(e.what()).find("m.scn:2"), std::string::npos) << e.what();
    }
  }
}

TEST(Parser, BdatStepSizeLastnessCaptureAndContent) {
  auto s = parse_text(
      "description: d\nS: 220 x\nbdat 12 more\nS: 250 ok\nbdat * last capture\nD: a\nD: b*\n"
      "bdat\nbdat 0 last\n",
      "b.scn");
  ASSERT_EQ(s.steps.size(), 6u);
  EXPECT_EQ(s.steps[1].kind, Step::Kind::bdat);
  EXPECT_EQ(s.steps[1].size, std::optional<std::size_t>(12));
  EXPECT_EQ(s.steps[1].mode, "more");
  EXPECT_FALSE(s.steps[1].capture);
  EXPECT_FALSE(s.steps[3].size);
  EXPECT_EQ(s.steps[3].mode, "last");
  EXPECT_TRUE(s.steps[3].capture);
  ASSERT_EQ(s.steps[3].content.size(), 2u);
  EXPECT_TRUE(s.steps[3].content[1].matches("bee"));
  EXPECT_FALSE(s.steps[4].size);
  EXPECT_EQ(s.steps[4].mode, "");
  EXPECT_EQ(s.steps[5].size, std::optional<std::size_t>(0));
  EXPECT_FALSE(s.playable_as_client());
  EXPECT_TRUE(s.playable_as_server());
}

// sendmail_many: pairs FROM TO[,TO...], one per message; `results=` one per message of the last
// call, in the JSON dump the harness reads.
TEST(Parser, SendmailManyPairsAndResults) {
  auto s = parse_text(
      "description: d\nclients: cpp cpp-async\nnote-clients: sendmail_many is not in smtplib\n"
      "client: sendmail_many a@example.org b@example.org a@example.org c@example.org,d@example.org "
      "mail_options=SMTPUTF8\n"
      "client: sendmail_many a@example.org b@example.org a@example.org c@example.org "
      "x@example.org y@example.org\n"
      "client: quit\n"
      "expect: ok reply=221 refused=c@example.org:550 "
      "results=ok,SMTPRecipientsRefused,SMTPDataError:554\n"
      "S: 220 x\n",
      "m.scn");
  ASSERT_EQ(s.client.calls.size(), 3u);
  EXPECT_EQ(s.client.calls[0].name, "sendmail_many");
  EXPECT_EQ(s.client.calls[0].args,
            (std::vector<std::string>{"a@example.org", "b@example.org", "a@example.org",
                                      "c@example.org,d@example.org"}));
  EXPECT_EQ(s.client.calls[0].kwargs.at("mail_options"), "SMTPUTF8");
  EXPECT_TRUE(s.client.message);  // the calls send the scenario's message
  const auto& o = *s.client.expect;
  EXPECT_EQ(o.reply, std::optional<int>(221));
  EXPECT_EQ(o.refused.at("c@example.org"), 550);
  ASSERT_TRUE(o.results);
  ASSERT_EQ(o.results->size(), 3u);
  EXPECT_TRUE((*o.results)[0].ok);
  EXPECT_FALSE((*o.results)[1].ok);
  EXPECT_EQ((*o.results)[1].exception, "SMTPRecipientsRefused");
  EXPECT_FALSE((*o.results)[1].code);
  EXPECT_EQ((*o.results)[2].exception, "SMTPDataError");
  EXPECT_EQ((*o.results)[2].code, std::optional<int>(554));
  const auto j = to_json(s, -1);
  EXPECT_NE(j.find("\"results\":[{\"result\":\"ok\"},{\"code\":null,\"exception\":"
                   "\"SMTPRecipientsRefused\",\"result\":\"raises\"},{\"code\":554,"
                   "\"exception\":\"SMTPDataError\",\"result\":\"raises\"}]"),
            std::string::npos)
      << j;
  // 32 messages is the most one call takes; a raising outcome needs no results.
  std::string many = "description: d\nclients: cpp\nnote-clients: n\nclient: sendmail_many";
  for (int i = 0; i < 32; ++i) many += " a@b c@d";
  auto big = parse_text(many + "\nexpect: raises SMTPServerDisconnected\nS: 220 x\n", "b.scn");
  EXPECT_EQ(big.client.calls[0].args.size(), 64u);
  EXPECT_FALSE(big.client.expect->results);
  // Without results the dump says null.
  auto plain = parse_text("description: d\nclient: noop\nexpect: ok\nS: 220 x\n", "p.scn");
  EXPECT_NE(to_json(plain, -1).find("\"results\":null"), std::string::npos);
}

struct BadCase {
  const char* text;
  int line;
  const char* says;
};

class ParserErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParserErrors, NameFileLineAndWhatWasExpected) {
  const auto& c = GetParam();
  try {
    parse_text(c.text, "bad.scn");
    FAIL() << "accepted: " << c.text;
  } catch (const ScenarioError& e) {
    EXPECT_EQ(e.where().file, "bad.scn");
    EXPECT_EQ(e.where().line, c.line) << e.what();
    EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("bad.scn:" + std::to_string(c.line) + ": ", 0), 0u)
        << e.what();
  }
}

#define D "description: d\n"
#define M "clients: cpp cpp-async\nnote-clients: sendmail_many is not in smtplib\n"
#define OK1 "expect: ok results=ok\n"
#define X4 " a@b c@d a@b c@d"
#define X16 X4 X4 X4 X4                 // 16 arguments, 8 messages
#define X66 X16 X16 X16 X16 " a@b c@d"  // 66 arguments, 33 messages
INSTANTIATE_TEST_SUITE_P(
    EveryErrorPath, ParserErrors,
    ::testing::Values(
        BadCase{"S: 220 x\n", 1, "missing 'description:'"}, BadCase{D, 1, "no script"},
        BadCase{D "S: 220 x\nfrobnicate\n", 3, "expected a transcript line"},
        BadCase{D "S: 220 \\q\n", 2, "unknown escape \\q"},
        BadCase{D "C: \\x4g\n", 2, "two hex digits"},
        BadCase{D "C: ~ (\n", 2, "invalid regular expression"},
        BadCase{D "S+\n", 2, "at least one byte"},
        BadCase{D "D: x\n", 2, "must directly follow a 'data'"},
        BadCase{D "S: 1\nD+ x\n", 3, "'D+' does not exist"},
        BadCase{D "data-lines 1\nD: a\nD: b\n", 4, "more 'D:' lines than the 1"},
        BadCase{D "data-lines 2\nD: a\n", 2, "give all or none"},
        BadCase{D "data-lines x\n", 2, "expected 'data-lines N'"},
        BadCase{D "data all\n", 2, "expected 'data' or 'data capture'"},
        BadCase{D "sleep 5\n", 2, "expected 'sleep DURATION"},
        BadCase{D "sleep 1s noisy\n", 2, "expected 'sleep DURATION [quiet]'"},
        BadCase{D "sleep 2h\n", 2, "expected 'sleep DURATION"},
        BadCase{D "sleep 3601s\n", 2, "at most 1h"},
        BadCase{D "drip\n", 2, "expected 'drip DELAY [BYTES]'"},
        BadCase{D "drip 5ms 0\n", 2, "BYTES must be a positive number"},
        BadCase{D "flush now\n", 2, "takes no argument"},
        BadCase{D "tls-fail loudly\n", 2, "expected 'tls-fail [alert|close|garbage]'"},
        BadCase{D "close\nS: 220 x\n", 3, "nothing may follow 'close' at bad.scn:2"},
        BadCase{D "reset\nsleep 1s\n", 3, "nothing may follow 'reset'"},
        BadCase{D "expect-close\nclose\n", 3, "nothing may follow 'expect-close'"},
        BadCase{D "S: 220 x\nname: late\n", 3,
                "must come before the script (which starts at bad.scn:2)"},
        BadCase{D "description: again\nS: 1\n", 2, "given twice (first at bad.scn:1)"},
        BadCase{"name:\n" D "S: 1\n", 1, "'name:' needs a value"},
        BadCase{D "protocol: esmtp\nS: 1\n", 2, "expected 'protocol: smtp' or 'protocol: lmtp'"},
        BadCase{D "transports: plain carrier-pigeon\nS: 1\n", 2,
                "unknown transport 'carrier-pigeon'"},
        BadCase{D "transports: tls tls\nS: 1\n", 2, "listed twice"},
        BadCase{D "transports:\nS: 1\n", 2, "at least one transport"},
        BadCase{D "colour: blue\nS: 1\n", 2, "unknown key 'colour:'"},
        BadCase{D "client: teleport\nS: 1\n", 2, "unknown client method 'teleport'"},
        BadCase{D "client:\nS: 1\n", 2, "expected 'client: METHOD ARGS...'"},
        BadCase{D "client: sendmail a@b\nS: 1\n", 2, "'sendmail' takes 2 argument(s), got 1"},
        BadCase{D "client: help a b\nS: 1\n", 2, "takes 0 to 1 argument(s)"},
        BadCase{D "client: noop\nS: 1\n", 2, "needs 'expect:'"},
        BadCase{D "expect: ok\nS: 1\n", 2, "'expect:' without any 'client:' call"},
        BadCase{D "client: noop\nexpect: fine\nS: 1\n", 3, "expected 'ok ...' or 'raises"},
        BadCase{D "client: noop\nexpect: raises KeyError\nS: 1\n", 3,
                "unknown exception 'KeyError'"},
        BadCase{D "client: noop\nexpect: raises SMTPDataError 99\nS: 1\n", 3, "reply code 100-599"},
        BadCase{D "client: noop\nexpect: ok refused=nobody\nS: 1\n", 3, "refused=ADDR:CODE"},
        BadCase{D "client: noop\nexpect: ok great\nS: 1\n", 3, "after 'ok' expected"},
        BadCase{D "client: noop\nexpect: ok\nnote-smtplib: why\nS: 1\n", 4,
                "'expect-smtplib:', which is missing"},
        BadCase{D "option: colour=blue\nS: 1\n", 2, "unknown client option 'colour'"},
        BadCase{D "option: timeout\nS: 1\n", 2, "expected 'option: NAME=VALUE'"},
        BadCase{D "option: timeout=1\noption: timeout=2\nS: 1\n", 3, "given twice"},
        BadCase{D "client: noop\nexpect: ok\nmessage: hi\nS: 1\n", 4, "no client call sends one"},
        BadCase{D "transports: starttls\nS: 220 x\nC: STARTTLS\nstarttls\n", 2,
                "drop 'starttls' from transports"},
        BadCase{D "transports: starttls\nclose\n", 2, "needs a greeting"},
        BadCase{D "include:\n", 2, "expected 'include: PATH'"},
        BadCase{D "include: /nonexistent/part.inc\n", 2, "cannot open '/nonexistent/part.inc'"},
        // Found by fuzz_scenario: a device never ends; only regular files are included.
        BadCase{D "include: /dev/zero\n", 2, "include: '/dev/zero' is not a regular file"},
        BadCase{D "include: /tmp\n", 2, "is not a regular file"},
        BadCase{D "clients: cpp\nS: 1\n", 2, "needs 'note-clients:'"},
        BadCase{D "note-clients: why\nS: 1\n", 2, "'clients:', which is missing"},
        BadCase{D "clients: cpp java\nnote-clients: x\nS: 1\n", 2, "unknown client 'java'"},
        BadCase{D "clients: cpp cpp\nnote-clients: x\nS: 1\n", 2, "listed twice"},
        BadCase{D "server-cert: shiny\nS: 1\n", 2, "expected 'server-cert: good|wrong-name"},
        BadCase{D "server-cert: expired\nS: 220 x\n", 2, "needs a TLS handshake"},
        BadCase{D "transports: tls\nS: 220 x\nexpect-tls-reject\n", 4, "must be the first step"},
        BadCase{D "transports: starttls\nS: 220 x\nC: EHLO *\nexpect-tls-reject\n", 2,
                "write STARTTLS in the script instead"},
        BadCase{D "expect-tls-reject now\n", 2, "takes no argument"},
        BadCase{D "expect-tls-reject\nS: 220 x\n", 3, "nothing may follow 'expect-tls-reject'"},
        BadCase{D "bdat 10 sometimes\n", 2, "expected 'bdat [SIZE|*] [last|more|*] [capture]'"},
        BadCase{D "bdat last 10\n", 2, "expected 'bdat [SIZE|*]"},
        BadCase{D "bdat 99999999999999999999\n", 2, "out of range"},
        BadCase{D "option: pipelining\nS: 1\n", 2, "expected 'option: NAME=VALUE'"},
        // sendmail_many: the arguments, smtplib left out, results= one per message.
        BadCase{D M "client: sendmail_many a@b c@d e@f\n" OK1 "S: 1\n", 4,
                "'sendmail_many' takes pairs 'FROM TO[,TO...]', one per message"},
        BadCase{D M "client: sendmail_many a@b c@d e@f\n" OK1 "S: 1\n", 4, "an odd number"},
        BadCase{D M "client: sendmail_many a@b\n" OK1 "S: 1\n", 4, "got 1 argument(s)"},
        BadCase{D M "client: sendmail_many mail_options=X\n" OK1 "S: 1\n", 4, "got 0 argument(s)"},
        BadCase{D M "client: sendmail_many" X66 "\n" OK1 "S: 1\n", 4,
                "1 to 32 messages (2 to 64 arguments): got 66 arguments"},
        BadCase{D "client: sendmail_many a@b c@d\nexpect: ok results=ok\nS: 1\n", 2,
                "smtplib has no sendmail_many: leave it out with 'clients: cpp cpp-async'"},
        BadCase{D "clients: cpp smtplib\nnote-clients: n\nclient: sendmail_many a@b c@d\n"
                  "expect: ok results=ok\nS: 1\n",
                4, "smtplib has no sendmail_many"},
        BadCase{D M "client: sendmail a@b c@d\nexpect: ok results=ok\nS: 1\n", 5,
                "'results=' needs a 'client: sendmail_many' call"},
        BadCase{D M "client: sendmail_many a@b c@d a@b e@f\nexpect: ok results=ok\nS: 1\n", 5,
                "'results=' lists 1 result(s), but the last sendmail_many (at bad.scn:4) sends 2 "
                "message(s)"},
        BadCase{D M "client: sendmail_many a@b c@d a@b e@f\nclient: sendmail_many a@b c@d\n"
                    "expect: ok results=ok,ok\nS: 1\n",
                6, "the last sendmail_many (at bad.scn:5) sends 1 message(s)"},
        BadCase{D M "client: sendmail_many a@b c@d\nexpect: ok\nS: 1\n", 5,
                "an 'ok' outcome after sendmail_many needs 'results='"},
        BadCase{D M "client: sendmail_many a@b c@d\nexpect: ok results=fine\nS: 1\n", 5,
                "results: unknown exception 'fine'"},
        BadCase{D M "client: sendmail_many a@b c@d\nexpect: ok results=ok:250\nS: 1\n", 5,
                "'ok' takes no code"},
        BadCase{D M "client: sendmail_many a@b c@d\nexpect: ok results=SMTPDataError:55\nS: 1\n", 5,
                "reply code 100-599 after 'SMTPDataError:'"},
        BadCase{D M "client: sendmail_many a@b c@d\nexpect: ok results=\nS: 1\n", 5,
                "expected 'results=R1,R2,...'"},
        BadCase{D M "client: sendmail_many a@b c@d a@b c@d\nexpect: ok results=ok,,ok\nS: 1\n", 5,
                "expected 'results=R1,R2,...'"},
        BadCase{D M "client: sendmail_many a@b c@d\nexpect: ok results=ok results=ok\nS: 1\n", 5,
                "'results=' given twice"},
        BadCase{D M "client: sendmail_many a@b c@d\nexpect: raises SMTPException results=ok\n"
                    "S: 1\n",
                5, "'results=' belongs to an 'ok' outcome"},
        BadCase{D M "client: sendmail_many a@b c@d\nexpect: ok results=ok\n"
                    "expect-smtplib: ok results=ok\nS: 1\n",
                6, "'results=' in 'expect-smtplib:': smtplib has no sendmail_many"}));
#undef D
#undef M
#undef OK1
#undef X4
#undef X16
#undef X66

class ParserFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("scenario-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "parts");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return dir_ / name;
  }
  fs::path dir_;
};

TEST_F(ParserFiles, IncludeSplicesStepsAndKeepsTheirOwnLocations) {
  write("parts/greet.inc", "# shared greeting\nS: 220 mx\nC: EHLO *\nS: 250 mx\n");
  auto main = write("main.scn", "description: d\ninclude: parts/greet.inc\nC: QUIT\n");
  auto s = parse_file(main);
  ASSERT_EQ(s.steps.size(), 4u);
  EXPECT_EQ(s.steps[0].where.file, (dir_ / "parts/greet.inc").string());
  EXPECT_EQ(s.steps[0].where.line, 2);
  EXPECT_EQ(s.steps[3].where.str(), main.string() + ":3");
}

TEST_F(ParserFiles, ErrorInsideAnIncludeNamesTheIncludedFile) {
  write("parts/bad.inc", "S: 220 mx\nbogus\n");
  auto main = write("main.scn", "description: d\ninclude: parts/bad.inc\n");
  try {
    parse_file(main);
    FAIL();
  } catch (const ScenarioError& e) {
    EXPECT_EQ(e.where().file, (dir_ / "parts/bad.inc").string());
    EXPECT_EQ(e.where().line, 2);
  }
}

TEST_F(ParserFiles, HeaderKeysAreRefusedInIncludedParts) {
  write("parts/h.inc", "name: nope\n");
  auto main = write("main.scn", "description: d\ninclude: parts/h.inc\n");
  EXPECT_THROW(
      {
        try {
          parse_file(main);
        } catch (const ScenarioError& e) {
          EXPECT_EQ(e.where().line, 1);
          EXPECT_NE(std::string(e.what()).find("not in an included part"), std::string::npos);
          throw;
        }
      },
      ScenarioError);
}

TEST_F(ParserFiles, IncludeCycleIsAnError) {
  write("a.inc", "include: b.inc\n");
  write("b.inc", "include: a.inc\n");
  auto main = write("main.scn", "description: d\ninclude: a.inc\n");
  try {
    parse_file(main);
    FAIL();
  } catch (const ScenarioError& e) {
    EXPECT_NE(std::string(e.what()).find("include cycle"), std::string::npos) << e.what();
    EXPECT_EQ(e.where().file, (dir_ / "b.inc").string());
  }
}

TEST_F(ParserFiles, MissingFileIsAnError) {
  EXPECT_THROW(parse_file(dir_ / "absent.scn"), ScenarioError);
}

TEST(ParserCorpus, EveryScenarioInTheRepositoryParses) {
  int count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(SMTPKIT_SCENARIOS_DIR)) {
    if (entry.path().extension() != ".scn") continue;
    ++count;
    EXPECT_NO_THROW({
      try {
        parse_file(entry.path());
      } catch (const ScenarioError& e) {
        ADD_FAILURE() << e.what();
        throw;
      }
    }) << entry.path();
  }
  EXPECT_GT(count, 0);
}
