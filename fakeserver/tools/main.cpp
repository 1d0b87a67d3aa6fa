// smtp-fakeserver: the thin command-line front of the fake server library.
//   check FILE...   validate scenario files (errors name file:line)
//   dump FILE...    the parsed scenario as JSON
//   serve FILE...   replay scenarios, one listener per scenario and transport
//   sink            accept everything, store messages in a Maildir
#include <pthread.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "smtp/fakeserver/server.hpp"
#include "smtp/scenario/json.hpp"
#include "smtp/scenario/parser.hpp"
#include "smtp/wire/end_of_data.hpp"
#include "smtp/wire/endpoint.hpp"

namespace {

using smtp::fakeserver::Listen;
using smtp::fakeserver::Server;
using smtp::fakeserver::ServerOptions;
using smtp::scenario::Transport;

constexpr int exit_ok = 0;
constexpr int exit_diverged = 1;  // some session departed from its script
constexpr int exit_usage = 2;     // bad command line or bad scenario file
constexpr int exit_runtime = 3;   // could not listen, bad certificate, ...
constexpr int exit_fatal = 4;     // the server failed while serving (a `fatal` event says why)

void emit(const std::string& line, std::FILE* to = stdout) {
  std::fwrite(line.data(), 1, line.size(), to);
  std::fputc('\n', to);
  std::fflush(to);
}

// "plain:127.0.0.1:0", "tls:[::1]:0", "unix:/path/to.sock"
Listen parse_listen(const std::string& spec) {
  auto colon = spec.find(':');
  if (colon == std::string::npos)
    throw CLI::ValidationError("--listen", "expected TRANSPORT:ADDRESS");
  auto t = smtp::scenario::transport_from_string(spec.substr(0, colon));
  if (!t) throw CLI::ValidationError("--listen", "unknown transport in '" + spec + "'");
  Listen l;
  l.transport = *t;
  std::string rest = spec.substr(colon + 1);
  if (*t == Transport::unix_socket) {
    l.address = rest;
    return l;
  }
  std::string host, port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      throw CLI::ValidationError("--listen", "expected [IPV6]:PORT in '" + spec + "'");
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    auto c = rest.rfind(':');
    if (c == std::string::npos)
      throw CLI::ValidationError("--listen", "expected HOST:PORT in '" + spec + "'");
    host = rest.substr(0, c);
    port = rest.substr(c + 1);
  }
  l.address = host;
  std::string error;
  const auto parsed = smtp::wire::parse_port(port, smtp::wire::PortZero::allowed, error);
  if (!parsed) throw CLI::ValidationError("--listen", error + " in '" + spec + "'");
  l.port = *parsed;
  return l;
}

void raise_fd_limit() {
  // Thousands of idle sessions need thousands of descriptors.
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

int run_server(ServerOptions options, bool quiet, bool report_sink_sessions,
               const std::string& reports_path) {
  bool scripted = options.mode == ServerOptions::Mode::scripted;
  options.keep_reports = false;
  std::FILE* reports = stdout;
  if (!reports_path.empty()) {
    reports = std::fopen(reports_path.c_str(), "a");
    if (!reports) {
      std::cerr << "smtp-fakeserver: cannot open " << reports_path << "\n";
      return exit_usage;
    }
  }
  options.on_session = [quiet, scripted, report_sink_sessions, reports](const auto& report) {
    if (scripted || report_sink_sessions) emit(report.to_json(), reports);
    if (!quiet && (scripted || report_sink_sessions)) std::cerr << report.to_text() << std::flush;
  };
  // SIGINT/SIGTERM end the run cleanly: reports flushed, exit line printed.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Server server(std::move(options));
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "smtp-fakeserver: " << e.what() << "\n";
    return exit_runtime;
  }
  for (const auto& info : server.listeners()) emit(info.to_json());
  emit(nlohmann::json{{"event", "ready"}, {"listeners", server.listeners().size()}}.dump());
  std::thread signals([&server, set] {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig == SIGINT || sig == SIGTERM) server.stop();
  });
  int fatal = 0;
  try {
    server.run();
  } catch (const std::exception& e) {
    // The server itself failed (not one session): say so on stdout, where the harness reads
    // session reports, so its runs fail with this reason rather than "no session report".
    emit(nlohmann::json{{"event", "fatal"}, {"error", e.what()}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace));
    std::cerr << "smtp-fakeserver: fatal: " << e.what() << "\n";
    fatal = exit_fatal;
  }
  auto s = server.summary();
  emit(nlohmann::json{{"event", "exit"},
                      {"sessions", s.sessions},
                      {"diverged", s.diverged},
                      {"messages", s.messages},
                      {"message_bytes", s.message_bytes}}
           .dump());
  // Wake the signal thread so it can be joined.
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  if (fatal) return fatal;
  return s.all_followed() ? exit_ok : exit_diverged;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"smtp-fakeserver: scriptable fake SMTP/LMTP server and scenario tool"};
  app.require_subcommand(1);

  std::vector<std::string> files;
  auto* check = app.add_subcommand("check", "validate scenario files (errors name file:line)");
  check->add_option("files", files, "scenario files")->required();

  bool lines = false;
  auto* dump = app.add_subcommand("dump", "print parsed scenarios as JSON");
  dump->add_option("files", files, "scenario files")->required();
  dump->add_flag("--lines", lines, "one compact JSON object per line (also for one file)");

  // Options common to serve and sink.
  std::string cert, key;
  std::vector<std::string> cert_set_specs;
  std::uint64_t sessions = 0;
  double time_limit = 0, step_timeout = 10;
  std::size_t max_line = smtp::scenario::PeerLimits::max_line;
  bool quiet = false;
  std::string reports_path;
  auto common = [&](CLI::App* sub) {
    sub->add_option("--reports", reports_path,
                    "append session reports (JSON lines) to this file instead of stdout");
    sub->add_option("--cert", cert, "PEM certificate chain (enables tls and starttls)");
    sub->add_option("--key", key, "PEM private key for --cert");
    sub->add_option("--cert-set", cert_set_specs,
                    "KIND=CERT,KEY: the certificate for scenarios saying 'server-cert: KIND' "
                    "(wrong-name, expired, self-signed, untrusted-ca; repeatable)")
        ->allow_extra_args(false);  // one value per --cert-set: the scenario files may follow it
    sub->add_option("--sessions", sessions, "exit after this many sessions have ended");
    sub->add_option("--time-limit", time_limit, "exit after this many seconds");
    sub->add_option("--step-timeout", step_timeout,
                    "seconds to wait for the client at one step (default 10)");
    sub->add_option("--max-line", max_line,
                    "the longest line (bytes, line end included) taken from a client; a scenario's "
                    "'max-line:' header wins (default 65536)")
        ->check(CLI::Range(std::size_t{3}, smtp::scenario::PeerLimits::max_line_ceiling));
    sub->add_flag("--quiet", quiet, "no human-readable reports on stderr");
  };

  std::vector<std::string> transports_filter, hosts;
  std::string unix_dir;
  std::string port_text;  // checked by the wire core's port parser (0-65535)
  auto* serve = app.add_subcommand("serve", "replay scenario files to every client that connects");
  serve->add_option("files", files, "scenario files")->required();
  serve->add_option("--transport", transports_filter,
                    "only these transports (plain starttls tls unix); default: all declared");
  serve->add_option("--host", hosts, "IP address to listen on (repeatable; default 127.0.0.1)");
  serve->add_option("--port", port_text, "fixed port (only with a single TCP listener; default 0)");
  serve->add_option("--unix-dir", unix_dir, "directory for the unix sockets (transport unix)");
  common(serve);

  std::vector<std::string> listen_specs;
  std::string maildir;
  bool lmtp = false, report_sessions = false;
  auto* sink = app.add_subcommand("sink", "accept every message, store it in a Maildir");
  sink->add_option("--listen", listen_specs,
                   "TRANSPORT:ADDRESS, e.g. plain:127.0.0.1:0, tls:[::1]:0, unix:/tmp/s.sock "
                   "(repeatable; default plain:127.0.0.1:0)");
  sink->add_option("--maildir", maildir, "store messages here (default: count only)");
  sink->add_flag("--lmtp", lmtp, "speak LMTP (one reply per recipient after the dot)");
  sink->add_flag("--report-sessions", report_sessions,
                 "print a JSON line per session (with each message's envelope)");
  std::vector<std::string> auth_users;
  std::string auth_file;
  bool envelope_headers = false;
  sink->add_option(
      "--auth-user", auth_users,
      "USER:PASSWORD accepted by AUTH PLAIN/LOGIN (repeatable); with users given, MAIL "
      "needs AUTH first. Default: any credentials are accepted");
  sink->add_option("--auth-file", auth_file, "FILE of USER:PASSWORD lines, as --auth-user");
  std::vector<std::string> data_endings;
  std::string bare_lf = "content";
  sink->add_option("--data-ending", data_endings,
                   "FORM=ACTION: what the sink does with an end-of-data form other than "
                   "<CRLF>.<CRLF> (FORM: lf-dot-lf, crlf-dot-lf, lf-dot-crlf, cr-dot-cr, "
                   "crlf-dot-cr, cr-dot-crlf, crlf-dot-nul-crlf; ACTION: content (default, RFC "
                   "5321), ends-data (a server open to SMTP smuggling), refuse); repeatable");
  sink->add_option("--bare-lf", bare_lf,
                   "content (default) or refuse: a message with a line ending in a bare LF");
  sink->add_flag("--envelope-headers", envelope_headers,
                 "store messages with Return-Path: and Delivered-To: headers in front (the "
                 "envelope is always in MAILDIR/envelope/NAME.json)");
  common(sink);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version: 0; every usage error (unknown flag, bad value): 2, not CLI11's codes.
    return app.exit(e) == 0 ? exit_ok : exit_usage;
  }

  if (check->parsed() || dump->parsed()) {
    int rc = exit_ok;
    for (const auto& f : files) {
      try {
        auto s = smtp::scenario::parse_file(f);
        if (check->parsed()) {
          std::string transports;
          for (auto t : s.transports)
            transports += std::string(transports.empty() ? "" : " ") + smtp::scenario::to_string(t);
          std::cout << "ok " << f << " (" << s.name << ": " << s.steps.size() << " steps; "
                    << transports << ")\n";
        } else {
          std::cout << smtp::scenario::to_json(s, lines || files.size() > 1 ? -1 : 2) << "\n";
        }
      } catch (const smtp::scenario::ScenarioError& e) {
        std::cerr << e.what() << "\n";
        rc = exit_usage;
      }
    }
    return rc;
  }

  if (!(step_timeout > 0) || step_timeout > 86400 || !(time_limit >= 0) || time_limit > 1e9) {
    std::cerr << "smtp-fakeserver: --step-timeout wants seconds, more than 0 (at most a day), "
                 "--time-limit 0 (none) or more; got "
              << step_timeout << " and " << time_limit << "\n";
    return exit_usage;
  }
  // Files named on the command line are checked before anything listens.
  {
    std::error_code ec;
    for (const auto& [flag, path] :
         {std::pair<const char*, const std::string&>{"--cert", cert}, {"--key", key}}) {
      if (!path.empty() && !std::filesystem::is_regular_file(path, ec)) {
        std::cerr << "smtp-fakeserver: " << flag << ": " << path
                  << (std::filesystem::is_directory(path, ec) ? " is a directory"
                                                              : ": no such file")
                  << "\n";
        return exit_usage;
      }
    }
    if (!maildir.empty() && std::filesystem::exists(maildir, ec) &&
        !std::filesystem::is_directory(maildir, ec)) {
      std::cerr << "smtp-fakeserver: --maildir: " << maildir << " exists and is not a directory\n";
      return exit_usage;
    }
  }
  raise_fd_limit();
  ServerOptions options;
  options.cert_file = cert;
  options.key_file = key;
  if (cert.empty() != key.empty()) {
    std::cerr << "smtp-fakeserver: --cert and --key go together\n";
    return exit_usage;
  }
  for (const auto& spec : cert_set_specs) {
    const auto eq = spec.find('=');
    const auto comma = spec.find(',', eq == std::string::npos ? 0 : eq);
    if (eq == std::string::npos || eq == 0 || comma == std::string::npos) {
      std::cerr << "smtp-fakeserver: --cert-set expects KIND=CERT,KEY, got '" << spec << "'\n";
      return exit_usage;
    }
    options.cert_sets[spec.substr(0, eq)] = {spec.substr(eq + 1, comma - eq - 1),
                                             spec.substr(comma + 1)};
  }
  if (sessions) options.max_sessions = sessions;
  if (time_limit > 0) {
    options.time_limit = std::chrono::milliseconds(static_cast<long>(time_limit * 1000));
  }
  options.limits.step_timeout = std::chrono::milliseconds(static_cast<long>(step_timeout * 1000));
  options.limits.max_line = max_line;

  if (sink->parsed()) {
    options.mode = ServerOptions::Mode::sink;
    options.envelope_headers = envelope_headers;
    for (const auto& spec : data_endings) {
      const auto eq = spec.find('=');
      const auto form = smtp::wire::data_ending_named(spec.substr(0, eq));
      const auto action = eq == std::string::npos
                              ? std::nullopt
                              : smtp::wire::ending_action_named(spec.substr(eq + 1));
      if (!form || !action || *form == smtp::wire::DataEnding::crlf_dot_crlf) {
        std::cerr << "smtp-fakeserver: --data-ending expects FORM=ACTION with FORM one of "
                     "lf-dot-lf, crlf-dot-lf, lf-dot-crlf, cr-dot-cr, crlf-dot-cr, cr-dot-crlf, "
                     "crlf-dot-nul-crlf and ACTION content, ends-data or refuse; got '"
                  << spec << "'\n";
        return exit_usage;
      }
      options.data_ending.set(*form, *action);
    }
    if (bare_lf == "refuse") {
      options.data_ending.bare_lf_line = smtp::wire::EndingAction::refuse;
    } else if (bare_lf != "content") {
      std::cerr << "smtp-fakeserver: --bare-lf expects content or refuse, got '" << bare_lf
                << "'\n";
      return exit_usage;
    }
    if (!auth_file.empty()) {
      std::error_code ec;
      std::ifstream in(auth_file);
      if (std::filesystem::is_directory(auth_file, ec) || !in) {
        std::cerr << "smtp-fakeserver: --auth-file: cannot read " << auth_file << "\n";
        return exit_usage;
      }
      for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty() && line.front() != '#') auth_users.push_back(line);
      }
    }
    for (const auto& spec : auth_users) {
      const auto colon = spec.find(':');
      if (colon == std::string::npos || colon == 0) {
        std::cerr << "smtp-fakeserver: --auth-user expects USER:PASSWORD, got '" << spec << "'\n";
        return exit_usage;
      }
      options.auth_users[spec.substr(0, colon)] = spec.substr(colon + 1);
    }
    options.maildir = maildir;
    options.lmtp = lmtp;
    try {
      for (const auto& spec : listen_specs) options.listens.push_back(parse_listen(spec));
    } catch (const std::exception& e) {
      std::cerr << "smtp-fakeserver: " << e.what() << "\n";
      return exit_usage;
    }
    if (options.listens.empty()) options.listens.push_back(Listen{});
    return run_server(std::move(options), quiet, report_sessions, reports_path);
  }

  // serve
  options.mode = ServerOptions::Mode::scripted;
  if (hosts.empty()) hosts.push_back("127.0.0.1");
  std::vector<Transport> wanted;
  for (const auto& name : transports_filter) {
    auto t = smtp::scenario::transport_from_string(name);
    if (!t) {
      std::cerr << "smtp-fakeserver: unknown transport '" << name << "'\n";
      return exit_usage;
    }
    wanted.push_back(*t);
  }
  for (const auto& f : files) {
    try {
      auto s = std::make_shared<smtp::scenario::Scenario>(smtp::scenario::parse_file(f));
      if (!s->playable_as_server()) {
        std::cerr << f
                  << ": not playable by the fake server: an 'S:' line is a pattern "
                     "(code class, wildcard or regex), not bytes to send\n";
        return exit_usage;
      }
      options.scenarios.push_back(s);
    } catch (const smtp::scenario::ScenarioError& e) {
      std::cerr << e.what() << "\n";
      return exit_usage;
    }
  }
  for (std::size_t i = 0; i < options.scenarios.size(); ++i) {
    const auto& s = *options.scenarios[i];
    for (auto t : s.transports) {
      if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), t) == wanted.end()) continue;
      auto skipped = [&](const std::string& why) {
        emit(nlohmann::json{{"event", "skipped"},
                            {"scenario", s.file},
                            {"transport", smtp::scenario::to_string(t)},
                            {"reason", why}}
                 .dump());
      };
      if ((t == Transport::tls || t == Transport::starttls) && cert.empty()) {
        skipped("needs --cert and --key");
        continue;
      }
      if (s.server_cert != "good" && !options.cert_sets.contains(s.server_cert)) {
        skipped("server-cert " + s.server_cert + " needs --cert-set " + s.server_cert +
                "=CERT,KEY");
        continue;
      }
      if (t == Transport::unix_socket) {
        if (unix_dir.empty()) {
          skipped("needs --unix-dir");
          continue;
        }
        options.listens.push_back(
            Listen{t, unix_dir + "/" + std::to_string(i) + ".sock", 0, static_cast<int>(i)});
        continue;
      }
      for (const auto& h : hosts) options.listens.push_back(Listen{t, h, 0, static_cast<int>(i)});
    }
  }
  if (!port_text.empty()) {
    std::string error;
    const auto port = smtp::wire::parse_port(port_text, smtp::wire::PortZero::allowed, error);
    if (!port) {
      std::cerr << "smtp-fakeserver: --port: " << error << "\n";
      return exit_usage;
    }
    if (options.listens.size() != 1 || options.listens[0].transport == Transport::unix_socket) {
      std::cerr << "smtp-fakeserver: --port needs exactly one TCP listener (use --transport)\n";
      return exit_usage;
    }
    options.listens[0].port = *port;
  }
  if (options.listens.empty()) {
    std::cerr << "smtp-fakeserver: nothing to listen on\n";
    return exit_usage;
  }
  return run_server(std::move(options), quiet, false, reports_path);
}
