// One command line, one reply: docmd(), noop(), rset(), mail(), rcpt(), vrfy, expn, help, quit.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "smtp/algo/action.hpp"

namespace smtp::algo {

class CommandAlgo {
 public:
  // `expect`: the command whose replies are plausible (docmd() accepts any).
  explicit CommandAlgo(std::string line, reply_to expect = reply_to::any)
      : line_(std::move(line)), expect_(expect) {}
  action resume(const step_result& r) {
    if (!sent_) {
      sent_ = true;
      return action::command(line_, expect_);
    }
    error_ = r.error;
    reply_ = r.reply;
    return action::done();
  }
  const Reply& reply() const { return reply_; }
  std::exception_ptr error() const { return error_; }

 private:
  std::string line_;
  reply_to expect_;
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
  explicit ReadReplyAlgo(reply_to expect = reply_to::any) : expect_(expect) {}
  action resume(const step_result& r) {
    if (!asked_) {
      asked_ = true;
      return action::read_reply(expect_);
    }
    error_ = r.error;
    reply_ = r.reply;
    return action::done();
  }
  const Reply& reply() const { return reply_; }
  std::exception_ptr error() const { return error_; }

 private:
  reply_to expect_;
  bool asked_ = false;
  Reply reply_;
  std::exception_ptr error_;
};

}  // namespace smtp::algo
