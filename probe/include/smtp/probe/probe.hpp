#pragma once
// The probe: finds out what the server offers (discovery), then plays every check that applies,
// each on its own connection with its own deadline.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "smtp/probe/check.hpp"
#include "smtp/probe/player.hpp"

namespace smtp::probe {

struct Target {
  std::string host;  // TCP
  int port = 0;
  std::string unix_path;  // or a Unix socket
  std::string str() const;
};

struct Options {
  Target target;
  scenario::Transport transport = scenario::Transport::plain;  // plain, starttls, tls
  scenario::Protocol protocol = scenario::Protocol::smtp;
  std::string helo_name = "probe.invalid";
  std::string sender;  // default probe@<helo name>
  std::string rcpt;    // the operator's recipient
  bool allow_delivery = false;
  TlsOptions tls;
  std::chrono::milliseconds check_timeout{15000};
  bool strict = false;  // a SHOULD not met fails instead of warning
};

// Exit status by phase, in the spirit of swaks: the first phase that went wrong.
enum class Phase : int {
  ok = 0,        // every check ran; none failed (warnings and skips allowed)
  usage = 2,     // bad command line or check file
  connect = 3,   // no connection
  greeting = 4,  // no 2xx greeting
  hello = 5,     // EHLO/LHLO refused
  tls = 6,       // the transport's TLS (implicit or STARTTLS) failed
  checks = 7,    // some check failed
};

struct Discovery {
  Phase phase = Phase::ok;
  std::string error;
  std::string greeting;
  std::vector<std::string> ehlo_lines;              // before TLS (or over TLS for transport tls)
  std::vector<std::string> ehlo_tls_lines;          // after STARTTLS, when it was done
  std::map<std::string, std::string> capabilities;  // the set the checks run under
  bool starttls_offered = false;
  // Replies during discovery that a client must refuse (the rule and the line): discovery goes on,
  // the checks that read such a reply fail naming the rule.
  std::vector<std::string> violations;
  std::optional<TlsResult> tls;
};

struct CheckResult {
  std::string name;
  std::string file;
  std::string description;
  std::string reference;
  Level level = Level::must;
  Verdict verdict = Verdict::skip;
  bool needs_delivery = false;  // skipped because it may deliver mail (not tested: say so)
  std::string evidence;
  double duration_ms = 0;
  PlayResult play;  // empty for skipped checks
};

struct Report {
  Options options;
  Discovery discovery;
  std::vector<CheckResult> results;
  Phase phase = Phase::ok;
};

Discovery discover(const Options& options);

// Why a check does not apply, or "" when it does.
std::string skip_reason(const Check& check, const Options& options, const Discovery& discovery);

// Progress: called before (result == nullptr) and after each check.
using Progress = std::function<void(std::size_t index, std::size_t total, const Check& check,
                                    const CheckResult* result)>;

Report run(const Options& options, const std::vector<Check>& checks, const Progress& progress = {});

}  // namespace smtp::probe
