// The vocabulary between an exchange algorithm and the driver that runs it (the Boost.MySQL
// shape): the driver calls resume() with the outcome of the previous action and performs the
// action it gets back, until `done`. A sync driver and an async driver run the same algorithms.
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "smtp/reply.hpp"
#include "smtp/reply_pairing.hpp"

namespace smtp::algo {

enum class action_kind {
  write,          // write `bytes`; resume with no reply
  command,        // write `bytes`, then read one reply; resume with it
  read_reply,     // read one reply (LMTP's extra replies after DATA, pipelined replies)
  expect_idle,    // every reply has been read: any byte waiting now (decrypted or still in a TLS
                  // record) is a protocol violation; resume with nothing (or the error)
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
  // For `command` and `read_reply`: the command the reply answers. The driver refuses a reply
  // that cannot answer it (check_reply_fits): the pairing of replies to commands is lost.
  reply_to expect = reply_to::any;

  static action write(std::string_view b) { return {action_kind::write, b, nullptr, false}; }
  static action command(std::string_view b, reply_to expect = reply_to::any) {
    return {action_kind::command, b, nullptr, false, expect};
  }
  static action command_redacted(std::string_view b, const std::string& shown,
                                 reply_to expect = reply_to::any) {
    return {action_kind::command, b, &shown, false, expect};
  }
  static action tls_handshake() { return {action_kind::tls_handshake, {}, nullptr, false}; }
  static action read_reply(reply_to expect = reply_to::any) {
    return {action_kind::read_reply, {}, nullptr, false, expect};
  }
  static action expect_idle() { return {action_kind::expect_idle, {}, nullptr, false}; }
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
