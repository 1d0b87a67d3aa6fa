#pragma once
// What the session builder learnt about the client while it wrote the script: every command with
// its replies, the transactions (MAIL, RCPT, DATA or BDAT chunks, the message), and what the server
// advertised when each began. The client section (client_section.hpp) is derived from this.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "smtp/scenario/model.hpp"
#include "smtp/wire/capabilities.hpp"
#include "smtp/wire/command_parser.hpp"

namespace smtp::recorder {

struct Command {
  std::string verb;        // upper case; "" for a line that is not a command (AUTH response)
  std::string line;        // without its line end
  std::vector<int> codes;  // reply codes in order (DATA: 354 then the end's; LMTP: one per rcpt)
  // Sent while replies to earlier commands were still due: the client pipelined (RFC 2920).
  bool pipelined = false;
  // Sent while the reply to a message's end was still due: the next message of a batch
  // (sendmail_many writes the next group behind the final dot or BDAT LAST).
  bool behind_end = false;
  std::optional<wire::BdatCommand> bdat;
  std::size_t step = 0;  // BDAT: the index of its `bdat` step in the script
  std::optional<std::size_t> transaction;
};

struct Transaction {
  std::size_t mail = 0;  // command index of MAIL
  std::vector<std::size_t> rcpts;
  std::optional<std::size_t> data;  // DATA
  std::vector<std::size_t> chunks;  // BDAT commands, in order
  bool ended = false;               // the end of the message was sent (final dot, BDAT LAST)
  std::string message;              // as the server received it (un-stuffed; chunks joined)
  bool message_too_big = false;     // larger than a scenario file: not kept
  std::size_t bare_lf_lines = 0;    // DATA lines that ended in a bare LF
  // What the EHLO/LHLO reply in force when MAIL was sent advertised.
  bool pipelining_offered = false;
  bool chunking_offered = false;
};

struct SessionLog {
  scenario::Protocol protocol = scenario::Protocol::smtp;
  std::optional<int> greeting;
  std::vector<Command> commands;
  std::vector<Transaction> transactions;
  // The EHLO/LHLO keywords in force (reset by a TLS handshake, RFC 3207 section 4.2).
  wire::EsmtpFeatures features;
  bool server_closed = false;
  bool tls_seen = false;
};

}  // namespace smtp::recorder
