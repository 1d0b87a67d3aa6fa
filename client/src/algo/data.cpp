#include "smtp/algo/data.hpp"

#include <algorithm>

#include "smtp/exceptions.hpp"

namespace smtp::algo {

DataAlgo::DataAlgo(SessionState& session, std::string wire_body)
    : session_(&session), body_(std::move(wire_body)) {}

action DataAlgo::resume(const step_result& r) {
  switch (state_) {
    case state::start:
      state_ = state::data_sent;
      return action::command("data\r\n");
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
      state_ = state::body_sent;
      return action::command(body_);
    case state::body_sent: {
      if (r.error) break;
      last_ = r.reply;
      const std::size_t i = replies_.size();
      const auto& rcpts = session_->accepted_recipients;
      replies_.emplace_back(i < rcpts.size() ? rcpts[i] : std::string(), r.reply);
      if (replies_.size() < expected_) return action::read_reply();
      session_->accepted_recipients.clear();
      state_ = state::done;
      return action::done();
    }
    case state::done:
      return action::done();
  }
  error_ = r.error;
  state_ = state::done;
  return action::done();
}

}  // namespace smtp::algo
