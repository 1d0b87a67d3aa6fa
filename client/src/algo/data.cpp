#include "smtp/algo/data.hpp"

#include <algorithm>
#include <stdexcept>

#include "smtp/algo/lost_after_end.hpp"
#include "smtp/exceptions.hpp"

namespace smtp::algo {

DataAlgo::DataAlgo(SessionState& session, std::string wire_body)
    : session_(&session), body_(std::move(wire_body)) {}

DataAlgo::DataAlgo(SessionState& session, BodySource& body) : session_(&session), source_(&body) {}

// The next encoded piece of a streamed body: `write`, or the last one as `command`.
action DataAlgo::next_piece() {
  const std::size_t target = std::max<std::size_t>(1, session_->body_chunk_size);
  body_.clear();
  try {
    if (raw_.size() < target) raw_.resize(target);
    while (!eof_ && body_.size() < target) {
      const std::size_t n =
          source_->read(std::span<char>(raw_.data(), std::min(target, target - body_.size())));
      if (n == 0) {
        eof_ = true;
        encoder_.finish(body_);
      } else {
        encoder_.encode(std::string_view(raw_.data(), n), body_);
      }
    }
  } catch (const std::invalid_argument& e) {
    error_ = std::make_exception_ptr(std::invalid_argument(
        std::string(e.what()) +
        "; the transaction was abandoned and the connection closed without ending the message"));
    state_ = state::closing;
    return action::close();
  } catch (...) {
    error_ = std::current_exception();
    state_ = state::closing;
    return action::close();
  }
  if (eof_) {
    state_ = state::body_sent;
    return action::command(body_, reply_to::end_of_data);
  }
  state_ = state::body_writing;
  return action::write(body_);
}

action DataAlgo::resume(const step_result& r) {
  switch (state_) {
    case state::start:
      state_ = state::data_sent;
      return action::command("data\r\n", reply_to::data);
    case state::data_sent:
      if (r.error) break;
      if (r.reply.code != 354) {
        last_ = r.reply;
        error_ = std::make_exception_ptr(SMTPDataError(r.reply.code, r.reply.text));
        state_ = state::done;
        return action::done();
      }
      expected_ =
          session_->lmtp ? std::max<std::size_t>(1, session_->accepted_recipients.size()) : 1;
      if (source_) return next_piece();
      state_ = state::body_sent;
      return action::command(body_, reply_to::end_of_data);
    case state::body_writing:
      if (r.error) break;
      return next_piece();
    case state::body_sent: {
      if (r.error) {
        // After the final dot: the message may or may not have been delivered (LMTP: to the
        // recipients not answered yet).
        RefusedRecipients refused;
        for (const auto& [rcpt, reply] : replies_) {
          if (!reply.positive()) refused.emplace(rcpt, reply);
        }
        error_ = lost_after_end(r.error, session_->lmtp, session_->accepted_recipients,
                                replies_.size(), refused);
        session_->accepted_recipients.clear();
        state_ = state::done;
        return action::done();
      }
      last_ = r.reply;
      const std::size_t i = replies_.size();
      const auto& rcpts = session_->accepted_recipients;
      replies_.emplace_back(i < rcpts.size() ? rcpts[i] : std::string(), r.reply);
      if (replies_.size() < expected_) return action::read_reply(reply_to::end_of_data);
      session_->accepted_recipients.clear();
      state_ = state::done;
      return action::done();
    }
    case state::closing:
      session_->accepted_recipients.clear();
      state_ = state::done;
      return action::done();
    case state::done:
      return action::done();
  }
  error_ = r.error;
  state_ = state::done;
  return action::done();
}

}  // namespace smtp::algo
