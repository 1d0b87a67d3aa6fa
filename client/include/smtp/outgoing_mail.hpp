// What SMTP::sendmail_many() and AsyncSMTP::sendmail_many() take and give back, per message.
#pragma once

#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "smtp/body_source.hpp"
#include "smtp/exceptions.hpp"
#include "smtp/reply.hpp"

namespace smtp {

// One message of sendmail_many(): the arguments sendmail() takes.
struct OutgoingMail {
  std::string from_addr;
  std::vector<std::string> to_addrs;
  std::string msg;             // the message, unless `body` is set
  BodySource* body = nullptr;  // streamed instead of `msg`; must outlive the call
  std::vector<std::string> mail_options;
  std::vector<std::string> rcpt_options;
};

// What sendmail() would have returned (refused) or raised (error) for that message.
struct MailResult {
  RefusedRecipients refused;
  std::exception_ptr error;  // null: accepted for at least one recipient
  // The replies after the end of the message: one (SMTP) or one per accepted recipient (LMTP).
  std::vector<std::pair<std::string, Reply>> data_replies;
  bool ok() const { return !error; }
};

}  // namespace smtp
