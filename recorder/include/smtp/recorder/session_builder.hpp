#pragma once
// Turns one proxied session into a scenario. Pure: fed the bytes each side sent, in the order the
// proxy saw them, with timestamps, and told when TLS started or a side closed; no sockets here.
//
// Both directions are framed by the wire core, as every other player frames them: client lines
// by wire::LineBuffer, commands by wire::command_verb / wire::parse_bdat /
// wire::parse_path_command, DATA content by wire::DotUnstuffer (only CRLF.CRLF ends it, RFC 5321
// section 4.1.1.4), BDAT chunks by their announced size, replies by wire::ReplyParser. Server bytes
// are kept exactly
// (`S:` for clean CRLF lines, `S+` for anything else); client commands become `C:` expectations
// generalised where they vary between runs (the EHLO name, SIZE=, AUTH payloads), DATA becomes
// `data`, each BDAT chunk a `bdat` step. The client section is derived from what the client did
// (client_section.hpp).
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/recorder/session_log.hpp"
#include "smtp/scenario/limits.hpp"
#include "smtp/scenario/model.hpp"
#include "smtp/scenario/writer.hpp"
#include "smtp/wire/dot_unstuffer.hpp"
#include "smtp/wire/line_buffer.hpp"
#include "smtp/wire/reply_parser.hpp"

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

 private:
  enum class StartTls { none, sent, answered };
  // What the client's bytes are, by what came before: commands, DATA content after 354, or the
  // payload of a BDAT chunk (its announced size).
  enum class ClientMode { commands, data, bdat_payload };
  // A reply (or several, LMTP's end of data) still due for a command, in the order sent.
  struct Due {
    std::size_t command;
    bool end_of_data = false;              // the reply to the message's end (dot or BDAT LAST)
    std::optional<std::size_t> lmtp_left;  // LMTP end: replies still to come, once known
  };

  void line_too_long(const char* side);
  void flush_server();
  void on_reply(const wire::Reply& reply);
  void take_client_bytes();
  void on_command_line(std::string_view raw);
  void on_data_line(std::string_view raw);
  void keep_message(std::string_view bytes);
  void cut_message(std::string_view why);
  void client_line_step(const Command& cmd);
  void push_step(scenario::Step step);
  void comment(std::string text);
  void gap(double t_ms);
  void write_partial_client_line();
  std::size_t accepted_recipients(std::size_t transaction) const;

  BuilderOptions options_;
  Recording rec_;
  SessionLog log_;
  double last_t_ = 0;
  std::string server_pending_;  // server bytes of the current write
  wire::LineBuffer server_lines_;
  wire::ReplyParser replies_;
  std::string reply_raw_;  // the lines of the reply being assembled (EHLO keywords)
  wire::LineBuffer client_in_;
  ClientMode mode_ = ClientMode::commands;
  std::deque<Due> due_;
  // DATA: the un-stuffer of the open message and its command; BDAT: the chunk being read.
  wire::DotUnstuffer unstuffer_;
  std::size_t data_command_ = 0;
  std::size_t data_lines_ = 0;  // message lines since DATA's 354 (or the last cut)
  bool data_cut_noted_ = false;
  std::size_t bdat_command_ = 0;
  std::size_t bdat_left_ = 0;
  std::string message_;  // the message so far (DATA content un-stuffed, or every chunk since MAIL)
  bool message_too_big_ = false;
  bool auth_response_next_ = false;
  StartTls starttls_state_ = StartTls::none;
  std::optional<int> starttls_reply_;
  bool ended_ = false;
  bool over_limit_ = false;  // a line past max_line: nothing more is recorded
};

}  // namespace smtp::recorder
