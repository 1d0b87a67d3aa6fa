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
    // The oldest message was the one talking when the connection went: it gets the driver's own
    // error (a timeout stays a timeout); the others say what is known about them.
    if (last_error_ && &s == &flight_.front()) {
      results_[s.index].error = last_error_;
      continue;
    }
    results_[s.index].error =
        s.algo.all_written()
            ? std::make_exception_ptr(SMTPServerDisconnected(
                  "connection lost before the server's reply to this message: it was sent in "
                  "full and may or may not have been delivered"))
            : std::make_exception_ptr(SMTPServerDisconnected(
                  "connection lost before this message was sent in full: not delivered"));
  }
  flight_.clear();
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
  return action{action_kind::write, cork_, nullptr, cork_after_pending_};
}

// A write or command too large to copy (a streamed body piece), handed to the driver as it is.
action SendmanyAlgo::direct(const action& a) {
  const bool pending = any_waiting();
  if (!pending) {
    route_ = route::tail;
    return a;
  }
  if (a.kind == action_kind::write) {
    route_ = route::tail;
    action w = a;
    w.replies_pending = true;
    return w;
  }
  route_ = route::split_write;  // the command's reply is read in its turn
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
      return std::nullopt;
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
        return std::nullopt;
      }
      return handle(s, s.algo.resume({}));
  }
  return std::nullopt;
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
    if (flight_.empty()) return action::done();
    if (!flight_.front().waiting) {
      throw std::logic_error("SendmanyAlgo: the oldest message is not waiting for a reply");
    }
    route_ = route::front;
    return action::read_reply();
  }
}

action SendmanyAlgo::resume(const step_result& r) {
  if (r.error) {
    dead_ = true;  // the driver has closed the connection
    last_error_ = r.error;
  }
  switch (route_) {
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
      if (auto a = handle(t, t.algo.resume(r))) return *a;
      return choose();
    }
    case route::split_write: {
      Slot& t = flight_.back();
      if (r.error) {
        if (auto a = handle(t, t.algo.resume(r))) return *a;
        return choose();
      }
      t.waiting = true;  // the command's reply, in its turn
      return choose();
    }
    case route::front: {
      Slot& f = flight_.front();
      f.waiting = false;
      if (auto a = handle(f, f.algo.resume(r))) return *a;
      return choose();
    }
  }
  return action::done();
}

}  // namespace smtp::algo
