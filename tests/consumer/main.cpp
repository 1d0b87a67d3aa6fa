// A program written as a user of the installed package would: include the umbrella header, use the
// seed's names. It connects nowhere; it proves headers, link and exceptions are usable.
#include <smtp/smtp.hpp>

#include <iostream>

int main() {
  smtp::SMTP client;  // unconnected, as smtplib.SMTP() with no host
  try {
    client.noop();
  } catch (const smtp::SMTPServerDisconnected& e) {
    std::cout << "not connected, as expected: " << e.what() << "\n";
    return 0;
  }
  return 1;
}
