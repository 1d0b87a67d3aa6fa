// A program written as a user of the installed package would: include the umbrella header, use the
// seed's names. It connects nowhere; it proves headers, link and exceptions are usable.
#include <iostream>
#include <smtp/smtp.hpp>
#include <stdexcept>

int main() {
  // Replies are aggregates usable with structured bindings; the protocol core links and works.
  smtp::wire::ReplyParser parser;
  parser.feed("250-mx.example\r\n250 SIZE 1000\r\n");
  const auto [code, text] = parser.take();
  if (code != 250 || smtp::parse_ehlo_features(text).count("size") != 1) return 1;

  // Input that would inject a command is refused before anything is sent.
  try {
    (void)smtp::wire::command::rcpt("a@example.com>\r\nRSET", {});
    return 1;
  } catch (const std::invalid_argument&) {
  }

  smtp::SMTP client;  // unconnected, as smtplib.SMTP() with no host
  try {
    client.noop();
  } catch (const smtp::SMTPServerDisconnected& e) {
    std::cout << "not connected, as expected: " << e.what() << "\n";
    return 0;
  }
  return 1;
}
