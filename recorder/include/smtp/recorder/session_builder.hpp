#pragma once
// Turns one proxied session into a scenario. Pure: fed the bytes each side sent, in the order the
// proxy saw them, with timestamps, and told when TLS started or a side closed; no sockets here.
//
// Server bytes are kept exactly (`S:` for clean CRLF lines, `S+` for anything else); client
// commands become `C:` expectations generalised where they vary between runs (the EHLO name,
// SIZE=, AUTH payloads, the message content); the client section is derived from the commands
// and the replies, the way smtplib's calls would have produced them.
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/scenario/limits.hpp"
#include "smtp/scenario/model.hpp"
#include "smtp/scenario/writer.hpp"

namespace smtp::recorder {

struct Recording {
  scenario::Scenario scenario;
  scenario::WriteOptions comments;
  // Why the session could not be written faithfully (empty: it could).
  std::vector<std::string> problems;
  std::string text() const { return scenario::write(scenario, comments); }
};

struct BuilderOptions {
  // A pause longer than this before the server sends is kept as `sleep`.
  std::chrono::milliseconds gap_threshold{250};
  scenario::Protocol protocol = scenario::Protocol::smtp;
  // How the client reached the recorder: plain, tls (implicit) or unix. STARTTLS inside the
  // session is written as the script's own `starttls` step, so such a file declares plain.
  scenario::Transport transport = scenario::Transport::plain;
  std::string name = "recorded";
  std::string description = "a session recorded by smtp-record";
  // The longest line either side may send, line end included (the players' common limit). Past
  // it the recording stops there with a problem naming the limit, and the proxy ends the session.
  std::size_t max_line = scenario::PeerLimits::max_line;
};

class SessionBuilder {
 public:
  explicit SessionBuilder(BuilderOptions options);

  void server_bytes(std::string_view bytes, double t_ms);
  void client_bytes(std::string_view bytes, double t_ms);
  // Both handshakes after STARTTLS's 220 completed: the exchange continues inside TLS.
  void tls_started(double t_ms);
  void server_closed(double t_ms);
  void client_closed(double t_ms);
  // Something the proxy saw that the file cannot say (a failed handshake, an I/O error).
  void problem(std::string reason);

  // The client's last command was STARTTLS and its reply is complete: the reply code (the
  // proxy then starts TLS on both sides when it is 220). Cleared by the call.
  std::optional<int> take_starttls_reply();
  // The client sent STARTTLS and its reply has not come yet: the proxy must not read on.
  bool starttls_pending() const { return starttls_state_ == StartTls::sent; }
  // A side sent a line longer than BuilderOptions::max_line: the session must end.
  bool over_limit() const { return over_limit_; }

  Recording finish();

  struct Command {
    std::string verb;        // upper case; "" for a line that is not a command (AUTH response)
    std::string line;        // without CRLF
    std::vector<int> codes;  // final reply codes (several for LMTP's end of data)
    bool answered = false;
    std::string message;  // DATA: the message (un-stuffed, CRLF lines) once its dot was seen
    bool data_done = false;
  };

 private:
  // A side sent a line past options_.max_line: a problem naming the limit, and the end.
  void line_too_long(const char* side);
  enum class StartTls { none, sent, answered };

  void flush_server();
  void on_server_line(std::string_view line);
  void on_reply(int code);
  void on_client_line(std::string_view raw);
  void client_line_step(const Command& cmd);
  void push_step(scenario::Step step);
  void comment(std::string text);
  void gap(double t_ms);
  bool ended() const { return ended_; }
  void derive_client_section();

  BuilderOptions options_;
  Recording rec_;
  double last_t_ = 0;
  std::string server_pending_;  // server bytes of the current write
  std::string server_line_;     // partial server line (for reply tracking)
  std::string client_partial_;  // client bytes without their line end yet
  std::vector<Command> commands_;
  std::deque<std::size_t> awaiting_;  // commands whose final reply is still to come
  std::optional<int> greeting_;
  bool in_data_ = false;
  std::size_t data_command_ = 0;
  std::string message_;
  bool auth_response_next_ = false;
  bool auth_seen_ = false;
  StartTls starttls_state_ = StartTls::none;
  std::optional<int> starttls_reply_;
  bool ended_ = false;
  bool over_limit_ = false;  // a line past max_line: nothing more is recorded
  bool server_closed_ = false;
  std::size_t rcpt_accepted_ = 0;  // LMTP: replies expected after the dot
  std::size_t data_lines_ = 0;     // message lines since DATA's 354 (or the last cut)
  bool bare_lf_in_data_ = false;
  bool tls_seen_ = false;
};

}  // namespace smtp::recorder
