// Scripted mode: replay one scenario's server side, check the client side, stop at the first
// divergence and say exactly where and what.
#include <algorithm>

#include "connection.hpp"
#include "smtp/scenario/escape.hpp"
#include "smtp/scenario/transport.hpp"
#include "smtp/wire/command_parser.hpp"
#include "smtp/wire/dot_unstuffer.hpp"

namespace smtp::fakeserver::detail {
namespace {

using scenario::MatchResult;
using scenario::Step;
using scenario::visible;

// The divergence reason when a received line is not `matched`: a limit of the pattern engine is
// reported as such, never as a mismatch (issue 22).
std::string mismatch_reason(MatchResult r, std::string_view otherwise) {
  return r == MatchResult::too_complex ? scenario::too_complex_reason() : std::string(otherwise);
}

// Bytes of the TLS fatal alert handshake_failure (RFC 8446 section 6), record version TLS 1.2.
constexpr char tls_alert_handshake_failure[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
constexpr std::size_t max_entry_shown = 4096;    // one transcript entry, beyond that: cut
constexpr std::size_t max_received_shown = 512;  // bytes quoted in a divergence
constexpr long quiet_probe_ms = 5;  // after a quiet sleep: how long to look for stray bytes

// What the turn-taking check calls the message content sent after DATA's 354.
constexpr std::string_view content_marker = "the message content";

char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

// RFC 2920 section 3.1: these may be followed by more commands before their reply (when
// PIPELINING was advertised); every other command ends a group. Message content (after DATA's
// 354, up to the dot) and BDAT chunks may be followed by more as well.
bool pipelinable(std::string_view verb) {
  return verb == "MAIL" || verb == "RCPT" || verb == "RSET" || verb == "SEND" || verb == "SOML" ||
         verb == "SAML" || verb == "BDAT" || verb == content_marker;
}

// True when the server text contains an EHLO/LHLO reply line advertising PIPELINING.
bool advertises_pipelining(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.size() < 14 || !line.starts_with("250") || (line[3] != '-' && line[3] != ' ')) {
      continue;
    }
    std::string keyword;
    for (char c : line.substr(4)) {
      if (c == ' ') break;
      keyword.push_back(upper(c));
    }
    if (keyword == "PIPELINING") return true;
  }
  return false;
}

class Player {
 public:
  Player(std::shared_ptr<Io> io, const std::vector<Step>& steps, const SessionEnv& env,
         SessionReport& report)
      : io_(std::move(io)),
        env_(env),
        limits_(env.options.limits),
        report_(report),
        steps_(steps) {}

  awaitable<void> play() {
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      const Step& s = steps_[i];
      report_.steps.push_back(StepResult{i, s.where.str(), s.text, "not-reached", s.synthetic, {}});
    }
    for (current_ = 0; current_ < steps_.size(); ++current_) {
      bool ok = co_await step(steps_[current_]);
      if (!ok) break;
      if (report_.steps[current_].status == "not-reached") report_.steps[current_].status = "ok";
      if (ended_) break;
    }
    if (!ended_) {
      // The script ran out (or diverged): close with a FIN, never an RST from unread bytes.
      if (!report_.divergence) co_await flush();
      co_await graceful_close();
    }
    report_.ok = !report_.divergence.has_value();
  }

 private:
  awaitable<bool> step(const Step& s) {
    switch (s.kind) {
      case Step::Kind::server_line:
        out_ += s.pattern->literal();
        out_ += "\r\n";
        if (advertises_pipelining(s.pattern->literal())) advertised_ = true;
        co_return true;
      case Step::Kind::server_raw:
        out_ += s.bytes;
        if (advertises_pipelining(s.bytes)) advertised_ = true;
        co_return true;
      case Step::Kind::flush: {
        auto r = co_await flush();
        co_return r;
      }
      case Step::Kind::drip: {
        bool ok_ = co_await flush();
        if (!ok_) co_return false;
      }
        drip_ = {s.duration, s.count};
        co_return true;
      case Step::Kind::sleep: {
        bool flushed = co_await flush();
        if (!flushed) co_return false;
        co_await io_->sleep(s.duration);
        if (s.mode == "quiet") {
          bool quiet = co_await nothing_received();
          if (!quiet) {
            bool r = diverge(s, io_->in.pending(), "the client sent bytes during a quiet pause");
            co_return r;
          }
        }
        co_return true;
      }
      case Step::Kind::client_line: {
        {
          bool ok_ = co_await flush();
          if (!ok_) co_return false;
        }
        auto line = co_await read_line(s);
        if (!line) co_return false;
        if (!wire::ends_with_crlf(*line)) {
          bool r_ = diverge(s, *line, "the line ends with a bare LF, not CRLF");
          co_return r_;
        }
        const MatchResult m = s.pattern->match(wire::strip_eol(*line));
        if (m != MatchResult::matched) {
          bool r_ = diverge(s, *line, mismatch_reason(m, "the line does not match"));
          co_return r_;
        }
        sent_command(wire::command_verb(*line));
        co_return true;
      }
      case Step::Kind::client_raw: {
        {
          bool ok_ = co_await flush();
          if (!ok_) co_return false;
        }
        while (io_->in.size() < s.bytes.size()) {
          {
            bool ok_ = co_await fill(s);
            if (!ok_) co_return false;
          }
        }
        auto got = *io_->in.take_bytes(s.bytes.size());
        record('C', got);
        if (got != s.bytes) {
          bool r_ = diverge(s, got, "the bytes differ");
          co_return r_;
        }
        sent_command(wire::command_verb(got));
        co_return true;
      }
      case Step::Kind::data:
      case Step::Kind::data_lines: {
        auto r = co_await data(s);
        co_return r;
      }
      case Step::Kind::starttls: {
        auto r = co_await starttls(s);
        co_return r;
      }
      case Step::Kind::tls_fail: {
        auto r = co_await tls_fail(s);
        co_return r;
      }
      case Step::Kind::close: {
        bool ok_ = co_await flush();
        if (!ok_) co_return false;
      }
        co_await graceful_close();
        ended_ = true;
        co_return true;
      case Step::Kind::reset: {
        bool ok_ = co_await flush();
        if (!ok_) co_return false;
      }
        io_->conn().reset();
        ended_ = true;
        co_return true;
      case Step::Kind::expect_close: {
        auto r = co_await expect_close(s);
        co_return r;
      }
      case Step::Kind::bdat: {
        auto r = co_await bdat(s);
        co_return r;
      }
      case Step::Kind::expect_tls_reject: {
        auto r = co_await expect_tls_reject(s);
        co_return r;
      }
    }
    co_return true;
  }

  // The client sent a whole command (or the message content): its reply is what the server
  // writes next, and bytes that arrive before that reply are pipelined.
  void sent_command(std::string verb) {
    awaiting_reply_ = true;
    if (verb == "MAIL" || verb == "RSET" || verb == "EHLO" || verb == "HELO" || verb == "LHLO") {
      bdat_message_.clear();
    }
    last_command_ = std::move(verb);
  }

  // Before the server answers the client's last command: whatever the client has sent since
  // was sent before that reply. That is pipelining, fine only after PIPELINING was advertised
  // and only after a command that may be followed (RFC 2920 section 3.1). Plain connections
  // are polled without waiting; over TLS only bytes already read count.
  bool check_turn() {
    if (!awaiting_reply_) return true;
    awaiting_reply_ = false;
    io_->poll();
    if (io_->in.empty()) return true;
    if (pipelining_ && pipelinable(last_command_)) return true;
    const Step& s = steps_[std::min(current_, steps_.size() - 1)];
    const std::string after =
        last_command_.empty() ? std::string("the greeting") : "the reply to " + last_command_;
    std::string reason = "the client sent this before " + after + " (";
    if (!pipelining_) {
      reason += "PIPELINING was not advertised)";
    } else {
      reason += "RFC 2920 section 3.1: " + last_command_ + " must be the last command of a group)";
    }
    if (last_command_.empty()) reason = "the client sent this before the greeting";
    return diverge(s, io_->in.pending(), reason);
  }

  // Note for GCC 12: co_await results are bound to locals and co_return takes a local, never an
  // expression with temporaries; the other forms corrupt the coroutine frame (seen on TLS steps).
  awaitable<bool> flush() {
    if (out_.empty()) co_return true;
    if (!check_turn()) co_return false;
    std::string data;
    data.swap(out_);
    record('S', data);
    auto drip = drip_;
    drip_ = {};
    std::size_t chunk = drip.chunk == 0 ? data.size() : drip.chunk;
    // `drip 0ms N`: the pieces go back to back in one TCP segment (corked), each its own write:
    // inside TLS each its own record, so a client reads the first record with the rest waiting
    // undecrypted behind it.
    const bool corked = drip.chunk != 0 && drip.delay.count() == 0;
    if (corked) io_->cork(true);
    for (std::size_t off = 0; off < data.size(); off += chunk) {
      if (off && !corked) co_await io_->sleep(drip.delay);
      auto piece = std::string_view(data).substr(off, chunk);
      bool written = co_await io_->write(piece, limits_.step_timeout);
      if (corked && off + chunk >= data.size()) io_->cork(false);
      if (!written) {
        // The last flush runs after the script ran out (current_ == steps_.size()): the output
        // that could not be written belongs to the last step.
        if (steps_.empty()) co_return false;
        if (current_ >= steps_.size()) current_ = steps_.size() - 1;
        bool r = diverge(steps_[current_], "", "writing to the client failed: " + io_->last_error);
        co_return r;
      }
    }
    // PIPELINING holds from the reply that advertised it on.
    if (advertised_) {
      pipelining_ = true;
      advertised_ = false;
    }
    co_return true;
  }

  // One more read for step s; a divergence is recorded when the client is gone or silent.
  awaitable<bool> fill(const Step& s) {
    auto st = co_await io_->fill(limits_.step_timeout);
    switch (st) {
      case Io::Status::ok:
        co_return true;
      case Io::Status::eof: {
        bool r_ = diverge(s, io_->in.pending(), "the client closed the connection");
        co_return r_;
      }
      case Io::Status::timeout: {
        bool r_ = diverge(s, io_->in.pending(),
                          "timed out after " + std::to_string(limits_.step_timeout.count()) +
                              " ms waiting for the client");
        co_return r_;
      }
      case Io::Status::error: {
        bool r_ = diverge(s, io_->in.pending(), "reading failed: " + io_->last_error);
        co_return r_;
      }
    }
    co_return false;
  }

  awaitable<std::optional<std::string>> read_line(const Step& s) {
    while (!io_->in.has_line()) {
      if (io_->in.overlong()) {
        diverge(s, io_->in.pending().substr(0, 256) + "...",
                "no line end within " + std::to_string(io_->in.max_line()) + " bytes (max-line)");
        co_return std::nullopt;
      }
      {
        bool ok_ = co_await fill(s);
        if (!ok_) co_return std::nullopt;
      }
    }
    if (io_->in.overlong()) {
      diverge(s, io_->in.pending().substr(0, 256) + "...",
              "line longer than " + std::to_string(io_->in.max_line()) + " bytes (max-line)");
      co_return std::nullopt;
    }
    auto line = io_->in.take_line();
    record('C', *line);
    co_return line;
  }

  awaitable<bool> data(const Step& s) {
    {
      bool ok_ = co_await flush();
      if (!ok_) co_return false;
    }
    wire::DotUnstuffer body;
    std::size_t index = 0;
    bool ended = false;
    while (true) {
      if (s.kind == Step::Kind::data_lines && index == s.count) break;
      auto line = co_await read_line(s);
      if (!line) co_return false;
      // One definition of the end of data (wire/end_of_data.hpp): only <CRLF>.<CRLF>.
      if (body.feed(*line) && s.kind == Step::Kind::data) {
        ended = true;
        break;
      }
      if (body.message().size() > limits_.max_message) {
        {
          bool r_ = diverge(s, "", "message larger than " + std::to_string(limits_.max_message));
          co_return r_;
        }
      }
      if (!s.content.empty()) {
        auto content = wire::strip_eol(wire::unstuff(*line));
        if (index >= s.content.size()) {
          {
            bool r_ = diverge(s, *line,
                              "message line " + std::to_string(index + 1) + " is beyond the " +
                                  std::to_string(s.content.size()) + " expected");
            co_return r_;
          }
        }
        const MatchResult m = s.content[index].match(content);
        if (m != MatchResult::matched) {
          const auto& w = s.content_where[index];
          report_.divergence =
              Divergence{current_, w.str(), "D: " + s.content[index].source(), shown(*line),
                         mismatch_reason(m, "message line does not match")};
          report_.steps[current_].status = "diverged";
          co_return false;
        }
      }
      ++index;
    }
    if (ended && !s.content.empty() && index < s.content.size()) {
      const auto& w = s.content_where[index];
      report_.divergence =
          Divergence{current_, w.str(), "D: " + s.content[index].source(), ".\\r\\n",
                     "the message ended after " + std::to_string(index) + " line(s)"};
      report_.steps[current_].status = "diverged";
      co_return false;
    }
    if (ended) sent_command(std::string(content_marker));
    std::string detail = std::to_string(body.message().size()) + " bytes, " +
                         std::to_string(body.lines()) + " lines";
    if (body.bare_lf_lines()) detail += ", " + std::to_string(body.bare_lf_lines()) + " bare LF";
    if (s.capture) detail += "; content: " + visible(body.message());
    report_.steps[current_].detail = detail;
    co_return true;
  }

  // True when the client has sent nothing (beyond what the script consumed) by now.
  awaitable<bool> nothing_received() {
    if (!io_->in.empty()) co_return false;
    auto st = co_await io_->fill(std::chrono::milliseconds(quiet_probe_ms));
    co_return st != Io::Status::ok || io_->in.empty();
  }

  // What both handshake steps check first: the 220 is flushed, a certificate is configured, and
  // the client sent nothing after STARTTLS (RFC 3207 section 4.2: nothing may follow STARTTLS
  // before the handshake).
  awaitable<bool> before_handshake(const Step& s, std::string no_certificate) {
    bool flushed = co_await flush();
    if (!flushed) co_return false;
    if (!env_.tls) {
      bool r = diverge(s, "", no_certificate);
      co_return r;
    }
    if (!io_->in.empty()) {
      bool r = diverge(s, io_->in.pending(),
                       "the client sent bytes after STARTTLS, before the TLS handshake");
      co_return r;
    }
    co_return true;
  }

  awaitable<bool> starttls(const Step& s) {
    // Named, not a temporary inside co_await (GCC 12, see flush()).
    std::string no_certificate = "no certificate configured (--cert/--key)";
    bool ready = co_await before_handshake(s, std::move(no_certificate));
    if (!ready) co_return false;
    bool done = co_await io_->handshake(*env_.tls, limits_.step_timeout);
    if (!done) {
      bool r = diverge(s, "", "TLS handshake failed: " + io_->last_error);
      co_return r;
    }
    record('S', "<TLS handshake done>");
    // RFC 3207 section 4.2: what was learnt before TLS is forgotten; the next EHLO reply counts.
    pipelining_ = false;
    advertised_ = false;
    co_return true;
  }

  // The server's side of a handshake the client must refuse (a certificate it does not trust):
  // the client's ClientHello must come, and the handshake must not complete.
  awaitable<bool> expect_tls_reject(const Step& s) {
    std::string no_certificate = "no certificate configured for this scenario's server-cert";
    bool ready = co_await before_handshake(s, std::move(no_certificate));
    if (!ready) co_return false;
    // Peek at the first byte: a client that never starts TLS has not rejected anything.
    auto st = co_await io_->wait_readable(limits_.step_timeout);
    if (st == Io::Status::timeout) {
      bool r = diverge(s, "",
                       "timed out after " + std::to_string(limits_.step_timeout.count()) +
                           " ms waiting for the client's ClientHello");
      co_return r;
    }
    const auto first = io_->peek_byte();
    if (!first) {
      bool r = diverge(s, "", "the client closed without starting the TLS handshake");
      co_return r;
    }
    if (*first != 0x16) {
      // Not a TLS handshake record: the client did not start TLS at all.
      io_->poll();
      bool r = diverge(s, io_->in.pending().substr(0, 64),
                       "the client did not start TLS: expected a ClientHello (first byte 0x16)");
      co_return r;
    }
    bool done = co_await io_->handshake(*env_.tls, limits_.step_timeout);
    if (done) {
      record('S', "<TLS handshake done>");
      bool r =
          diverge(s, "", "the client completed the TLS handshake: it accepted the certificate");
      co_return r;
    }
    if (io_->last_error == "timed out in the TLS handshake") {
      bool r = diverge(s, "", "the TLS handshake stalled: " + io_->last_error);
      co_return r;
    }
    record('C', "<TLS handshake aborted: " + io_->last_error + ">");
    report_.steps[current_].detail = "the client aborted the handshake: " + io_->last_error;
    io_->conn().close();
    ended_ = true;
    co_return true;
  }

  // `bdat`: one `BDAT <n> [LAST]` line and exactly n bytes of chunk; D: lines are matched
  // against the whole message so far (every chunk since MAIL), split at CRLF.
  awaitable<bool> bdat(const Step& s) {
    {
      bool ok_ = co_await flush();
      if (!ok_) co_return false;
    }
    auto line = co_await read_line(s);
    if (!line) co_return false;
    if (!wire::ends_with_crlf(*line)) {
      bool r_ = diverge(s, *line, "the line ends with a bare LF, not CRLF");
      co_return r_;
    }
    const auto bdat = wire::parse_bdat(wire::strip_eol(*line));
    if (!bdat) {
      bool r_ = diverge(s, *line, "expected 'BDAT <size>' or 'BDAT <size> LAST'");
      co_return r_;
    }
    const std::size_t size = static_cast<std::size_t>(bdat->size);
    const bool last = bdat->last;
    if (s.size && size != *s.size) {
      bool r_ = diverge(
          s, *line, "chunk size " + std::to_string(size) + ", expected " + std::to_string(*s.size));
      co_return r_;
    }
    if (s.mode == "last" && !last) {
      bool r_ = diverge(s, *line, "expected the last chunk (BDAT <size> LAST)");
      co_return r_;
    }
    if (s.mode == "more" && last) {
      bool r_ = diverge(s, *line, "expected a chunk that is not the last (no LAST)");
      co_return r_;
    }
    if (size > limits_.max_message || bdat_message_.size() > limits_.max_message - size) {
      bool r_ = diverge(s, *line, "message larger than " + std::to_string(limits_.max_message));
      co_return r_;
    }
    while (io_->in.size() < size) {
      bool ok_ = co_await fill(s);
      if (!ok_) co_return false;
    }
    auto chunk = *io_->in.take_bytes(size);
    record('C', chunk);
    bdat_message_ += chunk;
    sent_command("BDAT");
    if (!s.content.empty()) {
      std::size_t index = 0;
      std::size_t pos = 0;
      while (pos < bdat_message_.size()) {
        auto end = bdat_message_.find("\r\n", pos);
        std::string_view one =
            std::string_view(bdat_message_)
                .substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        pos = end == std::string::npos ? bdat_message_.size() : end + 2;
        if (index >= s.content.size()) {
          bool r_ = diverge(s, one,
                            "message line " + std::to_string(index + 1) + " is beyond the " +
                                std::to_string(s.content.size()) + " expected");
          co_return r_;
        }
        const MatchResult m = s.content[index].match(one);
        if (m != MatchResult::matched) {
          const auto& w = s.content_where[index];
          report_.divergence =
              Divergence{current_, w.str(), "D: " + s.content[index].source(), shown(one),
                         mismatch_reason(m, "message line does not match")};
          report_.steps[current_].status = "diverged";
          co_return false;
        }
        ++index;
      }
      if (index < s.content.size()) {
        const auto& w = s.content_where[index];
        report_.divergence =
            Divergence{current_, w.str(), "D: " + s.content[index].source(), "",
                       "the message ended after " + std::to_string(index) + " line(s)"};
        report_.steps[current_].status = "diverged";
        co_return false;
      }
    }
    std::string detail = "chunk " + std::to_string(size) + " bytes" + (last ? ", LAST" : "") +
                         "; message " + std::to_string(bdat_message_.size()) + " bytes";
    if (s.capture) detail += "; content: " + visible(bdat_message_);
    report_.steps[current_].detail = detail;
    if (last) bdat_message_.clear();
    co_return true;
  }

  awaitable<bool> tls_fail(const Step& s) {
    {
      bool ok_ = co_await flush();
      if (!ok_) co_return false;
    }
    if (io_->in.empty()) {
      bool ok_ = co_await fill(s);
      if (!ok_) co_return false;
    }
    std::string hello = io_->in.take_all();
    record('C', hello.substr(0, 16) + (hello.size() > 16 ? "..." : ""));
    if (static_cast<unsigned char>(hello[0]) != 0x16) {
      {
        bool r_ = diverge(s, hello.substr(0, 64), "expected a TLS ClientHello (first byte 0x16)");
        co_return r_;
      }
    }
    if (s.mode == "alert") {
      co_await io_->write(
          std::string_view(tls_alert_handshake_failure, sizeof tls_alert_handshake_failure),
          limits_.step_timeout);
      record('S', "<TLS alert handshake_failure>");
    } else if (s.mode == "garbage") {
      co_await io_->write("this is not TLS\r\n", limits_.step_timeout);
      record('S', "this is not TLS\r\n");
    }
    co_await graceful_close();
    ended_ = true;
    co_return true;
  }

  awaitable<bool> expect_close(const Step& s) {
    {
      bool ok_ = co_await flush();
      if (!ok_) co_return false;
    }
    if (!io_->in.empty()) {
      {
        bool r_ = diverge(s, io_->in.pending(), "the client sent bytes instead of closing");
        co_return r_;
      }
    }
    auto st = co_await io_->fill(limits_.step_timeout);
    if (st == Io::Status::eof || st == Io::Status::error) {
      record('C', "<closed>");
      io_->conn().close();
      ended_ = true;
      co_return true;
    }
    if (st == Io::Status::timeout) {
      {
        bool r_ = diverge(s, io_->in.pending(),
                          "the client did not close within " +
                              std::to_string(limits_.step_timeout.count()) + " ms");
        co_return r_;
      }
    }
    {
      bool r_ = diverge(s, io_->in.pending(), "the client sent bytes instead of closing");
      co_return r_;
    }
  }

  // FIN now; reading until the client closes too (closing with unread bytes would send an RST)
  // happens after the report is out, so a report never waits on a slow client.
  awaitable<void> graceful_close() {
    io_->conn().shutdown_send();
    io_->drain_after = true;
    co_return;
  }

  bool diverge(const Step& s, std::string_view received, const std::string& reason) {
    if (report_.divergence) return false;
    std::string where = s.where.str();
    if (s.synthetic) where += " (inserted by transport " + report_.transport + ")";
    report_.divergence = Divergence{current_, where, s.text, shown(received), reason};
    report_.steps[current_].status = "diverged";
    return false;
  }

  // Received bytes as a divergence quotes them: visible, at most max_received_shown of them.
  static std::string shown(std::string_view received) {
    std::string out = visible(received.substr(0, max_received_shown));
    if (received.size() > max_received_shown) {
      out += "...(" + std::to_string(received.size()) + " bytes)";
    }
    return out;
  }

  void record(char from, std::string_view data) {
    if (transcript_bytes_ >= limits_.max_transcript_bytes) {
      report_.transcript_truncated = true;
      return;
    }
    std::string shown = visible(data.substr(0, max_entry_shown));
    if (data.size() > max_entry_shown) shown += "...(" + std::to_string(data.size()) + " bytes)";
    transcript_bytes_ += shown.size();
    report_.transcript.push_back(TranscriptEntry{from, io_->elapsed_ms(), std::move(shown)});
  }

  struct Drip {
    std::chrono::milliseconds delay{0};
    std::size_t chunk = 0;
  };

  std::shared_ptr<Io> io_;
  const SessionEnv& env_;
  const Limits& limits_;
  SessionReport& report_;
  const std::vector<Step>& steps_;
  std::size_t current_ = 0;
  std::string out_;
  Drip drip_;
  bool ended_ = false;
  // Turn-taking (RFC 2920): the reply the client waits for, and whether it may pipeline.
  bool awaiting_reply_ = true;  // the greeting comes first
  std::string last_command_;    // verb of the client's last command ("" before any)
  bool advertised_ = false;     // PIPELINING is in output not yet written
  bool pipelining_ = false;     // PIPELINING was advertised (in this TLS state)
  std::string bdat_message_;    // BDAT chunks of the current message
  std::size_t transcript_bytes_ = 0;
};

}  // namespace

awaitable<void> run_scripted(std::shared_ptr<Io> io, const std::vector<Step>& steps,
                             const SessionEnv& env, SessionReport& report) {
  Player player(std::move(io), steps, env, report);
  co_await player.play();
}

}  // namespace smtp::fakeserver::detail
