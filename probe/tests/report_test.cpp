// The three report forms read the same Report: a table for people, JSON, JUnit XML.
#include "smtp/probe/report.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace smtp::probe;

namespace {

Report sample() {
  Report r;
  r.options.target.host = "127.0.0.1";
  r.options.target.port = 2525;
  r.discovery.greeting = "220 mx ESMTP";
  CheckResult pass;
  pass.name = "greeting";
  pass.reference = "RFC5321#4.2";
  pass.verdict = Verdict::pass;
  pass.evidence = "220 mx ESMTP";
  CheckResult fail;
  fail.name = "smuggling-bare-lf";
  fail.reference = "RFC5321#4.1.1.4";
  fail.verdict = Verdict::fail;
  fail.evidence = "the server answered where it must stay silent: got 250 queued <x>";
  fail.play.where = "scenarios/server/smuggling-bare-lf.scn:16";
  fail.play.transcript.push_back({'S', 1.5, "250 queued\\r\\n"});
  CheckResult skip;
  skip.name = "pipelining";
  skip.verdict = Verdict::skip;
  skip.evidence = "the server does not advertise PIPELINING";
  CheckResult warn;
  warn.name = "vrfy-policy";
  warn.verdict = Verdict::warn;
  warn.evidence = "got 250 root@mx";
  r.results = {pass, fail, skip, warn};
  r.phase = Phase::checks;
  return r;
}

}  // namespace

TEST(Report, TableHasOneRowPerCheckAndTheTotals) {
  auto t = to_table(sample());
  EXPECT_NE(t.find("greeting (RFC5321#4.2)"), std::string::npos) << t;
  EXPECT_NE(t.find("fail     the server answered"), std::string::npos) << t;
  EXPECT_NE(t.find("1 pass, 1 fail, 1 warn, 1 skip; exit 7 (checks)"), std::string::npos) << t;
}

TEST(Report, JsonCountsVerdictsAndKeepsTheDivergence) {
  auto j = nlohmann::json::parse(to_json(sample()));
  EXPECT_EQ(j["exit"], 7);
  EXPECT_EQ(j["summary"]["fail"], 1);
  EXPECT_EQ(j["checks"][1]["divergence"]["where"], "scenarios/server/smuggling-bare-lf.scn:16");
  EXPECT_EQ(j["checks"][1]["transcript"][0]["data"], "250 queued\\r\\n");
  EXPECT_FALSE(j["checks"][2].contains("transcript"));  // skipped: nothing was sent
}

TEST(Report, JunitMarksFailuresAndSkipsAndEscapesText) {
  auto x = to_junit(sample());
  EXPECT_NE(x.find("tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\""), std::string::npos)
      << x;
  // the failure element now carries the transcript (JunitFailureCarriesTheTranscript)
  EXPECT_NE(x.find("<failure message=\"the server answered where it must stay silent: got 250 "
                   "queued &lt;x&gt;\" type=\"MUST\">"),
            std::string::npos)
      << x;
  EXPECT_NE(x.find("<skipped message=\"the server does not advertise PIPELINING\"/>"),
            std::string::npos);
}

TEST(Report, StoppedBeforeTheChecksIsOneJunitError) {
  Report r;
  r.options.target.unix_path = "/run/lmtp";
  r.phase = Phase::connect;
  r.discovery.phase = Phase::connect;
  r.discovery.error = "cannot connect to /run/lmtp";
  EXPECT_NE(to_junit(r).find("errors=\"1\""), std::string::npos);
  EXPECT_NE(to_table(r).find("stopped at connect: cannot connect to /run/lmtp"), std::string::npos);
}

// Issue 17: a run that skipped the checks that may deliver says which, last; JUnit failures carry
// the transcript.
TEST(Report, SkippedDeliveryChecksAreNamedAsNotTested) {
  Report r = sample();
  CheckResult smug;
  smug.name = "smuggling-nul";
  smug.verdict = Verdict::skip;
  smug.needs_delivery = true;
  smug.evidence = "may deliver mail: needs --rcpt and --allow-delivery";
  r.results.push_back(smug);
  auto t = to_table(r);
  EXPECT_NE(t.find("\nnot tested: smuggling-nul (they may deliver mail"), std::string::npos) << t;
  auto j = nlohmann::json::parse(to_json(r));
  EXPECT_EQ(j["not_tested"], nlohmann::json::array({"smuggling-nul"}));
  EXPECT_EQ(to_table(sample()).find("not tested"), std::string::npos);
}

TEST(Report, JunitFailureCarriesTheTranscript) {
  auto x = to_junit(sample());
  EXPECT_NE(x.find("at scenarios/server/smuggling-bare-lf.scn:16"), std::string::npos) << x;
  EXPECT_NE(x.find("S: 250 queued\\r\\n"), std::string::npos) << x;
  EXPECT_NE(x.find("type=\"MUST\""), std::string::npos) << x;
}
