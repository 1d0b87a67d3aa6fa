// Fuzz target: a whole client session (smtp::SMTP / smtp::LMTP) over an in-memory transport fed
// scripted server bytes, as curl's SMTP fuzzer does. The input chooses the class, a sequence of
// calls (sendmail, sendmail_many, send_message, ehlo/helo, verify, expn, help, noop, rset, docmd,
// mail/rcpt/data, login, starttls, quit) and the server's byte chunks. Property: every call returns
// or raises an smtp::SMTPException (the documented family), and every sendmail_many result is ok or
// holds one; anything else (another exception, a crash, a hang, UB under the sanitizers) is a
// finding. And whatever the server says, the client never writes a line containing a bare CR or LF,
// and never an end-of-data inside a message it sends.
#include <fuzzer/FuzzedDataProvider.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <smtp/client.hpp>
#include <smtp/exceptions.hpp>
#include <string>
#include <vector>

#include "fuzz_transport.hpp"

namespace {

constexpr std::size_t max_chunks = 24;  // server writes per session (curl's fuzzer: 11 replies)

// Every CR is followed by LF and every LF preceded by CR in what the client wrote.
void check_line_endings(const std::string& w) {
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (w[i] == '\r' && (i + 1 >= w.size() || w[i + 1] != '\n')) std::abort();
    if (w[i] == '\n' && (i == 0 || w[i - 1] != '\r')) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const bool lmtp = in.ConsumeBool();
  std::vector<std::uint8_t> calls;
  const std::size_t ncalls = in.ConsumeIntegralInRange<std::size_t>(1, 6);
  for (std::size_t i = 0; i < ncalls; ++i) calls.push_back(in.ConsumeIntegral<std::uint8_t>());

  smtp::fuzz::ScriptedServer server;
  for (std::size_t i = 0; i < max_chunks && in.remaining_bytes() > 0; ++i) {
    server.to_client.push_back(in.ConsumeRandomLengthString(4096));
  }

  const std::string msg =
      "From: a@example.org\r\nTo: b@example.org\r\nSubject: fuzz\r\n\r\n.\r\nline\n.\rend";
  std::unique_ptr<smtp::SMTP> client;
  if (lmtp) {
    client = std::make_unique<smtp::LMTP>();
  } else {
    client = std::make_unique<smtp::SMTP>();
  }
  client->set_local_hostname("client.example");
  client->set_allow_cleartext_auth(true);
  try {
    client->connect(std::make_unique<smtp::fuzz::ScriptedTransport>(server));
  } catch (const smtp::SMTPException&) {
    check_line_endings(server.written);
    return 0;
  }
  for (std::uint8_t c : calls) {
    try {
      switch (c % 17) {
        case 0:
          (void)client->sendmail("a@example.org", {"b@example.org", "c@example.org"}, msg);
          break;
        case 1:
          (void)client->send_message(msg);
          break;
        case 2:
          (void)client->ehlo();
          break;
        case 3:
          (void)client->helo();
          break;
        case 4:
          client->ehlo_or_helo_if_needed();
          break;
        case 5:
          (void)client->verify("b@example.org");
          break;
        case 6:
          (void)client->expn("list");
          break;
        case 7:
          (void)client->help();
          break;
        case 8:
          (void)client->noop();
          break;
        case 9:
          (void)client->rset();
          break;
        case 10:
          (void)client->docmd("ETRN", "example.org");
          break;
        case 11:
          (void)client->mail("a@example.org");
          (void)client->rcpt("b@example.org");
          (void)client->data(msg);
          break;
        case 12:
          (void)client->login("user", "secret");
          break;
        case 13:
          (void)client->starttls();
          break;
        case 14:
          (void)client->getreply();
          break;
        case 15: {
          const std::vector<smtp::OutgoingMail> mails = {
              {"a@example.org", {"b@example.org"}, msg, nullptr, {}, {}},
              {"a@example.org", {"c@example.org", "d@example.org"}, msg, nullptr, {}, {}},
              {"a@example.org", {"e@example.org"}, msg, nullptr, {}, {}}};
          for (const smtp::MailResult& r : client->sendmail_many(mails)) {
            if (!r.error) continue;
            try {
              std::rethrow_exception(r.error);
            } catch (const smtp::SMTPException&) {
            } catch (...) {
              std::abort();  // a message's error outside the documented family
            }
          }
          break;
        }
        default:
          (void)client->quit();
          break;
      }
    } catch (const smtp::SMTPException&) {
      // documented outcome; the session may go on (smtplib's objects can be reused)
    }
  }
  client->close();
  check_line_endings(server.written);
  // The message's own ".\r\n" line and "\n.\r" must have been stuffed: the only end-of-data
  // lines on the wire are the ones that terminate a DATA.
  std::size_t eod = 0, datas = 0;
  for (std::size_t p = 0; (p = server.written.find("\r\n.\r\n", p)) != std::string::npos; ++p) {
    ++eod;
  }
  std::string lower = server.written;  // verbs go out in lower case, as smtplib's
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (std::size_t p = 0; (p = lower.find("\r\ndata\r\n", p)) != std::string::npos; ++p) {
    ++datas;
  }
  if (lower.starts_with("data\r\n")) ++datas;
  // BDAT payloads are sent without dot-stuffing by design (RFC 3030): the property is about DATA.
  const bool bdat = server.written.find("BDAT ") != std::string::npos;
  if (!bdat && eod > datas) {
    if (std::getenv("FUZZ_DEBUG")) fprintf(stderr, "%s\n", server.written.c_str());
    std::abort();
  }
  return 0;
}
