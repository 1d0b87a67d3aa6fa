// The vocabulary between an exchange algorithm and the driver that runs it (the Boost.MySQL
// shape): the driver calls resume() with the outcome of the previous action and performs the
// action it gets back, until `done`. A sync driver and an async driver run the same algorithms.
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "smtp/reply.hpp"

namespace smtp::algo {

enum class action_kind {
  write,          // write `bytes`; resume with no reply
  command,        // write `bytes`, then read one reply; resume with it
  read_reply,     // read one reply (LMTP's extra replies after DATA)
  tls_handshake,  // STARTTLS: refuse any byte already received, then wrap the stream in TLS and
                  // forget everything read before it; resume with nothing
  close,          // close the connection (after a 421); resume with nothing
  done,           // finished: see the algorithm's result or error()
};

struct action {
  action_kind kind = action_kind::done;
  std::string_view bytes;  // valid until the next resume()
  // What the debug trace shows instead of `bytes` when set (AUTH lines carry credentials).
  const std::string* trace = nullptr;
  // Set on a write made while replies to earlier commands are still outstanding (sendmail_many):
  // bytes already received then answer those commands and are not out of turn.
  bool replies_pending = false;

  static action write(std::string_view b) { return {action_kind::write, b, nullptr, false}; }
  static action command(std::string_view b) { return {action_kind::command, b, nullptr, false}; }
  static action command_redacted(std::string_view b, const std::string& shown) {
    return {action_kind::command, b, &shown, false};
  }
  static action tls_handshake() { return {action_kind::tls_handshake, {}, nullptr, false}; }
  static action read_reply() { return {action_kind::read_reply, {}, nullptr, false}; }
  static action close() { return {action_kind::close, {}, nullptr, false}; }
  static action done() { return {action_kind::done, {}, nullptr, false}; }
};

// What the driver reports back. `error` is set when the action failed; the driver has then already
// closed the connection, and the error is an SMTPServerDisconnected (or a subclass: timeout,
// protocol violation).
struct step_result {
  std::exception_ptr error;
  Reply reply;
};

}  // namespace smtp::algo
