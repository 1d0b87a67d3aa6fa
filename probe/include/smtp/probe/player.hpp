#pragma once
// Plays a scenario in the client role: sends `C:` lines, checks `S:` lines against the server's
// replies. Consecutive client lines go out in one write (pipelining, STARTTLS injection).
// Every reply line is also held to RFC 5321 section 4.2 whatever the pattern: CRLF-terminated,
// three digits and a separator, one code for all lines of a multiline reply.
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "smtp/probe/connection.hpp"
#include "smtp/scenario/model.hpp"

namespace smtp::probe {

// ${name} in C:, C+ and D: text. ${pad:N} is N letters 'x'.
class Variables {
 public:
  void set(const std::string& name, std::string value) { values_[name] = std::move(value); }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  // Throws std::invalid_argument naming an unknown variable.
  std::string expand(std::string_view text) const;

 private:
  std::map<std::string, std::string> values_;
};

struct TranscriptEntry {
  char from = 'C';  // 'C' probe, 'S' server, 'T' TLS event
  double t_ms = 0;
  std::string data;  // made visible
};

struct PlayOptions {
  scenario::Protocol protocol = scenario::Protocol::smtp;
  scenario::Transport transport = scenario::Transport::plain;  // applied around the script
  TlsOptions tls;
  bool verify_certificate = false;  // a handshake that does not verify is a divergence
  std::string helo_name = "probe.invalid";
};

struct PlayResult {
  bool ok = false;
  std::string where;     // file:line of the step that diverged
  std::string expected;  // the step as written
  std::string received;  // made visible
  std::string reason;
  // The command whose reply diverged ("MAIL FROM:<a@b>", "the greeting", "the end of data"), or
  // "" when the divergence was not about a reply to a command (a quiet pause, a TLS handshake).
  std::string command;
  // Passed: the reply that decided it (the last reply to a command other than the RSET or QUIT
  // that tidy up at the end), as `COMMAND -> REPLY`. Failed: what the server did, in words.
  std::string evidence;
  std::vector<TranscriptEntry> transcript;
};

// Runs `steps` on `conn` until the deadline. Never throws for what the server does: I/O errors,
// timeouts and closes are divergences.
PlayResult play(const std::vector<scenario::Step>& steps, Connection& conn, const Variables& vars,
                const PlayOptions& options, Clock::time_point deadline);

}  // namespace smtp::probe
