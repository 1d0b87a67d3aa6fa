#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "smtp/sasl/error.hpp"

namespace smtp::sasl {

// Either the text to send (or, inside a mechanism, the raw bytes before base64) or why not.
class step_result {
 public:
  static step_result respond(std::string text) { return step_result{std::move(text)}; }
  static step_result fail(error_kind kind, std::string detail = {}) {
    return step_result{sasl_error{kind, std::move(detail)}};
  }
  static step_result fail(sasl_error error) { return step_result{std::move(error)}; }

  bool ok() const noexcept { return std::holds_alternative<std::string>(value_); }
  explicit operator bool() const noexcept { return ok(); }
  // Precondition: ok().
  const std::string& response() const { return std::get<std::string>(value_); }
  // Precondition: !ok().
  const sasl_error& error() const { return std::get<sasl_error>(value_); }

 private:
  explicit step_result(std::variant<std::string, sasl_error> value) : value_(std::move(value)) {}
  std::variant<std::string, sasl_error> value_;
};

// One client side of a SASL exchange (RFC 4422) as SMTP AUTH carries it (RFC 4954). No I/O: the
// driver sends what this returns and feeds back what the server said.
//
//   AUTH <name()> [initial_response()]        (the IR only when the caller allows it)
//   334 <challenge>   ->  step(challenge)  ->  ok: send response() as a line
//                                              error: send "*", expect 501, raise
//   235 <text>        ->  on_success(text) ->  error: raise anyway (SCRAM: server not proven)
//   535 / other       ->  raise SMTPAuthenticationError, never try another mechanism
class mechanism {
 public:
  // A server that keeps challenging is cut off: smtplib's _MAXCHALLENGE. SCRAM needs at most 3.
  static constexpr int max_challenges = 5;
  // Longest challenge text accepted (base64 characters); far above any real mechanism's need,
  // well below anything that could exhaust memory.
  static constexpr std::size_t max_challenge_length = 65536;
  // RFC 4954 section 4: the AUTH command line may be 12288 octets (CRLF included); an initial
  // response that would make it longer MUST NOT be sent.
  static constexpr std::size_t max_auth_line = 12288;

  mechanism() = default;
  mechanism(const mechanism&) = delete;
  mechanism& operator=(const mechanism&) = delete;
  virtual ~mechanism() = default;

  // The SASL name as written after AUTH, upper case ("SCRAM-SHA-256").
  virtual std::string_view name() const noexcept = 0;

  // True when the mechanism puts a reusable secret on the wire (password or bearer token in
  // PLAIN, LOGIN, XOAUTH2): the client refuses it without TLS unless the caller allows it.
  virtual bool exposes_secret() const noexcept = 0;

  // The AUTH command to send, without CRLF: "AUTH <name> <initial response>" when
  // initial_response_ok, the mechanism has one and the line fits max_auth_line; otherwise
  // "AUTH <name>", and the first message answers the server's first (empty) challenge instead.
  // Call it once, before any step(), instead of initial_response().
  std::string auth_command(bool initial_response_ok);

  // RFC 4954 initial response, base64-encoded ("=" when it is empty), or nullopt when the
  // mechanism has none (CRAM-MD5). For drivers that build the AUTH line themselves: call it at
  // most once, before any step(), and only if the IR will be sent; if it is not called, the first
  // step() produces that message instead. Throws std::logic_error when called out of turn.
  std::optional<std::string> initial_response();

  // Feed the text of a 334 reply (base64, possibly empty). Returns the base64 line to send
  // (possibly empty) or an error, after which every further step fails too.
  step_result step(std::string_view challenge);

  // The server answered 235. An error means success must not be believed (SCRAM-SHA-256 whose
  // server signature was never verified); the text may carry SCRAM's server-final as base64.
  std::optional<sasl_error> on_success(std::string_view reply_text);

  // The client has sent everything it has to send.
  virtual bool done() const noexcept = 0;

  // Challenges seen so far.
  int challenges() const noexcept { return challenges_; }

 protected:
  // The raw first message, or nullopt. Called at most once, by initial_response().
  virtual std::optional<std::string> first_message() = 0;
  // The raw answer to one decoded challenge.
  virtual step_result answer(std::string_view challenge) = 0;
  // See on_success(); reply_text is the 235 text as received.
  virtual std::optional<sasl_error> accept_success(std::string_view /*reply_text*/) {
    return std::nullopt;
  }

 private:
  int challenges_ = 0;
  bool failed_ = false;
  bool started_ = false;                      // initial_response() or auth_command() was called
  std::optional<std::string> pending_first_;  // an IR too long for the AUTH line, base64
};

}  // namespace smtp::sasl
