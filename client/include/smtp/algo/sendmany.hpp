// sendmail_many(): several messages over one connection, each as sendmail() would send it, with
// the next message's commands pipelined behind the previous message's end (RFC 2920 section 3.1:
// the message content may be the first "command" of a group).
#pragma once

#include <cstddef>
#include <deque>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "smtp/algo/action.hpp"
#include "smtp/algo/sendmail.hpp"
#include "smtp/body_source.hpp"
#include "smtp/exceptions.hpp"
#include "smtp/outgoing_mail.hpp"
#include "smtp/session.hpp"

namespace smtp {

namespace algo {

// How the messages overlap. Without PIPELINING (or with it switched off) they go one after the
// other, exactly as repeated sendmail() calls. With PIPELINING, once a message's last byte is
// written (its final dot, or BDAT ... LAST), the next message's group (MAIL, RCPT..., DATA or its
// first BDAT chunk) is written before the previous final reply is read, and replies are matched
// to messages in order. With DATA the server's 354 must be awaited, so at most two messages
// overlap (one round trip per message instead of two); with CHUNKING a message that fits in its
// first chunk is all written at once, so up to `depth` messages are in flight (and every group
// after the first starts with RSET, so a refused BDAT transaction cannot leak into the next).
// Small writes are collected and written together when a reply must be read (one write carries
// the previous message's end and the next message's group). At most about 256 replies are
// outstanding at any time, so the server's replies always fit in the socket buffers while the
// client is still writing (RFC 2920 section 3.1's deadlock).
//
// Each message gets its own MailResult: a refusal of one does not stop the others (no RSET is
// needed between them: the end of data finishes a transaction). A message the caller got wrong
// (a bad address or option, a NUL in `msg`) fails with std::invalid_argument and nothing of it is
// sent. A lost connection (or a 421, which closes it) fails the message it happened in; every
// message already written after it fails with SMTPServerDisconnected saying it may or may not
// have been delivered (no reply was read), and every message not yet started fails with
// SMTPServerDisconnected saying it was not sent. An SMTPHeloError fails every message.
class SendmanyAlgo {
 public:
  SendmanyAlgo(SessionState& session, std::span<const OutgoingMail> mails, std::size_t depth);

  action resume(const step_result& r);
  std::exception_ptr error() const { return nullptr; }  // outcomes are per message
  std::vector<MailResult>& results() { return results_; }
  // How many messages had their group written while an earlier reply was still outstanding.
  std::size_t overlapped() const { return overlapped_; }

 private:
  struct Slot {
    std::size_t index;
    SendmailAlgo algo;
    std::size_t replies;              // an upper bound of the replies this message gets
    bool waiting = false;             // asked to read a reply; the next one in turn is its own
    reply_to expect = reply_to::any;  // the command that reply answers
  };
  enum class route { start, tail, split_write, front, flush, idle_check };

  std::optional<action> handle(Slot& s, const action& a);
  action flush();
  action checked(action a);
  action direct(const action& a);
  bool any_waiting() const;
  action choose();
  bool start_next();
  void finish_slot(Slot& s);
  void fail_all_remaining();
  void doubt_provisional();
  bool pipelining_active() const;
  std::size_t outstanding_replies() const;

  SessionState* session_;
  std::span<const OutgoingMail> mails_;
  std::size_t depth_;
  std::deque<Slot> flight_;
  std::size_t next_ = 0;
  route route_ = route::start;
  bool dead_ = false;
  std::exception_ptr fatal_;               // SMTPHeloError: every later message gets it
  std::exception_ptr last_error_;          // the driver's error that ended the connection
  bool error_delivered_ = false;           // a message's algorithm has been given last_error_
  reply_to split_expect_ = reply_to::any;  // a command written apart: what its reply answers
  // Messages sent in full whose outcome was read while the pairing is not yet confirmed (see
  // doubt_provisional and the anchors in resume()).
  std::vector<std::size_t> provisional_;
  bool checked_write_ = false;  // the action handed out is a write the driver checks first
  std::size_t overlapped_ = 0;
  std::vector<MailResult> results_;
  // Small writes collected until a reply must be read, then written as one; held_ is a large
  // write that follows them.
  std::string cork_;
  bool cork_after_pending_ = false;  // replies to earlier writes were due when collecting began
  std::optional<action> held_;
};

}  // namespace algo
}  // namespace smtp
