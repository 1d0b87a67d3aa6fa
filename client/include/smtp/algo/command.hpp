// One command line, one reply: docmd(), noop(), rset(), mail(), rcpt(), vrfy, expn, help, quit.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "smtp/algo/action.hpp"

namespace smtp::algo {

class CommandAlgo {
 public:
  explicit CommandAlgo(std::string line) : line_(std::move(line)) {}
  action resume(const step_result& r) {
    if (!sent_) {
      sent_ = true;
      return action::command(line_);
    }
    error_ = r.error;
    reply_ = r.reply;
    return action::done();
  }
  const Reply& reply() const { return reply_; }
  std::exception_ptr error() const { return error_; }

 private:
  std::string line_;
  bool sent_ = false;
  Reply reply_;
  std::exception_ptr error_;
};

// Writes one line and reads nothing: putcmd().
class WriteAlgo {
 public:
  explicit WriteAlgo(std::string line) : line_(std::move(line)) {}
  action resume(const step_result& r) {
    if (!sent_) {
      sent_ = true;
      return action::write(line_);
    }
    error_ = r.error;
    return action::done();
  }
  std::exception_ptr error() const { return error_; }

 private:
  std::string line_;
  bool sent_ = false;
  std::exception_ptr error_;
};

// Reads one reply without writing: the greeting after connect(), or getreply().
class ReadReplyAlgo {
 public:
  action resume(const step_result& r) {
    if (!asked_) {
      asked_ = true;
      return action::read_reply();
    }
    error_ = r.error;
    reply_ = r.reply;
    return action::done();
  }
  const Reply& reply() const { return reply_; }
  std::exception_ptr error() const { return error_; }

 private:
  bool asked_ = false;
  Reply reply_;
  std::exception_ptr error_;
};

}  // namespace smtp::algo
