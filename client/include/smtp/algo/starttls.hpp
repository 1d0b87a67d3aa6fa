// STARTTLS (RFC 3207) as smtplib's starttls(): EHLO first if needed, SMTPNotSupportedError when
// the extension is not advertised, SMTPResponseException when the command is refused, then the
// TLS handshake action. After it every bit of EHLO knowledge is forgotten (RFC 3207 section 4.2);
// the next ehlo_or_helo_if_needed() (sendmail, login) sends EHLO again.
#pragma once

#include <exception>
#include <string>

#include "smtp/algo/action.hpp"
#include "smtp/algo/hello.hpp"
#include "smtp/session.hpp"

namespace smtp::algo {

class StartTlsAlgo {
 public:
  explicit StartTlsAlgo(SessionState& session);
  action resume(const step_result& r);
  // The reply to STARTTLS (220 on success).
  const Reply& reply() const { return reply_; }
  std::exception_ptr error() const { return error_; }

 private:
  enum class state { hello, command, handshake, done };
  action finish(std::exception_ptr e);

  SessionState* session_;
  state state_ = state::hello;
  EhloOrHeloAlgo hello_;
  std::string line_ = "STARTTLS\r\n";
  Reply reply_;
  std::exception_ptr error_;
};

}  // namespace smtp::algo
