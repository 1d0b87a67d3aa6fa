#include "smtp/algo/auth.hpp"

#include "smtp/exceptions.hpp"
#include "smtp/sasl/redact.hpp"

namespace smtp::algo {

AuthAlgo::AuthAlgo(sasl::mechanism& mech, bool initial_response_ok, bool already_authenticated)
    : mech_(&mech),
      initial_response_ok_(initial_response_ok),
      already_authenticated_(already_authenticated) {}

action AuthAlgo::finish(std::exception_ptr e) {
  error_ = std::move(e);
  state_ = state::done;
  return action::done();
}

action AuthAlgo::send(std::string line, bool in_exchange) {
  line_ = std::move(line);
  line_ += "\r\n";
  shown_ = sasl::redact_client_line(line_, in_exchange);
  return action::command_redacted(line_, shown_, reply_to::auth);
}

action AuthAlgo::resume(const step_result& r) {
  switch (state_) {
    case state::start:
      state_ = state::exchange;
      return send(mech_->auth_command(initial_response_ok_), false);
    case state::exchange:
      if (r.error) return finish(r.error);
      reply_ = r.reply;
      if (reply_.code == 334) {
        const sasl::step_result step = mech_->step(reply_.text);
        if (!step) {
          // RFC 4954 section 4: "*" cancels; the server answers 501, then we report our reason.
          cancel_reason_ = step.error().message();
          state_ = state::cancelled;
          return send("*", true);
        }
        return send(step.response(), true);
      }
      if (reply_.code == 235) {
        if (auto e = mech_->on_success(reply_.text)) {
          return finish(std::make_exception_ptr(SMTPAuthenticationError(
              reply_.code, "server said " + reply_.text + " but: " + e->message())));
        }
        return finish(nullptr);
      }
      if (reply_.code == 503 && already_authenticated_) return finish(nullptr);
      // 535, 454, 534, 504, 503 ...: final; no other mechanism is tried.
      return finish(std::make_exception_ptr(SMTPAuthenticationError(reply_.code, reply_.text)));
    case state::cancelled:
      if (r.error) return finish(r.error);
      reply_ = r.reply;
      return finish(std::make_exception_ptr(SMTPAuthenticationError(
          reply_.code, "authentication cancelled: " + cancel_reason_.value_or("") +
                           " (server: " + reply_.text + ")")));
    case state::done:
      break;
  }
  return action::done();
}

}  // namespace smtp::algo
