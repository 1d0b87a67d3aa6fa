#pragma once
// A check is a server-role scenario file played in the client role. What the probe needs beyond
// the script is carried in the file's `tags:` (see probe/README.md):
//   ref:RFC5321#4.2             the RFC section the check holds the server to
//   severity:warn               a divergence is a warning (policy), not a failure
//   needs:plain                 only over the plain transport (the check runs its own STARTTLS)
//   needs:tls-transport         only over starttls or tls
//   needs:ext:NAME              only when the server advertises the EHLO keyword NAME
//   needs:size-limit            only when SIZE advertises a limit
//   needs:rcpt                  only when the operator named a recipient (--rcpt)
//   needs:delivery              may deliver mail: needs --rcpt and --allow-delivery
//   verify-certificate          every TLS handshake in the check must verify (--cafile, name)
//   protocol:any                runs for SMTP and LMTP (use ${hello} for EHLO/LHLO)
#include <filesystem>
#include <string>
#include <vector>

#include "smtp/scenario/model.hpp"

namespace smtp::probe {

enum class Verdict { pass, fail, warn, skip };
const char* to_string(Verdict v);

struct Check {
  scenario::Scenario scenario;
  std::string reference;           // "RFC5321#4.2", "" when none
  bool warn_only = false;          // severity:warn
  std::vector<std::string> needs;  // "plain", "ext:PIPELINING", "delivery", ...
  bool verify_certificate = false;
  bool any_protocol = false;
};

// Reads the probe's tags. Throws std::runtime_error naming the file when the check cannot be
// played by a client (a non-literal C: line, tls-fail) or could deliver mail without saying
// `needs:delivery` (a `data` step, or an end-of-data line in C+ bytes).
Check make_check(scenario::Scenario scenario);

// Every `.scn` file under `dir` (sorted by path), made into checks.
std::vector<Check> load_suite(const std::filesystem::path& dir);

}  // namespace smtp::probe
