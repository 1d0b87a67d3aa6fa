// smtp-client: sends one message with the smtp::client library (swaks-like). See --help.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <smtp/smtp.hpp>
#include <span>
#include <sstream>
#include <system_error>

#include "greeting_hint.hpp"
#include "test_message.hpp"

namespace {

using json = nlohmann::ordered_json;

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;  // SMTP or network failure
constexpr int exit_usage = 2;    // usage error, or input refused before anything was sent

const char* const description = R"(Sends one message with the smtp::client library.

Exit status: 0 when the message was accepted for at least one recipient; 1 on an SMTP or network
failure (refused sender, all recipients refused, data refused, disconnect, timeout, protocol
violation); 2 on a usage error or input refused before sending (bad address, option, hostname,
NUL in the message, unreadable --data).

With --json, standard output gets exactly one JSON object:
  success: {"ok": true, "refused": {"ADDR": [CODE, "TEXT"], ...}}
           and "quit": {"ok": false, "error": {...}} when QUIT failed after the message (it does
           not change the message's outcome; a 250 where QUIT's 221 was due is a sign that the
           replies were out of step)
  failure: {"ok": false, "error": {"type": "<exception class>", "code": CODE or null,
            "message": "TEXT", "sender": "ADDR" (SMTPSenderRefused),
            "recipients": {"ADDR": [CODE, "TEXT"]} (SMTPRecipientsRefused),
            "delivery_unknown": true|false (SMTPServerDisconnected and subclasses: true when the
            message was sent in full and may or may not have been delivered; do not retry blindly),
            "delivered": [ADDR], "unanswered": [ADDR] (SMTPPartialDelivery, LMTP)}}
"type" is the smtp:: exception class (SMTPSenderRefused, SMTPRecipientsRefused, SMTPDataError,
SMTPConnectError, SMTPHeloError, SMTPServerDisconnected, SMTPTimeoutError, SMTPProtocolError,
SMTPNotSupportedError, SMTPAuthenticationError, SSLError, SSLCertVerificationError, ...), "ValueError" for input refused before sending, "UsageError" for bad
flags or an unreadable --data file (missing, a directory). "message" is the server's text for
errors that carry a reply, otherwise a description. For LMTP, recipients refused after the final
dot appear in "refused". Without --json, success prints the server's reply to the end of the
message, with its queue id ("accepted for 1 of 1 recipient(s): 250 2.0.0 Ok: queued as 1F2E3").

Without --data, and with standard input a terminal or with --header/--body given, the message is
a test message as swaks builds it (Date, To, From, Subject, Message-Id, X-Mailer, then "This is a
test mailing"); --header "Name: value" replaces or adds a header, --body TEXT the text. "--data -"
(or a pipe on standard input) sends standard input.

The transaction is smtplib's sendmail(): EHLO (LHLO with --lmtp), HELO if EHLO is refused, MAIL
with SIZE=n when the server advertises SIZE plus each --mail-option, RCPT per --to with each
--rcpt-option, DATA, the message (line endings made CRLF, leading dots doubled), then QUIT.
When the server advertises CHUNKING the message goes as BDAT chunks instead (--no-chunking: DATA);
--pipelining / --no-pipelining switch PIPELINING (RFC 2920). The message is streamed from --data
or standard input with bounded memory; a NUL found mid-stream abandons the transaction (no end of
data is sent, the connection is closed) with "ValueError" naming the offset, exit status 2. A
message larger than the server's SIZE limit is refused before MAIL (SMTPMessageTooLarge).
Several --data FILE options send one message per file, in order, with the same envelope over one
connection (sendmail_many: each message pipelined behind the previous one when the server
advertises PIPELINING); --json then prints {"ok": ALL_OK, "messages": [{"data": FILE, "ok": true,
"refused": {...}} or {"data": FILE, "ok": false, "error": {...}}, ...]} and the exit status is 0
only when every message was accepted.
--server defaults to localhost; the port to 25 (2003 with --lmtp, 465 with --tls); -p/--port
gives it apart from the host. Short flags as swaks: -s server, -p port, -f from, -t to, -d data
(-h is --help here: the EHLO name is --helo/--ehlo/--local-hostname). A plaintext client that gets
no greeting in 3 s says on stderr "is this an implicit TLS port? try --tls" and goes on waiting;
a --timeout that ends that wait says it in the error.
TLS: --tls (implicit TLS) or --starttls (required: a server without STARTTLS is an error, never a
plaintext fallback); the certificate is verified against the system store (or --cafile) and the
--server host name unless --insecure. --user logs in (smtplib's login(): the best advertised
mechanism of SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN, and no fallback after a refusal); the password
comes from --password-file or $SMTP_PASSWORD, never from the command line. PLAIN/LOGIN without TLS
are refused unless the server is on a loopback address. Credentials never appear in --debug. --unix connects to a Unix
stream socket instead (SMTP, or LMTP with --lmtp).)";

json reply_json(const smtp::Reply& r) {
  return json::array({r.code, r.text});
}

json refused_json(const smtp::RefusedRecipients& refused) {
  json j = json::object();
  for (const auto& [addr, reply] : refused) j[addr] = reply_json(reply);
  return j;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// What a failure is called in the output: the exception class, its SMTP code, the text, the
// details (sender, refused recipients) and the exit status.
struct Failure {
  std::string type;
  std::optional<int> code;
  std::string message;
  json extra = json::object();
  int status = exit_failure;
};

json failure_json(const Failure& f) {
  json err = {
      {"type", f.type}, {"code", f.code ? json(*f.code) : json(nullptr)}, {"message", f.message}};
  for (auto it = f.extra.begin(); it != f.extra.end(); ++it) err[it.key()] = it.value();
  return err;
}

int report_error(bool as_json, std::string_view type, std::optional<int> code,
                 const std::string& message, const json& extra, int status) {
  const Failure f{std::string(type), code, message, extra, status};
  if (as_json) {
    std::cout << dump({{"ok", false}, {"error", failure_json(f)}}) << std::endl;
  } else {
    std::cerr << "smtp-client: " << type << ": " << message << std::endl;
    if (extra.contains("recipients")) {
      for (auto it = extra["recipients"].begin(); it != extra["recipients"].end(); ++it) {
        std::cerr << "  refused " << it.key() << ": " << it.value()[0] << " "
                  << it.value()[1].get<std::string>() << std::endl;
      }
    }
  }
  return status;
}

Failure describe_error(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const smtp::SMTPSenderRefused& ex) {
    return {std::string(ex.type_name()), ex.smtp_code, ex.smtp_error, {{"sender", ex.sender}}};
  } catch (const smtp::SMTPRecipientsRefused& ex) {
    return {std::string(ex.type_name()),
            std::nullopt,
            ex.what(),
            {{"recipients", refused_json(ex.recipients)}}};
  } catch (const smtp::SMTPResponseException& ex) {
    std::optional<int> code;
    if (ex.smtp_code >= 0) code = ex.smtp_code;
    return {std::string(ex.type_name()), code, ex.smtp_error};
  } catch (const smtp::SMTPPartialDelivery& ex) {
    return {std::string(ex.type_name()),
            std::nullopt,
            ex.what(),
            {{"delivery_unknown", ex.delivery_unknown()},
             {"delivered", ex.delivered},
             {"recipients", refused_json(ex.refused)},
             {"unanswered", ex.unanswered}}};
  } catch (const smtp::SMTPServerDisconnected& ex) {
    // delivery_unknown: the message was sent in full; it may or may not have been delivered.
    return {std::string(ex.type_name()),
            std::nullopt,
            ex.what(),
            {{"delivery_unknown", ex.delivery_unknown()}}};
  } catch (const smtp::SMTPException& ex) {
    return {std::string(ex.type_name()), std::nullopt, ex.what()};
  } catch (const std::invalid_argument& ex) {
    return {"ValueError", std::nullopt, ex.what(), json::object(), exit_usage};
  } catch (const std::exception& ex) {
    return {"Error", std::nullopt, ex.what()};
  }
}

// QUIT after the messages: its failure does not change their outcomes (each was decided by its
// own reply), but it is reported, since a reply left unread before QUIT (a 250 where 221 was due)
// is evidence that replies and commands were out of step.
json quit_outcome(smtp::SMTP& client) {
  try {
    const smtp::Reply r = client.quit();
    return {{"ok", true}, {"code", r.code}};
  } catch (...) {
    return {{"ok", false}, {"error", failure_json(describe_error(std::current_exception()))}};
  }
}

int report_failure(bool as_json, const Failure& f) {
  return report_error(as_json, f.type, f.code, f.message, f.extra, f.status);
}

// A message file opened when the client starts that message and closed at its end, so a long
// list of --data files never holds more than a few open at once.
class LazyFileBody final : public smtp::BodySource {
 public:
  explicit LazyFileBody(std::string path) : path_(std::move(path)) {}
  std::size_t read(std::span<char> buffer) override {
    if (!file_) file_.emplace(path_);
    const std::size_t n = file_->read(buffer);
    if (n == 0) file_.reset();
    return n;
  }
  std::optional<std::uint64_t> size() const override {
    std::error_code ec;
    const auto n = std::filesystem::file_size(path_, ec);
    if (ec) return std::nullopt;
    return n;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::optional<smtp::FileBody> file_;
};

struct SendArgs;
int send_many(smtp::SMTP& client, const SendArgs& a,
              const std::vector<std::unique_ptr<LazyFileBody>>& files);

struct SendArgs {
  std::string server = "localhost";
  std::string unix_path;
  bool lmtp = false;
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> data_files;  // none or "-": standard input; several: sendmail_many
  std::vector<std::string> mail_options;
  std::vector<std::string> rcpt_options;
  std::string local_hostname;
  std::optional<int> port;               // -p/--port: apart from --server's host
  std::vector<std::string> headers;      // --header: the test message's headers
  std::optional<std::string> body_text;  // --body: the test message's text
  double timeout = 0;
  int debug = 0;
  bool json = false;
  bool tls = false;       // SMTP_SSL: TLS from the first byte
  bool starttls = false;  // STARTTLS, required: no plaintext fallback
  std::string cafile;
  bool insecure = false;
  std::string user;
  std::string password_file;
  std::string password_env = "SMTP_PASSWORD";
  std::optional<bool> pipelining;  // unset: the library's default
  bool chunking = true;
};

// The password never comes from the command line (visible in ps): a file's first line, or an
// environment variable.
std::optional<std::string> read_password(const SendArgs& a, std::string& why) {
  if (!a.password_file.empty()) {
    std::ifstream in(a.password_file, std::ios::binary);
    std::string line;
    if (!in || !std::getline(in, line)) {
      why = "cannot read --password-file " + a.password_file;
      return std::nullopt;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  if (const char* env = std::getenv(a.password_env.c_str())) return std::string(env);
  why =
      "--user needs a password: --password-file FILE or the environment variable " + a.password_env;
  return std::nullopt;
}

// swaks: no --data means a test message. Here also standard input when it is a pipe or a file
// (`printf ... | smtp-client send`), unless --header or --body ask for the test message.
bool wants_test_message(const SendArgs& a) {
  if (!a.data_files.empty()) return false;
  return !a.headers.empty() || a.body_text || ::isatty(STDIN_FILENO) == 1;
}

// The server named by --server (and -p/--port): "host", "host:port", "[v6]:port".
std::string server_address(const SendArgs& a) {
  if (!a.port) return a.server;
  std::string host = a.server;
  if (host.find(':') != std::string::npos && !host.starts_with("[")) host = "[" + host + "]";
  return host + ":" + std::to_string(*a.port);
}

// connect() with the implicit-TLS hint: printed when no greeting has come after 3 s, and added to
// a timeout that ended the wait for the greeting (the TCP connection was made: not "connecting").
smtp::Reply connect_with_hint(smtp::SMTP& client, const SendArgs& a) {
  std::optional<smtp_client::GreetingHint> hint;
  if (!a.tls) hint.emplace(std::chrono::milliseconds(3000));
  try {
    return client.connect(server_address(a));
  } catch (const smtp::SMTPTimeoutError& e) {
    const std::string what = e.what();
    if (a.tls || what.find("connecting") != std::string::npos ||
        what.find("resolving") != std::string::npos) {
      throw;
    }
    throw smtp::SMTPTimeoutError(what + "; no greeting: " + smtp_client::implicit_tls_hint);
  }
}

int run_send(const SendArgs& a) {
  // The message is streamed (never read whole): from the file, or from standard input.
  std::unique_ptr<smtp::BodySource> body;
  std::string test_message;                          // no --data: swaks' test message
  std::vector<std::unique_ptr<LazyFileBody>> files;  // several --data: one message each
  if (a.data_files.size() > 1) {
    for (const auto& f : a.data_files) {
      std::error_code ec;
      if (f == "-" || !std::filesystem::is_regular_file(f, ec)) {
        return report_error(a.json, "UsageError", std::nullopt,
                            "with several --data, each must be a readable regular file: " + f,
                            json::object(), exit_usage);
      }
      files.push_back(std::make_unique<LazyFileBody>(f));
    }
  } else if (wants_test_message(a)) {
    try {
      test_message = smtp_client::build_test_message(
          {a.from, a.to, a.headers, a.body_text.value_or(""),
           a.local_hostname.empty() ? smtp::default_local_hostname() : a.local_hostname,
           std::string("smtp-client (smtpkit) ") + SMTPKIT_VERSION},
          std::time(nullptr));
    } catch (const std::invalid_argument& e) {
      return report_error(a.json, "UsageError", std::nullopt, e.what(), json::object(), exit_usage);
    }
    body = std::make_unique<smtp::StringBody>(test_message);
  } else if (a.data_files.empty() || a.data_files[0] == "-") {
    body = std::make_unique<smtp::StreamBody>(std::cin);
  } else {
    try {
      body = std::make_unique<smtp::FileBody>(a.data_files[0]);
    } catch (const smtp::BodyFileError& e) {
      return report_error(a.json, "UsageError", std::nullopt, "--data: " + std::string(e.what()),
                          json::object(), exit_usage);
    }
  }

  // Refuse bad input before connecting: the same checks sendmail() makes before writing. (A NUL
  // in the streamed message is found while sending: the transaction is then abandoned.)
  try {
    (void)smtp::wire::command::mail(a.from, a.mail_options);
    for (const auto& to : a.to) (void)smtp::wire::command::rcpt(to, a.rcpt_options);
    if (!a.local_hostname.empty()) smtp::wire::command::check_hostname(a.local_hostname);
  } catch (const std::invalid_argument& e) {
    return report_error(a.json, "ValueError", std::nullopt, e.what(), json::object(), exit_usage);
  }

  std::optional<std::string> password;
  if (!a.user.empty()) {
    std::string why;
    password = read_password(a, why);
    if (!password)
      return report_error(a.json, "UsageError", std::nullopt, why, json::object(), exit_usage);
  }
  smtp::TlsContext tls;
  if (!a.cafile.empty()) tls.cafile = a.cafile;
  tls.insecure_skip_verify = a.insecure;

  std::optional<std::string> local;
  if (!a.local_hostname.empty()) local = a.local_hostname;
  smtp::Timeout timeout;
  if (a.timeout > 0) timeout = std::chrono::duration<double>(a.timeout);

  try {
    std::unique_ptr<smtp::SMTP> client;
    if (a.tls) {
      client = std::make_unique<smtp::SMTP_SSL>(std::string(), 0, local, std::nullopt, std::nullopt,
                                                timeout, tls);
    } else if (a.lmtp) {
      client = std::make_unique<smtp::LMTP>(std::string(), 0, local, timeout);
    } else {
      client = std::make_unique<smtp::SMTP>(std::string(), 0, local, timeout);
    }
    client->set_debuglevel(a.debug);
    if (a.pipelining) client->set_pipelining(*a.pipelining);
    client->set_chunking(a.chunking);
    smtp::Reply greeting;
    if (!a.unix_path.empty()) {
      greeting = client->connect(smtp::connect_unix(
          a.unix_path,
          client->timeout()
              ? std::optional(smtp::Clock::now() +
                              std::chrono::duration_cast<smtp::Clock::duration>(*client->timeout()))
              : std::nullopt));
    } else {
      greeting = connect_with_hint(*client, a);
    }
    if (greeting.code != 220) {
      client->close();
      throw smtp::SMTPConnectError(greeting.code, greeting.text);
    }
    if (a.starttls) {
      client->set_require_tls(true);
      client->starttls(tls);
    }
    if (password) client->login(a.user, *password);
    if (!files.empty()) return send_many(*client, a, files);
    const smtp::RefusedRecipients refused =
        client->sendmail(a.from, a.to, *body, a.mail_options, a.rcpt_options);
    // The reply to the end of the message (LMTP: the last recipient's), with the queue id.
    std::optional<smtp::Reply> final_reply;
    if (!client->data_replies().empty()) final_reply = client->data_replies().back().second;
    const json quit = quit_outcome(*client);
    if (a.json) {
      json out = {{"ok", true}, {"refused", refused_json(refused)}};
      if (!quit["ok"].get<bool>()) out["quit"] = quit;
      std::cout << dump(out) << std::endl;
    } else {
      if (!quit["ok"].get<bool>()) {
        std::cerr << "smtp-client: QUIT failed: " << quit["error"]["type"].get<std::string>()
                  << ": " << quit["error"]["message"].get<std::string>() << std::endl;
      }
      std::cout << "accepted for " << (a.to.size() - refused.size()) << " of " << a.to.size()
                << " recipient(s)";
      if (final_reply) std::cout << ": " << final_reply->code << " " << final_reply->text;
      std::cout << std::endl;
      for (const auto& [addr, r] : refused) {
        std::cout << "  refused " << addr << ": " << r.code << " " << r.text << std::endl;
      }
    }
    return exit_ok;
  } catch (const smtp::SMTPException&) {
    return report_failure(a.json, describe_error(std::current_exception()));
  } catch (const std::invalid_argument&) {
    return report_failure(a.json, describe_error(std::current_exception()));
  } catch (const std::exception&) {
    // Anything else (a read error of the message, ...): reported, never an abort.
    return report_failure(a.json, describe_error(std::current_exception()));
  }
}

// Several --data files: one sendmail_many() call, one result per file.
int send_many(smtp::SMTP& client, const SendArgs& a,
              const std::vector<std::unique_ptr<LazyFileBody>>& files) {
  std::vector<smtp::OutgoingMail> mails;
  for (const auto& f : files) {
    mails.push_back({a.from, a.to, {}, f.get(), a.mail_options, a.rcpt_options});
  }
  const std::vector<smtp::MailResult> results = client.sendmail_many(mails);
  const json quit = quit_outcome(client);
  if (!a.json && !quit["ok"].get<bool>()) {
    std::cerr << "smtp-client: QUIT failed: " << quit["error"]["type"].get<std::string>() << ": "
              << quit["error"]["message"].get<std::string>() << std::endl;
  }
  bool all_ok = true;
  json out = json::array();
  for (std::size_t i = 0; i < results.size(); ++i) {
    const smtp::MailResult& r = results[i];
    const std::string& path = files[i]->path();
    if (r.ok()) {
      out.push_back({{"data", path}, {"ok", true}, {"refused", refused_json(r.refused)}});
      if (!a.json) {
        std::cout << path << ": accepted for " << (a.to.size() - r.refused.size()) << " of "
                  << a.to.size() << " recipient(s)" << std::endl;
        for (const auto& [addr, reply] : r.refused) {
          std::cout << "  refused " << addr << ": " << reply.code << " " << reply.text << std::endl;
        }
      }
      continue;
    }
    all_ok = false;
    const Failure f = describe_error(r.error);
    out.push_back({{"data", path}, {"ok", false}, {"error", failure_json(f)}});
    if (!a.json) std::cout << path << ": " << f.type << ": " << f.message << std::endl;
  }
  if (a.json) {
    json all = {{"ok", all_ok}, {"messages", out}};
    if (!quit["ok"].get<bool>()) all["quit"] = quit;
    std::cout << dump(all) << std::endl;
  }
  return all_ok ? exit_ok : exit_failure;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"smtp-client: an SMTP/LMTP client built on smtp::client (smtplib's API in C++)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("smtp-client (smtpkit) ") + SMTPKIT_VERSION);
  SendArgs args;
  app.footer("Run `smtp-client send --help` for the flags, the JSON shape and the exit statuses.");
  CLI::App* send = app.add_subcommand("send", "send one message (smtplib's sendmail())");
  send->add_option("-s,--server", args.server, "HOST[:PORT] to connect to (default localhost)");
  auto* unix_opt = send->add_option("--unix", args.unix_path, "Unix stream socket PATH instead");
  auto* port_opt = send->add_option("-p,--port", args.port, "PORT, apart from --server's host");
  send->get_option("--server")->excludes(unix_opt);
  port_opt->excludes(unix_opt);
  send->add_flag("--lmtp", args.lmtp, "speak LMTP (RFC 2033): LHLO, one reply per recipient");
  send->add_option("-f,--from", args.from, "envelope sender (\"\" or \"<>\" for the null sender)")
      ->required();
  send->add_option("-t,--to", args.to, "envelope recipient (repeatable)")->required();
  auto* data_opt = send->add_option(
      "-d,--data", args.data_files,
      "message FILE (- : standard input; absent: standard input when it is a pipe or file, else "
      "a test message); repeat it to send several messages with the same envelope over one "
      "connection (sendmail_many)");
  auto* header_opt = send->add_option(
      "--header", args.headers,
      "\"Name: value\" for the test message (no --data): replaces the default header of that "
      "name or adds one (repeatable)");
  auto* body_opt = send->add_option("--body", args.body_text,
                                    "TEXT of the test message (no --data; default \"This is a "
                                    "test mailing\")");
  header_opt->excludes(data_opt);
  body_opt->excludes(data_opt);
  send->add_option("--mail-option", args.mail_options, "ESMTP MAIL parameter (repeatable)");
  send->add_option("--rcpt-option", args.rcpt_options, "ESMTP RCPT parameter (repeatable)");
  send->add_option("--local-hostname,--helo,--ehlo", args.local_hostname,
                   "name for EHLO/HELO/LHLO");
  auto* pipe_on = send->add_flag_callback(
      "--pipelining", [&args] { args.pipelining = true; },
      "pipeline MAIL/RCPT/DATA when the server advertises PIPELINING");
  auto* pipe_off = send->add_flag_callback(
      "--no-pipelining", [&args] { args.pipelining = false; }, "never pipeline (RFC 2920)");
  pipe_on->excludes(pipe_off);
  send->add_flag_callback(
      "--no-chunking", [&args] { args.chunking = false; },
      "use DATA even when the server advertises CHUNKING (default: BDAT, RFC 3030)");
  send->add_option("--timeout", args.timeout,
                   "SECONDS allowed per connect, write and reply (0 or absent: no limit)")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            double v = 0;
            if (!CLI::detail::lexical_cast(value, v) || !(v >= 0) ||
                v > smtp::max_timeout_seconds) {
              return "wants a number of seconds, 0 (no limit) or more, got '" + value + "'";
            }
            return {};
          },
          "SECONDS"));
  send->add_option("--debug", args.debug, "LEVEL: 1 smtplib-style send:/reply: lines, 2 with times")
      ->check(CLI::Range(0, 2));
  send->add_flag("--json", args.json, "print one JSON object (shape in the description)");
  auto* tls_opt = send->add_flag("--tls", args.tls, "implicit TLS (SMTP_SSL, default port 465)");
  auto* starttls_opt =
      send->add_flag("--starttls", args.starttls,
                     "STARTTLS before anything else, and require it (no plaintext fallback)");
  tls_opt->excludes(starttls_opt);
  tls_opt->excludes(unix_opt);
  tls_opt->excludes(send->get_option("--lmtp"));  // SMTP_SSL speaks SMTP
  starttls_opt->excludes(unix_opt);
  send->add_option("--cafile", args.cafile,
                   "trust the CA certificates in this PEM FILE "
                   "(default: the system store)");
  send->add_flag("--insecure", args.insecure,
                 "do not verify the server's certificate or name (tests only)");
  send->add_option("--user", args.user,
                   "log in (AUTH) as USER; the password comes from "
                   "--password-file or $SMTP_PASSWORD");
  send->add_option("--password-file", args.password_file, "FILE whose first line is the password");
  send->add_option("--password-env", args.password_env,
                   "environment VARIABLE holding the password (default SMTP_PASSWORD)");
  send->footer(description);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    for (int i = 1; i < argc; ++i) {
      if (std::string_view(argv[i]) == "--json") {
        return report_error(true, "UsageError", std::nullopt, e.what(), json::object(), exit_usage);
      }
    }
    return exit_usage;
  }
  if (!send->parsed()) return exit_usage;
  try {
    return run_send(args);
  } catch (const std::exception& e) {
    // Never an abort: whatever escaped is reported with the usual shape.
    return report_error(args.json, "Error", std::nullopt, e.what(), json::object(), exit_failure);
  }
}
