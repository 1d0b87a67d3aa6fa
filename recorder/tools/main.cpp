// smtp-record: a loopback proxy that writes what passes through it as a scenario file.
#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "smtp/recorder/proxy.hpp"
#include "smtp/wire/endpoint.hpp"

namespace {

void emit(const nlohmann::json& j) {
  std::cout << j.dump() << std::endl;
}

// HOST:PORT or [V6]:PORT through the wire core's one parser; a port is required (0 allowed for
// --listen, where the system picks one).
bool split_host_port(const std::string& s, std::string& host, unsigned short& port,
                     smtp::wire::PortZero zero, std::string& error) {
  const auto e = smtp::wire::parse_endpoint(s, zero, error);
  if (!e) return false;
  if (!e->port) {
    error = "'" + s + "': no port";
    return false;
  }
  host = e->host;
  port = *e->port;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"smtp-record: record a live SMTP/LMTP session through a proxy as a scenario file"};
  std::string listen = "127.0.0.1:0", upstream, upstream_unix, out, cert, key, cafile;
  std::string name, description;
  int sessions = 1;
  long gap_ms = 250;
  bool upstream_tls = false, starttls = false, insecure = false, lmtp = false;
  double idle_s = 60;
  app.add_option("--listen", listen, "HOST:PORT to accept clients on (port 0: any; see stdout)");
  auto* up_opt = app.add_option("--upstream", upstream, "HOST:PORT of the real server");
  auto* unix_opt =
      app.add_option("--upstream-unix", upstream_unix, "Unix socket of the real server");
  up_opt->excludes(unix_opt);
  app.add_option("--out", out, "the scenario file to write (with --sessions N > 1: FILE-1.scn ...)")
      ->required();
  app.add_option("--sessions", sessions, "exit after N sessions (default 1)")
      ->check(CLI::PositiveNumber);
  app.add_option("--gap-threshold", gap_ms, "server pauses longer than MS become 'sleep' (250)");
  app.add_option("--tls-cert", cert, "certificate (PEM chain) shown to the client");
  app.add_option("--tls-key", key, "its private key (PEM)");
  auto* tls_flag =
      app.add_flag("--upstream-tls", upstream_tls, "implicit TLS on both sides (needs --tls-cert)");
  auto* st_flag = app.add_flag("--starttls", starttls,
                               "terminate STARTTLS on both sides (needs --tls-cert; the default "
                               "whenever a certificate is given)");
  tls_flag->excludes(st_flag);
  app.add_option("--upstream-cafile", cafile, "CA bundle to verify the upstream's certificate");
  app.add_flag("--upstream-insecure", insecure, "do not verify the upstream's certificate");
  app.add_flag("--lmtp", lmtp, "the upstream speaks LMTP (one reply per recipient after DATA)");
  app.add_option("--name", name, "the scenario's name (default: the --out file name)");
  app.add_option("--description", description, "the scenario's description");
  app.add_option("--idle-timeout", idle_s, "end a session silent this many seconds (60)");
  std::size_t max_line = smtp::scenario::PeerLimits::max_line;
  app.add_option("--max-line", max_line,
                 "the longest line (bytes, line end included) either side may send; past it the "
                 "session ends, recorded up to there (default 65536; written as 'max-line:')")
      ->check(CLI::Range(std::size_t{3}, smtp::scenario::PeerLimits::max_line_ceiling));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!(idle_s > 0) || idle_s > 86400) {
    std::cerr << "smtp-record: --idle-timeout wants seconds, more than 0 (at most a day), got "
              << idle_s << "\n";
    return 2;
  }
  // Files named on the command line are checked now, not when the first session needs them.
  for (const auto& [flag, path] : {std::pair<const char*, const std::string&>{"--tls-cert", cert},
                                   {"--tls-key", key},
                                   {"--upstream-cafile", cafile}}) {
    std::error_code ec;
    if (!path.empty() && !std::filesystem::is_regular_file(path, ec)) {
      std::cerr << "smtp-record: " << flag << ": " << path
                << (std::filesystem::is_directory(path, ec) ? " is a directory" : ": no such file")
                << "\n";
      return 2;
    }
  }
  {
    std::error_code ec;
    const std::filesystem::path o(out);
    if (std::filesystem::is_directory(o, ec)) {
      std::cerr << "smtp-record: --out: " << out << " is a directory; name the file to write\n";
      return 2;
    }
    if (o.has_parent_path() && !std::filesystem::is_directory(o.parent_path(), ec)) {
      std::cerr << "smtp-record: --out: no such directory: " << o.parent_path().string() << "\n";
      return 2;
    }
  }
  if (upstream.empty() == upstream_unix.empty()) {
    std::cerr << "smtp-record: give --upstream HOST:PORT or --upstream-unix PATH\n";
    return 2;
  }
  if ((upstream_tls || starttls) && (cert.empty() || key.empty())) {
    std::cerr << "smtp-record: --upstream-tls and --starttls need --tls-cert and --tls-key\n";
    return 2;
  }
  if (cert.empty() != key.empty()) {
    std::cerr << "smtp-record: --tls-cert and --tls-key go together\n";
    return 2;
  }
  smtp::recorder::ProxyOptions opt;
  std::string port_error;
  if (!split_host_port(listen, opt.listen_host, opt.listen_port, smtp::wire::PortZero::allowed,
                       port_error)) {
    std::cerr << "smtp-record: --listen expects HOST:PORT: " << port_error << "\n";
    return 2;
  }
  if (!upstream.empty() && !split_host_port(upstream, opt.upstream_host, opt.upstream_port,
                                            smtp::wire::PortZero::refused, port_error)) {
    std::cerr << "smtp-record: --upstream expects HOST:PORT: " << port_error << "\n";
    return 2;
  }
  opt.upstream_unix = upstream_unix;
  opt.implicit_tls = upstream_tls;
  opt.cert = cert;
  opt.key = key;
  opt.upstream_cafile = cafile;
  opt.upstream_insecure = insecure;
  opt.idle_timeout = std::chrono::milliseconds(static_cast<long>(idle_s * 1000));
  opt.builder.gap_threshold = std::chrono::milliseconds(gap_ms);
  opt.builder.max_line = max_line;
  opt.builder.protocol = lmtp ? smtp::scenario::Protocol::lmtp : smtp::scenario::Protocol::smtp;
  // Clients reach the recorder over TCP: the file replays over plain TCP, or implicit TLS.
  opt.builder.transport =
      upstream_tls ? smtp::scenario::Transport::tls : smtp::scenario::Transport::plain;
  const std::filesystem::path out_path(out);
  opt.builder.name = name.empty() ? out_path.stem().string() : name;
  if (!description.empty()) opt.builder.description = description;

  boost::asio::io_context io;
  int done = 0, with_problems = 0;
  std::unique_ptr<smtp::recorder::Proxy> proxy;
  try {
    proxy = std::make_unique<smtp::recorder::Proxy>(io, opt, [&](smtp::recorder::SessionResult r) {
      std::filesystem::path file = out_path;
      if (sessions > 1) {
        file = out_path.parent_path() /
               (out_path.stem().string() + "-" + std::to_string(r.index) + ".scn");
      }
      std::ofstream f(file, std::ios::binary);
      f << r.recording.text();
      f.close();
      nlohmann::json j{{"event", "recorded"},
                       {"session", r.index},
                       {"peer", r.peer},
                       {"file", file.string()},
                       {"written", static_cast<bool>(f)},
                       {"steps", r.recording.scenario.steps.size()},
                       {"ok", r.recording.problems.empty()},
                       {"problems", r.recording.problems}};
      emit(j);
      for (const auto& p : r.recording.problems)
        std::cerr << "smtp-record: session " << r.index << " (" << file.string()
                  << "): cannot be expressed faithfully: " << p << "\n";
      if (!r.recording.problems.empty() || !f) ++with_problems;
      if (++done >= sessions) {
        proxy->stop();
        io.stop();
      }
    });
  } catch (const std::exception& e) {
    std::cerr << "smtp-record: " << e.what() << "\n";
    return 3;
  }
  auto ep = proxy->bound();
  emit({{"event", "listening"},
        {"transport", upstream_tls ? "tls" : "plain"},
        {"host", ep.address().to_string()},
        {"port", ep.port()},
        {"upstream", upstream.empty() ? "unix:" + upstream_unix : upstream},
        {"out", out}});
  emit({{"event", "ready"}, {"listeners", 1}});
  proxy->start();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) io.stop();
  });
  io.run();
  emit({{"event", "exit"}, {"sessions", done}, {"with_problems", with_problems}});
  return with_problems ? 1 : 0;
}
