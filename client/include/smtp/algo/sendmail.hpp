// The whole mail transaction of smtplib's sendmail(): hello if needed, MAIL, RCPT..., DATA or
// BDAT, the body streamed in bounded pieces, and for LMTP one reply per accepted recipient.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtp/algo/action.hpp"
#include "smtp/algo/data.hpp"
#include "smtp/algo/hello.hpp"
#include "smtp/body_source.hpp"
#include "smtp/exceptions.hpp"
#include "smtp/session.hpp"
#include "smtp/wire/body_encoder.hpp"

namespace smtp::algo {

// Outcome as smtplib's: refused() maps each refused recipient to its reply when at least one was
// accepted; otherwise error() is SMTPSenderRefused, SMTPRecipientsRefused, SMTPDataError,
// SMTPHeloError or a disconnect. After a refusal the algorithm sends RSET (a failing RSET is
// ignored), except after a 421, where it closes the connection instead.
// Deliberate differences from smtplib: RSET also follows a non-354 reply to DATA; for LMTP a
// recipient refused after the final dot is added to refused(), and when every recipient is
// refused, error() is SMTPRecipientsRefused with all of them.
//
// PIPELINING (RFC 2920): when the server advertises it and session.allow_pipelining is set, MAIL,
// every RCPT and DATA (or the first BDAT chunk) go out in one write and the replies are read in
// order; every reply is read and checked even after a refused MAIL. A 421 stops the reading and
// closes. If DATA got 354 although MAIL or every RCPT was refused, a lone "." ends the empty
// message before the refusal is reported (and RSET follows as usual).
//
// Streaming: the body is pulled from a BodySource in pieces of session.body_chunk_size and each
// piece is a `write` action (the last one a `command` that reads the final reply), so memory stays
// bounded whatever the message size. The first piece (or BDAT chunk) is read before MAIL is sent,
// so a NUL there (any NUL in a message smaller than a piece) or a source failing at once is
// reported with nothing written. A NUL (or a read error of the source) found later in the
// message abandons the transaction: the final dot (or BDAT LAST) is never sent, the connection
// is closed, and error() is std::invalid_argument naming the byte offset (or the source's error).
//
// CHUNKING (RFC 3030): when advertised and session.allow_chunking is set, the body goes as
// "BDAT n" chunks of up to session.bdat_chunk_size octets, without dot-stuffing (line endings are
// still normalised, and a final CRLF added, so the same bytes are delivered as with DATA), the
// last one "BDAT n LAST"; a non-250 is SMTPDataError (RSET follows, or close after 421). Without
// PIPELINING each chunk's reply is read before the next chunk is written. With PIPELINING the
// first chunk (up to body_chunk_size) rides in the same write as MAIL and RCPT, and up to four
// chunks are written before the oldest reply is read; after a refused chunk no new chunk is
// written, the replies of the chunks already sent (and LAST's, if it went) are read, then RSET.
// BODY=BINARYMIME in mail_options needs BINARYMIME and CHUNKING advertised (and chunking allowed)
// and sends the bytes untouched. LMTP + BDAT: one reply per accepted recipient after the LAST
// chunk.
//
// Checked against the server's EHLO before MAIL (SMTPNotSupportedError naming the option):
// BODY=8BITMIME needs 8BITMIME, SMTPUTF8 needs SMTPUTF8, RET/ENVID/NOTIFY/ORCPT need DSN,
// BODY=BINARYMIME needs BINARYMIME+CHUNKING. A message whose size is known (string, file) and
// larger than a SIZE limit n > 0 raises SMTPMessageTooLarge before MAIL. Checked in the
// constructor (std::invalid_argument): the RFC 3461 grammar of RET, ENVID, NOTIFY, ORCPT; a
// non-ASCII address without SMTPUTF8 in mail_options; every address, option, and (for a string)
// the body. When the server advertises ENHANCEDSTATUSCODES the reply exceptions carry the parsed
// RFC 3463 code in enhanced_status; otherwise enhanced_status is empty (RFC 2034).
class SendmailAlgo {
 public:
  // The message as a string (copied: it need not outlive the algorithm).
  SendmailAlgo(SessionState& session, std::string_view from_addr, std::vector<std::string> to_addrs,
               std::string_view msg, std::vector<std::string> mail_options,
               std::vector<std::string> rcpt_options);
  // The message streamed from `body`, which must outlive the algorithm.
  SendmailAlgo(SessionState& session, std::string_view from_addr, std::vector<std::string> to_addrs,
               BodySource& body, std::vector<std::string> mail_options,
               std::vector<std::string> rcpt_options);
  SendmailAlgo(SendmailAlgo&&) noexcept;
  SendmailAlgo& operator=(SendmailAlgo&&) noexcept;
  ~SendmailAlgo();

  action resume(const step_result& r);
  const RefusedRecipients& refused() const { return refused_; }
  std::exception_ptr error() const { return error_; }
  // The size announced with SIZE= (0 when unknown: streams without a size).
  std::size_t message_size() const { return static_cast<std::size_t>(size_.value_or(0)); }
  // The replies after the final dot: one (SMTP) or one per accepted recipient (LMTP).
  const std::vector<std::pair<std::string, Reply>>& data_replies() const { return data_replies_; }
  // True when the body went (or goes) as BDAT chunks.
  bool chunked() const { return bdat_; }

  // Batched mode, for SendmanyAlgo (several messages over one pipelined connection): the end of the
  // message (the final piece with the dot, or BDAT ... LAST) is a `write` followed by a
  // `read_reply`, so the next message's group can go out before this one's final reply.
  // `rset_first` puts RSET at the front of a pipelined BDAT group: the previous message's BDAT LAST
  // may have been refused with its MAIL still open, and RSET after a finished transaction is a
  // no-op (RFC 5321 4.1.1.5). A 421 to that RSET closes and fails this message with an
  // SMTPResponseException whose text starts "RSET: ".
  void set_batched(bool rset_first) {
    batched_ = true;
    rset_first_ = rset_first;
  }
  // True once every byte of the message has been handed to the driver: only replies remain.
  bool all_written() const { return all_written_; }
  // A later message's commands are on the wire already: a refusal then ends this message without
  // RSET (its end of data finished the transaction, or the next BDAT group starts with RSET). A 421
  // still closes the connection.
  void set_successor_started() { successor_started_ = true; }

 private:
  enum class state {
    hello,
    mail,
    rcpt,
    data,
    body_writing,
    body,
    bdat,
    lmtp_more,
    rset,
    closing,
    pipe_written,
    pipe_replies,
    pipe_abort_dot,
    pipe_rset,           // batched BDAT group: RSET's reply comes first
    final_written,       // batched: the end of the message was written; read its reply next
    bdat_chunk_written,  // pipelined BDAT: a chunk written, its reply not read yet
    bdat_drain,          // reading the oldest outstanding chunk's reply
    bdat_last_written,   // LAST written: the outstanding replies, then LAST's
    bdat_drain_before_last,
    bdat_last_after_refusal,  // a chunk was refused after LAST went out: read LAST's reply
    idle_check,               // the last reply to a pipelined end read: nothing else may wait
    done
  };
  void check_input();
  std::exception_ptr check_extensions() const;
  action start_rcpt();
  action after_rcpts();
  action pipe_reply(const step_result& r);
  reply_to pipe_expect() const;
  bool lmtp_bdat() const;
  std::exception_ptr pending_chunk_error() const;
  std::optional<action> take_chunk_reply(const step_result& r);
  action pipe_evaluate();
  action final_reply(const Reply& reply);
  action next_data_piece();
  action next_bdat_chunk(std::size_t limit);
  void make_bdat_chunk(std::size_t limit);
  void produce(std::size_t target);
  action abandon(std::exception_ptr e);
  action lost_after_end(std::exception_ptr e);
  action fail(std::exception_ptr e, const Reply& reply);
  action finish(std::exception_ptr e);
  template <class E>
  std::exception_ptr reply_error(E e) const;

  SessionState* session_;
  std::string from_;
  std::vector<std::string> to_;
  std::vector<std::string> mail_options_;
  std::vector<std::string> rcpt_options_;
  std::unique_ptr<BodySource> owned_source_;  // a string message, copied
  BodySource* source_ = nullptr;
  std::optional<std::uint64_t> size_;
  bool binary_ = false;  // BODY=BINARYMIME: bytes untouched
  bool bdat_ = false;
  wire::BodyEncoder encoder_;
  std::string raw_;    // read buffer
  std::string out_;    // encoded piece (BDAT: with room for the command in front)
  std::string carry_;  // BDAT: encoded octets past the chunk limit, the next chunk's start
  std::size_t out_start_ = 0;
  bool eof_ = false;
  bool last_chunk_ = false;
  bool prefetched_ = false;  // out_ holds the first piece, read before MAIL
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
  // PIPELINING: the one write, and the replies collected (MAIL, each RCPT, DATA or BDAT).
  std::string batch_;
  std::vector<Reply> pipe_replies_;
  // Batched mode (see set_batched).
  bool batched_ = false;
  bool rset_first_ = false;
  bool rset_in_batch_ = false;
  bool all_written_ = false;
  bool successor_started_ = false;
  // The end of the message (final dot or BDAT ... LAST) went to the driver: from then on a lost
  // connection leaves the outcome unknown until the final reply (each LMTP reply) is read.
  bool end_written_ = false;
  bool final_read_ = false;
  // The last reply to the end is believed only after an expect_idle check (not batched).
  bool idle_checked_ = false;
  Reply held_final_;
  state after_final_ = state::body;
  // Pipelined BDAT chunks (CHUNKING + PIPELINING): chunks written whose reply is not read yet,
  // and the first refusal among them.
  bool pipe_chunks_ = false;
  std::size_t chunks_out_ = 0;
  std::optional<Reply> chunk_refusal_;
};

}  // namespace smtp::algo
