// smtp::AsyncSMTP / AsyncLMTP / AsyncSMTP_SSL against scripted loopback servers: the same
// transcripts, outcomes and debug traces as the sync classes (both run the same algorithms), a
// disconnect injected at every step giving the same exception as the sync client, deadlines,
// the TLS policies and verification, and a trace that never shows a credential.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl.hpp>
#include <filesystem>
#include <smtp/async_client.hpp>
#include <smtp/body_source.hpp>
#include <smtp/smtp.hpp>
#include <sstream>

#include "loopback_server.hpp"
#include "tls_server.hpp"

namespace smtp {
namespace {

using namespace test;
using namespace std::chrono_literals;
namespace ssl = boost::asio::ssl;
constexpr std::string_view password = "hunter2-Secret";
const Timeout five_seconds = std::chrono::duration<double>(5);
// GCC 12 cannot keep a string literal's array as a temporary of a co_await expression inside a
// coroutine lambda ("array used as initializer"): arguments are named std::string objects here.
const std::string loopback = "127.0.0.1";
const std::string sender = "a@example.com";
const std::vector<std::string> two_recipients = {"b@example.com", "c@example.com"};
const std::vector<std::string> one_recipient = {"b@example.com"};
const std::string short_message = "hi\n";
const std::string x_message = "x";
const std::string localhost = "localhost";

// Runs `body(executor)` to completion on a fresh io_context; rethrows what it threw. Clients
// created inside the coroutine are gone before the io_context is.
template <class Body>
void run_async(Body body) {
  asio::io_context ioc;
  std::exception_ptr failure;
  asio::co_spawn(ioc, body(ioc.get_executor()), [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
}

// A server that answers with `replies` in order: the first is the greeting, each later one
// answers one command line (after a 354, the whole message up to the dot). It closes the
// connection after `stop_after` replies, optionally after sending half of the next one.
struct Script {
  std::vector<std::string> replies;
  std::size_t stop_after = std::numeric_limits<std::size_t>::max();
  bool cut_mid_reply = false;
};

template <class Socket>
void play(Socket& s, const Script& script, std::vector<std::string>& seen) {
  std::string buf;
  bool in_data = false;
  for (std::size_t i = 0; i < script.replies.size(); ++i) {
    if (i > 0) {
      const std::string line = in_data ? read_until_dot(s, buf) : read_line(s, buf);
      if (line.empty() && !in_data) return;
      seen.push_back(in_data ? "<message>" : line);
    }
    if (i == script.stop_after) {
      if (script.cut_mid_reply) {
        const std::string& r = script.replies[i];
        send(s, r.substr(0, r.size() / 2));
      }
      return;
    }
    send(s, script.replies[i]);
    in_data = script.replies[i].starts_with("354");
  }
}

const std::vector<std::string> sendmail_replies = {
    "220 test ESMTP\r\n",         "250-test\r\n250-SIZE 1000\r\n250 8BITMIME\r\n",
    "250 2.1.0 ok\r\n",           "250 2.1.5 ok\r\n",
    "550 5.1.1 no such user\r\n", "354 go ahead\r\n",
    "250 2.0.0 queued\r\n",       "221 2.0.0 bye\r\n"};

// What a run ended with: "ok" plus the refused recipients, or the exception's class name and text.
struct Ending {
  std::string what;
  std::vector<std::string> trace;
  bool operator==(const Ending&) const = default;
};

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const SMTPException& x) {
    return std::string(x.type_name()) + ": " + x.what();
  } catch (const std::exception& x) {
    return std::string("std::exception: ") + x.what();
  }
}

// The trace without the first line (which names the server's port).
std::vector<std::string> without_connect(std::vector<std::string> trace) {
  if (!trace.empty()) trace.erase(trace.begin());
  return trace;
}

Ending sync_sendmail(const Script& script, std::vector<std::string>& seen) {
  TcpServer server(any_loopback(), [&](tcp::socket& s) { play(s, script, seen); });
  Ending out;
  SMTP c(std::string(), 0, std::string("me.example"), five_seconds);
  c.set_debug_sink([&](std::string_view l) { out.trace.emplace_back(l); });
  c.set_debuglevel(1);
  try {
    c.connect("127.0.0.1", server.endpoint().port());
    const auto refused = c.sendmail("a@example.com", {"b@example.com", "c@example.com"}, "hi\n");
    c.quit();
    out.what = "ok refused=" + std::to_string(refused.size());
  } catch (...) {
    out.what = describe(std::current_exception());
  }
  c.close();
  out.trace = without_connect(out.trace);
  return out;
}

Ending async_sendmail(const Script& script, std::vector<std::string>& seen) {
  TcpServer server(any_loopback(), [&](tcp::socket& s) { play(s, script, seen); });
  Ending out;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    AsyncSMTP c(ex, std::string("me.example"), five_seconds);
    c.set_debug_sink([&](std::string_view l) { out.trace.emplace_back(l); });
    c.set_debuglevel(1);
    try {
      co_await c.connect(loopback, server.endpoint().port());
      const auto refused = co_await c.sendmail(sender, two_recipients, short_message);
      co_await c.quit();
      out.what = "ok refused=" + std::to_string(refused.size());
    } catch (...) {
      out.what = describe(std::current_exception());
    }
  });
  out.trace = without_connect(out.trace);
  return out;
}

TEST(AsyncClient, sendmail_transcript_and_attributes) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(),
                   [&](tcp::socket& s) { play(s, Script{sendmail_replies}, seen); });
  RefusedRecipients refused;
  Reply greeting, bye;
  bool esmtp = false, has_size = false, connected_after = true;
  std::optional<std::string> ehlo_resp;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    AsyncSMTP c(ex, std::string("me.example"), five_seconds);
    const std::string host_and_port = loopback + ":" + std::to_string(server.endpoint().port());
    greeting = co_await c.connect(host_and_port);
    refused = co_await c.sendmail(sender, two_recipients, short_message);
    esmtp = c.does_esmtp();
    has_size = c.has_extn("SIZE");
    ehlo_resp = c.ehlo_resp();
    bye = co_await c.quit();
    connected_after = c.connected();
  });
  EXPECT_EQ(greeting, (Reply{220, "test ESMTP"}));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused.at("c@example.com"), (Reply{550, "5.1.1 no such user"}));
  EXPECT_TRUE(esmtp);
  EXPECT_TRUE(has_size);
  EXPECT_EQ(ehlo_resp, std::optional<std::string>("test\nSIZE 1000\n8BITMIME"));
  EXPECT_EQ(bye.code, 221);
  EXPECT_FALSE(connected_after);
  const std::vector<std::string> expected = {"ehlo me.example\r\n",
                                             "mail FROM:<a@example.com> size=4\r\n",
                                             "rcpt TO:<b@example.com>\r\n",
                                             "rcpt TO:<c@example.com>\r\n",
                                             "data\r\n",
                                             "<message>",
                                             "quit\r\n"};
  EXPECT_EQ(seen, expected);
}

TEST(AsyncClient, same_outcome_and_trace_as_the_sync_client) {
  std::vector<std::string> seen_sync, seen_async;
  const Ending s = sync_sendmail(Script{sendmail_replies}, seen_sync);
  const Ending a = async_sendmail(Script{sendmail_replies}, seen_async);
  EXPECT_EQ(s.what, "ok refused=1");
  EXPECT_EQ(a, s);
  EXPECT_EQ(seen_async, seen_sync);
  EXPECT_THAT(a.trace, testing::Contains("reply: retcode (354); Msg: b'go ahead'"));
}

// The connection drops after each reply in turn (and in the middle of each reply): the async
// client ends exactly as the sync one (same exception, same text, same trace, same bytes sent).
class AsyncClientDisconnect : public testing::TestWithParam<std::tuple<std::size_t, bool>> {};

TEST_P(AsyncClientDisconnect, ends_as_the_sync_client) {
  const auto [step, mid_reply] = GetParam();
  Script script{sendmail_replies, step, mid_reply};
  std::vector<std::string> seen_sync, seen_async;
  const Ending s = sync_sendmail(script, seen_sync);
  const Ending a = async_sendmail(script, seen_async);
  EXPECT_EQ(a, s);
  EXPECT_EQ(seen_async, seen_sync);
  EXPECT_THAT(a.what, testing::StartsWith("SMTPServerDisconnected"));
  if (mid_reply) {
    EXPECT_THAT(a.what, testing::HasSubstr("in the middle of a reply"));
  }
}

INSTANTIATE_TEST_SUITE_P(EveryStep, AsyncClientDisconnect,
                         testing::Combine(testing::Range<std::size_t>(0, 8), testing::Bool()));

TEST(AsyncClient, refused_sender_raises_and_resets) {
  std::vector<std::string> seen;
  Script script{{"220 x\r\n", "250 x\r\n", "553 5.7.1 not you\r\n", "250 reset\r\n"}};
  TcpServer server(any_loopback(), [&](tcp::socket& s) { play(s, script, seen); });
  std::optional<std::string> refused_sender;
  int code = 0;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    AsyncSMTP c(ex, std::string("me.example"), five_seconds);
    co_await c.connect(loopback, server.endpoint().port());
    try {
      co_await c.sendmail(sender, one_recipient, x_message);
    } catch (const SMTPSenderRefused& e) {
      refused_sender = e.sender;
      code = e.smtp_code;
    }
    c.close();
  });
  EXPECT_EQ(refused_sender, std::optional<std::string>("a@example.com"));
  EXPECT_EQ(code, 553);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2], "rset\r\n");
}

TEST(AsyncClient, deadline_per_reply_against_a_dripping_server) {
  std::atomic<bool> stop{false};
  TcpServer server(any_loopback(), [&](tcp::socket& s) {
    for (char c : std::string("220 dripping greeting\r\n")) {
      if (stop) break;
      boost::system::error_code ec;
      asio::write(s, asio::buffer(&c, 1), ec);
      if (ec) break;
      std::this_thread::sleep_for(100ms);
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  bool connected_after = true;
  EXPECT_THROW(run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
                 AsyncSMTP c(ex, std::string("me.example"), std::chrono::duration<double>(0.4));
                 try {
                   co_await c.connect(loopback, server.endpoint().port());
                 } catch (...) {
                   connected_after = c.connected();
                   throw;
                 }
               }),
               SMTPTimeoutError);
  stop = true;
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(elapsed, 350ms);
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_FALSE(connected_after);
}

TEST(AsyncClient, silent_server_times_out_after_the_command) {
  TcpServer server(any_loopback(), [&](tcp::socket& s) {
    std::string buf;
    send(s, "220 hi\r\n");
    read_line(s, buf);  // EHLO, never answered
    read_line(s, buf);  // until the client closes
  });
  EXPECT_THROW(run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
                 AsyncSMTP c(ex, std::string("me.example"), std::chrono::duration<double>(0.3));
                 co_await c.connect(loopback, server.endpoint().port());
                 co_await c.ehlo();
               }),
               SMTPTimeoutError);
}

TEST(AsyncClient, connection_refused_is_smtp_connect_error) {
  // A port that was just free: bind, note it, close.
  unsigned short port = 0;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, any_loopback());
    port = a.local_endpoint().port();
  }
  int code = 0;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    AsyncSMTP c(ex, std::string("me.example"), five_seconds);
    try {
      co_await c.connect(loopback, port);
    } catch (const SMTPConnectError& e) {
      code = e.smtp_code;
    }
  });
  EXPECT_EQ(code, -1);
}

TEST(AsyncClient, open_raises_connect_error_on_a_non_220_greeting) {
  std::vector<std::string> seen;
  Script script{{"554 go away\r\n"}};
  TcpServer server(any_loopback(), [&](tcp::socket& s) { play(s, script, seen); });
  int code = 0;
  bool connected_after = true;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    AsyncSMTP c(ex, std::string("me.example"), five_seconds);
    try {
      co_await c.open(loopback, server.endpoint().port());
    } catch (const SMTPConnectError& e) {
      code = e.smtp_code;
    }
    connected_after = c.connected();
  });
  EXPECT_EQ(code, 554);
  EXPECT_FALSE(connected_after);
}

TEST(AsyncClient, unconnected_calls_raise_server_disconnected) {
  EXPECT_THROW(run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
                 AsyncSMTP c(ex, std::string("me.example"));
                 co_await c.noop();
               }),
               SMTPServerDisconnected);
}

TEST(AsyncClient, bad_input_is_refused_before_anything_is_written) {
  std::vector<std::string> seen;
  Script script{{"220 x\r\n", "250 x\r\n", "221 bye\r\n"}};
  TcpServer server(any_loopback(), [&](tcp::socket& s) { play(s, script, seen); });
  bool refused = false;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    AsyncSMTP c(ex, std::string("me.example"), five_seconds);
    co_await c.connect(loopback, server.endpoint().port());
    try {
      const std::vector<std::string> evil = {"b@example.com\r\nRCPT TO:<evil@x>"};
      co_await c.sendmail(sender, evil, x_message);
    } catch (const std::invalid_argument&) {
      refused = true;
    }
    co_await c.noop();
    co_await c.quit();
  });
  EXPECT_TRUE(refused);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "noop\r\n");
}

TEST(AsyncClient, require_tls_refuses_every_submission_path_in_clear) {
  std::vector<std::string> seen;
  Script script{{"220 x\r\n", "221 bye\r\n"}};
  TcpServer server(any_loopback(), [&](tcp::socket& s) { play(s, script, seen); });
  int refusals = 0;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    AsyncSMTP c(ex, std::string("me.example"), five_seconds);
    c.set_require_tls(true);
    co_await c.connect(loopback, server.endpoint().port());
    auto refused = [&refusals](const SMTPNotSupportedError&) { ++refusals; };
    const Options no_options;
    try {
      co_await c.mail(sender, no_options);
    } catch (const SMTPNotSupportedError& e) {
      refused(e);
    }
    try {
      co_await c.data(x_message);
    } catch (const SMTPNotSupportedError& e) {
      refused(e);
    }
    StringBody body(x_message);
    try {
      co_await c.data(body);
    } catch (const SMTPNotSupportedError& e) {
      refused(e);
    }
    try {
      co_await c.send_message("From: a@example.com\r\nTo: b@example.com\r\n\r\nx\r\n");
    } catch (const SMTPNotSupportedError& e) {
      refused(e);
    }
    std::vector<OutgoingMail> mails;
    mails.push_back(OutgoingMail{sender, one_recipient, x_message, nullptr, {}, {}});
    try {
      co_await c.sendmail_many(mails);
    } catch (const SMTPNotSupportedError& e) {
      refused(e);
    }
    co_await c.quit();
  });
  EXPECT_EQ(refusals, 5);
  ASSERT_EQ(seen.size(), 1u);  // nothing but QUIT went out
  EXPECT_EQ(seen[0], "quit\r\n");
}

TEST(AsyncClient, require_tls_refuses_sendmail_and_login_in_clear) {
  std::vector<std::string> seen;
  Script script{{"220 x\r\n", "221 bye\r\n"}};
  TcpServer server(any_loopback(), [&](tcp::socket& s) { play(s, script, seen); });
  int refusals = 0;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    AsyncSMTP c(ex, std::string("me.example"), five_seconds);
    c.set_require_tls(true);
    co_await c.connect(loopback, server.endpoint().port());
    try {
      co_await c.sendmail(sender, one_recipient, x_message);
    } catch (const SMTPNotSupportedError&) {
      ++refusals;
    }
    sasl::callback_mechanism::callback cb = [](std::optional<std::string_view>) {
      return std::optional<std::string>("x");
    };
    try {
      const std::string plain = "PLAIN";
      co_await c.auth(plain, cb);
    } catch (const SMTPNotSupportedError&) {
      ++refusals;
    }
    co_await c.quit();
  });
  EXPECT_EQ(refusals, 2);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "quit\r\n");
}

TEST(AsyncClient, lmtp_over_unix_socket_reports_each_recipient) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("smtpkit-async-lmtp-" + std::to_string(::getpid()) + ".sock"))
                               .string();
  std::filesystem::remove(path);
  std::vector<std::string> seen;
  RefusedRecipients refused;
  std::size_t replies = 0;
  {
    Script script{{"220 lmtp\r\n", "250-lmtp\r\n250 PIPELINING\r\n", "250 ok\r\n", "250 ok\r\n",
                   "250 ok\r\n", "354 go\r\n",
                   "250 2.0.0 a delivered\r\n452 4.2.2 b over quota\r\n", "221 bye\r\n"}};
    OneShotServer<asio::local::stream_protocol> server(asio::local::stream_protocol::endpoint(path),
                                                       [&](auto& s) { play(s, script, seen); });
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
      AsyncLMTP c(ex, std::string("me.example"), five_seconds);
      co_await c.connect(path);
      const std::vector<std::string> to = {"a@example.com", "b@example.com"};
      refused = co_await c.sendmail(sender, to, x_message);
      replies = c.data_replies().size();
      co_await c.quit();
    });
  }
  std::filesystem::remove(path);
  EXPECT_EQ(replies, 2u);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused.at("b@example.com"), (Reply{452, "4.2.2 b over quota"}));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0], "lhlo me.example\r\n");
}

// A streamed body goes out as BDAT chunks when CHUNKING is advertised: the same SendmailAlgo as
// SMTP::sendmail(BodySource&), the same bytes on the wire.
TEST(AsyncClient, streamed_body_as_bdat_chunks_same_bytes_as_sync) {
  auto serve = [](tcp::socket& s, std::vector<std::string>& seen) {
    std::string buf;
    send(s, "220 x\r\n");
    seen.push_back(read_line(s, buf));
    send(s, "250-x\r\n250 CHUNKING\r\n");
    seen.push_back(read_line(s, buf));  // MAIL
    send(s, "250 ok\r\n");
    seen.push_back(read_line(s, buf));  // RCPT
    send(s, "250 ok\r\n");
    for (;;) {
      const std::string bdat = read_line(s, buf);
      if (bdat.empty()) return;
      seen.push_back(bdat);
      const std::size_t n = std::stoul(bdat.substr(5));
      while (buf.size() < n) {
        char tmp[4096];
        boost::system::error_code ec;
        const std::size_t got = s.read_some(asio::buffer(tmp), ec);
        if (ec) return;
        buf.append(tmp, got);
      }
      seen.push_back(buf.substr(0, n));
      buf.erase(0, n);
      send(s, "250 chunk ok\r\n");
      if (bdat.find("LAST") != std::string::npos) break;
    }
    seen.push_back(read_line(s, buf));
    send(s, "221 bye\r\n");
  };
  const std::string body_text = "Subject: chunks\n\n" + std::string(100, 'a') + "\n.dot line\n";
  std::vector<std::string> seen_sync, seen_async;
  {
    TcpServer server(any_loopback(), [&](tcp::socket& s) { serve(s, seen_sync); });
    SMTP c(std::string(), 0, std::string("me.example"), five_seconds);
    c.set_bdat_chunk_size(50);
    c.connect("127.0.0.1", server.endpoint().port());
    std::istringstream in(body_text);
    StreamBody body(in);
    EXPECT_TRUE(c.sendmail(sender, one_recipient, body).empty());
    c.quit();
  }
  {
    TcpServer server(any_loopback(), [&](tcp::socket& s) { serve(s, seen_async); });
    run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
      AsyncSMTP c(ex, std::string("me.example"), five_seconds);
      c.set_bdat_chunk_size(50);
      co_await c.connect(loopback, server.endpoint().port());
      std::istringstream in(body_text);
      StreamBody body(in);
      const auto refused = co_await c.sendmail(sender, one_recipient, body);
      EXPECT_TRUE(refused.empty());
      co_await c.quit();
    });
  }
  EXPECT_EQ(seen_async, seen_sync);
  ASSERT_GE(seen_async.size(), 6u);
  EXPECT_EQ(seen_async[3].rfind("BDAT ", 0), 0u) << seen_async[3];
  EXPECT_GT(std::count_if(seen_async.begin(), seen_async.end(),
                          [](const std::string& l) { return l.rfind("BDAT ", 0) == 0; }),
            2);  // several chunks
  EXPECT_EQ(seen_async.back(), "quit\r\n");
  std::string sent;
  for (std::size_t i = 4; i + 1 < seen_async.size(); i += 2) sent += seen_async[i];
  EXPECT_EQ(sent, "Subject: chunks\r\n\r\n" + std::string(100, 'a') + "\r\n.dot line\r\n");
}

// -- TLS: certificates made at test time (test_certs.hpp) ------------------------------------

TEST(AsyncClientTls, starttls_login_sendmail_with_a_redacted_trace) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(), tls_server(certs().good, false, seen));
  std::vector<std::string> trace;
  bool encrypted = false, features_forgotten = false, authenticated = false;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    AsyncSMTP c(ex, std::string("me.example"), five_seconds);
    c.set_debug_sink([&](std::string_view l) { trace.emplace_back(l); });
    c.set_debuglevel(2);
    co_await c.connect(loopback, server.endpoint().port());
    co_await c.starttls(trusting_test_ca());
    encrypted = c.encrypted();
    features_forgotten = c.esmtp_features().empty() && !c.ehlo_resp();
    const std::string user = "alice", secret(password);
    co_await c.login(user, secret);
    authenticated = c.authenticated();
    const std::string body = "secret body\n";
    co_await c.sendmail(sender, one_recipient, body);
    co_await c.quit();
  });
  EXPECT_TRUE(encrypted);
  EXPECT_TRUE(features_forgotten);
  EXPECT_TRUE(authenticated);
  ASSERT_GE(seen.size(), 4u);
  EXPECT_EQ(seen[2], "ehlo me.example\r\n");  // the first command inside TLS
  EXPECT_THAT(seen[3], testing::StartsWith("AUTH PLAIN "));
  const std::string b64 = seen[3].substr(11, seen[3].size() - 13);
  for (const auto& l : trace) {
    EXPECT_EQ(l.find(password), std::string::npos) << l;
    EXPECT_EQ(l.find(b64), std::string::npos) << l;
  }
  EXPECT_THAT(trace, testing::Contains(testing::HasSubstr("AUTH PLAIN <redacted>")));
  EXPECT_THAT(trace, testing::Contains(testing::HasSubstr("starttls: TLS handshake done")));
}

TEST(AsyncClientTls, smtp_ssl_verifies_the_certificate) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(), tls_server(certs().good, true, seen));
  Reply greeting, noop;
  bool encrypted = false;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    AsyncSMTP_SSL c(ex, std::string("me.example"), std::nullopt, std::nullopt, five_seconds,
                    trusting_test_ca());
    greeting = co_await c.connect(loopback, server.endpoint().port());
    encrypted = c.encrypted();
    noop = co_await c.noop();
    co_await c.quit();
  });
  EXPECT_EQ(greeting, (Reply{220, "implicit"}));
  EXPECT_TRUE(encrypted);
  EXPECT_EQ(noop.code, 250);
}

class AsyncClientBadCert : public testing::TestWithParam<int> {};

TEST_P(AsyncClientBadCert, smtp_ssl_refuses_it) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(), tls_server(bad_cert(GetParam()), true, seen));
  bool connected_after = true;
  EXPECT_THROW(run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
                 AsyncSMTP_SSL c(ex, std::string("me.example"), std::nullopt, std::nullopt,
                                 five_seconds, trusting_test_ca());
                 try {
                   co_await c.connect(localhost, server.endpoint().port());
                 } catch (...) {
                   connected_after = c.connected();
                   throw;
                 }
               }),
               SSLCertVerificationError);
  EXPECT_FALSE(connected_after);
  EXPECT_TRUE(seen.empty());
}

TEST_P(AsyncClientBadCert, starttls_refuses_it) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(), tls_server(bad_cert(GetParam()), false, seen));
  EXPECT_THROW(run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
                 AsyncSMTP c(ex, std::string("me.example"), five_seconds);
                 co_await c.connect(loopback, server.endpoint().port());
                 co_await c.starttls(trusting_test_ca());
               }),
               SSLCertVerificationError);
}

INSTANTIATE_TEST_SUITE_P(WrongNameExpiredSelfSigned, AsyncClientBadCert, testing::Values(0, 1, 2));

TEST(AsyncClientTls, the_system_store_does_not_trust_a_throwaway_ca) {
  std::vector<std::string> seen;
  TcpServer server(any_loopback(), tls_server(certs().good, true, seen));
  EXPECT_THROW(run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
                 AsyncSMTP_SSL c(ex, std::string("me.example"), std::nullopt, std::nullopt,
                                 five_seconds);
                 co_await c.connect(loopback, server.endpoint().port());
               }),
               SSLCertVerificationError);
}

TEST(AsyncClientTls, bytes_after_the_starttls_220_are_refused) {
  TcpServer server(any_loopback(), [](tcp::socket& s) {
    std::string buf;
    send(s, "220 plain\r\n");
    read_line(s, buf);
    send(s, "250-plain.test\r\n250 STARTTLS\r\n");
    read_line(s, buf);
    send(s, "220 go ahead\r\n250 injected\r\n");
    read_line(s, buf);
  });
  EXPECT_THROW(run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
                 AsyncSMTP c(ex, std::string("me.example"), five_seconds);
                 co_await c.connect(loopback, server.endpoint().port());
                 co_await c.starttls(trusting_test_ca());
               }),
               SMTPProtocolError);
}

TEST(AsyncClientTls, keyfile_with_a_context_is_invalid) {
  asio::io_context ioc;
  EXPECT_THROW(AsyncSMTP_SSL(ioc.get_executor(), std::nullopt, std::string("k.pem"), std::nullopt,
                             five_seconds, TlsContext{}),
               std::invalid_argument);
}

}  // namespace
}  // namespace smtp
