#include "smtp/sync_driver.hpp"

#include <sys/time.h>

#include <array>
#include <ctime>
#include <iostream>

#include "smtp/exceptions.hpp"
#include "smtp/reply_pairing.hpp"
#include "smtp/sasl/redact.hpp"
#include "smtp/tls_transport.hpp"
#include "smtp/wire/bytes_repr.hpp"

namespace smtp {

SyncDriver::SyncDriver() {
  set_debug_sink({});
}

void SyncDriver::set_debug_sink(DebugSink sink) {
  if (sink) {
    sink_ = std::move(sink);
  } else {
    sink_ = [](std::string_view line) { std::cerr << line << '\n'; };
  }
}

void SyncDriver::debug(std::string_view line) const {
  write_debug_line(sink_, debuglevel_, line);
}

std::optional<Reply> take_buffered_reply(wire::ReplyParser& parser, std::string& inbuf,
                                         const DebugSink& sink, int level) {
  const std::size_t used = parser.feed(inbuf);
  inbuf.erase(0, used);
  // The wire parser names the rule; the client's contract is an exception (the connection is
  // closed by the caller's error path, as for every protocol violation).
  if (const auto& err = parser.error()) throw SMTPProtocolError(err->rule, err->shown);
  if (!parser.done()) return std::nullopt;
  if (level > 0) {
    for (const auto& raw : parser.raw_lines())
      write_debug_line(sink, level, "reply: " + wire::bytes_repr(raw));
  }
  Reply r = parser.take();
  if (level > 0) {
    write_debug_line(
        sink, level,
        "reply: retcode (" + std::to_string(r.code) + "); Msg: " + wire::bytes_repr(r.text));
  }
  return r;
}

void write_debug_line(const DebugSink& sink, int level, std::string_view line) {
  if (level > 1) {
    // Python's datetime.now().time(): HH:MM:SS.ffffff, local time.
    timeval tv{};
    gettimeofday(&tv, nullptr);
    std::tm tm{};
    localtime_r(&tv.tv_sec, &tm);
    std::array<char, 32> stamp{};
    std::snprintf(stamp.data(), stamp.size(), "%02d:%02d:%02d.%06ld ", tm.tm_hour, tm.tm_min,
                  tm.tm_sec, static_cast<long>(tv.tv_usec));
    sink(std::string(stamp.data()) + std::string(line));
  } else {
    sink(line);
  }
}

Deadline SyncDriver::deadline() const {
  // Beyond a century the conversion to clock ticks could overflow: treat it as no deadline.
  if (!timeout_ || timeout_->count() > max_timeout_seconds) return std::nullopt;
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(*timeout_);
}

void SyncDriver::attach(std::unique_ptr<Transport> transport) {
  close();
  transport_ = std::move(transport);
}

void SyncDriver::close() noexcept {
  if (transport_) transport_->close();
  transport_.reset();
  parser_.reset();
  inbuf_.clear();
}

// Every reply has been read: whatever has arrived (decrypted or still in a TLS record) was sent
// out of turn, and the replies and the commands are no longer paired with certainty.
void SyncDriver::expect_idle() {
  if (inbuf_.empty()) {
    std::array<char, 512> buf{};
    inbuf_.append(buf.data(), transport_->read_waiting(buf));
  }
  if (!inbuf_.empty()) {
    throw SMTPProtocolError("bytes arrived with no command outstanding", inbuf_);
  }
}

void SyncDriver::write(std::string_view bytes, const std::string* trace, bool replies_pending) {
  if (!transport_) throw SMTPServerDisconnected("please run connect() first");
  // Unless the algorithm says replies are still due, every earlier reply has been read, so any
  // byte waiting now was sent out of turn (RFC 5321 section 4.1.1: replies only answer commands).
  if (!replies_pending) expect_idle();
  if (debuglevel_ > 0)
    // An algorithm that writes credentials supplies the redacted text; an AUTH line written any
    // other way (docmd("AUTH PLAIN ...")) is redacted here, so no path shows a credential.
    debug("send: " + wire::bytes_repr(trace ? *trace : sasl::redact_auth_command(bytes), false));
  transport_->write(bytes, deadline());
}

// RFC 3207 section 4.2 and the NO STARTTLS findings: anything the server sent after its 220
// (in the same write, or before our handshake) was sent in plaintext and may come from an
// attacker; it must never be read as a reply inside TLS. Refuse it and close; otherwise start
// the handshake with an empty buffer and a fresh parser.
void SyncDriver::start_tls() {
  if (!transport_) throw SMTPServerDisconnected("please run connect() first");
  if (inbuf_.empty()) {
    std::array<char, 512> buf{};
    inbuf_.append(buf.data(), transport_->read_waiting(buf));
  }
  if (!inbuf_.empty()) {
    throw SMTPProtocolError("bytes after the 220 reply to STARTTLS, before the TLS handshake",
                            inbuf_);
  }
  parser_.reset();
  inbuf_.clear();
  transport_ = smtp::start_tls(std::move(transport_), tls_, tls_host_, deadline());
  if (debuglevel_ > 0) debug("starttls: TLS handshake done");
}

Reply SyncDriver::read_reply(reply_to expect) {
  if (!transport_) throw SMTPServerDisconnected("please run connect() first");
  const Deadline d = deadline();
  for (;;) {
    if (!inbuf_.empty()) {
      if (auto r = take_buffered_reply(parser_, inbuf_, sink_, debuglevel_)) {
        check_reply_fits(expect, *r);
        return *std::move(r);
      }
    }
    std::array<char, 4096> buf{};
    const std::size_t n = transport_->read_some(buf, d);
    if (n == 0) {
      throw SMTPServerDisconnected(parser_.idle()
                                       ? "Connection unexpectedly closed"
                                       : "Connection unexpectedly closed in the middle of a reply");
    }
    inbuf_.append(buf.data(), n);
  }
}

algo::step_result SyncDriver::perform(const algo::action& a) {
  algo::step_result r;
  try {
    switch (a.kind) {
      case algo::action_kind::write:
        write(a.bytes, a.trace, a.replies_pending);
        break;
      case algo::action_kind::command:
        write(a.bytes, a.trace, a.replies_pending);
        r.reply = read_reply(a.expect);
        break;
      case algo::action_kind::read_reply:
        r.reply = read_reply(a.expect);
        break;
      case algo::action_kind::expect_idle:
        if (!transport_) throw SMTPServerDisconnected("please run connect() first");
        expect_idle();
        break;
      case algo::action_kind::close:
        close();
        break;
      case algo::action_kind::tls_handshake:
        start_tls();
        break;
      case algo::action_kind::done:
        break;
    }
  } catch (const SMTPServerDisconnected&) {
    close();
    r.error = std::current_exception();
  }
  return r;
}

}  // namespace smtp
