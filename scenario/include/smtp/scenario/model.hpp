#pragma once
// The parsed scenario: role-neutral. A step says which side produces bytes (server or client);
// the fake server sends server steps and checks client steps, the probe does the opposite.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "smtp/scenario/limits.hpp"
#include "smtp/scenario/pattern.hpp"

namespace smtp::scenario {

struct Location {
  std::string file;
  int line = 0;
  // "file:line"; "file" for the file as a whole (line 0: it could not be read).
  std::string str() const { return line ? file + ":" + std::to_string(line) : file; }
};

enum class Protocol { smtp, lmtp };
enum class Transport { plain, starttls, tls, unix_socket };

const char* to_string(Protocol p);
const char* to_string(Transport t);  // "plain", "starttls", "tls", "unix"
std::optional<Transport> transport_from_string(std::string_view name);

struct Step {
  enum class Kind {
    server_line,        // S: a reply line (CRLF appended)
    client_line,        // C: a command line (CRLF appended)
    server_raw,         // S+ bytes exactly as written (no CRLF appended)
    client_raw,         // C+ bytes exactly as written
    data,               // message content from the client up to and including the end-of-data line
    data_lines,         // a fixed number of message lines (no end-of-data): for cuts in mid-DATA
    flush,              // end the current server write
    sleep,              // pause the player
    drip,               // the next server write goes out `chunk` bytes at a time, `delay` apart
    starttls,           // real TLS handshake
    tls_fail,           // the server fails the TLS handshake (mode: alert, close, garbage)
    close,              // the server closes (FIN)
    reset,              // the server resets (RST)
    expect_close,       // the client closes
    bdat,               // a `BDAT <n> [LAST]` command line and exactly n bytes of chunk payload
    expect_tls_reject,  // a TLS handshake the client must abort (it rejects the certificate)
  };
  Kind kind = Kind::server_line;
  Location where;
  bool synthetic = false;                 // inserted by a transport, not written in the file
  std::optional<LinePattern> pattern;     // server_line, client_line
  std::string bytes;                      // server_raw, client_raw
  std::vector<LinePattern> content;       // data, data_lines: expected lines (empty: any)
  std::vector<Location> content_where;    // where each D: line was written
  bool capture = false;                   // data: keep the content in the report
  std::size_t count = 0;                  // data_lines: lines; drip: bytes per write
  std::chrono::milliseconds duration{0};  // sleep; drip: delay between writes
  std::string mode;                 // tls_fail; sleep: "quiet"; bdat: "last", "more", "" (any)
  std::optional<std::size_t> size;  // bdat: the chunk size the command must announce
  std::string text;                 // the step as written, for reports
};

const char* to_string(Step::Kind k);
bool is_server_step(Step::Kind k);  // bytes or actions originating at the server

// The names `clients:` accepts, and the certificate kinds `server-cert:` accepts.
const std::vector<std::string>& known_clients();
const std::vector<std::string>& known_server_certs();

struct ClientCall {
  std::string name;                           // smtplib method: sendmail, login, verify, ...
  std::vector<std::string> args;              // positional arguments
  std::map<std::string, std::string> kwargs;  // key=value arguments
  Location where;
};

// One message's expected result after sendmail_many (`results=ok,SMTPDataError:554,...`).
struct MessageResult {
  bool ok = true;
  std::string exception;    // not ok: the exception name (this class or a subclass)
  std::optional<int> code;  // not ok: its smtp_code, when given
};

struct Outcome {
  bool ok = true;
  std::optional<int> reply;            // ok: code returned by the last call (optional)
  std::map<std::string, int> refused;  // ok: sendmail's refused recipients with codes
  // ok: one result per message of the last sendmail_many call (`results=`); absent: not stated
  std::optional<std::vector<MessageResult>> results;
  std::string exception;    // raises: exception name (the seed's vocabulary)
  std::optional<int> code;  // raises: smtp_code, when the exception has one
  Location where;
  std::string text;  // as written
};

struct ClientSection {
  std::vector<ClientCall> calls;
  std::map<std::string, std::string> options;  // timeout, local_hostname, ...
  std::optional<std::string> message;          // CRLF-joined message lines
  std::optional<Outcome> expect;               // what our client must do
  std::optional<Outcome> expect_smtplib;       // smtplib's outcome, where it differs on purpose
  std::string smtplib_note;                    // why it differs
};

struct Scenario {
  std::string file;
  std::string name;
  std::string description;
  std::vector<std::string> tags;
  Protocol protocol = Protocol::smtp;
  std::vector<Transport> transports;
  ClientSection client;
  std::vector<Step> steps;  // as written (includes expanded), before any transport is applied
  Location header_where;
  // `clients:`: the only matrix clients that run this file (empty: every client), and why the
  // others are left out (`note-clients:`, the skip reason the harness shows).
  std::vector<std::string> clients;
  std::string clients_note;
  // `server-cert:`: which certificate the server presents in TLS handshakes.
  std::string server_cert = "good";
  // `max-line:`: the longest line (line end included) a player takes from the peer when playing
  // this file; absent: PeerLimits::max_line.
  std::optional<std::size_t> max_line;

  // The fake server can play it: every server line is literal.
  bool playable_as_server() const;
  // The probe can play it: every client line is literal.
  bool playable_as_client() const;
  bool declares(Transport t) const;
};

}  // namespace smtp::scenario
