#include "smtp/probe/player.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <thread>

#include "smtp/probe/reply_line.hpp"
#include "smtp/scenario/escape.hpp"
#include "smtp/scenario/transport.hpp"

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

// A divergence: ends the play.
struct Diverged {
  std::string reason;
  std::string received;
};

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
      r.evidence = last_reply_.empty() ? "script followed" : shortened(last_reply_);
    } catch (const Diverged& d) {
      r.ok = false;
      r.reason = d.reason;
      r.received = shortened(d.received);
      if (current != nullptr) {
        r.where = current->where.str();
        r.expected = current->text;
      }
      r.evidence = d.reason;
      if (!r.received.empty()) r.evidence += ": got " + r.received;
      if (!r.expected.empty()) r.evidence += " (expected " + r.expected + ")";
      conn_.reset();
    }
    r.transcript = std::move(transcript_);
    return r;
  }

 private:
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
    quitting_ = bytes.ends_with("QUIT\r\n");
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
      if (e.kind() == IoError::Kind::timeout)
        throw Diverged{"no reply before the check's timeout", ""};
      if (e.kind() == IoError::Kind::closed) throw Diverged{"the server closed the connection", ""};
      throw Diverged{e.what(), ""};
    }
    record('S', line.text + line.terminator);
    std::string shown = visible(line.text + line.terminator);
    if (line.terminator != "\r\n") {
      throw Diverged{line.terminator.empty() ? "the server closed in the middle of a line"
                                             : "reply line ends in a bare LF (RFC 5321 2.3.8)",
                     shown};
    }
    auto rl = classify_reply_line(line.text);
    if (!rl) throw Diverged{"not a reply line (RFC 5321 4.2: three digits, then SP or '-')", shown};
    if (open_code_ != 0 && rl->code != open_code_) {
      throw Diverged{"multiline reply mixes codes " + std::to_string(open_code_) + " and " +
                         std::to_string(rl->code) + " (RFC 5321 4.2.1)",
                     shown};
    }
    // PeerLimits: an endless multiline reply ends here, not at the check's timeout.
    reply_lines_ += 1;
    reply_bytes_ += line.text.size() + line.terminator.size();
    if (reply_lines_ > scenario::PeerLimits::max_reply_lines) {
      throw Diverged{"a reply of more than " +
                         std::to_string(scenario::PeerLimits::max_reply_lines) +
                         " lines (max_reply_lines)",
                     ""};
    }
    if (reply_bytes_ > scenario::PeerLimits::max_reply_bytes) {
      throw Diverged{"a reply of more than " +
                         std::to_string(scenario::PeerLimits::max_reply_bytes) +
                         " bytes (max_reply_bytes)",
                     ""};
    }
    open_code_ = rl->continuation ? rl->code : 0;
    if (!rl->continuation) reply_lines_ = reply_bytes_ = 0;
    return line;
  }

  bool is_continuation(const Line& l) const {
    auto rl = classify_reply_line(l.text);
    return rl && rl->continuation;
  }

  // A reply line against a pattern: a mismatch, or a limit of the pattern engine (issue 22: a
  // hostile server chooses the line, not the probe's stack or time), is a divergence.
  static void check_match(const scenario::LinePattern& pat, const Line& line) {
    const scenario::MatchResult m = pat.match(line.text);
    if (m == scenario::MatchResult::matched) return;
    std::string shown = visible(std::string_view(line.text).substr(0, max_received_shown));
    if (line.text.size() > max_received_shown) {
      shown += "...(" + std::to_string(line.text.size()) + " bytes)";
    }
    throw Diverged{m == scenario::MatchResult::too_complex ? scenario::too_complex_reason()
                                                           : "the reply does not match",
                   std::move(shown)};
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
      if (!quitting_ && !evidence_frozen_) last_reply_ = line.text;
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
      throw Diverged{"the server sent bytes after its STARTTLS reply, before TLS", visible(extra)};
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
      last_reply_ = tls_note_;
      evidence_frozen_ = true;
    }
    (void)s;
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
    if (s.kind == Step::Kind::data) out += ".\r\n";
    batch_ += out;
  }

  // Returns true when the step ends the session.
  bool step(const Step& s, const Step* next) {
    switch (s.kind) {
      case Step::Kind::client_line:
        batch_ += expand(s.pattern->literal()) + "\r\n";
        return false;
      case Step::Kind::client_raw:
        batch_ += expand(s.bytes);
        return false;
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
            last_reply_ = visible(got);
            throw Diverged{"the server answered where it must stay silent", visible(got)};
          }
          if (closed) throw Diverged{"the server closed the connection during a quiet pause", ""};
          last_reply_ =
              "no reply during " + std::to_string(s.duration.count()) + " ms (" + last_reply_ + ")";
          evidence_frozen_ = true;
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
          throw Diverged{"the server sent bytes instead of closing", visible(got)};
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
  int open_code_ = 0;
  std::size_t reply_lines_ = 0;  // lines and bytes of the reply being read (PeerLimits)
  std::size_t reply_bytes_ = 0;
  std::string last_reply_;
  bool quitting_ = false;
  bool evidence_frozen_ = false;
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
