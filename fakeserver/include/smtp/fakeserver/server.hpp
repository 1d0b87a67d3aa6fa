#pragma once
// The fake SMTP/LMTP server as a library: the command-line front and in-process tests (the
// client's GoogleTest suites) both use this. Scripted mode replays scenarios; sink mode accepts
// everything and stores messages in a Maildir.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "smtp/fakeserver/report.hpp"
#include "smtp/scenario/model.hpp"
#include "smtp/wire/end_of_data.hpp"

namespace smtp::fakeserver {

// Named limits: bad input never grows memory without bound or holds a session forever.
struct Limits {
  // A received line (line end included) longer than this is refused; a scenario's `max-line:`
  // overrides it for its sessions. The default is every player's (scenario::PeerLimits).
  std::size_t max_line = scenario::PeerLimits::max_line;
  std::size_t max_message = 64 * 1024 * 1024;     // DATA/BDAT content per message
  std::size_t max_transcript_bytes = 256 * 1024;  // per session report
  std::chrono::milliseconds step_timeout{10000};  // waiting for the client at one step
  std::chrono::milliseconds close_drain{2000};    // reading after our FIN before closing
  std::size_t max_sessions_open = 20000;          // beyond this, new connections are refused
};

struct Listen {
  scenario::Transport transport = scenario::Transport::plain;
  std::string address = "127.0.0.1";  // IPv4/IPv6 literal; or the socket path for unix
  std::uint16_t port = 0;             // 0: the kernel picks, reported by listeners()
  int scenario = -1;                  // scripted mode: index into ServerOptions::scenarios
};

struct ListenerInfo {
  scenario::Transport transport;
  std::string address;  // host, or path for unix
  std::uint16_t port = 0;
  int scenario = -1;
  std::string scenario_file;
  std::string scenario_name;
  std::string to_json() const;  // the readiness line: {"event":"listening",...}
};

struct ServerOptions {
  enum class Mode { scripted, sink };
  Mode mode = Mode::scripted;
  std::vector<std::shared_ptr<const scenario::Scenario>> scenarios;
  std::vector<Listen> listens;
  std::string cert_file;  // PEM; enables tls/starttls (and STARTTLS in sink mode)
  std::string key_file;
  // Scripted mode: more certificates, by the kind a scenario's `server-cert:` names
  // ("wrong-name", "expired", ...): kind -> {certificate chain PEM, key PEM}. "good" is
  // cert_file/key_file. A scenario whose kind is missing gets no listener (reported as skipped).
  std::map<std::string, std::pair<std::string, std::string>> cert_sets;
  std::optional<std::uint64_t> max_sessions;            // exit after this many sessions ended
  std::optional<std::chrono::milliseconds> time_limit;  // exit after this long
  Limits limits;
  // Sink mode.
  std::string maildir;  // empty: messages are counted, not stored
  bool lmtp = false;    // LMTP: LHLO, one reply per recipient after the dot
  std::string hostname = "fakeserver.test";
  // Sink mode's AUTH (PLAIN, LOGIN; always advertised): empty accepts any credentials; else only
  // these user -> password pairs, and MAIL before a successful AUTH gets 530.
  std::map<std::string, std::string> auth_users;
  // Sink mode: stored messages start with Return-Path: <from> and one Delivered-To: per
  // recipient (as a delivery agent writes them); off by default: messages are stored byte-exact.
  bool envelope_headers = false;
  // Sink mode: what ends DATA (wire/end_of_data.hpp). RFC 5321 by default; a test may make the
  // sink behave as a server vulnerable to one smuggling form (ends-data) or one that refuses it.
  wire::EndOfDataPolicy data_ending = wire::EndOfDataPolicy::rfc5321();
  // Keep every scripted session's report for reports() (in-process tests); the CLI prints them
  // instead and turns this off, so a long run does not grow.
  bool keep_reports = true;
  // Called on the server's thread as each session ends.
  std::function<void(const SessionReport&)> on_session;
};

struct Summary {
  std::uint64_t sessions = 0;
  std::uint64_t diverged = 0;
  std::uint64_t messages = 0;
  std::uint64_t message_bytes = 0;
  bool all_followed() const { return diverged == 0; }
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener; throws std::runtime_error naming the one that failed.
  void start();
  const std::vector<ListenerInfo>& listeners() const;
  // Serves until stop(), the session limit or the time limit. Call from one thread. A session's
  // failure (an exception, a limit) is that session's report; an exception from the server itself
  // (a listener, reporting) ends the run and is rethrown here.
  void run();
  // After run_in_background(): the server's own failure, if one ended the run.
  std::optional<std::string> fatal_error() const;
  // Convenience for in-process tests: run() on a background thread.
  void run_in_background();
  // Thread-safe; run() returns soon after.
  void stop();
  Summary summary() const;                     // thread-safe
  std::vector<SessionReport> reports() const;  // thread-safe copy of every ended session

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smtp::fakeserver
