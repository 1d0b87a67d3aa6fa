// HELO / EHLO / LHLO, and smtplib's ehlo_or_helo_if_needed() (EHLO first, HELO as fallback).
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "smtp/algo/action.hpp"
#include "smtp/session.hpp"

namespace smtp::algo {

// One HELO or EHLO (LHLO for LMTP); records the reply in the session as smtplib does: helo_resp,
// or ehlo_resp + does_esmtp + esmtp_features (features cleared before the command is sent).
// The constructor refuses a bad hostname (std::invalid_argument) before anything is written.
class HelloAlgo {
 public:
  enum class kind { helo, ehlo };
  HelloAlgo(SessionState& session, kind k, std::string_view name);
  action resume(const step_result& r);
  const Reply& reply() const { return reply_; }
  std::exception_ptr error() const { return error_; }

 private:
  SessionState* session_;
  kind kind_;
  std::string line_;
  bool sent_ = false;
  Reply reply_;
  std::exception_ptr error_;
};

// Nothing when the session already said hello; else EHLO, and HELO when EHLO is not 2xx; raises
// SMTPHeloError when HELO is not 2xx either.
class EhloOrHeloAlgo {
 public:
  explicit EhloOrHeloAlgo(SessionState& session);
  action resume(const step_result& r);
  std::exception_ptr error() const { return error_; }

 private:
  enum class state { start, ehlo, helo, done };
  SessionState* session_;
  state state_ = state::start;
  HelloAlgo ehlo_;
  HelloAlgo helo_;
  std::exception_ptr error_;
};

}  // namespace smtp::algo
