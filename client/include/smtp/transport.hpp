// The byte stream under a driver: a narrow interface, so the algorithms never see a socket and a
// TLS stream (STARTTLS, SMTP_SSL) can be added as another implementation.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace smtp {

using Clock = std::chrono::steady_clock;
// No deadline means wait forever (smtplib's timeout=None).
using Deadline = std::optional<Clock::time_point>;

class Transport {
 public:
  virtual ~Transport() = default;
  // Writes every byte before the deadline. Throws SMTPServerDisconnected (peer gone; never
  // SIGPIPE) or SMTPTimeoutError.
  virtual void write(std::string_view bytes, Deadline deadline) = 0;
  // Reads at least one byte before the deadline; returns 0 when the peer has closed.
  // Throws SMTPServerDisconnected or SMTPTimeoutError.
  virtual std::size_t read_some(std::span<char> buffer, Deadline deadline) = 0;
  // Bytes that can be read now without waiting (to catch a server talking out of turn).
  virtual std::size_t available() = 0;
  // Reads what the server has sent by now without waiting for more: 0 when nothing is there. The
  // out-of-turn check reads with it. A TLS transport also decrypts the records that have arrived
  // but that OpenSSL has not read yet (a reply hidden in a second TLS record of the same TCP
  // segment); records without data (TLS 1.3 session tickets) are consumed and give 0.
  virtual std::size_t read_waiting(std::span<char> buffer) {
    return available() > 0 ? read_some(buffer, std::nullopt) : 0;
  }
  virtual void close() noexcept = 0;
  // True once the stream is TLS (SMTP_SSL, or after STARTTLS).
  virtual bool encrypted() const noexcept { return false; }
  // STARTTLS: hands over the connected socket's descriptor so a TLS transport can take it over;
  // this transport is left closed without closing it. -1 when the stream cannot be handed over.
  virtual int release_native_handle() noexcept { return -1; }
};

// Resolves host (name, IPv4 or IPv6 literal; brackets around IPv6 accepted) and connects to the
// first address that answers, before the deadline. Throws SMTPConnectError (code -1) when no
// address can be reached, SMTPServerDisconnected when the peer resets the connection at once,
// SMTPTimeoutError when the deadline passes.
std::unique_ptr<Transport> connect_tcp(const std::string& host, int port, Deadline deadline);

// Connects to a Unix stream socket (LMTP's usual transport).
std::unique_ptr<Transport> connect_unix(const std::string& path, Deadline deadline);

}  // namespace smtp
