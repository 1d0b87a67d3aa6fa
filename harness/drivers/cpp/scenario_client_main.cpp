// smtp-scenario-client: runs the client section of one scenario file with the C++ client and
// prints the outcome as one JSON object on stdout (see harness/README.md, "The matrix").
//
//   smtp-scenario-client --scenario FILE --transport plain --host 127.0.0.1 --port 40123
//   smtp-scenario-client --scenario FILE --transport unix --unix /tmp/x/0.sock
//   smtp-scenario-client --async ...  the same calls through smtp::AsyncSMTP / AsyncLMTP /
//                                     AsyncSMTP_SSL (C++20 coroutines): the matrix's cpp-async
//
// Output: {"local": "127.0.0.1:51234" | null, "outcome": OUTCOME, "trace": ["...", ...]}
// where OUTCOME is one of
//   {"ok": true, "reply": [CODE, TEXT] | null, "refused": {ADDR: [CODE, TEXT]}}
//     and, when a sendmail_many call was made, "results": one per message of the last one,
//     {"ok": true, "refused": {...}} or {"ok": false, "error": {...}} (the error as below);
//     "refused" is then the union of the messages' refused maps
//   {"ok": false, "error": {"type", "types": [the class and its bases], "code", "message"}}
//   {"unsupported": "REASON"}   a call or transport the client cannot do (LMTP over TLS)
// "local" is the client's own address (for TCP), which the fake server reports as the session's
// peer: the harness matches reports to runs with it. Exit status 0 when an outcome was printed
// (whatever it is), 2 on a bad command line or scenario.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <smtp/async_client.hpp>
#include <smtp/scenario/parser.hpp>
#include <smtp/smtp.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using json = nlohmann::ordered_json;
namespace sc = smtp::scenario;

constexpr int exit_outcome = 0;
constexpr int exit_usage = 2;
// Timeout when the scenario sets none: a stuck run ends instead of hanging the matrix.
constexpr double default_timeout_seconds = 10.0;
// File descriptors scanned for the client's socket (a fresh process holds a handful).
constexpr int max_fd_scanned = 256;

// A call or transport the client does not implement yet (the harness turns it into a skip).
struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Target {
  sc::Transport transport = sc::Transport::plain;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string unix_path;
  std::string cafile;  // the test CA (TLS transports, starttls calls)
};

bool is_loopback(const Target& t) {
  return t.transport == sc::Transport::unix_socket || t.host == "127.0.0.1" || t.host == "::1" ||
         t.host == "localhost";
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json reply_json(const smtp::Reply& r) {
  return json::array({r.code, r.text});
}

json refused_json(const smtp::RefusedRecipients& refused_map) {
  json refused = json::object();
  for (const auto& [addr, r] : refused_map) refused[addr] = reply_json(r);
  return refused;
}

// The class of an smtp:: exception and its bases, most derived first (the harness accepts an
// expected name anywhere in this list, as `except Base:` would). SMTPTimeoutError also counts as
// the OS-level TimeoutError the scenario vocabulary has; a disconnect with delivery_unknown()
// also as DeliveryUnknown.
json type_chain(const smtp::SMTPException& e) {
  json chain = json::array();
  chain.push_back(std::string(e.type_name()));
  if (dynamic_cast<const smtp::SMTPTimeoutError*>(&e)) chain.push_back("TimeoutError");
  if (dynamic_cast<const smtp::SSLError*>(&e) && e.type_name() != "SSLError") {
    chain.push_back("SSLError");
  }
  if (dynamic_cast<const smtp::SMTPServerDisconnected*>(&e) &&
      e.type_name() != "SMTPServerDisconnected") {
    chain.push_back("SMTPServerDisconnected");
  }
  // The delivery invariant's flag, as a name the scenario language can state.
  if (const auto* d = dynamic_cast<const smtp::SMTPServerDisconnected*>(&e);
      d != nullptr && d->delivery_unknown()) {
    chain.push_back("DeliveryUnknown");
  }
  if (dynamic_cast<const smtp::SMTPResponseException*>(&e) &&
      e.type_name() != "SMTPResponseException") {
    chain.push_back("SMTPResponseException");
  }
  if (e.type_name() != "SMTPException") chain.push_back("SMTPException");
  return chain;
}

json error_json(std::string_view type, json types, std::optional<int> code,
                const std::string& msg) {
  json err = {{"type", type},
              {"types", std::move(types)},
              {"code", code ? json(*code) : json(nullptr)},
              {"message", msg}};
  return {{"ok", false}, {"error", std::move(err)}};
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::size_t end = comma == std::string::npos ? text.size() : comma;
    if (end > start) out.push_back(text.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> kw_list(const sc::ClientCall& call, const std::string& key) {
  const auto it = call.kwargs.find(key);
  return it == call.kwargs.end() ? std::vector<std::string>{} : split_list(it->second);
}

const std::string& arg(const sc::ClientCall& call, std::size_t i) {
  if (call.args.size() <= i) {
    throw std::invalid_argument(call.where.str() + ": " + call.name + " needs argument " +
                                std::to_string(i + 1));
  }
  return call.args[i];
}

// The client's own TCP address: the socket connected to the server's port, found among this
// process's descriptors (the library does not expose its socket).
std::optional<std::string> local_address(int server_port) {
  for (int fd = 0; fd < max_fd_scanned; ++fd) {
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t local_len = sizeof local;
    socklen_t peer_len = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (local.ss_family == AF_INET) {
      const auto* l = reinterpret_cast<const sockaddr_in*>(&local);
      const auto* p = reinterpret_cast<const sockaddr_in*>(&peer);
      if (ntohs(p->sin_port) != server_port) continue;
      inet_ntop(AF_INET, &l->sin_addr, text, sizeof text);
      return std::string(text) + ":" + std::to_string(ntohs(l->sin_port));
    }
    if (local.ss_family == AF_INET6) {
      const auto* l = reinterpret_cast<const sockaddr_in6*>(&local);
      const auto* p = reinterpret_cast<const sockaddr_in6*>(&peer);
      if (ntohs(p->sin6_port) != server_port) continue;
      inet_ntop(AF_INET6, &l->sin6_addr, text, sizeof text);
      return "[" + std::string(text) + "]:" + std::to_string(ntohs(l->sin6_port));
    }
  }
  return std::nullopt;
}

// What the client cannot do (reported as unsupported, skipped by the harness): said before
// anything is sent.
std::optional<std::string> unsupported_reason(const sc::Scenario& s, const Target& target) {
  if (target.transport == sc::Transport::tls && s.protocol == sc::Protocol::lmtp) {
    return "the C++ client has no LMTP over implicit TLS (smtplib has none either)";
  }
  return std::nullopt;
}

json success_json(const std::optional<smtp::Reply>& last_reply,
                  const smtp::RefusedRecipients& refused_map, const std::optional<json>& results) {
  json out = {{"ok", true},
              {"reply", last_reply ? reply_json(*last_reply) : json(nullptr)},
              {"refused", refused_json(refused_map)}};
  if (results) out["results"] = *results;
  return out;
}

// An exception as an outcome, {"ok": false, "error": {...}}: what a call raised, or what one
// message of sendmail_many failed with (both APIs raise the same exceptions).
json error_outcome(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const smtp::SMTPSenderRefused& e) {
    json out = error_json(e.type_name(), type_chain(e), e.smtp_code, e.smtp_error);
    out["error"]["sender"] = e.sender;
    return out;
  } catch (const smtp::SMTPRecipientsRefused& e) {
    json out = error_json(e.type_name(), type_chain(e), std::nullopt, e.what());
    json recipients = json::object();
    for (const auto& [addr, r] : e.recipients) recipients[addr] = reply_json(r);
    out["error"]["recipients"] = std::move(recipients);
    return out;
  } catch (const smtp::SMTPResponseException& e) {
    return error_json(e.type_name(), type_chain(e), e.smtp_code, e.smtp_error);
  } catch (const smtp::SMTPException& e) {
    return error_json(e.type_name(), type_chain(e), std::nullopt, e.what());
  } catch (const std::invalid_argument& e) {
    return error_json("ValueError", json::array({"ValueError"}), std::nullopt, e.what());
  } catch (const std::exception& e) {
    return error_json("InternalError", json::array({"InternalError"}), std::nullopt, e.what());
  } catch (...) {
    return error_json("InternalError", json::array({"InternalError"}), std::nullopt,
                      "an exception that is not a std::exception");
  }
}

// Runs `attempt` and turns what it threw into the outcome.
json outcome_of(const std::function<json()>& attempt) {
  try {
    return attempt();
  } catch (...) {
    return error_outcome(std::current_exception());
  }
}

// `client: sendmail_many FROM TO[,TO...] ...`: one OutgoingMail per pair of arguments, each with
// the scenario's message and the call's mail_options / rcpt_options.
std::vector<smtp::OutgoingMail> many_mails(const sc::ClientCall& call, const std::string& message) {
  if (call.args.empty() || call.args.size() % 2 != 0) {
    throw std::invalid_argument(call.where.str() + ": sendmail_many needs pairs FROM TO[,TO...]");
  }
  std::vector<smtp::OutgoingMail> mails;
  for (std::size_t i = 0; i < call.args.size(); i += 2) {
    smtp::OutgoingMail m;
    m.from_addr = call.args[i];
    m.to_addrs = split_list(call.args[i + 1]);
    m.msg = message;
    m.mail_options = kw_list(call, "mail_options");
    m.rcpt_options = kw_list(call, "rcpt_options");
    mails.push_back(std::move(m));
  }
  return mails;
}

// What sendmail_many returned, per message; `refused` becomes the union of the messages' maps.
json results_json(const std::vector<smtp::MailResult>& results, smtp::RefusedRecipients& refused) {
  json out = json::array();
  refused.clear();
  for (const smtp::MailResult& r : results) {
    for (const auto& [addr, reply] : r.refused) refused.insert_or_assign(addr, reply);
    if (r.ok()) {
      out.push_back({{"ok", true}, {"refused", refused_json(r.refused)}});
    } else {
      out.push_back(error_outcome(r.error));
    }
  }
  return out;
}

bool truthy(const std::string& v) {
  return v == "1" || v == "true" || v == "True" || v == "yes";
}

smtp::Timeout scenario_timeout(const sc::Scenario& s) {
  const auto it = s.client.options.find("timeout");
  const double seconds =
      it == s.client.options.end() ? default_timeout_seconds : std::stod(it->second);
  return std::chrono::duration<double>(seconds);
}

std::optional<std::string> scenario_local_hostname(const sc::Scenario& s) {
  const auto it = s.client.options.find("local_hostname");
  if (it == s.client.options.end()) return std::nullopt;
  return it->second;
}

// `option: pipelining=0|1`, overridden for every run by SMTPKIT_FORCE_PIPELINING=0|1; nullopt:
// leave the library's default alone.
std::optional<bool> scenario_pipelining(const sc::Scenario& s) {
  if (const char* forced = std::getenv("SMTPKIT_FORCE_PIPELINING"); forced && *forced) {
    return truthy(forced);
  }
  const auto it = s.client.options.find("pipelining");
  if (it == s.client.options.end()) return std::nullopt;
  return truthy(it->second);
}

// `option: chunking=0|1` (absent: the library's default) and `option: chunk_size=N` (the largest
// BDAT chunk).
std::optional<bool> scenario_chunking(const sc::Scenario& s) {
  const auto it = s.client.options.find("chunking");
  if (it == s.client.options.end()) return std::nullopt;
  return truthy(it->second);
}

std::optional<std::size_t> scenario_chunk_size(const sc::Scenario& s) {
  const auto it = s.client.options.find("chunk_size");
  if (it == s.client.options.end()) return std::nullopt;
  return static_cast<std::size_t>(std::stoul(it->second));
}

// The options both APIs share, applied to either client class.
template <class Client>
void apply_transaction_options(const sc::Scenario& s, Client& c) {
  if (const auto pipelining = scenario_pipelining(s)) c.set_pipelining(*pipelining);
  if (const auto chunking = scenario_chunking(s)) c.set_chunking(*chunking);
  if (const auto size = scenario_chunk_size(s)) c.set_bdat_chunk_size(*size);
}

bool scenario_require_tls(const sc::Scenario& s) {
  const auto it = s.client.options.find("require_tls");
  return it != s.client.options.end() && truthy(it->second);
}

// Trust only the test CA; the certificate must name the address connected to.
smtp::TlsContext test_tls_context(const Target& target) {
  smtp::TlsContext ctx;
  if (!target.cafile.empty()) {
    ctx.cafile = target.cafile;
    ctx.use_system_store = false;
  }
  ctx.server_hostname = target.host;
  return ctx;
}

bool initial_response_ok(const sc::ClientCall& call) {
  const auto it = call.kwargs.find("initial_response_ok");
  return it == call.kwargs.end() || truthy(it->second);
}

std::optional<std::string> kw(const sc::ClientCall& call, const std::string& key) {
  const auto it = call.kwargs.find(key);
  if (it == call.kwargs.end()) return std::nullopt;
  return it->second;
}

class Runner {
 public:
  Runner(const sc::Scenario& s, Target target) : s_(s), target_(std::move(target)) {}

  json run() {
    if (auto reason = unsupported_reason(s_, target_)) return {{"unsupported", *reason}};
    return outcome_of([this] {
      connect();
      for (const auto& call : s_.client.calls) perform(call);
      return success_json(last_reply_, refused_, results_);
    });
  }

  std::optional<std::string> local() const { return local_; }
  const std::vector<std::string>& trace() const { return trace_; }

 private:
  smtp::Timeout timeout() const {
    const auto it = s_.client.options.find("timeout");
    const double seconds =
        it == s_.client.options.end() ? default_timeout_seconds : std::stod(it->second);
    return std::chrono::duration<double>(seconds);
  }

  // As smtplib's SMTP(host, port): connect, read the greeting, raise SMTPConnectError (after
  // closing) when it is not 220.
  void connect() {
    const auto it = s_.client.options.find("local_hostname");
    std::optional<std::string> local_hostname;
    if (it != s_.client.options.end()) local_hostname = it->second;
    const bool lmtp = s_.protocol == sc::Protocol::lmtp;
    if (lmtp) {
      smtp_ = std::make_unique<smtp::LMTP>(std::string{}, 0, local_hostname, timeout());
    } else {
      smtp_ = std::make_unique<smtp::SMTP>(std::string{}, 0, local_hostname, timeout());
    }
    trace_hooks();
    const auto deadline =
        smtp::Clock::now() + std::chrono::duration_cast<smtp::Clock::duration>(*timeout());
    if (target_.transport == sc::Transport::tls) {
      // SMTP_SSL's own connect (TLS from the first byte); the socket is still open after it
      // returns, so the local address can be read then.
      smtp_ = std::make_unique<smtp::SMTP_SSL>(std::string{}, 0, local_hostname, std::nullopt,
                                               std::nullopt, timeout(), tls_context());
      trace_hooks();
      const smtp::Reply greeting = smtp_->connect(target_.host, target_.port);
      local_ = local_address(target_.port);
      check_greeting(greeting);
      return;
    }
    std::unique_ptr<smtp::Transport> transport;
    if (target_.transport == sc::Transport::unix_socket) {
      transport = smtp::connect_unix(target_.unix_path, deadline);
    } else {
      transport = smtp::connect_tcp(target_.host, target_.port, deadline);
      local_ = local_address(target_.port);
    }
    check_greeting(smtp_->connect(std::move(transport)));
    if (target_.transport == sc::Transport::starttls) smtp_->starttls(tls_context());
  }

  void trace_hooks() {
    smtp_->set_debug_sink([this](std::string_view line) { trace_.emplace_back(line); });
    smtp_->set_debuglevel(2);
    // PLAIN/LOGIN without TLS are allowed towards loopback only; the driver connected the
    // transport itself, so it says so (the library did not see the host name).
    smtp_->set_allow_cleartext_auth(is_loopback(target_));
    // `option: require_tls=1`: sendmail/send_message/login/auth refuse an unencrypted connection.
    if (const auto it = s_.client.options.find("require_tls"); it != s_.client.options.end()) {
      smtp_->set_require_tls(it->second == "1" || it->second == "true" || it->second == "True" ||
                             it->second == "yes");
    }
    apply_transaction_options(s_, *smtp_);
  }

  void check_greeting(const smtp::Reply& greeting) {
    if (greeting.code != 220) {
      smtp_->close();
      throw smtp::SMTPConnectError(greeting.code, greeting.text);
    }
  }

  // Trust only the test CA; the certificate must name the address connected to.
  smtp::TlsContext tls_context() const {
    smtp::TlsContext ctx;
    if (!target_.cafile.empty()) {
      ctx.cafile = target_.cafile;
      ctx.use_system_store = false;
    }
    ctx.server_hostname = target_.host;
    return ctx;
  }

  void reply(const smtp::Reply& r) { last_reply_ = r; }

  void perform(const sc::ClientCall& call) {
    auto& c = *smtp_;
    const std::string& n = call.name;
    const std::string message = s_.client.message.value_or("");
    if (n == "ehlo") {
      reply(call.args.empty() ? c.ehlo() : c.ehlo(arg(call, 0)));
    } else if (n == "helo") {
      reply(call.args.empty() ? c.helo() : c.helo(arg(call, 0)));
    } else if (n == "ehlo_or_helo_if_needed") {
      c.ehlo_or_helo_if_needed();
    } else if (n == "noop") {
      reply(c.noop());
    } else if (n == "rset") {
      reply(c.rset());
    } else if (n == "quit") {
      reply(c.quit());
    } else if (n == "close") {
      c.close();
    } else if (n == "data") {
      reply(c.data(message));
    } else if (n == "verify") {
      reply(c.verify(arg(call, 0)));
    } else if (n == "expn") {
      reply(c.expn(arg(call, 0)));
    } else if (n == "has_extn") {
      c.has_extn(arg(call, 0));
    } else if (n == "help") {
      c.help(call.args.empty() ? std::string_view{} : std::string_view(arg(call, 0)));
    } else if (n == "mail") {
      const auto options = kw_list(call, "options");
      reply(c.mail(arg(call, 0), options));
    } else if (n == "rcpt") {
      const auto options = kw_list(call, "options");
      reply(c.rcpt(arg(call, 0), options));
    } else if (n == "docmd") {
      reply(c.docmd(arg(call, 0),
                    call.args.size() > 1 ? std::string_view(call.args[1]) : std::string_view{}));
    } else if (n == "sendmail") {
      refused_ = c.sendmail(arg(call, 0), split_list(arg(call, 1)), message,
                            kw_list(call, "mail_options"), kw_list(call, "rcpt_options"));
    } else if (n == "sendmail_many") {
      const std::vector<smtp::OutgoingMail> mails = many_mails(call, message);
      results_ = results_json(c.sendmail_many(mails), refused_);
    } else if (n == "starttls") {
      reply(c.starttls(tls_context()));
    } else if (n == "login" || n == "login_oauth2") {
      bool initial = true;
      if (auto it = call.kwargs.find("initial_response_ok"); it != call.kwargs.end()) {
        initial = it->second == "true" || it->second == "True" || it->second == "1" ||
                  it->second == "yes";
      }
      if (n == "login") {
        reply(c.login(arg(call, 0), arg(call, 1), initial));
      } else {
        reply(c.login_oauth2(arg(call, 0), arg(call, 1), initial));
      }
    } else if (n == "send_message") {
      std::optional<std::string> from;
      std::optional<std::vector<std::string>> to;
      if (auto it = call.kwargs.find("from_addr"); it != call.kwargs.end()) from = it->second;
      if (auto it = call.kwargs.find("to_addrs"); it != call.kwargs.end()) {
        to = split_list(it->second);
      }
      refused_ = c.send_message(message, from, to, kw_list(call, "mail_options"),
                                kw_list(call, "rcpt_options"));
    } else {
      throw std::invalid_argument(call.where.str() + ": the driver does not know method " + n);
    }
  }

  const sc::Scenario& s_;
  Target target_;
  std::unique_ptr<smtp::SMTP> smtp_;
  std::optional<smtp::Reply> last_reply_;
  smtp::RefusedRecipients refused_;
  std::optional<json> results_;  // the last sendmail_many's, per message
  std::optional<std::string> local_;
  std::vector<std::string> trace_;
};

// The same calls through the awaitable API (smtp::AsyncSMTP, AsyncLMTP, AsyncSMTP_SSL), run on
// one io_context: the matrix's `cpp-async` client.
class AsyncRunner {
 public:
  AsyncRunner(const sc::Scenario& s, Target target) : s_(s), target_(std::move(target)) {}

  json run() {
    if (auto reason = unsupported_reason(s_, target_)) return {{"unsupported", *reason}};
    return outcome_of([this] {
      boost::asio::io_context ioc;
      std::exception_ptr failure;
      boost::asio::co_spawn(ioc, body(ioc.get_executor()),
                            [&failure](std::exception_ptr e) { failure = e; });
      ioc.run();
      smtp_.reset();  // its sockets belong to this io_context
      if (failure) std::rethrow_exception(failure);
      return success_json(last_reply_, refused_, results_);
    });
  }

  std::optional<std::string> local() const { return local_; }
  const std::vector<std::string>& trace() const { return trace_; }

 private:
  template <class T>
  using awaitable = boost::asio::awaitable<T>;

  awaitable<void> body(boost::asio::any_io_executor ex) {
    co_await connect(ex);
    for (const auto& call : s_.client.calls) co_await perform(call);
  }

  void settings() {
    smtp_->set_debug_sink([this](std::string_view line) { trace_.emplace_back(line); });
    smtp_->set_debuglevel(2);
    smtp_->set_allow_cleartext_auth(is_loopback(target_));
    smtp_->set_require_tls(scenario_require_tls(s_));
    apply_transaction_options(s_, *smtp_);
  }

  awaitable<void> connect(boost::asio::any_io_executor ex) {
    const auto local_hostname = scenario_local_hostname(s_);
    const auto timeout = scenario_timeout(s_);
    if (target_.transport == sc::Transport::tls) {
      smtp_ = std::make_unique<smtp::AsyncSMTP_SSL>(ex, local_hostname, std::nullopt, std::nullopt,
                                                    timeout, test_tls_context(target_));
    } else if (s_.protocol == sc::Protocol::lmtp) {
      smtp_ = std::make_unique<smtp::AsyncLMTP>(ex, local_hostname, timeout);
    } else {
      smtp_ = std::make_unique<smtp::AsyncSMTP>(ex, local_hostname, timeout);
    }
    settings();
    smtp::Reply greeting;
    if (target_.transport == sc::Transport::unix_socket) {
      // Any protocol over the Unix socket (the sync driver does the same with connect_unix).
      boost::asio::local::stream_protocol::socket socket(ex);
      auto [ec] = co_await socket.async_connect(
          boost::asio::local::stream_protocol::endpoint(target_.unix_path),
          boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) throw smtp::SMTPConnectError(-1, "cannot connect to " + target_.unix_path);
      smtp::AsyncStream stream(std::move(socket));
      greeting = co_await smtp_->connect(std::move(stream), "localhost");
    } else {
      greeting = co_await smtp_->connect(target_.host, target_.port);
      local_ = local_address(target_.port);
    }
    if (greeting.code != 220) {
      smtp_->close();
      throw smtp::SMTPConnectError(greeting.code, greeting.text);
    }
    if (target_.transport == sc::Transport::starttls) {
      co_await smtp_->starttls(test_tls_context(target_));
    }
  }

  void reply(const smtp::Reply& r) { last_reply_ = r; }

  awaitable<void> perform(const sc::ClientCall& call) {
    auto& c = *smtp_;
    const std::string& n = call.name;
    const std::string message = s_.client.message.value_or("");
    const std::string first = call.args.empty() ? std::string() : call.args[0];
    smtp::Reply r;
    bool has_reply = true;
    if (n == "ehlo") {
      r = co_await c.ehlo(first);
    } else if (n == "helo") {
      r = co_await c.helo(first);
    } else if (n == "ehlo_or_helo_if_needed") {
      co_await c.ehlo_or_helo_if_needed();
      has_reply = false;
    } else if (n == "noop") {
      r = co_await c.noop();
    } else if (n == "rset") {
      r = co_await c.rset();
    } else if (n == "quit") {
      r = co_await c.quit();
    } else if (n == "close") {
      c.close();
      has_reply = false;
    } else if (n == "data") {
      r = co_await c.data(message);
    } else if (n == "verify") {
      r = co_await c.verify(arg(call, 0));
    } else if (n == "expn") {
      r = co_await c.expn(arg(call, 0));
    } else if (n == "has_extn") {
      (void)c.has_extn(arg(call, 0));
      has_reply = false;
    } else if (n == "help") {
      co_await c.help(first);
      has_reply = false;
    } else if (n == "mail") {
      r = co_await c.mail(arg(call, 0), kw_list(call, "options"));
    } else if (n == "rcpt") {
      r = co_await c.rcpt(arg(call, 0), kw_list(call, "options"));
    } else if (n == "docmd") {
      const std::string args = call.args.size() > 1 ? call.args[1] : std::string();
      r = co_await c.docmd(arg(call, 0), args);
    } else if (n == "sendmail") {
      smtp::RefusedRecipients refused =
          co_await c.sendmail(arg(call, 0), split_list(arg(call, 1)), message,
                              kw_list(call, "mail_options"), kw_list(call, "rcpt_options"));
      refused_ = std::move(refused);
      has_reply = false;
    } else if (n == "sendmail_many") {
      const std::vector<smtp::OutgoingMail> mails = many_mails(call, message);
      std::vector<smtp::MailResult> results = co_await c.sendmail_many(mails);
      results_ = results_json(results, refused_);
      has_reply = false;
    } else if (n == "starttls") {
      r = co_await c.starttls(test_tls_context(target_));
    } else if (n == "login") {
      r = co_await c.login(arg(call, 0), arg(call, 1), initial_response_ok(call));
    } else if (n == "login_oauth2") {
      r = co_await c.login_oauth2(arg(call, 0), arg(call, 1), initial_response_ok(call));
    } else if (n == "send_message") {
      std::optional<std::vector<std::string>> to;
      if (auto list = kw(call, "to_addrs")) to = split_list(*list);
      smtp::RefusedRecipients refused =
          co_await c.send_message(message, kw(call, "from_addr"), std::move(to),
                                  kw_list(call, "mail_options"), kw_list(call, "rcpt_options"));
      refused_ = std::move(refused);
      has_reply = false;
    } else {
      throw std::invalid_argument(call.where.str() + ": the driver does not know method " + n);
    }
    if (has_reply) reply(r);
  }

  const sc::Scenario& s_;
  Target target_;
  std::unique_ptr<smtp::AsyncSMTP> smtp_;
  std::optional<smtp::Reply> last_reply_;
  smtp::RefusedRecipients refused_;
  std::optional<json> results_;  // the last sendmail_many's, per message
  std::optional<std::string> local_;
  std::vector<std::string> trace_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs a scenario's client section with the C++ client; prints the outcome as JSON."};
  std::string file;
  std::string transport_name = "plain";
  Target target;
  app.add_option("--scenario", file, "the .scn file")->required();
  app.add_option("--transport", transport_name, "plain, starttls, tls or unix");
  app.add_option("--host", target.host, "server address (TCP transports)");
  app.add_option("--port", target.port, "server port (TCP transports)");
  app.add_option("--unix", target.unix_path, "socket path (transport unix)");
  bool use_async = false;
  app.add_flag("--async", use_async,
               "run the calls through the awaitable API (AsyncSMTP; the matrix's cpp-async)");
  app.add_option("--cafile", target.cafile,
                 "CA certificate that signed the server's (TLS transports, starttls calls)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : exit_usage;
  }
  const auto transport = sc::transport_from_string(transport_name);
  if (!transport) {
    std::cerr << "smtp-scenario-client: unknown transport '" << transport_name << "'\n";
    return exit_usage;
  }
  target.transport = *transport;
  sc::Scenario scenario;
  try {
    scenario = sc::parse_file(file);
  } catch (const std::exception& e) {
    std::cerr << "smtp-scenario-client: " << e.what() << "\n";
    return exit_usage;
  }
  json out;
  if (use_async) {
    AsyncRunner runner(scenario, target);
    json outcome = runner.run();
    out = {{"local", runner.local() ? json(*runner.local()) : json(nullptr)},
           {"outcome", std::move(outcome)},
           {"trace", runner.trace()}};
  } else {
    Runner runner(scenario, target);
    json outcome = runner.run();
    out = {{"local", runner.local() ? json(*runner.local()) : json(nullptr)},
           {"outcome", std::move(outcome)},
           {"trace", runner.trace()}};
  }
  std::cout << dump(out) << std::endl;
  return exit_outcome;
}
