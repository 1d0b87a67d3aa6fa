#include "smtp/probe/player.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <optional>
#include <stdexcept>
#include <thread>

#include "smtp/probe/reply_line.hpp"
#include "smtp/scenario/escape.hpp"
#include "smtp/scenario/transport.hpp"
#include "smtp/wire/command_parser.hpp"
#include "smtp/wire/reply_parser.hpp"

namespace smtp::probe {

using scenario::Step;
using scenario::visible;

std::string Variables::expand(std::string_view text) const {
  // Limits: ${pad:N} builds test lines (a line too long), not memory bombs.
  constexpr std::size_t max_pad = 1 << 20;
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    auto start = text.find("${", i);
    if (start == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    auto end = text.find('}', start);
    if (end == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, start - i));
    std::string name(text.substr(start + 2, end - start - 2));
    if (name.starts_with("pad:")) {
      std::size_t n = 0;
      try {
        n = std::stoul(name.substr(4));
      } catch (const std::exception&) {
        throw std::invalid_argument("bad ${" + name + "}: expected ${pad:N}");
      }
      if (n > max_pad) throw std::invalid_argument("${" + name + "} is too long");
      out.append(n, 'x');
    } else {
      auto it = values_.find(name);
      if (it == values_.end()) throw std::invalid_argument("unknown variable ${" + name + "}");
      out.append(it->second);
    }
    i = end + 1;
  }
  return out;
}

namespace {

// Bytes of a reply quoted in a divergence (a 64 KiB line stays in the transcript, cut there too).
constexpr std::size_t max_received_shown = 512;

// Text for the report: a 64 KiB reply line stays in the transcript, the evidence quotes its start.
std::string shortened(std::string_view text) {
  if (text.size() <= 4 * max_received_shown) return std::string(text);
  return std::string(text.substr(0, 4 * max_received_shown)) + "...(" +
         std::to_string(text.size()) + " bytes)";
}

// A divergence: ends the play. `words` says what the server did, for the report.
struct Diverged {
  std::string reason;
  std::string received;
  std::string words = {};
  std::string command = {};
};

// A command as the report quotes it: visible, and short.
std::string quoted(std::string_view line) {
  constexpr std::size_t shown = 72;
  std::string v = visible(line.substr(0, shown));
  if (line.size() > shown) v += "...(" + std::to_string(line.size()) + " bytes)";
  return v;
}

// What a server pattern asks for, in words: `503 *` -> "503", `250|251 *` -> "250 or 251",
// `220*` -> "220", anything else quoted as written.
std::string wanted(const scenario::LinePattern& pat) {
  std::string_view src = pat.source();
  if (src.starts_with("~ ")) return "a reply matching /" + std::string(src.substr(2)) + "/";
  std::size_t i = 0;
  while (i < src.size() && (std::isdigit(static_cast<unsigned char>(src[i])) || src[i] == 'x' ||
                            src[i] == '|' || src[i] == '\\')) {
    ++i;
  }
  const std::string_view rest = src.substr(i);
  if (i >= 3 && (rest == " *" || rest == "*" || rest == "-*")) {
    std::string codes(src.substr(0, i));
    std::string out;
    std::size_t start = 0;
    for (;;) {
      const auto bar = codes.find('|', start);
      std::string one = codes.substr(start, bar == std::string::npos ? bar : bar - start);
      if (!out.empty()) out += bar == std::string::npos ? " or " : ", ";
      out += one;
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    return rest == "-*" ? out + " (a continuation line)" : out;
  }
  return "\"" + std::string(src) + "\"";
}

class Player {
 public:
  Player(Connection& conn, const Variables& vars, const PlayOptions& options,
         Clock::time_point deadline)
      : conn_(conn), vars_(vars), opt_(options), deadline_(deadline), start_(Clock::now()) {}

  PlayResult run(const std::vector<Step>& steps) {
    PlayResult r;
    const Step* current = nullptr;
    try {
      if (opt_.transport == scenario::Transport::tls) handshake(nullptr);
      std::size_t prelude_at = opt_.transport == scenario::Transport::starttls
                                   ? scenario::greeting_end(steps)
                                   : std::string::npos;
      bool ended = false;
      for (std::size_t i = 0; i < steps.size() && !ended; ++i) {
        current = &steps[i];
        if (i == prelude_at) starttls_prelude();
        const Step* next = i + 1 < steps.size() ? &steps[i + 1] : nullptr;
        ended = step(steps[i], next);
      }
      current = nullptr;
      if (!ended) {
        flush();
        conn_.close();
      }
      r.ok = true;
      r.evidence = shortened(deciding_reply());
    } catch (const Diverged& d) {
      r.ok = false;
      r.reason = d.reason;
      r.received = shortened(d.received);
      r.command = d.command;
      if (current != nullptr) {
        r.where = current->where.str();
        r.expected = current->text;
      }
      if (!d.words.empty()) {
        r.evidence = shortened(d.words);
      } else {
        r.evidence = d.reason;
        if (!r.received.empty()) r.evidence += ": got " + r.received;
        if (!d.command.empty()) r.evidence += " (in reply to " + d.command + ")";
      }
      conn_.reset();
    }
    r.transcript = std::move(transcript_);
    return r;
  }

 private:
  // The reply that decided a passed check: the last one to a command other than the RSET or QUIT
  // that tidy up at the end of the script (a quiet pause or a verified certificate decides
  // instead when the check has one).
  std::string deciding_reply() const {
    if (!frozen_evidence_.empty()) return frozen_evidence_;
    if (answered_.empty()) return "script followed";
    // A bare QUIT at the end tidies up, and so does a bare RSET unless nothing but the greeting or
    // a hello came before it (RSET before EHLO).
    auto opening = [](const std::string& c) {
      const std::string v = wire::command_verb(c);
      return c == "the greeting" || v == "EHLO" || v == "LHLO" || v == "HELO";
    };
    auto tidy = [&](std::size_t k) {
      const std::string& c = answered_[k].first;
      return c == "QUIT" || (c == "RSET" && !opening(answered_[k - 1].first));
    };
    std::size_t i = answered_.size() - 1;
    while (i > 0 && tidy(i)) --i;
    const auto& [cmd, reply] = answered_[i];
    return cmd + " -> " + reply;
  }

  // A line the probe sends (no CRLF), outside or inside a message.
  void note_sent(std::string_view line, bool crlf) {
    if (in_data_) {
      if (line == "." && crlf) end_of_data();
      return;
    }
    const std::string verb = wire::command_verb(line);
    if (verb == "RSET" || verb == "MAIL") accepted_rcpts_ = 0;
    awaiting_.push_back(quoted(line));
  }

  // The end of a message: SMTP answers it once, LMTP once per accepted recipient (RFC 2033 4.2).
  void end_of_data() {
    in_data_ = false;
    const int n = opt_.protocol == scenario::Protocol::lmtp ? std::max(accepted_rcpts_, 1) : 1;
    for (int k = 1; k <= n; ++k) {
      awaiting_.push_back(n == 1 ? std::string("the end of data")
                                 : "the end of data (recipient " + std::to_string(k) + " of " +
                                       std::to_string(n) + ")");
    }
    accepted_rcpts_ = 0;
  }

  // `C+` bytes: the command lines in them, a BDAT chunk skipped, message lines inside DATA.
  void note_raw(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto lf = bytes.find('\n');
      std::string_view line = bytes.substr(0, lf);
      const bool crlf = lf != std::string_view::npos && line.ends_with('\r');
      if (crlf) line.remove_suffix(1);
      bytes = lf == std::string_view::npos ? std::string_view() : bytes.substr(lf + 1);
      if (lf == std::string_view::npos && !in_data_) break;  // an unfinished line: no reply yet
      note_sent(line, crlf);
      if (!in_data_ && wire::command_verb(line) == "BDAT") {
        if (auto b = wire::parse_bdat(line)) {
          bytes.remove_prefix(std::min<std::size_t>(bytes.size(), b->size));
          if (b->last) {
            awaiting_.pop_back();
            awaiting_.push_back(quoted(line));
            const int n =
                opt_.protocol == scenario::Protocol::lmtp ? std::max(accepted_rcpts_, 1) : 1;
            for (int k = 1; k < n; ++k) awaiting_.push_back(quoted(line));
            accepted_rcpts_ = 0;
          }
        }
      }
    }
  }

  std::string awaited() const { return awaiting_.empty() ? std::string() : awaiting_.front(); }

  void record(char from, std::string_view bytes) {
    auto ms = std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
    transcript_.push_back({from, ms, visible(bytes)});
  }

  std::string expand(std::string_view text) {
    try {
      return vars_.expand(text);
    } catch (const std::invalid_argument& e) {
      throw Diverged{std::string("cannot send: ") + e.what(), ""};
    }
  }

  void flush() {
    if (batch_.empty()) return;
    std::string bytes = std::move(batch_);
    batch_.clear();
    record('C', bytes);
    try {
      if (drip_) {
        for (std::size_t i = 0; i < bytes.size(); i += drip_chunk_) {
          conn_.write(std::string_view(bytes).substr(i, drip_chunk_), deadline_);
          std::this_thread::sleep_for(drip_delay_);
        }
        drip_ = false;
      } else {
        conn_.write(bytes, deadline_);
      }
    } catch (const IoError& e) {
      throw Diverged{std::string("could not send: ") + e.what(), ""};
    }
  }

  // The next line of a reply, held to RFC 5321 section 4.2 (CRLF, code, one code per reply).
  Line next_line() {
    Line line;
    if (pending_) {
      line = std::move(*pending_);
      pending_.reset();
      return line;
    }
    try {
      line = conn_.read_line(deadline_);
    } catch (const IoError& e) {
      const std::string cmd = awaited();
      if (e.kind() == IoError::Kind::timeout) {
        throw Diverged{"no reply before the check's timeout", "",
                       cmd.empty() ? "" : "sent no reply to " + cmd + " within the check's timeout",
                       cmd};
      }
      if (e.kind() == IoError::Kind::closed) {
        throw Diverged{"the server closed the connection", "",
                       cmd.empty() ? "" : "closed the connection instead of answering " + cmd, cmd};
      }
      throw Diverged{e.what(), "", "", cmd};
    }
    record('S', line.text + line.terminator);
    if (line.terminator.empty()) {
      throw Diverged{"the server closed in the middle of a line", visible(line.text),
                     "closed the connection in the middle of a reply line: " + visible(line.text),
                     awaited()};
    }
    // The client library's own parser, with its limits: what a client would refuse is a finding
    // (the rule named), never tolerated here.
    parser_.feed(line.text + line.terminator);
    if (parser_.failed()) {
      const auto& e = *parser_.error();
      std::string shown = visible(line.text + line.terminator);
      std::string cmd = awaited();
      throw Diverged{e.rule + " (RFC 5321 4.2)", shown,
                     "sent a reply a client must refuse (" + e.rule + ")" +
                         (cmd.empty() ? std::string() : " to " + cmd) + ": " + shortened(shown),
                     cmd};
    }
    if (parser_.done()) parser_.take();
    return line;
  }

  // A line the parser accepted: "250-" continues the reply.
  static bool is_continuation(const Line& l) { return l.text.size() > 3 && l.text[3] == '-'; }

  // A reply line against a pattern: a mismatch, or a limit of the pattern engine (issue 22: a
  // hostile server chooses the line, not the probe's stack or time), is a divergence.
  void check_match(const scenario::LinePattern& pat, const Line& line) const {
    const scenario::MatchResult m = pat.match(line.text);
    if (m == scenario::MatchResult::matched) return;
    std::string shown = visible(std::string_view(line.text).substr(0, max_received_shown));
    if (line.text.size() > max_received_shown) {
      shown += "...(" + std::to_string(line.text.size()) + " bytes)";
    }
    if (m == scenario::MatchResult::too_complex) {
      throw Diverged{scenario::too_complex_reason(), std::move(shown), "", awaited()};
    }
    const std::string cmd = awaited();
    std::string words;
    const bool quit_waiting =
        std::any_of(awaiting_.begin() + (awaiting_.empty() ? 0 : 1), awaiting_.end(),
                    [](const std::string& c) { return wire::command_verb(c) == "QUIT"; });
    if (!injected_.empty()) {
      words = "answered " + injected_.front() +
              ", sent in plaintext with STARTTLS, inside TLS: " + shown +
              " (the injected command was executed)";
    } else if (quit_waiting && line.text.starts_with("221")) {
      words = "answered QUIT (" + shown + ") while the reply to " + cmd +
              " was still due: one reply short";
    } else if (cmd.empty()) {
      words = "sent " + shown + " when no reply was due; expected " + wanted(pat);
    } else {
      words = "answered " + cmd + " with " + shown + "; expected " + wanted(pat);
    }
    throw Diverged{"the reply does not match", std::move(shown), std::move(words), cmd};
  }

  // A whole reply read and matched: it answers the oldest command still waiting.
  void answered(const Line& line) {
    std::string cmd = awaited();
    if (!awaiting_.empty()) awaiting_.pop_front();
    injected_.clear();  // the first reply inside TLS was the one expected: they were discarded
    const std::string verb = wire::command_verb(cmd);
    if (verb == "RCPT" && line.text.starts_with("2")) ++accepted_rcpts_;
    if (line.text.starts_with("354")) in_data_ = true;
    answered_.emplace_back(cmd.empty() ? "(unprompted)" : cmd, visible(line.text));
  }

  void expect_line(const Step& s, const Step* next) {
    const auto& pat = *s.pattern;
    const bool cont = is_continuation_pattern(pat);
    Line line = next_line();
    if (!cont) {
      // A whole reply, judged by its final line.
      while (is_continuation(line)) line = next_line();
    }
    check_match(pat, line);
    if (!cont) {
      answered(line);
      return;
    }
    // The last continuation pattern before a final-line pattern stands for every further
    // continuation line (an EHLO reply has as many as the server has extensions).
    const bool absorbs = next != nullptr && next->kind == Step::Kind::server_line &&
                         !is_continuation_pattern(*next->pattern);
    if (!absorbs) return;
    for (;;) {
      Line more = next_line();
      if (!is_continuation(more)) {
        pending_ = std::move(more);
        return;
      }
      check_match(pat, more);
    }
  }

  void expect_raw(const Step& s) {
    std::string got;
    while (got.size() < s.bytes.size()) {
      Line l = pending_ ? std::move(*pending_) : Line{};
      if (pending_) {
        pending_.reset();
      } else {
        try {
          l = conn_.read_line(deadline_);
        } catch (const IoError& e) {
          throw Diverged{e.what(), visible(got)};
        }
        record('S', l.text + l.terminator);
      }
      got += l.text + l.terminator;
    }
    if (got != s.bytes) throw Diverged{"the bytes differ", visible(got)};
  }

  void handshake(const Step* s) {
    flush();
    if (conn_.buffered() > 0) {
      // RFC 3207 section 4.2 is about the server too: nothing may follow 220 in plaintext.
      bool closed = false;
      std::string extra = conn_.read_for(Clock::now(), closed);
      record('S', extra);
      throw Diverged{"the server sent bytes after its STARTTLS reply, before TLS", visible(extra),
                     "sent " + visible(extra) +
                         " after its reply to STARTTLS, before TLS began: it answered a command "
                         "injected in plaintext"};
    }
    // Commands still waiting for a reply were sent in plaintext before the handshake (in the
    // STARTTLS packet): a reply to them inside TLS means the server executed injected commands.
    if (s != nullptr) {
      injected_ = std::move(awaiting_);
      awaiting_.clear();
    }
    TlsResult t;
    try {
      t = conn_.start_tls(opt_.tls, deadline_);
    } catch (const IoError& e) {
      throw Diverged{std::string("TLS handshake failed: ") + e.what(), ""};
    }
    record('T', "handshake " + t.protocol + " " + t.cipher + " subject " + t.subject +
                    (t.verified ? " (verified)" : " (not verified: " + t.verify_error + ")"));
    tls_note_ = t.protocol + ", certificate " + t.subject +
                (t.verified ? " verified for " + opt_.tls.server_name : "");
    if (opt_.verify_certificate && !t.verified) {
      throw Diverged{"certificate not valid for " + opt_.tls.server_name + ": " + t.verify_error,
                     t.subject};
    }
    if (opt_.verify_certificate) {
      frozen_evidence_ = tls_note_;
    }
  }

  void starttls_prelude() {
    flush();
    const char* hello = opt_.protocol == scenario::Protocol::lmtp ? "LHLO " : "EHLO ";
    batch_ = hello + opt_.helo_name + "\r\n";
    flush();
    Line l = next_line();
    while (is_continuation(l)) l = next_line();
    if (!l.text.starts_with("250"))
      throw Diverged{"transport starttls: EHLO refused", visible(l.text)};
    batch_ = "STARTTLS\r\n";
    flush();
    l = next_line();
    while (is_continuation(l)) l = next_line();
    if (!l.text.starts_with("220"))
      throw Diverged{"transport starttls: STARTTLS refused", visible(l.text)};
    handshake(nullptr);
  }

  void send_message(const Step& s) {
    std::string out;
    auto add = [&](std::string line) {
      if (line.starts_with(".")) line.insert(0, ".");  // RFC 5321 4.5.2
      out += line + "\r\n";
    };
    if (s.content.empty()) {
      add("Subject: smtp-probe check");
      add("");
      add("Sent by smtp-probe; safe to delete.");
    } else {
      for (const auto& p : s.content) add(expand(p.literal()));
    }
    if (s.kind == Step::Kind::data) {
      out += ".\r\n";
      end_of_data();
    }
    batch_ += out;
  }

  // Returns true when the step ends the session.
  bool step(const Step& s, const Step* next) {
    switch (s.kind) {
      case Step::Kind::client_line: {
        const std::string line = expand(s.pattern->literal());
        batch_ += line + "\r\n";
        note_sent(line, true);
        return false;
      }
      case Step::Kind::client_raw: {
        const std::string bytes = expand(s.bytes);
        batch_ += bytes;
        note_raw(bytes);
        return false;
      }
      case Step::Kind::data:
      case Step::Kind::data_lines:
        send_message(s);
        return false;
      case Step::Kind::server_line:
        flush();
        expect_line(s, next);
        return false;
      case Step::Kind::server_raw:
        flush();
        expect_raw(s);
        return false;
      case Step::Kind::flush:
        flush();
        return false;
      case Step::Kind::drip:
        drip_ = true;
        drip_chunk_ = s.count == 0 ? 1 : s.count;
        drip_delay_ = s.duration;
        return false;
      case Step::Kind::sleep: {
        flush();
        auto until = std::min(Clock::now() + s.duration, deadline_);
        if (s.mode == "quiet") {
          if (pending_)
            throw Diverged{"the server spoke during a quiet pause", visible(pending_->text)};
          bool closed = false;
          std::string got;
          try {
            got = conn_.read_for(until, closed);
          } catch (const IoError& e) {
            throw Diverged{e.what(), ""};
          }
          if (!got.empty()) {
            record('S', got);
            std::string sent =
                answered_.empty() ? std::string() : " after " + answered_.back().first;
            throw Diverged{"the server answered where it must stay silent", visible(got),
                           "answered within " + std::to_string(s.duration.count()) +
                               " ms where it had to stay silent (the bytes sent" + sent +
                               " are not a complete command or message): " + visible(got)};
          }
          // Closing says nothing, so it is silence too when the script ends the session next
          // (a server may refuse bare LF and hang up); otherwise the script cannot go on.
          const bool ends_next =
              next == nullptr || next->kind == Step::Kind::reset || next->kind == Step::Kind::close;
          if (closed && !ends_next) {
            throw Diverged{"the server closed the connection during a quiet pause", ""};
          }
          frozen_evidence_ = "no reply during " + std::to_string(s.duration.count()) + " ms" +
                             (closed ? " (the server closed the connection)" : "");
          if (!answered_.empty()) {
            frozen_evidence_ +=
                " (after " + answered_.back().first + " -> " + answered_.back().second + ")";
          }
          awaiting_.clear();  // what was sent before the pause must not be answered
        } else {
          std::this_thread::sleep_until(until);
        }
        return false;
      }
      case Step::Kind::starttls:
        handshake(&s);
        return false;
      case Step::Kind::tls_fail:
        throw Diverged{"tls-fail cannot be played by a client", ""};
      case Step::Kind::bdat:
      case Step::Kind::expect_tls_reject:
        // Scenario::playable_as_client() is false for these: the probe never gets here.
        throw Diverged{"bdat and expect-tls-reject cannot be played by a client", ""};
      case Step::Kind::close:
        flush();
        conn_.close();
        return true;
      case Step::Kind::reset:
        flush();
        conn_.reset();
        return true;
      case Step::Kind::expect_close: {
        flush();
        std::string got;
        try {
          got = conn_.read_until_eof(deadline_);
        } catch (const IoError& e) {
          throw Diverged{std::string("the server did not close: ") + e.what(), ""};
        }
        if (!got.empty()) {
          record('S', got);
          throw Diverged{"the server sent bytes instead of closing", visible(got),
                         "sent " + visible(got) + " instead of closing the connection"};
        }
        if (frozen_evidence_.empty() && !answered_.empty()) {
          frozen_evidence_ = answered_.back().first + " -> " + answered_.back().second +
                             ", then the server closed the connection";
        }
        conn_.close();
        return true;
      }
    }
    return false;
  }

  Connection& conn_;
  const Variables& vars_;
  const PlayOptions& opt_;
  Clock::time_point deadline_;
  Clock::time_point start_;
  std::string batch_;
  bool drip_ = false;
  std::size_t drip_chunk_ = 1;
  std::chrono::milliseconds drip_delay_{0};
  std::optional<Line> pending_;
  wire::ReplyParser parser_;  // the client's limits (wire::ReplyLimits)
  std::string frozen_evidence_;
  // Commands sent whose replies have not been read yet, oldest first (the greeting is the first).
  std::deque<std::string> awaiting_{"the greeting"};
  std::vector<std::pair<std::string, std::string>> answered_;  // command, reply: every reply read
  std::deque<std::string> injected_;  // sent before TLS, not answered before it
  bool in_data_ = false;              // after a 354: lines sent are message content
  int accepted_rcpts_ = 0;            // recipients accepted in this transaction (LMTP's replies)
  std::string tls_note_;
  std::vector<TranscriptEntry> transcript_;
};

}  // namespace

PlayResult play(const std::vector<scenario::Step>& steps, Connection& conn, const Variables& vars,
                const PlayOptions& options, Clock::time_point deadline) {
  Player p(conn, vars, options, deadline);
  return p.run(steps);
}

}  // namespace smtp::probe
