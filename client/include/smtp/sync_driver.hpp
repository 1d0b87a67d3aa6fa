// Runs exchange algorithms over a Transport, blocking. Owns the connection, the read buffer and
// the reply parser; applies the per-action deadline; writes smtplib-style debug lines.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/algo/action.hpp"
#include "smtp/timeout.hpp"  // Timeout: seconds, a duration, or nullopt (wait forever)
#include "smtp/tls_context.hpp"
#include "smtp/transport.hpp"
#include "smtp/wire/reply_parser.hpp"

namespace smtp {

// Receives one debug line at a time (without newline). The default writes to std::cerr.
using DebugSink = std::function<void(std::string_view line)>;
// Longer timeouts mean "no deadline" (and cannot overflow the clock).
inline constexpr double max_timeout_seconds = 3.0e9;

// One debug line to `sink`: as is at level 1, after an "HH:MM:SS.ffffff " timestamp at level 2
// (smtplib's format). Shared by SyncDriver and AsyncDriver.
void write_debug_line(const DebugSink& sink, int level, std::string_view line);

// Feeds the buffered bytes to `parser`, erasing what it consumed; when a reply is complete, traces
// it (its raw lines, then smtplib's "retcode" line) and returns it. Both drivers read replies
// with it, so a reply is parsed and traced the same way whichever drives the algorithm.
std::optional<Reply> take_buffered_reply(wire::ReplyParser& parser, std::string& inbuf,
                                         const DebugSink& sink, int level);

class SyncDriver {
 public:
  SyncDriver();

  void attach(std::unique_ptr<Transport> transport);
  bool is_open() const { return transport_ != nullptr; }
  // True when the connection is TLS (SMTP_SSL, or after STARTTLS).
  bool encrypted() const { return transport_ && transport_->encrypted(); }
  // What the next tls_handshake action uses: the context, and the host the caller connected to
  // (the name the certificate must match unless the context overrides it).
  void set_tls(TlsContext tls, std::string connected_host) {
    tls_ = std::move(tls);
    tls_host_ = std::move(connected_host);
  }
  void close() noexcept;

  // Runs the algorithm to its end; rethrows its error(). An I/O failure, a timeout or a protocol
  // violation closes the connection and is handed to the algorithm, which decides (sendmail's
  // RSET after a refusal ignores it; everything else reports it).
  template <class Algo>
  void run(Algo& algo) {
    algo::step_result result;
    for (;;) {
      const algo::action a = algo.resume(result);
      if (a.kind == algo::action_kind::done) break;
      result = perform(a);
    }
    if (auto e = algo.error()) std::rethrow_exception(e);
  }

  // 0: quiet; 1: "send:"/"reply:" lines as smtplib; 2: the same with a timestamp first.
  void set_debuglevel(int level) { debuglevel_ = level; }
  int debuglevel() const { return debuglevel_; }
  void set_debug_sink(DebugSink sink);
  void debug(std::string_view line) const;

  void set_timeout(Timeout t) { timeout_ = t; }
  Timeout timeout() const { return timeout_; }
  // now + timeout: each write, each reply and each connect gets a fresh one.
  Deadline deadline() const;

 private:
  algo::step_result perform(const algo::action& a);
  void write(std::string_view bytes, const std::string* trace = nullptr,
             bool replies_pending = false);
  void start_tls();
  void expect_idle();
  Reply read_reply(reply_to expect = reply_to::any);

  std::unique_ptr<Transport> transport_;
  wire::ReplyParser parser_;
  std::string inbuf_;
  Timeout timeout_;
  int debuglevel_ = 0;
  DebugSink sink_;
  TlsContext tls_;
  std::string tls_host_;
};

}  // namespace smtp
