// The whole mail transaction of smtplib's sendmail(): hello if needed, MAIL, RCPT..., DATA, body,
// and for LMTP one reply per accepted recipient.
#pragma once

#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtp/algo/action.hpp"
#include "smtp/algo/data.hpp"
#include "smtp/algo/hello.hpp"
#include "smtp/exceptions.hpp"
#include "smtp/session.hpp"

namespace smtp::algo {

// Outcome as smtplib's: refused() maps each refused recipient to its reply when at least one was
// accepted; otherwise error() is SMTPSenderRefused, SMTPRecipientsRefused, SMTPDataError,
// SMTPHeloError or a disconnect. After a refusal the algorithm sends RSET (a failing RSET is
// ignored), except after a 421, where it closes the connection instead.
// Deliberate differences from smtplib: RSET also follows a non-354 reply to DATA; for LMTP a
// recipient refused after the final dot is added to refused(), and when every recipient is
// refused, error() is SMTPRecipientsRefused with all of them.
// PIPELINING (RFC 2920): when the server advertises it and session.allow_pipelining is set, MAIL,
// every RCPT and DATA go out in one write and the replies are read in order; every reply is read
// and checked even after a refused MAIL (the RCPT and DATA replies still arrive). A 421 stops the
// reading and closes. If DATA got 354 although MAIL or every RCPT was refused, a lone "." ends the
// empty message before the refusal is reported (and RSET follows as usual).
class SendmailAlgo {
 public:
  // Checks every address, option and the body before any action: throws std::invalid_argument.
  SendmailAlgo(SessionState& session, std::string_view from_addr, std::vector<std::string> to_addrs,
               std::string_view msg, std::vector<std::string> mail_options,
               std::vector<std::string> rcpt_options);
  action resume(const step_result& r);
  const RefusedRecipients& refused() const { return refused_; }
  std::exception_ptr error() const { return error_; }
  // The size announced with SIZE=, when the server advertised SIZE.
  std::size_t message_size() const { return size_; }
  // The replies after the final dot: one (SMTP) or one per accepted recipient (LMTP).
  const std::vector<std::pair<std::string, Reply>>& data_replies() const { return data_replies_; }

 private:
  enum class state {
    hello,
    mail,
    rcpt,
    data,
    body,
    lmtp_more,
    rset,
    closing,
    pipe_written,
    pipe_replies,
    pipe_abort_dot,
    done
  };
  action start_rcpt();
  action pipe_reply(const step_result& r);
  action pipe_evaluate();
  action fail(std::exception_ptr e, const Reply& reply);
  action finish(std::exception_ptr e);

  SessionState* session_;
  std::string from_;
  std::vector<std::string> to_;
  std::vector<std::string> mail_options_;
  std::vector<std::string> rcpt_options_;
  std::string wire_body_;
  std::size_t size_ = 0;
  std::vector<std::string> rcpt_lines_;
  std::string line_;
  state state_ = state::hello;
  EhloOrHeloAlgo hello_;
  std::size_t next_rcpt_ = 0;
  std::vector<std::string> accepted_;
  std::size_t lmtp_index_ = 0;
  std::size_t lmtp_refused_ = 0;
  RefusedRecipients refused_;
  std::vector<std::pair<std::string, Reply>> data_replies_;
  std::exception_ptr pending_;
  std::exception_ptr error_;
  // PIPELINING: the one write, and the replies collected (MAIL, each RCPT, DATA).
  std::string batch_;
  std::vector<Reply> pipe_replies_;
  Reply pipe_fail_reply_;
};

}  // namespace smtp::algo
