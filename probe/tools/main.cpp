// smtp-probe: plays the client side of server-role scenarios against a real SMTP/LMTP server and
// reports a verdict per check. Exit status by phase (see probe/README.md).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "smtp/probe/probe.hpp"
#include "smtp/probe/report.hpp"
#include "smtp/scenario/parser.hpp"
#include "smtp/wire/endpoint.hpp"

namespace fs = std::filesystem;
using namespace smtp::probe;

namespace {

fs::path default_suite() {
  for (const char* p : {SMTPKIT_PROBE_SUITE_INSTALLED, SMTPKIT_PROBE_SUITE_SOURCE}) {
    if (fs::is_directory(p)) return p;
  }
  return SMTPKIT_PROBE_SUITE_SOURCE;
}

// HOST, HOST:PORT, [V6], [V6]:PORT, bare V6: the wire core's one parser (ports 1-65535).
void parse_host_port(const std::string& s, Target& t) {
  std::string error;
  const auto e = smtp::wire::parse_endpoint(s, smtp::wire::PortZero::refused, error);
  if (!e) throw std::invalid_argument("--server: " + error);
  t.host = e->host;
  if (e->port) t.port = *e->port;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"smtp-probe: checks how an SMTP or LMTP server behaves (one verdict per check)"};
  std::string server, unix_path, transport = "plain", suite, junit;
  std::vector<std::string> only, files;
  double timeout = 15;
  bool lmtp = false, json = false, quiet = false, list = false;
  Options o;
  app.add_option("--server", server, "HOST[:PORT] (port: 25, 465 for tls, 24 for LMTP)");
  app.add_option("--unix", unix_path, "a Unix socket (typically LMTP)");
  app.add_option("--transport", transport, "plain, starttls or tls (implicit TLS)")
      ->check(CLI::IsMember({"plain", "starttls", "tls"}));
  app.add_flag("--lmtp", lmtp, "the server speaks LMTP (LHLO; one reply per recipient)");
  app.add_option("--helo", o.helo_name, "the name sent in EHLO/LHLO")->capture_default_str();
  app.add_option("--from", o.sender, "the sender of checks that need one (default probe@HELO)");
  app.add_option("--rcpt", o.rcpt, "a recipient the operator owns: enables checks that need one");
  app.add_flag("--allow-delivery", o.allow_delivery,
               "run checks that may deliver mail to --rcpt (smuggling, LMTP per-recipient)");
  app.add_option("--cafile", o.tls.cafile, "trust anchors (PEM) for the certificate check");
  app.add_option("--tls-name", o.tls.server_name,
                 "the name the certificate must be valid for (default: the --server host)");
  app.add_option("--timeout", timeout, "seconds each check may take")->capture_default_str();
  app.add_option("--suite", suite, "folder of check files (default: the built-in server suite)");
  app.add_option("--check", only, "run only this check (repeatable)");
  app.add_option("files", files, "more check files to run after the suite");
  app.add_flag("--json", json, "print the report as JSON on stdout instead of the table");
  app.add_option("--junit", junit, "also write the report as JUnit XML to FILE");
  app.add_flag("-q,--quiet", quiet, "no progress on stderr");
  app.add_flag("--list", list, "list the checks and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(Phase::usage);
  }

  {
    std::error_code ec;
    if (!suite.empty() && !fs::is_directory(suite, ec)) {
      std::cerr << "smtp-probe: --suite: " << suite
                << (fs::exists(suite, ec) ? " is not a directory" : ": no such directory")
                << " (a folder of check files)\n";
      return static_cast<int>(Phase::usage);
    }
    if (!o.tls.cafile.empty() && !fs::is_regular_file(o.tls.cafile, ec)) {
      std::cerr << "smtp-probe: --cafile: " << o.tls.cafile
                << (fs::is_directory(o.tls.cafile, ec) ? " is a directory" : ": no such file")
                << "\n";
      return static_cast<int>(Phase::usage);
    }
  }
  if (!(timeout > 0) || timeout > 86400) {
    std::cerr << "smtp-probe: --timeout wants seconds, more than 0 (at most a day), got " << timeout
              << "\n";
    return static_cast<int>(Phase::usage);
  }
  std::vector<Check> checks;
  try {
    fs::path dir = suite.empty() ? default_suite() : fs::path(suite);
    if (!suite.empty() || fs::is_directory(dir)) checks = load_suite(dir);
    for (const auto& f : files) checks.push_back(make_check(smtp::scenario::parse_file(f)));
  } catch (const std::exception& e) {
    std::cerr << "smtp-probe: " << e.what() << "\n";
    return static_cast<int>(Phase::usage);
  }
  if (!only.empty()) {
    std::erase_if(checks, [&](const Check& c) {
      return std::find(only.begin(), only.end(), c.scenario.name) == only.end();
    });
    if (checks.empty()) {
      std::cerr << "smtp-probe: no check named by --check\n";
      return static_cast<int>(Phase::usage);
    }
  }
  if (list) {
    for (const auto& c : checks) {
      std::cout << c.scenario.name << "\t" << c.reference << "\t" << c.scenario.description << "\n";
    }
    return 0;
  }
  if (server.empty() == unix_path.empty()) {
    std::cerr << "smtp-probe: give exactly one of --server HOST[:PORT] or --unix PATH\n";
    return static_cast<int>(Phase::usage);
  }
  o.protocol = lmtp ? smtp::scenario::Protocol::lmtp : smtp::scenario::Protocol::smtp;
  o.transport = *smtp::scenario::transport_from_string(transport);
  o.check_timeout = std::chrono::milliseconds(static_cast<long>(timeout * 1000));
  if (!server.empty()) {
    try {
      parse_host_port(server, o.target);
    } catch (const std::exception& e) {
      std::cerr << "smtp-probe: " << e.what() << " (--server wants HOST[:PORT])\n";
      return static_cast<int>(Phase::usage);
    }
    if (o.target.port == 0) {
      o.target.port = lmtp ? 24 : (o.transport == smtp::scenario::Transport::tls ? 465 : 25);
    }
    if (o.tls.server_name.empty()) o.tls.server_name = o.target.host;
  } else {
    o.target.unix_path = unix_path;
    if (o.tls.server_name.empty()) o.tls.server_name = "localhost";
  }

  Progress progress;
  if (!quiet) {
    progress = [](std::size_t i, std::size_t n, const Check& c, const CheckResult* r) {
      if (r == nullptr) {
        std::cerr << "[" << i + 1 << "/" << n << "] " << c.scenario.name << " ... " << std::flush;
      } else {
        std::cerr << to_string(r->verdict) << " (" << static_cast<long>(r->duration_ms) << " ms)\n";
      }
    };
    std::cerr << "smtp-probe: " << o.target.str() << " over " << transport << ", " << checks.size()
              << " checks\n";
  }
  Report rep = run(o, checks, progress);
  std::cout << (json ? to_json(rep) : to_table(rep)) << std::flush;
  if (!junit.empty()) {
    std::ofstream f(junit);
    f << to_junit(rep);
    if (!f) {
      std::cerr << "smtp-probe: cannot write " << junit << "\n";
      return static_cast<int>(Phase::usage);
    }
  }
  return static_cast<int>(rep.phase);
}
