#pragma once
// The probe's side of one connection to the server under test: TCP or a Unix socket, wrapped in
// TLS at connect (implicit TLS) or part-way (STARTTLS). Every operation has a deadline; lines are
// read with their terminator so a bare LF or bare CR from the server stays visible.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/scenario/limits.hpp"

namespace smtp::probe {

using Clock = std::chrono::steady_clock;

// Why an I/O operation ended early.
class IoError : public std::runtime_error {
 public:
  enum class Kind { timeout, closed, failed };
  IoError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct TlsOptions {
  std::string cafile;       // trust anchors for verification; empty: the system store
  std::string server_name;  // SNI and the name the certificate must be valid for
};

// What the handshake saw. The probe never refuses a certificate during the handshake (it must go
// on to test the server); whether the chain and name verified is recorded here.
struct TlsResult {
  bool verified = false;
  std::string verify_error;  // OpenSSL's words when not verified
  std::string protocol;      // "TLSv1.3"
  std::string cipher;
  std::string subject;  // of the server certificate
};

struct Line {
  std::string text;        // without its terminator
  std::string terminator;  // "\r\n", "\n", or "" when the peer closed mid-line
};

class Connection {
 public:
  // A reply line longer than this (line end included) is a runaway server, not a reply: the
  // players' common limit (scenario::PeerLimits), or the check's `max-line:` (set_max_line).
  static constexpr std::size_t default_max_line = scenario::PeerLimits::max_line;

  static std::unique_ptr<Connection> tcp(const std::string& host, int port,
                                         Clock::time_point deadline);
  static std::unique_ptr<Connection> unix_socket(const std::string& path,
                                                 Clock::time_point deadline);

  virtual ~Connection() = default;
  virtual void write(std::string_view bytes, Clock::time_point deadline) = 0;
  // One line up to LF. Throws IoError(closed) when the peer closed before any byte of it.
  virtual Line read_line(Clock::time_point deadline) = 0;
  // Waits until `until` and returns whatever the peer sent meanwhile ("" when it stayed silent or
  // closed; `closed` says which).
  virtual std::string read_for(Clock::time_point until, bool& closed) = 0;
  // Waits for EOF; returns bytes received before it. Throws IoError(timeout).
  virtual std::string read_until_eof(Clock::time_point deadline) = 0;
  // Bytes already received and not yet read as a line (bytes sent after STARTTLS's 220 in the
  // same packet land here).
  virtual std::size_t buffered() const = 0;
  virtual TlsResult start_tls(const TlsOptions& options, Clock::time_point deadline) = 0;
  virtual bool tls() const = 0;
  virtual void close() noexcept = 0;  // FIN
  virtual void reset() noexcept = 0;  // RST

  std::size_t max_line() const { return max_line_; }
  void set_max_line(std::size_t bytes) { max_line_ = bytes; }

 private:
  std::size_t max_line_ = default_max_line;
};

}  // namespace smtp::probe
