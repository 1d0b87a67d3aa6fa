#include "smtp/reply_pairing.hpp"

#include <algorithm>
#include <initializer_list>
#include <string>

#include "smtp/exceptions.hpp"

namespace smtp {

namespace {

bool one_of(int code, std::initializer_list<int> codes) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

}  // namespace

std::string_view reply_to_name(reply_to command) {
  switch (command) {
    case reply_to::any:
      return "a command";
    case reply_to::greeting:
      return "the greeting";
    case reply_to::hello:
      return "EHLO/HELO";
    case reply_to::mail:
      return "MAIL";
    case reply_to::rcpt:
      return "RCPT";
    case reply_to::data:
      return "DATA";
    case reply_to::end_of_data:
      return "the end of data";
    case reply_to::bdat:
      return "BDAT";
    case reply_to::rset:
      return "RSET";
    case reply_to::noop:
      return "NOOP";
    case reply_to::quit:
      return "QUIT";
    case reply_to::starttls:
      return "STARTTLS";
    case reply_to::auth:
      return "AUTH";
    case reply_to::vrfy:
      return "VRFY";
    case reply_to::expn:
      return "EXPN";
    case reply_to::help:
      return "HELP";
  }
  return "a command";
}

bool reply_fits(reply_to command, int code) {
  if (command == reply_to::any) return true;
  if (command == reply_to::rset) return code == 250 || code == 421;
  if (code >= 400 && code <= 599) return true;
  switch (command) {
    case reply_to::any:
      return true;
    case reply_to::greeting:
      return code == 220;
    case reply_to::hello:
    case reply_to::mail:
    case reply_to::end_of_data:
    case reply_to::bdat:
    case reply_to::noop:
      return code == 250;
    case reply_to::rcpt:
      return one_of(code, {250, 251});
    case reply_to::data:
      return code == 354;
    case reply_to::rset:
      return code == 250;
    case reply_to::quit:
      return code == 221;
    case reply_to::starttls:
      return code == 220;
    case reply_to::auth:
      return one_of(code, {235, 334});
    case reply_to::vrfy:
      return one_of(code, {250, 251, 252});
    case reply_to::expn:
      return one_of(code, {250, 252});
    case reply_to::help:
      return one_of(code, {211, 214});
  }
  return true;
}

void check_reply_fits(reply_to command, const Reply& reply) {
  if (reply_fits(command, reply.code)) return;
  throw SMTPProtocolError("a " + std::to_string(reply.code) + " reply cannot answer " +
                              std::string(reply_to_name(command)) +
                              " (RFC 5321 section 4.3.2): the replies are out of step with the "
                              "commands",
                          std::to_string(reply.code) + " " + reply.text);
}

}  // namespace smtp
