// Every library of the installed package used together, over loopback: the fake server's sink
// (smtp::fakeserver) receives a message from smtp::SMTP (smtp::client, its timeout given as a
// plain number of seconds), smtp::probe discovers the same server, smtp::recorder turns an
// exchange into a scenario that smtp::scenario parses back, smtp::sasl encodes.
#include <chrono>
#include <iostream>
#include <smtp/fakeserver/server.hpp>
#include <smtp/probe/probe.hpp>
#include <smtp/recorder/session_builder.hpp>
#include <smtp/sasl/base64.hpp>
#include <smtp/scenario/parser.hpp>
#include <smtp/smtp.hpp>

namespace {

int fail(const char* what) {
  std::cerr << "every_target: " << what << "\n";
  return 1;
}

}  // namespace

int main() {
  smtp::fakeserver::ServerOptions options;
  options.mode = smtp::fakeserver::ServerOptions::Mode::sink;
  options.listens.push_back({});
  smtp::fakeserver::Server server(options);
  server.start();
  const int port = server.listeners().at(0).port;
  server.run_in_background();

  smtp::SMTP client("127.0.0.1", port, std::nullopt, 10);
  const auto refused =
      client.sendmail("me@example.org", {"you@example.org"}, "Subject: hi\r\n\r\nhello\r\n");
  client.quit();
  if (!refused.empty()) return fail("recipient refused");

  smtp::probe::Options probe;
  probe.target.host = "127.0.0.1";
  probe.target.port = port;
  probe.check_timeout = std::chrono::seconds(10);
  const auto discovery = smtp::probe::discover(probe);
  if (discovery.ehlo_lines.empty()) return fail("the probe saw no EHLO reply");
  server.stop();

  smtp::recorder::SessionBuilder builder({});
  builder.server_bytes("220 mx.example.org ESMTP\r\n", 0);
  builder.client_bytes("QUIT\r\n", 1);
  builder.server_bytes("221 bye\r\n", 2);
  builder.server_closed(3);
  const std::string text = builder.finish().text();
  const auto scenario = smtp::scenario::parse_text(text, "recorded.scn", ".");
  if (scenario.steps.empty()) return fail("the recorded scenario has no steps");

  if (smtp::sasl::base64_encode("hi") != "aGk=") return fail("base64");
  std::cout << "every exported library used; " << server.summary().messages
            << " message(s) through the sink\n";
  return server.summary().messages == 1 ? 0 : 1;
}
