#include "smtp/recorder/session_builder.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "smtp/scenario/escape.hpp"
#include "smtp/scenario/parser.hpp"

namespace smtp::recorder {

namespace sc = smtp::scenario;
using sc::LinePattern;
using sc::Step;

namespace {

// The placeholders a recorded AUTH exchange is replayed with (RFC 4954: the live credentials
// are never written; the fake server accepts any response where the recording had one).
constexpr const char* placeholder_user = "recorded-user";
constexpr const char* placeholder_password = "recorded-password";

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string first_word(std::string_view line) {
  auto sp = line.find(' ');
  return std::string(line.substr(0, sp));
}

std::string rest_after_word(std::string_view line) {
  auto sp = line.find(' ');
  return sp == std::string_view::npos ? std::string() : std::string(line.substr(sp + 1));
}

// "MAIL FROM:<a@b> SIZE=12 BODY=8BITMIME" -> address "a@b", params {"SIZE=12", "BODY=8BITMIME"}.
void split_path(std::string_view line, std::string& address, std::vector<std::string>& params) {
  auto lt = line.find('<');
  auto gt = line.find('>', lt == std::string_view::npos ? 0 : lt);
  std::string_view after;
  if (lt != std::string_view::npos && gt != std::string_view::npos) {
    address = std::string(line.substr(lt + 1, gt - lt - 1));
    after = line.substr(gt + 1);
  } else {
    auto colon = line.find(':');
    auto value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    auto sp = value.find(' ');
    address = std::string(value.substr(0, sp));
    after = sp == std::string_view::npos ? std::string_view{} : value.substr(sp);
  }
  std::size_t i = 0;
  while (i < after.size()) {
    while (i < after.size() && after[i] == ' ') ++i;
    auto j = after.find(' ', i);
    if (j == std::string_view::npos) j = after.size();
    if (j > i) params.emplace_back(after.substr(i, j - i));
    i = j;
  }
}

bool is_size_param(std::string_view p) {
  return upper(p.substr(0, 5)) == "SIZE=";
}

bool positive(int code) {
  return code >= 200 && code < 300;
}

}  // namespace

SessionBuilder::SessionBuilder(BuilderOptions options) : options_(std::move(options)) {
  // A longer limit than the players' default goes into the file, so that its replay takes the
  // same lines.
  if (options_.max_line != sc::PeerLimits::max_line) rec_.scenario.max_line = options_.max_line;
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

void SessionBuilder::flush_server() {
  if (server_pending_.empty()) return;
  std::string raw;  // bytes that are not clean reply lines, sent as one S+
  auto flush_raw = [&] {
    if (raw.empty()) return;
    Step s;
    s.kind = Step::Kind::server_raw;
    s.bytes = std::move(raw);
    raw.clear();
    push_step(std::move(s));
  };
  std::string_view rest = server_pending_;
  while (!rest.empty()) {
    auto end = rest.find("\r\n");
    if (end == std::string_view::npos) {
      raw += rest;
      break;
    }
    auto line = rest.substr(0, end);
    if (sc::writable_as_server_line(line)) {
      flush_raw();
      Step s;
      s.kind = Step::Kind::server_line;
      s.pattern = LinePattern::exact_bytes(std::string(line));
      push_step(std::move(s));
    } else {
      raw += rest.substr(0, end + 2);
    }
    rest.remove_prefix(end + 2);
  }
  flush_raw();
  server_pending_.clear();
}

void SessionBuilder::line_too_long(const char* side) {
  problem(std::string("the ") + side + " sent a line longer than " +
          std::to_string(options_.max_line) + " bytes (max-line): the session ends here");
  ended_ = true;
  over_limit_ = true;
  server_line_.clear();
  client_partial_.clear();
}

void SessionBuilder::server_bytes(std::string_view bytes, double t_ms) {
  if (bytes.empty() || over_limit_) return;
  if (ended_) {
    comment("the server sent " + std::to_string(bytes.size()) +
            " more byte(s) after the session ended here: " + sc::visible(bytes.substr(0, 80)));
    return;
  }
  gap(t_ms);
  if (in_data_ && data_lines_ > 0) {
    // The server spoke in the middle of the message: cut the message here.
    Step s;
    s.kind = Step::Kind::data_lines;
    s.count = data_lines_;
    push_step(std::move(s));
    data_lines_ = 0;
  }
  server_pending_ += bytes;
  server_line_ += bytes;
  std::size_t nl;
  while ((nl = server_line_.find('\n')) != std::string::npos) {
    if (nl + 1 > options_.max_line) return line_too_long("server");
    std::string line = server_line_.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    server_line_.erase(0, nl + 1);
    on_server_line(line);
  }
  if (server_line_.size() > options_.max_line) line_too_long("server");
}

void SessionBuilder::on_server_line(std::string_view line) {
  if (line.size() < 3) return;
  for (std::size_t i = 0; i < 3; ++i) {
    if (line[i] < '0' || line[i] > '9') return;
  }
  if (line.size() > 3 && line[3] != ' ') return;  // a continuation line (or garbage)
  on_reply((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
}

void SessionBuilder::on_reply(int code) {
  if (awaiting_.empty()) {
    if (!greeting_) greeting_ = code;
    return;
  }
  auto idx = awaiting_.front();
  awaiting_.pop_front();
  Command& cmd = commands_[idx];
  cmd.codes.push_back(code);
  cmd.answered = true;
  if (cmd.verb == "DATA" && !cmd.data_done && cmd.codes.size() == 1) {
    if (code == 354) {
      in_data_ = true;
      data_command_ = idx;
      message_.clear();
      data_lines_ = 0;
    }
  } else if (cmd.verb == "STARTTLS") {
    starttls_state_ = StartTls::answered;
    starttls_reply_ = code;
  } else if (cmd.verb == "AUTH" || cmd.verb.empty()) {
    auth_response_next_ = code == 334;
  } else if (cmd.verb == "MAIL") {
    rcpt_accepted_ = 0;
  } else if (cmd.verb == "RCPT" && (code == 250 || code == 251)) {
    ++rcpt_accepted_;
  }
}

std::optional<int> SessionBuilder::take_starttls_reply() {
  if (starttls_state_ != StartTls::answered) return std::nullopt;
  starttls_state_ = StartTls::none;
  return starttls_reply_;
}

void SessionBuilder::client_bytes(std::string_view bytes, double t_ms) {
  if (bytes.empty()) return;
  if (ended_) return;
  flush_server();
  last_t_ = t_ms;
  client_partial_ += bytes;
  std::size_t nl;
  while ((nl = client_partial_.find('\n')) != std::string::npos) {
    if (nl + 1 > options_.max_line) return line_too_long("client");
    std::string raw = client_partial_.substr(0, nl + 1);
    client_partial_.erase(0, nl + 1);
    on_client_line(raw);
  }
  if (client_partial_.size() > options_.max_line) line_too_long("client");
}

void SessionBuilder::on_client_line(std::string_view raw) {
  if (in_data_) {
    std::string_view line = raw;
    if (line.ends_with("\r\n")) {
      line.remove_suffix(2);
    } else {
      line.remove_suffix(1);
      bare_lf_in_data_ = true;
    }
    if (line == ".") {
      in_data_ = false;
      Step s;
      s.kind = Step::Kind::data;  // no D: lines: dates and message-ids vary from run to run
      push_step(std::move(s));
      commands_[data_command_].message = message_;
      commands_[data_command_].data_done = true;
      const std::size_t replies =
          options_.protocol == sc::Protocol::lmtp ? std::max<std::size_t>(rcpt_accepted_, 1) : 1;
      for (std::size_t i = 0; i < replies; ++i) awaiting_.push_back(data_command_);
      return;
    }
    if (line.starts_with('.')) line.remove_prefix(1);
    message_ += line;
    message_ += "\r\n";
    ++data_lines_;
    return;
  }
  if (starttls_state_ == StartTls::sent) {
    problem("the client sent bytes after STARTTLS before its reply (RFC 3207 section 4.2): " +
            sc::visible(raw.substr(0, 80)));
  }
  Command cmd;
  const bool crlf = raw.ends_with("\r\n");
  std::string_view line = raw.substr(0, raw.size() - (crlf ? 2 : 1));
  cmd.line = std::string(line);
  if (auth_response_next_) {
    auth_response_next_ = false;
    cmd.verb = "";
  } else {
    cmd.verb = upper(first_word(line));
  }
  if (!crlf) {
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
  if (cmd.verb == "BDAT") {
    problem("BDAT (CHUNKING) is not in the scenario language: its chunk is recorded as lines");
  }
  commands_.push_back(std::move(cmd));
  awaiting_.push_back(commands_.size() - 1);
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
    auto words = rest_after_word(line);
    auto mech = first_word(words);
    comment("AUTH " + mech +
            ": the initial response and every later client line of this exchange are "
            "placeholders (the live credentials are not in this file)");
    text = sc::glob_of({first_word(line) + " " + mech, ""});
    auth_seen_ = true;
  } else if (cmd.verb == "MAIL") {
    // SIZE= is the size of the message as this run encoded it.
    std::vector<std::string> pieces{""};
    std::size_t i = 0;
    while (i < line.size()) {
      auto sp = line.find(' ', i);
      auto end = sp == std::string_view::npos ? line.size() : sp;
      auto tok = line.substr(i, end - i);
      if (i > 0 && is_size_param(tok)) {
        pieces.back() += std::string(tok.substr(0, 5));
        pieces.emplace_back();
      } else {
        pieces.back() += std::string(tok);
      }
      if (sp != std::string_view::npos) pieces.back() += ' ';
      i = end + (sp == std::string_view::npos ? 0 : 1);
      if (sp == std::string_view::npos) break;
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
  tls_seen_ = true;
}

void SessionBuilder::server_closed(double t_ms) {
  if (ended_) return;
  gap(t_ms);
  flush_server();
  if (in_data_ && data_lines_ > 0) {
    Step s;
    s.kind = Step::Kind::data_lines;
    s.count = data_lines_;
    push_step(std::move(s));
    data_lines_ = 0;
  }
  if (!client_partial_.empty() && !in_data_) {
    Step s;
    s.kind = Step::Kind::client_raw;
    s.bytes = client_partial_;
    push_step(std::move(s));
  }
  client_partial_.clear();
  Step s;
  s.kind = Step::Kind::close;
  push_step(std::move(s));
  ended_ = true;
  server_closed_ = true;
}

void SessionBuilder::client_closed(double t_ms) {
  if (ended_) return;
  flush_server();
  last_t_ = t_ms;
  if (!client_partial_.empty() && !in_data_) {
    Step s;
    s.kind = Step::Kind::client_raw;
    s.bytes = client_partial_;
    push_step(std::move(s));
  }
  client_partial_.clear();
  if (in_data_) {
    problem("the client closed in the middle of the message");
  }
  Step s;
  s.kind = Step::Kind::expect_close;
  push_step(std::move(s));
  ended_ = true;
}

namespace {

sc::Outcome raises(std::string exception, std::optional<int> code = std::nullopt) {
  sc::Outcome o;
  o.ok = false;
  o.exception = std::move(exception);
  o.code = code;
  return o;
}

}  // namespace

// The calls smtplib would have made to produce these commands, and the outcome the replies give
// (smtplib's rules: sendmail raises SMTPSenderRefused unless MAIL got 250, SMTPRecipientsRefused
// when no RCPT got 250/251, SMTPDataError unless DATA got 354 and the dot 250).
void SessionBuilder::derive_client_section() {
  auto& client = rec_.scenario.client;
  sc::Outcome outcome;  // ok until a call raises
  std::optional<sc::Outcome> failure;
  auto call = [&](std::string name, std::vector<std::string> args = {}) -> sc::ClientCall& {
    sc::ClientCall c;
    c.name = std::move(name);
    c.args = std::move(args);
    client.calls.push_back(std::move(c));
    return client.calls.back();
  };
  const sc::Outcome disconnected = raises("SMTPServerDisconnected");

  if (!greeting_) {
    call("noop");
    client.expect = disconnected;
    return;
  }
  if (*greeting_ != 220) {
    call("noop");
    client.expect = raises("SMTPConnectError", *greeting_);
    return;
  }
  std::size_t i = 0;
  const auto n = commands_.size();
  while (i < n && !failure) {
    const Command& c = commands_[i];
    const auto code = c.codes.empty() ? std::optional<int>{} : std::optional<int>{c.codes[0]};
    if (c.verb == "EHLO" || c.verb == "HELO" || c.verb == "LHLO") {
      // Implicit in the next call (ehlo_or_helo_if_needed); only a failure of the last greeting
      // command in a row is the client's outcome.
      const bool last =
          i + 1 >= n || (commands_[i + 1].verb != "EHLO" && commands_[i + 1].verb != "HELO" &&
                         commands_[i + 1].verb != "LHLO");
      if (last && (!code || !positive(*code))) {
        call("ehlo_or_helo_if_needed");
        failure = code ? raises("SMTPHeloError", *code) : disconnected;
      }
      ++i;
    } else if (c.verb == "STARTTLS") {
      call("starttls");
      if (!code)
        failure = disconnected;
      else if (*code != 220)
        failure = raises("SMTPResponseException", *code);
      ++i;
    } else if (c.verb == "AUTH") {
      call("login", {placeholder_user, placeholder_password});
      std::optional<int> last;
      while (i < n && (commands_[i].verb == "AUTH" || commands_[i].verb.empty())) {
        if (!commands_[i].codes.empty())
          last = commands_[i].codes.back();
        else
          last.reset();
        ++i;
      }
      if (!last)
        failure = disconnected;
      else if (*last != 235)
        failure = raises("SMTPAuthenticationError", *last);
    } else if (c.verb == "MAIL") {
      std::string from;
      std::vector<std::string> mail_params;
      split_path(c.line, from, mail_params);
      std::vector<std::string> mail_options;
      for (const auto& p : mail_params) {
        if (!is_size_param(p)) mail_options.push_back(p);
      }
      std::vector<std::string> rcpts, rcpt_options;
      std::map<std::string, int> refused;
      std::size_t j = i + 1;
      bool rcpt_failure = false;
      for (; j < n && commands_[j].verb == "RCPT"; ++j) {
        std::string addr;
        std::vector<std::string> params;
        split_path(commands_[j].line, addr, params);
        if (rcpts.empty()) rcpt_options = params;
        rcpts.push_back(addr);
        const auto& rc = commands_[j].codes;
        if (rc.empty())
          rcpt_failure = true;
        else if (rc[0] != 250 && rc[0] != 251)
          refused[addr] = rc[0];
      }
      std::string to;
      for (const auto& r : rcpts) to += (to.empty() ? "" : ",") + r;
      auto& sm = call("sendmail", {from, to.empty() ? std::string("nobody@invalid") : to});
      auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
        return s;
      };
      if (!mail_options.empty()) sm.kwargs["mail_options"] = join(mail_options);
      if (!rcpt_options.empty()) sm.kwargs["rcpt_options"] = join(rcpt_options);
      i = j;
      if (!code) {
        failure = disconnected;
      } else if (*code != 250) {
        failure = raises("SMTPSenderRefused", *code);
      } else if (rcpt_failure) {
        failure = disconnected;
      } else if (refused.size() == rcpts.size() || refused.count("") ||
                 std::any_of(refused.begin(), refused.end(),
                             [](const auto& r) { return r.second == 421; })) {
        failure = raises("SMTPRecipientsRefused");
      } else if (i >= n || commands_[i].verb != "DATA") {
        failure = disconnected;  // the client stopped before DATA: only a disconnect does that
      } else {
        const Command& d = commands_[i];
        ++i;
        if (!client.message && d.data_done) client.message = d.message;
        if (d.codes.empty()) {
          failure = disconnected;
        } else if (d.codes[0] != 354) {
          failure = raises("SMTPDataError", d.codes[0]);
        } else if (!d.data_done || d.codes.size() < 2) {
          failure = disconnected;
        } else if (options_.protocol == sc::Protocol::lmtp) {
          // One reply per accepted recipient, in RCPT order.
          std::size_t k = 1;
          for (const auto& r : rcpts) {
            if (refused.count(r)) continue;
            if (k < d.codes.size() && !positive(d.codes[k])) refused[r] = d.codes[k];
            ++k;
          }
          outcome.refused = refused;
        } else if (d.codes[1] != 250) {
          failure = raises("SMTPDataError", d.codes[1]);
        } else {
          outcome.refused = refused;
        }
      }
      // smtplib's own RSET after a refusal belongs to sendmail.
      if (failure && i < n && commands_[i].verb == "RSET") ++i;
    } else {
      const auto arg = rest_after_word(c.line);
      if (c.verb == "QUIT")
        call("quit");
      else if (c.verb == "NOOP")
        call("noop");
      else if (c.verb == "RSET")
        call("rset");
      else if (c.verb == "VRFY")
        call("verify", {arg});
      else if (c.verb == "EXPN")
        call("expn", {arg});
      else if (c.verb == "HELP")
        call("help", arg.empty() ? std::vector<std::string>{} : std::vector<std::string>{arg});
      else if (c.verb.empty()) {
        // an AUTH response outside AUTH: only a confused client does that
      } else {
        auto& d = call("docmd", {first_word(c.line)});
        if (!arg.empty()) d.args.push_back(arg);
      }
      if (!code && c.verb != "QUIT" && !c.verb.empty()) failure = disconnected;
      ++i;
    }
  }
  if (client.calls.empty()) {
    call("noop");  // the client said nothing: any call meets what the server did next
    if (server_closed_ && !failure) failure = disconnected;
  }
  if (failure) {
    client.expect = *failure;
    if (i < n) {
      rec_.comments.header_comments.push_back(
          "The client went on after its call failed (" + std::to_string(n - i) +
          " more command(s)); a harness driver stops at the failing call.");
    }
  } else {
    client.expect = outcome;
  }
}

Recording SessionBuilder::finish() {
  flush_server();
  if (!ended_ && !client_partial_.empty() && !in_data_) {
    Step s;
    s.kind = Step::Kind::client_raw;
    s.bytes = client_partial_;
    push_step(std::move(s));
    client_partial_.clear();
  }
  auto& sc = rec_.scenario;
  sc.name = options_.name;
  sc.description = options_.description;
  sc.tags = {"recorded"};
  sc.protocol = options_.protocol;
  sc.transports = {options_.transport};
  sc.file = options_.name + ".scn";
  derive_client_section();
  if (const auto size = sc::write(rec_.scenario, rec_.comments).size();
      size > sc::ParserLimits::max_file_bytes) {
    rec_.problems.push_back("the file would be " + std::to_string(size) +
                            " bytes, over the parser's limit of " +
                            std::to_string(sc::ParserLimits::max_file_bytes));
  }
  auto& head = rec_.comments.header_comments;
  head.insert(head.begin(),
              {"Recorded by smtp-record from a live session. Server bytes are exact; client "
               "commands are generalised where they vary",
               "between runs (EHLO name, SIZE=, AUTH payloads); message contents are accepted "
               "whatever they are (data without D: lines)."});
  if (tls_seen_)
    head.push_back("The session ran STARTTLS: the exchange inside TLS was recorded through it.");
  if (auth_seen_)
    head.push_back(std::string("AUTH was recorded with placeholders: the client's responses are "
                               "`C: *` and the client logs in as ") +
                   placeholder_user + " / " + placeholder_password +
                   "; no live credential is in this file.");
  if (bare_lf_in_data_)
    head.push_back("The message had lines ending in a bare LF; the client section sends CRLF.");
  for (const auto& p : rec_.problems) head.push_back("NOT REPLAYABLE AS RECORDED: " + p);
  return rec_;
}

}  // namespace smtp::recorder
