#include "smtp/algo/starttls.hpp"

#include "smtp/exceptions.hpp"

namespace smtp::algo {

StartTlsAlgo::StartTlsAlgo(SessionState& session) : session_(&session), hello_(session) {}

action StartTlsAlgo::finish(std::exception_ptr e) {
  error_ = std::move(e);
  state_ = state::done;
  return action::done();
}

action StartTlsAlgo::resume(const step_result& r) {
  switch (state_) {
    case state::hello: {
      const action a = hello_.resume(r);
      if (a.kind != action_kind::done) return a;
      if (hello_.error()) return finish(hello_.error());
      if (!has_feature(session_->esmtp_features, "starttls")) {
        return finish(std::make_exception_ptr(
            SMTPNotSupportedError("STARTTLS extension not supported by server.")));
      }
      state_ = state::command;
      return action::command(line_, reply_to::starttls);
    }
    case state::command:
      if (r.error) return finish(r.error);
      reply_ = r.reply;
      if (reply_.code != 220) {
        return finish(std::make_exception_ptr(SMTPResponseException(reply_.code, reply_.text)));
      }
      state_ = state::handshake;
      return action::tls_handshake();
    case state::handshake:
      // Whatever the handshake's outcome, nothing learnt in plaintext may be trusted any more.
      session_->forget_hello();
      return finish(r.error);
    case state::done:
      break;
  }
  return action::done();
}

}  // namespace smtp::algo
