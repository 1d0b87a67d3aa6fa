#include "smtp/fakeserver/server.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "connection.hpp"
#include "maildir.hpp"
#include "smtp/scenario/transport.hpp"
#include "smtp/wire/tls.hpp"

namespace smtp::fakeserver {

using scenario::Transport;
using namespace detail;

std::string ListenerInfo::to_json() const {
  nlohmann::json j{{"event", "listening"}, {"transport", scenario::to_string(transport)}};
  if (transport == Transport::unix_socket) {
    j["path"] = address;
  } else {
    j["host"] = address;
    j["port"] = port;
  }
  if (scenario >= 0) {
    j["scenario"] = scenario_file;
    j["name"] = scenario_name;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct Server::Impl {
  explicit Impl(ServerOptions o) : options(std::move(o)), ssl(asio::ssl::context::tls_server) {}
  // (ssl is replaced by setup_tls() when a certificate is configured)

  ServerOptions options;
  asio::io_context io{1};
  asio::ssl::context ssl;
  bool have_tls = false;
  std::unique_ptr<Maildir> maildir;
  std::vector<ListenerInfo> infos;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> tcp_acceptors;
  std::vector<std::unique_ptr<asio::local::stream_protocol::acceptor>> unix_acceptors;
  std::unique_ptr<asio::steady_timer> limit_timer;
  std::thread background;
  std::uint64_t next_id = 0;
  std::uint64_t accepted = 0;
  std::size_t open_sessions = 0;
  bool stopping = false;
  std::exception_ptr fatal;  // the server's own failure (not a session's): run() rethrows it
  std::unique_ptr<asio::steady_timer> grace_timer;
  static constexpr std::chrono::milliseconds stop_grace{1000};  // sessions may finish on stop

  mutable std::mutex mutex;  // guards totals and reports (read from other threads)
  Summary totals;
  std::vector<SessionReport> reports;

  std::map<std::string, std::unique_ptr<asio::ssl::context>> named_ssl;

  // The TLS context for a scenario's `server-cert:` (nullptr: none configured).
  asio::ssl::context* tls_for(int scenario) {
    const std::string kind =
        scenario >= 0 ? options.scenarios.at(static_cast<std::size_t>(scenario))->server_cert
                      : std::string("good");
    if (kind == "good") return have_tls ? &ssl : nullptr;
    auto it = named_ssl.find(kind);
    return it == named_ssl.end() ? nullptr : it->second.get();
  }

  // Contexts from the one TLS policy (wire/tls.hpp): TLS 1.2 at least, as every player.
  void setup_tls() {
    for (const auto& [kind, files] : options.cert_sets) {
      named_ssl[kind] = std::make_unique<asio::ssl::context>(
          wire::tls::server_context(files.first, files.second));
    }
    if (options.cert_file.empty()) return;
    ssl = wire::tls::server_context(options.cert_file, options.key_file);
    have_tls = true;
  }

  void bind(const Listen& l) {
    ListenerInfo info{l.transport, l.address, l.port, l.scenario, {}, {}};
    if (l.scenario >= 0) {
      info.scenario_file = options.scenarios.at(static_cast<std::size_t>(l.scenario))->file;
      info.scenario_name = options.scenarios.at(static_cast<std::size_t>(l.scenario))->name;
    }
    if ((l.transport == Transport::tls ||
         (l.transport == Transport::starttls && options.mode == ServerOptions::Mode::scripted)) &&
        !have_tls) {
      throw std::runtime_error(std::string("transport ") + scenario::to_string(l.transport) +
                               " needs --cert and --key");
    }
    if (l.scenario >= 0 && !tls_for(l.scenario)) {
      const auto& kind = options.scenarios.at(static_cast<std::size_t>(l.scenario))->server_cert;
      if (kind != "good") {
        throw std::runtime_error("server-cert " + kind + " needs --cert-set " + kind + "=CERT,KEY");
      }
    }
    if (l.transport == Transport::unix_socket) {
      ::unlink(l.address.c_str());
      auto acc = std::make_unique<asio::local::stream_protocol::acceptor>(
          io, asio::local::stream_protocol::endpoint(l.address));
      unix_acceptors.push_back(std::move(acc));
      asio::co_spawn(io, accept_loop(*unix_acceptors.back(), info), on_fatal());
    } else {
      error_code ec;
      auto addr = asio::ip::make_address(l.address, ec);
      if (ec) throw std::runtime_error("not an IP address: '" + l.address + "'");
      asio::ip::tcp::endpoint ep(addr, l.port);
      auto acc = std::make_unique<asio::ip::tcp::acceptor>(io);
      acc->open(ep.protocol());
      acc->set_option(asio::socket_base::reuse_address(true));
      if (addr.is_v6()) acc->set_option(asio::ip::v6_only(true));
      acc->bind(ep, ec);
      if (ec)
        throw std::runtime_error("cannot listen on " + l.address + ":" + std::to_string(l.port) +
                                 ": " + ec.message());
      acc->listen(asio::socket_base::max_listen_connections);
      info.port = acc->local_endpoint().port();
      tcp_acceptors.push_back(std::move(acc));
      asio::co_spawn(io, accept_loop(*tcp_acceptors.back(), info), on_fatal());
    }
    infos.push_back(info);
  }

  template <class Acceptor>
  awaitable<void> accept_loop(Acceptor& acceptor, ListenerInfo info) {
    using Protocol = typename Acceptor::protocol_type;
    // The steps to play over this listener's transport, shared by all its sessions.
    std::shared_ptr<const std::vector<scenario::Step>> steps;
    if (info.scenario >= 0) {
      steps = std::make_shared<const std::vector<scenario::Step>>(scenario::steps_for(
          *options.scenarios.at(static_cast<std::size_t>(info.scenario)), info.transport));
    }
    while (!stopping) {
      error_code ec;
      auto sock = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping) co_return;
        // Out of descriptors and the like: wait a little instead of spinning.
        asio::steady_timer t(io, std::chrono::milliseconds(50));
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      if (open_sessions >= options.limits.max_sessions_open) {
        error_code ignored;
        sock.close(ignored);
        continue;
      }
      if (options.max_sessions && accepted >= *options.max_sessions) {
        error_code ignored;
        sock.close(ignored);
        continue;
      }
      ++accepted;
      ++open_sessions;
      SessionReport report;
      report.id = ++next_id;
      report.mode = options.mode == ServerOptions::Mode::sink ? "sink" : "scripted";
      report.transport = scenario::to_string(info.transport);
      report.scenario_file = info.scenario_file;
      report.scenario_name = info.scenario_name;
      if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
        error_code pe;
        auto remote = sock.remote_endpoint(pe);
        if (!pe) {
          auto a = remote.address();
          report.peer = (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" +
                        std::to_string(remote.port());
        }
        sock.set_option(asio::ip::tcp::no_delay(true), pe);
        report.listener = info.address + ":" + std::to_string(info.port);
      } else {
        report.peer = "unix";
        report.listener = info.address;
      }
      auto conn = std::make_unique<SocketConnection<Protocol>>(std::move(sock));
      auto io_ptr = std::make_shared<Io>(io.get_executor(), std::move(conn), options.limits);
      if (info.scenario >= 0) {
        const auto& sc = *options.scenarios.at(static_cast<std::size_t>(info.scenario));
        if (sc.max_line) io_ptr->in.set_max_line(*sc.max_line);
      }
      asio::co_spawn(io, session(io_ptr, info, steps, std::move(report)), on_fatal());
    }
  }

  // What ends a listener's or a session's coroutine by an exception. A session's own failures are
  // caught inside session() and reported against that session only; what gets here (a listener,
  // writing a report) is the server's, and ends the run: run() rethrows it, so the command line
  // prints a `fatal` event instead of other runs failing without a word (asio::detached would
  // drop it: a listener that silently stopped accepting).
  std::function<void(std::exception_ptr)> on_fatal() {
    return [this](std::exception_ptr e) {
      if (!e) return;
      if (!fatal) fatal = e;
      io.stop();
    };
  }

  awaitable<void> session(std::shared_ptr<Io> conn, ListenerInfo info,
                          std::shared_ptr<const std::vector<scenario::Step>> steps,
                          SessionReport report) {
    SessionEnv env{options, tls_for(info.scenario), maildir.get()};
    try {
      if (options.mode == ServerOptions::Mode::sink) {
        if (info.transport == Transport::tls) {
          if (!co_await conn->handshake(ssl, options.limits.step_timeout)) {
            report.error = "TLS handshake failed: " + conn->last_error;
          }
        }
        if (report.error.empty()) {
          Summary local;
          co_await run_sink(conn, info.transport, env, report, local);
          std::lock_guard lock(mutex);
          totals.messages += local.messages;
          totals.message_bytes += local.message_bytes;
        }
      } else {
        co_await run_scripted(conn, *steps, env, report);
      }
    } catch (const std::exception& e) {
      // Nothing a peer sends may take the server down: record it against this session only.
      report.ok = false;
      report.error = std::string("internal error: ") + e.what();
      if (!report.divergence) {
        report.divergence = Divergence{0, "", "", "", report.error};
      }
    } catch (...) {
      report.ok = false;
      report.error = "internal error: unknown exception";
      if (!report.divergence) report.divergence = Divergence{0, "", "", "", report.error};
    }
    report.duration_ms = conn->elapsed_ms();
    bool drain = conn->drain_after;
    finish(std::move(report));
    if (drain && !stopping) co_await conn->drain(options.limits.close_drain);
    conn->conn().close();
    --open_sessions;
    if (stopping && open_sessions == 0) io.stop();
  }

  void finish(SessionReport report) {
    if (options.on_session) options.on_session(report);
    bool done = false;
    {
      std::lock_guard lock(mutex);
      ++totals.sessions;
      if (!report.ok) ++totals.diverged;
      // Sink sessions are many and uniform: keep only the scripted reports.
      if (options.mode == ServerOptions::Mode::scripted && options.keep_reports) {
        reports.push_back(std::move(report));
      }
      done = options.max_sessions && totals.sessions >= *options.max_sessions;
    }
    if (done) shutdown();
  }

  // Stop accepting; sessions in flight get a short grace period to end (and be counted), so a
  // stop right after a client's last byte does not lose its report.
  void shutdown() {
    if (stopping) return;
    stopping = true;
    error_code ec;
    for (auto& a : tcp_acceptors) a->close(ec);
    for (auto& a : unix_acceptors) a->close(ec);
    if (open_sessions == 0) {
      io.stop();
      return;
    }
    grace_timer = std::make_unique<asio::steady_timer>(io, stop_grace);
    grace_timer->async_wait([this](error_code e) {
      if (!e) io.stop();
    });
  }
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  stop();
  if (impl_->background.joinable()) impl_->background.join();
  for (const auto& info : impl_->infos) {
    if (info.transport == Transport::unix_socket) ::unlink(info.address.c_str());
  }
}

void Server::start() {
  auto& d = *impl_;
  d.setup_tls();
  if (d.options.mode == ServerOptions::Mode::sink && !d.options.maildir.empty()) {
    d.maildir = std::make_unique<Maildir>(d.options.maildir);
  }
  for (const auto& l : d.options.listens) d.bind(l);
  if (d.options.time_limit) {
    d.limit_timer = std::make_unique<asio::steady_timer>(d.io, *d.options.time_limit);
    d.limit_timer->async_wait([&d](error_code ec) {
      if (!ec) d.shutdown();
    });
  }
}

const std::vector<ListenerInfo>& Server::listeners() const {
  return impl_->infos;
}

void Server::run() {
  impl_->io.run();
  if (impl_->fatal) std::rethrow_exception(impl_->fatal);
}

void Server::run_in_background() {
  // In-process tests: a fatal error stops the io_context; fatal_error() tells what it was.
  impl_->background = std::thread([this] { impl_->io.run(); });
}

std::optional<std::string> Server::fatal_error() const {
  if (!impl_->fatal) return std::nullopt;
  try {
    std::rethrow_exception(impl_->fatal);
  } catch (const std::exception& e) {
    return std::string(e.what());
  } catch (...) {
    return std::string("unknown exception");
  }
}

void Server::stop() {
  asio::post(impl_->io, [d = impl_.get()] { d->shutdown(); });
}

Summary Server::summary() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->totals;
}

std::vector<SessionReport> Server::reports() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->reports;
}

}  // namespace smtp::fakeserver
