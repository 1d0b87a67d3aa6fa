#pragma once
// A check is a server-role scenario file played in the client role. What the probe needs beyond
// the script is carried in the file's `tags:` (see probe/README.md):
//   ref:RFC5321#4.2             the RFC section the check holds the server to
//   level:must                  the RFC says MUST: a divergence fails (the default)
//   level:should                the RFC says SHOULD: a divergence warns, fails with --strict
//   level:policy                a choice the RFC leaves to the operator: a divergence warns
//   severity:warn               the older spelling of level:should
//   needs:plain                 only over the plain transport (the check runs its own STARTTLS)
//   needs:tls-transport         only over starttls or tls
//   needs:ext:NAME              only when the server advertises the EHLO keyword NAME
//   requires:ext:NAME           the server must advertise NAME (LMTP's PIPELINING): not advertised
//                               is the divergence, judged at the check's level
//   needs:size-limit            only when SIZE advertises a limit
//   needs:rcpt                  only when the operator named a recipient (--rcpt)
//   needs:delivery              may deliver mail: needs --rcpt and --allow-delivery
//   verify-certificate          every TLS handshake in the check must verify (--cafile, name)
//   protocol:any                runs for SMTP and LMTP (use ${hello} for EHLO/LHLO)
//   precondition:VERB           a reply to VERB other than the one expected means the check does
//                               not apply (skip, naming the reply), not that the server failed it
#include <filesystem>
#include <string>
#include <vector>

#include "smtp/scenario/model.hpp"

namespace smtp::probe {

enum class Verdict { pass, fail, warn, skip };
const char* to_string(Verdict v);

// How strongly the RFC asks for what the check holds the server to.
enum class Level { must, should, policy };
const char* to_string(Level l);

struct Check {
  scenario::Scenario scenario;
  std::string reference;  // "RFC5321#4.2", "" when none
  Level level = Level::must;
  std::vector<std::string> needs;  // "plain", "ext:PIPELINING", "delivery", ...
  bool verify_certificate = false;
  bool any_protocol = false;
  std::vector<std::string> preconditions;  // verbs, upper case
  std::vector<std::string> required_ext;   // EHLO keywords, as written
};

// Reads the probe's tags. Throws std::runtime_error naming the file when the check cannot be
// played by a client (a non-literal C: line, tls-fail) or could deliver mail without saying
// `needs:delivery` (a `data` step, or an end-of-data line in C+ bytes).
Check make_check(scenario::Scenario scenario);

// Every `.scn` file under `dir` (sorted by path), made into checks.
std::vector<Check> load_suite(const std::filesystem::path& dir);

// A section as `--section` takes it, `5321/4.5.3` (also `RFC5321#4.5.3`, `rfc5321`): whether the
// check's reference is that section or inside it (4.5.3 takes 4.5.3.1.4, not 4.5.30).
bool in_section(const Check& check, std::string_view section);

}  // namespace smtp::probe
