// Transports over Boost.Asio. Each blocking call runs one asynchronous operation on a private
// io_context with run_until(deadline): the deadline bounds the whole call, however the peer
// drips its bytes. Asio sends with MSG_NOSIGNAL on Linux, so a closed peer is an error code
// (EPIPE), never SIGPIPE.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <optional>

#include "smtp/client_rules.hpp"
#include "smtp/exceptions.hpp"
#include "smtp/transport.hpp"

namespace smtp {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Runs the operation started by `start` until it completes or the deadline passes. On timeout the
// operation is cancelled (for a socket: closed) and SMTPTimeoutError is thrown.
template <class Cancel, class Start>
void run_until(asio::io_context& ioc, Deadline deadline, const char* what, Cancel cancel,
               Start start) {
  ioc.restart();
  bool finished = false;
  start([&finished] { finished = true; });
  if (deadline) {
    ioc.run_until(*deadline);
  } else {
    ioc.run();
  }
  if (!finished) {
    cancel();
    ioc.restart();
    ioc.run();  // let the cancelled handler run
    throw SMTPTimeoutError(std::string("timed out ") + what);
  }
}

using rules::throw_if_connect_failed;

template <class Socket>
class AsioTransport final : public Transport {
 public:
  AsioTransport(std::unique_ptr<asio::io_context> ioc, Socket socket)
      : ioc_(std::move(ioc)), socket_(std::move(socket)) {
    // Reads and writes are first tried at once (a write usually fits the socket buffer, a reply
    // is often waiting already); only when the socket would block does the event loop wait, with
    // the deadline. That saves an epoll round per operation.
    error_code ignored;
    socket_.non_blocking(true, ignored);
  }
  ~AsioTransport() override { close(); }

  void write(std::string_view bytes, Deadline deadline) override {
    if (!socket_.is_open()) throw SMTPServerDisconnected("Server not connected");
    error_code ec;
    while (!bytes.empty()) {
      const std::size_t n = socket_.write_some(asio::buffer(bytes.data(), bytes.size()), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) throw SMTPServerDisconnected("Server not connected: " + ec.message());
      bytes.remove_prefix(n);
    }
    if (bytes.empty()) return;
    ec = {};
    run_until(
        *ioc_, deadline, "writing to the server", [this] { close(); },
        [&](auto on_done) {
          asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                            [&ec, on_done](error_code e, std::size_t) {
                              ec = e;
                              on_done();
                            });
        });
    if (ec) throw SMTPServerDisconnected("Server not connected: " + ec.message());
  }

  std::size_t read_some(std::span<char> buffer, Deadline deadline) override {
    if (!socket_.is_open()) throw SMTPServerDisconnected("Server not connected");
    error_code ec;
    std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
    if (!ec) return n;
    if (ec == asio::error::eof) return 0;
    if (ec != asio::error::would_block && ec != asio::error::try_again) {
      throw SMTPServerDisconnected("Connection unexpectedly closed: " + ec.message());
    }
    ec = {};
    n = 0;
    run_until(
        *ioc_, deadline, "waiting for the server's reply", [this] { close(); },
        [&](auto on_done) {
          socket_.async_read_some(asio::buffer(buffer.data(), buffer.size()),
                                  [&ec, &n, on_done](error_code e, std::size_t k) {
                                    ec = e;
                                    n = k;
                                    on_done();
                                  });
        });
    if (ec == asio::error::eof) return 0;
    if (ec) throw SMTPServerDisconnected("Connection unexpectedly closed: " + ec.message());
    return n;
  }

  std::size_t available() override {
    error_code ec;
    const std::size_t n = socket_.available(ec);
    return ec ? 0 : n;
  }

  void close() noexcept override {
    error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  int release_native_handle() noexcept override {
    if (!socket_.is_open()) return -1;
    error_code ec;
    const int fd = socket_.release(ec);
    return ec ? -1 : fd;
  }

 private:
  std::unique_ptr<asio::io_context> ioc_;
  Socket socket_;
};

}  // namespace

std::unique_ptr<Transport> connect_tcp(const std::string& host_in, int port, Deadline deadline) {
  std::string host = host_in;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto ioc = std::make_unique<asio::io_context>();
  asio::ip::tcp::socket socket(*ioc);
  asio::ip::tcp::resolver resolver(*ioc);
  error_code ec;
  asio::ip::tcp::resolver::results_type endpoints;
  run_until(
      *ioc, deadline, "resolving the server's name", [&] { resolver.cancel(); },
      [&](auto on_done) {
        resolver.async_resolve(host, std::to_string(port),
                               [&, on_done](error_code e, asio::ip::tcp::resolver::results_type r) {
                                 ec = e;
                                 endpoints = std::move(r);
                                 on_done();
                               });
      });
  if (ec) throw SMTPConnectError(-1, "cannot resolve " + host + ": " + ec.message());
  run_until(
      *ioc, deadline, "connecting to the server",
      [&] {
        error_code i;
        socket.close(i);
      },
      [&](auto on_done) {
        asio::async_connect(socket, endpoints,
                            [&, on_done](error_code e, const asio::ip::tcp::endpoint&) {
                              ec = e;
                              on_done();
                            });
      });
  throw_if_connect_failed(ec, host + " port " + std::to_string(port));
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  return std::make_unique<AsioTransport<asio::ip::tcp::socket>>(std::move(ioc), std::move(socket));
}

std::unique_ptr<Transport> connect_unix(const std::string& path, Deadline deadline) {
  auto ioc = std::make_unique<asio::io_context>();
  asio::local::stream_protocol::socket socket(*ioc);
  error_code ec;
  run_until(
      *ioc, deadline, "connecting to the server",
      [&] {
        error_code i;
        socket.close(i);
      },
      [&](auto on_done) {
        socket.async_connect(asio::local::stream_protocol::endpoint(path),
                             [&, on_done](error_code e) {
                               ec = e;
                               on_done();
                             });
      });
  throw_if_connect_failed(ec, path);
  return std::make_unique<AsioTransport<asio::local::stream_protocol::socket>>(std::move(ioc),
                                                                               std::move(socket));
}

}  // namespace smtp
