#include "smtp/algo/hello.hpp"

#include "smtp/exceptions.hpp"
#include "smtp/wire/command_encoder.hpp"

namespace smtp::algo {

HelloAlgo::HelloAlgo(SessionState& session, kind k, std::string_view name)
    : session_(&session), kind_(k) {
  const std::string_view host = name.empty() ? std::string_view(session.local_hostname) : name;
  wire::command::check_hostname(host);
  line_ = wire::command::line(k == kind::helo ? "helo" : session.ehlo_verb(), host);
}

action HelloAlgo::resume(const step_result& r) {
  if (!sent_) {
    sent_ = true;
    if (kind_ == kind::ehlo) session_->esmtp_features.clear();
    return action::command(line_, reply_to::hello);
  }
  if (r.error) {
    error_ = r.error;
    return action::done();
  }
  reply_ = r.reply;
  if (kind_ == kind::helo) {
    session_->helo_resp = reply_.text;
  } else {
    session_->ehlo_resp = reply_.text;
    if (reply_.code == 250) {
      session_->does_esmtp = true;
      session_->esmtp_features = parse_ehlo_features(reply_.text);
    }
  }
  return action::done();
}

EhloOrHeloAlgo::EhloOrHeloAlgo(SessionState& session)
    : session_(&session),
      ehlo_(session, HelloAlgo::kind::ehlo, {}),
      helo_(session, HelloAlgo::kind::helo, {}) {}

action EhloOrHeloAlgo::resume(const step_result& r) {
  switch (state_) {
    case state::start:
      if (session_->helo_resp || session_->ehlo_resp) {
        state_ = state::done;
        return action::done();
      }
      state_ = state::ehlo;
      return ehlo_.resume(r);
    case state::ehlo: {
      const action a = ehlo_.resume(r);
      if (a.kind != action_kind::done) return a;
      if (ehlo_.error()) {
        error_ = ehlo_.error();
        state_ = state::done;
        return action::done();
      }
      if (ehlo_.reply().positive()) {
        state_ = state::done;
        return action::done();
      }
      state_ = state::helo;
      return helo_.resume({});
    }
    case state::helo: {
      const action a = helo_.resume(r);
      if (a.kind != action_kind::done) return a;
      if (helo_.error()) {
        error_ = helo_.error();
      } else if (!helo_.reply().positive()) {
        error_ = std::make_exception_ptr(SMTPHeloError(helo_.reply().code, helo_.reply().text));
      }
      state_ = state::done;
      return action::done();
    }
    case state::done:
      break;
  }
  return action::done();
}

}  // namespace smtp::algo
