#pragma once
// What one session did against its script: every step's status, and at the first divergence the
// expected line, the received bytes (controls made visible) and the scenario file:line.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace smtp::fakeserver {

struct StepResult {
  std::size_t index = 0;
  std::string where;   // file:line
  std::string text;    // the step as written
  std::string status;  // "ok", "diverged", "not-reached"
  bool synthetic = false;
  std::string detail;  // e.g. DATA size, captured content (visible)
};

struct Divergence {
  std::size_t step = 0;
  std::string where;     // scenario file:line
  std::string expected;  // the step as written
  std::string received;  // bytes with CR, LF and controls made visible ("" when none)
  std::string reason;
};

struct TranscriptEntry {
  char from = 'S';   // 'S' server, 'C' client
  double t_ms = 0;   // since the session started
  std::string data;  // visible
};

// Sink mode: one accepted message's envelope (what a Bcc recipient leaves behind).
struct SinkEnvelope {
  std::string id;  // the Maildir file name in new/ ("-" when messages are not stored)
  std::string mail_from;
  std::vector<std::string> rcpt_to;  // the accepted RCPT addresses, in order
  std::uint64_t size = 0;            // the message's bytes as received
};

struct SessionReport {
  std::uint64_t id = 0;
  std::string mode;  // "scripted" or "sink"
  std::string scenario_file;
  std::string scenario_name;
  std::string transport;
  std::string listener;  // the address the session came in on
  std::string peer;
  bool ok = true;
  std::vector<StepResult> steps;
  std::optional<Divergence> divergence;
  std::vector<TranscriptEntry> transcript;
  bool transcript_truncated = false;
  double duration_ms = 0;
  std::size_t messages = 0;             // sink: messages accepted
  std::vector<SinkEnvelope> envelopes;  // sink: each accepted message's envelope
  std::string auth_user;                // sink: who logged in (AUTH), "" when nobody
  std::string error;                    // sink: why the session ended abnormally, if it did

  std::string to_json() const;  // one line
  std::string to_text() const;  // human-readable, several lines
};

}  // namespace smtp::fakeserver
