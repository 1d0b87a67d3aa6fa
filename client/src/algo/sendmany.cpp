#include "smtp/algo/sendmany.hpp"

#include <stdexcept>

#include "smtp/capabilities.hpp"

namespace smtp::algo {

namespace {

// Outstanding replies allowed before the client stops writing new groups and reads: a few KiB of
// replies, far below any socket buffer.
constexpr std::size_t reply_budget = 256;

// Writes up to this size are collected and sent together; larger ones (streamed body pieces) go
// to the driver as they are.
constexpr std::size_t cork_limit = 16 * 1024;

// A message whose outcome already says "may or may not have been delivered" (the connection
// went before its reply): no anchor can make it more certain.
bool data_replies_lost(const MailResult& out) {
  if (!out.error) return false;
  try {
    std::rethrow_exception(out.error);
  } catch (const SMTPServerDisconnected& e) {
    return e.delivery_unknown();
  } catch (...) {
    return false;
  }
}

bool is_helo_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const SMTPHeloError&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

SendmanyAlgo::SendmanyAlgo(SessionState& session, std::span<const OutgoingMail> mails,
                           std::size_t depth)
    : session_(&session), mails_(mails), depth_(depth == 0 ? 1 : depth), results_(mails.size()) {}

bool SendmanyAlgo::pipelining_active() const {
  return session_->allow_pipelining && has_feature(session_->esmtp_features, "pipelining");
}

std::size_t SendmanyAlgo::outstanding_replies() const {
  std::size_t n = 0;
  for (const Slot& s : flight_) n += s.replies;
  return n;
}

// Starts the next message (constructing its algorithm); false when its input was refused at
// once (its result is then set and nothing was written).
bool SendmanyAlgo::start_next() {
  const std::size_t i = next_++;
  const OutgoingMail& m = mails_[i];
  const bool overlapping = !flight_.empty();
  try {
    if (m.body != nullptr) {
      flight_.push_back(Slot{
          i,
          SendmailAlgo(*session_, m.from_addr, m.to_addrs, *m.body, m.mail_options, m.rcpt_options),
          0});
    } else {
      flight_.push_back(Slot{
          i,
          SendmailAlgo(*session_, m.from_addr, m.to_addrs, m.msg, m.mail_options, m.rcpt_options),
          0});
    }
  } catch (...) {
    results_[i].error = std::current_exception();
    return false;
  }
  Slot& s = flight_.back();
  s.replies = 3 + m.to_addrs.size() * (session_->lmtp ? 2 : 1);
  s.algo.set_batched(overlapping);
  if (overlapping) ++overlapped_;
  return true;
}

void SendmanyAlgo::finish_slot(Slot& s) {
  MailResult& out = results_[s.index];
  out.refused = s.algo.refused();
  out.error = s.algo.error();
  out.data_replies = s.algo.data_replies();
  if (out.error && is_helo_error(out.error)) fatal_ = out.error;
  // The outcome of a message sent in full rests on replies whose pairing is confirmed only by a
  // later anchor (see resume()): with PIPELINING other commands' replies were due meanwhile, and
  // without it a reply injected before the one to the end would hide that one.
  if (s.algo.all_written() && !data_replies_lost(out)) {
    provisional_.push_back(s.index);
  }
  if (&s == &flight_.front()) {
    flight_.pop_front();
  } else if (&s == &flight_.back()) {
    flight_.pop_back();
  } else {
    throw std::logic_error("SendmanyAlgo: a message in the middle of the pipeline finished");
  }
}

void SendmanyAlgo::fail_all_remaining() {
  for (Slot& s : flight_) {
    // The driver's own error (a timeout stays a timeout) goes to one message only: the one that
    // was talking when the connection went, unless it has had it already. The others say what is
    // known about them.
    std::exception_ptr e;
    if (last_error_ && !error_delivered_) {
      e = last_error_;
      error_delivered_ = true;
    } else {
      e = std::make_exception_ptr(SMTPServerDisconnected(
          s.algo.all_written()
              ? "connection lost before the server's reply to this message"
              : "connection lost before this message was sent in full: not delivered"));
    }
    results_[s.index].error = s.algo.all_written() ? mark_delivery_unknown(e) : e;
  }
  flight_.clear();
  // A lost connection (or a reply that could not answer its command) leaves the pairing of the
  // replies read since the last anchor in doubt. A 421 does not: it is a reply that fits where it
  // came, the server's own decision to close, so the replies before it were in step.
  if (last_error_) doubt_provisional();
  for (; next_ < mails_.size(); ++next_) {
    results_[next_].error = fatal_
                                ? fatal_
                                : std::make_exception_ptr(SMTPServerDisconnected(
                                      "connection lost before this message was started: not sent"));
  }
}

bool SendmanyAlgo::any_waiting() const {
  for (const Slot& s : flight_) {
    if (s.waiting) return true;
  }
  return false;
}

// Writes the collected bytes in one piece: the server wakes once for the previous message's end
// and the next message's group.
action SendmanyAlgo::flush() {
  route_ = route::flush;
  return checked(action{action_kind::write, cork_, nullptr, cork_after_pending_});
}

// Notes whether the driver will check that nothing is waiting before it writes `a`.
action SendmanyAlgo::checked(action a) {
  checked_write_ =
      (a.kind == action_kind::write || a.kind == action_kind::command) && !a.replies_pending;
  return a;
}

// A write or command too large to copy (a streamed body piece), handed to the driver as it is.
action SendmanyAlgo::direct(const action& a) {
  const bool pending = any_waiting();
  if (!pending) {
    route_ = route::tail;
    return checked(a);
  }
  if (a.kind == action_kind::write) {
    route_ = route::tail;
    action w = a;
    w.replies_pending = true;
    return w;
  }
  route_ = route::split_write;  // the command's reply is read in its turn
  split_expect_ = a.expect;
  return action{action_kind::write, a.bytes, a.trace, true};
}

// What the driver does next, given the action one message's algorithm asked for; nullopt when
// the choice goes back to choose() (a read that must wait its turn, a finished message).
std::optional<action> SendmanyAlgo::handle(Slot& s, const action& a) {
  switch (a.kind) {
    case action_kind::done:
      finish_slot(s);
      return std::nullopt;
    case action_kind::read_reply:
      s.waiting = true;
      s.expect = a.expect;
      return std::nullopt;
    case action_kind::expect_idle:
      throw std::logic_error("SendmanyAlgo: a batched message asked for an idle check");
    case action_kind::close:
      dead_ = true;
      cork_.clear();
      held_.reset();
      route_ = &s == &flight_.front() ? route::front : route::tail;
      return a;
    case action_kind::write:
    case action_kind::command:
    case action_kind::tls_handshake:
      if (&s != &flight_.back() || a.kind == action_kind::tls_handshake) {
        throw std::logic_error("SendmanyAlgo: a message wrote out of turn");
      }
      // Earlier messages still wait for replies: this one's bytes follow theirs on the wire, so
      // none of them may send RSET any more.
      for (Slot& other : flight_) {
        if (&other != &s) other.algo.set_successor_started();
      }
      if (a.bytes.size() > cork_limit || a.trace != nullptr) {
        if (!cork_.empty()) {
          held_ = a;  // written right after the collected bytes
          return flush();
        }
        return direct(a);
      }
      // Collected, and written when a reply must be read: the algorithm goes on as if written.
      if (cork_.empty()) cork_after_pending_ = any_waiting();
      cork_.append(a.bytes);
      if (a.kind == action_kind::command) {
        s.waiting = true;
        s.expect = a.expect;
        return std::nullopt;
      }
      return handle(s, s.algo.resume({}));
  }
  return std::nullopt;
}

// The pairing of replies to commands is in doubt: every provisional outcome becomes "sent in
// full, may or may not have been delivered" (its reply may have been another command's).
void SendmanyAlgo::doubt_provisional() {
  for (const std::size_t i : provisional_) {
    MailResult& out = results_[i];
    std::string what =
        "the replies went out of step with the commands before this message's "
        "outcome was confirmed (its reply may have been another command's)";
    if (out.error) {
      try {
        std::rethrow_exception(out.error);
      } catch (const std::exception& e) {
        what += "; it seemed: " + std::string(e.what());
      }
    } else {
      what += "; it seemed accepted";
    }
    out.error = SMTPServerDisconnected(what).marked_delivery_unknown();
    out.refused.clear();
  }
  provisional_.clear();
}

action SendmanyAlgo::choose() {
  for (;;) {
    if (dead_ || fatal_) {
      cork_.clear();
      fail_all_remaining();
      return action::done();
    }
    const bool may_start =
        next_ < mails_.size() &&
        (flight_.empty() ||
         (flight_.back().algo.all_written() && pipelining_active() && flight_.size() < depth_ &&
          outstanding_replies() + 3 + mails_[next_].to_addrs.size() <= reply_budget));
    if (may_start) {
      if (!start_next()) continue;
      Slot& t = flight_.back();
      if (auto a = handle(t, t.algo.resume({}))) return *a;
      continue;
    }
    if (!cork_.empty()) return flush();
    if (flight_.empty()) {
      if (provisional_.empty()) return action::done();
      // The last anchor: every reply has been read and nothing more is waiting (decrypted or
      // not). A reply still there means one was duplicated and the pairing was off.
      route_ = route::idle_check;
      return action::expect_idle();
    }
    if (!flight_.front().waiting) {
      throw std::logic_error("SendmanyAlgo: the oldest message is not waiting for a reply");
    }
    route_ = route::front;
    return action::read_reply(flight_.front().expect);
  }
}

action SendmanyAlgo::resume(const step_result& r) {
  if (r.error) {
    dead_ = true;  // the driver has closed the connection
    last_error_ = r.error;
    error_delivered_ = false;
  } else if (checked_write_) {
    // An anchor: the write just made was checked first (nothing was waiting), so every reply
    // before it was read in step.
    provisional_.clear();
  }
  checked_write_ = false;
  switch (route_) {
    case route::idle_check:
      if (r.error) {
        error_delivered_ = true;  // it concerns the provisional outcomes, not one message
        doubt_provisional();
      }
      provisional_.clear();
      return action::done();
    case route::start:
      return choose();
    case route::flush: {
      cork_.clear();
      if (held_ && !dead_) {
        const action a = *held_;
        held_.reset();
        return direct(a);
      }
      held_.reset();
      return choose();
    }
    case route::tail: {
      Slot& t = flight_.back();
      if (r.error) error_delivered_ = true;
      if (auto a = handle(t, t.algo.resume(r))) return *a;
      return choose();
    }
    case route::split_write: {
      Slot& t = flight_.back();
      if (r.error) {
        error_delivered_ = true;
        if (auto a = handle(t, t.algo.resume(r))) return *a;
        return choose();
      }
      t.waiting = true;  // the command's reply, in its turn
      t.expect = split_expect_;
      return choose();
    }
    case route::front: {
      Slot& f = flight_.front();
      f.waiting = false;
      if (r.error) {
        error_delivered_ = true;
      } else if (f.expect == reply_to::data && r.reply.code == 354) {
        // An anchor: 354 answers DATA and nothing else, so every reply before it was paired
        // with its own command; the outcomes read before it are confirmed.
        provisional_.clear();
      }
      if (auto a = handle(f, f.algo.resume(r))) return *a;
      return choose();
    }
  }
  return action::done();
}

}  // namespace smtp::algo
