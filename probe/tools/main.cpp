// smtp-probe: plays the client side of server-role scenarios against a real SMTP/LMTP server and
// reports a verdict per check. Exit status by phase (see probe/README.md).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "smtp/probe/probe.hpp"
#include "smtp/probe/report.hpp"
#include "smtp/scenario/parser.hpp"
#include "smtp/wire/default_ports.hpp"
#include "smtp/wire/endpoint.hpp"

namespace fs = std::filesystem;
using namespace smtp::probe;

namespace {

// Where the built-in checks are, first found wins: the share directory of the prefix this binary
// is installed in (found from its own path, so a moved or DESTDIR-staged install works), the
// install directory configured at build time, then the source tree of a build-tree binary.
// Every place tried is listed in `tried` for the error when none exists.
std::optional<fs::path> default_suite(std::vector<std::string>& tried) {
  std::vector<fs::path> places;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    places.push_back((exe.parent_path() / SMTPKIT_PROBE_SUITE_FROM_BINDIR).lexically_normal());
  places.emplace_back(SMTPKIT_PROBE_SUITE_INSTALLED);
  places.emplace_back(SMTPKIT_PROBE_SUITE_SOURCE);
  for (const auto& p : places) {
    tried.push_back(p.string());
    if (fs::is_directory(p, ec)) return p;
  }
  return std::nullopt;
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
  std::vector<std::string> only, files, sections, tags;
  double timeout = 15;
  bool lmtp = false, json = false, quiet = false, list = false;
  Options o;
  const std::string ports = "HOST[:PORT] (port: " + std::to_string(smtp::wire::smtp_default_port) +
                            ", " + std::to_string(smtp::wire::submissions_default_port) +
                            " for tls, " + std::to_string(smtp::wire::lmtp_default_port) +
                            " for LMTP)";
  app.add_option("--server", server, ports);
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
  app.add_option("--check", only,
                 "run only this built-in check (repeatable); files given on the command line "
                 "always run")
      ->allow_extra_args(false);  // one name per --check: a file after it is a file
  app.add_option("--section", sections,
                 "run only the checks of this RFC section and its subsections (repeatable): "
                 "5321/4.5.3, 3207, RFC2920#3.1")
      ->allow_extra_args(false);
  app.add_option("--tag", tags,
                 "run only the checks carrying this tag (repeatable): needs:delivery")
      ->allow_extra_args(false);
  app.add_flag("--strict", o.strict, "a SHOULD the server does not meet fails instead of warning");
  app.add_option("files", files, "check files to run after the suite's (selected) checks");
  app.add_flag("--json", json, "print the report as JSON on stdout instead of the table");
  app.add_option("--junit", junit, "also write the report as JUnit XML to FILE");
  app.add_flag("-q,--quiet", quiet, "no progress on stderr");
  app.add_flag("--list", list,
               "dry run: list the selected checks (name, section, level, needs, description)");
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
  std::string source;  // where the checks came from, for the messages below
  try {
    if (!suite.empty()) {
      checks = load_suite(suite);
      source = suite;
    } else {
      std::vector<std::string> tried;
      auto dir = default_suite(tried);
      if (dir) {
        checks = load_suite(*dir);
        source = dir->string();
      } else {
        std::cerr << "smtp-probe: the built-in checks are not installed (looked in";
        for (const auto& t : tried) std::cerr << " " << t;
        std::cerr << ")";
        if (files.empty() || !only.empty()) {
          std::cerr << "; give --suite DIR or check files\n";
          return static_cast<int>(Phase::usage);
        }
        std::cerr << "; running only the files given\n";
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "smtp-probe: " << e.what() << "\n";
    return static_cast<int>(Phase::usage);
  }
  std::vector<Check> extra;
  try {
    for (const auto& f : files) extra.push_back(make_check(smtp::scenario::parse_file(f)));
  } catch (const std::exception& e) {
    std::cerr << "smtp-probe: " << e.what() << "\n";
    return static_cast<int>(Phase::usage);
  }
  if (!only.empty()) {
    // --check selects from the suite (files given always run); a name found nowhere is an error
    // that names it.
    auto named = [](const std::vector<Check>& v, const std::string& name) {
      return std::any_of(v.begin(), v.end(),
                         [&](const Check& c) { return c.scenario.name == name; });
    };
    for (const auto& name : only) {
      if (!named(checks, name) && !named(extra, name)) {
        std::cerr << "smtp-probe: --check " << name << ": no such check in "
                  << (source.empty() ? "the suite" : source)
                  << (files.empty() ? "" : " or the files given")
                  << " (smtp-probe --list shows them)\n";
        return static_cast<int>(Phase::usage);
      }
    }
    std::erase_if(checks, [&](const Check& c) {
      return std::find(only.begin(), only.end(), c.scenario.name) == only.end();
    });
  }
  if (!sections.empty() || !tags.empty()) {
    // --section and --tag narrow the suite's checks further (files given always run).
    std::erase_if(checks, [&](const Check& c) {
      const bool sec =
          sections.empty() || std::any_of(sections.begin(), sections.end(),
                                          [&](const auto& s) { return in_section(c, s); });
      const bool tag = tags.empty() || std::any_of(tags.begin(), tags.end(), [&](const auto& t) {
                         const auto& ct = c.scenario.tags;
                         return std::find(ct.begin(), ct.end(), t) != ct.end();
                       });
      return !sec || !tag;
    });
    if (checks.empty() && extra.empty()) {
      std::cerr << "smtp-probe: no check in " << (source.empty() ? "the suite" : source)
                << " matches the --section/--tag given (smtp-probe --list shows them)\n";
      return static_cast<int>(Phase::usage);
    }
  }
  for (auto& c : extra) checks.push_back(std::move(c));
  // A validator that checks nothing must not say "ok".
  if (checks.empty()) {
    std::cerr << "smtp-probe: no check loaded" << (source.empty() ? "" : " from " + source)
              << ": nothing would be tested\n";
    return static_cast<int>(Phase::usage);
  }
  if (list) {
    std::cerr << "smtp-probe: " << checks.size() << " checks"
              << (source.empty() ? std::string() : " from " + source) << "\n";
    for (const auto& c : checks) {
      std::string needs;
      for (const auto& n : c.needs) needs += (needs.empty() ? "" : ",") + n;
      std::cout << c.scenario.name << "\t" << c.reference << "\t" << to_string(c.level) << "\t"
                << (needs.empty() ? "-" : needs) << "\t" << c.scenario.description << "\n";
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
      using namespace smtp::wire;
      o.target.port =
          lmtp ? lmtp_default_port
               : (o.transport == smtp::scenario::Transport::tls ? submissions_default_port
                                                                : smtp_default_port);
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
