// The DATA command and the message body (smtplib's low-level data()).
#pragma once

#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "smtp/algo/action.hpp"
#include "smtp/body_source.hpp"
#include "smtp/session.hpp"
#include "smtp/wire/body_encoder.hpp"

namespace smtp::algo {

// "data" -> 354 (else SMTPDataError, as smtplib), then the encoded body -> the reply. For LMTP,
// one reply per recipient accepted since MAIL (RFC 2033 section 4.2), in RCPT order; reply() is
// the first of them (what smtplib returns) and replies() has them all.
class DataAlgo {
 public:
  // `wire_body` is wire::BodyEncoder output: dot-stuffed, ending with ".\r\n".
  DataAlgo(SessionState& session, std::string wire_body);
  // The message streamed from `body` (must outlive the algorithm), encoded in pieces of
  // session.body_chunk_size, each a `write`. A NUL or a read error in the middle abandons the
  // message: the final dot is never sent, the connection is closed, error() says why (a NUL is
  // std::invalid_argument naming its offset).
  DataAlgo(SessionState& session, BodySource& body);
  action resume(const step_result& r);
  const Reply& reply() const { return replies_.empty() ? last_ : replies_.front().second; }
  const std::vector<std::pair<std::string, Reply>>& replies() const { return replies_; }
  std::exception_ptr error() const { return error_; }

 private:
  enum class state { start, data_sent, body_writing, body_sent, closing, done };
  action next_piece();
  SessionState* session_;
  std::string body_;
  BodySource* source_ = nullptr;
  wire::BodyEncoder encoder_;
  std::string raw_;
  bool eof_ = false;
  state state_ = state::start;
  std::size_t expected_ = 1;
  Reply last_;
  std::vector<std::pair<std::string, Reply>> replies_;
  std::exception_ptr error_;
};

}  // namespace smtp::algo
