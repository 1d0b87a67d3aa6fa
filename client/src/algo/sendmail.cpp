#include "smtp/algo/sendmail.hpp"

#include "smtp/body_encoder.hpp"
#include "smtp/command_encoder.hpp"

namespace smtp::algo {

SendmailAlgo::SendmailAlgo(SessionState& session, std::string_view from_addr,
                           std::vector<std::string> to_addrs, std::string_view msg,
                           std::vector<std::string> mail_options,
                           std::vector<std::string> rcpt_options)
    : session_(&session),
      from_(from_addr),
      to_(std::move(to_addrs)),
      mail_options_(std::move(mail_options)),
      rcpt_options_(std::move(rcpt_options)),
      hello_(session) {
  // Everything that becomes a command or the body is checked here, before the first write.
  (void)command::mail(from_, mail_options_);
  for (const auto& to : to_) rcpt_lines_.push_back(command::rcpt(to, rcpt_options_));
  BodyEncoder encoder;
  encoder.encode(msg, wire_body_);
  size_ = encoder.message_size();
  encoder.finish(wire_body_);
}

action SendmailAlgo::finish(std::exception_ptr e) {
  error_ = std::move(e);
  state_ = state::done;
  return action::done();
}

// A refusal: 421 means the server is closing (RFC 5321 section 3.8), so close without RSET;
// otherwise RSET to leave the session clean, as smtplib's _rset().
action SendmailAlgo::fail(std::exception_ptr e, const Reply& reply) {
  pending_ = std::move(e);
  if (reply.code == 421) {
    state_ = state::closing;
    return action::close();
  }
  state_ = state::rset;
  return action::command("rset\r\n");
}

action SendmailAlgo::start_rcpt() {
  state_ = state::rcpt;
  return action::command(rcpt_lines_[next_rcpt_]);
}

// One reply of the pipelined group: MAIL's, then one per RCPT, then DATA's.
action SendmailAlgo::pipe_reply(const step_result& r) {
  if (r.error) return finish(r.error);
  const std::size_t i = pipe_replies_.size();
  pipe_replies_.push_back(r.reply);
  if (r.reply.code == 421) {
    // The server is closing: nothing more will come (RFC 5321 section 3.8).
    if (i == 0) {
      return fail(std::make_exception_ptr(SMTPSenderRefused(r.reply.code, r.reply.text, from_)),
                  r.reply);
    }
    if (i <= to_.size()) {
      if (pipe_replies_[0].code == 250) {
        for (std::size_t k = 1; k < i; ++k) {
          const Reply& rr = pipe_replies_[k];
          if (rr.code != 250 && rr.code != 251) refused_[to_[k - 1]] = rr;
        }
        refused_[to_[i - 1]] = r.reply;
        return fail(std::make_exception_ptr(SMTPRecipientsRefused(refused_)), r.reply);
      }
      return fail(std::make_exception_ptr(
                      SMTPSenderRefused(pipe_replies_[0].code, pipe_replies_[0].text, from_)),
                  r.reply);
    }
  }
  if (pipe_replies_.size() < to_.size() + 2) return action::read_reply();
  return pipe_evaluate();
}

action SendmailAlgo::pipe_evaluate() {
  const Reply& mail = pipe_replies_.front();
  const Reply& data = pipe_replies_.back();
  std::exception_ptr e;
  if (mail.code != 250) {
    e = std::make_exception_ptr(SMTPSenderRefused(mail.code, mail.text, from_));
  } else {
    for (std::size_t k = 0; k < to_.size(); ++k) {
      const Reply& rr = pipe_replies_[k + 1];
      if (rr.code == 250 || rr.code == 251) {
        accepted_.push_back(to_[k]);
        session_->accepted_recipients.push_back(to_[k]);
      } else {
        refused_[to_[k]] = rr;
      }
    }
    if (accepted_.empty()) {
      e = std::make_exception_ptr(SMTPRecipientsRefused(refused_));
    } else if (data.code != 354) {
      e = std::make_exception_ptr(SMTPDataError(data.code, data.text));
    }
  }
  if (!e) {
    state_ = state::body;
    return action::command(wire_body_);
  }
  if (data.code == 354) {
    // RFC 2920 section 3.1: DATA was accepted with nothing valid to deliver; end the empty
    // message so the session stays in step, then reset.
    pending_ = std::move(e);
    session_->accepted_recipients.clear();
    state_ = state::pipe_abort_dot;
    return action::command(".\r\n");
  }
  return fail(std::move(e), data.code == 421 ? data : Reply{});
}

action SendmailAlgo::resume(const step_result& r) {
  switch (state_) {
    case state::hello: {
      const action a = hello_.resume(r);
      if (a.kind != action_kind::done) return a;
      if (hello_.error()) return finish(hello_.error());
      std::vector<std::string> options;
      if (session_->does_esmtp) {
        for (const auto& o : mail_options_) {
          if ((o == "SMTPUTF8" || o == "smtputf8" || o == "SmtpUtf8") &&
              !has_feature(session_->esmtp_features, "smtputf8")) {
            return finish(
                std::make_exception_ptr(SMTPNotSupportedError("SMTPUTF8 not supported by server")));
          }
        }
        if (has_feature(session_->esmtp_features, "size")) {
          options.push_back("size=" + std::to_string(size_));
        }
        options.insert(options.end(), mail_options_.begin(), mail_options_.end());
      }
      line_ = command::mail(from_, options);
      // smtplib sends RCPT options only to an ESMTP server.
      if (!session_->does_esmtp && !rcpt_options_.empty()) {
        rcpt_lines_.clear();
        for (const auto& to : to_) rcpt_lines_.push_back(command::rcpt(to, {}));
      }
      session_->accepted_recipients.clear();
      if (session_->allow_pipelining && !to_.empty() &&
          has_feature(session_->esmtp_features, "pipelining")) {
        batch_ = line_;
        for (const auto& l : rcpt_lines_) batch_ += l;
        batch_ += "data\r\n";
        state_ = state::pipe_written;
        return action::write(batch_);
      }
      state_ = state::mail;
      return action::command(line_);
    }
    case state::pipe_written:
      if (r.error) return finish(r.error);
      state_ = state::pipe_replies;
      return action::read_reply();
    case state::pipe_replies:
      return pipe_reply(r);
    case state::pipe_abort_dot:
      // The refusal is the news; a disconnect while ending the empty message does not hide it.
      if (r.error) return finish(pending_);
      return fail(pending_, r.reply.code == 421 ? r.reply : Reply{});
    case state::mail:
      if (r.error) return finish(r.error);
      if (r.reply.code != 250) {
        return fail(std::make_exception_ptr(SMTPSenderRefused(r.reply.code, r.reply.text, from_)),
                    r.reply);
      }
      if (to_.empty()) {
        return fail(std::make_exception_ptr(SMTPRecipientsRefused({})), {});
      }
      return start_rcpt();
    case state::rcpt: {
      if (r.error) return finish(r.error);
      const std::string& to = to_[next_rcpt_];
      if (r.reply.code == 250 || r.reply.code == 251) {
        accepted_.push_back(to);
        session_->accepted_recipients.push_back(to);
      } else {
        refused_[to] = r.reply;
        if (r.reply.code == 421) {
          return fail(std::make_exception_ptr(SMTPRecipientsRefused(refused_)), r.reply);
        }
      }
      if (++next_rcpt_ < to_.size()) return start_rcpt();
      if (accepted_.empty()) {
        return fail(std::make_exception_ptr(SMTPRecipientsRefused(refused_)), {});
      }
      state_ = state::data;
      return action::command("data\r\n");
    }
    case state::data:
      if (r.error) return finish(r.error);
      if (r.reply.code != 354) {
        return fail(std::make_exception_ptr(SMTPDataError(r.reply.code, r.reply.text)), r.reply);
      }
      state_ = state::body;
      return action::command(wire_body_);
    case state::body:
    case state::lmtp_more:
      if (r.error) return finish(r.error);
      data_replies_.emplace_back(session_->lmtp ? accepted_[lmtp_index_] : std::string(), r.reply);
      if (!session_->lmtp) {
        if (r.reply.code != 250) {
          return fail(std::make_exception_ptr(SMTPDataError(r.reply.code, r.reply.text)), r.reply);
        }
        session_->accepted_recipients.clear();
        return finish(nullptr);
      }
      // RFC 2033 section 4.2: one reply per accepted recipient, in RCPT order.
      if (r.reply.code != 250) {
        refused_[accepted_[lmtp_index_]] = r.reply;
        ++lmtp_refused_;
      }
      if (++lmtp_index_ < accepted_.size()) {
        state_ = state::lmtp_more;
        return action::read_reply();
      }
      session_->accepted_recipients.clear();
      if (lmtp_refused_ == accepted_.size()) {
        return fail(std::make_exception_ptr(SMTPRecipientsRefused(refused_)), {});
      }
      return finish(nullptr);
    case state::rset:
      // A disconnect during RSET is swallowed, as smtplib's _rset(): the refusal is the news.
      return finish(pending_);
    case state::closing:
      return finish(pending_);
    case state::done:
      break;
  }
  return action::done();
}

}  // namespace smtp::algo
