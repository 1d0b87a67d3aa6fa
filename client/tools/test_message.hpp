// smtp-client: the message sent when no --data is given, as swaks builds one: Date, To, From,
// Subject, Message-Id and X-Mailer headers, then "This is a test mailing". --header "Name: value"
// replaces the default header of that name (or adds one); --body replaces the text.
#pragma once

#include <ctime>
#include <string>
#include <vector>

namespace smtp_client {

struct TestMessage {
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> headers;  // "Name: value", in order
  std::string body;                  // empty: "This is a test mailing"
  std::string hostname;              // for the Message-Id
  std::string mailer;                // X-Mailer
};

// The message with CRLF line ends. Throws std::invalid_argument for a header that is not
// "Name: value" (a name of printable ASCII without ':'), or that holds CR or LF.
std::string build_test_message(const TestMessage& m, std::time_t now);

}  // namespace smtp_client
