// smtp-scenario-client: runs the client section of one scenario file with the C++ client and
// prints the outcome as one JSON object on stdout (see harness/README.md, "The matrix").
//
//   smtp-scenario-client --scenario FILE --transport plain --host 127.0.0.1 --port 40123
//   smtp-scenario-client --scenario FILE --transport unix --unix /tmp/x/0.sock
//
// Output: {"local": "127.0.0.1:51234" | null, "outcome": OUTCOME, "trace": ["...", ...]}
// where OUTCOME is one of
//   {"ok": true, "reply": [CODE, TEXT] | null, "refused": {ADDR: [CODE, TEXT]}}
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
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
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

// The class of an smtp:: exception and its bases, most derived first (the harness accepts an
// expected name anywhere in this list, as `except Base:` would). SMTPTimeoutError also counts as
// the OS-level TimeoutError the scenario vocabulary has.
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

class Runner {
 public:
  Runner(const sc::Scenario& s, Target target) : s_(s), target_(std::move(target)) {}

  json run() {
    if (auto reason = unsupported_reason(s_, target_)) return {{"unsupported", *reason}};
    try {
      connect();
      for (const auto& call : s_.client.calls) perform(call);
      json refused = json::object();
      for (const auto& [addr, r] : refused_) refused[addr] = reply_json(r);
      return {{"ok", true},
              {"reply", last_reply_ ? reply_json(*last_reply_) : json(nullptr)},
              {"refused", std::move(refused)}};
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
    }
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
  Runner runner(scenario, target);
  json outcome = runner.run();
  json out = {{"local", runner.local() ? json(*runner.local()) : json(nullptr)},
              {"outcome", std::move(outcome)},
              {"trace", runner.trace()}};
  std::cout << dump(out) << std::endl;
  return exit_outcome;
}
