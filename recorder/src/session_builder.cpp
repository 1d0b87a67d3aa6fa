#include "smtp/recorder/session_builder.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "smtp/recorder/client_section.hpp"
#include "smtp/scenario/escape.hpp"
#include "smtp/scenario/parser.hpp"
#include "smtp/wire/command_parser.hpp"
#include "smtp/wire/path_parser.hpp"

namespace smtp::recorder {

namespace sc = smtp::scenario;
using sc::LinePattern;
using sc::Step;

namespace {

std::string first_word(std::string_view line) {
  return std::string(line.substr(0, line.find(' ')));
}

std::string rest_after_word(std::string_view line) {
  auto sp = line.find(' ');
  return sp == std::string_view::npos ? std::string() : std::string(line.substr(sp + 1));
}

// What the recorder takes from the server as one reply: the players' common limits.
wire::ReplyLimits recorder_reply_limits(std::size_t max_line) {
  wire::ReplyLimits l;
  l.max_line = max_line;
  l.max_lines = sc::PeerLimits::max_reply_lines;
  l.max_reply_bytes = sc::PeerLimits::max_reply_bytes;
  return l;
}

}  // namespace

SessionBuilder::SessionBuilder(BuilderOptions options)
    : options_(std::move(options)),
      server_lines_(options_.max_line),
      replies_(recorder_reply_limits(options_.max_line)),
      client_in_(options_.max_line) {
  // A longer limit than the players' default goes into the file, so that its replay takes the
  // same lines.
  if (options_.max_line != sc::PeerLimits::max_line) rec_.scenario.max_line = options_.max_line;
  log_.protocol = options_.protocol;
}

void SessionBuilder::push_step(Step step) {
  if (ended_) return;
  step.where = sc::Location{options_.name + ".scn", 0};
  rec_.scenario.steps.push_back(std::move(step));
}

void SessionBuilder::comment(std::string text) {
  rec_.comments.step_comments[rec_.scenario.steps.size()].push_back(std::move(text));
}

void SessionBuilder::problem(std::string reason) {
  comment("NOT REPLAYABLE AS RECORDED: " + reason);
  rec_.problems.push_back(std::move(reason));
}

void SessionBuilder::gap(double t_ms) {
  const double pause = t_ms - last_t_;
  if (pause > static_cast<double>(options_.gap_threshold.count())) {
    flush_server();
    Step s;
    s.kind = Step::Kind::sleep;
    s.duration = std::chrono::milliseconds(static_cast<long>(std::lround(pause)));
    push_step(std::move(s));
  }
  last_t_ = t_ms;
}

// The server's bytes of one write, as steps: each CRLF line that reads back as itself is `S:`,
// everything else (bare LF, controls, a line cut short) goes out byte for byte as `S+`.
void SessionBuilder::flush_server() {
  if (server_pending_.empty()) return;
  std::string raw;
  auto flush_raw = [&] {
    if (raw.empty()) return;
    Step s;
    s.kind = Step::Kind::server_raw;
    s.bytes = std::move(raw);
    raw.clear();
    push_step(std::move(s));
  };
  wire::LineBuffer lines(std::numeric_limits<std::size_t>::max());
  lines.append(server_pending_);
  server_pending_.clear();
  while (auto line = lines.take_line()) {
    const auto text = wire::strip_eol(*line);
    if (wire::ends_with_crlf(*line) && sc::writable_as_server_line(text)) {
      flush_raw();
      Step s;
      s.kind = Step::Kind::server_line;
      s.pattern = LinePattern::exact_bytes(std::string(text));
      push_step(std::move(s));
    } else {
      raw += *line;
    }
  }
  raw += lines.take_all();
  flush_raw();
}

void SessionBuilder::line_too_long(const char* side) {
  problem(std::string("the ") + side + " sent a line longer than " +
          std::to_string(options_.max_line) + " bytes (max-line): the session ends here");
  ended_ = true;
  over_limit_ = true;
}

void SessionBuilder::cut_message(std::string_view why) {
  if (data_lines_ == 0) return;
  Step s;
  s.kind = Step::Kind::data_lines;
  s.count = data_lines_;
  push_step(std::move(s));
  data_lines_ = 0;
  if (!data_cut_noted_) {
    data_cut_noted_ = true;
    comment(std::string(why));
  }
}

void SessionBuilder::server_bytes(std::string_view bytes, double t_ms) {
  if (bytes.empty() || over_limit_) return;
  if (ended_) {
    comment("the server sent " + std::to_string(bytes.size()) +
            " more byte(s) after the session ended here: " + sc::visible(bytes.substr(0, 80)));
    return;
  }
  if (mode_ == ClientMode::data) {
    // By RFC 5321 the message is still open (no CRLF.CRLF yet): the lines so far are the cut,
    // and the file says the server spoke there; it does not guess where the server ended it.
    const auto other = unstuffer_.first_other_form();
    cut_message(
        "The server sent the next bytes while the message was still open by RFC 5321's rule (no "
        "CRLF.CRLF from the client yet" +
        (other ? "; the client sent " + std::string(wire::name_of(*other)) +
                     ", which this server may "
                     "have taken as the end"
               : std::string()) +
        "); the lines before them are read as 'data-lines'.");
  }
  gap(t_ms);
  server_pending_ += bytes;
  server_lines_.append(bytes);
  while (auto line = server_lines_.take_line()) {
    if (line->size() > options_.max_line) return line_too_long("server");
    replies_.feed(*line);
    if (replies_.failed()) {
      // Not a reply line (garbage, a bare LF): kept byte for byte in the script; it answers
      // nothing, so the reply being assembled is dropped too.
      replies_.reset();
      continue;
    }
    if (replies_.done()) on_reply(replies_.take());
  }
  if (server_lines_.overlong()) line_too_long("server");
}

std::size_t SessionBuilder::accepted_recipients(std::size_t transaction) const {
  std::size_t n = 0;
  for (auto r : log_.transactions[transaction].rcpts) {
    const auto& codes = log_.commands[r].codes;
    if (!codes.empty() && (codes[0] == 250 || codes[0] == 251)) ++n;
  }
  return n;
}

void SessionBuilder::on_reply(const wire::Reply& reply) {
  if (due_.empty()) {
    if (!log_.greeting) log_.greeting = reply.code;
    return;
  }
  Due& due = due_.front();
  const std::size_t idx = due.command;
  if (mode_ == ClientMode::bdat_payload && idx == bdat_command_ && bdat_left_ > 0) {
    // Replies to the commands before BDAT may come while its chunk is on the way (PIPELINING);
    // a reply to the BDAT itself cannot, and a `bdat` step reads its whole chunk first.
    problem("the server answered BDAT with " + std::to_string(bdat_left_) +
            " byte(s) of its chunk still to come");
  }
  const bool end = due.end_of_data;
  Command& cmd = log_.commands[idx];
  cmd.codes.push_back(reply.code);
  if (end && options_.protocol == sc::Protocol::lmtp && cmd.transaction) {
    // RFC 2033 section 4.2: one reply per accepted recipient. The RCPT replies were all read
    // before this one (replies come in order), so the count is known now.
    if (!due.lmtp_left)
      due.lmtp_left = std::max<std::size_t>(accepted_recipients(*cmd.transaction), 1);
    if (--*due.lmtp_left == 0) due_.pop_front();
  } else {
    due_.pop_front();
  }
  if (end) return;
  if (cmd.verb == "DATA" && reply.code == 354) {
    mode_ = ClientMode::data;
    data_command_ = idx;
    unstuffer_ = wire::DotUnstuffer{};
    message_.clear();
    message_too_big_ = false;
    data_lines_ = 0;
    data_cut_noted_ = false;
  } else if (cmd.verb == "STARTTLS") {
    starttls_state_ = StartTls::answered;
    starttls_reply_ = reply.code;
  } else if (cmd.verb == "AUTH" || cmd.verb.empty()) {
    auth_response_next_ = reply.code == 334;
  } else if ((cmd.verb == "EHLO" || cmd.verb == "LHLO") && reply.code == 250) {
    log_.features = wire::parse_ehlo_features(reply.text);
  } else if (cmd.verb == "HELO" && reply.code == 250) {
    log_.features.clear();
  }
}

std::optional<int> SessionBuilder::take_starttls_reply() {
  if (starttls_state_ != StartTls::answered) return std::nullopt;
  starttls_state_ = StartTls::none;
  return starttls_reply_;
}

void SessionBuilder::client_bytes(std::string_view bytes, double t_ms) {
  if (bytes.empty() || ended_) return;
  flush_server();
  last_t_ = t_ms;
  client_in_.append(bytes);
  take_client_bytes();
}

void SessionBuilder::take_client_bytes() {
  while (!ended_) {
    if (mode_ == ClientMode::bdat_payload) {
      const auto n = std::min(bdat_left_, client_in_.size());
      if (n > 0) {
        keep_message(*client_in_.take_bytes(n));
        bdat_left_ -= n;
      }
      if (bdat_left_ > 0) return;
      mode_ = ClientMode::commands;
      const Command& cmd = log_.commands[bdat_command_];
      if (cmd.bdat->last && cmd.transaction) {
        auto& tx = log_.transactions[*cmd.transaction];
        tx.ended = true;
        tx.message = std::move(message_);
        tx.message_too_big = message_too_big_;
        message_.clear();
        message_too_big_ = false;
      }
      continue;
    }
    auto line = client_in_.take_line();
    if (!line) {
      if (client_in_.overlong()) line_too_long("client");
      return;
    }
    if (line->size() > options_.max_line) return line_too_long("client");
    if (mode_ == ClientMode::data)
      on_data_line(*line);
    else
      on_command_line(*line);
  }
}

// The message as the server received it, for the client section's `message:`; past what a scenario
// file may hold it is not kept (the file could not carry it anyway), so a huge message costs no
// memory here.
void SessionBuilder::keep_message(std::string_view bytes) {
  if (message_too_big_) return;
  if (message_.size() + bytes.size() > sc::ParserLimits::max_file_bytes) {
    message_too_big_ = true;
    message_.clear();
    message_.shrink_to_fit();
    return;
  }
  message_ += bytes;
}

void SessionBuilder::on_data_line(std::string_view raw) {
  if (!unstuffer_.feed(raw)) {
    ++data_lines_;
    keep_message(unstuffer_.take_message());
    return;
  }
  // RFC 5321's rule (the default policy, as the fake server's): only CRLF.CRLF ended it.
  keep_message(unstuffer_.take_message());
  mode_ = ClientMode::commands;
  if (const auto other = unstuffer_.first_other_form()) {
    comment("The message held " + std::string(wire::name_of(*other)) +
            ", which RFC 5321 does not take as the end of data: recorded (and replayed) as "
            "content.");
  }
  Step s;
  s.kind = Step::Kind::data;  // no D: lines: dates and message-ids vary from run to run
  push_step(std::move(s));
  data_lines_ = 0;
  Command& cmd = log_.commands[data_command_];
  if (cmd.transaction) {
    auto& tx = log_.transactions[*cmd.transaction];
    tx.ended = true;
    tx.bare_lf_lines = unstuffer_.bare_lf_lines();
    tx.message = std::move(message_);
    tx.message_too_big = message_too_big_;
  }
  due_.push_back(Due{data_command_, true, std::nullopt});
}

void SessionBuilder::on_command_line(std::string_view raw) {
  if (starttls_state_ == StartTls::sent) {
    problem("the client sent bytes after STARTTLS before its reply (RFC 3207 section 4.2): " +
            sc::visible(raw.substr(0, 80)));
  }
  Command cmd;
  const bool crlf = wire::ends_with_crlf(raw);
  const std::string_view line = wire::strip_eol(raw);
  cmd.line = std::string(line);
  cmd.pipelined = !due_.empty();
  cmd.behind_end =
      std::any_of(due_.begin(), due_.end(), [](const Due& d) { return d.end_of_data; });
  if (auth_response_next_) {
    auth_response_next_ = false;  // a SASL response: never a command, never written
  } else {
    cmd.verb = wire::command_verb(line);
  }
  const std::size_t idx = log_.commands.size();
  if (cmd.verb == "BDAT" && crlf) cmd.bdat = wire::parse_bdat(line);
  if (cmd.verb == "MAIL") {
    Transaction tx;
    tx.mail = idx;
    tx.pipelining_offered = wire::has_feature(log_.features, "pipelining");
    tx.chunking_offered = wire::has_feature(log_.features, "chunking");
    log_.transactions.push_back(std::move(tx));
    message_.clear();
    message_too_big_ = false;
    cmd.transaction = log_.transactions.size() - 1;
  } else if ((cmd.verb == "RCPT" || cmd.verb == "DATA" || cmd.verb == "BDAT") &&
             !log_.transactions.empty() && !log_.transactions.back().ended) {
    cmd.transaction = log_.transactions.size() - 1;
    auto& tx = log_.transactions.back();
    if (cmd.verb == "RCPT") tx.rcpts.push_back(idx);
    if (cmd.verb == "DATA") tx.data = idx;
    if (cmd.verb == "BDAT" && cmd.bdat) tx.chunks.push_back(idx);
  }
  Due due{idx, false, std::nullopt};
  if (cmd.verb == "BDAT") {
    if (!cmd.bdat) {
      problem("a BDAT line that is not 'BDAT <size> [LAST]' with CRLF: '" + sc::visible(line) +
              "'; its chunk cannot be framed");
      ended_ = true;
      return;
    }
    // RFC 3030 section 2: the command, then exactly that many octets, taken raw.
    Step s;
    s.kind = Step::Kind::bdat;
    s.size = static_cast<std::size_t>(cmd.bdat->size);
    s.mode = cmd.bdat->last ? "last" : "more";
    cmd.step = rec_.scenario.steps.size();
    push_step(std::move(s));
    due.end_of_data = cmd.bdat->last;
    mode_ = ClientMode::bdat_payload;
    bdat_left_ = static_cast<std::size_t>(cmd.bdat->size);
    bdat_command_ = idx;
  } else if (!crlf) {
    Step s;
    s.kind = Step::Kind::client_raw;
    s.bytes = cmd.verb.empty() ? std::string("*\n") : std::string(raw);
    if (cmd.verb.empty()) {
      problem("an AUTH response ended in a bare LF; written as a literal placeholder");
    }
    push_step(std::move(s));
  } else {
    client_line_step(cmd);
  }
  if (cmd.verb == "STARTTLS") starttls_state_ = StartTls::sent;
  log_.commands.push_back(std::move(cmd));
  due_.push_back(due);
}

void SessionBuilder::client_line_step(const Command& cmd) {
  std::string_view line = cmd.line;
  std::string text;
  if (cmd.verb.empty()) {
    comment("AUTH response replaced by a placeholder: credentials are never written");
    text = "*";
  } else if (cmd.verb == "EHLO" || cmd.verb == "HELO" || cmd.verb == "LHLO") {
    // The client's own name differs per machine and run.
    text = line.find(' ') == std::string_view::npos
               ? sc::escape_literal(line)
               : sc::glob_of({std::string(line.substr(0, line.find(' ') + 1)), ""});
  } else if (cmd.verb == "AUTH") {
    auto mech = first_word(rest_after_word(line));
    comment("AUTH " + mech +
            ": the initial response and every later client line of this exchange are "
            "placeholders (the live credentials are not in this file)");
    text = sc::glob_of({first_word(line) + " " + mech, ""});
  } else if (cmd.verb == "MAIL" && wire::parse_path_command(line)) {
    // SIZE= is the size of the message as this run encoded it; every other parameter
    // (BODY=8BITMIME, SMTPUTF8, ...) is the client's choice and is kept.
    std::vector<std::string> pieces{""};
    std::size_t i = 0;
    while (i <= line.size()) {
      auto sp = line.find(' ', i);
      auto end = sp == std::string_view::npos ? line.size() : sp;
      auto tok = line.substr(i, end - i);
      if (i > 0 && wire::is_param(tok, "SIZE") && tok.find('=') != std::string_view::npos) {
        pieces.back() += std::string(tok.substr(0, tok.find('=') + 1));
        pieces.emplace_back();
      } else {
        pieces.back() += std::string(tok);
      }
      if (sp == std::string_view::npos) break;
      pieces.back() += ' ';
      i = sp + 1;
    }
    text = sc::glob_of(pieces);
  } else {
    text = sc::escape_literal(line);
  }
  std::string error;
  Step s;
  s.kind = Step::Kind::client_line;
  s.pattern = LinePattern::parse(text, false, error, true);
  if (!s.pattern) {
    problem("could not write the client line '" + sc::visible(line) + "': " + error);
    s.kind = Step::Kind::client_raw;
    s.bytes = cmd.line + "\r\n";
    s.pattern.reset();
  }
  push_step(std::move(s));
}

void SessionBuilder::tls_started(double t_ms) {
  flush_server();
  last_t_ = t_ms;
  Step s;
  s.kind = Step::Kind::starttls;
  push_step(std::move(s));
  log_.tls_seen = true;
  log_.features.clear();  // RFC 3207 section 4.2: forget what was advertised in clear
}

void SessionBuilder::write_partial_client_line() {
  if (mode_ != ClientMode::commands || client_in_.empty()) return;
  Step s;
  s.kind = Step::Kind::client_raw;
  s.bytes = client_in_.take_all();
  push_step(std::move(s));
}

void SessionBuilder::server_closed(double t_ms) {
  if (ended_) return;
  if (mode_ == ClientMode::data)
    cut_message("The server closed while the message was open (no CRLF.CRLF from the client).");
  if (mode_ == ClientMode::bdat_payload && bdat_left_ > 0)
    comment(
        "The server closed with " + std::to_string(bdat_left_) +
        " byte(s) of this BDAT chunk not yet received; the replay reads the whole chunk first.");
  gap(t_ms);
  flush_server();
  write_partial_client_line();
  Step s;
  s.kind = Step::Kind::close;
  push_step(std::move(s));
  ended_ = true;
  log_.server_closed = true;
}

void SessionBuilder::client_closed(double t_ms) {
  if (ended_) return;
  flush_server();
  last_t_ = t_ms;
  write_partial_client_line();
  if (mode_ == ClientMode::data) {
    cut_message("The client closed while the message was open.");
    problem("the client closed in the middle of the message");
  } else if (mode_ == ClientMode::bdat_payload && bdat_left_ > 0) {
    problem("the client closed in the middle of a BDAT chunk");
  }
  Step s;
  s.kind = Step::Kind::expect_close;
  push_step(std::move(s));
  ended_ = true;
}

Recording SessionBuilder::finish() {
  flush_server();
  if (!ended_) write_partial_client_line();
  if (rec_.scenario.steps.empty()) {
    // A script needs a step: the session ended before either side sent a byte.
    problem("nothing was exchanged: the session ended before either side sent a byte");
    ended_ = false;
    Step s;
    s.kind = Step::Kind::close;
    push_step(std::move(s));
    ended_ = true;
  }
  auto& scn = rec_.scenario;
  scn.name = options_.name;
  scn.description = options_.description;
  scn.tags = {"recorded"};
  scn.protocol = options_.protocol;
  scn.transports = {options_.transport};
  scn.file = options_.name + ".scn";
  for (const auto& tx : log_.transactions) {
    if (tx.message_too_big) {
      rec_.problems.push_back("a message was larger than a scenario file may be (" +
                              std::to_string(sc::ParserLimits::max_file_bytes) +
                              " bytes): `message:` cannot carry it");
      break;
    }
  }
  std::vector<std::string> notes;
  derive_client_section(log_, scn, notes);
  if (const auto size = sc::write(rec_.scenario, rec_.comments).size();
      size > sc::ParserLimits::max_file_bytes) {
    rec_.problems.push_back("the file would be " + std::to_string(size) +
                            " bytes, over the parser's limit of " +
                            std::to_string(sc::ParserLimits::max_file_bytes));
  }
  auto& head = rec_.comments.header_comments;
  if (!rec_.problems.empty()) {
    // The first line says it: this file does not replay the session as it happened.
    head.push_back("NOT REPLAYABLE AS RECORDED (" + std::to_string(rec_.problems.size()) +
                   " problem(s), listed below).");
  }
  head.push_back(
      "Recorded by smtp-record from a live session. Server bytes are exact; client commands are "
      "generalised where they vary");
  head.push_back(
      "between runs (EHLO name, SIZE=, AUTH payloads); message contents are accepted whatever "
      "they are (data without D: lines).");
  if (log_.tls_seen)
    head.push_back("The session ran STARTTLS: the exchange inside TLS was recorded through it.");
  for (auto& n : notes) head.push_back(std::move(n));
  for (const auto& p : rec_.problems) head.push_back("NOT REPLAYABLE AS RECORDED: " + p);
  return rec_;
}

}  // namespace smtp::recorder
